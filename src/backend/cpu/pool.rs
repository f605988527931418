//! CPU kernels for window pooling: direct loops over each plane, with the
//! in-bounds part of every window computed once per output row/column (no
//! bounds test in the inner loop, no allocation per pixel). Planes are
//! split over rayon threads when the work is large.

use super::Cpu;
use super::CpuStorage;
use crate::backend::kernels::pool::{PoolKernel, PoolParams};
use crate::dtype::Dtype;
use alloc::vec;
use alloc::vec::Vec;

/// The in-bounds part of one window along one axis: the window's first
/// input position (`start`, may be negative through padding) and the range
/// `lo..hi` of kernel taps that land inside the input.
#[derive(Copy, Clone, Debug)]
struct Span {
    start: isize,
    lo: usize,
    hi: usize,
}

/// The [`Span`] of every output position along axis `a`.
fn spans(p: &PoolParams, a: usize) -> Vec<Span> {
    let (n, k, s, pad, d) = (
        p.input[a] as isize,
        p.kernel[a],
        p.stride[a] as isize,
        p.padding[a] as isize,
        p.dilation[a] as isize,
    );
    (0..p.output[a] as isize)
        .map(|o| {
            let start = o * s - pad;
            // First tap with start + j·d >= 0, first tap with start + j·d >= n.
            let first_in = |bound: isize| -> usize {
                if start >= bound {
                    0
                } else {
                    ((bound - start + d - 1) / d).min(k as isize) as usize
                }
            };
            let lo = first_in(0);
            let hi = first_in(n).max(lo);
            Span { start, lo, hi }
        })
        .collect()
}

/// Calls `f(first_plane, chunk)` over chunks of whole planes of `out`
/// (`plane` elements each); in parallel when `work` is large.
fn for_planes<T: Send>(
    out: &mut [T],
    plane: usize,
    work: usize,
    f: impl Fn(usize, &mut [T]) + Sync + Send,
) {
    if out.is_empty() || plane == 0 {
        return;
    }
    #[cfg(feature = "std")]
    {
        let t = rayon::current_num_threads();
        let planes = out.len() / plane;
        if t > 1 && planes > 1 && work >= super::par::par_threshold() {
            super::threads::warm();
            use rayon::prelude::*;
            let per = planes.div_ceil(4 * t).max(1);
            out.par_chunks_mut(per * plane)
                .enumerate()
                .for_each(|(i, c)| f(i * per, c));
            return;
        }
    }
    let _ = work;
    f(0, out);
}

/// [`for_planes`] over two outputs of the same length, split alike.
fn for_planes2<A: Send, B: Send>(
    a: &mut [A],
    b: &mut [B],
    plane: usize,
    work: usize,
    f: impl Fn(usize, &mut [A], &mut [B]) + Sync + Send,
) {
    debug_assert_eq!(a.len(), b.len());
    if a.is_empty() || plane == 0 {
        return;
    }
    #[cfg(feature = "std")]
    {
        let t = rayon::current_num_threads();
        let planes = a.len() / plane;
        if t > 1 && planes > 1 && work >= super::par::par_threshold() {
            super::threads::warm();
            use rayon::prelude::*;
            let per = planes.div_ceil(4 * t).max(1);
            a.par_chunks_mut(per * plane)
                .zip(b.par_chunks_mut(per * plane))
                .enumerate()
                .for_each(|(i, (ca, cb))| f(i * per, ca, cb));
            return;
        }
    }
    let _ = work;
    f(0, a, b);
}

/// Work estimate of a pooling pass (window taps visited).
fn work(p: &PoolParams) -> usize {
    p.output_len()
        .saturating_mul(p.kernel[0])
        .saturating_mul(p.kernel[1])
}

/// The output columns `a..b` whose window has tap `kw` inside the input
/// row (`0 <= ox·s + kw·d - p < w`): a contiguous range, the taps of a
/// window being in order.
#[inline(always)]
fn tap_columns(p: &PoolParams, kw: usize) -> (usize, usize) {
    let (w, ow, s, pad, d) = (
        p.input[1] as isize,
        p.output[1] as isize,
        p.stride[1] as isize,
        p.padding[1] as isize,
        p.dilation[1] as isize,
    );
    let off = kw as isize * d - pad; // input column of output 0's tap
                                     // ox·s + off >= 0  and  ox·s + off <= w - 1
    let a = if off >= 0 { 0 } else { (-off + s - 1) / s };
    let b = if w - 1 - off < 0 {
        0
    } else {
        (w - 1 - off) / s + 1
    };
    (a.clamp(0, ow) as usize, b.clamp(0, ow) as usize)
}

/// Max pooling of one plane: values into `y`, argmax positions into `idx`
/// when `IDX`. First maximum in window order wins (taps are visited row
/// by row, left to right, and only a strictly larger value replaces the
/// best); NaN propagates (the last NaN's position is kept), as PyTorch's
/// CPU kernel. The innermost loop runs along a row of outputs for one
/// tap, without branches, so short windows cost no mispredictions.
fn max_plane<const IDX: bool, E: Dtype>(
    p: &PoolParams,
    sh: &[Span],
    sw: &[Span],
    x: &[E],
    y: &mut [E],
    idx: &mut [usize],
) {
    let (w_in, ow) = (p.input[1], p.output[1]);
    let (dh, dw, sx) = (p.dilation[0], p.dilation[1], p.stride[1]);
    let cols: Vec<(usize, usize)> = (0..p.kernel[1]).map(|kw| tap_columns(p, kw)).collect();
    for (oh, h) in sh.iter().enumerate() {
        let yr = &mut y[oh * ow..(oh + 1) * ow];
        yr.fill(E::neg_infinity());
        if IDX {
            // Start from the window's first input element (PyTorch's
            // initial index), so that an all -inf window points into it.
            let ir = &mut idx[oh * ow..(oh + 1) * ow];
            for (i, w) in ir.iter_mut().zip(sw) {
                *i = if h.lo < h.hi && w.lo < w.hi {
                    let ih = (h.start + (h.lo * dh) as isize) as usize;
                    ih * w_in + (w.start + (w.lo * dw) as isize) as usize
                } else {
                    usize::MAX
                };
            }
        }
        for kh in h.lo..h.hi {
            let ih = (h.start + (kh * dh) as isize) as usize;
            let row = &x[ih * w_in..(ih + 1) * w_in];
            for (kw, &(a, b)) in cols.iter().enumerate() {
                let off = (kw * dw) as isize - p.padding[1] as isize;
                for ox in a..b {
                    let iw = (ox * sx) as isize + off;
                    let v = row[iw as usize];
                    let best = yr[ox];
                    let take = (v > best) | v.is_nan(); // `|`: no branch
                    yr[ox] = if take { v } else { best };
                    if IDX {
                        // A mask select: a branch here mispredicts on
                        // random data (measured 3x slower).
                        let m = (take as usize).wrapping_neg();
                        let i = &mut idx[oh * ow + ox];
                        *i = ((ih * w_in + iw as usize) & m) | (*i & !m);
                    }
                }
            }
        }
    }
}

/// [`max_plane`] when every window lies inside the input (no padding,
/// dilation 1): no spans, and the running maximum is updated without a
/// branch (random data mispredicts half of them), which the compiler turns
/// into selects. `#[inline(always)]` so that a literal `k` (2x2 windows)
/// unrolls the window loops. Same rule as [`max_plane`]: the first maximum
/// in window order wins, NaN propagates, an all `-inf` window points at its
/// first element.
#[inline(always)]
fn max_plane_inside<E: Dtype, const IDX: bool>(
    p: &PoolParams,
    k: [usize; 2],
    x: &[E],
    y: &mut [E],
    idx: &mut [usize],
) {
    let (w_in, ow) = (p.input[1], p.output[1]);
    let (sh, sw) = (p.stride[0], p.stride[1]);
    for (oh, yr) in y.chunks_exact_mut(ow).enumerate() {
        let ih0 = oh * sh;
        for (ox, yv) in yr.iter_mut().enumerate() {
            let iw0 = ox * sw;
            let mut best = E::neg_infinity();
            let mut at = ih0 * w_in + iw0;
            for kh in 0..k[0] {
                let base = (ih0 + kh) * w_in + iw0;
                let row = &x[base..base + k[1]];
                for (kw, &v) in row.iter().enumerate() {
                    #[allow(clippy::eq_op)]
                    let take = v > best || v != v;
                    best = if take { v } else { best };
                    if IDX {
                        at = if take { base + kw } else { at };
                    }
                }
            }
            *yv = best;
            if IDX {
                idx[oh * ow + ox] = at;
            }
        }
    }
}

/// The window `v` (2x2, row by row) at input positions `at`: the value and
/// the position of the first maximum, or of the last NaN.
/// Pairs are combined as a tournament (`a` with `b`, `c` with `d`, then the
/// two), which gives the same answer as the sequential scan: "a later
/// element wins if strictly larger or NaN" is associative in that sense.
#[inline(always)]
fn max4<E: Dtype>(v: [E; 4], at: [usize; 4]) -> (E, usize) {
    #[allow(clippy::eq_op)]
    let beats = |r: E, l: E| r > l || r != r;
    let (top, ti) = if beats(v[1], v[0]) {
        (v[1], at[1])
    } else {
        (v[0], at[0])
    };
    let (bot, bi) = if beats(v[3], v[2]) {
        (v[3], at[3])
    } else {
        (v[2], at[2])
    };
    if beats(bot, top) {
        (bot, bi)
    } else {
        (top, ti)
    }
}

super::simd::wide_fn! {
    /// Max pooling with 2x2 windows and stride 2 (no padding, dilation 1:
    /// LeNet's pooling) of whole planes (`x`: planes of `h × w`, `y` and
    /// `idx`: planes of `oh × ow`; `idx` empty when no indices are wanted).
    /// Each output row reads two input rows as pairs; the loop over the
    /// row has no branches and is compiled wide (`wide_fn!`), so it is
    /// vectorised with de-interleaving loads.
    fn max_2x2s2<E: Dtype>(x: &[E], h: usize, w: usize, oh: usize, ow: usize, y: &mut [E], idx: &mut [usize]) -> () {
        let (ip, op) = (h * w, oh * ow);
        let want = !idx.is_empty();
        for (c, yp) in y.chunks_exact_mut(op).enumerate() {
            let xp = &x[c * ip..][..ip];
            for (o, yr) in yp.chunks_exact_mut(ow).enumerate() {
                let (r0, r1) = (&xp[2 * o * w..][..2 * ow], &xp[(2 * o + 1) * w..][..2 * ow]);
                if want {
                    let ir = &mut idx[c * op + o * ow..][..ow];
                    let base = 2 * o * w;
                    for (j, ((yv, iv), (p0, p1))) in yr
                        .iter_mut()
                        .zip(ir.iter_mut())
                        .zip(r0.chunks_exact(2).zip(r1.chunks_exact(2)))
                        .enumerate()
                    {
                        let a = base + 2 * j;
                        let (v, at) = max4([p0[0], p0[1], p1[0], p1[1]], [a, a + 1, a + w, a + w + 1]);
                        *yv = v;
                        *iv = at;
                    }
                } else {
                    for (yv, (p0, p1)) in yr.iter_mut().zip(r0.chunks_exact(2).zip(r1.chunks_exact(2))) {
                        *yv = max4([p0[0], p0[1], p1[0], p1[1]], [0; 4]).0;
                    }
                }
            }
        }
    }
}

/// Max pooling of one plane: the fast path when every window lies inside
/// the input, [`max_plane`] otherwise.
fn max_plane_any<E: Dtype>(
    p: &PoolParams,
    sh: &[Span],
    sw: &[Span],
    x: &[E],
    y: &mut [E],
    idx: Option<&mut [usize]>,
) {
    if p.padding != [0, 0] || p.dilation != [1, 1] || p.output[1] == 0 {
        return match idx {
            Some(i) => max_plane::<true, E>(p, sh, sw, x, y, i),
            None => max_plane::<false, E>(p, sh, sw, x, y, &mut []),
        };
    }
    match (p.kernel, idx) {
        ([2, 2], Some(i)) => max_plane_inside::<E, true>(p, [2, 2], x, y, i),
        ([2, 2], None) => max_plane_inside::<E, false>(p, [2, 2], x, y, &mut []),
        (k, Some(i)) => max_plane_inside::<E, true>(p, k, x, y, i),
        (k, None) => max_plane_inside::<E, false>(p, k, x, y, &mut []),
    }
}

/// Average pooling of one plane.
fn avg_plane<E: Dtype>(
    p: &PoolParams,
    sh: &[Span],
    sw: &[Span],
    x: &[E],
    y: &mut [E],
    include_pad: bool,
) {
    let (w_in, ow) = (p.input[1], p.output[1]);
    let (dh, dw) = (p.dilation[0], p.dilation[1]);
    let full = E::from_f64((p.kernel[0] * p.kernel[1]) as f64);
    for (oh, h) in sh.iter().enumerate() {
        for (ox, w) in sw.iter().enumerate() {
            let mut s = E::zero();
            for kh in h.lo..h.hi {
                let ih = (h.start + (kh * dh) as isize) as usize;
                let row = &x[ih * w_in..(ih + 1) * w_in];
                for kw in w.lo..w.hi {
                    s = s + row[(w.start + (kw * dw) as isize) as usize];
                }
            }
            let div = if include_pad {
                full
            } else {
                E::from_f64(((h.hi - h.lo) * (w.hi - w.lo)) as f64)
            };
            y[oh * ow + ox] = s / div;
        }
    }
}

/// Gradient of [`avg_plane`]: each output's gradient, divided like the
/// forward, is added to every input element of its window.
fn avg_plane_backward<E: Dtype>(
    p: &PoolParams,
    sh: &[Span],
    sw: &[Span],
    gy: &[E],
    gx: &mut [E],
    include_pad: bool,
) {
    let (w_in, ow) = (p.input[1], p.output[1]);
    let (dh, dw) = (p.dilation[0], p.dilation[1]);
    let full = E::from_f64((p.kernel[0] * p.kernel[1]) as f64);
    for (oh, h) in sh.iter().enumerate() {
        for (ox, w) in sw.iter().enumerate() {
            let div = if include_pad {
                full
            } else {
                E::from_f64(((h.hi - h.lo) * (w.hi - w.lo)) as f64)
            };
            let g = gy[oh * ow + ox] / div;
            for kh in h.lo..h.hi {
                let ih = (h.start + (kh * dh) as isize) as usize;
                let row = &mut gx[ih * w_in..(ih + 1) * w_in];
                for kw in w.lo..w.hi {
                    let iw = (w.start + (kw * dw) as isize) as usize;
                    row[iw] = row[iw] + g;
                }
            }
        }
    }
}

fn check(p: &PoolParams, x_len: usize, what: &str) {
    assert_eq!(
        x_len,
        p.input_len(),
        "{what}: buffer of {x_len} elements for {p:?}"
    );
}

fn max_pool<E: Dtype>(p: &PoolParams, x: &[E], want_idx: bool) -> (Vec<E>, Option<Vec<usize>>) {
    check(p, x.len(), "max_pool");
    let (ip, op) = (p.input[0] * p.input[1], p.output[0] * p.output[1]);
    let (sh, sw) = (spans(p, 0), spans(p, 1));
    let mut y = vec![E::zero(); p.output_len()];
    if p.kernel == [2, 2] && p.stride == [2, 2] && p.padding == [0, 0] && p.dilation == [1, 1] {
        let (h, w, oh, ow) = (p.input[0], p.input[1], p.output[0], p.output[1]);
        let xs = |first: usize, planes: usize| &x[first * ip..][..planes * ip];
        if !want_idx {
            for_planes(&mut y, op, work(p), |first, yc| {
                max_2x2s2(xs(first, yc.len() / op), h, w, oh, ow, yc, &mut []);
            });
            return (y, None);
        }
        let mut idx = vec![0usize; p.output_len()];
        for_planes2(&mut y, &mut idx, op, work(p), |first, yc, ic| {
            max_2x2s2(xs(first, yc.len() / op), h, w, oh, ow, yc, ic);
        });
        return (y, Some(idx));
    }
    if !want_idx {
        for_planes(&mut y, op, work(p), |first, yc| {
            for (k, yp) in yc.chunks_mut(op).enumerate() {
                let c = first + k;
                max_plane_any(p, &sh, &sw, &x[c * ip..(c + 1) * ip], yp, None);
            }
        });
        return (y, None);
    }
    let mut idx = vec![0usize; p.output_len()];
    for_planes2(&mut y, &mut idx, op, work(p), |first, yc, ic| {
        for (k, (yp, ipl)) in yc.chunks_mut(op).zip(ic.chunks_mut(op)).enumerate() {
            let c = first + k;
            max_plane_any(p, &sh, &sw, &x[c * ip..(c + 1) * ip], yp, Some(ipl));
        }
    });
    (y, Some(idx))
}

fn max_pool_backward<E: Dtype>(p: &PoolParams, idx: &[usize], gy: &[E]) -> Vec<E> {
    assert_eq!(
        idx.len(),
        p.output_len(),
        "max_pool_backward: {} indices for {p:?}",
        idx.len()
    );
    assert_eq!(
        gy.len(),
        p.output_len(),
        "max_pool_backward: gradient of {} elements for {p:?}",
        gy.len()
    );
    let (ip, op) = (p.input[0] * p.input[1], p.output[0] * p.output[1]);
    let mut gx = vec![E::zero(); p.input_len()];
    for_planes(&mut gx, ip, p.output_len(), |first, gc| {
        for (k, gp) in gc.chunks_mut(ip).enumerate() {
            let c = first + k;
            let (ic, gyc) = (&idx[c * op..(c + 1) * op], &gy[c * op..(c + 1) * op]);
            for (&i, &g) in ic.iter().zip(gyc) {
                // usize::MAX: a window without input elements.
                if let Some(v) = gp.get_mut(i) {
                    *v = *v + g;
                }
            }
        }
    });
    gx
}

fn avg_pool<E: Dtype>(p: &PoolParams, x: &[E], include_pad: bool) -> Vec<E> {
    check(p, x.len(), "avg_pool");
    let (ip, op) = (p.input[0] * p.input[1], p.output[0] * p.output[1]);
    let (sh, sw) = (spans(p, 0), spans(p, 1));
    let mut y = vec![E::zero(); p.output_len()];
    for_planes(&mut y, op, work(p), |first, yc| {
        for (k, yp) in yc.chunks_mut(op).enumerate() {
            let c = first + k;
            avg_plane(p, &sh, &sw, &x[c * ip..(c + 1) * ip], yp, include_pad);
        }
    });
    y
}

fn avg_pool_backward<E: Dtype>(p: &PoolParams, gy: &[E], include_pad: bool) -> Vec<E> {
    assert_eq!(
        gy.len(),
        p.output_len(),
        "avg_pool_backward: gradient of {} elements for {p:?}",
        gy.len()
    );
    let (ip, op) = (p.input[0] * p.input[1], p.output[0] * p.output[1]);
    let (sh, sw) = (spans(p, 0), spans(p, 1));
    let mut gx = vec![E::zero(); p.input_len()];
    for_planes(&mut gx, ip, work(p), |first, gc| {
        for (k, gp) in gc.chunks_mut(ip).enumerate() {
            let c = first + k;
            avg_plane_backward(p, &sh, &sw, &gy[c * op..(c + 1) * op], gp, include_pad);
        }
    });
    gx
}

macro_rules! pool_impl {
    ($($e:ty),*) => {$(
        impl PoolKernel<$e> for Cpu {
            fn max_pool(&self, p: &PoolParams, x: &CpuStorage<$e>, indices: bool) -> (CpuStorage<$e>, Option<CpuStorage<usize>>) {
                let (y, i) = max_pool(p, x, indices);
                (CpuStorage::new(y), i.map(CpuStorage::new))
            }
            fn max_pool_backward(&self, p: &PoolParams, indices: &CpuStorage<usize>, gy: &CpuStorage<$e>) -> CpuStorage<$e> {
                CpuStorage::new(max_pool_backward(p, indices, gy))
            }
            fn avg_pool(&self, p: &PoolParams, x: &CpuStorage<$e>, count_include_pad: bool) -> CpuStorage<$e> {
                CpuStorage::new(avg_pool(p, x, count_include_pad))
            }
            fn avg_pool_backward(&self, p: &PoolParams, gy: &CpuStorage<$e>, count_include_pad: bool) -> CpuStorage<$e> {
                CpuStorage::new(avg_pool_backward(p, gy, count_include_pad))
            }
        }
    )*};
}
pool_impl!(f32, f64);

#[cfg(test)]
mod tests {
    use super::*;

    /// Spans agree with a direct bounds test for every tap.
    #[test]
    fn spans_match_bounds() {
        for n in 1..7 {
            for k in 1..4 {
                for s in 1..3 {
                    for pad in 0..=k / 2 {
                        for d in 1..3 {
                            let Some(p) =
                                PoolParams::new(1, [1, n], [1, k], [1, s], [0, pad], [1, d])
                            else {
                                continue;
                            };
                            for (o, sp) in spans(&p, 1).iter().enumerate() {
                                let inside: Vec<usize> = (0..k)
                                    .filter(|&j| {
                                        let i = (o * s + j * d) as isize - pad as isize;
                                        (0..n as isize).contains(&i)
                                    })
                                    .collect();
                                let got: Vec<usize> = (sp.lo..sp.hi).collect();
                                assert_eq!(got, inside, "n={n} k={k} s={s} p={pad} d={d} o={o}");
                            }
                        }
                    }
                }
            }
        }
    }
}
