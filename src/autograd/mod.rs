//! Reverse-mode autograd with the tape in the tensor type.
//!
//! A tensor is `Tensor<S, E, D, NoTape>` (inference: no bookkeeping at all)
//! or `Tensor<S, E, D, Tape<E, D>>` (tracked: every op records a backward
//! closure). Start tracking with [`crate::tensor::Tensor::trace`]; call
//! `backward()` on a tracked scalar to get [`Gradients`].
//!
//! Tracked tensors also carry a [`Mode`]: training (the default of
//! `trace()`), training that leaves running statistics alone, or
//! evaluation with gradients (saliency maps, adversarial examples). An
//! untracked tensor is always evaluated.

mod gradients;
mod mode;
mod tape;

pub use gradients::Gradients;
pub use mode::{Mode, StatUpdate};
pub use tape::{Merge, NoTape, Tape, Tracking};

use core::sync::atomic::{AtomicUsize, Ordering};

/// Identifies a tensor value; gradients are keyed by it. Ids grow
/// monotonically, so recording order is id order.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TensorId(pub(crate) usize);

static NEXT_ID: AtomicUsize = AtomicUsize::new(1);

impl TensorId {
    /// A fresh id.
    pub(crate) fn new() -> Self {
        TensorId(NEXT_ID.fetch_add(1, Ordering::Relaxed))
    }
}
