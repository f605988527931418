//! Data movement: permute/transpose, reshape/flatten, broadcast (expand),
//! narrow (slice), concat.
//!
//! Output shapes are computed at the type level by the shape traits in
//! [`shape`](mod@crate::shape) ([`PermuteShape`](crate::shape::PermuteShape),
//! [`SwapAxes`](crate::shape::SwapAxes), [`FlattenFrom`](crate::shape::FlattenFrom),
//! [`BroadcastsTo`](crate::shape::BroadcastsTo),
//! [`ReplaceAxis`](crate::shape::ReplaceAxis),
//! [`ConcatShape`](crate::shape::ConcatShape)); static mismatches do not
//! compile, `Dyn` dims are checked at run time. Reshape and flatten share the
//! input's storage; the others make one [`MovementKernel`] call forward and
//! one backward.

mod broadcast;
mod concat;
mod copy_rows;
mod narrow;
mod permute;
mod reshape;

pub use concat::ConcatOp;
pub use copy_rows::{RowCopy, RowLayout};
pub use narrow::NarrowOp;

use crate::backend::Backend;
use crate::dtype::Dtype;

/// Kernels that move data (no arithmetic).
pub trait MovementKernel<E: Dtype>: Backend {
    /// Axes reordered: output axis `i` is input axis `perm[i]`.
    fn permute(&self, x: &Self::Storage<E>, dims: &[usize], perm: &[usize]) -> Self::Storage<E>;
    /// Materialise a broadcast of `from` dims to `to` dims (right-aligned).
    fn expand(&self, x: &Self::Storage<E>, from: &[usize], to: &[usize]) -> Self::Storage<E>;
    /// `x[.., start..start+len, ..]` along `axis`.
    fn narrow(
        &self,
        x: &Self::Storage<E>,
        dims: &[usize],
        axis: usize,
        start: usize,
        len: usize,
    ) -> Self::Storage<E>;
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
    /// Copy rows from `src` into `dst` **in place** as `c` describes
    /// (copy-on-write: only a `dst` shared with another tensor is copied
    /// first). Panics if either side's rows run past its buffer. The KV
    /// cache of `models::Gpt` appends each token's keys and values with it.
    fn copy_rows_into(&self, dst: &mut Self::Storage<E>, src: &Self::Storage<E>, c: &RowCopy);
}
