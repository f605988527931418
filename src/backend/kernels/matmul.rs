//! The matrix-product kernel trait ([`MatmulKernel`]) and its descriptor
//! ([`MatmulParams`]). The typed `Tensor::matmul` is in `ops/matmul/`.

use crate::backend::Backend;
use crate::dtype::Dtype;

/// Sizes and layout of a (batched) product `C[b] = op(A[b]) · op(B[b])`,
/// all buffers row-major and contiguous.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct MatmulParams {
    /// Number of products.
    pub batch: usize,
    /// Rows of `op(A)` and `C`.
    pub m: usize,
    /// Columns of `op(A)`, rows of `op(B)`.
    pub k: usize,
    /// Columns of `op(B)` and `C`.
    pub n: usize,
    /// Elements between consecutive `A`s (0: one `A` for the whole batch).
    pub a_batch_stride: usize,
    /// Elements between consecutive `B`s (0: one `B` for the whole batch).
    pub b_batch_stride: usize,
    /// `A` is stored `k × m` (use its transpose).
    pub a_t: bool,
    /// `B` is stored `n × k` (use its transpose).
    pub b_t: bool,
}

/// Kernel for matrix products.
pub trait MatmulKernel<E: Dtype>: Backend {
    /// `C = op(A) · op(B)` per batch; returns `C` (`batch · m · n`).
    fn matmul(
        &self,
        p: MatmulParams,
        a: &Self::Storage<E>,
        b: &Self::Storage<E>,
    ) -> Self::Storage<E>;
}

impl MatmulParams {
    /// The product giving the gradient of `A` for this forward product
    /// (`dA = dC · op(B)ᵀ`), with `dC` as its `A` and this product's `B` as
    /// its `B`. The forward product must be dense and untransposed, as
    /// `MatMul::matmul_params` (in `ops/matmul`) makes it.
    pub fn grad_lhs(&self) -> MatmulParams {
        debug_assert!(!self.a_t && !self.b_t);
        MatmulParams {
            batch: self.batch,
            m: self.m,
            k: self.n,
            n: self.k,
            a_batch_stride: self.m * self.n,
            b_batch_stride: self.b_batch_stride,
            a_t: false,
            b_t: true,
        }
    }

    /// The product giving the gradient of `B` for this forward product
    /// (`dB = op(A)ᵀ · dC`), with this product's `A` as its `A` and `dC` as
    /// its `B`. When the forward product folded a batch into its rows (a
    /// right operand shared by the batch), the batch is folded into this
    /// product's `k`: the sum over the batch is part of the one product.
    pub fn grad_rhs(&self) -> MatmulParams {
        debug_assert!(!self.a_t && !self.b_t);
        MatmulParams {
            batch: self.batch,
            m: self.k,
            k: self.m,
            n: self.n,
            a_batch_stride: self.a_batch_stride,
            b_batch_stride: self.m * self.n,
            a_t: true,
            b_t: false,
        }
    }
}
