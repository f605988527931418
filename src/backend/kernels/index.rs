//! The indexing kernel trait ([`IndexKernel`]: selection, gather, masks,
//! comparisons, argmax) and its descriptor [`CmpOp`]. The typed methods are
//! in `ops/index/`.

use crate::backend::Backend;
use crate::dtype::Dtype;
use crate::shape::Error;

/// Elementwise comparison producing a `bool` mask.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum CmpOp {
    /// `a == b`
    Eq,
    /// `a != b`
    Ne,
    /// `a < b`
    Lt,
    /// `a <= b`
    Le,
    /// `a > b`
    Gt,
    /// `a >= b`
    Ge,
}

impl CmpOp {
    /// Evaluate the comparison (IEEE semantics: every comparison with NaN is
    /// false except `Ne`).
    #[inline(always)]
    pub fn f<E: PartialOrd>(self, a: E, b: E) -> bool {
        match self {
            CmpOp::Eq => a == b,
            CmpOp::Ne => a != b,
            CmpOp::Lt => a < b,
            CmpOp::Le => a <= b,
            CmpOp::Gt => a > b,
            CmpOp::Ge => a >= b,
        }
    }
}

/// Kernels for indexing, selection and comparison, on runtime sizes.
///
/// Index kernels check every index and return [`Error::IndexOutOfRange`]
/// instead of reading out of bounds. Shape arguments (dims, lengths, a mask's
/// dims broadcasting to the data's) are preconditions checked by the typed
/// layer; a backend may panic if they are violated, but must not read or
/// write out of bounds.
pub trait IndexKernel<E: Dtype>: Backend {
    /// Along `axis` of `x` (runtime `dims`), output slot `j` is input slot
    /// `idx[j]`; the output has `dims` with `dims[axis]` replaced by `idx.len()`.
    /// Duplicate indices are allowed.
    fn index_select(
        &self,
        x: &Self::Storage<E>,
        dims: &[usize],
        axis: usize,
        idx: &Self::Storage<usize>,
    ) -> Result<Self::Storage<E>, Error>;
    /// Backward of index_select: `gy` scatter-added into zeros of the input
    /// `dims` (duplicate indices accumulate). `idx` was checked by the forward.
    fn index_select_backward(
        &self,
        gy: &Self::Storage<E>,
        dims: &[usize],
        axis: usize,
        idx: &Self::Storage<usize>,
    ) -> Self::Storage<E>;
    /// Pick one element along `axis` per position: `idx` has the dims of `x`
    /// without `axis`; so does the output.
    fn gather(
        &self,
        x: &Self::Storage<E>,
        dims: &[usize],
        axis: usize,
        idx: &Self::Storage<usize>,
    ) -> Result<Self::Storage<E>, Error>;
    /// Backward of gather: `gy` scattered to the picked positions of zeros of
    /// the input `dims`. `idx` was checked by the forward.
    fn gather_backward(
        &self,
        gy: &Self::Storage<E>,
        dims: &[usize],
        axis: usize,
        idx: &Self::Storage<usize>,
    ) -> Self::Storage<E>;
    /// `cond ? a : b` elementwise; `a` and `b` have `dims`, `cond` has
    /// `cond_dims`, which broadcast to `dims` (right-aligned, equal or 1).
    fn where_cond(
        &self,
        cond: &Self::Storage<bool>,
        cond_dims: &[usize],
        a: &Self::Storage<E>,
        b: &Self::Storage<E>,
        dims: &[usize],
    ) -> Self::Storage<E>;
    /// Backward of where: `(gy where cond else 0, gy where !cond else 0)`,
    /// each computed only if asked for in `want`.
    #[allow(clippy::type_complexity)]
    fn where_backward(
        &self,
        cond: &Self::Storage<bool>,
        cond_dims: &[usize],
        gy: &Self::Storage<E>,
        dims: &[usize],
        want: (bool, bool),
    ) -> (Option<Self::Storage<E>>, Option<Self::Storage<E>>);
    /// `mask ? value : x` elementwise; `x` has `dims`, `mask` has
    /// `mask_dims`, which broadcast to `dims`. (Its backward is
    /// `masked_fill(gy, mask, 0)`.)
    fn masked_fill(
        &self,
        x: &Self::Storage<E>,
        dims: &[usize],
        mask: &Self::Storage<bool>,
        mask_dims: &[usize],
        value: E,
    ) -> Self::Storage<E>;
    /// `a op b` elementwise (same lengths).
    fn compare(&self, op: CmpOp, a: &Self::Storage<E>, b: &Self::Storage<E>)
        -> Self::Storage<bool>;
    /// `a op v` elementwise.
    fn compare_scalar(&self, op: CmpOp, a: &Self::Storage<E>, v: E) -> Self::Storage<bool>;
    /// Index of the largest (`largest = true`) or smallest element along
    /// `axis` (removed in the output). Ties go to the first index; a NaN
    /// counts as more extreme than any number (the first NaN wins), as in
    /// PyTorch. An empty axis (with a non-empty output) is an
    /// [`Error::TooFewElements`].
    fn arg_extreme(
        &self,
        x: &Self::Storage<E>,
        dims: &[usize],
        axis: usize,
        largest: bool,
    ) -> Result<Self::Storage<usize>, Error>;
}
