//! CPU kernels for reductions and softmax.
//!
//! An axis reduction views the input as `(outer, n, inner)`: `n` is the
//! reduced axis, `outer` the product of the axes before it and `inner` the
//! product of the axes after it (a whole-tensor reduction is `(1, numel, 1)`).
//! With `inner == 1` each output reduces one contiguous row (8 independent
//! accumulators, pairwise blocks: vectorised and accurate); otherwise whole
//! rows of `inner` outputs are accumulated at once. Large inputs are split
//! over rayon threads (over outputs, or over the row when there are few
//! outputs); the split does not depend on timing, so results are
//! deterministic for a given thread count.

use super::par::output_vec;
#[cfg(feature = "std")]
use super::par::par_threshold;
use super::simd::wide_fn;
use super::Cpu;
use super::CpuStorage;
use crate::backend::kernels::reduce::{sum_to_passes, CrossEntropySpec, ReduceKernel, ReduceOp};
use crate::dtype::Dtype;
use crate::shape::Error;
use alloc::vec;
use alloc::vec::Vec;
use core::mem::MaybeUninit;

// ----------------------------------------------------------------- helpers

/// Worker threads available to a kernel (1 without `std`).
#[inline]
fn threads() -> usize {
    #[cfg(feature = "std")]
    {
        rayon::current_num_threads().max(1)
    }
    #[cfg(not(feature = "std"))]
    {
        1
    }
}

/// `(outer, n, inner)` of a reduction along `axis` (`None`: everything).
fn split(dims: &[usize], axis: Option<usize>) -> (usize, usize, usize) {
    match axis {
        None => (1, dims.iter().product(), 1),
        Some(a) => {
            assert!(
                a < dims.len(),
                "reduce: axis {a} out of range for dims {dims:?}"
            );
            (
                dims[..a].iter().product(),
                dims[a],
                dims[a + 1..].iter().product(),
            )
        }
    }
}

/// Calls `f(start, chunk)` over chunks of `out` whose lengths are multiples
/// of `unit` (`start` is the chunk's offset in `out`); in parallel when
/// `work` (input elements touched) is large.
fn par_chunks<T: Send>(
    out: &mut [T],
    unit: usize,
    work: usize,
    f: impl Fn(usize, &mut [T]) + Sync + Send,
) {
    if out.is_empty() {
        return;
    }
    #[cfg(feature = "std")]
    {
        let unit = unit.max(1);
        let t = threads();
        let units = out.len() / unit;
        if t > 1 && work >= par_threshold() && units > 1 {
            super::threads::warm();
            use rayon::prelude::*;
            let per = units.div_ceil(4 * t).max(1) * unit;
            out.par_chunks_mut(per)
                .enumerate()
                .for_each(|(i, c)| f(i * per, c));
            return;
        }
    }
    let _ = (unit, work);
    f(0, out);
}

/// Fold a contiguous slice: `leaf` on pieces (in parallel when `par` and the
/// slice is large), partial results combined in order with `combine`.
fn fold_slice<E: Dtype>(
    x: &[E],
    par: bool,
    leaf: impl Fn(&[E]) -> E + Sync + Send,
    combine: impl Fn(E, E) -> E,
) -> E {
    #[cfg(feature = "std")]
    {
        let t = threads();
        if par && t > 1 && x.len() >= par_threshold() {
            super::threads::warm();
            use rayon::prelude::*;
            let chunk = x.len().div_ceil(4 * t).max(4096);
            let parts: Vec<E> = x.par_chunks(chunk).map(&leaf).collect();
            let mut it = parts.into_iter();
            let first = it.next().unwrap_or_else(|| leaf(&[]));
            return it.fold(first, combine);
        }
    }
    let _ = (par, &combine);
    leaf(x)
}

/// `Σ f(x)` over a slice: 8 accumulators, pairwise over blocks of 2048
/// (error grows like log n, not n).
fn sum_by<E: Dtype>(x: &[E], f: impl Fn(E) -> E + Copy) -> E {
    const BLOCK: usize = 2048;
    if x.len() > BLOCK {
        let h = (x.len() / 2).next_multiple_of(8);
        return sum_by(&x[..h], f) + sum_by(&x[h..], f);
    }
    let mut acc = [E::zero(); 8];
    let mut it = x.chunks_exact(8);
    for c in &mut it {
        for k in 0..8 {
            acc[k] = acc[k] + f(c[k]);
        }
    }
    let mut rest = E::zero();
    for &v in it.remainder() {
        rest = rest + f(v);
    }
    ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7])) + rest
}

/// `max(a, b)`, NaN-propagating (like `torch.amax`).
#[inline(always)]
fn max_e<E: Dtype>(a: E, b: E) -> E {
    if a >= b || a.is_nan() {
        a
    } else {
        b
    }
}

/// `min(a, b)`, NaN-propagating.
#[inline(always)]
fn min_e<E: Dtype>(a: E, b: E) -> E {
    if a <= b || a.is_nan() {
        a
    } else {
        b
    }
}

/// Fold a slice with a NaN-propagating binary `pick` (max or min), 8 lanes.
#[inline(always)]
fn pick_lanes<E: Dtype>(x: &[E], init: E, pick: impl Fn(E, E) -> E) -> E {
    let mut acc = [init; 8];
    let mut it = x.chunks_exact(8);
    for c in &mut it {
        for k in 0..8 {
            acc[k] = pick(acc[k], c[k]);
        }
    }
    let mut r = init;
    for &v in it.remainder() {
        r = pick(r, v);
    }
    acc.iter().fold(r, |a, &b| pick(a, b))
}

fn max_slice<E: Dtype>(x: &[E], par: bool) -> E {
    fold_slice(x, par, |c| pick_lanes(c, E::neg_infinity(), max_e), max_e)
}

fn min_slice<E: Dtype>(x: &[E], par: bool) -> E {
    fold_slice(x, par, |c| pick_lanes(c, E::infinity(), min_e), min_e)
}

fn sum_slice_by<E: Dtype>(x: &[E], par: bool, f: impl Fn(E) -> E + Copy + Sync + Send) -> E {
    fold_slice(x, par, |c| sum_by(c, f), |a, b| a + b)
}

#[inline(always)]
fn count<E: Dtype>(n: usize) -> E {
    E::from_f64(n as f64)
}

/// `n - correction` as a divisor (0 gives NaN/inf, as the maths does; the
/// typed layer refuses that case before calling the kernel).
#[inline(always)]
fn var_denominator<E: Dtype>(n: usize, correction: usize) -> E {
    count(n.saturating_sub(correction))
}

/// `m` if finite, else 0: the shift for `exp(x - m)` when a row is all
/// `-inf` (the result is then decided by `m` itself, without NaNs).
#[inline(always)]
fn finite_or_zero<E: Dtype>(m: E) -> E {
    if m.is_finite() {
        m
    } else {
        E::zero()
    }
}

/// `m + ln(s)`, where `m` is the max of the row and `s = Σ exp(x - shift(m))`.
#[inline(always)]
fn lse_finish<E: Dtype>(m: E, s: E) -> E {
    if m.is_finite() {
        m + s.ln()
    } else {
        m
    }
}

// ----------------------------------------------------------------- forward

/// Reduce one contiguous row.
fn row_reduce<E: Dtype>(op: ReduceOp, x: &[E], par: bool) -> E {
    let n = x.len();
    match op {
        ReduceOp::Sum => sum_slice_by(x, par, |v| v),
        ReduceOp::Mean => sum_slice_by(x, par, |v| v) / count(n),
        ReduceOp::Max => max_slice(x, par),
        ReduceOp::Min => min_slice(x, par),
        ReduceOp::Var { correction } => {
            // Two passes (mean, then squared deviations): no cancellation.
            let m = sum_slice_by(x, par, |v| v) / count(n);
            sum_slice_by(x, par, move |v| (v - m) * (v - m)) / var_denominator(n, correction)
        }
        ReduceOp::LogSumExp => {
            let m = max_slice(x, par);
            let sh = finite_or_zero(m);
            lse_finish(m, sum_slice_by(x, par, move |v| (v - sh).fast_exp()))
        }
    }
}

/// `out[o·inner + i] = fold_j step(acc, x[o, j, i], o·inner + i)` from
/// `init(o·inner + i)`, for any `inner` (rows of `inner` outputs are
/// accumulated together, so the inner loop is contiguous).
fn fold_axis<E: Dtype>(
    x: &[E],
    (outer, n, inner): (usize, usize, usize),
    init: impl Fn(usize) -> E + Sync + Send,
    step: impl Fn(E, E, usize) -> E + Sync + Send,
) -> Vec<E> {
    let mut out = vec![E::zero(); outer * inner];
    par_chunks(&mut out, 1, x.len(), |s, oc| {
        let end = s + oc.len();
        let mut f = s;
        while f < end {
            let (o, i0) = (f / inner, f % inner);
            let i1 = inner.min(i0 + (end - f));
            let seg = &mut oc[f - s..f - s + (i1 - i0)];
            let oi0 = o * inner + i0;
            for (k, a) in seg.iter_mut().enumerate() {
                *a = init(oi0 + k);
            }
            let base = o * n * inner;
            for j in 0..n {
                let row = &x[base + j * inner + i0..base + j * inner + i1];
                for (k, (a, &v)) in seg.iter_mut().zip(row).enumerate() {
                    *a = step(*a, v, oi0 + k);
                }
            }
            f += i1 - i0;
        }
    });
    out
}

/// Sum along the middle axis of `(outer, n, inner)`; with few outputs and a
/// long axis (a bias gradient: `(1, rows, features)`), the rows are split
/// over threads and the partial rows added in order.
pub(super) fn sum_axis<E: Dtype>(x: &[E], (outer, n, inner): (usize, usize, usize)) -> Vec<E> {
    #[cfg(feature = "std")]
    {
        let t = threads();
        if outer == 1 && t > 1 && inner < 64 * t && x.len() >= par_threshold() && n >= 2 * t {
            super::threads::warm();
            use rayon::prelude::*;
            let rows_per = n.div_ceil(4 * t);
            let parts: Vec<Vec<E>> = x
                .par_chunks(rows_per * inner)
                .map(|c| {
                    fold_axis(
                        c,
                        (1, c.len() / inner, inner),
                        |_| E::zero(),
                        |a, v, _| a + v,
                    )
                })
                .collect();
            let mut out = vec![E::zero(); inner];
            for p in parts {
                for (o, v) in out.iter_mut().zip(p) {
                    *o = *o + v;
                }
            }
            return out;
        }
    }
    fold_axis(x, (outer, n, inner), |_| E::zero(), |a, v, _| a + v)
}

fn reduce<E: Dtype>(op: ReduceOp, x: &[E], dims: &[usize], axis: Option<usize>) -> Vec<E> {
    let (outer, n, inner) = split(dims, axis);
    assert_eq!(
        x.len(),
        outer * n * inner,
        "reduce: buffer of {} elements for dims {dims:?}",
        x.len()
    );
    if inner == 1 {
        let mut out = vec![E::zero(); outer];
        if outer < threads() {
            // Few long rows: parallel within each row.
            for (r, o) in out.iter_mut().enumerate() {
                *o = row_reduce(op, &x[r * n..(r + 1) * n], true);
            }
        } else {
            par_chunks(&mut out, 1, x.len(), |s, oc| {
                for (k, o) in oc.iter_mut().enumerate() {
                    let r = s + k;
                    *o = row_reduce(op, &x[r * n..(r + 1) * n], false);
                }
            });
        }
        return out;
    }
    let shape = (outer, n, inner);
    let scale = |mut v: Vec<E>, c: E| {
        v.iter_mut().for_each(|a| *a = *a * c);
        v
    };
    match op {
        ReduceOp::Sum => sum_axis(x, shape),
        ReduceOp::Mean => scale(sum_axis(x, shape), E::one() / count(n)),
        ReduceOp::Max => fold_axis(x, shape, |_| E::neg_infinity(), |a, v, _| max_e(a, v)),
        ReduceOp::Min => fold_axis(x, shape, |_| E::infinity(), |a, v, _| min_e(a, v)),
        ReduceOp::Var { correction } => {
            let m = scale(sum_axis(x, shape), E::one() / count(n));
            let ss = fold_axis(
                x,
                shape,
                |_| E::zero(),
                |a, v, oi| a + (v - m[oi]) * (v - m[oi]),
            );
            scale(ss, E::one() / var_denominator(n, correction))
        }
        ReduceOp::LogSumExp => {
            let m = fold_axis(x, shape, |_| E::neg_infinity(), |a, v, _| max_e(a, v));
            let s = fold_axis(
                x,
                shape,
                |_| E::zero(),
                |a, v, oi| a + (v - finite_or_zero(m[oi])).fast_exp(),
            );
            m.iter().zip(&s).map(|(&m, &s)| lse_finish(m, s)).collect()
        }
    }
}

// ----------------------------------------------------------------- backward

/// `gx[o, j, i] = f(x[o, j, i], o·inner + i)`.
fn apply_axis<E: Dtype>(
    x: &[E],
    (outer, n, inner): (usize, usize, usize),
    f: impl Fn(E, usize) -> E + Sync + Send,
) -> Vec<E> {
    let mut gx = vec![E::zero(); x.len()];
    if x.is_empty() {
        return gx;
    }
    let block = n * inner;
    debug_assert_eq!(x.len(), outer * block);
    par_chunks(&mut gx, 1, x.len(), |s, c| {
        let end = s + c.len();
        let mut p = s;
        while p < end {
            // The part of this chunk inside outer block `o`.
            let o = p / block;
            let q = end.min((o + 1) * block);
            let (gs, xs) = (&mut c[p - s..q - s], &x[p..q]);
            if inner == 1 {
                for (g, &v) in gs.iter_mut().zip(xs) {
                    *g = f(v, o);
                }
            } else {
                let mut i = (p - o * block) % inner;
                for (g, &v) in gs.iter_mut().zip(xs) {
                    *g = f(v, o * inner + i);
                    i += 1;
                    if i == inner {
                        i = 0;
                    }
                }
            }
            p = q;
        }
    });
    gx
}

fn reduce_backward<E: Dtype>(
    op: ReduceOp,
    x: &[E],
    y: &[E],
    gy: &[E],
    dims: &[usize],
    axis: Option<usize>,
) -> Vec<E> {
    let (outer, n, inner) = split(dims, axis);
    let shape = (outer, n, inner);
    assert_eq!(
        x.len(),
        outer * n * inner,
        "reduce_backward: buffer of {} elements for dims {dims:?}",
        x.len()
    );
    assert_eq!(
        gy.len(),
        outer * inner,
        "reduce_backward: gradient of {} elements, expected {}",
        gy.len(),
        outer * inner
    );
    assert_eq!(
        y.len(),
        gy.len(),
        "reduce_backward: output of {} elements, expected {}",
        y.len(),
        gy.len()
    );
    match op {
        ReduceOp::Sum => apply_axis(x, shape, |_, oi| gy[oi]),
        ReduceOp::Mean => {
            let c = E::one() / count(n);
            apply_axis(x, shape, move |_, oi| gy[oi] * c)
        }
        ReduceOp::Max | ReduceOp::Min => {
            // The gradient is shared equally among the elements equal to the
            // result (like torch.amax / amin).
            let ties = fold_axis(
                x,
                shape,
                |_| E::zero(),
                |a, v, oi| if v == y[oi] { a + E::one() } else { a },
            );
            let share: Vec<E> = gy
                .iter()
                .zip(&ties)
                .map(|(&g, &t)| if t > E::zero() { g / t } else { E::zero() })
                .collect();
            apply_axis(
                x,
                shape,
                |v, oi| if v == y[oi] { share[oi] } else { E::zero() },
            )
        }
        ReduceOp::Var { correction } => {
            let m = reduce(ReduceOp::Mean, x, dims, axis);
            let two = E::one() + E::one();
            let a: Vec<E> = gy
                .iter()
                .map(|&g| two * g / var_denominator(n, correction))
                .collect();
            apply_axis(x, shape, |v, oi| a[oi] * (v - m[oi]))
        }
        ReduceOp::LogSumExp => apply_axis(x, shape, |v, oi| {
            // d lse / dx = softmax(x) = exp(x - lse); an all -inf row has no gradient.
            if y[oi] == E::neg_infinity() {
                E::zero()
            } else {
                gy[oi] * (v - y[oi]).fast_exp()
            }
        }),
    }
}

// ----------------------------------------------------------------- sum_to

/// Sum `x` (dims `from`) down to the broadcastable dims `to` (right-aligned):
/// the reduced axes are merged into groups and each group is summed with the
/// axis kernel (a single pass when `to` is a trailing block, e.g. a bias).
fn sum_to<E: Dtype>(x: &[E], from: &[usize], to: &[usize]) -> Vec<E> {
    let mut cur: Option<Vec<E>> = None;
    for (outer, n, inner) in sum_to_passes(x.len(), from, to) {
        let src: &[E] = cur.as_deref().unwrap_or(x);
        cur = Some(if inner == 1 {
            reduce(ReduceOp::Sum, src, &[outer, n], Some(1))
        } else {
            sum_axis(src, (outer, n, inner))
        });
    }
    cur.unwrap_or_else(|| x.to_vec())
}

// ----------------------------------------------------------------- softmax

/// The maximum of a row for softmax's shift, in lanes with a plain
/// comparison (a vector max). A NaN may or may not win here: either way
/// it reaches the row's sum through `e^(NaN - m)`, and the whole row is
/// NaN, as `torch.softmax` gives.
#[inline(always)]
fn row_max<E: Dtype>(x: &[E]) -> E {
    // 64 lanes: four vectors of f32, so four independent max chains.
    const L: usize = 64;
    let mut acc = [E::neg_infinity(); L];
    let mut it = x.chunks_exact(L);
    for c in &mut it {
        for k in 0..L {
            acc[k] = if c[k] > acc[k] { c[k] } else { acc[k] };
        }
    }
    // Lanes combined pairwise (vector maxima), then the remainder.
    let mut w = L;
    while w > 1 {
        w /= 2;
        for k in 0..w {
            acc[k] = if acc[k + w] > acc[k] {
                acc[k + w]
            } else {
                acc[k]
            };
        }
    }
    let mut m = acc[0];
    for &v in it.remainder() {
        m = if v > m { v } else { m };
    }
    m
}

/// Softmax (or log-softmax) of one contiguous row into `y`, writing every
/// element of `y` (which may start uninitialised): the maximum, then
/// `e^(x - m)` written and summed in one vectorised pass, then one scaling
/// pass, all over a row that stays in cache.
#[inline(always)]
fn softmax_row<const FMA: bool, const LOG: bool, E: Dtype>(x: &[E], y: &mut [MaybeUninit<E>]) {
    let m = row_max(x);
    // 16 independent sums (a vector register of f32), combined pairwise.
    // Softmax stores e^(x - m); log-softmax stores x - m and only sums.
    const L: usize = 16;
    let mut acc = [E::zero(); L];
    let mut yc = y.chunks_exact_mut(L);
    let mut xc = x.chunks_exact(L);
    for (yk, xk) in (&mut yc).zip(&mut xc) {
        for k in 0..L {
            let d = xk[k] - m;
            let e = d.fast_exp_with::<FMA>();
            yk[k].write(if LOG { d } else { e });
            acc[k] = acc[k] + e;
        }
    }
    let mut rest = E::zero();
    for (y, &v) in yc.into_remainder().iter_mut().zip(xc.remainder()) {
        let d = v - m;
        let e = d.fast_exp_with::<FMA>();
        y.write(if LOG { d } else { e });
        rest = rest + e;
    }
    let mut w = L;
    while w > 1 {
        w /= 2;
        for k in 0..w {
            acc[k] = acc[k] + acc[k + w];
        }
    }
    let s = acc[0] + rest;
    if LOG {
        // (x - m) - ln Σ e^(x - m); a non-finite max leaves x - m (NaN or
        // -inf - -inf = NaN), as torch gives.
        let l = if m.is_finite() { s.ln() } else { E::zero() };
        for y in y.iter_mut() {
            // SAFETY: the loops above wrote every element of `y` (the exact
            // chunks and their remainder cover it: `x` and `y` have the
            // same length), so it is initialised.
            let d = unsafe { y.assume_init() };
            y.write(d - l);
        }
        return;
    }
    let inv = E::one() / s;
    for y in y.iter_mut() {
        // SAFETY: as above, every element of `y` was written.
        let e = unsafe { y.assume_init() };
        y.write(e * inv);
    }
}

/// Softmax (or log-softmax) along the middle axis of one `(n, inner)` block.
#[inline(always)]
fn softmax_block<E: Dtype>(
    x: &[E],
    y: &mut [E],
    n: usize,
    inner: usize,
    log: bool,
    m: &mut [E],
    s: &mut [E],
) {
    m.fill(E::neg_infinity());
    s.fill(E::zero());
    for j in 0..n {
        for (m, &v) in m.iter_mut().zip(&x[j * inner..(j + 1) * inner]) {
            *m = max_e(*m, v);
        }
    }
    for j in 0..n {
        let (xr, yr) = (
            &x[j * inner..(j + 1) * inner],
            &mut y[j * inner..(j + 1) * inner],
        );
        for (((y, &v), &m), s) in yr.iter_mut().zip(xr).zip(m.iter()).zip(s.iter_mut()) {
            let e = (v - m).fast_exp();
            *s = *s + e;
            if !log {
                *y = e;
            }
        }
    }
    if log {
        for (s, &m) in s.iter_mut().zip(m.iter()) {
            *s = if m.is_finite() { s.ln() } else { E::zero() };
        }
        for j in 0..n {
            let (xr, yr) = (
                &x[j * inner..(j + 1) * inner],
                &mut y[j * inner..(j + 1) * inner],
            );
            for (((y, &v), &m), &l) in yr.iter_mut().zip(xr).zip(m.iter()).zip(s.iter()) {
                *y = (v - m) - l;
            }
        }
    } else {
        s.iter_mut().for_each(|s| *s = E::one() / *s);
        for j in 0..n {
            for (y, &inv) in y[j * inner..(j + 1) * inner].iter_mut().zip(s.iter()) {
                *y = *y * inv;
            }
        }
    }
}

wide_fn! {
    /// Softmax of the `(n, inner)` blocks of the chunk `yc` of the output
    /// (which starts at element `s`), writing every element; compiled for
    /// the CPU's widest vectors (the `exp` loops vectorise).
    fn softmax_chunk<E: Dtype>(x: &[E], yc: &mut [MaybeUninit<E>], s: usize, n: usize, inner: usize, log: bool) -> () {
        let block = n * inner;
        if inner == 1 {
            for (k, yb) in yc.chunks_mut(block).enumerate() {
                let xb = &x[s + k * block..s + (k + 1) * block];
                if log {
                    softmax_row::<FMA, true, E>(xb, yb);
                } else {
                    softmax_row::<FMA, false, E>(xb, yb);
                }
            }
            return;
        }
        for y in yc.iter_mut() {
            y.write(E::zero());
        }
        // SAFETY: every element was initialised just above, and
        // `MaybeUninit<E>` has the layout of `E`.
        let yc: &mut [E] = unsafe { core::slice::from_raw_parts_mut(yc.as_mut_ptr().cast::<E>(), yc.len()) };
        let mut m = vec![E::zero(); inner];
        let mut sums = m.clone();
        for (k, yb) in yc.chunks_mut(block).enumerate() {
            let xb = &x[s + k * block..s + (k + 1) * block];
            softmax_block(xb, yb, n, inner, log, &mut m, &mut sums);
        }
    }
}

fn softmax<E: Dtype>(x: &[E], dims: &[usize], axis: usize, log: bool) -> Vec<E> {
    let (_, n, inner) = split(dims, Some(axis));
    assert_eq!(
        x.len(),
        dims.iter().product::<usize>(),
        "softmax: buffer of {} elements for dims {dims:?}",
        x.len()
    );
    // Written once by the kernel, never zero-filled first.
    let mut y = output_vec(x.len());
    if x.is_empty() {
        return y;
    }
    let block = n * inner;
    par_chunks(
        &mut y.spare_capacity_mut()[..x.len()],
        block,
        x.len(),
        |s, yc| softmax_chunk(x, yc, s, n, inner, log),
    );
    // SAFETY: `par_chunks` called `softmax_chunk` on chunks covering all
    // `x.len()` elements of the spare capacity (it hands out every chunk
    // of the slice, and the slice is non-empty), and `softmax_chunk`
    // writes every element of its chunk.
    unsafe { y.set_len(x.len()) };
    y
}

/// Softmax: `gx = y ⊙ (gy - Σ gy ⊙ y)`; log-softmax: `gx = gy - exp(y) Σ gy`.
fn softmax_backward<E: Dtype>(y: &[E], gy: &[E], dims: &[usize], axis: usize, log: bool) -> Vec<E> {
    let (_, n, inner) = split(dims, Some(axis));
    assert_eq!(
        y.len(),
        dims.iter().product::<usize>(),
        "softmax_backward: buffer of {} elements for dims {dims:?}",
        y.len()
    );
    assert_eq!(
        gy.len(),
        y.len(),
        "softmax_backward: gradient of {} elements, expected {}",
        gy.len(),
        y.len()
    );
    let mut gx = vec![E::zero(); y.len()];
    if y.is_empty() {
        return gx;
    }
    let block = n * inner;
    par_chunks(&mut gx, block, y.len(), |s, gc| {
        let mut acc = vec![E::zero(); inner];
        for (k, gb) in gc.chunks_mut(block).enumerate() {
            let (yb, gyb) = (
                &y[s + k * block..s + (k + 1) * block],
                &gy[s + k * block..s + (k + 1) * block],
            );
            acc.fill(E::zero());
            for j in 0..n {
                let r = j * inner..(j + 1) * inner;
                for ((a, &yv), &g) in acc.iter_mut().zip(&yb[r.clone()]).zip(&gyb[r]) {
                    *a = *a + if log { g } else { g * yv };
                }
            }
            for j in 0..n {
                let r = j * inner..(j + 1) * inner;
                for (((o, &yv), &g), &a) in gb[r.clone()]
                    .iter_mut()
                    .zip(&yb[r.clone()])
                    .zip(&gyb[r])
                    .zip(acc.iter())
                {
                    *o = if log {
                        g - yv.fast_exp() * a
                    } else {
                        yv * (g - a)
                    };
                }
            }
        }
    });
    gx
}

macro_rules! reduce_impl {
    ($($e:ty),*) => {$(
        impl ReduceKernel<$e> for Cpu {
            fn reduce(&self, op: ReduceOp, x: &CpuStorage<$e>, dims: &[usize], axis: Option<usize>) -> CpuStorage<$e> {
                CpuStorage::new(reduce(op, x, dims, axis))
            }
            fn reduce_backward(
                &self,
                op: ReduceOp,
                x: &CpuStorage<$e>,
                y: &CpuStorage<$e>,
                gy: &CpuStorage<$e>,
                dims: &[usize],
                axis: Option<usize>,
            ) -> CpuStorage<$e> {
                CpuStorage::new(reduce_backward(op, x, y, gy, dims, axis))
            }
            fn sum_to(&self, x: &CpuStorage<$e>, from: &[usize], to: &[usize]) -> CpuStorage<$e> {
                if from == to {
                    return x.clone();
                }
                CpuStorage::new(sum_to(x, from, to))
            }
            fn softmax(&self, x: &CpuStorage<$e>, dims: &[usize], axis: usize, log: bool) -> CpuStorage<$e> {
                CpuStorage::new(softmax(x, dims, axis, log))
            }
            fn softmax_backward(
                &self,
                y: &CpuStorage<$e>,
                gy: &CpuStorage<$e>,
                dims: &[usize],
                axis: usize,
                log: bool,
            ) -> CpuStorage<$e> {
                CpuStorage::new(softmax_backward(y, gy, dims, axis, log))
            }
            fn cross_entropy(
                &self,
                logits: &CpuStorage<$e>,
                targets: &CpuStorage<usize>,
                spec: CrossEntropySpec,
            ) -> Result<(CpuStorage<$e>, CpuStorage<$e>), Error> {
                let (loss, stats) = super::loss::cross_entropy(logits, targets, spec)?;
                Ok((CpuStorage::new(vec![loss]), CpuStorage::new(stats)))
            }
            fn cross_entropy_backward(
                &self,
                logits: &CpuStorage<$e>,
                stats: &CpuStorage<$e>,
                targets: &CpuStorage<usize>,
                gy: &CpuStorage<$e>,
                spec: CrossEntropySpec,
            ) -> CpuStorage<$e> {
                CpuStorage::new(super::loss::cross_entropy_backward(logits, stats, targets, gy[0], spec))
            }
            fn bce_with_logits(&self, x: &CpuStorage<$e>, y: &CpuStorage<$e>) -> CpuStorage<$e> {
                CpuStorage::new(vec![super::loss::bce_with_logits(x, y)])
            }
            fn bce_with_logits_backward(
                &self,
                x: &CpuStorage<$e>,
                y: &CpuStorage<$e>,
                gy: &CpuStorage<$e>,
                want: (bool, bool),
            ) -> (Option<CpuStorage<$e>>, Option<CpuStorage<$e>>) {
                let (a, b) = super::loss::bce_with_logits_backward(x, y, gy[0], want);
                (a.map(CpuStorage::new), b.map(CpuStorage::new))
            }
        }
    )*};
}
reduce_impl!(f32, f64);
