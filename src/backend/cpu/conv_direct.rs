//! Direct convolution (no im2col, no gemm) for few channels and stride 1.
//!
//! For LeNet-sized layers (`C_in·KH·KW <= 160`, `C_out <= 32`) a gemm is
//! all packing and edge kernels. Here each image is laid out "wide": its
//! zero-padded planes have rows of `Wp = W + 2·PW`, and an output pixel
//! `(o, j)` sits at `o·Wp + j` of a plane with the same row length (the
//! `Wp - OW` columns past each output row are computed and thrown away).
//! A kernel tap `(c, ki, kj)` is then one flat offset
//! `c·plane + ki·DH·Wp + kj·DW`, and every direction is the same loop
//! ([`correlate`]): `out[k][p] = Σ_t wt[t][k] · src[p + off[t]]`, blocked
//! as 16 pixels × 4 output planes held in registers, vectorised along `p`.
//!
//! - Forward: `src` = the padded input, taps over `(c_in, ki, kj)`.
//! - Input gradient: `src` = the wide `gy` (garbage columns zero) behind a
//!   margin of the largest tap offset, taps over `(c_out, ki, kj)` at
//!   `margin - off`, giving the padded input gradient.
//!
//! The weight gradient stays on im2col + gemm: a direct version (blocked
//! dot products over the wide planes) measured 20-50% slower on LeNet.

use super::{ConvFloat, Geo};
use alloc::vec::Vec;

/// Zeros past each padded plane, so the last block of positions (at most
/// 128 wide) reads inside the buffer.
const SLACK: usize = 128;

/// Whether the direct forward takes this call: one group, stride 1, few
/// channels (measured faster than im2col + gemm there, see
/// `docs/DECISIONS.md`).
pub(super) fn applies(g: &Geo) -> bool {
    g.groups == 1 && g.sh == 1 && g.sw == 1 && g.kc <= 160 && g.co <= 32 && g.l > 0
}

/// Whether the direct input gradient takes this call: as [`applies`], and
/// its full correlation (all padded input positions, every tap, planes
/// rounded up to the block) is at most twice the multiply-adds of the
/// gemm (`C_out·K·L`). LeNet's first layer: 1.6x, and 20% faster than
/// im2col + gemm; its second: 3x, and 30% slower.
pub(super) fn applies_input_grad(g: &Geo) -> bool {
    if !applies(g) {
        return false;
    }
    let wd = Wide::new(g);
    let (cb, bl) = block_shape(g.ci, wd.plane);
    let direct = g.ci.next_multiple_of(cb) * wd.plane.next_multiple_of(bl) * g.co * g.kh * g.kw;
    direct <= 2 * g.co * g.kc * g.l
}

/// Sizes of the wide layout of one call.
struct Wide {
    /// Padded row length.
    wp: usize,
    /// Padded plane size `Hp·Wp`.
    plane: usize,
    /// Output positions holding the output (`(OH-1)·Wp + OW`).
    len: usize,
    /// Largest tap offset inside a plane.
    max_off: usize,
}

impl Wide {
    fn new(g: &Geo) -> Wide {
        let wp = g.w + 2 * g.pw;
        let hp = g.h + 2 * g.ph;
        let oh = g.l / g.ow;
        Wide {
            wp,
            plane: hp * wp,
            len: (oh - 1) * wp + g.ow,
            max_off: (g.kh - 1) * g.dh * wp + (g.kw - 1) * g.dw,
        }
    }

    /// Stride of a padded input plane, [`SLACK`] zeros past the plane.
    fn xs(&self) -> usize {
        self.plane + SLACK
    }

    /// Offsets of the taps `(ki, kj)` inside a plane, row-major.
    fn taps(&self, g: &Geo) -> impl Iterator<Item = usize> + '_ {
        let (kh, kw, dh, dw, wp) = (g.kh, g.kw, g.dh, g.dw, self.wp);
        (0..kh).flat_map(move |ki| (0..kw).map(move |kj| ki * dh * wp + kj * dw))
    }

    /// Offsets of the taps `(c_in, ki, kj)` in the padded input planes.
    fn input_taps(&self, g: &Geo) -> Vec<usize> {
        let per: Vec<usize> = self.taps(g).collect();
        (0..g.ci)
            .flat_map(|c| per.iter().map(move |&o| c * self.xs() + o))
            .collect()
    }

    /// `dst` (`cnt` planes of stride `xs()`, zeroed) = the padded `src`
    /// planes.
    fn pad_input<E: ConvFloat>(&self, g: &Geo, src: &[E], cnt: usize, dst: &mut [E]) {
        dst[..cnt * self.xs()].fill(E::ZERO);
        for (plane, d) in src
            .chunks_exact(g.hw)
            .take(cnt)
            .zip(dst.chunks_exact_mut(self.xs()))
        {
            for (r, row) in plane.chunks_exact(g.w).enumerate() {
                d[(r + g.ph) * self.wp + g.pw..][..g.w].copy_from_slice(row);
            }
        }
    }

    /// `dst` (`n >= co` planes of `stride`) = the wide `gy` of one image,
    /// each plane after `margin` zeros; garbage columns, tails and the
    /// planes past `co` zero.
    fn widen_gy<E: ConvFloat>(
        &self,
        g: &Geo,
        gy: &[E],
        margin: usize,
        stride: usize,
        n: usize,
        dst: &mut [E],
    ) {
        dst[..n * stride].fill(E::ZERO);
        for (plane, d) in gy.chunks_exact(g.l).zip(dst.chunks_exact_mut(stride)) {
            for (o, row) in plane.chunks_exact(g.ow).enumerate() {
                d[margin + o * self.wp..][..g.ow].copy_from_slice(row);
            }
        }
    }
}

/// `out[k][p] = Σ_t wt[t·nk + k] · src[p + offs[t]]` for planes
/// `k < nk` (a multiple of `CB`) and positions `p < len` (a multiple of
/// `BL`): blocks of `CB × BL` sums in registers, one load of `src` per tap
/// for `CB` of them. `CB·BL = 128` keeps eight AVX-512 accumulators, enough
/// to hide the multiply-add latency. (`CB = 8` with `BL = 16` made LLVM
/// vectorise across the planes, with gathers: 25x slower.)
#[inline(always)]
fn correlate_blk<const FMA: bool, E: ConvFloat, const CB: usize, const BL: usize>(
    src: &[E],
    offs: &[usize],
    wt: &[E],
    nk: usize,
    len: usize,
    out: &mut [E],
) {
    // Every read below is inside: checked once here instead of per tap.
    let max_off = offs.iter().copied().max().unwrap_or(0);
    assert!(
        nk.is_multiple_of(CB)
            && len.is_multiple_of(BL)
            && max_off + len <= src.len()
            && offs.len() * nk <= wt.len()
            && nk * len <= out.len(),
        "conv direct kernel: buffers too short"
    );
    for kb in (0..nk).step_by(CB) {
        for p0 in (0..len).step_by(BL) {
            let mut acc = [[E::ZERO; BL]; CB];
            for (t, &off) in offs.iter().enumerate() {
                // SAFETY: `off + p0 + BL <= max_off + len <= src.len()` and
                // `t·nk + kb + CB <= offs.len()·nk <= wt.len()` (asserted
                // above; `p0 + BL <= len`, `kb + CB <= nk`), and the
                // element types are plain floats, so the `[E; N]` casts of
                // these in-bounds pointers are valid reads.
                let (xs, ws) = unsafe {
                    (
                        &*(src.as_ptr().add(off + p0) as *const [E; BL]),
                        &*(wt.as_ptr().add(t * nk + kb) as *const [E; CB]),
                    )
                };
                for (a, &wv) in acc.iter_mut().zip(ws) {
                    for (a, &xv) in a.iter_mut().zip(xs) {
                        *a = E::madd::<FMA>(wv, xv, *a);
                    }
                }
            }
            for (k, a) in acc.iter().enumerate() {
                out[(kb + k) * len + p0..][..BL].copy_from_slice(a);
            }
        }
    }
}

/// The `(CB, BL)` block shape for `n` planes of `len` positions: the one
/// computing the fewest padded sums (planes rounded up to `CB`, positions
/// to `BL`), the widest `CB` on ties.
fn block_shape(n: usize, len: usize) -> (usize, usize) {
    let mut best = (4, 32);
    let mut cost = usize::MAX;
    for cb in [4, 2, 1] {
        let bl = 128 / cb;
        let c = n.next_multiple_of(cb) * len.next_multiple_of(bl);
        if c < cost {
            (best, cost) = ((cb, bl), c);
        }
    }
    best
}

super::super::simd::wide_fn! {
    /// [`correlate_blk`] with `cb` planes per block (1, 2 or 4).
    fn correlate<E: ConvFloat>(cb: usize, src: &[E], offs: &[usize], wt: &[E], nk: usize, len: usize, out: &mut [E]) -> () {
        match cb {
            1 => correlate_blk::<FMA, E, 1, 128>(src, offs, wt, nk, len, out),
            2 => correlate_blk::<FMA, E, 2, 64>(src, offs, wt, nk, len, out),
            _ => correlate_blk::<FMA, E, 4, 32>(src, offs, wt, nk, len, out),
        }
    }
}

/// `y = conv(x, w) (+ b)` by the direct kernel.
pub(super) fn forward<E: ConvFloat>(g: &Geo, x: &[E], w: &[E], b: Option<&[E]>) -> Vec<E> {
    let wd = Wide::new(g);
    let (cb, bl) = block_shape(g.co, wd.len);
    let nk = g.co.next_multiple_of(cb);
    let len = wd.len.next_multiple_of(bl);
    // Taps over (c_in, ki, kj), the weights transposed to `[tap][c_out]`.
    let taps = wd.input_taps(g);
    let mut wt = alloc::vec![E::ZERO; g.kc * nk];
    for (o, row) in w.chunks_exact(g.kc).enumerate() {
        for (t, &v) in row.iter().enumerate() {
            wt[t * nk + o] = v;
        }
    }
    let img_in = g.ci * g.hw;
    let per_image = |n: usize, y: &mut [E]| {
        let xlen = g.ci * wd.xs();
        E::with_scratch(xlen + nk * len, |buf| {
            let (xp, out) = buf.split_at_mut(xlen);
            wd.pad_input(g, &x[n * img_in..][..img_in], g.ci, xp);
            correlate(cb, xp, &taps, &wt, nk, len, out);
            for (o, yo) in y.chunks_exact_mut(g.l).enumerate() {
                let bias = b.map_or(E::ZERO, |b| b[o]);
                let src = &out[o * len..];
                for (r, yr) in yo.chunks_exact_mut(g.ow).enumerate() {
                    for (d, &s) in yr.iter_mut().zip(&src[r * wd.wp..][..g.ow]) {
                        *d = s + bias;
                    }
                }
            }
        });
    };
    let mut y = alloc::vec![E::ZERO; g.batch * g.co * g.l];
    for_images(g, &mut y, g.co * g.l, per_image);
    y
}

/// `dx = conv input gradient of gy (+ b per input channel)` by the direct
/// kernel.
pub(super) fn input_grad<E: ConvFloat>(g: &Geo, w: &[E], gy: &[E], b: Option<&[E]>) -> Vec<E> {
    let wd = Wide::new(g);
    let (cb, bl) = block_shape(g.ci, wd.plane);
    let nk = g.ci.next_multiple_of(cb);
    // Positions of the padded input gradient computed.
    let out_len = wd.plane.next_multiple_of(bl);
    // Each wide `gy` plane sits behind `margin` zeros, so
    // `gx_pad[q] = Σ w · gy_wide[margin + q - off]` never reads before its
    // plane; `stride = margin + len + SLACK = plane + SLACK`, so the last
    // block (`q < plane + 128`) reads zeros, not the next plane's data.
    let margin = wd.max_off;
    let stride = margin + wd.len + SLACK;
    let per: Vec<usize> = wd.taps(g).collect();
    let taps: Vec<usize> = (0..g.co)
        .flat_map(|o| per.iter().map(move |&off| o * stride + margin - off))
        .collect();
    let kk = g.kh * g.kw;
    let mut wt = alloc::vec![E::ZERO; g.co * kk * nk];
    for o in 0..g.co {
        for c in 0..g.ci {
            for k in 0..kk {
                wt[(o * kk + k) * nk + c] = w[(o * g.ci + c) * kk + k];
            }
        }
    }
    // One zero plane more: the reads of the last plane's last block.
    let gy_len = (g.co + 1) * stride;
    let per_image = |n: usize, gx: &mut [E]| {
        E::with_scratch(gy_len + nk * out_len, |buf| {
            let (gw, out) = buf.split_at_mut(gy_len);
            let gy_n = &gy[n * g.co * g.l..][..g.co * g.l];
            wd.widen_gy(g, gy_n, margin, stride, g.co + 1, gw);
            correlate(cb, gw, &taps, &wt, nk, out_len, out);
            for (c, gc) in gx.chunks_exact_mut(g.hw).enumerate() {
                let bias = b.map_or(E::ZERO, |b| b[c]);
                let src = &out[c * out_len..];
                for (r, gr) in gc.chunks_exact_mut(g.w).enumerate() {
                    let s = &src[(r + g.ph) * wd.wp + g.pw..][..g.w];
                    for (d, &v) in gr.iter_mut().zip(s) {
                        *d = v + bias;
                    }
                }
            }
        });
    };
    let mut gx = alloc::vec![E::ZERO; g.batch * g.ci * g.hw];
    for_images(g, &mut gx, g.ci * g.hw, per_image);
    gx
}

/// `f(n, out[n])` over the images' slices of `img` elements, split over
/// threads when the call is large.
fn for_images<E: ConvFloat>(
    g: &Geo,
    out: &mut [E],
    img: usize,
    f: impl Fn(usize, &mut [E]) + Sync,
) {
    #[cfg(feature = "std")]
    if g.split_batch() {
        use rayon::prelude::*;
        out.par_chunks_mut(img)
            .enumerate()
            .for_each(|(n, o)| f(n, o));
        return;
    }
    let _ = g;
    for (n, o) in out.chunks_exact_mut(img).enumerate() {
        f(n, o);
    }
}
