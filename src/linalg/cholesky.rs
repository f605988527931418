//! Cholesky factorisation `A = L·Lᵀ` of a symmetric positive definite matrix.

use alloc::vec::Vec;

use super::{check_system, LinalgError, Matrix};

/// Relative tolerance of the symmetry check: `|a_ij - a_ji|` may be at most
/// this times `max(|a_ij|, |a_ji|)`.
const SYMMETRY_RTOL: f64 = 1e-10;

/// Solves `A x = b` for a symmetric positive definite `A` by Cholesky
/// factorisation (`A = L·Lᵀ`, then two triangular solves), in `n³/3` flops,
/// about half of [`lu_solve`](super::lu_solve).
///
/// Errors:
/// - [`LinalgError::NotSquare`] / [`LinalgError::DimMismatch`] for the
///   wrong shapes;
/// - [`LinalgError::NotPositiveDefinite`] if `A` is not symmetric (to a
///   relative `1e-10`), or a pivot `a_jj - Σ_k l_jk²` is not clearly
///   positive (at most `n·ε·a_jj`), which includes singular positive
///   semi-definite matrices and matrices holding NaN or infinity.
///
/// ```
/// use typegrad::linalg::{cholesky_solve, LinalgError, Matrix};
///
/// // [[4, 2], [2, 3]] x = [2, 1]  =>  x = [0.5, 0]
/// let a = Matrix::new(2, 2, vec![4.0, 2.0, 2.0, 3.0])?;
/// let x = cholesky_solve(&a, &[2.0, 1.0])?;
/// assert!((x[0] - 0.5).abs() < 1e-15 && x[1].abs() < 1e-15);
///
/// // Symmetric but indefinite:
/// let b = Matrix::new(2, 2, vec![1.0, 2.0, 2.0, 1.0])?;
/// assert_eq!(cholesky_solve(&b, &[1.0, 1.0]), Err(LinalgError::NotPositiveDefinite));
/// # Ok::<(), LinalgError>(())
/// ```
pub fn cholesky_solve(a: &Matrix, b: &[f64]) -> Result<Vec<f64>, LinalgError> {
    let n = check_system(a, b, "cholesky_solve")?;
    let l = factor(a, n)?;
    // Forward substitution: L y = b.
    let mut x: Vec<f64> = b.to_vec();
    for i in 0..n {
        let row = &l[i * n..i * n + i];
        let s: f64 = row.iter().zip(&x[..i]).map(|(l, y)| l * y).sum();
        x[i] = (x[i] - s) / l[i * n + i];
    }
    // Back substitution: Lᵀ x = y (column i of L is row i of Lᵀ).
    for i in (0..n).rev() {
        let mut s = x[i];
        for k in i + 1..n {
            s -= l[k * n + i] * x[k];
        }
        x[i] = s / l[i * n + i];
    }
    Ok(x)
}

/// The lower-triangular factor `L` (row-major, `n x n`, upper part zero).
fn factor(a: &Matrix, n: usize) -> Result<Vec<f64>, LinalgError> {
    let data = a.as_slice();
    for i in 0..n {
        for j in 0..i {
            let (u, v) = (data[i * n + j], data[j * n + i]);
            let diff = (u - v).abs();
            // NaN (from NaN entries, or inf - inf) fails the check too.
            if diff.is_nan() || diff > SYMMETRY_RTOL * u.abs().max(v.abs()) {
                return Err(LinalgError::NotPositiveDefinite);
            }
        }
    }
    let eps_n = f64::EPSILON * n as f64;
    let mut l = alloc::vec![0.0; n * n];
    for j in 0..n {
        // Row j of L up to the diagonal, by the Cholesky–Banachiewicz order.
        for i in 0..j {
            let s: f64 = l[j * n..j * n + i]
                .iter()
                .zip(&l[i * n..i * n + i])
                .map(|(p, q)| p * q)
                .sum();
            l[j * n + i] = (data[j * n + i] - s) / l[i * n + i];
        }
        let ajj = data[j * n + j];
        let sq: f64 = l[j * n..j * n + j].iter().map(|v| v * v).sum();
        let d = ajj - sq;
        // The pivot must be positive beyond the rounding error of the
        // subtraction (which is about n·ε·a_jj); NaN fails too.
        if d.is_nan() || d <= eps_n * ajj {
            return Err(LinalgError::NotPositiveDefinite);
        }
        l[j * n + j] = libm::sqrt(d);
    }
    Ok(l)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linalg::tests::{assert_close, random_matrix, random_vec, rel_residual, spd};
    use alloc::vec;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    #[test]
    fn factor_by_hand() {
        // [[4, 12, -16], [12, 37, -43], [-16, -43, 98]] = L Lᵀ with
        // L = [[2, 0, 0], [6, 1, 0], [-8, 5, 3]].
        let a = Matrix::new(
            3,
            3,
            vec![4.0, 12.0, -16.0, 12.0, 37.0, -43.0, -16.0, -43.0, 98.0],
        )
        .unwrap();
        let l = factor(&a, 3).unwrap();
        assert_close(&l, &[2.0, 0.0, 0.0, 6.0, 1.0, 0.0, -8.0, 5.0, 3.0], 1e-15);
        // x = [1, 2, 3]  =>  b = A x.
        let x = cholesky_solve(&a, &[-20.0, -43.0, 192.0]).unwrap();
        assert_close(&x, &[1.0, 2.0, 3.0], 1e-12);
    }

    #[test]
    fn one_by_one_and_empty() {
        let a = Matrix::new(1, 1, vec![4.0]).unwrap();
        assert_eq!(cholesky_solve(&a, &[2.0]).unwrap(), vec![0.5]);
        assert_eq!(
            cholesky_solve(&Matrix::zeros(0, 0), &[]).unwrap(),
            Vec::<f64>::new()
        );
    }

    #[test]
    fn random_spd_residuals() {
        let mut rng = StdRng::seed_from_u64(1);
        for n in [2, 5, 10, 30, 60] {
            let a = spd(&random_matrix(&mut rng, n, n));
            let b = random_vec(&mut rng, n);
            let x = cholesky_solve(&a, &b).unwrap();
            let r = rel_residual(&a, &x, &b);
            assert!(r < 1e-13, "n = {n}: relative residual {r}");
        }
    }

    #[test]
    fn rejects_non_spd() {
        let e = Err(LinalgError::NotPositiveDefinite);
        // Indefinite.
        let a = Matrix::new(2, 2, vec![1.0, 2.0, 2.0, 1.0]).unwrap();
        assert_eq!(cholesky_solve(&a, &[1.0, 1.0]), e);
        // Negative definite.
        assert_eq!(
            cholesky_solve(&Matrix::new(1, 1, vec![-1.0]).unwrap(), &[1.0]),
            e
        );
        // Singular positive semi-definite: [[1, 1], [1, 1]].
        let a = Matrix::new(2, 2, vec![1.0; 4]).unwrap();
        assert_eq!(cholesky_solve(&a, &[1.0, 1.0]), e);
        // Zero matrix.
        assert_eq!(cholesky_solve(&Matrix::zeros(3, 3), &[0.0; 3]), e);
        // Not symmetric (though its symmetric part is SPD).
        let a = Matrix::new(2, 2, vec![2.0, 1.0, 0.0, 2.0]).unwrap();
        assert_eq!(cholesky_solve(&a, &[1.0, 1.0]), e);
        // NaN and infinity.
        let a = Matrix::new(2, 2, vec![1.0, f64::NAN, f64::NAN, 1.0]).unwrap();
        assert_eq!(cholesky_solve(&a, &[1.0, 1.0]), e);
        let a = Matrix::new(2, 2, vec![f64::INFINITY, 0.0, 0.0, 1.0]).unwrap();
        assert_eq!(cholesky_solve(&a, &[1.0, 1.0]), e);
        // Numerically singular: rank-1 Gram matrix v vᵀ of a random v.
        let v = [0.3, -1.7, 2.2, 0.9];
        let a = Matrix::from_fn(4, 4, |r, c| v[r] * v[c]);
        assert_eq!(cholesky_solve(&a, &[1.0; 4]), e);
    }

    #[test]
    fn shape_errors() {
        assert_eq!(
            cholesky_solve(&Matrix::zeros(2, 3), &[0.0, 0.0]),
            Err(LinalgError::NotSquare {
                op: "cholesky_solve",
                rows: 2,
                cols: 3
            })
        );
        assert!(matches!(
            cholesky_solve(&Matrix::identity(3), &[0.0, 0.0]),
            Err(LinalgError::DimMismatch {
                got: 2,
                expected: 3,
                ..
            })
        ));
    }
}
