//! [`Tensor`]: a shape, a dtype, a device and a tape, all in the type.

mod construct;
mod debug;

use crate::autograd::{NoTape, Tape, TensorId, Tracking};
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
    /// The same values without a tape (gradients do not flow through).
    pub fn detach(&self) -> Tensor<S, E, D> {
        Tensor {
            id: self.id,
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
        tape.no_grad.borrow_mut().insert(self.id);
        self.put_tape(tape)
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

impl<E: Elem, D: Backend, T> Tensor<(), E, D, T> {
    /// The value of a scalar tensor (of any element type: a loss, an
    /// `argmax()` index).
    pub fn item(&self) -> E {
        self.to_vec()[0]
    }
}

impl<E: Dtype, D: Device<E>> Tensor<(), E, D, Tape<E, D>> {
    /// Backpropagate from this scalar: the gradient of it with respect to
    /// every tracked tensor it depends on.
    pub fn backward(self) -> crate::autograd::Gradients<E, D> {
        let one = Tensor::full((), E::one(), &self.device);
        self.backward_from(one)
    }
}

impl<S: Shape, E: Dtype, D: Device<E>> Tensor<S, E, D, Tape<E, D>> {
    /// Backpropagate a given output gradient (a vector-Jacobian product, as
    /// PyTorch's `y.backward(gradient)`): the gradients are those of
    /// `sum(self * grad_output)`.
    pub fn backward_from(self, grad_output: Tensor<S, E, D>) -> crate::autograd::Gradients<E, D> {
        let mut grads = crate::autograd::Gradients::new(self.device.clone());
        grads.accumulate(self.id, grad_output.data);
        let mut ops = core::mem::take(&mut *self.tape.ops.borrow_mut());
        // Ids grow in creation order: reverse id order is a valid reverse
        // topological order, whichever tapes the ops were merged from.
        ops.sort_by_key(|(id, _)| *id);
        while let Some((_, op)) = ops.pop() {
            op(&mut grads);
        }
        grads
    }
}

/// Helper for op implementations: the result of an op, with the tape moved
/// over and the backward recorded if tracked.
pub(crate) fn op_result<S2: Shape, E: Dtype, D: Device<E>, T: Tracking<E, D>>(
    out_shape: S2,
    data: D::Storage<E>,
    device: D,
    tape: T,
    backward: impl FnOnce(&mut crate::autograd::Gradients<E, D>, &D::Storage<E>) + 'static,
) -> Tensor<S2, E, D, T> {
    let id = TensorId::new();
    if T::TRACKED {
        tape.record(id, move |g| {
            if let Some(gy) = g.storage(id).cloned() {
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
