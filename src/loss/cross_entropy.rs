//! Cross-entropy on logits against integer class targets, fused (one
//! kernel forward, one backward), with label smoothing and an ignored index.

use super::LastAxis;
use crate::autograd::Tracking;
use crate::backend::Device;
use crate::dtype::Dtype;
use crate::ops::reduce::CrossEntropySpec;
use crate::shape::{DimsAgree, Error, SameShape, Shape};
use crate::tensor::{op_result, Tensor};

/// Options of the cross-entropy loss, as PyTorch's `CrossEntropyLoss`
/// (`reduction="mean"`, no class weights). `CrossEntropy::default()` is the
/// plain loss; [`cross_entropy`] is a shorthand for it.
///
/// For logits `x` of shape `(.., C)` and targets `t` of shape `(..)` (one
/// class index per position), position `r` contributes
///
/// `ℓ_r = Σ_c q_rc · (ln Σ_k e^{x_rk} - x_rc)`, with
/// `q_r = (1 - ε)·onehot(t_r) + ε/C`,
///
/// and the loss is the mean of `ℓ_r` over the positions whose target is not
/// [`ignore_index`](CrossEntropy::ignore_index). The log-sum-exp subtracts
/// the row maximum first, so logits of any finite magnitude (±1e4 in `f32`)
/// give a finite loss and gradient. The gradient of the logits is
/// `(softmax(x_r) - q_r) / n` on counted rows and 0 on ignored ones.
///
/// **Every target ignored** (or no positions at all): the loss is **0** and
/// the gradient is zero. PyTorch returns NaN here (0/0); a batch made only
/// of padding then cannot poison a running average or the parameters.
///
/// ```
/// use typegrad::prelude::*;
/// use typegrad::loss::CrossEntropy;
/// let dev = Cpu::default();
/// // A GPT-style batch: (batch, time, vocab) logits, (batch, time) targets.
/// let logits: Tensor<(Dyn, Dyn, u!(5)), f64> = Tensor::zeros((Dyn(2), Dyn(3), Default::default()), &dev);
/// let pad = 99;
/// let targets = Tensor::<(Dyn, Dyn), usize>::from_vec((Dyn(2), Dyn(3)), vec![0, 1, pad, 4, pad, pad], &dev);
/// let ce = CrossEntropy { label_smoothing: 0.1, ignore_index: Some(pad) };
/// let loss = ce.loss(logits, &targets);
/// // Uniform logits: every counted position costs ln 5, whatever the smoothing.
/// assert!((loss.item() - 5f64.ln()).abs() < 1e-12);
/// ```
#[derive(Copy, Clone, Debug, Default, PartialEq)]
pub struct CrossEntropy {
    /// `ε` in `[0, 1]`: the target distribution is `(1 - ε)` on the true
    /// class plus `ε / C` on every class (0: plain cross-entropy).
    pub label_smoothing: f64,
    /// Positions whose target equals this index contribute nothing, neither
    /// to the sum nor to the count the mean divides by (padding tokens). The
    /// index need not be a valid class.
    pub ignore_index: Option<usize>,
}

impl CrossEntropy {
    /// The mean cross-entropy of `logits` (class axis last) against
    /// `targets` (the logits' shape without the class axis).
    ///
    /// Panics with the message of [`CrossEntropy::try_loss`]'s error.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::loss::CrossEntropy;
    /// let dev = Cpu::default();
    /// let logits = Tensor::<(Dyn, u!(2)), f64>::from_vec((Dyn(1), Default::default()), vec![0.0, 0.0], &dev);
    /// let t = Tensor::<(Dyn,), usize>::from_vec((Dyn(1),), vec![0], &dev);
    /// let ce = CrossEntropy { label_smoothing: 0.2, ..Default::default() };
    /// assert!((ce.loss(logits, &t).item() - 2f64.ln()).abs() < 1e-12);
    /// ```
    #[track_caller]
    pub fn loss<S, S2, E, D, T, G: DimsAgree<X>, X>(
        &self,
        logits: Tensor<S, E, D, T>,
        targets: &Tensor<S2, usize, D>,
    ) -> Tensor<(), E, D, T>
    where
        S: LastAxis,
        S2: SameShape<S::Rest, G, X>,
        E: Dtype,
        D: Device<E>,
        T: Tracking<E, D>,
    {
        self.try_loss(logits, targets)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Fallible form of [`CrossEntropy::loss`]. Errors:
    /// - a target `>= C` (and not the ignored index):
    ///   [`Error::IndexOutOfRange`] naming the target, the class axis and `C`;
    /// - a `Dyn` dim of `targets` that differs from the logits':
    ///   [`Error::DimMismatch`];
    /// - `label_smoothing` outside `[0, 1]` (or NaN): [`Error::Invalid`].
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::loss::CrossEntropy;
    /// let dev = Cpu::default();
    /// let logits: Tensor<(Dyn, u!(10)), f32> = Tensor::zeros((Dyn(2), Default::default()), &dev);
    /// let t = Tensor::<(Dyn,), usize>::from_vec((Dyn(2),), vec![3, 12], &dev);
    /// let e = CrossEntropy::default().try_loss(logits, &t).unwrap_err();
    /// assert_eq!(e.to_string(), "cross_entropy target: index 12 out of range for axis 1 of size 10");
    /// ```
    pub fn try_loss<S, S2, E, D, T, G: DimsAgree<X>, X>(
        &self,
        logits: Tensor<S, E, D, T>,
        targets: &Tensor<S2, usize, D>,
    ) -> Result<Tensor<(), E, D, T>, Error>
    where
        S: LastAxis,
        S2: SameShape<S::Rest, G, X>,
        E: Dtype,
        D: Device<E>,
        T: Tracking<E, D>,
    {
        if !(0.0..=1.0).contains(&self.label_smoothing) {
            return Err(Error::Invalid(
                "cross_entropy: label_smoothing must be in [0, 1]",
            ));
        }
        let (rest, classes) = logits.shape.split_last();
        targets.shape.check_same_shape(
            &rest,
            "cross_entropy",
            "targets vs logits without the class axis",
        )?;
        let spec = CrossEntropySpec {
            rows: rest.numel(),
            classes,
            label_smoothing: self.label_smoothing,
            ignore_index: self.ignore_index,
            class_axis: S::RANK - 1,
        };
        let (loss, stats) = logits
            .device
            .cross_entropy(&logits.data, &targets.data, spec)?;
        let tdata = targets.data.clone();
        let (x, tape) = logits.split_tape();
        let dev = x.device.clone();
        Ok(op_result((), loss, dev.clone(), tape, move |g, gy| {
            let gx = dev.cross_entropy_backward(&x.data, &stats, &tdata, gy, spec);
            g.accumulate(x.id, gx);
        }))
    }
}

/// The mean cross-entropy of `logits` (class axis last: `(C,)`, `(B, C)`,
/// `(B, T, C)`, ...) against integer `targets` (the same shape without the
/// class axis): [`CrossEntropy::default()`](CrossEntropy)`.loss(..)`. Stable
/// for logits of any finite magnitude. Panics on a target `>= C`, naming it
/// and `C` (see [`try_cross_entropy`]).
///
/// ```
/// use typegrad::prelude::*;
/// use typegrad::loss::cross_entropy;
/// let dev = Cpu::default();
/// let logits = Tensor::<(Dyn, u!(3)), f32>::from_vec((Dyn(2), Default::default()), vec![1e4, 0.0, -1e4, 0.0, 0.0, 0.0], &dev);
/// let targets = Tensor::<(Dyn,), usize>::from_vec((Dyn(2),), vec![0, 2], &dev);
/// let loss = cross_entropy(logits, &targets).item(); // (0 + ln 3) / 2, no overflow
/// assert!((loss - 3f32.ln() / 2.0).abs() < 1e-6);
/// ```
///
/// Targets whose static shape does not match the logits' do not compile:
///
/// ```compile_fail
/// use typegrad::prelude::*;
/// use typegrad::loss::cross_entropy;
/// let dev = Cpu::default();
/// let logits: Tensor<(u!(4), u!(3)), f32> = Tensor::zeros(Default::default(), &dev);
/// let targets: Tensor<(u!(5),), usize> = Tensor::full(Default::default(), 0, &dev);
/// let _ = cross_entropy(logits, &targets); // dimension mismatch: got N<_5>, expected N<_4>
/// ```
#[track_caller]
pub fn cross_entropy<S, S2, E, D, T, G: DimsAgree<X>, X>(
    logits: Tensor<S, E, D, T>,
    targets: &Tensor<S2, usize, D>,
) -> Tensor<(), E, D, T>
where
    S: LastAxis,
    S2: SameShape<S::Rest, G, X>,
    E: Dtype,
    D: Device<E>,
    T: Tracking<E, D>,
{
    CrossEntropy::default().loss(logits, targets)
}

/// Fallible form of [`cross_entropy`] (errors as [`CrossEntropy::try_loss`]).
///
/// ```
/// use typegrad::prelude::*;
/// use typegrad::loss::try_cross_entropy;
/// let dev = Cpu::default();
/// let logits: Tensor<(Dyn, Dyn, u!(4)), f32> = Tensor::zeros((Dyn(2), Dyn(3), Default::default()), &dev);
/// let t: Tensor<(Dyn, Dyn), usize> = Tensor::full((Dyn(2), Dyn(2)), 0, &dev);
/// let e = try_cross_entropy(logits, &t).unwrap_err();
/// assert_eq!(e.to_string(), "cross_entropy: dimension mismatch on axis 1 (targets vs logits without the class axis): got 2, expected 3");
/// ```
pub fn try_cross_entropy<S, S2, E, D, T, G: DimsAgree<X>, X>(
    logits: Tensor<S, E, D, T>,
    targets: &Tensor<S2, usize, D>,
) -> Result<Tensor<(), E, D, T>, Error>
where
    S: LastAxis,
    S2: SameShape<S::Rest, G, X>,
    E: Dtype,
    D: Device<E>,
    T: Tracking<E, D>,
{
    CrossEntropy::default().try_loss(logits, targets)
}
