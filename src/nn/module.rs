//! The `Module` trait: a layer or model maps an input to an output.

/// A layer or model applied to an input of type `X`.
///
/// A module may implement it for several inputs (batched and unbatched,
/// tracked and untracked tensors). Write the forward **once, generic over
/// the tape** (`T: Tracking<E, D>`): the same code evaluates an untracked
/// input at no bookkeeping cost and trains a tracked one.
///
/// - **Parameters in any op.** A layer's parameters are untracked tensors it
///   holds. An untracked tensor that meets a tracked one in an op
///   (`x * self.scale`, `x.matmul(self.w)`, `x + self.bias`) is a leaf of
///   the graph: its gradient is recorded under its own id, so
///   `grads.get(&layer.scale)` finds it and an optimizer trains it. A
///   parameter that goes through ops of its own before meeting the input
///   (`self.w.t()`, `self.log_std.exp()`, `self.pos.narrow(..)`) first
///   joins the input's tape with [`Tensor::tracked_like`](crate::tensor::Tensor::tracked_like).
/// - **Train vs eval is the input's [`Mode`](crate::autograd::Mode)**, carried by its tape: an
///   untracked input evaluates, a traced one (`x.trace()`,
///   `x.trace_no_grad()`) trains, and `x.trace().with_mode(Mode::Eval)`
///   evaluates while computing input gradients. There is no flag on the
///   model to forget. Running statistics (BatchNorm) are recorded on the
///   tape and applied when an optimizer steps the model, so `forward`
///   stays `&self`.
///
/// ```
/// use typegrad::prelude::*;
/// use typegrad::nn::Module;
///
/// #[derive(Module)]
/// struct ScaleShift {
///     scale: Tensor<(u!(3),), f32>,
///     shift: Tensor<(u!(3),), f32>,
/// }
/// impl<T: Tracking<f32, Cpu>> Module<Tensor<(Dyn, u!(3)), f32, Cpu, T>> for ScaleShift {
///     type Output = Tensor<(Dyn, u!(3)), f32, Cpu, T>;
///     fn forward(&self, x: Tensor<(Dyn, u!(3)), f32, Cpu, T>) -> Self::Output {
///         x * self.scale.clone() + self.shift.clone()
///     }
/// }
/// let dev = Cpu::default();
/// let layer = ScaleShift { scale: Tensor::full(Default::default(), 2.0, &dev), shift: Tensor::ones(Default::default(), &dev) };
/// let x: Tensor<(Dyn, u!(3)), f32> = Tensor::ones((Dyn(4), Default::default()), &dev);
/// assert_eq!(layer.forward(x.clone()).to_vec(), vec![3.0; 12]); // evaluation
/// let grads = layer.forward(x.trace_no_grad()).sum().backward(); // training
/// assert_eq!(grads.get(&layer.scale).unwrap().to_vec(), vec![4.0; 3]);
/// assert_eq!(grads.get(&layer.shift).unwrap().to_vec(), vec![4.0; 3]);
/// ```
pub trait Module<X> {
    /// The output type (its shape is computed by the compiler).
    type Output;
    /// Apply the module.
    fn forward(&self, x: X) -> Self::Output;
}
