//! Data movement: permute/transpose, reshape, broadcast (expand),
//! narrow/slice, concat.

use crate::backend::Backend;
use crate::dtype::Dtype;

/// Kernels that move data (no arithmetic).
pub trait MovementKernel<E: Dtype>: Backend {
    /// Axes reordered: output axis `i` is input axis `perm[i]`.
    fn permute(&self, x: &Self::Storage<E>, dims: &[usize], perm: &[usize]) -> Self::Storage<E>;
    /// Materialise a broadcast of `from` dims to `to` dims (right-aligned).
    fn expand(&self, x: &Self::Storage<E>, from: &[usize], to: &[usize]) -> Self::Storage<E>;
    /// `x[.., start..start+len, ..]` along `axis`.
    fn narrow(&self, x: &Self::Storage<E>, dims: &[usize], axis: usize, start: usize, len: usize) -> Self::Storage<E>;
    /// Backward of narrow: `gy` placed at `start` in zeros of the input `dims`.
    fn narrow_backward(
        &self,
        gy: &Self::Storage<E>,
        dims: &[usize],
        axis: usize,
        start: usize,
        len: usize,
    ) -> Self::Storage<E>;
    /// `a` and `b` joined along `axis` (other dims equal).
    fn concat(
        &self,
        a: &Self::Storage<E>,
        a_dims: &[usize],
        b: &Self::Storage<E>,
        b_dims: &[usize],
        axis: usize,
    ) -> Self::Storage<E>;
}
