//! Parameter initialisation (PyTorch's `torch.nn.init`): Glorot/Xavier and
//! Kaiming (He), uniform and normal, scaled by fan-in/fan-out; plain
//! uniform, normal and constant fills. Every draw comes from the device's
//! seeded stream, so a program is reproducible from `Cpu::seeded(s)`.
//!
//! | rule | distribution |
//! |---|---|
//! | [`Init::XavierUniform`] | `U(-a, a)`, `a = gain·√(6 / (fan_in + fan_out))` |
//! | [`Init::XavierNormal`] | `N(0, σ²)`, `σ = gain·√(2 / (fan_in + fan_out))` |
//! | [`Init::KaimingUniform`] | `U(-a, a)`, `a = gain·√(3 / fan)` |
//! | [`Init::KaimingNormal`] | `N(0, σ²)`, `σ = gain / √fan` |
//!
//! `fan` is `fan_in` or `fan_out` by [`FanMode`]; the fans follow PyTorch's
//! `_calculate_fan_in_and_fan_out` ([`fans`]). Gains for common
//! nonlinearities are [`Nonlinearity::gain`] (PyTorch's `calculate_gain`).
//!
//! ```
//! use typegrad::prelude::*;
//! use typegrad::nn::init::{FanMode, Init, Nonlinearity};
//! let dev = Cpu::seeded(0);
//! // He initialisation for a ReLU layer's (out, in) = (256, 784) weight.
//! let rule = Init::KaimingNormal { gain: Nonlinearity::Relu.gain(), mode: FanMode::FanIn };
//! let w: Tensor<(u!(256), u!(784)), f32> = rule.tensor(Default::default(), &dev);
//! let v = w.to_vec();
//! let var = v.iter().map(|x| (x * x) as f64).sum::<f64>() / v.len() as f64;
//! assert!((var - 2.0 / 784.0).abs() < 0.05 * 2.0 / 784.0);
//! ```

use super::ParamMut;
use crate::backend::Backend;
use crate::dtype::Dtype;
use crate::shape::{Error, Shape};
use crate::tensor::Tensor;
use alloc::vec::Vec;
use rand::SeedableRng;
use rand_distr::Distribution;

/// Which fan scales a Kaiming initialisation.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum FanMode {
    /// Keep the variance of the forward activations (PyTorch's default).
    FanIn,
    /// Keep the variance of the backward gradients.
    FanOut,
}

/// A nonlinearity whose recommended gain [`Nonlinearity::gain`] gives
/// (PyTorch's `torch.nn.init.calculate_gain`).
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum Nonlinearity {
    /// Identity, linear and convolution layers: 1.
    Linear,
    /// Sigmoid: 1.
    Sigmoid,
    /// tanh: 5/3.
    Tanh,
    /// ReLU: √2.
    Relu,
    /// Leaky ReLU with this negative slope: `√(2 / (1 + slope²))`.
    LeakyRelu(f64),
    /// SELU: 3/4.
    Selu,
}

impl Nonlinearity {
    /// The gain (the factor on the standard deviation).
    ///
    /// ```
    /// use typegrad::nn::init::Nonlinearity;
    /// assert_eq!(Nonlinearity::Tanh.gain(), 5.0 / 3.0);
    /// assert_eq!(Nonlinearity::Relu.gain(), 2f64.sqrt());
    /// // PyTorch's Linear default: kaiming_uniform with a = √5.
    /// assert!((Nonlinearity::LeakyRelu(5f64.sqrt()).gain() - (1.0f64 / 3.0).sqrt()).abs() < 1e-15);
    /// ```
    pub fn gain(self) -> f64 {
        match self {
            Nonlinearity::Linear | Nonlinearity::Sigmoid => 1.0,
            Nonlinearity::Tanh => 5.0 / 3.0,
            Nonlinearity::Relu => libm::sqrt(2.0),
            Nonlinearity::LeakyRelu(s) => libm::sqrt(2.0 / (1.0 + s * s)),
            Nonlinearity::Selu => 0.75,
        }
    }
}

/// `(fan_in, fan_out)` of a parameter with these dims, as PyTorch's
/// `_calculate_fan_in_and_fan_out`: for `(out, in, k...)` (a Linear weight
/// `(O, I)`, a conv weight `(O, I, kH, kW)`), `fan_in = in · Πk` and
/// `fan_out = out · Πk`. Fewer than two dims is an error.
///
/// ```
/// use typegrad::nn::init::fans;
/// assert_eq!(fans(&[10, 784]).unwrap(), (784, 10));
/// assert_eq!(fans(&[16, 3, 5, 5]).unwrap(), (75, 400));
/// assert!(fans(&[7]).unwrap_err().to_string().contains("fewer than 2 dimensions"));
/// ```
pub fn fans(dims: &[usize]) -> Result<(usize, usize), Error> {
    if dims.len() < 2 {
        return Err(Error::Invalid(
            "init: fan_in and fan_out cannot be computed for a tensor with fewer than 2 dimensions",
        ));
    }
    let receptive: usize = dims[2..].iter().product();
    Ok((dims[1] * receptive, dims[0] * receptive))
}

/// An initialisation rule. Build a tensor with [`Init::tensor`], or refill
/// a parameter in place (keeping its id) with [`Init::try_fill`].
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum Init {
    /// Every element equal to this value.
    Constant(f64),
    /// `U(lo, hi)`.
    Uniform {
        /// Lower bound.
        lo: f64,
        /// Upper bound.
        hi: f64,
    },
    /// `N(mean, std²)`.
    Normal {
        /// Mean.
        mean: f64,
        /// Standard deviation.
        std: f64,
    },
    /// Glorot/Xavier uniform: `U(-a, a)`, `a = gain·√(6 / (fan_in + fan_out))`.
    XavierUniform {
        /// Gain (1 for linear or sigmoid layers, see [`Nonlinearity`]).
        gain: f64,
    },
    /// Glorot/Xavier normal: `N(0, σ²)`, `σ = gain·√(2 / (fan_in + fan_out))`.
    XavierNormal {
        /// Gain.
        gain: f64,
    },
    /// Kaiming/He uniform: `U(-a, a)`, `a = gain·√(3 / fan)`.
    KaimingUniform {
        /// Gain (√2 for ReLU, see [`Nonlinearity`]).
        gain: f64,
        /// Which fan.
        mode: FanMode,
    },
    /// Kaiming/He normal: `N(0, σ²)`, `σ = gain / √fan`.
    KaimingNormal {
        /// Gain.
        gain: f64,
        /// Which fan.
        mode: FanMode,
    },
}

/// A resolved distribution.
enum Dist {
    Constant(f64),
    Uniform(f64, f64),
    Normal(f64, f64),
}

impl Init {
    /// The distribution for a parameter of these dims.
    fn dist(&self, dims: &[usize]) -> Result<Dist, Error> {
        let fan = |mode: FanMode| -> Result<f64, Error> {
            let (fi, fo) = fans(dims)?;
            Ok(match mode {
                FanMode::FanIn => fi,
                FanMode::FanOut => fo,
            } as f64)
        };
        let d = match *self {
            Init::Constant(c) => Dist::Constant(c),
            Init::Uniform { lo, hi } => Dist::Uniform(lo, hi),
            Init::Normal { mean, std } => Dist::Normal(mean, std),
            Init::XavierUniform { gain } => {
                let (fi, fo) = fans(dims)?;
                let a = gain * libm::sqrt(6.0 / (fi + fo) as f64);
                Dist::Uniform(-a, a)
            }
            Init::XavierNormal { gain } => {
                let (fi, fo) = fans(dims)?;
                Dist::Normal(0.0, gain * libm::sqrt(2.0 / (fi + fo) as f64))
            }
            Init::KaimingUniform { gain, mode } => {
                let a = gain * libm::sqrt(3.0 / fan(mode)?);
                Dist::Uniform(-a, a)
            }
            Init::KaimingNormal { gain, mode } => Dist::Normal(0.0, gain / libm::sqrt(fan(mode)?)),
        };
        match d {
            Dist::Uniform(lo, hi) if !(lo.is_finite() && hi.is_finite() && lo <= hi) => Err(
                Error::Invalid("init: uniform bounds must be finite with lo <= hi"),
            ),
            Dist::Normal(m, s) if !(m.is_finite() && s.is_finite() && s >= 0.0) => Err(
                Error::Invalid("init: normal mean and std must be finite, std >= 0"),
            ),
            Dist::Constant(c) if !c.is_finite() => {
                Err(Error::Invalid("init: the constant must be finite"))
            }
            d => Ok(d),
        }
    }

    /// The bound `a` of a uniform rule (`U(-a, a)`) or the standard
    /// deviation of a normal one, for a parameter of these dims (`None` for
    /// [`Init::Constant`]).
    ///
    /// ```
    /// use typegrad::nn::init::Init;
    /// let a = Init::XavierUniform { gain: 1.0 }.scale(&[10, 20]).unwrap().unwrap();
    /// assert!((a - (6.0f64 / 30.0).sqrt()).abs() < 1e-15);
    /// ```
    pub fn scale(&self, dims: &[usize]) -> Result<Option<f64>, Error> {
        Ok(match self.dist(dims)? {
            Dist::Constant(_) => None,
            Dist::Uniform(lo, hi) => Some((hi - lo) / 2.0),
            Dist::Normal(_, s) => Some(s),
        })
    }

    /// A fresh buffer of `dims.numel()` values drawn by this rule from the
    /// device's seeded stream. An error names what is wrong: fewer than two
    /// dims for a fan-scaled rule, or invalid bounds.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::nn::init::Init;
    /// let dev = Cpu::seeded(3);
    /// let buf = Init::Constant(0.5).try_sample::<f32, _>(&[2, 2], &dev).unwrap();
    /// assert_eq!(dev.download(&buf), vec![0.5; 4]);
    /// assert!(Init::XavierNormal { gain: 1.0 }.try_sample::<f32, _>(&[4], &dev).is_err());
    /// ```
    pub fn try_sample<E: Dtype, D: Backend>(
        &self,
        dims: &[usize],
        device: &D,
    ) -> Result<D::Storage<E>, Error> {
        let n: usize = dims.iter().product();
        let dist = self.dist(dims)?;
        let data: Vec<E> = match dist {
            Dist::Constant(c) => alloc::vec![E::from_f64(c); n],
            // A zero-width interval (a gain of 0) is a constant.
            Dist::Uniform(lo, hi) if lo == hi => alloc::vec![E::from_f64(lo); n],
            Dist::Uniform(lo, hi) => {
                let mut rng = rand::rngs::StdRng::seed_from_u64(device.next_seed());
                let d = rand_distr::Uniform::new(lo, hi)
                    .map_err(|_| Error::Invalid("init: invalid uniform bounds"))?;
                (0..n).map(|_| E::from_f64(d.sample(&mut rng))).collect()
            }
            Dist::Normal(mean, std) => {
                let mut rng = rand::rngs::StdRng::seed_from_u64(device.next_seed());
                let d = rand_distr::Normal::new(mean, std)
                    .map_err(|_| Error::Invalid("init: invalid normal parameters"))?;
                (0..n).map(|_| E::from_f64(d.sample(&mut rng))).collect()
            }
        };
        Ok(device.upload(data))
    }

    /// A new (untracked) tensor drawn by this rule; see [`Init::tensor`].
    pub fn try_tensor<S: Shape, E: Dtype, D: Backend>(
        &self,
        shape: S,
        device: &D,
    ) -> Result<Tensor<S, E, D>, Error> {
        let data = self.try_sample(&shape.dims(), device)?;
        Ok(Tensor::<S, E, D>::from_storage(shape, data, device.clone()))
    }

    /// A new (untracked) tensor drawn by this rule. Panics with the message
    /// of [`Init::try_tensor`] (a fan-scaled rule on a tensor of rank < 2,
    /// invalid bounds).
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::nn::init::Init;
    /// let dev = Cpu::seeded(5);
    /// let w: Tensor<(u!(3), u!(5)), f64> = Init::XavierUniform { gain: 1.0 }.tensor(Default::default(), &dev);
    /// let a = (6.0f64 / 8.0).sqrt();
    /// assert!(w.to_vec().iter().all(|x| x.abs() <= a));
    /// ```
    #[track_caller]
    pub fn tensor<S: Shape, E: Dtype, D: Backend>(&self, shape: S, device: &D) -> Tensor<S, E, D> {
        self.try_tensor(shape, device)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Refill a parameter in place during a traversal, keeping its id (so
    /// gradients and optimizer state keyed by it stay attached).
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::nn::init::Init;
    /// use typegrad::nn::{Linear, ParamPath, Params};
    /// let mut fc: Linear<u!(4), u!(2), f64> = Linear::new(&Cpu::seeded(0));
    /// let id = fc.weight.id();
    /// fc.visit_params_mut(&mut ParamPath::default(), &mut |_, p| {
    ///     Init::Constant(1.0).try_fill(p).unwrap();
    /// });
    /// assert_eq!(fc.weight.id(), id);
    /// assert_eq!(fc.weight.to_vec(), vec![1.0; 8]);
    /// ```
    pub fn try_fill<E: Dtype, D: Backend>(&self, p: ParamMut<'_, E, D>) -> Result<(), Error> {
        *p.data = self.try_sample(&p.dims, p.device)?;
        Ok(())
    }
}
