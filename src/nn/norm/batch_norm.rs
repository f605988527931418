//! [`BatchNorm`]: the layer behind [`BatchNorm1d`](super::BatchNorm1d) and
//! [`BatchNorm2d`](super::BatchNorm2d) (PyTorch's semantics), and its
//! static channel check.

use crate::autograd::{Mode, StatUpdate, Tracking};
use crate::backend::{Backend, Cpu, Device};
use crate::dtype::Dtype;
use crate::nn::{Buffer, Module, ParamMut, ParamPath, ParamRef, Params};
use crate::ops::norm::{batch_norm, BatchNormParams, BatchStats};
use crate::ops::unary::UnaryOp;
use crate::shape::{check_dim, Dim, DimsChecked, Error, Shape, StaticDim};
use crate::tensor::Tensor;
use core::marker::PhantomData;

/// Batch normalisation over the channel axis (axis 1) of a batch, as
/// PyTorch's `nn.BatchNorm1d`/`nn.BatchNorm2d`. Use it through the aliases
/// [`BatchNorm1d`](super::BatchNorm1d) (inputs `(B, C)` and `(B, C, L)`)
/// and [`BatchNorm2d`](super::BatchNorm2d) (inputs `(B, C, H, W)`); `K` is
/// the marker [`Spatial1`] or [`Spatial2`] that selects the inputs.
///
/// `y = (x - mean) / √(var + eps) · weight + bias` per channel:
///
/// - **Training** (the input's [`Mode::Train`], `x.trace()`): the batch's
///   mean and *biased* variance, over the batch and spatial axes. The
///   running statistics are updated when the optimizer steps the model
///   (recorded on the tape as [`StatUpdate`]s): `running_mean` and
///   `running_var` (with the *unbiased* batch variance) by an exponential
///   average with weight `momentum`, or, with `momentum: None`, by the
///   cumulative average of every batch (PyTorch's factor
///   `1 / num_batches_tracked`); `num_batches_tracked` counts the batches.
///   A channel with a single value per batch cannot be normalised: an
///   error, as in PyTorch.
/// - [`Mode::TrainKeepStats`]: batch statistics, no update.
/// - **Evaluation** ([`Mode::Eval`]: an untracked input, or
///   `x.trace().with_mode(Mode::Eval)`): the running statistics. A tracked
///   input still gets its gradient (`gy · weight / √(running_var + eps)`).
///
/// The forward is one fused op (per-channel statistics in two passes,
/// normalise and affine in one); the backward is the closed form. The
/// parameters' gradients come back under their own ids.
///
/// The state-dict names and layouts are PyTorch's: `weight`, `bias`
/// (`(C,)`, absent with [`BatchNorm::no_affine`]), `running_mean`,
/// `running_var` (`(C,)`) and `num_batches_tracked` (a scalar, stored as an
/// `I64` in checkpoints, as PyTorch stores it; see
/// [`ParamKind::Counter`](crate::nn::ParamKind::Counter)).
///
/// ```
/// use typegrad::prelude::*;
/// use typegrad::nn::{BatchNorm2d, Module, Params};
/// use typegrad::optim::{Sgd, SgdConfig, Optimizer};
/// let dev = Cpu::seeded(0);
/// let mut bn: BatchNorm2d<u!(3)> = BatchNorm2d::new(&dev);
/// assert_eq!(bn.num_params(), 6);
/// let x: Tensor<(Dyn, u!(3), u!(4), u!(4))> = Tensor::randn((Dyn(8), Default::default(), Default::default(), Default::default()), 2.0, 3.0, &dev);
/// // Training: batch statistics, the running ones updated by the step.
/// let grads = bn.forward(x.clone().trace()).square().mean().backward();
/// Sgd::new(SgdConfig::default()).unwrap().step(&mut bn, &grads).unwrap();
/// assert_eq!(bn.num_batches_tracked.item(), 1.0);
/// assert!(bn.running_mean.to_vec().iter().all(|m| (m - 0.2).abs() < 0.1)); // 0.1 · ~2
/// // Evaluation: an untracked input uses the running statistics.
/// let y = bn.forward(x); // Tensor<(Dyn, U3, U4, U4)>
/// assert_eq!(&*y.dims(), &[8, 3, 4, 4]);
/// ```
#[derive(Clone, Debug)]
pub struct BatchNorm<C: Dim, K, E: Dtype = f32, D: Backend = Cpu> {
    /// The per-channel scale `γ` (ones), `None` without affine parameters.
    pub weight: Option<Tensor<(C,), E, D>>,
    /// The per-channel shift `β` (zeros), `None` without affine parameters.
    pub bias: Option<Tensor<(C,), E, D>>,
    /// The running mean (zeros), used in evaluation.
    pub running_mean: Buffer<(C,), E, D>,
    /// The running (unbiased) variance (ones), used in evaluation.
    pub running_var: Buffer<(C,), E, D>,
    /// The number of training batches seen (0), a counter buffer.
    pub num_batches_tracked: Buffer<(), E, D>,
    /// Added to the variance before the square root (1e-5).
    pub eps: f64,
    /// The weight of each new batch in the running statistics (0.1);
    /// `None`: their cumulative (equal-weight) average.
    pub momentum: Option<f64>,
    kind: PhantomData<K>,
}

/// Marker of [`BatchNorm1d`](super::BatchNorm1d): inputs `(B, C)` and
/// `(B, C, L)`.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Spatial1;

/// Marker of [`BatchNorm2d`](super::BatchNorm2d): inputs `(B, C, H, W)`.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Spatial2;

impl<C: StaticDim, K, E: Dtype, D: Backend> BatchNorm<C, K, E, D> {
    /// A layer with PyTorch's defaults: weight ones, bias zeros,
    /// running mean zeros, running variance ones, `eps = 1e-5`,
    /// `momentum = Some(0.1)`.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::nn::BatchNorm1d;
    /// let bn: BatchNorm1d<u!(2), f64> = BatchNorm1d::new(&Cpu::default());
    /// assert_eq!(bn.weight.as_ref().unwrap().to_vec(), vec![1.0, 1.0]);
    /// assert_eq!(bn.running_var.to_vec(), vec![1.0, 1.0]);
    /// assert_eq!((bn.eps, bn.momentum), (1e-5, Some(0.1)));
    /// ```
    pub fn new(device: &D) -> Self {
        let mut bn = Self::no_affine(device);
        bn.weight = Some(Tensor::ones(Default::default(), device));
        bn.bias = Some(Tensor::zeros(Default::default(), device));
        bn
    }

    /// A layer without the affine parameters (PyTorch's `affine=False`):
    /// `y = (x - mean) / √(var + eps)`.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::nn::{BatchNorm2d, Params};
    /// let bn: BatchNorm2d<u!(4)> = BatchNorm2d::no_affine(&Cpu::default());
    /// assert_eq!(bn.num_params(), 0);
    /// assert_eq!(bn.buffer_names().len(), 3);
    /// ```
    pub fn no_affine(device: &D) -> Self {
        BatchNorm {
            weight: None,
            bias: None,
            running_mean: Buffer::new(Tensor::zeros(Default::default(), device)),
            running_var: Buffer::new(Tensor::ones(Default::default(), device)),
            num_batches_tracked: Buffer::counter(Tensor::zeros((), device)),
            eps: 1e-5,
            momentum: Some(0.1),
            kind: PhantomData,
        }
    }
}

impl<C: Dim, K, E: Dtype, D: Backend> BatchNorm<C, K, E, D> {
    /// The same layer with another `eps`.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::nn::BatchNorm1d;
    /// let bn: BatchNorm1d<u!(2)> = BatchNorm1d::new(&Cpu::default()).with_eps(1e-3);
    /// assert_eq!(bn.eps, 1e-3);
    /// ```
    #[must_use]
    pub fn with_eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }

    /// The same layer with another momentum (`None`: cumulative average).
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::nn::BatchNorm1d;
    /// let bn: BatchNorm1d<u!(2)> = BatchNorm1d::new(&Cpu::default()).with_momentum(None);
    /// assert_eq!(bn.momentum, None);
    /// ```
    #[must_use]
    pub fn with_momentum(mut self, momentum: Option<f64>) -> Self {
        self.momentum = momentum;
        self
    }

    /// Reset the running statistics (mean 0, variance 1, no batches),
    /// keeping the buffers' ids (PyTorch's `reset_running_stats`).
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::nn::{BatchNorm1d, Module, ModuleExt};
    /// let mut bn: BatchNorm1d<u!(1), f64> = BatchNorm1d::new(&Cpu::default());
    /// let x: Tensor<(Dyn, u!(1)), f64> = Tensor::from_vec((Dyn(2), Default::default()), vec![1.0, 3.0], &Cpu::default());
    /// let grads = bn.forward(x.trace()).sum().backward();
    /// bn.apply_stat_updates(&grads);
    /// assert_eq!(bn.running_mean.to_vec(), vec![0.2]);
    /// bn.reset_running_stats();
    /// assert_eq!((bn.running_mean.to_vec(), bn.num_batches_tracked.item()), (vec![0.0], 0.0));
    /// ```
    pub fn reset_running_stats(&mut self) {
        let reset = |b: &mut Buffer<(C,), E, D>, v: f64| {
            let dev = b.device.clone();
            b.visit_params_mut(&mut ParamPath::default(), &mut |_, p| {
                *p.data = dev.full(p.dims.numel(), E::from_f64(v));
            });
        };
        reset(&mut self.running_mean, 0.0);
        reset(&mut self.running_var, 1.0);
        let dev = self.num_batches_tracked.device.clone();
        self.num_batches_tracked
            .visit_params_mut(&mut ParamPath::default(), &mut |_, p| {
                *p.data = dev.full(1, E::zero());
            });
    }

    /// Fallible forward: a `Dyn` channel count other than `C`, or a
    /// training batch with one value per channel, is an [`Error`] instead
    /// of a panic.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::nn::BatchNorm1d;
    /// let dev = Cpu::default();
    /// let bn: BatchNorm1d<u!(3)> = BatchNorm1d::new(&dev);
    /// let x: Tensor<(Dyn, Dyn)> = Tensor::zeros((Dyn(4), Dyn(5)), &dev);
    /// assert_eq!(
    ///     bn.try_forward(x).unwrap_err().to_string(),
    ///     "batch_norm: dimension mismatch on axis 1 (input channels vs num_features): got 5, expected 3"
    /// );
    /// let one: Tensor<(Dyn, u!(3))> = Tensor::zeros((Dyn(1), Default::default()), &dev);
    /// assert!(bn.try_forward(one.clone().trace()).is_err()); // training on one value per channel
    /// assert!(bn.try_forward(one).is_ok()); // evaluation is fine
    /// ```
    pub fn try_forward<S, T: Tracking<E, D>>(
        &self,
        x: Tensor<S, E, D, T>,
    ) -> Result<Tensor<<S as BatchNormChecked<C, K>>::Output, E, D, T>, Error>
    where
        S: BatchNormChecked<C, K>,
        D: Device<E>,
    {
        self.try_forward_unchecked(x).map(S::pass)
    }

    /// The forward once the static channel check is stated by the caller.
    fn try_forward_unchecked<S: Shape, T: Tracking<E, D>>(
        &self,
        x: Tensor<S, E, D, T>,
    ) -> Result<Tensor<S, E, D, T>, Error>
    where
        D: Device<E>,
    {
        let dims = x.dims();
        let channels = self.running_mean.shape.0.size();
        check_dim(
            "batch_norm",
            1,
            "input channels vs num_features",
            dims[1],
            channels,
        )?;
        let p = BatchNormParams {
            batch: dims[0],
            channels,
            inner: dims[2..].iter().product(),
        };
        let w = self.weight.as_ref().map(|w| (w.id, &w.data));
        let b = self.bias.as_ref().map(|b| (b.id, &b.data));
        let mode = x.mode();
        if !mode.is_train() {
            let stats = BatchStats::Running {
                mean: &self.running_mean.data,
                var: &self.running_var.data,
            };
            return Ok(batch_norm(x, p, self.eps, w, b, stats).0);
        }
        let count = p.per_channel();
        if count <= 1 {
            return Err(Error::Invalid(
                "batch_norm: expected more than 1 value per channel when training (batch × spatial size is 1)",
            ));
        }
        let tape = x.tape.clone();
        let dev = x.device.clone();
        let (y, stats) = batch_norm(x, p, self.eps, w, b, BatchStats::Batch);
        if let (true, Mode::Train, Some((mean, var))) = (T::TRACKED, mode, stats) {
            // PyTorch: count the batch first, then average with the
            // unbiased variance (the cumulative factor reads the count).
            let counter = self.num_batches_tracked.id;
            tape.record_stat_update(counter, StatUpdate::Add { amount: 1.0 });
            let bessel = count as f64 / (count - 1) as f64;
            let unbiased = dev.unary(UnaryOp::MulScalar(E::from_f64(bessel)), &var);
            let update = |value| match self.momentum {
                Some(momentum) => StatUpdate::Ema { momentum, value },
                None => StatUpdate::CumulativeAverage { counter, value },
            };
            tape.record_stat_update(self.running_mean.id, update(mean));
            tape.record_stat_update(self.running_var.id, update(unbiased));
        }
        Ok(y)
    }
}

/// One forward for every tape: batch statistics in training, running ones
/// in evaluation (see [`BatchNorm`]). Panics on a `Dyn` channel mismatch
/// or a one-value-per-channel training batch (see
/// [`BatchNorm::try_forward`]).
impl<C: Dim, K, E: Dtype, D: Device<E>, S, T: Tracking<E, D>> Module<Tensor<S, E, D, T>>
    for BatchNorm<C, K, E, D>
where
    S: BatchNormChecked<C, K>,
{
    type Output = Tensor<<S as BatchNormChecked<C, K>>::Output, E, D, T>;
    #[track_caller]
    fn forward(&self, x: Tensor<S, E, D, T>) -> Self::Output {
        S::pass(
            self.try_forward_unchecked(x)
                .unwrap_or_else(|e| panic!("{e}")),
        )
    }
}

/// The verdict on the channel axis of an input shape `Self` against the
/// layer's `C` ([`crate::shape::DimVerdict`]), for the inputs a layer of
/// kind `K` takes: implemented for `(B, C)` and `(B, C, L)` with
/// [`Spatial1`], `(B, C, H, W)` with [`Spatial2`].
pub trait BatchNormVerdict<C, K>: Shape {
    /// [`crate::shape::Agree`], or the channels found, in decimal.
    type Got;
    /// [`crate::shape::Agree`], or the channels expected, in decimal.
    type Exp;
}

/// `Self` is an input a batch-norm layer of `C` channels and kind `K`
/// takes (the channel axis agrees with `C`: equal static dims, or a `Dyn`
/// checked at run time); the output has the input's shape. The bound of
/// [`BatchNorm`]'s `Module` impl, for generic code. The check is named
/// through the output type (see [`DimsChecked`]), so a static mismatch is
/// one short error: `dimension mismatch: got N<_4>, expected N<_3>`.
///
/// ```
/// use typegrad::nn::{BatchNorm2d, BatchNormChecked, Module, Spatial2};
/// use typegrad::prelude::*;
/// fn norm<S: BatchNormChecked<u!(3), Spatial2>>(bn: &BatchNorm2d<u!(3)>, x: Tensor<S>) -> Tensor<S::Output> {
///     bn.forward(x)
/// }
/// let dev = Cpu::default();
/// let x: Tensor<(Dyn, u!(3), Dyn, Dyn)> = Tensor::zeros((Dyn(2), Default::default(), Dyn(5), Dyn(5)), &dev);
/// assert_eq!(&*norm(&BatchNorm2d::new(&dev), x).dims(), &[2, 3, 5, 5]);
/// ```
pub trait BatchNormChecked<C, K>: Shape {
    /// The output shape (the input's).
    type Output: Shape;
    /// The tensor itself, typed with the output shape.
    fn pass<E: Dtype, D: Backend, T>(t: Tensor<Self, E, D, T>) -> Tensor<Self::Output, E, D, T>;
}

impl<C, K, S> BatchNormChecked<C, K> for S
where
    S: BatchNormVerdict<C, K>,
    <S as BatchNormVerdict<C, K>>::Got: DimsChecked<<S as BatchNormVerdict<C, K>>::Exp>,
{
    type Output = <<S as BatchNormVerdict<C, K>>::Got as DimsChecked<
        <S as BatchNormVerdict<C, K>>::Exp,
    >>::Then<S>;
    #[inline]
    fn pass<E: Dtype, D: Backend, T>(t: Tensor<S, E, D, T>) -> Tensor<Self::Output, E, D, T> {
        <<S as BatchNormVerdict<C, K>>::Got as DimsChecked<<S as BatchNormVerdict<C, K>>::Exp>>::pass(t)
    }
}

/// PyTorch's `state_dict` names: `weight`, `bias` (if affine),
/// `running_mean`, `running_var`, `num_batches_tracked`.
impl<C: Dim, K, E: Dtype, D: Backend> Params<E, D> for BatchNorm<C, K, E, D> {
    fn visit_params(
        &self,
        path: &mut ParamPath,
        f: &mut dyn FnMut(&ParamPath, ParamRef<'_, E, D>),
    ) {
        let mut visit = |name: &str, m: &dyn Params<E, D>| {
            path.push(name);
            m.visit_params(path, f);
            path.pop();
        };
        if let Some(w) = &self.weight {
            visit("weight", w);
        }
        if let Some(b) = &self.bias {
            visit("bias", b);
        }
        visit("running_mean", &self.running_mean);
        visit("running_var", &self.running_var);
        visit("num_batches_tracked", &self.num_batches_tracked);
    }
    fn visit_params_mut(
        &mut self,
        path: &mut ParamPath,
        f: &mut dyn FnMut(&ParamPath, ParamMut<'_, E, D>),
    ) {
        let mut visit = |name: &str, m: &mut dyn Params<E, D>| {
            path.push(name);
            m.visit_params_mut(path, f);
            path.pop();
        };
        if let Some(w) = &mut self.weight {
            visit("weight", w);
        }
        if let Some(b) = &mut self.bias {
            visit("bias", b);
        }
        visit("running_mean", &mut self.running_mean);
        visit("running_var", &mut self.running_var);
        visit("num_batches_tracked", &mut self.num_batches_tracked);
    }
    fn move_to_device(&mut self, device: &D) {
        self.weight.move_to_device(device);
        self.bias.move_to_device(device);
        self.running_mean.move_to_device(device);
        self.running_var.move_to_device(device);
        self.num_batches_tracked.move_to_device(device);
    }
}
