//! CPU [`ConvKernel`]: im2col + gemm, per batch element and group.
//!
//! - Forward: `cols = im2col(x[n, group])` (`(C/G)·KH·KW × OH·OW`), then
//!   `y[n, group] (+)= W[group] · cols` (one gemm, the bias written into
//!   `y` first and accumulated onto).
//! - Input gradient: `gcols = W[group]ᵀ · gy[n, group]` (transpose read
//!   through the gemm's flags), scattered back by col2im.
//! - Weight gradient: `gW[group] += gy[n, group] · colsᵀ`, accumulated over
//!   the batch inside the gemm.
//!
//! A 1x1 kernel with stride 1 and no padding skips im2col (the input is its
//! own column matrix). One column buffer per call (or per rayon task),
//! reused across batch elements and groups: no per-pixel allocation.
//! Parallelism: over the batch when the whole call is large enough
//! ([`PAR_WORK`]) and the batch has more than one element, with each gemm
//! on its task's thread; a single large image lets gemm thread itself;
//! small calls stay on the calling thread (no wake-up cost).

use super::matmul::{self as gemm_kernel, CpuFloat};
use super::Cpu;
use crate::dtype::Dtype;
use crate::ops::conv::{ConvKernel, ConvParams};
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

/// Multiply-adds of a whole call from which the batch is split over
/// threads (and below which every gemm stays on the calling thread).
const PAR_WORK: usize = 1 << 18;

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

    fn cols_len(&self) -> usize {
        if self.pointwise() {
            0
        } else {
            self.kc * self.l
        }
    }

    /// Multiply-adds of the whole call (one of its three products).
    fn work(&self) -> usize {
        self.batch
            .saturating_mul(self.co)
            .saturating_mul(self.kc)
            .saturating_mul(self.l)
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

/// `cols[(c, ki, kj), (o_h, o_w)] = x[c, o_h·sh + ki·dh - ph, o_w·sw + kj·dw - pw]`
/// (0 in the padding), for the `cig` planes of one group of one image.
fn im2col<E: CpuFloat>(g: &Geo, src: &[E], cols: &mut [E]) {
    let mut rows = cols.chunks_exact_mut(g.l);
    for plane in src.chunks_exact(g.hw).take(g.cig) {
        for ki in 0..g.kh {
            for kj in 0..g.kw {
                let row = rows.next().expect("im2col: cols too short");
                let (lo, hi, off) = g.valid_cols(kj);
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
                        r[lo..hi].copy_from_slice(&src_row[start..start + (hi - lo)]);
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

/// The adjoint of [`im2col`]: adds each column entry into the input pixel
/// it was read from.
fn col2im<E: CpuFloat + Dtype>(g: &Geo, cols: &[E], dst: &mut [E]) {
    let mut rows = cols.chunks_exact(g.l);
    for plane in dst.chunks_exact_mut(g.hw).take(g.cig) {
        for ki in 0..g.kh {
            for kj in 0..g.kw {
                let row = rows.next().expect("col2im: cols too short");
                let (lo, hi, off) = g.valid_cols(kj);
                for (o, r) in row.chunks_exact(g.ow).enumerate() {
                    let Some(ih) = g.in_row(o, ki) else {
                        continue;
                    };
                    if lo == hi {
                        continue;
                    }
                    let dst_row = &mut plane[ih * g.w..(ih + 1) * g.w];
                    let start = (lo as isize * g.sw as isize + off) as usize;
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

/// `f(n, out[n], cols, serial)` for each batch element `n` (chunks of
/// `chunk` elements of `out`), in parallel over the batch for large calls.
fn over_batch<E: CpuFloat>(
    g: &Geo,
    out: &mut [E],
    chunk: usize,
    f: impl Fn(usize, &mut [E], &mut [E], bool) + Sync + Send,
) {
    if out.is_empty() || chunk == 0 {
        return;
    }
    let work = g.work();
    #[cfg(feature = "std")]
    {
        use rayon::prelude::*;
        if g.batch > 1 && work >= PAR_WORK && rayon::current_num_threads() > 1 {
            out.par_chunks_mut(chunk).enumerate().for_each_init(
                || vec![E::ZERO; g.cols_len()],
                |cols, (n, on)| f(n, on, cols, true),
            );
            return;
        }
    }
    let mut cols = vec![E::ZERO; g.cols_len()];
    for (n, on) in out.chunks_mut(chunk).enumerate() {
        f(n, on, &mut cols, work < PAR_WORK);
    }
}

/// `y = conv(x, w) (+ b)`.
fn forward<E: CpuFloat + Dtype>(p: &ConvParams, x: &[E], w: &[E], b: Option<&[E]>) -> Vec<E> {
    let g = Geo::new(p);
    let mut y = match b {
        Some(b) => {
            let mut y = super::par::output_vec(g.batch * g.co * g.l);
            for _ in 0..g.batch {
                for &bc in b {
                    y.extend(core::iter::repeat_n(bc, g.l));
                }
            }
            y
        }
        None => vec![E::ZERO; g.batch * g.co * g.l],
    };
    let acc = b.is_some();
    over_batch(&g, &mut y, g.co * g.l, |n, yn, cols, serial| {
        for gi in 0..g.groups {
            let xs = &x[(n * g.ci + gi * g.cig) * g.hw..][..g.cig * g.hw];
            let a = &w[gi * g.cog * g.kc..][..g.cog * g.kc];
            let c = &mut yn[gi * g.cog * g.l..][..g.cog * g.l];
            let bm: &[E] = if g.pointwise() {
                xs
            } else {
                im2col(&g, xs, cols);
                cols
            };
            gemm(g.cog, g.kc, g.l, a, false, bm, false, c, acc, serial);
        }
    });
    y
}

/// `dx = conv input gradient of gy (+ b per input channel)`.
fn input_grad<E: CpuFloat + Dtype>(p: &ConvParams, w: &[E], gy: &[E], b: Option<&[E]>) -> Vec<E> {
    let g = Geo::new(p);
    let mut gx = match b {
        Some(b) => {
            let mut v = super::par::output_vec(g.batch * g.ci * g.hw);
            for _ in 0..g.batch {
                for &bc in b {
                    v.extend(core::iter::repeat_n(bc, g.hw));
                }
            }
            v
        }
        None => vec![E::ZERO; g.batch * g.ci * g.hw],
    };
    over_batch(&g, &mut gx, g.ci * g.hw, |n, gxn, cols, serial| {
        for gi in 0..g.groups {
            let gys = &gy[(n * g.co + gi * g.cog) * g.l..][..g.cog * g.l];
            let a = &w[gi * g.cog * g.kc..][..g.cog * g.kc];
            let dst = &mut gxn[gi * g.cig * g.hw..][..g.cig * g.hw];
            if g.pointwise() {
                gemm(g.kc, g.cog, g.l, a, true, gys, false, dst, true, serial);
            } else {
                gemm(g.kc, g.cog, g.l, a, true, gys, false, cols, false, serial);
                col2im(&g, cols, dst);
            }
        }
    });
    gx
}

/// `dW[group] = Σ_n gy[n, group] · im2col(x[n, group])ᵀ` for the images
/// `range`, accumulated onto `gw`.
fn weight_grad_part<E: CpuFloat + Dtype>(
    g: &Geo,
    x: &[E],
    gy: &[E],
    range: core::ops::Range<usize>,
    gw: &mut [E],
    cols: &mut [E],
    serial: bool,
) {
    for n in range {
        for gi in 0..g.groups {
            let xs = &x[(n * g.ci + gi * g.cig) * g.hw..][..g.cig * g.hw];
            let gys = &gy[(n * g.co + gi * g.cog) * g.l..][..g.cog * g.l];
            let c = &mut gw[gi * g.cog * g.kc..][..g.cog * g.kc];
            let bm: &[E] = if g.pointwise() {
                xs
            } else {
                im2col(g, xs, cols);
                cols
            };
            gemm(g.cog, g.l, g.kc, gys, false, bm, true, c, true, serial);
        }
    }
}

/// `dW`, summed over the batch.
fn weight_grad<E: CpuFloat + Dtype>(p: &ConvParams, x: &[E], gy: &[E]) -> Vec<E> {
    let g = Geo::new(p);
    let len = g.co * g.kc;
    let mut gw = vec![E::ZERO; len];
    if len == 0 || g.batch == 0 {
        return gw;
    }
    let work = g.work();
    #[cfg(feature = "std")]
    {
        use rayon::prelude::*;
        let threads = rayon::current_num_threads();
        if g.batch > 1 && work >= PAR_WORK && threads > 1 {
            // One partial gradient per part of the batch, summed at the end.
            let parts = threads.min(g.batch);
            let per = g.batch.div_ceil(parts);
            let partials: Vec<Vec<E>> = (0..parts)
                .into_par_iter()
                .map(|t| {
                    let mut part = vec![E::ZERO; len];
                    let mut cols = vec![E::ZERO; g.cols_len()];
                    let range = t * per..((t + 1) * per).min(g.batch);
                    weight_grad_part(&g, x, gy, range, &mut part, &mut cols, true);
                    part
                })
                .collect();
            for part in partials {
                for (a, v) in gw.iter_mut().zip(part) {
                    *a = *a + v;
                }
            }
            return gw;
        }
    }
    let mut cols = vec![E::ZERO; g.cols_len()];
    weight_grad_part(&g, x, gy, 0..g.batch, &mut gw, &mut cols, work < PAR_WORK);
    gw
}

/// `out[c] = Σ_{n, s} v[n, c, s]`.
fn channel_sum<E: CpuFloat + Dtype>(
    batch: usize,
    channels: usize,
    spatial: usize,
    v: &[E],
) -> Vec<E> {
    let mut out = vec![E::ZERO; channels];
    if channels == 0 || spatial == 0 {
        return out;
    }
    for img in v.chunks_exact(channels * spatial).take(batch) {
        for (acc, plane) in out.iter_mut().zip(img.chunks_exact(spatial)) {
            *acc = *acc + plane.iter().fold(E::ZERO, |s, &x| s + x);
        }
    }
    out
}

macro_rules! conv_impl {
    ($($e:ty),*) => {$(
        impl ConvKernel<$e> for Cpu {
            fn conv_forward(
                &self,
                p: &ConvParams,
                x: &Arc<Vec<$e>>,
                w: &Arc<Vec<$e>>,
                b: Option<&Arc<Vec<$e>>>,
            ) -> Arc<Vec<$e>> {
                Arc::new(forward(p, x, w, b.map(|b| b.as_slice())))
            }
            fn conv_input_grad(
                &self,
                p: &ConvParams,
                w: &Arc<Vec<$e>>,
                gy: &Arc<Vec<$e>>,
                b: Option<&Arc<Vec<$e>>>,
            ) -> Arc<Vec<$e>> {
                Arc::new(input_grad(p, w, gy, b.map(|b| b.as_slice())))
            }
            fn conv_weight_grad(
                &self,
                p: &ConvParams,
                x: &Arc<Vec<$e>>,
                gy: &Arc<Vec<$e>>,
            ) -> Arc<Vec<$e>> {
                Arc::new(weight_grad(p, x, gy))
            }
            fn channel_sum(
                &self,
                batch: usize,
                channels: usize,
                spatial: usize,
                g: &Arc<Vec<$e>>,
            ) -> Arc<Vec<$e>> {
                Arc::new(channel_sum(batch, channels, spatial, g))
            }
        }
    )*};
}
conv_impl!(f32, f64);
