//! Adam and AdamW (PyTorch's `torch.optim.Adam` / `AdamW`): one shared
//! implementation; AdamW decays the weights directly instead of adding an L2
//! term to the gradient.

use super::{check_nonneg, update_params, AdamStep, Optimizer};
use crate::autograd::{Gradients, TensorId};
use crate::backend::{Backend, Device};
use crate::dtype::Dtype;
use crate::nn::Params;
use crate::shape::Error;
use alloc::collections::BTreeMap;
use core::fmt;

/// Hyper-parameters of [`Adam`] and [`AdamW`]. `Default` is PyTorch's Adam
/// (`lr = 1e-3`, `betas = (0.9, 0.999)`, `eps = 1e-8`, no weight decay);
/// [`AdamConfig::adamw`] is PyTorch's AdamW (the same with
/// `weight_decay = 0.01`).
///
/// ```
/// use typegrad::optim::AdamConfig;
/// assert_eq!(AdamConfig::default().betas, (0.9, 0.999));
/// assert_eq!(AdamConfig::adamw().weight_decay, 0.01);
/// ```
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct AdamConfig {
    /// Learning rate (`>= 0`).
    pub lr: f64,
    /// Decay rates `(β₁, β₂)` of the first and second moments, in `[0, 1)`.
    pub betas: (f64, f64),
    /// Added to the denominator (`>= 0`).
    pub eps: f64,
    /// Weight decay (`>= 0`): L2 on the gradient for [`Adam`], decoupled for
    /// [`AdamW`].
    pub weight_decay: f64,
}

impl Default for AdamConfig {
    fn default() -> Self {
        AdamConfig {
            lr: 1e-3,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.0,
        }
    }
}

impl AdamConfig {
    /// PyTorch's AdamW defaults: Adam's with `weight_decay = 0.01`.
    ///
    /// ```
    /// use typegrad::optim::AdamConfig;
    /// assert_eq!(AdamConfig::adamw().lr, 1e-3);
    /// ```
    pub fn adamw() -> Self {
        AdamConfig {
            weight_decay: 0.01,
            ..Default::default()
        }
    }

    fn validate(&self, name: &'static [&'static str; 5]) -> Result<(), Error> {
        check_nonneg(self.lr, name[0])?;
        check_nonneg(self.eps, name[1])?;
        check_nonneg(self.weight_decay, name[2])?;
        if !(0.0..1.0).contains(&self.betas.0) {
            return Err(Error::Invalid(name[3]));
        }
        if !(0.0..1.0).contains(&self.betas.1) {
            return Err(Error::Invalid(name[4]));
        }
        Ok(())
    }
}

const ADAM_MSGS: [&str; 5] = [
    "Adam: learning rate must be finite and >= 0",
    "Adam: eps must be finite and >= 0",
    "Adam: weight decay must be finite and >= 0",
    "Adam: beta1 must be in [0, 1)",
    "Adam: beta2 must be in [0, 1)",
];
const ADAMW_MSGS: [&str; 5] = [
    "AdamW: learning rate must be finite and >= 0",
    "AdamW: eps must be finite and >= 0",
    "AdamW: weight decay must be finite and >= 0",
    "AdamW: beta1 must be in [0, 1)",
    "AdamW: beta2 must be in [0, 1)",
];

/// Moments and step count of one parameter.
struct Moments<S> {
    m: S,
    v: S,
    t: u64,
}

/// The implementation shared by [`Adam`] and [`AdamW`].
struct AdamCore<E: Dtype, D: Backend> {
    cfg: AdamConfig,
    decoupled: bool,
    state: BTreeMap<TensorId, Moments<D::Storage<E>>>,
}

impl<E: Dtype, D: Device<E>> AdamCore<E, D> {
    fn step(
        &mut self,
        model: &mut dyn Params<E, D>,
        grads: &Gradients<E, D>,
        msgs: &'static [&'static str; 5],
        op: &'static str,
    ) -> Result<(), Error> {
        let c = self.cfg;
        check_nonneg(c.lr, msgs[0])?;
        let (b1, b2) = c.betas;
        let decoupled = self.decoupled;
        let state = &mut self.state;
        update_params(model, grads, op, |id, p, g, dev| {
            let s = state.entry(id).or_insert_with(|| {
                let n = dev.len(g);
                Moments {
                    m: dev.full(n, E::zero()),
                    v: dev.full(n, E::zero()),
                    t: 0,
                }
            });
            s.t += 1;
            // Bias corrections in f64, as PyTorch computes them in Python floats.
            let t = s.t as f64;
            let bc1 = 1.0 - libm::pow(b1, t);
            let bc2 = 1.0 - libm::pow(b2, t);
            let cfg = AdamStep {
                lr: E::from_f64(c.lr),
                beta1: E::from_f64(b1),
                beta2: E::from_f64(b2),
                eps: E::from_f64(c.eps),
                weight_decay: E::from_f64(c.weight_decay),
                decoupled,
                step_size: E::from_f64(c.lr / bc1),
                bias_correction2_sqrt: E::from_f64(libm::sqrt(bc2)),
            };
            dev.adam_update(p, g, &mut s.m, &mut s.v, &cfg);
        })
    }
}

macro_rules! adam_type {
    ($(#[$doc:meta])* $name:ident, $decoupled:expr, $msgs:expr, $op:expr) => {
        $(#[$doc])*
        pub struct $name<E: Dtype, D: Backend> {
            core: AdamCore<E, D>,
        }

        impl<E: Dtype, D: Backend> $name<E, D> {
            /// The optimizer. Errors on a negative or non-finite learning
            /// rate, eps or weight decay, and on betas outside `[0, 1)`.
            ///
            /// ```
            /// use typegrad::prelude::*;
            /// use typegrad::optim::AdamConfig;
            #[doc = concat!("use typegrad::optim::", stringify!($name), ";")]
            #[doc = concat!("let bad = ", stringify!($name), "::<f32, Cpu>::new(AdamConfig { betas: (0.9, 1.0), ..Default::default() });")]
            /// assert!(bad.is_err());
            /// ```
            pub fn new(cfg: AdamConfig) -> Result<Self, Error> {
                cfg.validate(&$msgs)?;
                Ok($name {
                    core: AdamCore {
                        cfg,
                        decoupled: $decoupled,
                        state: BTreeMap::new(),
                    },
                })
            }

            /// The hyper-parameters (with the current learning rate).
            ///
            /// ```
            /// use typegrad::prelude::*;
            /// use typegrad::optim::AdamConfig;
            #[doc = concat!("use typegrad::optim::", stringify!($name), ";")]
            #[doc = concat!("let opt = ", stringify!($name), "::<f32, Cpu>::new(AdamConfig::default()).unwrap();")]
            /// assert_eq!(opt.config().eps, 1e-8);
            /// ```
            pub fn config(&self) -> &AdamConfig {
                &self.core.cfg
            }

            /// Number of parameters with moment buffers (they appear on a
            /// parameter's first step with a gradient).
            ///
            /// ```
            /// use typegrad::prelude::*;
            /// use typegrad::optim::AdamConfig;
            #[doc = concat!("use typegrad::optim::", stringify!($name), ";")]
            #[doc = concat!("let opt = ", stringify!($name), "::<f32, Cpu>::new(AdamConfig::default()).unwrap();")]
            /// assert_eq!(opt.state_len(), 0);
            /// ```
            pub fn state_len(&self) -> usize {
                self.core.state.len()
            }

            /// This optimizer with its state (moments and step counts,
            /// keyed by parameter id) copied from device `from` (the one the
            /// state lives on) to `to`, any backend: pair it with a model
            /// moved by
            /// [`DeviceTransfer::transfer_params_from`](crate::nn::DeviceTransfer),
            /// which keeps the ids, and the next step is the one the
            /// original would have taken.
            ///
            /// ```
            /// use typegrad::prelude::*;
            /// use typegrad::optim::AdamConfig;
            #[doc = concat!("use typegrad::optim::", stringify!($name), ";")]
            #[doc = concat!("let opt = ", stringify!($name), "::<f32, Cpu>::new(AdamConfig::default()).unwrap();")]
            #[doc = concat!("let moved: ", stringify!($name), "<f32, Cpu> = opt.moved_to(&Cpu::seeded(0), &Cpu::seeded(1));")]
            /// assert_eq!(moved.state_len(), 0);
            /// ```
            pub fn moved_to<D2: Backend>(&self, from: &D, to: &D2) -> $name<E, D2> {
                let copy = |s: &D::Storage<E>| to.upload(from.download(s));
                $name {
                    core: AdamCore {
                        cfg: self.core.cfg,
                        decoupled: self.core.decoupled,
                        state: self
                            .core
                            .state
                            .iter()
                            .map(|(id, s)| {
                                (*id, Moments { m: copy(&s.m), v: copy(&s.v), t: s.t })
                            })
                            .collect(),
                    },
                }
            }
        }

        impl<E: Dtype, D: Backend> fmt::Debug for $name<E, D> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("cfg", &self.core.cfg)
                    .field("states", &self.core.state.len())
                    .finish()
            }
        }

        impl<E: Dtype, D: Device<E>> Optimizer<E, D> for $name<E, D> {
            fn step(
                &mut self,
                model: &mut dyn Params<E, D>,
                grads: &Gradients<E, D>,
            ) -> Result<(), Error> {
                self.core.step(model, grads, &$msgs, $op)
            }
            fn lr(&self) -> f64 {
                self.core.cfg.lr
            }
            fn set_lr(&mut self, lr: f64) {
                self.core.cfg.lr = lr;
            }
        }
    };
}

adam_type!(
    /// Adam with PyTorch's semantics (weight decay as an L2 term). Per
    /// parameter `p` with gradient `g`, at its `t`-th step (`t` counts the
    /// steps in which `p` had a gradient):
    ///
    /// ```text
    /// g ← g + wd · p
    /// m ← β₁ · m + (1 - β₁) · g
    /// v ← β₂ · v + (1 - β₂) · g²
    /// p ← p - lr / (1 - β₁ᵗ) · m / (√v / √(1 - β₂ᵗ) + ε)
    /// ```
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::optim::{Adam, AdamConfig, Optimizer};
    /// let dev = Cpu::default();
    /// let mut w: Tensor<(u!(2),), f64> = Tensor::from_vec_static(vec![1.0, -3.0], &dev);
    /// let mut opt = Adam::new(AdamConfig { lr: 0.1, ..Default::default() }).unwrap();
    /// let grads = w.clone().trace().square().sum().backward();
    /// opt.step(&mut w, &grads).unwrap();
    /// // The first step moves each weight by about lr against its gradient's sign.
    /// let v = w.to_vec();
    /// assert!((v[0] - 0.9).abs() < 1e-6 && (v[1] + 2.9).abs() < 1e-6);
    /// ```
    Adam,
    false,
    ADAM_MSGS,
    "Adam step (gradient vs parameter)"
);

adam_type!(
    /// AdamW with PyTorch's semantics: Adam whose weight decay is decoupled
    /// from the gradient. Per parameter, before the Adam update (with the
    /// raw gradient):
    ///
    /// ```text
    /// p ← p · (1 - lr · wd)
    /// ```
    ///
    /// PyTorch's AdamW defaults are [`AdamConfig::adamw`].
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::optim::{AdamConfig, AdamW, Optimizer};
    /// let dev = Cpu::default();
    /// let mut w: Tensor<(u!(1),), f64> = Tensor::from_vec_static(vec![2.0], &dev);
    /// let mut opt = AdamW::new(AdamConfig { lr: 0.1, weight_decay: 0.5, ..Default::default() }).unwrap();
    /// let grads = w.clone().trace().sum().backward(); // g = 1
    /// opt.step(&mut w, &grads).unwrap();
    /// // 2 · (1 - 0.05) - 0.1 · 1 / (1 + 1e-8)
    /// assert!((w.to_vec()[0] - 1.8).abs() < 1e-6);
    /// ```
    AdamW,
    true,
    ADAMW_MSGS,
    "AdamW step (gradient vs parameter)"
);
