//! Matrix products: 2-D, batched, and batch-broadcast.

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
    fn matmul(&self, p: MatmulParams, a: &Self::Storage<E>, b: &Self::Storage<E>) -> Self::Storage<E>;
}
