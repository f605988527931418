//! LU factorisation with partial pivoting, `P·A = L·U`.

use alloc::vec::Vec;

use super::{check_system, LinalgError, Matrix};

/// Solves `A x = b` for a square non-singular `A` by Gaussian elimination
/// with partial (row) pivoting: `P·A = L·U`, then two triangular solves,
/// in `2n³/3` flops.
///
/// Errors:
/// - [`LinalgError::NotSquare`] / [`LinalgError::DimMismatch`] for the
///   wrong shapes;
/// - [`LinalgError::Singular`] if a pivot is at most `n·ε·max|a_ij|` in
///   absolute value (singular to working precision), or `A` holds NaN or
///   infinity.
///
/// ```
/// use typegrad::linalg::{lu_solve, LinalgError, Matrix};
///
/// // A zero in the top-left corner needs a row swap:
/// // [[0, 1], [2, 3]] x = [1, 8]  =>  x = [2.5, 1]
/// let a = Matrix::new(2, 2, vec![0.0, 1.0, 2.0, 3.0])?;
/// let x = lu_solve(&a, &[1.0, 8.0])?;
/// assert!((x[0] - 2.5).abs() < 1e-15 && (x[1] - 1.0).abs() < 1e-15);
///
/// let singular = Matrix::new(2, 2, vec![1.0, 2.0, 2.0, 4.0])?;
/// assert_eq!(lu_solve(&singular, &[1.0, 1.0]), Err(LinalgError::Singular));
/// # Ok::<(), LinalgError>(())
/// ```
pub fn lu_solve(a: &Matrix, b: &[f64]) -> Result<Vec<f64>, LinalgError> {
    let n = check_system(a, b, "lu_solve")?;
    let a_max = a.max_abs();
    if !a_max.is_finite() {
        return Err(LinalgError::Singular);
    }
    let tol = f64::EPSILON * n as f64 * a_max;
    let mut m: Vec<f64> = a.as_slice().to_vec();
    let mut x: Vec<f64> = b.to_vec();
    for k in 0..n {
        // Partial pivoting: bring the largest |m[i][k]|, i >= k, to row k.
        let mut p = k;
        let mut best = m[k * n + k].abs();
        for i in k + 1..n {
            let v = m[i * n + k].abs();
            if v > best {
                best = v;
                p = i;
            }
        }
        // Also rejects a zero matrix (tol = 0, best = 0).
        if best <= tol {
            return Err(LinalgError::Singular);
        }
        if p != k {
            for c in 0..n {
                m.swap(k * n + c, p * n + c);
            }
            x.swap(k, p);
        }
        let pivot = m[k * n + k];
        let (top, bottom) = m.split_at_mut((k + 1) * n);
        let pivot_row = &top[k * n + k + 1..k * n + n];
        for (off, row) in bottom.chunks_exact_mut(n).enumerate() {
            let f = row[k] / pivot;
            if f == 0.0 {
                continue;
            }
            row[k] = f; // the multiplier, i.e. L[i][k]
            for (r, &u) in row[k + 1..].iter_mut().zip(pivot_row) {
                *r -= f * u;
            }
            // Applying the elimination to the right-hand side as we go
            // is the forward substitution L y = P b.
            x[k + 1 + off] -= f * x[k];
        }
    }
    // Back substitution: U x = y.
    for i in (0..n).rev() {
        let row = &m[i * n..(i + 1) * n];
        let s: f64 = row[i + 1..]
            .iter()
            .zip(&x[i + 1..])
            .map(|(u, v)| u * v)
            .sum();
        x[i] = (x[i] - s) / row[i];
    }
    Ok(x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linalg::tests::{
        assert_close, dominant_permuted, random_matrix, random_vec, rel_residual,
    };
    use alloc::vec;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    #[test]
    fn by_hand_3x3() {
        // [[2, 1, -1], [-3, -1, 2], [-2, 1, 2]] x = [8, -11, -3]
        // has the solution x = [2, 3, -1].
        let a = Matrix::new(3, 3, vec![2.0, 1.0, -1.0, -3.0, -1.0, 2.0, -2.0, 1.0, 2.0]).unwrap();
        let x = lu_solve(&a, &[8.0, -11.0, -3.0]).unwrap();
        assert_close(&x, &[2.0, 3.0, -1.0], 1e-14);
    }

    #[test]
    fn needs_pivoting() {
        // Without pivoting the first step divides by zero.
        let a = Matrix::new(3, 3, vec![0.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0]).unwrap();
        assert_eq!(lu_solve(&a, &[1.0, 2.0, 3.0]).unwrap(), vec![3.0, 2.0, 1.0]);
        // Without pivoting a tiny pivot would lose all accuracy:
        // [[1e-20, 1], [1, 1]] x = [1, 2]  =>  x ≈ [1, 1].
        let a = Matrix::new(2, 2, vec![1e-20, 1.0, 1.0, 1.0]).unwrap();
        let x = lu_solve(&a, &[1.0, 2.0]).unwrap();
        assert_close(&x, &[1.0, 1.0], 1e-15);
    }

    #[test]
    fn one_by_one_and_empty() {
        let a = Matrix::new(1, 1, vec![-4.0]).unwrap();
        assert_eq!(lu_solve(&a, &[2.0]).unwrap(), vec![-0.5]);
        assert_eq!(
            lu_solve(&Matrix::zeros(0, 0), &[]).unwrap(),
            Vec::<f64>::new()
        );
    }

    #[test]
    fn random_residuals() {
        let mut rng = StdRng::seed_from_u64(2);
        for n in [2, 5, 10, 30, 60] {
            // Plain random matrices (not dominant): conditioning is typical
            // rather than guaranteed, but the backward error stays ~n·ε.
            let a = random_matrix(&mut rng, n, n);
            let b = random_vec(&mut rng, n);
            let x = lu_solve(&a, &b).unwrap();
            let r = rel_residual(&a, &x, &b);
            assert!(r < 1e-13, "n = {n}: relative residual {r}");
            // And a well-conditioned one, checked against a known solution.
            let perm: Vec<usize> = (0..n).rev().collect();
            let a = dominant_permuted(&random_matrix(&mut rng, n, n), &perm);
            let want = random_vec(&mut rng, n);
            let b = a.matvec(&want).unwrap();
            assert_close(&lu_solve(&a, &b).unwrap(), &want, 1e-12);
        }
    }

    #[test]
    fn singular_errors() {
        let e = Err(LinalgError::Singular);
        assert_eq!(lu_solve(&Matrix::zeros(2, 2), &[1.0, 1.0]), e);
        // Exactly singular: a repeated row.
        let a = Matrix::new(2, 2, vec![1.0, 2.0, 1.0, 2.0]).unwrap();
        assert_eq!(lu_solve(&a, &[1.0, 1.0]), e);
        // Singular in exact arithmetic but not exactly in floating point:
        // rows in arithmetic progression.
        let a = Matrix::new(3, 3, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]).unwrap();
        assert_eq!(lu_solve(&a, &[1.0, 1.0, 1.0]), e);
        let a = Matrix::from_fn(5, 5, |r, c| 0.1 * (r as f64) + 0.7 * (c as f64));
        assert_eq!(lu_solve(&a, &[1.0; 5]), e);
        // Non-finite entries.
        let a = Matrix::new(2, 2, vec![1.0, 0.0, 0.0, f64::NAN]).unwrap();
        assert_eq!(lu_solve(&a, &[1.0, 1.0]), e);
        let a = Matrix::new(2, 2, vec![1.0, 0.0, 0.0, f64::NEG_INFINITY]).unwrap();
        assert_eq!(lu_solve(&a, &[1.0, 1.0]), e);
    }

    #[test]
    fn shape_errors() {
        assert_eq!(
            lu_solve(&Matrix::zeros(3, 2), &[0.0; 3]),
            Err(LinalgError::NotSquare {
                op: "lu_solve",
                rows: 3,
                cols: 2
            })
        );
        assert!(matches!(
            lu_solve(&Matrix::identity(2), &[0.0; 3]),
            Err(LinalgError::DimMismatch {
                got: 3,
                expected: 2,
                ..
            })
        ));
    }
}
