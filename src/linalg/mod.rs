//! A small dense `f64` linear solver (book §1.2: fitting a linear combination
//! of basis functions "amounts to solving a linear system").
//!
//! Everything here works without `std` (only `alloc` and `libm`):
//!
//! - [`Matrix`]: a row-major dense matrix with the few operations the solvers
//!   and their tests need.
//! - [`cholesky_solve`]: `A x = b` for symmetric positive definite `A`.
//! - [`lu_solve`]: `A x = b` for any non-singular square `A`
//!   (LU with partial pivoting).
//! - [`least_squares`]: `min_w |X w - y|² + ridge·|w|²` through the normal
//!   equations `(XᵀX + ridge·I) w = Xᵀy`.
//!
//! These are exact-arithmetic direct solvers meant for the small systems of
//! closed-form fits and for checking gradient descent against; they make no
//! attempt at blocking or parallelism.
//!
//! ```
//! use typegrad::linalg::{least_squares, Matrix};
//!
//! // Fit y = 1 + 2x through three points.
//! let x = Matrix::new(3, 2, vec![1.0, 0.0, 1.0, 1.0, 1.0, 2.0])?;
//! let w = least_squares(&x, &[1.0, 3.0, 5.0], 0.0)?;
//! assert!((w[0] - 1.0).abs() < 1e-12 && (w[1] - 2.0).abs() < 1e-12);
//! # Ok::<(), typegrad::linalg::LinalgError>(())
//! ```

use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

mod cholesky;
mod lu;

pub use cholesky::cholesky_solve;
pub use lu::lu_solve;

/// What went wrong in a [`linalg`](self) routine.
///
/// ```
/// use typegrad::linalg::{lu_solve, LinalgError, Matrix};
///
/// let a = Matrix::new(2, 2, vec![1.0, 2.0, 2.0, 4.0])?;
/// assert_eq!(lu_solve(&a, &[1.0, 2.0]), Err(LinalgError::Singular));
/// assert_eq!(
///     LinalgError::Singular.to_string(),
///     "linalg: the matrix is singular (to working precision)"
/// );
/// # Ok::<(), LinalgError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinalgError {
    /// A square matrix was required.
    NotSquare {
        /// The operation, e.g. `"lu_solve"`.
        op: &'static str,
        /// Rows of the matrix given.
        rows: usize,
        /// Columns of the matrix given.
        cols: usize,
    },
    /// Two sizes that must agree do not.
    DimMismatch {
        /// The operation, e.g. `"matmul"`.
        op: &'static str,
        /// Which operands or roles the sizes come from.
        what: &'static str,
        /// The size found.
        got: usize,
        /// The size required.
        expected: usize,
    },
    /// The matrix is singular to working precision (or holds NaN/infinity).
    Singular,
    /// The matrix is not symmetric positive definite to working precision
    /// (or holds NaN/infinity).
    NotPositiveDefinite,
}

impl fmt::Display for LinalgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinalgError::NotSquare { op, rows, cols } => {
                write!(f, "{op}: expected a square matrix, got {rows}x{cols}")
            }
            LinalgError::DimMismatch {
                op,
                what,
                got,
                expected,
            } => write!(
                f,
                "{op}: dimension mismatch ({what}): got {got}, expected {expected}"
            ),
            LinalgError::Singular => {
                f.write_str("linalg: the matrix is singular (to working precision)")
            }
            LinalgError::NotPositiveDefinite => f.write_str(
                "linalg: the matrix is not symmetric positive definite (to working precision)",
            ),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for LinalgError {}

/// A dense row-major `f64` matrix: entry `(r, c)` is `data[r * cols + c]`.
///
/// ```
/// use typegrad::linalg::Matrix;
///
/// let a = Matrix::new(2, 3, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0])?;
/// assert_eq!((a.rows(), a.cols()), (2, 3));
/// assert_eq!(a.get(1, 0), 4.0);
/// assert_eq!(a.transpose().get(0, 1), 4.0);
/// # Ok::<(), typegrad::linalg::LinalgError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Matrix {
    rows: usize,
    cols: usize,
    data: Vec<f64>,
}

impl Matrix {
    /// A `rows x cols` matrix from row-major `data`.
    ///
    /// Fails with [`LinalgError::DimMismatch`] unless
    /// `data.len() == rows * cols`.
    ///
    /// ```
    /// use typegrad::linalg::{LinalgError, Matrix};
    ///
    /// let a = Matrix::new(2, 2, vec![1.0, 2.0, 3.0, 4.0])?;
    /// assert_eq!(a.get(0, 1), 2.0);
    /// assert!(Matrix::new(2, 2, vec![1.0; 3]).is_err());
    /// # Ok::<(), LinalgError>(())
    /// ```
    pub fn new(rows: usize, cols: usize, data: Vec<f64>) -> Result<Self, LinalgError> {
        if rows.checked_mul(cols) != Some(data.len()) {
            return Err(LinalgError::DimMismatch {
                op: "Matrix::new",
                what: "data length vs rows * cols",
                got: data.len(),
                expected: rows.saturating_mul(cols),
            });
        }
        Ok(Matrix { rows, cols, data })
    }

    /// The `rows x cols` zero matrix.
    ///
    /// ```
    /// use typegrad::linalg::Matrix;
    ///
    /// let z = Matrix::zeros(2, 3);
    /// assert!(z.as_slice().iter().all(|&v| v == 0.0));
    /// ```
    pub fn zeros(rows: usize, cols: usize) -> Self {
        let len = rows
            .checked_mul(cols)
            .expect("Matrix::zeros: rows * cols overflows usize");
        Matrix {
            rows,
            cols,
            data: vec![0.0; len],
        }
    }

    /// The `n x n` identity matrix.
    ///
    /// ```
    /// use typegrad::linalg::Matrix;
    ///
    /// let i = Matrix::identity(3);
    /// assert_eq!(i.get(1, 1), 1.0);
    /// assert_eq!(i.get(1, 2), 0.0);
    /// ```
    pub fn identity(n: usize) -> Self {
        let mut m = Matrix::zeros(n, n);
        for i in 0..n {
            m.data[i * n + i] = 1.0;
        }
        m
    }

    /// A `rows x cols` matrix whose entry `(r, c)` is `f(r, c)`.
    ///
    /// ```
    /// use typegrad::linalg::Matrix;
    ///
    /// let hilbert = Matrix::from_fn(3, 3, |r, c| 1.0 / (r + c + 1) as f64);
    /// assert_eq!(hilbert.get(2, 2), 0.2);
    /// ```
    pub fn from_fn(rows: usize, cols: usize, mut f: impl FnMut(usize, usize) -> f64) -> Self {
        let mut m = Matrix::zeros(rows, cols);
        for r in 0..rows {
            for c in 0..cols {
                m.data[r * cols + c] = f(r, c);
            }
        }
        m
    }

    /// Number of rows.
    ///
    /// ```
    /// assert_eq!(typegrad::linalg::Matrix::zeros(2, 5).rows(), 2);
    /// ```
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    ///
    /// ```
    /// assert_eq!(typegrad::linalg::Matrix::zeros(2, 5).cols(), 5);
    /// ```
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The entries in row-major order.
    ///
    /// ```
    /// use typegrad::linalg::Matrix;
    ///
    /// let a = Matrix::new(2, 2, vec![1.0, 2.0, 3.0, 4.0])?;
    /// assert_eq!(a.as_slice(), &[1.0, 2.0, 3.0, 4.0]);
    /// # Ok::<(), typegrad::linalg::LinalgError>(())
    /// ```
    pub fn as_slice(&self) -> &[f64] {
        &self.data
    }

    /// Consumes the matrix, returning its row-major entries.
    ///
    /// ```
    /// use typegrad::linalg::Matrix;
    ///
    /// assert_eq!(Matrix::identity(2).into_vec(), vec![1.0, 0.0, 0.0, 1.0]);
    /// ```
    pub fn into_vec(self) -> Vec<f64> {
        self.data
    }

    /// Entry `(r, c)`.
    ///
    /// # Panics
    /// If `r >= rows` or `c >= cols`.
    ///
    /// ```
    /// use typegrad::linalg::Matrix;
    ///
    /// let a = Matrix::new(1, 2, vec![5.0, 6.0])?;
    /// assert_eq!(a.get(0, 1), 6.0);
    /// # Ok::<(), typegrad::linalg::LinalgError>(())
    /// ```
    #[inline]
    pub fn get(&self, r: usize, c: usize) -> f64 {
        self.check_index(r, c);
        self.data[r * self.cols + c]
    }

    /// Sets entry `(r, c)` to `v`.
    ///
    /// # Panics
    /// If `r >= rows` or `c >= cols`.
    ///
    /// ```
    /// use typegrad::linalg::Matrix;
    ///
    /// let mut a = Matrix::zeros(2, 2);
    /// a.set(1, 0, 7.0);
    /// assert_eq!(a.as_slice(), &[0.0, 0.0, 7.0, 0.0]);
    /// ```
    #[inline]
    pub fn set(&mut self, r: usize, c: usize, v: f64) {
        self.check_index(r, c);
        self.data[r * self.cols + c] = v;
    }

    #[inline]
    fn check_index(&self, r: usize, c: usize) {
        assert!(
            r < self.rows && c < self.cols,
            "Matrix index ({r}, {c}) out of range for a {}x{} matrix",
            self.rows,
            self.cols
        );
    }

    /// The matrix product `self · rhs`.
    ///
    /// Fails with [`LinalgError::DimMismatch`] unless
    /// `self.cols() == rhs.rows()`.
    ///
    /// ```
    /// use typegrad::linalg::Matrix;
    ///
    /// let a = Matrix::new(2, 2, vec![1.0, 2.0, 3.0, 4.0])?;
    /// let b = Matrix::new(2, 1, vec![1.0, 1.0])?;
    /// assert_eq!(a.matmul(&b)?.as_slice(), &[3.0, 7.0]);
    /// assert!(b.matmul(&b).is_err());
    /// # Ok::<(), typegrad::linalg::LinalgError>(())
    /// ```
    pub fn matmul(&self, rhs: &Matrix) -> Result<Matrix, LinalgError> {
        if self.cols != rhs.rows {
            return Err(LinalgError::DimMismatch {
                op: "matmul",
                what: "rhs rows vs lhs cols",
                got: rhs.rows,
                expected: self.cols,
            });
        }
        let mut out = Matrix::zeros(self.rows, rhs.cols);
        // i-k-j order: the inner loop runs along contiguous rows of rhs/out.
        for i in 0..self.rows {
            let out_row = &mut out.data[i * rhs.cols..(i + 1) * rhs.cols];
            for k in 0..self.cols {
                let a = self.data[i * self.cols + k];
                if a == 0.0 {
                    continue;
                }
                let rhs_row = &rhs.data[k * rhs.cols..(k + 1) * rhs.cols];
                for (o, &b) in out_row.iter_mut().zip(rhs_row) {
                    *o += a * b;
                }
            }
        }
        Ok(out)
    }

    /// The matrix-vector product `self · v`.
    ///
    /// Fails with [`LinalgError::DimMismatch`] unless
    /// `v.len() == self.cols()`.
    ///
    /// ```
    /// use typegrad::linalg::Matrix;
    ///
    /// let a = Matrix::new(2, 2, vec![1.0, 2.0, 3.0, 4.0])?;
    /// assert_eq!(a.matvec(&[1.0, -1.0])?, vec![-1.0, -1.0]);
    /// # Ok::<(), typegrad::linalg::LinalgError>(())
    /// ```
    pub fn matvec(&self, v: &[f64]) -> Result<Vec<f64>, LinalgError> {
        if v.len() != self.cols {
            return Err(LinalgError::DimMismatch {
                op: "matvec",
                what: "vector length vs matrix cols",
                got: v.len(),
                expected: self.cols,
            });
        }
        let c = self.cols;
        Ok((0..self.rows)
            .map(|r| dot(&self.data[r * c..(r + 1) * c], v))
            .collect())
    }

    /// The transpose (`cols x rows`).
    ///
    /// ```
    /// use typegrad::linalg::Matrix;
    ///
    /// let a = Matrix::new(2, 3, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0])?;
    /// let t = a.transpose();
    /// assert_eq!((t.rows(), t.cols()), (3, 2));
    /// assert_eq!(t.as_slice(), &[1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
    /// # Ok::<(), typegrad::linalg::LinalgError>(())
    /// ```
    pub fn transpose(&self) -> Matrix {
        let mut out = Matrix::zeros(self.cols, self.rows);
        for r in 0..self.rows {
            for c in 0..self.cols {
                out.data[c * self.rows + r] = self.data[r * self.cols + c];
            }
        }
        out
    }

    /// The largest absolute entry (0 for an empty matrix; NaN if any entry
    /// is NaN).
    fn max_abs(&self) -> f64 {
        let mut m = 0.0f64;
        for &v in &self.data {
            if v.is_nan() {
                return f64::NAN;
            }
            m = m.max(v.abs());
        }
        m
    }

    fn require_square(&self, op: &'static str) -> Result<usize, LinalgError> {
        if self.rows != self.cols {
            return Err(LinalgError::NotSquare {
                op,
                rows: self.rows,
                cols: self.cols,
            });
        }
        Ok(self.rows)
    }
}

#[inline]
fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Checks the shape of `A x = b`: `A` square and `b.len() == A.rows()`.
fn check_system(a: &Matrix, b: &[f64], op: &'static str) -> Result<usize, LinalgError> {
    let n = a.require_square(op)?;
    if b.len() != n {
        return Err(LinalgError::DimMismatch {
            op,
            what: "right-hand side length vs matrix rows",
            got: b.len(),
            expected: n,
        });
    }
    Ok(n)
}

/// Ridge-regularised linear least squares: the `w` minimising
/// `|X w - y|² + ridge·|w|²`, i.e. the solution of the normal equations
/// `(XᵀX + ridge·I) w = Xᵀy`.
///
/// `x` is the `N x K` design matrix (one row per sample, one column per
/// feature or basis function), `y` the `N` targets; the result has `K`
/// entries. `ridge >= 0` is the weight-decay strength; with `ridge = 0` this
/// is ordinary least squares and needs `X` to have full column rank. (The
/// mean-squared loss `(1/N)·|X w - y|² + λ·|w|²` has its minimum at
/// `ridge = N·λ`.)
///
/// The system is solved by [`cholesky_solve`]; if `XᵀX + ridge·I` is not
/// positive definite to working precision (rank-deficient `X` with a zero or
/// negative ridge), it falls back to [`lu_solve`], which returns
/// [`LinalgError::Singular`] if the system has no unique solution.
///
/// Forming `XᵀX` squares the condition number of `X`, so for badly
/// conditioned designs a small positive `ridge` is the practical remedy.
///
/// ```
/// use typegrad::linalg::{least_squares, Matrix};
///
/// // Noise-free samples of y = 2 - x: the fit recovers the coefficients.
/// let xs = [0.0, 0.5, 1.0, 1.5];
/// let design = Matrix::from_fn(4, 2, |r, c| if c == 0 { 1.0 } else { xs[r] });
/// let y: Vec<f64> = xs.iter().map(|x| 2.0 - x).collect();
/// let w = least_squares(&design, &y, 0.0)?;
/// assert!((w[0] - 2.0).abs() < 1e-12 && (w[1] + 1.0).abs() < 1e-12);
///
/// // A ridge shrinks the weights towards zero.
/// let w_ridge = least_squares(&design, &y, 10.0)?;
/// assert!(w_ridge[0].abs() < w[0].abs());
/// # Ok::<(), typegrad::linalg::LinalgError>(())
/// ```
pub fn least_squares(x: &Matrix, y: &[f64], ridge: f64) -> Result<Vec<f64>, LinalgError> {
    let (n, k) = (x.rows, x.cols);
    if y.len() != n {
        return Err(LinalgError::DimMismatch {
            op: "least_squares",
            what: "targets length vs design matrix rows",
            got: y.len(),
            expected: n,
        });
    }
    // Gram matrix XᵀX + ridge·I, accumulated row by row of X (contiguous),
    // upper triangle only, then mirrored so it is exactly symmetric.
    let mut gram = Matrix::zeros(k, k);
    let mut rhs = vec![0.0; k];
    for (r, &yn) in y.iter().enumerate() {
        let row = &x.data[r * k..(r + 1) * k];
        for i in 0..k {
            let xi = row[i];
            if xi == 0.0 {
                continue;
            }
            rhs[i] += xi * yn;
            let g = &mut gram.data[i * k..(i + 1) * k];
            for j in i..k {
                g[j] += xi * row[j];
            }
        }
    }
    for i in 0..k {
        gram.data[i * k + i] += ridge;
        for j in 0..i {
            gram.data[i * k + j] = gram.data[j * k + i];
        }
    }
    match cholesky_solve(&gram, &rhs) {
        Err(LinalgError::NotPositiveDefinite) => lu_solve(&gram, &rhs),
        other => other,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    //! Matrix and least-squares tests, the property tests of both solvers,
    //! and helpers shared with the solvers' own tests.

    use super::*;
    #[allow(unused_imports)] // in scope via the std prelude when `std` is on
    use alloc::string::ToString;
    use proptest::prelude::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    /// `max_i |(A x - b)_i|` relative to `|A|∞·|x|∞ + |b|∞` (a backward-error
    /// style measure: about `n·ε` for a stable solver).
    pub(crate) fn rel_residual(a: &Matrix, x: &[f64], b: &[f64]) -> f64 {
        let ax = a.matvec(x).unwrap();
        let r = ax
            .iter()
            .zip(b)
            .fold(0.0f64, |m, (p, q)| m.max((p - q).abs()));
        let a_inf = (0..a.rows())
            .map(|i| (0..a.cols()).map(|j| a.get(i, j).abs()).sum::<f64>())
            .fold(0.0f64, f64::max);
        let x_inf = x.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let b_inf = b.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        r / (a_inf * x_inf + b_inf).max(f64::MIN_POSITIVE)
    }

    pub(crate) fn assert_close(got: &[f64], want: &[f64], tol: f64) {
        assert_eq!(got.len(), want.len());
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!(
                (g - w).abs() <= tol * (1.0 + w.abs()),
                "entry {i}: got {g}, want {w} (got {got:?})"
            );
        }
    }

    pub(crate) fn random_matrix(rng: &mut StdRng, rows: usize, cols: usize) -> Matrix {
        Matrix::from_fn(rows, cols, |_, _| rng.random_range(-1.0..1.0))
    }

    pub(crate) fn random_vec(rng: &mut StdRng, n: usize) -> Vec<f64> {
        (0..n).map(|_| rng.random_range(-10.0..10.0)).collect()
    }

    /// `MᵀM + I`: SPD with eigenvalues in `[1, 1 + n²]`.
    pub(crate) fn spd(m: &Matrix) -> Matrix {
        let mut a = m.transpose().matmul(m).unwrap();
        for i in 0..a.rows() {
            a.set(i, i, a.get(i, i) + 1.0);
        }
        a
    }

    /// `M + (n+1)·I` with its rows permuted by `perm`: strictly diagonally
    /// dominant before the permutation, so well conditioned, but pivoting
    /// is needed to solve it stably after.
    pub(crate) fn dominant_permuted(m: &Matrix, perm: &[usize]) -> Matrix {
        let n = m.rows();
        Matrix::from_fn(n, n, |r, c| {
            let src = perm[r];
            m.get(src, c) + if src == c { (n + 1) as f64 } else { 0.0 }
        })
    }

    #[test]
    fn new_checks_length() {
        assert!(Matrix::new(2, 3, vec![0.0; 6]).is_ok());
        assert_eq!(
            Matrix::new(2, 3, vec![0.0; 5]),
            Err(LinalgError::DimMismatch {
                op: "Matrix::new",
                what: "data length vs rows * cols",
                got: 5,
                expected: 6
            })
        );
        assert!(Matrix::new(usize::MAX, 2, vec![]).is_err());
        assert!(Matrix::new(0, 5, vec![]).is_ok());
    }

    #[test]
    fn get_set_identity_transpose() {
        let mut a = Matrix::zeros(2, 3);
        a.set(0, 2, 5.0);
        a.set(1, 0, -1.0);
        assert_eq!(a.as_slice(), &[0.0, 0.0, 5.0, -1.0, 0.0, 0.0]);
        let t = a.transpose();
        assert_eq!((t.rows(), t.cols()), (3, 2));
        assert_eq!(t.get(2, 0), 5.0);
        assert_eq!(t.get(0, 1), -1.0);
        assert_eq!(t.transpose(), a);
        assert_eq!(Matrix::identity(2).into_vec(), vec![1.0, 0.0, 0.0, 1.0]);
    }

    #[test]
    #[should_panic(expected = "out of range for a 2x3 matrix")]
    fn get_out_of_range_panics() {
        Matrix::zeros(2, 3).get(0, 3);
    }

    #[test]
    fn matmul_by_hand() {
        let a = Matrix::new(2, 3, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
        let b = Matrix::new(3, 2, vec![7.0, 8.0, 9.0, 10.0, 11.0, 12.0]).unwrap();
        let c = a.matmul(&b).unwrap();
        assert_eq!((c.rows(), c.cols()), (2, 2));
        assert_eq!(c.as_slice(), &[58.0, 64.0, 139.0, 154.0]);
        assert_eq!(a.matmul(&Matrix::identity(3)).unwrap(), a);
        assert!(matches!(
            a.matmul(&a),
            Err(LinalgError::DimMismatch {
                got: 2,
                expected: 3,
                ..
            })
        ));
        assert_eq!(a.matvec(&[1.0, 0.0, -1.0]).unwrap(), vec![-2.0, -2.0]);
        assert!(a.matvec(&[1.0]).is_err());
        // Empty inner dimension: a zero matrix.
        let e = Matrix::zeros(2, 0).matmul(&Matrix::zeros(0, 3)).unwrap();
        assert_eq!(e, Matrix::zeros(2, 3));
        assert_eq!(Matrix::zeros(2, 0).matvec(&[]).unwrap(), vec![0.0, 0.0]);
    }

    #[test]
    fn display_messages() {
        let e = LinalgError::NotSquare {
            op: "lu_solve",
            rows: 2,
            cols: 3,
        };
        assert_eq!(e.to_string(), "lu_solve: expected a square matrix, got 2x3");
        let e = LinalgError::DimMismatch {
            op: "matmul",
            what: "rhs rows vs lhs cols",
            got: 4,
            expected: 3,
        };
        assert_eq!(
            e.to_string(),
            "matmul: dimension mismatch (rhs rows vs lhs cols): got 4, expected 3"
        );
        assert!(LinalgError::NotPositiveDefinite
            .to_string()
            .contains("positive definite"));
        #[cfg(feature = "std")]
        {
            let boxed: Box<dyn std::error::Error> = Box::new(LinalgError::Singular);
            assert!(boxed.to_string().contains("singular"));
        }
    }

    #[test]
    fn least_squares_line_by_hand() {
        // Points (0,1), (1,2), (2,2), (3,4): the best line is
        // y = 0.9 + 0.9 x (normal equations [[4,6],[6,14]] w = [9, 18]).
        let xs = [0.0, 1.0, 2.0, 3.0];
        let design = Matrix::from_fn(4, 2, |r, c| if c == 0 { 1.0 } else { xs[r] });
        let w = least_squares(&design, &[1.0, 2.0, 2.0, 4.0], 0.0).unwrap();
        assert_close(&w, &[0.9, 0.9], 1e-13);
        // Ridge 1: [[5,6],[6,15]] w = [9,18]  =>  w = [27/39, 36/39].
        let w = least_squares(&design, &[1.0, 2.0, 2.0, 4.0], 1.0).unwrap();
        assert_close(&w, &[27.0 / 39.0, 36.0 / 39.0], 1e-13);
    }

    #[test]
    fn least_squares_interpolates_square_system() {
        let mut rng = StdRng::seed_from_u64(7);
        let x = dominant_permuted(&random_matrix(&mut rng, 6, 6), &[0, 1, 2, 3, 4, 5]);
        let y = random_vec(&mut rng, 6);
        let w = least_squares(&x, &y, 0.0).unwrap();
        assert!(rel_residual(&x, &w, &y) < 1e-12);
    }

    #[test]
    fn least_squares_rank_deficient() {
        // Two identical columns: XᵀX is singular.
        let x = Matrix::from_fn(5, 2, |r, _| r as f64 + 1.0);
        let y = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(least_squares(&x, &y, 0.0), Err(LinalgError::Singular));
        // A ridge makes it solvable, and by symmetry w0 = w1 ≈ 1/2.
        let w = least_squares(&x, &y, 1e-9).unwrap();
        assert_close(&w, &[0.5, 0.5], 1e-6);
        // More unknowns than samples (the over-fitting regime) likewise.
        let x = Matrix::from_fn(2, 4, |r, c| (r + c) as f64);
        assert_eq!(
            least_squares(&x, &[1.0, 2.0], 0.0),
            Err(LinalgError::Singular)
        );
        let w = least_squares(&x, &[1.0, 2.0], 1e-8).unwrap();
        assert!(rel_residual(&x, &w, &[1.0, 2.0]) < 1e-6);
    }

    #[test]
    fn least_squares_falls_back_to_lu() {
        // A negative ridge makes XᵀX + ridge·I indefinite but non-singular:
        // Cholesky refuses, LU solves it.
        let x = Matrix::identity(2);
        let w = least_squares(&x, &[1.0, 1.0], -2.0).unwrap();
        assert_close(&w, &[-1.0, -1.0], 1e-15);
    }

    #[test]
    fn least_squares_shape_errors() {
        let x = Matrix::zeros(3, 2);
        assert!(matches!(
            least_squares(&x, &[1.0, 2.0], 0.0),
            Err(LinalgError::DimMismatch {
                got: 2,
                expected: 3,
                ..
            })
        ));
        // No features: nothing to fit.
        assert_eq!(
            least_squares(&Matrix::zeros(3, 0), &[1.0; 3], 0.0),
            Ok(vec![])
        );
    }

    #[test]
    fn least_squares_random_normal_equations() {
        let mut rng = StdRng::seed_from_u64(3);
        for &(n, k) in &[(10, 3), (50, 10), (200, 25)] {
            let x = random_matrix(&mut rng, n, k);
            let y = random_vec(&mut rng, n);
            let w = least_squares(&x, &y, 0.0).unwrap();
            // Optimality: the residual is orthogonal to the columns of X.
            let r: Vec<f64> = x
                .matvec(&w)
                .unwrap()
                .iter()
                .zip(&y)
                .map(|(p, q)| p - q)
                .collect();
            let g = x.transpose().matvec(&r).unwrap();
            let scale: f64 = y.iter().map(|v| v.abs()).sum();
            assert!(g.iter().all(|v| v.abs() < 1e-10 * scale), "{g:?}");
        }
    }

    fn system(max_n: usize) -> impl Strategy<Value = (Matrix, Vec<usize>, Vec<f64>)> {
        (1..max_n).prop_flat_map(|n| {
            (
                proptest::collection::vec(-1.0..1.0f64, n * n)
                    .prop_map(move |d| Matrix::new(n, n, d).unwrap()),
                Just((0..n).collect::<Vec<usize>>()).prop_shuffle(),
                proptest::collection::vec(-100.0..100.0f64, n),
            )
        })
    }

    proptest! {
        #[test]
        fn prop_lu_solves((m, perm, b) in system(12)) {
            let a = dominant_permuted(&m, &perm);
            let x = lu_solve(&a, &b).unwrap();
            prop_assert!(rel_residual(&a, &x, &b) < 1e-13, "residual {}", rel_residual(&a, &x, &b));
        }

        #[test]
        fn prop_cholesky_solves((m, _perm, b) in system(12)) {
            let a = spd(&m);
            let x = cholesky_solve(&a, &b).unwrap();
            prop_assert!(rel_residual(&a, &x, &b) < 1e-13, "residual {}", rel_residual(&a, &x, &b));
            // Both solvers agree on SPD systems.
            let y = lu_solve(&a, &b).unwrap();
            for (p, q) in x.iter().zip(&y) {
                prop_assert!((p - q).abs() <= 1e-9 * (1.0 + q.abs()));
            }
        }

        #[test]
        fn prop_least_squares_optimal(
            (k, extra) in (1usize..8, 0usize..8),
            seed in any::<u64>(),
            ridge in prop_oneof![Just(0.0), 1e-6..1.0f64],
        ) {
            let mut rng = StdRng::seed_from_u64(seed);
            let n = k + extra + 1;
            let x = random_matrix(&mut rng, n, k);
            let y = random_vec(&mut rng, n);
            let w = least_squares(&x, &y, ridge).unwrap();
            // Gradient of |Xw - y|² + ridge·|w|² vanishes: Xᵀ(Xw - y) + ridge·w = 0.
            let r: Vec<f64> = x.matvec(&w).unwrap().iter().zip(&y).map(|(p, q)| p - q).collect();
            let g = x.transpose().matvec(&r).unwrap();
            let scale = 1.0 + y.iter().map(|v| v.abs()).sum::<f64>()
                * w.iter().map(|v| v.abs()).fold(1.0, f64::max);
            for (gi, wi) in g.iter().zip(&w) {
                prop_assert!((gi + ridge * wi).abs() < 1e-9 * scale, "gradient {} at w = {:?}", gi + ridge * wi, w);
            }
        }
    }
}
