//! [`MatMul`]: which shapes multiply, the shape of the product, and the
//! runtime check of `Dyn` dims.

use super::MatmulParams;
use crate::shape::{check_dim, Agree, Dim, DimVerdict, Error, ExpOf, GotOf, Shape, ShapeVerdict};

/// `Self` (the left operand's shape) can be matrix-multiplied by `Rhs`.
///
/// The contracted dims (columns of the left operand, rows of the right one)
/// and the batch dims must agree: equal static dims, or any pair involving
/// [`crate::Dyn`], which is checked at run time by
/// [`MatMul::matmul_params`]. A static mismatch is a compile error such as
/// `dimension mismatch: got N<_4>, expected N<_3>` (the right operand's dim
/// is "got", the left operand's is "expected").
///
/// `G` and `X` are the verdict on those dims ([`crate::shape::DimVerdict`]);
/// they default to [`Agree`], so a generic bound `S: MatMul<S2>` means "the
/// dims agree". [`crate::Tensor::matmul`] takes them as parameters and
/// requires `G: DimsAgree<X>` itself, which keeps the error short.
///
/// | lhs            | rhs            | output         |
/// |----------------|----------------|----------------|
/// | `(K,)`         | `(K,)`         | `()` (dot)     |
/// | `(K,)`         | `(K, N)`       | `(N,)`         |
/// | `(M, K)`       | `(K,)`         | `(M,)`         |
/// | `(M, K)`       | `(K, N)`       | `(M, N)`       |
/// | `(B, M, K)`    | `(B, K, N)`    | `(B, M, N)`    |
/// | `(B, M, K)`    | `(K, N)`       | `(B, M, N)`    |
/// | `(B, H, M, K)` | `(B, H, K, N)` | `(B, H, M, N)` |
/// | `(B, H, M, K)` | `(K, N)`       | `(B, H, M, N)` |
///
/// The batch dims of the output are the left operand's dim types.
///
/// ```
/// use typegrad::ops::matmul::MatMul;
/// use typegrad::prelude::*;
/// let (out, p) = (Dyn(8), <u!(3)>::default(), <u!(4)>::default())
///     .matmul_params(&(<u!(4)>::default(), <u!(5)>::default()))
///     .unwrap();
/// assert_eq!(&*out.dims(), &[8, 3, 5]);
/// assert_eq!((p.batch, p.m, p.k, p.n), (1, 24, 4, 5)); // batch folded into rows
/// ```
pub trait MatMul<Rhs: Shape, G = Agree, X = Agree>: Shape {
    /// The shape of the product.
    type Output: Shape;

    /// Check the runtime sizes and describe the product: the output shape
    /// and the kernel parameters of `C = A · B` for row-major contiguous
    /// operands (no transposes; a right operand shared by the whole batch is
    /// folded into the rows of one product, so `batch` is 1 then).
    fn matmul_params(&self, rhs: &Rhs) -> Result<(Self::Output, MatmulParams), Error>;
}

const OP: &str = "matmul";
const ROWS: &str = "rhs rows vs lhs columns";
const BATCH: &str = "rhs batch vs lhs batch";

/// Dense, untransposed `batch` products of `(m × k) · (k × n)`.
fn dense(batch: usize, m: usize, k: usize, n: usize) -> MatmulParams {
    MatmulParams {
        batch,
        m,
        k,
        n,
        a_batch_stride: m * k,
        b_batch_stride: k * n,
        a_t: false,
        b_t: false,
    }
}

impl<K: Dim, K2: Dim> MatMul<(K2,), GotOf<K2, K>, ExpOf<K2, K>> for (K,)
where
    K2: DimVerdict<K>,
{
    type Output = ();
    fn matmul_params(&self, rhs: &(K2,)) -> Result<((), MatmulParams), Error> {
        let k = self.0.size();
        check_dim(OP, 0, "rhs length vs lhs length", rhs.0.size(), k)?;
        Ok(((), dense(1, 1, k, 1)))
    }
}

impl<K: Dim, K2: Dim, N: Dim> MatMul<(K2, N), GotOf<K2, K>, ExpOf<K2, K>> for (K,)
where
    K2: DimVerdict<K>,
{
    type Output = (N,);
    fn matmul_params(&self, rhs: &(K2, N)) -> Result<((N,), MatmulParams), Error> {
        let k = self.0.size();
        check_dim(OP, 0, "rhs rows vs lhs length", rhs.0.size(), k)?;
        Ok(((rhs.1,), dense(1, 1, k, rhs.1.size())))
    }
}

impl<M: Dim, K: Dim, K2: Dim> MatMul<(K2,), GotOf<K2, K>, ExpOf<K2, K>> for (M, K)
where
    K2: DimVerdict<K>,
{
    type Output = (M,);
    fn matmul_params(&self, rhs: &(K2,)) -> Result<((M,), MatmulParams), Error> {
        let k = self.1.size();
        check_dim(OP, 0, "rhs length vs lhs columns", rhs.0.size(), k)?;
        Ok(((self.0,), dense(1, self.0.size(), k, 1)))
    }
}

impl<M: Dim, K: Dim, K2: Dim, N: Dim> MatMul<(K2, N), GotOf<K2, K>, ExpOf<K2, K>> for (M, K)
where
    K2: DimVerdict<K>,
{
    type Output = (M, N);
    fn matmul_params(&self, rhs: &(K2, N)) -> Result<((M, N), MatmulParams), Error> {
        let k = self.1.size();
        check_dim(OP, 0, ROWS, rhs.0.size(), k)?;
        Ok(((self.0, rhs.1), dense(1, self.0.size(), k, rhs.1.size())))
    }
}

impl<B: Dim, M: Dim, K: Dim, B2: Dim, K2: Dim, N: Dim>
    MatMul<
        (B2, K2, N),
        <(B2, K2) as ShapeVerdict<(B, K)>>::Got,
        <(B2, K2) as ShapeVerdict<(B, K)>>::Exp,
    > for (B, M, K)
where
    (B2, K2): ShapeVerdict<(B, K)>,
{
    type Output = (B, M, N);
    fn matmul_params(&self, rhs: &(B2, K2, N)) -> Result<((B, M, N), MatmulParams), Error> {
        let (b, k) = (self.0.size(), self.2.size());
        check_dim(OP, 0, BATCH, rhs.0.size(), b)?;
        check_dim(OP, 1, ROWS, rhs.1.size(), k)?;
        Ok((
            (self.0, self.1, rhs.2),
            dense(b, self.1.size(), k, rhs.2.size()),
        ))
    }
}

impl<B: Dim, M: Dim, K: Dim, K2: Dim, N: Dim> MatMul<(K2, N), GotOf<K2, K>, ExpOf<K2, K>>
    for (B, M, K)
where
    K2: DimVerdict<K>,
{
    type Output = (B, M, N);
    fn matmul_params(&self, rhs: &(K2, N)) -> Result<((B, M, N), MatmulParams), Error> {
        let k = self.2.size();
        check_dim(OP, 0, ROWS, rhs.0.size(), k)?;
        // One product: the batch folded into the rows of A.
        Ok((
            (self.0, self.1, rhs.1),
            dense(1, self.dims().try_numel_of(OP, 0..2)?, k, rhs.1.size()),
        ))
    }
}

impl<B: Dim, H: Dim, M: Dim, K: Dim, B2: Dim, H2: Dim, K2: Dim, N: Dim>
    MatMul<
        (B2, H2, K2, N),
        <(B2, H2, K2) as ShapeVerdict<(B, H, K)>>::Got,
        <(B2, H2, K2) as ShapeVerdict<(B, H, K)>>::Exp,
    > for (B, H, M, K)
where
    (B2, H2, K2): ShapeVerdict<(B, H, K)>,
{
    type Output = (B, H, M, N);
    fn matmul_params(&self, rhs: &(B2, H2, K2, N)) -> Result<((B, H, M, N), MatmulParams), Error> {
        let (b, h, k) = (self.0.size(), self.1.size(), self.3.size());
        check_dim(OP, 0, BATCH, rhs.0.size(), b)?;
        check_dim(OP, 1, BATCH, rhs.1.size(), h)?;
        check_dim(OP, 2, ROWS, rhs.2.size(), k)?;
        Ok((
            (self.0, self.1, self.2, rhs.3),
            dense(
                self.dims().try_numel_of(OP, 0..2)?,
                self.2.size(),
                k,
                rhs.3.size(),
            ),
        ))
    }
}

impl<B: Dim, H: Dim, M: Dim, K: Dim, K2: Dim, N: Dim> MatMul<(K2, N), GotOf<K2, K>, ExpOf<K2, K>>
    for (B, H, M, K)
where
    K2: DimVerdict<K>,
{
    type Output = (B, H, M, N);
    fn matmul_params(&self, rhs: &(K2, N)) -> Result<((B, H, M, N), MatmulParams), Error> {
        let k = self.3.size();
        check_dim(OP, 0, ROWS, rhs.0.size(), k)?;
        // Checked: with K = 0 the leading dims can be huge.
        let rows = self.dims().try_numel_of(OP, 0..3)?;
        Ok((
            (self.0, self.1, self.2, rhs.1),
            dense(1, rows, k, rhs.1.size()),
        ))
    }
}
