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
mod narrow;
mod permute;
mod reshape;

pub use concat::ConcatOp;
pub use narrow::NarrowOp;

pub use crate::backend::kernels::movement::{MovementKernel, RowCopy, RowLayout};
