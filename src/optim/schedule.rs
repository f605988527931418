//! Learning-rate schedules: pure functions from the step number to a
//! learning rate.
//!
//! Apply one by setting the optimizer's rate before each step:
//!
//! ```
//! use typegrad::prelude::*;
//! use typegrad::optim::{Optimizer, Schedule, Sgd, SgdConfig, StepLR};
//! let dev = Cpu::default();
//! let mut w: Tensor<(u!(1),), f32> = Tensor::from_vec_static(vec![1.0], &dev);
//! let mut opt = Sgd::new(SgdConfig::default()).unwrap();
//! let sched = StepLR::new(0.1, 2, 0.5);
//! for step in 0..4 {
//!     opt.set_lr(sched.lr_at(step));
//!     let grads = w.clone().trace().square().sum().backward();
//!     opt.step(&mut w, &grads).unwrap();
//! }
//! assert_eq!(opt.lr(), 0.05);
//! ```
//!
//! `step` counts optimizer steps from 0 (the rate used by the first step is
//! `lr_at(0)`); for a per-epoch schedule pass the epoch instead.

use core::f64::consts::PI;

/// A learning rate as a function of the step number (from 0).
///
/// Closures `Fn(usize) -> f64` are schedules too (PyTorch's `LambdaLR`).
/// Combine schedules with [`Schedule::then`].
///
/// ```
/// use typegrad::optim::Schedule;
/// let inv_sqrt = |t: usize| 0.1 / ((t + 1) as f64).sqrt();
/// assert_eq!(inv_sqrt.lr_at(3), 0.05);
/// ```
pub trait Schedule {
    /// The learning rate at `step`.
    fn lr_at(&self, step: usize) -> f64;

    /// Run `self` for the steps before `at`, then `next` (which sees its own
    /// step count, starting at 0 at step `at`): a warm-up followed by a
    /// decay, for instance.
    ///
    /// ```
    /// use typegrad::optim::{Constant, Schedule};
    /// let s = Constant(1.0).then(2, Constant(0.5));
    /// assert_eq!([s.lr_at(0), s.lr_at(1), s.lr_at(2), s.lr_at(9)], [1.0, 1.0, 0.5, 0.5]);
    /// ```
    fn then<S: Schedule>(self, at: usize, next: S) -> Sequential<Self, S>
    where
        Self: Sized,
    {
        Sequential {
            first: self,
            second: next,
            at,
        }
    }
}

impl<F: Fn(usize) -> f64> Schedule for F {
    fn lr_at(&self, step: usize) -> f64 {
        self(step)
    }
}

/// The same rate at every step.
///
/// ```
/// use typegrad::optim::{Constant, Schedule};
/// assert_eq!(Constant(0.3).lr_at(1000), 0.3);
/// ```
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Constant(pub f64);

impl Schedule for Constant {
    fn lr_at(&self, _step: usize) -> f64 {
        self.0
    }
}

/// Decay by `gamma` every `step_size` steps (PyTorch's `StepLR`):
/// `lr = base · gamma^⌊step / step_size⌋`.
///
/// ```
/// use typegrad::optim::{Schedule, StepLR};
/// let s = StepLR::new(1.0, 10, 0.1);
/// assert_eq!(s.lr_at(9), 1.0);
/// assert!((s.lr_at(25) - 0.01).abs() < 1e-15);
/// ```
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct StepLR {
    base: f64,
    step_size: usize,
    gamma: f64,
}

impl StepLR {
    /// The schedule.
    ///
    /// # Panics
    /// If `step_size` is 0 (the message says so).
    ///
    /// ```
    /// use typegrad::optim::StepLR;
    /// let s = StepLR::new(0.1, 30, 0.1);
    /// # let _ = s;
    /// ```
    pub fn new(base: f64, step_size: usize, gamma: f64) -> Self {
        assert!(step_size > 0, "StepLR: step_size must be at least 1");
        StepLR {
            base,
            step_size,
            gamma,
        }
    }
}

impl Schedule for StepLR {
    fn lr_at(&self, step: usize) -> f64 {
        let k = (step / self.step_size) as f64;
        self.base * libm::pow(self.gamma, k)
    }
}

/// Cosine annealing from `base` to `eta_min` over `t_max` steps (PyTorch's
/// `CosineAnnealingLR` closed form), then constant at `eta_min`:
/// `lr = eta_min + (base - eta_min) · (1 + cos(π · min(step, t_max) / t_max)) / 2`.
///
/// Unlike PyTorch's scheduler, which keeps following the cosine back up
/// after `t_max`, the rate stays at `eta_min` (restart explicitly with
/// [`Schedule::then`] if wanted). With `t_max = 0` the rate is `eta_min`.
///
/// ```
/// use typegrad::optim::{CosineAnnealing, Schedule};
/// let s = CosineAnnealing::new(1.0, 100, 0.0);
/// assert_eq!(s.lr_at(0), 1.0);
/// assert!((s.lr_at(50) - 0.5).abs() < 1e-15);
/// assert_eq!(s.lr_at(100), 0.0);
/// assert_eq!(s.lr_at(500), 0.0);
/// ```
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct CosineAnnealing {
    base: f64,
    t_max: usize,
    eta_min: f64,
}

impl CosineAnnealing {
    /// The schedule.
    ///
    /// ```
    /// use typegrad::optim::CosineAnnealing;
    /// let s = CosineAnnealing::new(3e-4, 10_000, 1e-5);
    /// # let _ = s;
    /// ```
    pub fn new(base: f64, t_max: usize, eta_min: f64) -> Self {
        CosineAnnealing {
            base,
            t_max,
            eta_min,
        }
    }
}

impl Schedule for CosineAnnealing {
    fn lr_at(&self, step: usize) -> f64 {
        if step >= self.t_max {
            return self.eta_min;
        }
        let progress = step as f64 / self.t_max as f64;
        // Weighted form: exactly `base` at step 0 and `eta_min` at `t_max`.
        let w = (1.0 + libm::cos(PI * progress)) / 2.0;
        self.base * w + self.eta_min * (1.0 - w)
    }
}

/// Linear warm-up (PyTorch's `LinearLR` with `end_factor = 1`): the rate
/// grows linearly from `start_factor · base` at step 0 to `base` at step
/// `warmup_steps`, and stays at `base` after:
/// `lr = base · (s + (1 - s) · min(step, n) / n)`.
///
/// ```
/// use typegrad::optim::{LinearWarmup, Schedule};
/// let s = LinearWarmup::new(1.0, 0.0, 4);
/// assert_eq!([s.lr_at(0), s.lr_at(1), s.lr_at(4), s.lr_at(9)], [0.0, 0.25, 1.0, 1.0]);
/// ```
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct LinearWarmup {
    base: f64,
    start_factor: f64,
    warmup_steps: usize,
}

impl LinearWarmup {
    /// The schedule. With `warmup_steps = 0` it is constant at `base`.
    ///
    /// ```
    /// use typegrad::optim::{LinearWarmup, Schedule};
    /// assert_eq!(LinearWarmup::new(0.5, 0.1, 0).lr_at(0), 0.5);
    /// ```
    pub fn new(base: f64, start_factor: f64, warmup_steps: usize) -> Self {
        LinearWarmup {
            base,
            start_factor,
            warmup_steps,
        }
    }
}

impl Schedule for LinearWarmup {
    fn lr_at(&self, step: usize) -> f64 {
        if step >= self.warmup_steps {
            return self.base;
        }
        let s = self.start_factor;
        self.base * (s + (1.0 - s) * step as f64 / self.warmup_steps as f64)
    }
}

/// `first` before step `at`, then `second` counted from `at` (PyTorch's
/// `SequentialLR` with one milestone). Made by [`Schedule::then`]; chains of
/// any length nest.
///
/// ```
/// use typegrad::optim::{CosineAnnealing, LinearWarmup, Schedule};
/// // 100 warm-up steps to 1e-3, then cosine to 0 over 900 steps.
/// let s = LinearWarmup::new(1e-3, 0.0, 100).then(100, CosineAnnealing::new(1e-3, 900, 0.0));
/// assert!((s.lr_at(50) - 5e-4).abs() < 1e-15);
/// assert_eq!(s.lr_at(100), 1e-3);
/// assert!((s.lr_at(550) - 5e-4).abs() < 1e-15);
/// assert_eq!(s.lr_at(1000), 0.0);
/// ```
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Sequential<A, B> {
    /// The schedule before `at`.
    pub first: A,
    /// The schedule from `at` on, at step `step - at`.
    pub second: B,
    /// The step at which `second` takes over.
    pub at: usize,
}

impl<A: Schedule, B: Schedule> Schedule for Sequential<A, B> {
    fn lr_at(&self, step: usize) -> f64 {
        if step < self.at {
            self.first.lr_at(step)
        } else {
            self.second.lr_at(step - self.at)
        }
    }
}
