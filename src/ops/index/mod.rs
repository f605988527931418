//! Integer indexing and masks: [`index_select`](crate::Tensor::index_select)
//! (embedding lookups), [`gather`](GatherOp::gather) (pick one element
//! per position), [`where_cond`](crate::Tensor::where_cond) and
//! [`masked_fill`](crate::Tensor::masked_fill), comparisons producing `bool`
//! masks, and [`argmax`](crate::Tensor::argmax) / `argmin` producing `usize`
//! indices.
//!
//! Indices are `usize` tensors and masks `bool` tensors (`Tensor<S, usize, D>`,
//! `Tensor<S, bool, D>`); neither carries a tape. Every index is checked by
//! the kernel: an index out of range is an [`Error::IndexOutOfRange`] (the
//! panicking forms print it), never a read out of bounds.
//!
//! **Broadcasting masks.** `where_cond` and `masked_fill` accept a mask whose
//! shape broadcasts *to* the data's shape ([`BroadcastsTo`]): a causal
//! `(T, T)` mask applies to `(B, H, T, T)` attention scores without being
//! materialised. The broadcast is done inside the kernels (the mask's dims
//! are passed along), so no expanded copy of the mask is stored for backward.
//!
//! [`BroadcastsTo`]: crate::shape::BroadcastsTo
//! [`Error::IndexOutOfRange`]: crate::shape::Error::IndexOutOfRange

mod argmax;
mod compare;
mod gather;
pub use gather::GatherOp;
mod index_select;
mod where_cond;

pub use crate::backend::kernels::index::{CmpOp, IndexKernel};
