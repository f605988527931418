//! Matrix-vector products for the `no_std` matmul path: `C = op(A)·op(B)`
//! when `op(A)` has only a few rows, computed row by row straight from the
//! operands.
//!
//! `matrixmultiply` packs `op(B)` into a scratch buffer before every
//! product (up to 256 x 1024 values: a `Linear<784, 256>` applied to one
//! sample allocates 256 KiB of scratch for a 784 x 256 weight), which is
//! the right trade for a matrix product and the wrong one for a single row
//! on a microcontroller: there the scratch would be the largest allocation
//! of an inference. Reading `B` in place needs no scratch at all, and with
//! a handful of rows reading it once per row costs no more than packing.

use super::matmul::{CpuFloat, Layout};

/// At most this many rows of `op(A)` go through [`gemv`]; more go through
/// `matrixmultiply`, whose packing then pays for itself.
pub(crate) const GEMV_MAX_ROWS: usize = 4;

/// `C = op(A)·op(B)`, or `C += …` when `accumulate`, one row of `C` at a
/// time, for the non-negative strides `matmul` builds: `op(A)` rows
/// `i·rsa + p·csa`, `op(B)` elements `p·rsb + j·csb` with one of `rsb`,
/// `csb` equal to 1, `C` rows `i·rsc` (column stride 1).
///
/// # Panics
/// If a slice is too short for the layout (never, from `matmul`).
pub(crate) fn gemv<E: CpuFloat>(l: Layout, a: &[E], b: &[E], c: &mut [E], accumulate: bool) {
    let (rsa, csa) = (l.rsa as usize, l.csa as usize);
    let (rsb, csb, rsc) = (l.rsb as usize, l.csb as usize, l.rsc as usize);
    for i in 0..l.m {
        let a_row = &a[i * rsa..];
        let c_row = &mut c[i * rsc..i * rsc + l.n];
        if csb != 1 {
            // op(B) column j is contiguous (B stored n x k): a dot product
            // per element of the row.
            for (j, cj) in c_row.iter_mut().enumerate() {
                let col = &b[j * csb..j * csb + l.k];
                let s = if csa == 1 {
                    dot(&a_row[..l.k], col)
                } else {
                    a_row
                        .iter()
                        .step_by(csa)
                        .zip(col)
                        .fold(E::ZERO, |s, (&x, &y)| s + x * y)
                };
                *cj = if accumulate { *cj + s } else { s };
            }
        } else {
            // op(B) row p is contiguous: accumulate `a[p] · row p`.
            if !accumulate {
                c_row.fill(E::ZERO);
            }
            for (p, &ap) in a_row.iter().step_by(csa).take(l.k).enumerate() {
                let b_row = &b[p * rsb..p * rsb + l.n];
                for (cj, &bj) in c_row.iter_mut().zip(b_row) {
                    *cj = *cj + ap * bj;
                }
            }
        }
    }
}

/// `Σ x[p]·y[p]` with four partial sums (independent additions keep a
/// pipelined FPU busy).
fn dot<E: CpuFloat>(x: &[E], y: &[E]) -> E {
    let mut acc = [E::ZERO; 4];
    let (xs, ys) = (x.chunks_exact(4), y.chunks_exact(4));
    let (xr, yr) = (xs.remainder(), ys.remainder());
    for (xc, yc) in xs.zip(ys) {
        for q in 0..4 {
            acc[q] = acc[q] + xc[q] * yc[q];
        }
    }
    let mut s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for (&xv, &yv) in xr.iter().zip(yr) {
        s = s + xv * yv;
    }
    s
}
