//! Integer indexing and masks: index_select, gather (pick), where /
//! masked_fill, comparisons.

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
    /// Evaluate the comparison.
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

/// Kernels for indexing, selection and comparison. Index kernels check
/// every index and return [`Error::IndexOutOfRange`] instead of reading out
/// of bounds.
pub trait IndexKernel<E: Dtype>: Backend {
    /// Along `axis`, output slot `j` is input slot `idx[j]` (axis size becomes `idx.len()`).
    fn index_select(
        &self,
        x: &Self::Storage<E>,
        dims: &[usize],
        axis: usize,
        idx: &Self::Storage<usize>,
    ) -> Result<Self::Storage<E>, Error>;
    /// Backward of index_select: scatter-add `gy` into zeros of `dims`.
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
    /// Backward of gather: `gy` scattered to the picked positions of zeros of `dims`.
    fn gather_backward(
        &self,
        gy: &Self::Storage<E>,
        dims: &[usize],
        axis: usize,
        idx: &Self::Storage<usize>,
    ) -> Self::Storage<E>;
    /// `cond ? a : b` elementwise (same lengths).
    fn where_cond(
        &self,
        cond: &Self::Storage<bool>,
        a: &Self::Storage<E>,
        b: &Self::Storage<E>,
    ) -> Self::Storage<E>;
    /// Backward of where: `(gy where cond else 0, gy where !cond else 0)`.
    fn where_backward(
        &self,
        cond: &Self::Storage<bool>,
        gy: &Self::Storage<E>,
    ) -> (Self::Storage<E>, Self::Storage<E>);
    /// `a op b` elementwise (same lengths).
    fn compare(&self, op: CmpOp, a: &Self::Storage<E>, b: &Self::Storage<E>) -> Self::Storage<bool>;
    /// `a op v` elementwise.
    fn compare_scalar(&self, op: CmpOp, a: &Self::Storage<E>, v: E) -> Self::Storage<bool>;
}
