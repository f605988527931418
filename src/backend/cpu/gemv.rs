//! Matrix-vector products: `C = op(A)·op(B)` when `op(A)` has only a few
//! rows, computed row by row straight from the operands. The `no_std`
//! matmul path uses them to avoid packing scratch; with `std` they replace
//! the gemm crate for such products on one thread (its packing and
//! dispatch cost more than a one-token Linear itself).
//!
//! `matrixmultiply` packs `op(B)` into a scratch buffer before every
//! product (up to 256 x 1024 values: a `Linear<784, 256>` applied to one
//! sample allocates 256 KiB of scratch for a 784 x 256 weight), which is
//! the right trade for a matrix product and the wrong one for a single row
//! on a microcontroller: there the scratch would be the largest allocation
//! of an inference. Reading `B` in place needs no scratch at all, and with
//! a handful of rows reading it once per row costs no more than packing.

use super::matmul::{CpuFloat, Layout};
use super::simd::{lane_dot, wide_fn};

/// At most this many rows of `op(A)` go through [`gemv`]; more go through
/// `matrixmultiply`, whose packing then pays for itself.
pub(crate) const GEMV_MAX_ROWS: usize = 4;

/// `C = op(A)·op(B)`, or `C += …` when `accumulate`, one row of `C` at a
/// time, for the non-negative strides `matmul` builds: `op(A)` rows
/// `i·rsa + p·csa`, `op(B)` elements `p·rsb + j·csb` with one of `rsb`,
/// `csb` equal to 1, `C` rows `i·rsc` (column stride 1).
///
/// Compiled for the CPU's widest vectors ([`wide_fn!`]): with `std` it
/// also serves one-row products in place of the gemm crate, whose packing
/// and dispatch cost more than the product itself there (a KV-cache
/// decoding step is a chain of such products).
///
/// # Panics
/// If a slice is too short for the layout (never, from `matmul`).
pub(crate) fn gemv<E: CpuFloat>(l: Layout, a: &[E], b: &[E], c: &mut [E], accumulate: bool) {
    // One row, inside a decoding team: each core takes the same half of the
    // output columns every time, so its half of the weights stays in its L2
    // (see `team`).
    #[cfg(feature = "std")]
    if l.m == 1 && l.n >= 2 * SPLIT_MIN_COLS && l.n * l.k >= SPLIT_MIN_WORK {
        let n0 = l.n / 2 / SPLIT_MIN_COLS * SPLIT_MIN_COLS;
        let (c0, c1) = c[..l.n].split_at_mut(n0);
        let (l0, l1) = (Layout { n: n0, ..l }, Layout { n: l.n - n0, ..l });
        // Column j of op(B) starts at j·csb (row-major B: csb = 1).
        let b1 = &b[n0 * l.csb as usize..];
        let mine = || gemv_wide(l0, a, b, c0, accumulate);
        let theirs = || gemv_wide(l1, a, b1, c1, accumulate);
        if super::team::run_split(mine, theirs) {
            return;
        }
    }
    gemv_wide(l, a, b, c, accumulate)
}

/// A one-row product is split over a decoding team only from this many
/// multiply-adds (below, the hand-off costs about what the half saves)…
#[cfg(feature = "std")]
const SPLIT_MIN_WORK: usize = 1 << 13;
/// …and in halves of a multiple of this many columns (whole vectors).
#[cfg(feature = "std")]
const SPLIT_MIN_COLS: usize = 16;

wide_fn! {
    /// [`gemv`]'s body.
    fn gemv_wide<E: CpuFloat>(l: Layout, a: &[E], b: &[E], c: &mut [E], accumulate: bool) -> () {
    let (rsa, csa) = (l.rsa as usize, l.csa as usize);
    let (rsb, csb, rsc) = (l.rsb as usize, l.csb as usize, l.rsc as usize);
    for i in 0..l.m {
        let a_row = &a[i * rsa..];
        let c_row = &mut c[i * rsc..i * rsc + l.n];
        if csb != 1 && csa == 1 && dots_fast(&a_row[..l.k], b, csb, c_row, accumulate) {
            // Done by the f32 AVX-512 kernel.
        } else if csb != 1 {
            // op(B) column j is contiguous (B stored n x k): a dot product
            // per element of the row.
            for (j, cj) in c_row.iter_mut().enumerate() {
                let col = &b[j * csb..j * csb + l.k];
                let s = if csa == 1 {
                    lane_dot(&a_row[..l.k], col, E::ZERO, |x, y, s| s + x * y)
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
}

/// `c[j] (+)= x · b[j·csb .. j·csb + len(x)]` for every `j` through the
/// f32 AVX-512 kernel (four rows of `B` per pass, sharing the loads of
/// `x`); `false` (nothing done) where it does not apply: another element
/// type, or a CPU without AVX-512. A one-token Linear is this loop.
#[inline(always)]
fn dots_fast<E: CpuFloat>(x: &[E], b: &[E], csb: usize, c: &mut [E], accumulate: bool) -> bool {
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    if core::any::TypeId::of::<E>() == core::any::TypeId::of::<f32>()
        && std::is_x86_feature_detected!("avx512f")
    {
        let k = x.len();
        let n = c.len();
        assert!(n == 0 || (n - 1) * csb + k <= b.len(), "gemv: B too short");
        // SAFETY: `E` is `f32` (same TypeId): the three slices are valid
        // `f32` slices of the same lengths; `c` is reinterpreted mutably
        // and not used through its original name meanwhile.
        let (xf, bf, cf) = unsafe {
            (
                core::slice::from_raw_parts(x.as_ptr() as *const f32, k),
                core::slice::from_raw_parts(b.as_ptr() as *const f32, b.len()),
                core::slice::from_raw_parts_mut(c.as_mut_ptr() as *mut f32, n),
            )
        };
        // SAFETY: the CPU supports AVX-512F (checked above).
        unsafe { x86::dots_f32_avx512(xf, bf, csb, cf, accumulate) };
        return true;
    }
    let _ = (x, b, csb, c, accumulate);
    false
}

#[cfg(all(feature = "std", target_arch = "x86_64"))]
mod x86 {
    use core::arch::x86_64::*;

    /// The 16-lane sums of four vectors, as four floats: each halved to 8
    /// lanes, then pairwise adds across the four (about 12 instructions,
    /// where four separate reductions take about 35: a row of 128 inputs
    /// is only 8 multiply-adds).
    #[target_feature(enable = "avx512f")]
    fn sums4(s: &[__m512; 4]) -> [f32; 4] {
        let half = |v: __m512| {
            let hi = _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(v)));
            _mm256_add_ps(_mm512_castps512_ps256(v), hi)
        };
        let y = s.map(half);
        // Lanes 0-3: rows 0-3 (from the low 128 bits), 4-7: the high ones.
        let q = _mm256_hadd_ps(_mm256_hadd_ps(y[0], y[1]), _mm256_hadd_ps(y[2], y[3]));
        let r = _mm_add_ps(_mm256_castps256_ps128(q), _mm256_extractf128_ps::<1>(q));
        let mut out = [0.0f32; 4];
        // SAFETY: `out` holds exactly the 4 floats the unaligned store writes.
        unsafe { _mm_storeu_ps(out.as_mut_ptr(), r) };
        out
    }

    /// `c[j] (+)= Σ_p x[p]·b[j·csb + p]`, four `j` at a time.
    #[target_feature(enable = "avx512f")]
    pub(super) fn dots_f32_avx512(x: &[f32], b: &[f32], csb: usize, c: &mut [f32], acc: bool) {
        let k = x.len();
        let k16 = k - k % 16;
        let row = |j: usize| &b[j * csb..j * csb + k];
        let tail = |r: &[f32]| -> f32 { x[k16..].iter().zip(&r[k16..]).map(|(a, b)| a * b).sum() };
        let mut j = 0;
        while j + 4 <= c.len() {
            let rows = [row(j), row(j + 1), row(j + 2), row(j + 3)];
            let mut s = [_mm512_setzero_ps(); 4];
            let mut p = 0;
            while p < k16 {
                // SAFETY: p + 16 <= k16 <= k, the length of `x` and of every
                // row: the unaligned 16-lane loads stay inside them.
                unsafe {
                    let xv = _mm512_loadu_ps(x.as_ptr().add(p));
                    for (sr, r) in s.iter_mut().zip(&rows) {
                        *sr = _mm512_fmadd_ps(xv, _mm512_loadu_ps(r.as_ptr().add(p)), *sr);
                    }
                }
                p += 16;
            }
            for (q, (v, r)) in sums4(&s).into_iter().zip(&rows).enumerate() {
                let v = v + tail(r);
                c[j + q] = if acc { c[j + q] + v } else { v };
            }
            j += 4;
        }
        while j < c.len() {
            let r = row(j);
            let mut sv = _mm512_setzero_ps();
            let mut p = 0;
            while p < k16 {
                // SAFETY: as above.
                unsafe {
                    sv = _mm512_fmadd_ps(
                        _mm512_loadu_ps(x.as_ptr().add(p)),
                        _mm512_loadu_ps(r.as_ptr().add(p)),
                        sv,
                    );
                }
                p += 16;
            }
            let v = _mm512_reduce_add_ps(sv) + tail(r);
            c[j] = if acc { c[j] + v } else { v };
            j += 1;
        }
    }
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;

    /// A one-row product split over a decoding team gives exactly the
    /// unsplit result (each output column is computed by one thread, the
    /// same way), for `B` stored either way, sizes around the split
    /// thresholds, and accumulation.
    #[test]
    fn split_over_a_team_equals_one_thread() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        for (k, n) in [
            (128, 384),
            (128, 96),
            (512, 128),
            (100, 67),
            (64, 33),
            (8, 40),
        ] {
            for transposed in [false, true] {
                for accumulate in [false, true] {
                    let a: Vec<f32> = (0..k).map(|i| ((i * 7) % 13) as f32 - 6.0).collect();
                    let b: Vec<f32> = (0..k * n)
                        .map(|i| ((i * 5) % 11) as f32 * 0.25 - 1.0)
                        .collect();
                    // B stored n x k (a Linear weight: csb = k) or k x n.
                    let (rsb, csb) = if transposed {
                        (1, k as isize)
                    } else {
                        (n as isize, 1)
                    };
                    let l = Layout {
                        m: 1,
                        k,
                        n,
                        rsa: k as isize,
                        csa: 1,
                        rsb,
                        csb,
                        rsc: n as isize,
                    };
                    let c0: Vec<f32> = (0..n).map(|j| j as f32).collect();
                    let mut alone = c0.clone();
                    gemv(l, &a, &b, &mut alone, accumulate);
                    let mut split = c0.clone();
                    let used = pool.install(|| {
                        super::super::team::with_team(|| {
                            gemv(l, &a, &b, &mut split, accumulate);
                            n * k >= SPLIT_MIN_WORK && n >= 2 * SPLIT_MIN_COLS
                        })
                    });
                    assert_eq!(
                        alone, split,
                        "k {k} n {n} transposed {transposed} acc {accumulate} split {used}"
                    );
                    // And both against a plain loop.
                    for j in 0..n {
                        let s: f32 = (0..k)
                            .map(|p| a[p] * b[p * rsb as usize + j * csb as usize])
                            .sum();
                        let want = if accumulate { c0[j] + s } else { s };
                        assert!(
                            (alone[j] - want).abs() <= 1e-3 * want.abs().max(1.0),
                            "column {j}"
                        );
                    }
                }
            }
        }
    }
}
