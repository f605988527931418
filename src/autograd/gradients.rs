//! Gradients: one buffer per tensor id, with the tensor's shape on lookup.

use super::{StatUpdate, TensorId};
use crate::backend::{Backend, Device};
use crate::dtype::Dtype;
use crate::nn::{ParamKind, ParamPath, Params};
use crate::shape::Shape;
use crate::tensor::Tensor;
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::String;
use alloc::vec::Vec;

/// The gradients computed by `backward()`, looked up by tensor.
///
/// It holds the gradients of the *leaves* of the graph: parameters (under
/// their own ids, whichever ops used them) and traced inputs. Gradients of
/// intermediate tensors are freed as soon as the backward step that reads
/// them has run. It also carries the running-statistics updates recorded by
/// layers in training ([`StatUpdate`]), which an optimizer applies to the
/// model it steps.
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
    /// `(buffer id, update)` in recording order.
    pub(crate) updates: Vec<(TensorId, StatUpdate<E, D>)>,
    /// Intermediate ids whose gradient is kept (`Tensor::retain_grad`).
    pub(crate) retain: BTreeSet<TensorId>,
}

impl<E: Dtype, D: Backend> Gradients<E, D> {
    pub(crate) fn new(device: D) -> Self {
        Gradients {
            device,
            map: BTreeMap::new(),
            updates: Vec::new(),
            retain: BTreeSet::new(),
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

    /// The gradient buffer of a tensor id (for code that walks a model's
    /// parameters by id, such as [`Params::visit_params`]), or `None`.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let dev = Cpu::default();
    /// let x: Tensor<(u!(2),), f64> = Tensor::from_vec_static(vec![1.0, 2.0], &dev);
    /// let grads = x.clone().trace().sum().backward();
    /// assert_eq!(dev.download(grads.by_id(x.id()).unwrap()), vec![1.0, 1.0]);
    /// ```
    pub fn by_id(&self, id: TensorId) -> Option<&D::Storage<E>> {
        self.map.get(&id)
    }

    /// Remove and return the gradient of `id` (backward steps consume the
    /// gradient of their output, which frees it).
    pub(crate) fn take(&mut self, id: TensorId) -> Option<D::Storage<E>> {
        if self.retain.contains(&id) {
            self.map.get(&id).cloned()
        } else {
            self.map.remove(&id)
        }
    }

    /// The names of the parameters of `model` that got no gradient: the
    /// loss does not depend on them (a frozen part, an unused head), or a
    /// layer's forward used them in a way the tape did not see.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let dev = Cpu::default();
    /// let model: (Tensor<(u!(2),), f64>, Tensor<(u!(2),), f64>) =
    ///     (Tensor::ones(Default::default(), &dev), Tensor::ones(Default::default(), &dev));
    /// let x: Tensor<(u!(2),), f64> = Tensor::ones(Default::default(), &dev);
    /// let grads = (x.trace_no_grad() * model.0.clone()).sum().backward();
    /// assert_eq!(grads.params_without_grad(&model), vec!["1".to_string()]);
    /// ```
    pub fn params_without_grad<M: Params<E, D> + ?Sized>(&self, model: &M) -> Vec<String> {
        let mut out = Vec::new();
        model.visit_params(&mut ParamPath::default(), &mut |path, p| {
            if p.kind == ParamKind::Param && !self.map.contains_key(&p.id) {
                out.push(path.name());
            }
        });
        out
    }

    /// Number of running-statistics updates recorded in training.
    pub fn num_stat_updates(&self) -> usize {
        self.updates.len()
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

impl<E: Dtype, D: Backend> core::fmt::Debug for Gradients<E, D> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "Gradients({} tensors, {} statistics updates)",
            self.map.len(),
            self.updates.len()
        )
    }
}
