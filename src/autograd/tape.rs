//! The tape: backward closures recorded by ops on tracked tensors.

use super::{Gradients, TensorId};
use crate::backend::Backend;
use crate::dtype::Dtype;
use alloc::boxed::Box;
use alloc::collections::BTreeSet;
use alloc::rc::Rc;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::fmt;

/// A backward step: reads the gradient of its output, accumulates into its inputs.
pub(crate) type BackwardOp<E, D> = Box<dyn FnOnce(&mut Gradients<E, D>)>;

/// The tape of an untracked tensor: records nothing, costs nothing.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct NoTape;

/// The tape of a tracked tensor. Tensors derived from one traced tensor share
/// it; when two tapes meet in a binary op they are merged. Tracked tensors are
/// not `Send` (the tape is a shared `Rc`): train on one thread and let the
/// kernels use the others.
pub struct Tape<E: Dtype, D: Backend> {
    pub(crate) ops: Rc<RefCell<Vec<(TensorId, BackwardOp<E, D>)>>>,
    /// Traced tensors whose own gradient nobody wants (training inputs,
    /// see `Tensor::trace_no_grad`): ops may skip computing it.
    pub(crate) no_grad: Rc<RefCell<BTreeSet<TensorId>>>,
}

impl<E: Dtype, D: Backend> Clone for Tape<E, D> {
    fn clone(&self) -> Self {
        Tape {
            ops: self.ops.clone(),
            no_grad: self.no_grad.clone(),
        }
    }
}

impl<E: Dtype, D: Backend> Default for Tape<E, D> {
    fn default() -> Self {
        Tape {
            ops: Rc::new(RefCell::new(Vec::new())),
            no_grad: Rc::new(RefCell::new(BTreeSet::new())),
        }
    }
}

impl<E: Dtype, D: Backend> fmt::Debug for Tape<E, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tape({} ops)", self.ops.borrow().len())
    }
}

/// What an op needs from a tape: record a backward closure, or not.
pub trait Tracking<E: Dtype, D: Backend>: Clone + fmt::Debug {
    /// `true` for [`Tape`]: ops build backward closures only then.
    const TRACKED: bool;
    /// Record the backward step of the op that produced `out`.
    fn record(&self, out: TensorId, op: impl FnOnce(&mut Gradients<E, D>) + 'static);
    /// Whether a gradient for `id` is wanted: `false` without a tape and for
    /// tensors traced with `trace_no_grad`. Ops may skip work for it.
    fn wants_grad(&self, id: TensorId) -> bool;
}

impl<E: Dtype, D: Backend> Tracking<E, D> for NoTape {
    const TRACKED: bool = false;
    #[inline]
    fn record(&self, _out: TensorId, _op: impl FnOnce(&mut Gradients<E, D>) + 'static) {}
    #[inline]
    fn wants_grad(&self, _id: TensorId) -> bool {
        false
    }
}

impl<E: Dtype, D: Backend> Tracking<E, D> for Tape<E, D> {
    const TRACKED: bool = true;
    fn record(&self, out: TensorId, op: impl FnOnce(&mut Gradients<E, D>) + 'static) {
        self.ops.borrow_mut().push((out, Box::new(op)));
    }
    fn wants_grad(&self, id: TensorId) -> bool {
        !self.no_grad.borrow().contains(&id)
    }
}

/// The tape of a binary op's result: tracked if either input is.
pub trait Merge<Rhs> {
    /// The merged tape type.
    type Output;
    /// Merge the two tapes.
    fn merge(self, rhs: Rhs) -> Self::Output;
}

impl Merge<NoTape> for NoTape {
    type Output = NoTape;
    fn merge(self, _: NoTape) -> NoTape {
        NoTape
    }
}
impl<E: Dtype, D: Backend> Merge<NoTape> for Tape<E, D> {
    type Output = Tape<E, D>;
    fn merge(self, _: NoTape) -> Self {
        self
    }
}
impl<E: Dtype, D: Backend> Merge<Tape<E, D>> for NoTape {
    type Output = Tape<E, D>;
    fn merge(self, t: Tape<E, D>) -> Tape<E, D> {
        t
    }
}
impl<E: Dtype, D: Backend> Merge<Tape<E, D>> for Tape<E, D> {
    type Output = Tape<E, D>;
    fn merge(self, other: Tape<E, D>) -> Self {
        if !Rc::ptr_eq(&self.ops, &other.ops) {
            // Ops keep their output ids, and backward runs in id order, so
            // the order in which merged ops sit in the vector is irrelevant.
            let moved = core::mem::take(&mut *other.ops.borrow_mut());
            self.ops.borrow_mut().extend(moved);
            let no_grad = other.no_grad.borrow().clone();
            self.no_grad.borrow_mut().extend(no_grad);
        }
        self
    }
}
