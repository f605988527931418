//! [`Buffer`]: a tensor a model carries without training it (running
//! statistics), saved and loaded with the parameters.

use super::params::{ParamKind, ParamMut, ParamPath, ParamRef, Params};
use crate::backend::Backend;
use crate::dtype::Dtype;
use crate::shape::Shape;
use crate::tensor::Tensor;
use core::ops::Deref;

/// A model tensor that is not a parameter: optimizers do not train it and
/// [`Params::num_params`] does not count it, but checkpoints save and load
/// it and `move_to_device` moves it (PyTorch's `register_buffer`). Layers
/// change it only through [`crate::autograd::StatUpdate`]s recorded in
/// training and applied when the model is stepped, so `forward` stays
/// `&self`.
///
/// ```
/// use typegrad::prelude::*;
/// use typegrad::nn::{Buffer, Params};
/// let running_mean: Buffer<(u!(3),), f32> = Buffer::new(Tensor::zeros(Default::default(), &Cpu::default()));
/// assert_eq!(running_mean.to_vec(), vec![0.0; 3]); // derefs to the tensor
/// assert_eq!(running_mean.num_params(), 0);
/// assert_eq!(running_mean.buffer_names().len(), 1);
/// ```
#[derive(Clone, Debug)]
pub struct Buffer<S: Shape, E: Dtype = f32, D: Backend = crate::backend::Cpu>(
    Tensor<S, E, D>,
    ParamKind,
);

impl<S: Shape, E: Dtype, D: Backend> Buffer<S, E, D> {
    /// Wrap a tensor (its id is kept).
    pub fn new(t: Tensor<S, E, D>) -> Self {
        Buffer(t, ParamKind::Buffer)
    }
    /// Wrap a tensor holding a whole count ([`ParamKind::Counter`]), such
    /// as BatchNorm's `num_batches_tracked`: checkpoints store it as an
    /// `I64`, as PyTorch does.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::nn::{Buffer, Params, ParamKind, ParamPath};
    /// let n: Buffer<(), f32> = Buffer::counter(Tensor::zeros((), &Cpu::default()));
    /// let mut kinds = Vec::new();
    /// n.visit_params(&mut ParamPath::default(), &mut |_, p| kinds.push(p.kind));
    /// assert_eq!(kinds, [ParamKind::Counter]);
    /// assert_eq!(n.buffer_names().len(), 1);
    /// ```
    pub fn counter(t: Tensor<S, E, D>) -> Self {
        Buffer(t, ParamKind::Counter)
    }
    /// The tensor.
    pub fn tensor(&self) -> &Tensor<S, E, D> {
        &self.0
    }
    /// Unwrap.
    pub fn into_tensor(self) -> Tensor<S, E, D> {
        self.0
    }
}

impl<S: Shape, E: Dtype, D: Backend> Deref for Buffer<S, E, D> {
    type Target = Tensor<S, E, D>;
    fn deref(&self) -> &Tensor<S, E, D> {
        &self.0
    }
}

impl<S: Shape, E: Dtype, D: Backend> Params<E, D> for Buffer<S, E, D> {
    fn visit_params(
        &self,
        path: &mut ParamPath,
        f: &mut dyn FnMut(&ParamPath, ParamRef<'_, E, D>),
    ) {
        self.0.visit_as(self.1, path, f)
    }
    fn visit_params_mut(
        &mut self,
        path: &mut ParamPath,
        f: &mut dyn FnMut(&ParamPath, ParamMut<'_, E, D>),
    ) {
        self.0.visit_as_mut(self.1, path, f)
    }
    fn move_to_device(&mut self, device: &D) {
        self.0.move_to_device(device)
    }
}
