//! Optimizers (SGD, Adam, AdamW), gradient-norm clipping and learning-rate
//! schedules.
//!
//! An optimizer updates every parameter of a model (anything implementing
//! [`Params`], e.g. a `#[derive(Module)]` struct or a tuple of tensors) from
//! the [`Gradients`] of one `backward()`. Its state (momentum buffers, Adam
//! moments, step counts) is kept per parameter, keyed by the parameter's id,
//! and created the first time that parameter has a gradient. Parameters with
//! no gradient in `grads` are skipped entirely, state included (as PyTorch
//! skips parameters whose `.grad` is `None`).
//!
//! The update of each parameter is one fused kernel on the parameter's device
//! ([`OptimKernel`]): nothing goes through the host.
//!
//! A training loop with gradient clipping and a warm-up + cosine schedule:
//!
//! ```
//! use typegrad::prelude::*;
//! use typegrad::optim::{clip_grad_norm, CosineAnnealing, LinearWarmup, Optimizer, Schedule, Sgd, SgdConfig};
//!
//! let dev = Cpu::default();
//! // Fit y = 2x + 1 with a (weight, bias) pair.
//! let mut model: (Tensor<(u!(1), u!(1)), f64>, Tensor<(u!(1),), f64>) =
//!     (Tensor::zeros(Default::default(), &dev), Tensor::zeros(Default::default(), &dev));
//! let x: Tensor<(u!(4), u!(1)), f64> = Tensor::from_vec_static(vec![0.0, 1.0, 2.0, 3.0], &dev);
//! let y: Tensor<(u!(4), u!(1)), f64> = Tensor::from_vec_static(vec![1.0, 3.0, 5.0, 7.0], &dev);
//!
//! let mut opt = Sgd::new(SgdConfig { lr: 0.1, momentum: 0.9, ..Default::default() }).unwrap();
//! let sched = LinearWarmup::new(0.1, 0.1, 10).then(10, CosineAnnealing::new(0.1, 290, 1e-3));
//! for step in 0..300 {
//!     opt.set_lr(sched.lr_at(step));
//!     let pred = x.clone().matmul(model.0.clone().trace()) + model.1.clone().trace();
//!     let loss = (pred - y.clone()).square().mean();
//!     let mut grads = loss.backward();
//!     clip_grad_norm(&model, &mut grads, 10.0).unwrap();
//!     opt.step(&mut model, &grads).unwrap();
//! }
//! assert!((model.0.to_vec()[0] - 2.0).abs() < 1e-3);
//! assert!((model.1.to_vec()[0] - 1.0).abs() < 1e-3);
//! ```

mod adam;
mod clip;
mod kernel;
mod schedule;
mod sgd;

pub use adam::{Adam, AdamConfig, AdamW};
pub use clip::{clip_grad_norm, grad_norm};
pub use kernel::{AdamStep, OptimKernel, SgdStep};
pub use schedule::{Constant, CosineAnnealing, LinearWarmup, Schedule, Sequential, StepLR};
pub use sgd::{Sgd, SgdConfig};

use crate::autograd::{Gradients, TensorId};
use crate::backend::Device;
use crate::dtype::Dtype;
use crate::nn::{ParamKind, ParamPath, Params};
use crate::shape::Error;
use alloc::collections::BTreeMap;

/// Updates a model's parameters from their gradients.
///
/// `step` takes the model as `&mut dyn Params`, so one optimizer value works
/// for any model type and `Box<dyn Optimizer<E, D>>` can pick an optimizer at
/// run time. Change the learning rate between steps with [`set_lr`]
/// (typically `opt.set_lr(schedule.lr_at(step))`, see [`Schedule`]).
///
/// ```
/// use typegrad::prelude::*;
/// use typegrad::optim::{Adam, AdamConfig, Optimizer, Sgd, SgdConfig};
/// let dev = Cpu::default();
/// let mut w: Tensor<(u!(2),), f64> = Tensor::from_vec_static(vec![1.0, -1.0], &dev);
/// let mut opt: Box<dyn Optimizer<f64, Cpu>> = if true {
///     Box::new(Sgd::new(SgdConfig { lr: 0.5, ..Default::default() }).unwrap())
/// } else {
///     Box::new(Adam::new(AdamConfig::default()).unwrap())
/// };
/// let grads = w.clone().trace().square().sum().backward(); // dL/dw = 2w
/// opt.step(&mut w, &grads).unwrap();
/// assert_eq!(w.to_vec(), vec![0.0, 0.0]);
/// assert_eq!(opt.lr(), 0.5);
/// ```
///
/// [`set_lr`]: Optimizer::set_lr
pub trait Optimizer<E: Dtype, D: Device<E>> {
    /// Apply one update to every parameter of `model` that has a gradient in
    /// `grads`. Errors (nothing is changed then) if a gradient's length
    /// differs from its parameter's, or if the learning rate is negative or
    /// not finite.
    fn step(&mut self, model: &mut dyn Params<E, D>, grads: &Gradients<E, D>) -> Result<(), Error>;
    /// The learning rate the next step uses.
    fn lr(&self) -> f64;
    /// Set the learning rate for the following steps.
    fn set_lr(&mut self, lr: f64);
}

/// Check a hyper-parameter is finite and `>= 0`.
pub(crate) fn check_nonneg(v: f64, msg: &'static str) -> Result<(), Error> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(Error::Invalid(msg))
    }
}

/// The error of a step in which no parameter of the model has a gradient.
pub(crate) const NO_GRADIENT: &str = "optimizer step: none of the model's parameters has a gradient in these Gradients \
     (was the batch traced with trace()/trace_no_grad(), are these the gradients of this model's loss, and does its \
     forward use parameters that skip the tape? grads.params_without_grad(&model) lists them)";

/// The traversal every optimizer shares. First (read-only) every parameter
/// with a gradient is checked, so an error leaves the model untouched; then
/// `update(id, param, grad, device)` runs once per distinct parameter with a
/// gradient. A parameter reached twice (tied weights: the same id in two
/// places) is updated once and the result given to both places. Buffers
/// are not trained. A model with parameters none of which has a gradient
/// is an error (a step that would silently do nothing).
pub(crate) fn update_params<E: Dtype, D: Device<E>>(
    model: &mut dyn Params<E, D>,
    grads: &Gradients<E, D>,
    op: &'static str,
    mut update: impl FnMut(TensorId, &mut D::Storage<E>, &D::Storage<E>, &D),
) -> Result<(), Error> {
    let mut error = None;
    let mut seen: BTreeMap<TensorId, usize> = BTreeMap::new();
    let mut num_params = 0;
    model.visit_params(&mut ParamPath::default(), &mut |_, p| {
        if p.kind != ParamKind::Param {
            return;
        }
        num_params += 1;
        if let Some(g) = grads.map.get(&p.id) {
            let (got, expected) = (p.device.len(g), p.dims.numel());
            if got != expected && error.is_none() {
                error = Some(Error::NumelMismatch { op, got, expected });
            }
            *seen.entry(p.id).or_insert(0) += 1;
        }
    });
    if let Some(e) = error {
        return Err(e);
    }
    if num_params > 0 && seen.is_empty() {
        return Err(Error::Invalid(NO_GRADIENT));
    }
    let mut tied: BTreeMap<TensorId, D::Storage<E>> = BTreeMap::new();
    model.visit_params_mut(&mut ParamPath::default(), &mut |_, p| {
        if p.kind != ParamKind::Param {
            return;
        }
        let Some(g) = grads.map.get(&p.id) else {
            return;
        };
        if let Some(done) = tied.get(&p.id) {
            *p.data = done.clone();
            return;
        }
        update(p.id, p.data, g, p.device);
        if seen.get(&p.id).is_some_and(|&n| n > 1) {
            tied.insert(p.id, p.data.clone());
        }
    });
    // Running statistics recorded by this model's layers in training.
    crate::nn::ModuleExt::apply_stat_updates(model, grads);
    Ok(())
}
