//! CPU kernels for the fused losses: cross-entropy on logits (log-softmax
//! and negative log-likelihood in one pass per row, with label smoothing and
//! an ignored index) and binary cross-entropy on logits.
//!
//! Rows are independent, so large inputs are split over rayon threads by
//! whole rows; per-row losses are then summed in row order, so the result
//! does not depend on the thread count.

#[cfg(feature = "std")]
use super::par::par_threshold;
use super::par::{map2, output_vec};
use crate::backend::kernels::reduce::CrossEntropySpec;
use crate::dtype::Dtype;
use crate::shape::Error;
use alloc::vec;
use alloc::vec::Vec;

/// Run `f(first_row, rows_chunk)` over chunks of `out` (whose elements
/// belong to consecutive rows, `per_row` elements each); in parallel when
/// `work` (elements touched) is large.
fn par_rows<T: Send>(
    out: &mut [T],
    per_row: usize,
    work: usize,
    f: impl Fn(usize, &mut [T]) + Sync + Send,
) {
    let per_row = per_row.max(1);
    let rows = out.len() / per_row;
    if rows == 0 {
        return;
    }
    #[cfg(feature = "std")]
    {
        let t = rayon::current_num_threads();
        if t > 1 && work >= par_threshold() && rows > 1 {
            super::threads::warm();
            use rayon::prelude::*;
            let rows_per = rows.div_ceil(4 * t).max(1);
            out.par_chunks_mut(rows_per * per_row)
                .enumerate()
                .for_each(|(i, c)| f(i * rows_per, c));
            return;
        }
    }
    let _ = work;
    f(0, out);
}

/// NaN-propagating maximum of a row (8 independent lanes).
fn row_max<E: Dtype>(x: &[E]) -> E {
    #[inline(always)]
    fn mx<E: Dtype>(a: E, b: E) -> E {
        if a >= b || a.is_nan() {
            a
        } else {
            b
        }
    }
    let mut acc = [E::neg_infinity(); 8];
    let mut it = x.chunks_exact(8);
    for c in &mut it {
        for k in 0..8 {
            acc[k] = mx(acc[k], c[k]);
        }
    }
    let r = it
        .remainder()
        .iter()
        .fold(E::neg_infinity(), |a, &b| mx(a, b));
    acc.iter().fold(r, |a, &b| mx(a, b))
}

/// `Σ f(x)` over a row: 8 accumulators, pairwise over blocks of 2048.
fn row_sum<E: Dtype>(x: &[E], f: impl Fn(E) -> E + Copy) -> E {
    const BLOCK: usize = 2048;
    if x.len() > BLOCK {
        let h = (x.len() / 2).next_multiple_of(8);
        return row_sum(&x[..h], f) + row_sum(&x[h..], f);
    }
    let mut acc = [E::zero(); 8];
    let mut it = x.chunks_exact(8);
    for c in &mut it {
        for k in 0..8 {
            acc[k] = acc[k] + f(c[k]);
        }
    }
    let rest = it.remainder().iter().fold(E::zero(), |a, &v| a + f(v));
    ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7])) + rest
}

/// Whether row `r`'s target is ignored.
#[inline(always)]
fn ignored(t: usize, spec: &CrossEntropySpec) -> bool {
    spec.ignore_index == Some(t)
}

/// Number of rows that count (not ignored).
fn counted(targets: &[usize], spec: &CrossEntropySpec) -> usize {
    targets.iter().filter(|&&t| !ignored(t, spec)).count()
}

fn check_lengths(x: usize, targets: usize, spec: &CrossEntropySpec) {
    assert_eq!(
        x,
        spec.rows * spec.classes,
        "cross_entropy: {x} logits for {} rows of {} classes",
        spec.rows,
        spec.classes
    );
    assert_eq!(
        targets, spec.rows,
        "cross_entropy: {targets} targets for {} rows",
        spec.rows
    );
}

/// Forward: `(mean loss, [shift, ln Σ exp(x - shift)] per row)`.
pub(super) fn cross_entropy<E: Dtype>(
    x: &[E],
    targets: &[usize],
    spec: CrossEntropySpec,
) -> Result<(E, Vec<E>), Error> {
    check_lengths(x.len(), targets.len(), &spec);
    let c = spec.classes;
    if let Some(&bad) = targets.iter().find(|&&t| t >= c && !ignored(t, &spec)) {
        return Err(Error::IndexOutOfRange {
            op: "cross_entropy target",
            axis: spec.class_axis,
            index: bad,
            size: c,
        });
    }
    let eps = E::from_f64(spec.label_smoothing);
    let on = E::one() - eps;
    let off = if c > 0 {
        eps / E::from_f64(c as f64)
    } else {
        E::zero()
    };
    let smooth = spec.label_smoothing != 0.0;
    // [shift, ln s, loss] per row.
    let mut out = vec![E::zero(); 3 * spec.rows];
    par_rows(&mut out, 3, x.len(), |r0, chunk| {
        for (k, o) in chunk.chunks_mut(3).enumerate() {
            let r = r0 + k;
            let row = &x[r * c..(r + 1) * c];
            let m = row_max(row);
            // Shift by a finite max; an all `-inf` row gives ln s = -inf and
            // (like PyTorch) a NaN loss, a `+inf` logit a NaN loss.
            let sh = if m.is_finite() { m } else { E::zero() };
            let ln_s = row_sum(row, |v| (v - sh).fast_exp()).ln();
            let t = targets[r];
            let loss = if ignored(t, &spec) {
                E::zero()
            } else {
                // Σ_c q_c (lse - x_c) = ln s - Σ_c q_c (x_c - sh): the large
                // magnitudes cancel before they meet.
                let mut picked = on * (row[t] - sh);
                if smooth {
                    picked = picked + off * row_sum(row, |v| v - sh);
                }
                ln_s - picked
            };
            o.copy_from_slice(&[sh, ln_s, loss]);
        }
    });
    let n = counted(targets, &spec);
    let total = out
        .chunks(3 * 1024)
        .map(|b| b.chunks(3).fold(E::zero(), |a, o| a + o[2]))
        .fold(E::zero(), |a, b| a + b);
    let mean = if n == 0 {
        E::zero()
    } else {
        total / E::from_f64(n as f64)
    };
    let mut stats = Vec::with_capacity(2 * spec.rows);
    for o in out.chunks(3) {
        stats.extend_from_slice(&o[..2]);
    }
    Ok((mean, stats))
}

/// Backward: `gx[r, c] = gy / n · (exp((x - shift_r) - ln s_r) - q_rc)`, 0
/// on ignored rows.
pub(super) fn cross_entropy_backward<E: Dtype>(
    x: &[E],
    stats: &[E],
    targets: &[usize],
    gy: E,
    spec: CrossEntropySpec,
) -> Vec<E> {
    check_lengths(x.len(), targets.len(), &spec);
    assert_eq!(
        stats.len(),
        2 * spec.rows,
        "cross_entropy_backward: {} row statistics for {} rows",
        stats.len(),
        spec.rows
    );
    let c = spec.classes;
    let n = counted(targets, &spec);
    let mut gx = output_vec(x.len());
    gx.resize(x.len(), E::zero());
    if n == 0 || c == 0 {
        return gx;
    }
    let scale = gy / E::from_f64(n as f64);
    let eps = E::from_f64(spec.label_smoothing);
    let on = scale * (E::one() - eps);
    let off = scale * eps / E::from_f64(c as f64);
    par_rows(&mut gx, c, x.len(), |r0, chunk| {
        for (k, g) in chunk.chunks_mut(c).enumerate() {
            let r = r0 + k;
            let t = targets[r];
            if ignored(t, &spec) {
                continue; // already zero
            }
            let (row, sh, ln_s) = (&x[r * c..(r + 1) * c], stats[2 * r], stats[2 * r + 1]);
            for (g, &v) in g.iter_mut().zip(row) {
                *g = scale * ((v - sh) - ln_s).fast_exp() - off;
            }
            g[t] = g[t] - on;
        }
    });
    gx
}

/// `max(x, 0) - x·y + ln(1 + e^{-|x|})`: never overflows.
#[inline(always)]
fn bce<E: Dtype>(x: E, y: E) -> E {
    x.max(E::zero()) - x * y + (-x.abs()).fast_exp().ln_1p()
}

/// Logistic function without overflow for large `|x|`.
#[inline(always)]
fn sigmoid<E: Dtype>(x: E) -> E {
    // e^-|x| never overflows; branch-free, so loops over it vectorise.
    let e = (-x.abs()).fast_exp();
    let s = E::one() / (E::one() + e);
    if x >= E::zero() {
        s
    } else {
        e * s
    }
}

/// Mean BCE-with-logits. Summed in fixed blocks of 4096 (pairwise inside),
/// then the block sums in order: deterministic for any thread count.
pub(super) fn bce_with_logits<E: Dtype>(x: &[E], y: &[E]) -> E {
    assert_eq!(
        x.len(),
        y.len(),
        "bce_with_logits: {} logits, {} targets",
        x.len(),
        y.len()
    );
    const BLOCK: usize = 4096;
    let nb = x.len().div_ceil(BLOCK);
    let mut parts = vec![E::zero(); nb];
    par_rows(&mut parts, 1, x.len(), |b0, chunk| {
        for (k, p) in chunk.iter_mut().enumerate() {
            let b = b0 + k;
            let r = b * BLOCK..((b + 1) * BLOCK).min(x.len());
            let (xs, ys) = (&x[r.clone()], &y[r]);
            // Pairwise over 8 lanes, as `row_sum`, on pairs.
            let mut acc = [E::zero(); 8];
            let mut ix = xs.chunks_exact(8);
            let mut iy = ys.chunks_exact(8);
            for (cx, cy) in (&mut ix).zip(&mut iy) {
                for j in 0..8 {
                    acc[j] = acc[j] + bce(cx[j], cy[j]);
                }
            }
            let rest = ix
                .remainder()
                .iter()
                .zip(iy.remainder())
                .fold(E::zero(), |a, (&u, &v)| a + bce(u, v));
            *p = ((acc[0] + acc[1]) + (acc[2] + acc[3]))
                + ((acc[4] + acc[5]) + (acc[6] + acc[7]))
                + rest;
        }
    });
    let total = parts.iter().fold(E::zero(), |a, &b| a + b);
    total / E::from_f64(x.len() as f64)
}

/// Gradients of the mean BCE-with-logits.
pub(super) fn bce_with_logits_backward<E: Dtype>(
    x: &[E],
    y: &[E],
    gy: E,
    want: (bool, bool),
) -> (Option<Vec<E>>, Option<Vec<E>>) {
    let s = gy / E::from_f64(x.len() as f64);
    let gx = want.0.then(|| map2(x, y, |u, v| s * (sigmoid(u) - v)));
    let gt = want.1.then(|| super::par::map1(x, |u| -s * u));
    (gx, gt)
}
