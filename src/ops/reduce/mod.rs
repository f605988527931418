//! Reductions (sum, mean, max, min, var, logsumexp) along one axis or the
//! whole tensor, and softmax / log-softmax along an axis.

use crate::backend::Backend;
use crate::dtype::Dtype;

/// Which reduction.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ReduceOp {
    /// Sum.
    Sum,
    /// Maximum (gradient shared equally among ties).
    Max,
    /// Minimum (gradient shared equally among ties).
    Min,
}

/// Kernels for reductions and softmax. `dims` are the input's runtime sizes;
/// `axis: None` reduces everything to one element.
pub trait ReduceKernel<E: Dtype>: Backend {
    /// Reduce along `axis` (removing it) or everything.
    fn reduce(&self, op: ReduceOp, x: &Self::Storage<E>, dims: &[usize], axis: Option<usize>) -> Self::Storage<E>;
    /// Gradient of the input of [`ReduceKernel::reduce`], given its output `y` and `gy`.
    fn reduce_backward(
        &self,
        op: ReduceOp,
        x: &Self::Storage<E>,
        y: &Self::Storage<E>,
        gy: &Self::Storage<E>,
        dims: &[usize],
        axis: Option<usize>,
    ) -> Self::Storage<E>;
    /// Sum a tensor of `from` dims down to the broadcastable `to` dims
    /// (right-aligned): the backward of broadcasting.
    fn sum_to(&self, x: &Self::Storage<E>, from: &[usize], to: &[usize]) -> Self::Storage<E>;
    /// Softmax (or log-softmax) along `axis`, stable for any magnitude.
    fn softmax(&self, x: &Self::Storage<E>, dims: &[usize], axis: usize, log: bool) -> Self::Storage<E>;
    /// Gradient of softmax's input given its output `y` and `gy`.
    fn softmax_backward(
        &self,
        y: &Self::Storage<E>,
        gy: &Self::Storage<E>,
        dims: &[usize],
        axis: usize,
        log: bool,
    ) -> Self::Storage<E>;
}
