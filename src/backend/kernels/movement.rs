//! The data-movement kernel trait ([`MovementKernel`]) and its descriptors
//! ([`RowCopy`], [`RowLayout`]). The typed methods (permute, narrow,
//! concat, ...) are in `ops/movement/`.

mod copy_rows;
pub use copy_rows::{RowCopy, RowLayout};

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
