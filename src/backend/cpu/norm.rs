//! CPU [`NormKernel`]: fused loops for batch and layer normalisation.
//!
//! Batch norm: the statistics take two passes per channel (mean, then
//! squared deviations: no cancellation), the normalisation one pass
//! (`y = x · scale[c] + shift[c]`, both folded per channel), the backward
//! one pass for the per-channel sums and one for the input gradient
//! (`gx = a[c]·gy + b[c]·x + d[c]`). Layer norm: one pass per row for the
//! output (statistics from the row while it is in cache), one for the
//! backward, the weight and bias gradients summed per chunk of rows.
//! Values within a row are summed in eight lanes (vectorised), rows in
//! `f64`. Large inputs run on rayon threads (channels, or chunks of rows).

use super::par::{chunk_for, for_rows};
use super::Cpu;
use super::CpuStorage;
use crate::backend::kernels::norm::{
    BatchNormParams, LayerNormParams, NormGrads, NormKernel, NormWant,
};
use crate::dtype::Dtype;
use alloc::vec;
use alloc::vec::Vec;

#[cfg(feature = "std")]
use super::par::par_threshold;

/// Whether `n` elements of work are worth rayon threads.
#[cfg(feature = "std")]
#[inline]
fn parallel(n: usize) -> bool {
    n >= par_threshold() && super::threads::parallel_threads() > 1
}

/// The value as `f64` (`Dtype`'s, not `num_traits`' fallible one).
#[inline]
fn f64_of<E: Dtype>(x: E) -> f64 {
    Dtype::to_f64(x)
}

/// `Σ f(v)` over `xs` in eight lanes (vectorises), as `f64`.
#[inline]
fn lane_sum<E: Dtype>(xs: &[E], f: impl Fn(E) -> E) -> f64 {
    let mut acc = [E::zero(); 8];
    let mut chunks = xs.chunks_exact(8);
    for c in &mut chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a = *a + f(v);
        }
    }
    let mut tail = E::zero();
    for &v in chunks.remainder() {
        tail = tail + f(v);
    }
    acc.iter().map(|&a| f64_of(a)).sum::<f64>() + f64_of(tail)
}

/// `Σ f(a, b)` over pairs, in eight lanes, as `f64`.
#[inline]
fn lane_sum2<E: Dtype>(a: &[E], b: &[E], f: impl Fn(E, E) -> E) -> f64 {
    let mut acc = [E::zero(); 8];
    let mut ca = a.chunks_exact(8);
    let mut cb = b.chunks_exact(8);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for ((s, &u), &v) in acc.iter_mut().zip(x).zip(y) {
            *s = *s + f(u, v);
        }
    }
    let mut tail = E::zero();
    for (&u, &v) in ca.remainder().iter().zip(cb.remainder()) {
        tail = tail + f(u, v);
    }
    acc.iter().map(|&s| f64_of(s)).sum::<f64>() + f64_of(tail)
}

/// `f(c)` for every channel, on rayon threads when the input is large.
fn per_channel<T: Send>(p: BatchNormParams, f: impl Fn(usize) -> T + Sync + Send) -> Vec<T> {
    #[cfg(feature = "std")]
    if parallel(p.channels * p.per_channel()) && p.inner >= 16 {
        use rayon::prelude::*;
        return (0..p.channels).into_par_iter().map(f).collect();
    }
    (0..p.channels).map(f).collect()
}

/// The rows `x[n, c, :]` of channel `c`.
#[inline]
fn channel_rows<E>(p: BatchNormParams, x: &[E], c: usize) -> impl Iterator<Item = &[E]> {
    (0..p.batch).map(move |n| {
        let at = (n * p.channels + c) * p.inner;
        &x[at..at + p.inner]
    })
}

fn bn_stats<E: Dtype>(p: BatchNormParams, x: &[E]) -> (Vec<E>, Vec<E>) {
    let count = p.per_channel() as f64;
    let stats = per_channel(p, |c| {
        let sum: f64 = channel_rows(p, x, c).map(|r| lane_sum(r, |v| v)).sum();
        let mean = sum / count;
        let m = E::from_f64(mean);
        let sq: f64 = channel_rows(p, x, c)
            .map(|r| {
                lane_sum(r, |v| {
                    let d = v - m;
                    d * d
                })
            })
            .sum();
        (mean, sq / count)
    });
    stats
        .into_iter()
        .map(|(m, v)| (E::from_f64(m), E::from_f64(v)))
        .unzip()
}

/// The input rows that [`for_rows`](super::par::for_rows) callers zip with have the full length
/// (a short input would leave output elements unwritten).
#[inline]
fn check_rows(what: &str, p: BatchNormParams, lens: &[usize]) {
    let n = p.batch * p.channels * p.inner;
    for &l in lens {
        assert_eq!(l, n, "{what}: buffer of {l} elements for {p:?}");
    }
}

/// Per-channel `scale = w / √(var + eps)` (as f64).
fn bn_scale<E: Dtype>(eps: f64, var: &[E], w: Option<&[E]>) -> Vec<f64> {
    var.iter()
        .enumerate()
        .map(|(c, v)| {
            let r = 1.0 / libm::sqrt(f64_of(*v) + eps);
            w.map_or(r, |w| f64_of(w[c]) * r)
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn bn_forward<E: Dtype>(
    p: BatchNormParams,
    eps: f64,
    x: &[E],
    mean: &[E],
    var: &[E],
    w: Option<&[E]>,
    b: Option<&[E]>,
) -> Vec<E> {
    let scale = bn_scale(eps, var, w);
    // y = x·scale + (b - mean·scale): one multiply-add per element.
    let (scale, shift): (Vec<E>, Vec<E>) = scale
        .iter()
        .enumerate()
        .map(|(c, &s)| {
            let shift = b.map_or(0.0, |b| f64_of(b[c])) - f64_of(mean[c]) * s;
            (E::from_f64(s), E::from_f64(shift))
        })
        .unzip();
    check_rows("batch_norm_forward", p, &[x.len()]);
    for_rows(p.batch * p.channels, p.inner, |r, out| {
        let c = r % p.channels;
        let (s, t) = (scale[c], shift[c]);
        let xr = &x[r * p.inner..(r + 1) * p.inner];
        for (o, &v) in out.iter_mut().zip(xr) {
            o.write(v * s + t);
        }
    })
}

#[allow(clippy::too_many_arguments)]
fn bn_backward<E: Dtype>(
    p: BatchNormParams,
    eps: f64,
    batch_stats: bool,
    x: &[E],
    mean: &[E],
    var: &[E],
    w: Option<&[E]>,
    gy: &[E],
    want: NormWant,
) -> NormGrads<Vec<E>> {
    let rstd: Vec<f64> = var
        .iter()
        .map(|v| 1.0 / libm::sqrt(f64_of(*v) + eps))
        .collect();
    let need_sums = want.weight || want.bias || (want.input && batch_stats);
    // Per channel: Σ gy and Σ gy·(x - mean) (= Σ gy·x̂ / rstd).
    let sums: Vec<(f64, f64)> = if need_sums {
        per_channel(p, |c| {
            let m = mean[c];
            channel_rows(p, x, c).zip(channel_rows(p, gy, c)).fold(
                (0.0, 0.0),
                |(sg, sgx), (xr, gr)| {
                    (
                        sg + lane_sum(gr, |g| g),
                        sgx + lane_sum2(xr, gr, |v, g| (v - m) * g),
                    )
                },
            )
        })
    } else {
        Vec::new()
    };
    let gx = want.input.then(|| {
        let scale = bn_scale(eps, var, w);
        let count = p.per_channel() as f64;
        // gx = a·gy + b·x + d per channel.
        let coef: Vec<(E, E, E)> = (0..p.channels)
            .map(|c| {
                let a = scale[c];
                if !batch_stats {
                    return (E::from_f64(a), E::zero(), E::zero());
                }
                let (sg, sgx) = sums[c];
                let mg = sg / count;
                // mean(gy·x̂) · rstd = Σ gy(x - mean) · rstd² / count
                let k = sgx * rstd[c] * rstd[c] / count;
                let m = f64_of(mean[c]);
                (
                    E::from_f64(a),
                    E::from_f64(-a * k),
                    E::from_f64(a * (k * m - mg)),
                )
            })
            .collect();
        check_rows("batch_norm_backward", p, &[x.len(), gy.len()]);
        for_rows(p.batch * p.channels, p.inner, |r, out| {
            let (a, bc, d) = coef[r % p.channels];
            let at = r * p.inner..(r + 1) * p.inner;
            for ((o, &g), &v) in out.iter_mut().zip(&gy[at.clone()]).zip(&x[at]) {
                o.write(a * g + bc * v + d);
            }
        })
    });
    let gw = want.weight.then(|| {
        sums.iter()
            .zip(&rstd)
            .map(|(s, r)| E::from_f64(s.1 * r))
            .collect()
    });
    let gb = want
        .bias
        .then(|| sums.iter().map(|s| E::from_f64(s.0)).collect());
    (gx, gw, gb)
}

/// One row of layer norm: writes `out`, returns `(mean, rstd)`.
#[inline]
fn ln_row<E: Dtype>(eps: f64, x: &[E], w: Option<&[E]>, b: Option<&[E]>, out: &mut [E]) -> (E, E) {
    let n = x.len() as f64;
    let mean = lane_sum(x, |v| v) / n;
    let m = E::from_f64(mean);
    let var = lane_sum(x, |v| {
        let d = v - m;
        d * d
    }) / n;
    let r = E::from_f64(1.0 / libm::sqrt(var + eps));
    match (w, b) {
        (Some(w), Some(b)) => {
            for (((o, &v), &wv), &bv) in out.iter_mut().zip(x).zip(w).zip(b) {
                *o = (v - m) * r * wv + bv;
            }
        }
        (Some(w), None) => {
            for ((o, &v), &wv) in out.iter_mut().zip(x).zip(w) {
                *o = (v - m) * r * wv;
            }
        }
        (None, Some(b)) => {
            for ((o, &v), &bv) in out.iter_mut().zip(x).zip(b) {
                *o = (v - m) * r + bv;
            }
        }
        (None, None) => {
            for (o, &v) in out.iter_mut().zip(x) {
                *o = (v - m) * r;
            }
        }
    }
    (m, r)
}

/// Rows per parallel chunk for `rows` rows of `cols` values.
fn rows_per_chunk(rows: usize, cols: usize) -> usize {
    (chunk_for(rows * cols) / cols.max(1)).max(1)
}

fn ln_forward<E: Dtype>(
    p: LayerNormParams,
    eps: f64,
    x: &[E],
    w: Option<&[E]>,
    b: Option<&[E]>,
) -> (Vec<E>, Vec<E>, Vec<E>) {
    let (rows, cols) = (p.rows, p.cols);
    let mut y = vec![E::zero(); rows * cols];
    let mut stats = vec![(E::zero(), E::zero()); rows];
    if cols > 0 {
        let per = rows_per_chunk(rows, cols);
        let chunk = |i: usize, ys: &mut [E], st: &mut [(E, E)]| {
            for (j, (yr, s)) in ys.chunks_mut(cols).zip(st.iter_mut()).enumerate() {
                let r = i * per + j;
                *s = ln_row(eps, &x[r * cols..(r + 1) * cols], w, b, yr);
            }
        };
        #[cfg(feature = "std")]
        let done = parallel(rows * cols) && {
            use rayon::prelude::*;
            y.par_chunks_mut(per * cols)
                .zip(stats.par_chunks_mut(per))
                .enumerate()
                .for_each(|(i, (ys, st))| chunk(i, ys, st));
            true
        };
        #[cfg(not(feature = "std"))]
        let done = false;
        if !done {
            y.chunks_mut(per * cols)
                .zip(stats.chunks_mut(per))
                .enumerate()
                .for_each(|(i, (ys, st))| chunk(i, ys, st));
        }
    }
    let (mean, rstd) = stats.into_iter().unzip();
    (y, mean, rstd)
}

/// One chunk of rows of the layer-norm backward: writes the input
/// gradient rows (when `gx` is given) and adds this chunk's `Σ gy·x̂` and
/// `Σ gy` into `gw`, `gb`.
#[allow(clippy::too_many_arguments)]
fn ln_backward_rows<E: Dtype>(
    cols: usize,
    first: usize,
    x: &[E],
    mean: &[E],
    rstd: &[E],
    w: Option<&[E]>,
    gy: &[E],
    mut gx: Option<&mut [E]>,
    gw: &mut [E],
    gb: &mut [E],
    want: NormWant,
) {
    let rows = gy.len() / cols;
    let mut g = vec![E::zero(); cols];
    for j in 0..rows {
        let r = first + j;
        let at = j * cols..(j + 1) * cols;
        let (xr, gr) = (&x[at.clone()], &gy[at.clone()]);
        let (m, rs) = (mean[r], rstd[r]);
        if want.weight {
            for ((acc, &v), &d) in gw.iter_mut().zip(xr).zip(gr) {
                *acc = *acc + d * (v - m) * rs;
            }
        }
        if want.bias {
            for (acc, &d) in gb.iter_mut().zip(gr) {
                *acc = *acc + d;
            }
        }
        let Some(gx) = gx.as_deref_mut() else {
            continue;
        };
        match w {
            Some(w) => g
                .iter_mut()
                .zip(gr)
                .zip(w)
                .for_each(|((o, &d), &wv)| *o = d * wv),
            None => g.copy_from_slice(gr),
        }
        let n = cols as f64;
        let mg = E::from_f64(lane_sum(&g, |v| v) / n);
        let mgx = E::from_f64(lane_sum2(&g, xr, |gv, v| gv * (v - m) * rs) / n);
        for ((o, &gv), &v) in gx[at].iter_mut().zip(&g).zip(xr) {
            *o = rs * (gv - mg - (v - m) * rs * mgx);
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn ln_backward<E: Dtype>(
    p: LayerNormParams,
    x: &[E],
    mean: &[E],
    rstd: &[E],
    w: Option<&[E]>,
    gy: &[E],
    want: NormWant,
) -> NormGrads<Vec<E>> {
    let (rows, cols) = (p.rows, p.cols);
    let mut gx = want.input.then(|| vec![E::zero(); rows * cols]);
    let mut gw = vec![E::zero(); cols];
    let mut gb = vec![E::zero(); cols];
    if cols > 0 && rows > 0 {
        #[cfg(feature = "std")]
        let done = parallel(rows * cols) && {
            use rayon::prelude::*;
            let per = rows_per_chunk(rows, cols);
            let len = per * cols;
            let sums = |i: usize, gx: Option<&mut [E]>| {
                let at = i * len..((i + 1) * len).min(rows * cols);
                let mut sw = vec![E::zero(); cols];
                let mut sb = vec![E::zero(); cols];
                let (xs, gys) = (&x[at.clone()], &gy[at]);
                ln_backward_rows(
                    cols,
                    i * per,
                    xs,
                    mean,
                    rstd,
                    w,
                    gys,
                    gx,
                    &mut sw,
                    &mut sb,
                    want,
                );
                (sw, sb)
            };
            let parts: Vec<(Vec<E>, Vec<E>)> = match gx.as_mut() {
                Some(gx) => gx
                    .par_chunks_mut(len)
                    .enumerate()
                    .map(|(i, c)| sums(i, Some(c)))
                    .collect(),
                None => (0..rows.div_ceil(per))
                    .into_par_iter()
                    .map(|i| sums(i, None))
                    .collect(),
            };
            for (sw, sb) in parts {
                gw.iter_mut().zip(sw).for_each(|(a, v)| *a = *a + v);
                gb.iter_mut().zip(sb).for_each(|(a, v)| *a = *a + v);
            }
            true
        };
        #[cfg(not(feature = "std"))]
        let done = false;
        if !done {
            ln_backward_rows(
                cols,
                0,
                x,
                mean,
                rstd,
                w,
                gy,
                gx.as_deref_mut(),
                &mut gw,
                &mut gb,
                want,
            );
        }
    }
    (gx, want.weight.then_some(gw), want.bias.then_some(gb))
}

fn arc<E>(v: Vec<E>) -> CpuStorage<E> {
    CpuStorage::new(v)
}

macro_rules! norm_impl {
    ($($e:ty),*) => {$(
        impl NormKernel<$e> for Cpu {
            fn batch_norm_stats(
                &self,
                p: BatchNormParams,
                x: &CpuStorage<$e>,
            ) -> (CpuStorage<$e>, CpuStorage<$e>) {
                let (m, v) = bn_stats(p, x);
                (arc(m), arc(v))
            }

            fn batch_norm_forward(
                &self,
                p: BatchNormParams,
                eps: f64,
                x: &CpuStorage<$e>,
                mean: &CpuStorage<$e>,
                var: &CpuStorage<$e>,
                w: Option<&CpuStorage<$e>>,
                b: Option<&CpuStorage<$e>>,
            ) -> CpuStorage<$e> {
                arc(bn_forward(p, eps, x, mean, var, w.map(|w| w.as_slice()), b.map(|b| b.as_slice())))
            }

            fn batch_norm_backward(
                &self,
                p: BatchNormParams,
                eps: f64,
                batch_stats: bool,
                x: &CpuStorage<$e>,
                mean: &CpuStorage<$e>,
                var: &CpuStorage<$e>,
                w: Option<&CpuStorage<$e>>,
                gy: &CpuStorage<$e>,
                want: NormWant,
            ) -> NormGrads<CpuStorage<$e>> {
                let (gx, gw, gb) = bn_backward(p, eps, batch_stats, x, mean, var, w.map(|w| w.as_slice()), gy, want);
                (gx.map(arc), gw.map(arc), gb.map(arc))
            }

            fn layer_norm_forward(
                &self,
                p: LayerNormParams,
                eps: f64,
                x: &CpuStorage<$e>,
                w: Option<&CpuStorage<$e>>,
                b: Option<&CpuStorage<$e>>,
            ) -> (CpuStorage<$e>, CpuStorage<$e>, CpuStorage<$e>) {
                let (y, m, r) = ln_forward(p, eps, x, w.map(|w| w.as_slice()), b.map(|b| b.as_slice()));
                (arc(y), arc(m), arc(r))
            }

            fn layer_norm_backward(
                &self,
                p: LayerNormParams,
                x: &CpuStorage<$e>,
                mean: &CpuStorage<$e>,
                rstd: &CpuStorage<$e>,
                w: Option<&CpuStorage<$e>>,
                gy: &CpuStorage<$e>,
                want: NormWant,
            ) -> NormGrads<CpuStorage<$e>> {
                let (gx, gw, gb) = ln_backward(p, x, mean, rstd, w.map(|w| w.as_slice()), gy, want);
                (gx.map(arc), gw.map(arc), gb.map(arc))
            }
        }
    )*};
}
norm_impl!(f32, f64);

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;

    /// Batch norm forward and backward give the same values whether the
    /// rows run on one thread or several.
    #[test]
    fn batch_norm_same_on_any_number_of_threads() {
        let p = BatchNormParams {
            batch: 4,
            channels: 16,
            inner: 1 << 10,
        };
        let n = p.batch * p.channels * p.inner;
        let x: Vec<f32> = (0..n).map(|i| ((i * 7919 % 1013) as f32) / 300.0).collect();
        let gy: Vec<f32> = (0..n)
            .map(|i| ((i * 31 % 97) as f32) / 50.0 - 1.0)
            .collect();
        let w: Vec<f32> = (0..16).map(|c| 0.5 + c as f32 / 8.0).collect();
        let want = NormWant {
            input: true,
            weight: true,
            bias: true,
        };
        let run = || {
            let (m, v) = bn_stats(p, &x);
            let y = bn_forward(p, 1e-5, &x, &m, &v, Some(&w), None);
            let g = bn_backward(p, 1e-5, true, &x, &m, &v, Some(&w), &gy, want);
            (y, g)
        };
        let pool = |t| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(t)
                .build()
                .unwrap()
        };
        let one = pool(1).install(run);
        let two = pool(2).install(run);
        assert_eq!(one, two);
        // Spot check against the formula: y = (x - mean)·w/σ.
        let (y, _) = one;
        let (m, v) = bn_stats(p, &x);
        let c = 3;
        let i = (2 * p.channels + c) * p.inner + 5;
        let expect = (x[i] - m[c]) / (v[c] + 1e-5).sqrt() * w[c];
        assert!((y[i] - expect).abs() < 1e-4, "{} vs {expect}", y[i]);
    }
}
