//! The `Module` trait: a layer or model maps an input to an output.

/// A layer or model applied to an input of type `X`.
///
/// A module may implement it for several inputs (batched and unbatched,
/// tracked and untracked tensors). **Train vs eval is decided by the input's
/// tape**: a tracked input (`Tape`) means training (dropout drops), an
/// untracked input (`NoTape`) means evaluation (dropout is the identity), so
/// evaluating with training behaviour cannot happen by forgetting a flag.
///
/// ```
/// use typegrad::prelude::*;
/// use typegrad::nn::Module;
///
/// struct Double;
/// impl<S: Shape> Module<Tensor<S, f32>> for Double {
///     type Output = Tensor<S, f32>;
///     fn forward(&self, x: Tensor<S, f32>) -> Self::Output {
///         x * 2.0
///     }
/// }
/// let y = Double.forward(Tensor::<(u!(2),)>::ones(Default::default(), &Cpu::default()));
/// assert_eq!(y.to_vec(), vec![2.0, 2.0]);
/// ```
pub trait Module<X> {
    /// The output type (its shape is computed by the compiler).
    type Output;
    /// Apply the module.
    fn forward(&self, x: X) -> Self::Output;
}
