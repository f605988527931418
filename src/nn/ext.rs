//! Whole-model helpers built on the parameter traversal: copying parameter
//! values between two instances of a model, and moving a model to another
//! device instance.

use super::params::{ParamKind, ParamPath, Params};
use crate::autograd::{Gradients, StatUpdate, TensorId};
use crate::backend::{Backend, Device};
use crate::dtype::Dtype;
use crate::ops::binary::BinaryOp;
use crate::ops::unary::UnaryOp;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// Why [`ModuleExt::copy_params_from`] refused: the two models do not have
/// the same parameters (a `Vec` of blocks of another length, a `Dyn` dim of
/// another size, an `Option` layer present in one only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParamsMismatch {
    /// The parameter named `name` has other sizes in the source.
    Dims {
        /// Its path, e.g. `"blocks.0.fc.weight"`.
        name: String,
        /// Its sizes in the source model.
        got: Vec<usize>,
        /// Its sizes in the destination model.
        expected: Vec<usize>,
    },
    /// At the same position the models have parameters of other names (the
    /// models differ in structure, e.g. a `Vec` of blocks of another length).
    Names {
        /// The source's parameter there.
        source: String,
        /// The destination's parameter there.
        destination: String,
    },
    /// One model ends before the other: the parameter named `name` exists in
    /// only one of them.
    Missing {
        /// Its path.
        name: String,
        /// `true` if the source has it and the destination does not.
        in_source: bool,
    },
}

impl fmt::Display for ParamsMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamsMismatch::Dims { name, got, expected } => write!(
                f,
                "copy_params_from: parameter `{name}` has sizes {got:?} in the source, {expected:?} in the destination"
            ),
            ParamsMismatch::Names { source, destination } => write!(
                f,
                "copy_params_from: the destination's parameter `{destination}` meets `{source}` in the source (the models differ in structure)"
            ),
            ParamsMismatch::Missing { name, in_source: true } => write!(
                f,
                "copy_params_from: parameter `{name}` of the source has no counterpart in the destination"
            ),
            ParamsMismatch::Missing { name, in_source: false } => write!(
                f,
                "copy_params_from: parameter `{name}` of the destination has no counterpart in the source"
            ),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ParamsMismatch {}

/// Helpers on every model (implemented for everything that is [`Params`]).
///
/// Counting and listing parameters are [`Params::num_params`] and
/// [`Params::param_names`].
pub trait ModuleExt<E: Dtype, D: Backend>: Params<E, D> {
    /// Copy the parameter *values* of `other` into `self` (a target network,
    /// an exponential moving average, a snapshot). The parameters are matched
    /// by traversal order and must agree in name and sizes; if any does not,
    /// nothing is copied. `self` keeps its ids, so gradients and optimizer
    /// state keyed by them stay valid; the values are copied onto `self`'s
    /// devices.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::nn::ModuleExt;
    /// let dev = Cpu::default();
    /// let mut a: Tensor<(u!(2),), f32> = Tensor::zeros(Default::default(), &dev);
    /// let b: Tensor<(u!(2),), f32> = Tensor::ones(Default::default(), &dev);
    /// let id = a.id();
    /// a.copy_params_from(&b).unwrap();
    /// assert_eq!((a.to_vec(), a.id()), (vec![1.0, 1.0], id));
    /// ```
    fn copy_params_from(&mut self, other: &Self) -> Result<(), ParamsMismatch> {
        let source = super::transfer::read_params(other);
        // Check everything before writing anything.
        super::transfer::check_params(self, &source)?;
        let mut values = source.into_iter();
        self.visit_params_mut(&mut ParamPath::default(), &mut |_, p| {
            if let Some((_, _, _, v)) = values.next() {
                *p.data = p.device.upload(v);
            }
        });
        Ok(())
    }

    /// A copy of the model on `device` (another instance of the same backend
    /// type). The copy **keeps the parameter ids** of `self` (like a clone):
    /// it stands for the same parameters in a new place, so gradients and
    /// optimizer state carry over. To train the copy and the original
    /// side by side as separate models, give them separate optimizers.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::nn::ModuleExt;
    /// let w: Tensor<(u!(2),), f32> = Tensor::ones(Default::default(), &Cpu::seeded(1));
    /// let moved = w.to_device(&Cpu::seeded(2));
    /// assert_eq!((moved.id(), moved.to_vec()), (w.id(), vec![1.0, 1.0]));
    /// ```
    fn to_device(&self, device: &D) -> Self
    where
        Self: Clone + Sized,
    {
        let mut copy = self.clone();
        copy.move_to_device(device);
        copy
    }

    /// An independent copy of the model: the same values under **new
    /// parameter ids**, so gradients and optimizer state of the original do
    /// not apply to it and training one leaves the other alone (a DQN's
    /// target network, an EMA teacher). Buffers get new ids too. By
    /// contrast `clone()` gives the *same* parameters (same ids, shared
    /// storage): a second handle, not a second model.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::nn::ModuleExt;
    /// let w: Tensor<(u!(2),), f64> = Tensor::ones(Default::default(), &Cpu::default());
    /// let target = w.fresh_copy();
    /// assert_eq!(target.to_vec(), w.to_vec());
    /// assert_ne!(target.id(), w.id());
    /// assert_eq!(w.clone().id(), w.id()); // clone: the same parameter
    /// ```
    fn fresh_copy(&self) -> Self
    where
        Self: Clone + Sized,
    {
        let mut copy = self.clone();
        copy.visit_params_mut(&mut ParamPath::default(), &mut |_, mut p| p.renew_id());
        copy
    }

    /// Apply the running-statistics updates that this model's layers
    /// recorded in training ([`StatUpdate`]), in recording order, and return
    /// how many were applied. Optimizers call this in `step`, so a training
    /// loop needs nothing more; call it yourself when you update statistics
    /// without an optimizer step. Updates for buffers of other models (a
    /// GAN's discriminator run in the generator's step) are ignored.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::autograd::StatUpdate;
    /// use typegrad::nn::{Buffer, ModuleExt};
    /// let dev = Cpu::default();
    /// let mut running: Buffer<(u!(2),), f64> = Buffer::new(Tensor::zeros(Default::default(), &dev));
    /// let x: Tensor<(u!(2),), f64> = Tensor::from_vec_static(vec![1.0, 2.0], &dev);
    /// let xt = x.trace_no_grad();
    /// xt.tape().record_stat_update(running.id(), StatUpdate::Ema { momentum: 0.1, value: xt.storage().clone() });
    /// let grads = xt.sum().backward();
    /// assert_eq!(running.apply_stat_updates(&grads), 1);
    /// let v = running.to_vec();
    /// assert!((v[0] - 0.1).abs() < 1e-12 && (v[1] - 0.2).abs() < 1e-12);
    /// ```
    fn apply_stat_updates(&mut self, grads: &Gradients<E, D>) -> usize
    where
        D: Device<E>,
    {
        if grads.updates.is_empty() {
            return 0;
        }
        // The counters read by cumulative averages, as they are before this
        // step (their own `Add`s are replayed in order below).
        let mut counters: BTreeMap<TensorId, f64> = grads
            .updates
            .iter()
            .filter_map(|(_, u)| match u {
                StatUpdate::CumulativeAverage { counter, .. } => Some((*counter, f64::NAN)),
                _ => None,
            })
            .collect();
        if !counters.is_empty() {
            self.visit_params(&mut ParamPath::default(), &mut |_, p| {
                if let Some(v) = counters.get_mut(&p.id) {
                    *v = p
                        .device
                        .download(p.data)
                        .first()
                        .map_or(0.0, |c| Dtype::to_f64(*c));
                }
            });
        }
        // `n` of each cumulative average: the counter after the updates
        // recorded before it.
        let mut factors: Vec<Option<f64>> = Vec::with_capacity(grads.updates.len());
        for (id, update) in grads.updates.iter() {
            if let (Some(c), StatUpdate::Add { amount }) = (counters.get_mut(id), update) {
                *c += amount;
            }
            factors.push(match update {
                StatUpdate::CumulativeAverage { counter, .. } => counters
                    .get(counter)
                    .filter(|n| n.is_finite() && **n > 0.0)
                    .map(|n| 1.0 / n),
                _ => None,
            });
        }
        let mut applied = 0;
        self.visit_params_mut(&mut ParamPath::default(), &mut |_, p| {
            if p.kind == ParamKind::Param {
                return;
            }
            let n = p.dims.numel();
            for ((id, update), factor) in grads.updates.iter().zip(&factors) {
                if *id != p.id {
                    continue;
                }
                let dims = [n];
                let dev = p.device;
                let ema = |momentum: f64, value: &D::Storage<E>, data: &D::Storage<E>| {
                    assert_eq!(
                        dev.len(value),
                        n,
                        "running-statistics update: {} values for a buffer of {n}",
                        dev.len(value)
                    );
                    let kept = dev.unary(UnaryOp::MulScalar(E::from_f64(1.0 - momentum)), data);
                    let new = dev.unary(UnaryOp::MulScalar(E::from_f64(momentum)), value);
                    dev.binary(BinaryOp::Add, &kept, &dims, &new, &dims, &dims)
                };
                let next = match update {
                    StatUpdate::Ema { momentum, value } => ema(*momentum, value, p.data),
                    StatUpdate::Add { amount } => {
                        dev.unary(UnaryOp::AddScalar(E::from_f64(*amount)), p.data)
                    }
                    StatUpdate::CumulativeAverage { value, .. } => match factor {
                        Some(f) => ema(*f, value, p.data),
                        // The counter is not in this model: nothing to weigh by.
                        None => continue,
                    },
                };
                *p.data = next;
                applied += 1;
            }
        });
        applied
    }
}

impl<E: Dtype, D: Backend, M: Params<E, D> + ?Sized> ModuleExt<E, D> for M {}
