//! CPU [`ConvKernel`]: im2col + gemm, with the batch folded into the products.
//!
//! The batch is taken in chunks of images, enough that a chunk has at
//! least [`FOLD_COLS`] output pixels (`cnt·L`, `L = OH·OW`): for small
//! feature maps (a ResNet's last stage is 4x4) one product per image
//! would be a gemm with 16 columns, all edge kernels and weight repacking.
//! Per chunk and group (`K = (C/G)·KH·KW`):
//!
//! - Forward: `cols = im2col(x[chunk, group])` (`K × cnt·L`, image `i` in
//!   columns `i·L..`), `t = W[group] · cols` (`C_out/G × cnt·L`), copied
//!   to NCHW with the bias added.
//! - Input gradient: `gy'` = the chunk's `gy` gathered to `C_out × cnt·L`,
//!   `gcols = W[group]ᵀ · gy'[group]` (transpose read through the gemm's
//!   flags), scattered back by col2im.
//! - Weight gradient: `gW[group] += gy'[group] · colsᵀ`, the sum over the
//!   chunk's pixels inside the gemm.
//!
//! A chunk of one image reads `x`/`gy` in place (no gather), and a 1x1
//! kernel with stride 1 and no padding then skips im2col too. Column
//! buffers come from a per-thread scratch reused across calls (with `std`).
//! Parallelism: over chunks when the call is large enough
//! ([`PAR_SPLIT_WORK`]) and has at least as many chunks as threads (each
//! gemm on its task's thread); otherwise a call above [`PAR_WORK`] lets
//! gemm thread itself; small calls stay on the calling thread (no wake-up
//! cost). The weight gradient may be computed transposed
//! ([`Geo::weight_grad_transposed`]).

use super::matmul::{self as gemm_kernel, CpuFloat};
use super::Cpu;
use super::CpuStorage;
use crate::backend::kernels::conv::{ConvKernel, ConvParams};
use crate::dtype::Dtype;
use alloc::vec;
use alloc::vec::Vec;

#[path = "conv_direct.rs"]
mod direct;
#[path = "conv_winograd.rs"]
mod winograd;
#[path = "conv_winograd_weight.rs"]
mod winograd_weight;

/// Multiply-adds of a whole call from which it is split over threads (and
/// below which every gemm stays on the calling thread). 2^24: LeNet-5's
/// convolutions at batch 64 (5-10M) ran slower on 2 threads than on 1
/// inside a training step with 2^18; ResNet's (100M and more) are far
/// above it.
const PAR_WORK: usize = 1 << 24;

/// Multiply-adds of a whole call from which its images (chunks) are split
/// over the threads, each product staying on its thread: one wake-up per
/// call (5-20 µs) against halving 0.1-0.5 ms of work. LeNet-5's layers
/// at batch 64 (5.5M and 9.8M) are above it; 2^24 still governs whether a
/// single product may thread itself.
const PAR_SPLIT_WORK: usize = 1 << 21;

/// Output pixels per folded product: images are grouped until a chunk has
/// at least this many (gemm's AVX-512 f32 kernels are 64 rows tall).
const FOLD_COLS: usize = 512;

/// Scratch buffers up to this many bytes stay allocated on their thread
/// between calls; larger ones are freed after the call.
#[cfg(feature = "std")]
const SCRATCH_KEEP_BYTES: usize = 32 << 20;

/// Element types of the conv kernels: the gemm's, with a per-thread
/// scratch buffer.
trait ConvFloat: CpuFloat + Dtype {
    /// `f(buf)` on a scratch buffer of `len` elements (contents
    /// unspecified: callers overwrite what they read).
    fn with_scratch<R>(len: usize, f: impl FnOnce(&mut [Self]) -> R) -> R;
    /// [`ConvFloat::with_scratch`] from a second per-thread buffer, for a
    /// buffer held across calls that take the first (Winograd's
    /// transformed weights).
    fn with_scratch2<R>(len: usize, f: impl FnOnce(&mut [Self]) -> R) -> R;
    /// `a · b + c`, fused when `FMA` (code compiled with the extension).
    fn madd<const FMA: bool>(a: Self, b: Self, c: Self) -> Self;
}

macro_rules! conv_float {
    ($t:ty, $key:ident, $key2:ident) => {
        #[cfg(feature = "std")]
        std::thread_local! {
            static $key: core::cell::Cell<Vec<$t>> = const { core::cell::Cell::new(Vec::new()) };
            static $key2: core::cell::Cell<Vec<$t>> = const { core::cell::Cell::new(Vec::new()) };
        }
        impl ConvFloat for $t {
            #[inline(always)]
            fn madd<const FMA: bool>(a: Self, b: Self, c: Self) -> Self {
                #[cfg(feature = "std")]
                if FMA {
                    return a.mul_add(b, c);
                }
                a * b + c
            }
            fn with_scratch<R>(len: usize, f: impl FnOnce(&mut [Self]) -> R) -> R {
                #[cfg(feature = "std")]
                return scratch_from(&$key, len, f);
                #[cfg(not(feature = "std"))]
                f(&mut vec![0.0; len])
            }
            fn with_scratch2<R>(len: usize, f: impl FnOnce(&mut [Self]) -> R) -> R {
                #[cfg(feature = "std")]
                return scratch_from(&$key2, len, f);
                #[cfg(not(feature = "std"))]
                f(&mut vec![0.0; len])
            }
        }
    };
}
conv_float!(f32, SCRATCH_F32, SCRATCH2_F32);
conv_float!(f64, SCRATCH_F64, SCRATCH2_F64);

/// `f(buf)` on `len` elements of the buffer in `key` (grown with zeros
/// when short), kept for the next call if it is at most
/// [`SCRATCH_KEEP_BYTES`].
#[cfg(feature = "std")]
fn scratch_from<E: Copy + Default, R>(
    key: &'static std::thread::LocalKey<core::cell::Cell<Vec<E>>>,
    len: usize,
    f: impl FnOnce(&mut [E]) -> R,
) -> R {
    // Taken out of the cell for the call, so a nested call on this thread
    // (a rayon task stolen while a gemm waits) gets its own buffer instead
    // of aliasing this one.
    let mut buf = key.take();
    if buf.len() < len {
        buf.resize(len, E::default());
    }
    let r = f(&mut buf[..len]);
    if buf.len() * core::mem::size_of::<E>() <= SCRATCH_KEEP_BYTES {
        key.set(buf);
    }
    r
}

/// Threads available to a call.
fn threads() -> usize {
    #[cfg(feature = "std")]
    {
        rayon::current_num_threads()
    }
    #[cfg(not(feature = "std"))]
    {
        1
    }
}

/// Derived sizes of one call.
#[derive(Copy, Clone, Debug)]
struct Geo {
    batch: usize,
    ci: usize,
    co: usize,
    groups: usize,
    cig: usize,
    cog: usize,
    h: usize,
    w: usize,
    kh: usize,
    kw: usize,
    sh: usize,
    sw: usize,
    ph: usize,
    pw: usize,
    dh: usize,
    dw: usize,
    ow: usize,
    /// Rows of the column matrix: `cig·kh·kw`.
    kc: usize,
    /// Output pixels: `oh·ow`.
    l: usize,
    /// Input pixels: `h·w`.
    hw: usize,
}

/// How a call walks its batch: chunks of `per` images (the last may be
/// shorter), in parallel over chunks or not, gemms threaded or not.
#[derive(Copy, Clone, Debug)]
struct Plan {
    per: usize,
    chunks: usize,
    // Only read by the threaded paths (`std`).
    #[cfg_attr(not(feature = "std"), allow(dead_code))]
    par_chunks: bool,
    serial_gemm: bool,
}

impl Geo {
    fn new(p: &ConvParams) -> Geo {
        let [oh, ow] = p
            .output()
            .expect("conv kernel: the kernel does not fit the padded input");
        let groups = p.groups.max(1);
        let cig = p.c_in / groups;
        Geo {
            batch: p.batch,
            ci: p.c_in,
            co: p.c_out,
            groups,
            cig,
            cog: p.c_out / groups,
            h: p.input[0],
            w: p.input[1],
            kh: p.kernel[0],
            kw: p.kernel[1],
            sh: p.stride[0],
            sw: p.stride[1],
            ph: p.padding[0],
            pw: p.padding[1],
            dh: p.dilation[0],
            dw: p.dilation[1],
            ow,
            kc: cig * p.kernel[0] * p.kernel[1],
            l: oh * ow,
            hw: p.input[0] * p.input[1],
        }
    }

    /// A 1x1 kernel with stride 1 and no padding: the input is its own
    /// column matrix.
    fn pointwise(&self) -> bool {
        self.kh == 1 && self.kw == 1 && self.sh == 1 && self.sw == 1 && self.ph == 0 && self.pw == 0
    }

    /// Whether the weight gradient is computed as `gWᵀ = cols · gy'ᵀ`
    /// (transposed at the end) instead of `gW = gy' · colsᵀ`. gemm packs
    /// the operand it reads across its rows, and for `gy' · colsᵀ` that is
    /// the `K × N` column matrix (`N` = the batch's output pixels), read
    /// transposed: 9 % of a ResNet-18 step. The transposed product packs
    /// `gy'` (`C_out/G × N`) instead, for one transpose of `gW` (`C_out/G
    /// × K` per group, counted twice: it is a scattered copy). Worth it
    /// when the packing saved, `(K - C_out/G)·N`, is larger.
    fn weight_grad_transposed(&self) -> bool {
        let n = self.batch.saturating_mul(self.l);
        self.kc > self.cog
            && (self.kc - self.cog).saturating_mul(n) > 2 * self.cog.saturating_mul(self.kc)
    }

    /// Whether the call is large enough to split its images over the
    /// threads ([`PAR_SPLIT_WORK`]).
    fn split_batch(&self) -> bool {
        threads() > 1 && self.batch > 1 && self.work() >= PAR_SPLIT_WORK
    }

    /// Keep the other threads polling for work when the call will use them
    /// (see [`super::threads`]).
    fn warm_threads(&self) {
        #[cfg(feature = "std")]
        if threads() > 1 && (self.split_batch() || self.work() >= PAR_WORK) {
            super::threads::warm();
        }
    }

    /// Multiply-adds of the whole call (one of its three products).
    fn work(&self) -> usize {
        self.batch
            .saturating_mul(self.co)
            .saturating_mul(self.kc)
            .saturating_mul(self.l)
    }

    fn plan(&self) -> Plan {
        let batch = self.batch.max(1);
        let mut per = if self.l == 0 {
            batch
        } else {
            FOLD_COLS.div_ceil(self.l).min(batch)
        };
        let mut chunks = batch.div_ceil(per);
        let threads = threads();
        let large = self.work() >= PAR_WORK && threads > 1;
        self.warm_threads();
        let par_chunks = self.split_batch() && chunks >= threads;
        if par_chunks {
            // A multiple of `threads` chunks, so no thread idles at the end
            // (3 natural chunks on 2 threads become 4 smaller ones).
            per = batch.div_ceil(chunks.next_multiple_of(threads).min(batch));
            chunks = batch.div_ceil(per);
        }
        Plan {
            per,
            chunks,
            par_chunks,
            serial_gemm: !large || par_chunks,
        }
    }

    /// The output columns `[lo, hi)` whose input column
    /// `o·sw + kj·dw - pw` lies inside `0..w`.
    #[inline]
    fn valid_cols(&self, kj: usize) -> (usize, usize, isize) {
        let off = (kj * self.dw) as isize - self.pw as isize;
        let lo = if off >= 0 {
            0
        } else {
            ((-off) as usize).div_ceil(self.sw)
        };
        let last = self.w as isize - 1 - off;
        let hi = if last < 0 {
            0
        } else {
            (last as usize / self.sw + 1).min(self.ow)
        };
        (lo.min(hi), hi, off)
    }

    /// The input row of output row `o` and kernel row `ki`, if inside.
    #[inline]
    fn in_row(&self, o: usize, ki: usize) -> Option<usize> {
        let r = (o * self.sh + ki * self.dh) as isize - self.ph as isize;
        (r >= 0 && (r as usize) < self.h).then_some(r as usize)
    }
}

/// `cols[(c, ki, kj), col0 + (o_h, o_w)] = x[c, o_h·sh + ki·dh - ph, o_w·sw + kj·dw - pw]`
/// (0 in the padding), for the `cig` planes of one group of one image;
/// `cols` has rows of `ld` elements.
fn im2col<E: ConvFloat>(g: &Geo, src: &[E], cols: &mut [E], ld: usize, col0: usize) {
    let mut r_idx = 0;
    for plane in src.chunks_exact(g.hw).take(g.cig) {
        for ki in 0..g.kh {
            for kj in 0..g.kw {
                let row = &mut cols[r_idx * ld + col0..][..g.l];
                r_idx += 1;
                let (lo, hi, off) = g.valid_cols(kj);
                if g.sh == 1 && g.sw == 1 && g.ow == g.w {
                    im2col_same(g, plane, row, ki, (lo, hi, off));
                    continue;
                }
                if g.sh == 1 && g.sw == 1 && g.ph == 0 && g.pw == 0 {
                    // No padding: every output row reads a whole stretch
                    // of one input row (LeNet's layers).
                    let src = &plane[ki * g.dh * g.w + kj * g.dw..];
                    for (o, r) in row.chunks_exact_mut(g.ow).enumerate() {
                        copy_short(r, &src[o * g.w..][..g.ow]);
                    }
                    continue;
                }
                for (o, r) in row.chunks_exact_mut(g.ow).enumerate() {
                    let Some(ih) = g.in_row(o, ki) else {
                        r.fill(E::ZERO);
                        continue;
                    };
                    let src_row = &plane[ih * g.w..(ih + 1) * g.w];
                    r[..lo].fill(E::ZERO);
                    r[hi..].fill(E::ZERO);
                    if lo == hi {
                        continue;
                    }
                    // lo..hi map inside the row by construction.
                    let start = (lo as isize * g.sw as isize + off) as usize;
                    if g.sw == 1 {
                        copy_short(&mut r[lo..hi], &src_row[start..start + (hi - lo)]);
                    } else {
                        for (d, s) in r[lo..hi]
                            .iter_mut()
                            .zip(src_row[start..].iter().step_by(g.sw))
                        {
                            *d = *s;
                        }
                    }
                }
            }
        }
    }
}

/// `dst.copy_from_slice(src)` for the short rows of [`im2col`] (8 to 32
/// elements in LeNet): `copy_from_slice` is a `memmove` call there, and the
/// calls were a fifth of LeNet's training step. Whole blocks of 16, 8 and 4
/// are fixed-size copies (inline vector moves), then at most 3 elements.
#[inline(always)]
fn copy_short<E: Copy>(dst: &mut [E], src: &[E]) {
    if dst.len() > 64 {
        dst.copy_from_slice(src);
        return;
    }
    fn blocks<E: Copy, const N: usize>(dst: &mut [E], src: &[E]) -> usize {
        let n = dst.len() / N * N;
        for (d, s) in dst[..n].chunks_exact_mut(N).zip(src[..n].chunks_exact(N)) {
            let s: &[E; N] = s.try_into().expect("chunks of N");
            let d: &mut [E; N] = d.try_into().expect("chunks of N");
            *d = *s;
        }
        n
    }
    let (dst, src) = (&mut dst[..src.len()], src);
    let mut i = blocks::<E, 16>(dst, src);
    i += blocks::<E, 8>(&mut dst[i..], &src[i..]);
    i += blocks::<E, 4>(&mut dst[i..], &src[i..]);
    for (d, &s) in dst[i..].iter_mut().zip(&src[i..]) {
        *d = s;
    }
}

/// One row of [`im2col`] (kernel tap `(ki, kj)` of one plane) when the
/// output rows are as long as the input rows and follow them one by one
/// (stride 1, "same" padding along the width: ResNet's 3x3 layers): the
/// valid output rows read one contiguous stretch of the plane shifted by
/// the tap, so they are one copy instead of a short copy per row (a
/// `memmove` call of 4 to 32 elements each, a third of im2col's time),
/// after which the columns that fall in the padding are zeroed. `cols`
/// is from [`Geo::valid_cols`] for `kj`.
fn im2col_same<E: ConvFloat>(
    g: &Geo,
    plane: &[E],
    row: &mut [E],
    ki: usize,
    (lo, hi, off): (usize, usize, isize),
) {
    let oh = g.l / g.ow;
    // Output row o reads input row o + r0.
    let r0 = (ki * g.dh) as isize - g.ph as isize;
    let olo = (-r0).clamp(0, oh as isize) as usize;
    let ohi = (g.h as isize - r0).clamp(olo as isize, oh as isize) as usize;
    row[..olo * g.ow].fill(E::ZERO);
    row[ohi * g.ow..].fill(E::ZERO);
    let blk = &mut row[olo * g.ow..ohi * g.ow];
    if blk.is_empty() {
        return;
    }
    // blk[i] = plane[base + i] where that is inside the plane; the
    // positions outside it (before the first row, past the last) are
    // padding columns, zeroed below with the others.
    let base = (olo as isize + r0) * g.w as isize + off;
    let i0 = ((-base).max(0) as usize).min(blk.len());
    let i1 = (plane.len() as isize - base).clamp(i0 as isize, blk.len() as isize) as usize;
    // Nothing of the plane lands in the block when a wide padding puts
    // every read outside it (then `base + i0` may be negative).
    if i1 > i0 {
        let s0 = (base + i0 as isize) as usize;
        blk[i0..i1].copy_from_slice(&plane[s0..s0 + (i1 - i0)]);
    }
    // Column by column down the rows: a `fill` per row was a `memset`
    // call for one element.
    for c in (0..lo).chain(hi..g.ow) {
        for v in blk[c..].iter_mut().step_by(g.ow) {
            *v = E::ZERO;
        }
    }
}

/// [`im2col`] of group `gi` of images `n0..n0 + cnt` into `cols` (rows of
/// `cnt·L`). With `par` (a large call in one chunk, whose gemm threads
/// itself) the rows are split over the threads by input channel: run on
/// the calling thread, this was half of its serial time in a 2-thread
/// ResNet-18 step.
fn im2col_images<E: ConvFloat>(
    g: &Geo,
    x: &[E],
    n0: usize,
    cnt: usize,
    gi: usize,
    cols: &mut [E],
    par: bool,
) {
    let ld = cnt * g.l;
    let plane0 = |i: usize| ((n0 + i) * g.ci + gi * g.cig) * g.hw;
    #[cfg(feature = "std")]
    if par && g.cig > 1 {
        use rayon::prelude::*;
        let rows = g.kh * g.kw * ld;
        let per = g.cig.div_ceil(4 * threads());
        cols[..g.kc * ld]
            .par_chunks_mut(per * rows)
            .enumerate()
            .for_each(|(t, block)| {
                let nc = block.len() / rows;
                for i in 0..cnt {
                    let xs = &x[plane0(i) + t * per * g.hw..][..nc * g.hw];
                    im2col(g, xs, block, ld, i * g.l);
                }
            });
        return;
    }
    let _ = par;
    for i in 0..cnt {
        im2col(g, &x[plane0(i)..][..g.cig * g.hw], cols, ld, i * g.l);
    }
}

super::simd::wide_fn! {
    /// The adjoint of [`im2col`]: adds each column entry (from columns
    /// `col0..col0 + L` of rows of `ld`) into the input pixel it was read
    /// from. Compiled wide: in the baseline (SSE) build most of its time
    /// went to the scalar tails of the short row loops.
    fn col2im<E: ConvFloat>(g: &Geo, cols: &[E], ld: usize, col0: usize, dst: &mut [E]) -> () {
        let same = g.sh == 1 && g.sw == 1 && g.ow == g.w;
        let keep = if same { same_width_masks(g) } else { Vec::new() };
        let mut r_idx = 0;
        for plane in dst.chunks_exact_mut(g.hw).take(g.cig) {
            for ki in 0..g.kh {
                for kj in 0..g.kw {
                    let row = &cols[r_idx * ld + col0..][..g.l];
                    r_idx += 1;
                    let (lo, hi, off) = g.valid_cols(kj);
                    if lo == hi {
                        continue;
                    }
                    if same {
                        col2im_same(g, plane, row, ki, off, &keep[kj * g.l..][..g.l]);
                        continue;
                    }
                    let start = (lo as isize * g.sw as isize + off) as usize;
                    for (o, r) in row.chunks_exact(g.ow).enumerate() {
                        let Some(ih) = g.in_row(o, ki) else {
                            continue;
                        };
                        let dst_row = &mut plane[ih * g.w..(ih + 1) * g.w];
                        if g.sw == 1 {
                            for (d, s) in dst_row[start..start + (hi - lo)].iter_mut().zip(&r[lo..hi]) {
                                *d = *d + *s;
                            }
                        } else {
                            for (d, s) in dst_row[start..].iter_mut().step_by(g.sw).zip(&r[lo..hi]) {
                                *d = *d + *s;
                            }
                        }
                    }
                }
            }
        }
    }
}

/// For [`col2im_same`]: `keep[kj·L + o·OW + c]` = whether column `c` of
/// kernel column `kj` reads inside the row (`lo <= c < hi` of
/// [`Geo::valid_cols`]).
fn same_width_masks(g: &Geo) -> Vec<bool> {
    let mut keep = Vec::with_capacity(g.kw * g.l);
    for kj in 0..g.kw {
        let (lo, hi, _) = g.valid_cols(kj);
        for _ in 0..g.l / g.ow.max(1) {
            keep.extend((0..g.ow).map(|c| (lo..hi).contains(&c)));
        }
    }
    keep
}

/// One row of [`col2im`] (tap `(ki, kj)` of one plane) in the layout of
/// [`im2col_same`]: the valid output rows of the tap add onto one
/// contiguous, shifted stretch of the plane, and the entries of the
/// padding columns (which would land on the neighbouring row's edge) are
/// replaced by zeros on the way (`keep`, this tap's mask), so the add is
/// one flat loop instead of a short loop per output row.
#[inline(always)]
fn col2im_same<E: ConvFloat>(
    g: &Geo,
    plane: &mut [E],
    row: &[E],
    ki: usize,
    off: isize,
    keep: &[bool],
) {
    let oh = g.l / g.ow;
    let r0 = (ki * g.dh) as isize - g.ph as isize;
    let olo = (-r0).clamp(0, oh as isize) as usize;
    let ohi = (g.h as isize - r0).clamp(olo as isize, oh as isize) as usize;
    let blk = &row[olo * g.ow..ohi * g.ow];
    let keep = &keep[olo * g.ow..ohi * g.ow];
    if blk.is_empty() {
        return;
    }
    // As in `im2col_same`: blk[i] belongs to plane[base + i] where kept;
    // the entries outside the plane are padding columns (not kept).
    let base = (olo as isize + r0) * g.w as isize + off;
    let i0 = ((-base).max(0) as usize).min(blk.len());
    let i1 = (plane.len() as isize - base).clamp(i0 as isize, blk.len() as isize) as usize;
    let s0 = (base + i0 as isize) as usize;
    let d = &mut plane[s0..s0 + (i1 - i0)];
    for ((d, &v), &k) in d.iter_mut().zip(&blk[i0..i1]).zip(&keep[i0..i1]) {
        *d = *d + if k { v } else { E::ZERO };
    }
}

/// One dense product `C (+)= op(A) · op(B)` (`m × k` by `k × n`).
#[allow(clippy::too_many_arguments)]
fn gemm<E: CpuFloat>(
    m: usize,
    k: usize,
    n: usize,
    a: &[E],
    a_t: bool,
    b: &[E],
    b_t: bool,
    c: &mut [E],
    accumulate: bool,
    serial: bool,
) {
    let p = gemm_kernel::MatmulParams {
        batch: 1,
        m,
        k,
        n,
        a_batch_stride: 0,
        b_batch_stride: 0,
        a_t,
        b_t,
        accumulate,
    };
    if serial {
        gemm_kernel::matmul_serial(p, a, b, c);
    } else {
        gemm_kernel::matmul(p, a, b, c);
    }
}

/// `gy` of images `n0..n0 + cnt` as `C_out × cnt·L` (image `i` in columns
/// `i·L..`), into `dst`.
fn gather_gy<E: ConvFloat>(g: &Geo, gy: &[E], n0: usize, cnt: usize, dst: &mut [E]) {
    let ld = cnt * g.l;
    for i in 0..cnt {
        let img = &gy[(n0 + i) * g.co * g.l..][..g.co * g.l];
        for (co, src) in img.chunks_exact(g.l).enumerate() {
            dst[co * ld + i * g.l..][..g.l].copy_from_slice(src);
        }
    }
}

/// The output of images `n0..n0 + cnt` as `t = C_out × cnt·L`, through
/// `emit(channel, row of L)` in NCHW order.
fn forward_chunk<E: ConvFloat>(
    g: &Geo,
    x: &[E],
    w: &[E],
    n0: usize,
    cnt: usize,
    serial: bool,
    mut emit: impl FnMut(usize, &[E]),
) {
    let ld = cnt * g.l;
    let direct = g.pointwise() && cnt == 1;
    let cols_len = if direct { 0 } else { g.kc * ld };
    E::with_scratch(cols_len + g.co * ld, |buf| {
        let (cols, t) = buf.split_at_mut(cols_len);
        for gi in 0..g.groups {
            let a = &w[gi * g.cog * g.kc..][..g.cog * g.kc];
            let c = &mut t[gi * g.cog * ld..][..g.cog * ld];
            let bm: &[E] = if direct {
                &x[(n0 * g.ci + gi * g.cig) * g.hw..][..g.cig * g.hw]
            } else {
                im2col_images(g, x, n0, cnt, gi, cols, !serial);
                cols
            };
            gemm(g.cog, g.kc, ld, a, false, bm, false, c, false, serial);
        }
        for i in 0..cnt {
            for co in 0..g.co {
                emit(co, &t[co * ld + i * g.l..][..g.l]);
            }
        }
    });
}

/// `y[n] = conv(x[n], w) (+ b)` for one image, the gemm writing straight
/// into `y[n]` (`C_out × L`, the layout of the product): no copy of the
/// output.
fn forward_image<E: ConvFloat>(
    g: &Geo,
    x: &[E],
    w: &[E],
    b: Option<&[E]>,
    n: usize,
    yn: &mut [E],
    serial: bool,
) {
    let direct = g.pointwise();
    let cols_len = if direct { 0 } else { g.kc * g.l };
    E::with_scratch(cols_len, |cols| {
        for gi in 0..g.groups {
            let a = &w[gi * g.cog * g.kc..][..g.cog * g.kc];
            let xs = &x[(n * g.ci + gi * g.cig) * g.hw..][..g.cig * g.hw];
            let bm: &[E] = if direct {
                xs
            } else {
                im2col(g, xs, cols, g.l, 0);
                cols
            };
            let c = &mut yn[gi * g.cog * g.l..][..g.cog * g.l];
            gemm(g.cog, g.kc, g.l, a, false, bm, false, c, false, serial);
        }
    });
    if let Some(b) = b {
        for (plane, &bc) in yn.chunks_exact_mut(g.l).zip(b) {
            for v in plane {
                *v = *v + bc;
            }
        }
    }
}

/// `len` zeros, written by all threads when `par` and `len` is worth it (a
/// serial memset of a few MiB was a tenth of a 2-thread ResNet step's
/// calling thread).
fn zeros<E: ConvFloat>(len: usize, par: bool) -> Vec<E> {
    if par {
        return super::par::full(len, E::ZERO);
    }
    vec![E::ZERO; len]
}

/// `y = conv(x, w) (+ b)`.
fn forward<E: ConvFloat>(p: &ConvParams, x: &[E], w: &[E], b: Option<&[E]>) -> Vec<E> {
    let g = Geo::new(p);
    let len = g.batch * g.co * g.l;
    if len == 0 {
        return Vec::new();
    }
    if direct::applies(&g) {
        return direct::forward(&g, x, w, b);
    }
    if winograd::applies(&g) {
        g.warm_threads();
        return winograd::forward(&g, x, w, b);
    }
    let plan = g.plan();
    if plan.per == 1 {
        // One image per product: written in place (the zero fill is one
        // write pass; the copy it replaces was a read and a write).
        let mut y = zeros(len, plan.par_chunks);
        #[cfg(feature = "std")]
        if plan.par_chunks {
            use rayon::prelude::*;
            y.par_chunks_mut(g.co * g.l)
                .enumerate()
                .for_each(|(n, yn)| forward_image(&g, x, w, b, n, yn, true));
            return y;
        }
        for (n, yn) in y.chunks_exact_mut(g.co * g.l).enumerate() {
            forward_image(&g, x, w, b, n, yn, plan.serial_gemm);
        }
        return y;
    }
    #[cfg(feature = "std")]
    if plan.par_chunks {
        use rayon::prelude::*;
        let mut y = zeros(len, true);
        y.par_chunks_mut(plan.per * g.co * g.l)
            .enumerate()
            .for_each(|(c, yc)| {
                let cnt = yc.len() / (g.co * g.l);
                let mut rows = yc.chunks_exact_mut(g.l);
                forward_chunk(&g, x, w, c * plan.per, cnt, true, |co, r| {
                    let d = rows.next().expect("conv forward: rows match");
                    match b {
                        Some(b) => {
                            for (d, &v) in d.iter_mut().zip(r) {
                                *d = v + b[co];
                            }
                        }
                        None => d.copy_from_slice(r),
                    }
                });
            });
        return y;
    }
    // Serial over chunks: `y` is written once, in order, never zero-filled.
    let mut y = super::par::output_vec(len);
    for c in 0..plan.chunks {
        let n0 = c * plan.per;
        let cnt = plan.per.min(g.batch - n0);
        forward_chunk(&g, x, w, n0, cnt, plan.serial_gemm, |co, r| match b {
            Some(b) => y.extend(r.iter().map(|&v| v + b[co])),
            None => y.extend_from_slice(r),
        });
    }
    y
}

/// Adds the input gradient of images `n0..n0 + cnt` onto `dst` (their
/// `cnt·C_in·H·W` elements).
fn input_grad_chunk<E: ConvFloat>(
    g: &Geo,
    w: &[E],
    gy: &[E],
    n0: usize,
    cnt: usize,
    dst: &mut [E],
    serial: bool,
) {
    let ld = cnt * g.l;
    let gather = cnt > 1;
    let direct = g.pointwise() && cnt == 1;
    let gy_len = if gather { g.co * ld } else { 0 };
    let cols_len = if direct { 0 } else { g.kc * ld };
    E::with_scratch(gy_len + cols_len, |buf| {
        let (gyb, cols) = buf.split_at_mut(gy_len);
        let gys: &[E] = if gather {
            gather_gy(g, gy, n0, cnt, gyb);
            gyb
        } else {
            &gy[n0 * g.co * g.l..][..g.co * g.l]
        };
        for gi in 0..g.groups {
            let a = &w[gi * g.cog * g.kc..][..g.cog * g.kc];
            let gyg = &gys[gi * g.cog * ld..][..g.cog * ld];
            if direct {
                let d = &mut dst[gi * g.cig * g.hw..][..g.cig * g.hw];
                gemm(g.kc, g.cog, ld, a, true, gyg, false, d, true, serial);
                continue;
            }
            gemm(g.kc, g.cog, ld, a, true, gyg, false, cols, false, serial);
            // A threaded gemm (a large call in one chunk: a ResNet's 4x4
            // stage) leaves the scatter to this thread; its images are
            // disjoint, so they go over the threads too.
            #[cfg(feature = "std")]
            if !serial && cnt > 1 {
                use rayon::prelude::*;
                let cols = &*cols;
                dst[..cnt * g.ci * g.hw]
                    .par_chunks_mut(g.ci * g.hw)
                    .enumerate()
                    .for_each(|(i, img)| {
                        col2im(
                            g,
                            cols,
                            ld,
                            i * g.l,
                            &mut img[gi * g.cig * g.hw..][..g.cig * g.hw],
                        );
                    });
                continue;
            }
            for i in 0..cnt {
                let d = &mut dst[(i * g.ci + gi * g.cig) * g.hw..][..g.cig * g.hw];
                col2im(g, cols, ld, i * g.l, d);
            }
        }
    });
}

/// Appends `cnt` images of `C_in × H × W`, each channel filled with its
/// bias (or 0).
fn push_init<E: ConvFloat>(g: &Geo, v: &mut Vec<E>, cnt: usize, b: Option<&[E]>) {
    for _ in 0..cnt {
        match b {
            Some(b) => {
                for &bc in b {
                    v.extend(core::iter::repeat_n(bc, g.hw));
                }
            }
            None => v.resize(v.len() + g.ci * g.hw, E::ZERO),
        }
    }
}

/// `dx = conv input gradient of gy (+ b per input channel)`.
fn input_grad<E: ConvFloat>(p: &ConvParams, w: &[E], gy: &[E], b: Option<&[E]>) -> Vec<E> {
    let g = Geo::new(p);
    let len = g.batch * g.ci * g.hw;
    if len == 0 {
        return Vec::new();
    }
    let mut gx = super::par::output_vec(len);
    if g.l == 0 || g.co == 0 {
        // Nothing flows back: only the bias (or zeros).
        push_init(&g, &mut gx, g.batch, b);
        return gx;
    }
    if direct::applies_input_grad(&g) {
        return direct::input_grad(&g, w, gy, b);
    }
    if winograd::applies(&g) {
        g.warm_threads();
        return winograd::input_grad(&g, w, gy, b);
    }
    let plan = g.plan();
    let img = g.ci * g.hw;
    #[cfg(feature = "std")]
    if plan.par_chunks {
        use rayon::prelude::*;
        // The initial fill in parallel too (4 MiB for a 64-channel 32x32
        // layer at batch 16, a serial memset otherwise).
        match b {
            Some(b) => gx.par_extend(
                (0..len)
                    .into_par_iter()
                    .with_min_len(4096)
                    .map(|i| b[(i / g.hw) % g.ci]),
            ),
            None => gx.par_extend(rayon::iter::repeat_n(E::ZERO, len)),
        }
        gx.par_chunks_mut(plan.per * img)
            .enumerate()
            .for_each(|(c, d)| {
                input_grad_chunk(&g, w, gy, c * plan.per, d.len() / img, d, true);
            });
        return gx;
    }
    for c in 0..plan.chunks {
        let n0 = c * plan.per;
        let cnt = plan.per.min(g.batch - n0);
        push_init(&g, &mut gx, cnt, b);
        input_grad_chunk(&g, w, gy, n0, cnt, &mut gx[n0 * img..], plan.serial_gemm);
    }
    gx
}

/// `gw[group] += Σ gy[n, group] · im2col(x[n, group])ᵀ` over the images of
/// chunks `chunks` (of `per` images each); with
/// [`Geo::weight_grad_transposed`] each group's block of `gw` holds the
/// transpose (`K × C_out/G`) instead.
fn weight_grad_part<E: ConvFloat>(
    g: &Geo,
    x: &[E],
    gy: &[E],
    per: usize,
    chunks: core::ops::Range<usize>,
    gw: &mut [E],
    serial: bool,
) {
    for c in chunks {
        let n0 = c * per;
        let cnt = per.min(g.batch - n0);
        let ld = cnt * g.l;
        let gather = cnt > 1;
        let direct = g.pointwise() && cnt == 1;
        let gy_len = if gather { g.co * ld } else { 0 };
        let cols_len = if direct { 0 } else { g.kc * ld };
        E::with_scratch(gy_len + cols_len, |buf| {
            let (gyb, cols) = buf.split_at_mut(gy_len);
            let gys: &[E] = if gather {
                gather_gy(g, gy, n0, cnt, gyb);
                gyb
            } else {
                &gy[n0 * g.co * g.l..][..g.co * g.l]
            };
            for gi in 0..g.groups {
                let gyg = &gys[gi * g.cog * ld..][..g.cog * ld];
                let bm: &[E] = if direct {
                    &x[(n0 * g.ci + gi * g.cig) * g.hw..][..g.cig * g.hw]
                } else {
                    im2col_images(g, x, n0, cnt, gi, cols, !serial);
                    cols
                };
                let c = &mut gw[gi * g.cog * g.kc..][..g.cog * g.kc];
                if g.weight_grad_transposed() {
                    // `gW[group]ᵀ += cols · gy'ᵀ`: gemm packs `gy'`, not
                    // the (larger) column matrix.
                    gemm(g.kc, ld, g.cog, bm, false, gyg, true, c, true, serial);
                } else {
                    gemm(g.cog, ld, g.kc, gyg, false, bm, true, c, true, serial);
                }
            }
        });
    }
}

/// `dW`, summed over the batch.
fn weight_grad<E: ConvFloat>(p: &ConvParams, x: &[E], gy: &[E]) -> Vec<E> {
    let g = Geo::new(p);
    let len = g.co * g.kc;
    if len == 0 || g.batch == 0 || g.l == 0 {
        return vec![E::ZERO; len];
    }
    if winograd::applies(&g) {
        g.warm_threads();
        return winograd_weight::weight_grad(&g, x, gy);
    }
    let plan = g.plan();
    #[cfg(feature = "std")]
    if plan.par_chunks {
        use rayon::prelude::*;
        // One partial gradient per thread's share of the chunks, summed at
        // the end.
        let parts = threads().min(plan.chunks);
        let per_part = plan.chunks.div_ceil(parts);
        let partials: Vec<Vec<E>> = (0..parts)
            .into_par_iter()
            .map(|t| {
                let mut part = vec![E::ZERO; len];
                let range = t * per_part..((t + 1) * per_part).min(plan.chunks);
                weight_grad_part(&g, x, gy, plan.per, range, &mut part, true);
                part
            })
            .collect();
        if g.weight_grad_transposed() {
            return untranspose_sum(&g, &partials);
        }
        // The others are added onto the first over slices in parallel (a
        // 3x3 512-channel layer has 2.4M weights per partial).
        let mut partials = partials.into_iter();
        let mut gw = partials.next().expect("conv weight grad: one part");
        let rest: Vec<Vec<E>> = partials.collect();
        let slice = len.div_ceil(threads()).max(4096);
        gw.par_chunks_mut(slice).enumerate().for_each(|(i, out)| {
            for part in &rest {
                for (a, &v) in out.iter_mut().zip(&part[i * slice..]) {
                    *a = *a + v;
                }
            }
        });
        return untranspose_weight_grad(&g, gw);
    }
    let mut gw = zeros(len, !plan.serial_gemm);
    weight_grad_part(
        &g,
        x,
        gy,
        plan.per,
        0..plan.chunks,
        &mut gw,
        plan.serial_gemm,
    );
    untranspose_weight_grad(&g, gw)
}

/// `gw` in the layout of the weights: each group's `K × C_out/G` block
/// transposed when [`Geo::weight_grad_transposed`] (else `gw` itself).
fn untranspose_weight_grad<E: ConvFloat>(g: &Geo, gw: Vec<E>) -> Vec<E> {
    if !g.weight_grad_transposed() {
        return gw;
    }
    let blk = g.cog * g.kc;
    let mut out = vec![E::ZERO; gw.len()];
    for (src, dst) in gw.chunks_exact(blk).zip(out.chunks_exact_mut(blk)) {
        transpose(src, g.kc, g.cog, dst);
    }
    out
}

/// [`untranspose_weight_grad`] of the sum of per-thread `parts`, in one
/// pass over threads: tiles of 16 rows of `gW` (16 adjacent columns of
/// each part's `K × C_out/G` blocks, one cache line per row read).
#[cfg(feature = "std")]
fn untranspose_sum<E: ConvFloat>(g: &Geo, parts: &[Vec<E>]) -> Vec<E> {
    use rayon::prelude::*;
    const T: usize = 16;
    let mut out = vec![E::ZERO; g.co * g.kc];
    // Tiles never straddle a group: a group's rows are split on their own.
    let tiles: Vec<(usize, usize)> = (0..g.groups)
        .flat_map(|gi| (0..g.cog).step_by(T).map(move |j0| (gi, j0)))
        .collect();
    let mut rest = &mut out[..];
    let mut slices = Vec::with_capacity(tiles.len());
    for &(_, j0) in &tiles {
        let rows = T.min(g.cog - j0);
        let (a, b) = rest.split_at_mut(rows * g.kc);
        slices.push(a);
        rest = b;
    }
    tiles
        .into_par_iter()
        .zip(slices)
        .for_each(|((gi, j0), dst)| {
            let rows = T.min(g.cog - j0);
            for i in 0..g.kc {
                let at = gi * g.cog * g.kc + i * g.cog + j0;
                let mut acc = [E::ZERO; T];
                for part in parts {
                    for (a, &v) in acc.iter_mut().zip(&part[at..at + rows]) {
                        *a = *a + v;
                    }
                }
                for (j, &v) in acc[..rows].iter().enumerate() {
                    dst[j * g.kc + i] = v;
                }
            }
        });
    out
}

/// `dst (cols × rows) = srcᵀ` for a row-major `src` of `rows × cols`, in
/// tiles of 16 x 16 (so both sides stay in cache lines).
fn transpose<E: ConvFloat>(src: &[E], rows: usize, cols: usize, dst: &mut [E]) {
    const T: usize = 16;
    for r0 in (0..rows).step_by(T) {
        for c0 in (0..cols).step_by(T) {
            for r in r0..(r0 + T).min(rows) {
                let s = &src[r * cols..][c0..(c0 + T).min(cols)];
                for (j, &v) in s.iter().enumerate() {
                    dst[(c0 + j) * rows + r] = v;
                }
            }
        }
    }
}

/// `out[c] = Σ_{n, s} v[n, c, s]`.
fn channel_sum<E: ConvFloat>(batch: usize, channels: usize, spatial: usize, v: &[E]) -> Vec<E> {
    let mut out = vec![E::ZERO; channels];
    if channels == 0 || spatial == 0 {
        return out;
    }
    for img in v.chunks_exact(channels * spatial).take(batch) {
        for (acc, plane) in out.iter_mut().zip(img.chunks_exact(spatial)) {
            *acc = *acc + plane_sum(plane);
        }
    }
    out
}

/// `Σ v` in 8 interleaved partial sums (so the loop vectorises).
#[inline]
fn plane_sum<E: ConvFloat>(v: &[E]) -> E {
    let mut lanes = [E::ZERO; 8];
    let mut it = v.chunks_exact(8);
    for c in &mut it {
        for (l, &x) in lanes.iter_mut().zip(c) {
            *l = *l + x;
        }
    }
    let tail = it.remainder().iter().fold(E::ZERO, |s, &x| s + x);
    let [a, b, c, d, e, f, g, h] = lanes;
    ((a + b) + (c + d)) + ((e + f) + (g + h)) + tail
}

macro_rules! conv_impl {
    ($($e:ty),*) => {$(
        impl ConvKernel<$e> for Cpu {
            fn conv_forward(
                &self,
                p: &ConvParams,
                x: &CpuStorage<$e>,
                w: &CpuStorage<$e>,
                b: Option<&CpuStorage<$e>>,
            ) -> CpuStorage<$e> {
                CpuStorage::new(forward(p, x, w, b.map(|b| b.as_slice())))
            }
            fn conv_input_grad(
                &self,
                p: &ConvParams,
                w: &CpuStorage<$e>,
                gy: &CpuStorage<$e>,
                b: Option<&CpuStorage<$e>>,
            ) -> CpuStorage<$e> {
                CpuStorage::new(input_grad(p, w, gy, b.map(|b| b.as_slice())))
            }
            fn conv_weight_grad(
                &self,
                p: &ConvParams,
                x: &CpuStorage<$e>,
                gy: &CpuStorage<$e>,
            ) -> CpuStorage<$e> {
                CpuStorage::new(weight_grad(p, x, gy))
            }
            fn channel_sum(
                &self,
                batch: usize,
                channels: usize,
                spatial: usize,
                g: &CpuStorage<$e>,
            ) -> CpuStorage<$e> {
                CpuStorage::new(channel_sum(batch, channels, spatial, g))
            }
        }
    )*};
}
conv_impl!(f32, f64);
