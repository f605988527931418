//! Gradient clipping by the global norm over all of a model's parameters
//! (PyTorch's `torch.nn.utils.clip_grad_norm_`).

use crate::autograd::{Gradients, TensorId};
use crate::backend::Device;
use crate::dtype::Dtype;
use crate::nn::{ParamPath, Params};
use crate::shape::Error;
use alloc::collections::BTreeSet;

/// The ids of `model`'s parameters that have a gradient, each once.
fn param_ids<E: Dtype, D: Device<E>>(
    model: &dyn Params<E, D>,
    grads: &Gradients<E, D>,
) -> BTreeSet<TensorId> {
    let mut ids = BTreeSet::new();
    model.visit_params(&mut ParamPath::default(), &mut |_, p| {
        if grads.map.contains_key(&p.id) {
            ids.insert(p.id);
        }
    });
    ids
}

/// The L2 norm of all of `model`'s parameter gradients taken together
/// (`√Σ g²` over every element of every parameter with a gradient; a
/// parameter reached twice counts once). Gradients of non-parameters (the
/// loss, activations) in `grads` are not counted.
///
/// ```
/// use typegrad::prelude::*;
/// use typegrad::optim::grad_norm;
/// let dev = Cpu::default();
/// let a: Tensor<(u!(2),), f64> = Tensor::from_vec_static(vec![1.5, 0.0], &dev);
/// let b: Tensor<(u!(1),), f64> = Tensor::from_vec_static(vec![2.0], &dev);
/// let loss = a.clone().trace().square().sum() + b.clone().trace().square().sum();
/// let grads = loss.backward(); // (3, 0) and (4)
/// assert_eq!(grad_norm(&(a, b), &grads), 5.0);
/// ```
pub fn grad_norm<E: Dtype, D: Device<E>>(model: &dyn Params<E, D>, grads: &Gradients<E, D>) -> f64 {
    let mut sum = 0.0;
    for id in param_ids(model, grads) {
        sum += grads.device.sum_squares(&grads.map[&id]);
    }
    libm::sqrt(sum)
}

/// Scale the gradients of all of `model`'s parameters so that their global
/// L2 norm is at most `max_norm`, and return the norm before clipping.
///
/// As PyTorch: with `total` the norm ([`grad_norm`]), every parameter
/// gradient is multiplied by `max_norm / (total + 1e-6)` when that factor is
/// below 1, and left alone otherwise. If `total` is NaN or infinite the
/// gradients are left unchanged (PyTorch would fill them with NaN) and the
/// non-finite norm is returned, so the caller can skip the step. Errors if
/// `max_norm` is negative or not finite.
///
/// ```
/// use typegrad::prelude::*;
/// use typegrad::optim::clip_grad_norm;
/// let dev = Cpu::default();
/// let w: Tensor<(u!(2),), f64> = Tensor::from_vec_static(vec![1.5, 2.0], &dev);
/// let mut grads = w.clone().trace().square().sum().backward(); // (3, 4)
/// let total = clip_grad_norm(&w, &mut grads, 1.0).unwrap();
/// assert_eq!(total, 5.0);
/// let g = grads.get(&w).unwrap().to_vec();
/// assert!((g[0] - 0.6).abs() < 1e-6 && (g[1] - 0.8).abs() < 1e-6);
/// ```
pub fn clip_grad_norm<E: Dtype, D: Device<E>>(
    model: &dyn Params<E, D>,
    grads: &mut Gradients<E, D>,
    max_norm: f64,
) -> Result<f64, Error> {
    if !(max_norm.is_finite() && max_norm >= 0.0) {
        return Err(Error::Invalid(
            "clip_grad_norm: max_norm must be finite and >= 0",
        ));
    }
    let ids = param_ids(model, grads);
    let mut sum = 0.0;
    for id in &ids {
        sum += grads.device.sum_squares(&grads.map[id]);
    }
    let total = libm::sqrt(sum);
    if !total.is_finite() {
        return Ok(total);
    }
    let coef = max_norm / (total + 1e-6);
    if coef < 1.0 {
        let factor = E::from_f64(coef);
        let dev = grads.device.clone();
        for id in &ids {
            if let Some(g) = grads.map.get_mut(id) {
                dev.scale_assign(g, factor);
            }
        }
    }
    Ok(total)
}
