//! Stochastic gradient descent with momentum, Nesterov momentum and L2
//! weight decay (PyTorch's `torch.optim.SGD`).

use super::{check_nonneg, update_params, Optimizer, SgdStep};
use crate::autograd::{Gradients, TensorId};
use crate::backend::{Backend, Device};
use crate::dtype::Dtype;
use crate::nn::Params;
use crate::shape::Error;
use alloc::collections::BTreeMap;
use core::fmt;

/// Hyper-parameters of [`Sgd`]. The defaults are PyTorch's (`lr = 1e-3`,
/// everything else off).
///
/// ```
/// use typegrad::optim::SgdConfig;
/// let c = SgdConfig { lr: 0.1, momentum: 0.9, nesterov: true, ..Default::default() };
/// assert_eq!(c.dampening, 0.0);
/// ```
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct SgdConfig {
    /// Learning rate (`>= 0`).
    pub lr: f64,
    /// Momentum factor μ (`>= 0`; `0` keeps no buffer).
    pub momentum: f64,
    /// Dampening τ: the momentum buffer adds `(1 - τ) · g`.
    pub dampening: f64,
    /// Nesterov momentum (needs `momentum > 0` and `dampening == 0`).
    pub nesterov: bool,
    /// L2 penalty: `wd · p` is added to the gradient (`>= 0`).
    pub weight_decay: f64,
}

impl Default for SgdConfig {
    fn default() -> Self {
        SgdConfig {
            lr: 1e-3,
            momentum: 0.0,
            dampening: 0.0,
            nesterov: false,
            weight_decay: 0.0,
        }
    }
}

/// SGD with PyTorch's semantics. Per parameter `p` with gradient `g`:
///
/// ```text
/// g ← g + wd · p                        (weight decay)
/// buf ← g                               (first step with momentum)
/// buf ← μ · buf + (1 - τ) · g           (later steps)
/// g ← g + μ · buf  (Nesterov)   or   g ← buf
/// p ← p - lr · g
/// ```
///
/// ```
/// use typegrad::prelude::*;
/// use typegrad::optim::{Optimizer, Sgd, SgdConfig};
/// let dev = Cpu::default();
/// let mut w: Tensor<(u!(1),), f64> = Tensor::from_vec_static(vec![1.0], &dev);
/// let mut opt = Sgd::new(SgdConfig { lr: 0.1, momentum: 0.5, ..Default::default() }).unwrap();
/// for _ in 0..2 {
///     let grads = w.clone().trace().sum().backward(); // g = 1
///     opt.step(&mut w, &grads).unwrap();
/// }
/// // buf = 1, then 0.5 + 1 = 1.5: w = 1 - 0.1 - 0.15
/// assert!((w.to_vec()[0] - 0.75).abs() < 1e-12);
/// ```
pub struct Sgd<E: Dtype, D: Backend> {
    cfg: SgdConfig,
    momentum: BTreeMap<TensorId, D::Storage<E>>,
}

impl<E: Dtype, D: Backend> Sgd<E, D> {
    /// An SGD optimizer. Errors on a negative or non-finite learning rate,
    /// momentum, dampening or weight decay, and on Nesterov without momentum
    /// or with dampening (as PyTorch).
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::optim::{Sgd, SgdConfig};
    /// let bad = Sgd::<f32, Cpu>::new(SgdConfig { nesterov: true, ..Default::default() });
    /// assert!(bad.is_err());
    /// ```
    pub fn new(cfg: SgdConfig) -> Result<Self, Error> {
        check_nonneg(cfg.lr, "SGD: learning rate must be finite and >= 0")?;
        check_nonneg(cfg.momentum, "SGD: momentum must be finite and >= 0")?;
        check_nonneg(cfg.dampening, "SGD: dampening must be finite and >= 0")?;
        check_nonneg(
            cfg.weight_decay,
            "SGD: weight decay must be finite and >= 0",
        )?;
        if cfg.nesterov && (cfg.momentum <= 0.0 || cfg.dampening != 0.0) {
            return Err(Error::Invalid(
                "SGD: Nesterov momentum needs momentum > 0 and dampening = 0",
            ));
        }
        Ok(Sgd {
            cfg,
            momentum: BTreeMap::new(),
        })
    }

    /// The hyper-parameters (with the current learning rate).
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::optim::{Sgd, SgdConfig};
    /// let opt = Sgd::<f32, Cpu>::new(SgdConfig::default()).unwrap();
    /// assert_eq!(opt.config().lr, 1e-3);
    /// ```
    pub fn config(&self) -> &SgdConfig {
        &self.cfg
    }

    /// Number of parameters with a momentum buffer (0 without momentum).
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::optim::{Sgd, SgdConfig};
    /// let opt = Sgd::<f32, Cpu>::new(SgdConfig { momentum: 0.9, ..Default::default() }).unwrap();
    /// assert_eq!(opt.state_len(), 0); // buffers appear on the first step
    /// ```
    pub fn state_len(&self) -> usize {
        self.momentum.len()
    }

    /// This optimizer with its state (momentum buffers, keyed by parameter
    /// id) copied from device `from` (the one the state lives on) to `to`,
    /// any backend: pair it with a model moved by
    /// [`DeviceTransfer::transfer_params_from`](crate::nn::DeviceTransfer),
    /// which keeps the ids, and the next step is the one the original
    /// would have taken.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::optim::{Sgd, SgdConfig};
    /// let opt = Sgd::<f32, Cpu>::new(SgdConfig { momentum: 0.9, ..Default::default() }).unwrap();
    /// let moved: Sgd<f32, Cpu> = opt.moved_to(&Cpu::seeded(0), &Cpu::seeded(1));
    /// assert_eq!(moved.state_len(), 0);
    /// ```
    pub fn moved_to<D2: Backend>(&self, from: &D, to: &D2) -> Sgd<E, D2> {
        Sgd {
            cfg: self.cfg,
            momentum: self
                .momentum
                .iter()
                .map(|(id, b)| (*id, to.upload(from.download(b))))
                .collect(),
        }
    }
}

impl<E: Dtype, D: Backend> fmt::Debug for Sgd<E, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sgd")
            .field("cfg", &self.cfg)
            .field("buffers", &self.momentum.len())
            .finish()
    }
}

impl<E: Dtype, D: Device<E>> Optimizer<E, D> for Sgd<E, D> {
    fn step(&mut self, model: &mut dyn Params<E, D>, grads: &Gradients<E, D>) -> Result<(), Error> {
        let c = self.cfg;
        check_nonneg(c.lr, "SGD: learning rate must be finite and >= 0")?;
        let step = SgdStep {
            lr: E::from_f64(c.lr),
            momentum: E::from_f64(c.momentum),
            dampening: E::from_f64(c.dampening),
            nesterov: c.nesterov,
            weight_decay: E::from_f64(c.weight_decay),
            first: false,
        };
        let buffers = &mut self.momentum;
        update_params(
            model,
            grads,
            "SGD step (gradient vs parameter)",
            |id, p, g, dev| {
                if c.momentum == 0.0 {
                    dev.sgd_update(p, g, None, &step);
                    return;
                }
                match buffers.get_mut(&id) {
                    Some(buf) => dev.sgd_update(p, g, Some(buf), &step),
                    None => {
                        let mut buf = dev.full(dev.len(g), E::zero());
                        dev.sgd_update(
                            p,
                            g,
                            Some(&mut buf),
                            &SgdStep {
                                first: true,
                                ..step
                            },
                        );
                        buffers.insert(id, buf);
                    }
                }
            },
        )
    }
    fn lr(&self) -> f64 {
        self.cfg.lr
    }
    fn set_lr(&mut self, lr: f64) {
        self.cfg.lr = lr;
    }
}
