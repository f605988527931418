//! The tape: backward closures recorded by ops on tracked tensors, the
//! training/evaluation mode the tensors carry, and the running-statistics
//! updates layers record in training.

use super::{Gradients, Mode, StatUpdate, TensorId};
use crate::backend::Backend;
use crate::dtype::Dtype;
use crate::shape::Shape;
use crate::tensor::Tensor;
use alloc::boxed::Box;
use alloc::collections::BTreeSet;
use alloc::rc::Rc;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::fmt;

/// A backward step: reads the gradient of its output, accumulates into its
/// inputs. `Fn`, not `FnOnce`, so a graph can be backpropagated more than
/// once when asked to (`backward_retain`).
pub(crate) type BackwardOp<E, D> = Box<dyn Fn(&mut Gradients<E, D>)>;

/// The shared part of a tape.
pub(crate) struct TapeInner<E: Dtype, D: Backend> {
    /// Recorded backward steps, keyed by the id of the tensor they produced.
    pub(crate) ops: Vec<(TensorId, BackwardOp<E, D>)>,
    /// Traced tensors whose own gradient nobody wants (training inputs,
    /// see `Tensor::trace_no_grad`): ops may skip computing it.
    pub(crate) no_grad: BTreeSet<TensorId>,
    /// Outputs whose backward step a consuming `backward()` already ran and
    /// freed: a gradient reaching one of them later cannot flow on.
    pub(crate) consumed: BTreeSet<TensorId>,
    /// Intermediate tensors whose gradient the user asked to keep
    /// (`Tensor::retain_grad`).
    pub(crate) retain: BTreeSet<TensorId>,
    /// Running-statistics updates recorded in training, with a stamp giving
    /// their order across merged tapes.
    pub(crate) updates: Vec<(TensorId, TensorId, StatUpdate<E, D>)>,
    /// Set once this tape was merged into another: everything recorded on
    /// it since lives there (tensors still holding this tape see the merged
    /// graph, so a backward from them is never partial).
    pub(crate) merged_into: Option<Rc<RefCell<TapeInner<E, D>>>>,
}

/// The tape of an untracked tensor: records nothing, costs nothing. Its mode
/// is always [`Mode::Eval`].
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct NoTape;

/// The tape of a tracked tensor. Tensors derived from one traced tensor share
/// it; when two tapes meet in a binary op they are merged. Tracked tensors are
/// not `Send` (the tape is a shared `Rc`): train on one thread and let the
/// kernels use the others.
///
/// Each tracked tensor also carries a [`Mode`] (training by default), which
/// layers read to decide between batch and running statistics, and whether
/// dropout drops.
pub struct Tape<E: Dtype, D: Backend> {
    pub(crate) inner: Rc<RefCell<TapeInner<E, D>>>,
    pub(crate) mode: Mode,
}

impl<E: Dtype, D: Backend> Clone for Tape<E, D> {
    fn clone(&self) -> Self {
        Tape {
            inner: self.inner.clone(),
            mode: self.mode,
        }
    }
}

impl<E: Dtype, D: Backend> Default for Tape<E, D> {
    /// An empty tape in training mode.
    fn default() -> Self {
        Tape {
            inner: Rc::new(RefCell::new(TapeInner {
                ops: Vec::new(),
                no_grad: BTreeSet::new(),
                consumed: BTreeSet::new(),
                retain: BTreeSet::new(),
                updates: Vec::new(),
                merged_into: None,
            })),
            mode: Mode::Train,
        }
    }
}

impl<E: Dtype, D: Backend> fmt::Debug for Tape<E, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Tape({} ops, {:?})",
            self.root().borrow().ops.len(),
            self.mode
        )
    }
}

impl<E: Dtype, D: Backend> Tape<E, D> {
    /// The shared graph this tape records into (following merges).
    pub(crate) fn root(&self) -> Rc<RefCell<TapeInner<E, D>>> {
        let mut at = self.inner.clone();
        loop {
            let next = at.borrow().merged_into.clone();
            match next {
                Some(n) => at = n,
                None => return at,
            }
        }
    }
    /// The same tape with another mode (the recorded graph is shared).
    pub fn with_mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }
    /// Number of recorded backward steps not yet consumed by a backward.
    pub fn len(&self) -> usize {
        self.root().borrow().ops.len()
    }
    /// `true` if no backward step is recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What an op needs from a tape: record a backward closure, or not.
///
/// This is the one bound a forward written generically over the tape needs
/// (`T: Tracking<E, D>`): it implies that a tensor on tape `T` combines with
/// an untracked one (a parameter) and with another on `T`, the result
/// staying on `T`.
///
/// ```
/// use typegrad::prelude::*;
/// fn affine<T: Tracking<f32, Cpu>>(
///     x: Tensor<(Dyn, u!(3)), f32, Cpu, T>,
///     w: &Tensor<(u!(3),), f32>,
/// ) -> Tensor<(Dyn, u!(3)), f32, Cpu, T> {
///     x.clone() * w.clone() + x // parameter and input, tracked or not
/// }
/// let dev = Cpu::default();
/// let w = Tensor::<(u!(3),), f32>::ones(Default::default(), &dev);
/// let x = Tensor::<(Dyn, u!(3)), f32>::ones((Dyn(2), Default::default()), &dev);
/// assert_eq!(affine(x.clone(), &w).to_vec(), vec![2.0; 6]);
/// let grads = affine(x.trace_no_grad(), &w).sum().backward();
/// assert_eq!(grads.get(&w).unwrap().to_vec(), vec![2.0; 3]);
/// ```
pub trait Tracking<E: Dtype, D: Backend>:
    Clone + fmt::Debug + Merge<NoTape, Output = Self> + Merge<Self, Output = Self>
{
    /// `true` for [`Tape`]: ops build backward closures only then.
    const TRACKED: bool;
    /// Record the backward step of the op that produced `out`.
    fn record(&self, out: TensorId, op: impl Fn(&mut Gradients<E, D>) + 'static);
    /// Whether a gradient for `id` is wanted: `false` without a tape and for
    /// tensors traced with `trace_no_grad`. Ops may skip work for it.
    fn wants_grad(&self, id: TensorId) -> bool;
    /// Training or evaluation: [`Mode::Eval`] without a tape.
    fn mode(&self) -> Mode;
    /// Record an update of the running statistic (buffer) `buffer`, applied
    /// when an optimizer steps the model that holds it (or by
    /// `ModuleExt::apply_stat_updates`). Dropped without a tape and in a
    /// mode that does not update statistics.
    fn record_stat_update(&self, buffer: TensorId, update: StatUpdate<E, D>);
    /// `t` on this tape: the same id and values, tracked if `self` is (see
    /// [`Tensor::tracked_like`]).
    fn join<S: Shape>(&self, t: &Tensor<S, E, D>) -> Tensor<S, E, D, Self>;
}

impl<E: Dtype, D: Backend> Tracking<E, D> for NoTape {
    const TRACKED: bool = false;
    #[inline]
    fn record(&self, _out: TensorId, _op: impl Fn(&mut Gradients<E, D>) + 'static) {}
    #[inline]
    fn wants_grad(&self, _id: TensorId) -> bool {
        false
    }
    #[inline]
    fn mode(&self) -> Mode {
        Mode::Eval
    }
    #[inline]
    fn record_stat_update(&self, _buffer: TensorId, _update: StatUpdate<E, D>) {}
    #[inline]
    fn join<S: Shape>(&self, t: &Tensor<S, E, D>) -> Tensor<S, E, D, Self> {
        t.clone()
    }
}

impl<E: Dtype, D: Backend> Tracking<E, D> for Tape<E, D> {
    const TRACKED: bool = true;
    fn record(&self, out: TensorId, op: impl Fn(&mut Gradients<E, D>) + 'static) {
        self.root().borrow_mut().ops.push((out, Box::new(op)));
    }
    fn wants_grad(&self, id: TensorId) -> bool {
        !self.root().borrow().no_grad.contains(&id)
    }
    fn mode(&self) -> Mode {
        self.mode
    }
    fn record_stat_update(&self, buffer: TensorId, update: StatUpdate<E, D>) {
        if self.mode == Mode::Train {
            let stamp = TensorId::new();
            self.root()
                .borrow_mut()
                .updates
                .push((stamp, buffer, update));
        }
    }
    fn join<S: Shape>(&self, t: &Tensor<S, E, D>) -> Tensor<S, E, D, Self> {
        t.clone().put_tape(self.clone())
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
    /// The two graphs become one: the left operand's tape absorbs the right
    /// one's, and the right one forwards to it from then on, so every tensor
    /// of either sees the whole graph. The result keeps the left operand's
    /// mode.
    fn merge(self, other: Tape<E, D>) -> Self {
        let (a, b) = (self.root(), other.root());
        if !Rc::ptr_eq(&a, &b) {
            // Ops keep their output ids, and backward runs in id order, so
            // the order in which merged ops sit in the vector is irrelevant.
            let mut o = b.borrow_mut();
            let mut s = a.borrow_mut();
            s.ops.append(&mut o.ops);
            let no_grad = core::mem::take(&mut o.no_grad);
            s.no_grad.extend(no_grad);
            let consumed = core::mem::take(&mut o.consumed);
            s.consumed.extend(consumed);
            let retain = core::mem::take(&mut o.retain);
            s.retain.extend(retain);
            s.updates.append(&mut o.updates);
            s.updates.sort_by_key(|u| u.0);
            o.merged_into = Some(a.clone());
        }
        self
    }
}
