//! [`Tensor`]: a shape, a dtype, a device and a tape, all in the type.

mod construct;
mod debug;

use crate::autograd::{Gradients, Mode, NoTape, Tape, TensorId, Tracking};
use crate::backend::{Backend, Cpu, Device};
use crate::dtype::{Dtype, Elem};
use crate::shape::{Dims, Shape};
use alloc::vec::Vec;

/// An n-dimensional array whose shape `S` is a tuple of dims, elements `E`,
/// on device `D`, with tape `T` ([`NoTape`] or [`Tape`]).
///
/// Tensors are immutable values; `clone` is cheap (the storage is shared).
///
/// ```
/// use typegrad::prelude::*;
/// let dev = Cpu::default();
/// let a: Tensor<(u!(2), u!(3))> = Tensor::ones(Default::default(), &dev);
/// let b: Tensor<(u!(3), u!(4))> = Tensor::full(Default::default(), 2.0, &dev);
/// let c = a.matmul(b); // Tensor<(U2, U4)>: a (2,3) x (4,3) product would not compile
/// assert_eq!(c.to_vec(), vec![6.0; 8]);
/// ```
///
/// Reductions over the whole tensor give a scalar `Tensor<()>`; along an
/// axis (a const generic, checked at compile time) they remove that axis:
///
/// ```
/// use typegrad::prelude::*;
/// let x = Tensor::<(u!(2), u!(3)), f32>::from_vec_static(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &Cpu::default());
/// assert_eq!(x.clone().sum().item(), 21.0);
/// assert_eq!(x.clone().mean().item(), 3.5);
/// let col_max: Tensor<(u!(3),), f32> = x.clone().max_axis::<0>(); // axis 0 removed
/// assert_eq!(col_max.to_vec(), vec![4.0, 5.0, 6.0]);
/// let row_var: Tensor<(u!(2),), f32> = x.clone().var_axis::<1>(); // population variance
/// assert_eq!(row_var.to_vec(), vec![2.0 / 3.0; 2]);
/// let probs = x.softmax::<1>(); // same shape; each row sums to 1
/// assert!((probs.sum_axis::<1>().to_vec()[0] - 1.0).abs() < 1e-6);
/// ```
pub struct Tensor<S: Shape, E: Elem = f32, D: Backend = Cpu, T = NoTape> {
    pub(crate) id: TensorId,
    pub(crate) shape: S,
    pub(crate) data: D::Storage<E>,
    pub(crate) device: D,
    pub(crate) tape: T,
}

impl<S: Shape, E: Elem, D: Backend, T: Clone> Clone for Tensor<S, E, D, T> {
    fn clone(&self) -> Self {
        Tensor {
            id: self.id,
            shape: self.shape,
            data: self.data.clone(),
            device: self.device.clone(),
            tape: self.tape.clone(),
        }
    }
}

impl<S: Shape, E: Elem, D: Backend, T> Tensor<S, E, D, T> {
    /// The shape value.
    pub fn shape(&self) -> S {
        self.shape
    }
    /// The runtime sizes.
    pub fn dims(&self) -> Dims {
        self.shape.dims()
    }
    /// Number of elements.
    pub fn numel(&self) -> usize {
        self.shape.numel()
    }
    /// The device.
    pub fn device(&self) -> &D {
        &self.device
    }
    /// The id gradients are keyed by.
    pub fn id(&self) -> TensorId {
        self.id
    }
    /// The values, row-major, copied to the host.
    pub fn to_vec(&self) -> Vec<E> {
        self.device.download(&self.data)
    }
    /// The device buffer.
    pub fn storage(&self) -> &D::Storage<E> {
        &self.data
    }
    /// The same values as a new, untracked leaf: a **stop-gradient**. The
    /// result has a fresh id, so no gradient that reaches it flows back
    /// into the graph that computed `self`, even if it is traced again and
    /// used in the same graph (truncated backpropagation through time,
    /// target networks, a GAN's generated images in the discriminator's
    /// step). The storage is shared, not copied.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let dev = Cpu::default();
    /// let x: Tensor<(u!(2),), f64> = Tensor::from_vec_static(vec![1.0, 3.0], &dev);
    /// let xt = x.clone().trace();
    /// let c = xt.clone().square().detach(); // a constant x², not a function of x
    /// let grads = (xt * c).sum().backward(); // d/dx (x · c) = c
    /// assert_eq!(grads.get(&x).unwrap().to_vec(), vec![1.0, 9.0]);
    /// ```
    pub fn detach(&self) -> Tensor<S, E, D> {
        Tensor {
            id: TensorId::new(),
            shape: self.shape,
            data: self.data.clone(),
            device: self.device.clone(),
            tape: NoTape,
        }
    }
    /// The tape.
    pub fn tape(&self) -> &T {
        &self.tape
    }
    /// A tensor from a device buffer (length checked against the shape).
    pub fn from_storage(shape: S, data: D::Storage<E>, device: D) -> Tensor<S, E, D> {
        assert_eq!(
            device.len(&data),
            shape.numel(),
            "from_storage: buffer of {} elements for shape {:?}",
            device.len(&data),
            shape.dims()
        );
        Tensor {
            id: TensorId::new(),
            shape,
            data,
            device,
            tape: NoTape,
        }
    }
    /// Same data, another shape value with the same element count (internal).
    pub(crate) fn with_shape<S2: Shape>(self, shape: S2) -> Tensor<S2, E, D, T> {
        debug_assert_eq!(shape.numel(), self.shape.numel());
        Tensor {
            id: self.id,
            shape,
            data: self.data,
            device: self.device,
            tape: self.tape,
        }
    }
}

impl<S: Shape, E: Elem, D: Backend> Tensor<S, E, D, NoTape> {
    /// A tracked copy of this tensor (same id) on a fresh tape: ops on it
    /// record their backward, and `backward()` on a scalar result computes
    /// gradients for it.
    pub fn trace(self) -> Tensor<S, E, D, Tape<E, D>>
    where
        E: Dtype,
    {
        self.put_tape(Tape::default())
    }
    /// A tracked copy of this tensor whose own gradient is not wanted: the
    /// ops that follow are recorded (training mode: dropout drops, layers
    /// record their parameters' gradients), but ops may skip computing the
    /// gradient of this tensor itself, and `grads.get` may return `None` for
    /// it. This is what a training batch needs: the first layer then skips
    /// its input gradient, about a quarter of an MLP step.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::nn::{Linear, Module};
    /// let dev = Cpu::default();
    /// let layer: Linear<u!(3), u!(2), f64> = Linear::new(&dev);
    /// let x: Tensor<(Dyn, u!(3)), f64> = Tensor::ones((Dyn(4), Default::default()), &dev);
    /// let grads = layer.forward(x.clone().trace_no_grad()).sum().backward();
    /// assert!(grads.get(&layer.weight).is_some());
    /// assert!(grads.get(&x).is_none());
    /// ```
    pub fn trace_no_grad(self) -> Tensor<S, E, D, Tape<E, D>>
    where
        E: Dtype,
    {
        let tape = Tape::default();
        tape.root().borrow_mut().no_grad.insert(self.id);
        self.put_tape(tape)
    }
    /// This tensor (a layer's parameter, say) on the tape of `x`: tracked,
    /// with `x`'s mode, if `x` is tracked; untracked, at no cost, if not. The
    /// id is kept, so every op on the result records the gradient of this
    /// very tensor, and `grads.get(&param)` finds it.
    ///
    /// This is how a layer's forward, written once and generic over the
    /// tape, trains parameters that go through ops of their own before they
    /// meet the input (`self.pos.narrow(..)`, `self.log_std.exp()`). A
    /// parameter that meets a tracked input directly (`x * self.scale`,
    /// `x.matmul(self.w)`) needs nothing: an untracked operand of an op on a
    /// tracked tensor gets its gradient recorded under its own id.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let dev = Cpu::default();
    /// let log_scale: Tensor<(u!(2),), f64> = Tensor::zeros(Default::default(), &dev);
    /// let x: Tensor<(u!(2),), f64> = Tensor::from_vec_static(vec![1.0, 2.0], &dev);
    /// let forward = |x: Tensor<(u!(2),), f64, Cpu, Tape<f64, Cpu>>| {
    ///     let scale = log_scale.tracked_like(&x).exp(); // recorded: exp of a parameter
    ///     x * scale
    /// };
    /// let grads = forward(x.trace_no_grad()).sum().backward();
    /// assert_eq!(grads.get(&log_scale).unwrap().to_vec(), vec![1.0, 2.0]); // x · e⁰
    /// ```
    pub fn tracked_like<S2: Shape, T: Tracking<E, D>>(
        &self,
        x: &Tensor<S2, E, D, T>,
    ) -> Tensor<S, E, D, T>
    where
        E: Dtype,
    {
        x.tape.join(self)
    }
    /// A tracked copy of this tensor on the given tape.
    pub fn trace_into(self, tape: &Tape<E, D>) -> Tensor<S, E, D, Tape<E, D>>
    where
        E: Dtype,
    {
        self.put_tape(tape.clone())
    }
}

impl<S: Shape, E: Elem, D: Backend, T> Tensor<S, E, D, T> {
    /// Replace the tape (internal plumbing for ops).
    pub(crate) fn put_tape<T2>(self, tape: T2) -> Tensor<S, E, D, T2> {
        Tensor {
            id: self.id,
            shape: self.shape,
            data: self.data,
            device: self.device,
            tape,
        }
    }
    /// Split off the tape (internal plumbing for ops).
    pub(crate) fn split_tape(self) -> (Tensor<S, E, D>, T) {
        let t = Tensor {
            id: self.id,
            shape: self.shape,
            data: self.data,
            device: self.device,
            tape: NoTape,
        };
        (t, self.tape)
    }
}

impl<S: Shape, E: Dtype, D: Backend, T: Tracking<E, D>> Tensor<S, E, D, T> {
    /// The tensor's [`Mode`]: [`Mode::Eval`] when untracked, the tape's mode
    /// when tracked (`trace()` starts in [`Mode::Train`]).
    pub fn mode(&self) -> Mode {
        self.tape.mode()
    }
}

impl<S: Shape, E: Dtype, D: Backend> Tensor<S, E, D, Tape<E, D>> {
    /// Keep this intermediate tensor's gradient in the [`Gradients`] of a
    /// backward (as PyTorch's `retain_grad()`); by default only the
    /// gradients of leaves (parameters, traced inputs) are kept, and those
    /// of intermediate tensors are freed as soon as they are consumed.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let x: Tensor<(u!(2),), f64> = Tensor::from_vec_static(vec![1.0, 2.0], &Cpu::default());
    /// let h = x.trace().square().retain_grad();
    /// let grads = (h.clone() * 3.0).sum().backward();
    /// assert_eq!(grads.get(&h).unwrap().to_vec(), vec![3.0, 3.0]);
    /// ```
    pub fn retain_grad(self) -> Self {
        self.tape.root().borrow_mut().retain.insert(self.id);
        self
    }

    /// The same tracked tensor in another [`Mode`]: `Mode::Eval` evaluates
    /// (dropout off, running statistics) while still computing gradients,
    /// for saliency maps and adversarial examples; `Mode::TrainKeepStats`
    /// trains without recording running-statistics updates.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::nn::{Dropout, Module};
    /// let dev = Cpu::seeded(0);
    /// let x: Tensor<(u!(100),), f64> = Tensor::ones(Default::default(), &dev);
    /// let y = Dropout::new(0.5).forward(x.clone().trace().with_mode(Mode::Eval));
    /// assert_eq!(y.to_vec(), vec![1.0; 100]); // evaluation: no dropout
    /// let grads = y.sum().backward();
    /// assert_eq!(grads.get(&x).unwrap().to_vec(), vec![1.0; 100]); // input gradient
    /// ```
    pub fn with_mode(self, mode: Mode) -> Self {
        let tape = self.tape.clone().with_mode(mode);
        self.put_tape(tape)
    }
}

impl<E: Elem, D: Backend, T> Tensor<(), E, D, T> {
    /// The value of a scalar tensor (of any element type: a loss, an
    /// `argmax()` index).
    pub fn item(&self) -> E {
        self.to_vec()[0]
    }
}

impl<E: Dtype, D: Device<E>> Tensor<(), E, D, Tape<E, D>> {
    /// Backpropagate from this scalar: the gradient of it with respect to
    /// every tensor it depends on (parameters included, under their ids).
    ///
    /// The backward steps it runs are freed as they run (with the saved
    /// activations they hold), so a **second backward through the same part
    /// of the graph panics** with a clear message; backward passes through
    /// parts of a graph that do not overlap are fine. To backpropagate
    /// several outputs that share a trunk one at a time, use
    /// [`backward_retain`](Self::backward_retain) for all but the last (as
    /// PyTorch's `retain_graph=True`), or sum the losses.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let dev = Cpu::default();
    /// let x: Tensor<(u!(2),), f64> = Tensor::from_vec_static(vec![1.0, 2.0], &dev);
    /// let h = x.clone().trace().square(); // the shared trunk
    /// let g1 = h.clone().sum().backward_retain(); // keeps the graph
    /// let g2 = (h * 3.0).sum().backward(); // frees it
    /// assert_eq!(g1.get(&x).unwrap().to_vec(), vec![2.0, 4.0]);
    /// assert_eq!(g2.get(&x).unwrap().to_vec(), vec![6.0, 12.0]);
    /// ```
    #[track_caller]
    pub fn backward(self) -> Gradients<E, D> {
        self.try_backward().unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`backward`](Self::backward), keeping the graph so that other
    /// outputs of it can be backpropagated afterwards.
    #[track_caller]
    pub fn backward_retain(self) -> Gradients<E, D> {
        let one = Tensor::full((), E::one(), &self.device);
        self.try_backward_impl(one, true)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Fallible [`backward`](Self::backward): an error instead of a panic
    /// when part of the graph was freed by an earlier backward.
    pub fn try_backward(self) -> Result<Gradients<E, D>, crate::shape::Error> {
        let one = Tensor::full((), E::one(), &self.device);
        self.try_backward_impl(one, false)
    }
}

impl<S: Shape, E: Dtype, D: Device<E>> Tensor<S, E, D, Tape<E, D>> {
    /// Backpropagate a given output gradient (a vector-Jacobian product, as
    /// PyTorch's `y.backward(gradient)`): the gradients are those of
    /// `sum(self * grad_output)`. Frees the graph it runs through, as
    /// [`Tensor::backward`].
    #[track_caller]
    pub fn backward_from(self, grad_output: Tensor<S, E, D>) -> Gradients<E, D> {
        self.try_backward_impl(grad_output, false)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`backward_from`](Self::backward_from), keeping the graph.
    #[track_caller]
    pub fn backward_from_retain(self, grad_output: Tensor<S, E, D>) -> Gradients<E, D> {
        self.try_backward_impl(grad_output, true)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn try_backward_impl(
        self,
        grad_output: Tensor<S, E, D>,
        retain: bool,
    ) -> Result<Gradients<E, D>, crate::shape::Error> {
        let mut grads = Gradients::new(self.device.clone());
        grads.accumulate(self.id, grad_output.data);
        let root = self.tape.root();
        drop(self);
        let (mut ops, updates) = {
            let mut inner = root.borrow_mut();
            grads.retain = inner.retain.clone();
            (
                core::mem::take(&mut inner.ops),
                core::mem::take(&mut inner.updates),
            )
        };
        // Ids grow in creation order: reverse id order is a valid reverse
        // topological order, whichever tapes the ops were merged from.
        ops.sort_by_key(|(id, _)| *id);
        let mut kept = alloc::vec::Vec::new();
        let mut consumed = alloc::vec::Vec::new();
        // Only the steps whose output got a gradient run; the others belong
        // to other outputs of the graph and stay recorded.
        while let Some((id, op)) = ops.pop() {
            if grads.map.contains_key(&id) {
                op(&mut grads);
                if retain {
                    kept.push((id, op));
                } else {
                    // Dropping the closure frees what it saved.
                    drop(op);
                    consumed.push(id);
                }
            } else {
                kept.push((id, op));
            }
        }
        kept.reverse();
        let mut inner = root.borrow_mut();
        // A gradient left on an id whose step an earlier backward consumed
        // could not flow on: the result would be partial.
        let freed = grads.map.keys().any(|id| inner.consumed.contains(id));
        kept.append(&mut inner.ops);
        inner.ops = kept;
        inner.consumed.extend(consumed);
        if freed {
            inner.updates = updates;
            return Err(crate::shape::Error::Invalid(
                "backward: this output depends on part of a graph that an earlier backward() already ran and freed; \
                 call backward_retain() for all but the last of several backward passes through a shared graph, or sum the losses",
            ));
        }
        // Statistics updates belong to the forward pass: the first backward
        // takes them, retained graph or not, so they are applied once.
        grads.updates = updates.into_iter().map(|(_, id, u)| (id, u)).collect();
        Ok(grads)
    }
}

/// Helper for op implementations: the result of an op, with the tape moved
/// over and the backward recorded if tracked.
pub(crate) fn op_result<S2: Shape, E: Dtype, D: Device<E>, T: Tracking<E, D>>(
    out_shape: S2,
    data: D::Storage<E>,
    device: D,
    tape: T,
    backward: impl Fn(&mut crate::autograd::Gradients<E, D>, &D::Storage<E>) + 'static,
) -> Tensor<S2, E, D, T> {
    let id = TensorId::new();
    if T::TRACKED {
        tape.record(id, move |g| {
            // The output's gradient is consumed (and freed) here.
            if let Some(gy) = g.take(id) {
                backward(g, &gy);
            }
        });
    }
    Tensor {
        id,
        shape: out_shape,
        data,
        device,
        tape,
    }
}
