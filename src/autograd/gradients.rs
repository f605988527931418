//! Gradients: one buffer per tensor id, with the tensor's shape on lookup.

use super::TensorId;
use crate::backend::{Backend, Device};
use crate::dtype::Dtype;
use crate::shape::Shape;
use crate::tensor::Tensor;
use alloc::collections::BTreeMap;

/// The gradients computed by `backward()`, looked up by tensor.
///
/// ```
/// use typegrad::prelude::*;
/// let dev = Cpu::default();
/// let x: Tensor<(u!(3),), f64> = Tensor::from_vec(Default::default(), vec![1.0, 2.0, 3.0], &dev);
/// let grads = x.clone().trace().square().sum().backward();
/// assert_eq!(grads.get(&x).unwrap().to_vec(), vec![2.0, 4.0, 6.0]);
/// ```
pub struct Gradients<E: Dtype, D: Backend> {
    pub(crate) device: D,
    pub(crate) map: BTreeMap<TensorId, D::Storage<E>>,
}

impl<E: Dtype, D: Backend> Gradients<E, D> {
    pub(crate) fn new(device: D) -> Self {
        Gradients {
            device,
            map: BTreeMap::new(),
        }
    }
}

impl<E: Dtype, D: Device<E>> Gradients<E, D> {
    /// The gradient of `t` (same shape, untracked), or `None` if the loss
    /// does not depend on `t`.
    pub fn get<S: Shape, T>(&self, t: &Tensor<S, E, D, T>) -> Option<Tensor<S, E, D>> {
        self.map
            .get(&t.id)
            .map(|g| Tensor::<S, E, D>::from_storage(t.shape, g.clone(), self.device.clone()))
    }

    /// The gradient of `t`, zeros if the loss does not depend on it.
    pub fn get_or_zeros<S: Shape, T>(&self, t: &Tensor<S, E, D, T>) -> Tensor<S, E, D> {
        self.get(t)
            .unwrap_or_else(|| Tensor::zeros(t.shape, &self.device))
    }

    /// Number of tensors with a gradient.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// `true` if nothing has a gradient.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Gradient buffer of an id (for backward closures).
    pub(crate) fn storage(&self, id: TensorId) -> Option<&D::Storage<E>> {
        self.map.get(&id)
    }

    /// Add `g` into the gradient of `id`.
    pub(crate) fn accumulate(&mut self, id: TensorId, g: D::Storage<E>) {
        match self.map.get_mut(&id) {
            Some(acc) => self.device.add_assign(acc, &g),
            None => {
                self.map.insert(id, g);
            }
        }
    }
}
