//! Training and evaluation modes, and the running-statistics updates that
//! layers record in training.

use crate::backend::Backend;
use crate::dtype::Dtype;

/// How layers with training-specific behaviour (dropout, batch
/// normalisation) treat a tracked input. It travels with the tensor (in its
/// [`crate::autograd::Tape`]), so a model's forward is written once and
/// every layer inside sees the same mode. An untracked tensor is always
/// [`Mode::Eval`].
///
/// | mode | dropout | normalisation | running statistics |
/// |---|---|---|---|
/// | `Train` (`x.trace()`, `x.trace_no_grad()`) | drops | batch statistics | updated when the optimizer steps the model |
/// | `TrainKeepStats` | drops | batch statistics | left alone |
/// | `Eval` (untracked, or `x.trace().with_mode(Mode::Eval)`) | identity | running statistics | left alone |
///
/// ```
/// use typegrad::prelude::*;
/// let x: Tensor<(u!(2),), f64> = Tensor::zeros(Default::default(), &Cpu::default());
/// assert_eq!(x.mode(), Mode::Eval);
/// let t = x.trace();
/// assert_eq!(t.mode(), Mode::Train);
/// // Evaluation that still computes input gradients (a saliency map):
/// assert_eq!(t.with_mode(Mode::Eval).mode(), Mode::Eval);
/// ```
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum Mode {
    /// Training: dropout drops, normalisation layers use batch statistics
    /// and record updates of their running statistics.
    #[default]
    Train,
    /// Training behaviour without recording statistics updates (a GAN's
    /// discriminator on generated images, when the user says so).
    TrainKeepStats,
    /// Evaluation: dropout is the identity, normalisation layers use their
    /// running statistics; gradients still flow if the tensor is tracked.
    Eval,
}

impl Mode {
    /// `true` for the two training modes.
    ///
    /// ```
    /// use typegrad::autograd::Mode;
    /// assert!(Mode::TrainKeepStats.is_train() && !Mode::Eval.is_train());
    /// ```
    pub fn is_train(self) -> bool {
        !matches!(self, Mode::Eval)
    }
}

/// An update of a running statistic (a buffer such as BatchNorm's
/// `running_mean`), recorded on the tape by a layer in [`Mode::Train`] and
/// applied, in recording order, when an optimizer steps the model holding
/// the buffer (or by `ModuleExt::apply_stat_updates`). Layers keep
/// `forward(&self)`: nothing mutates behind the user's back.
pub enum StatUpdate<E: Dtype, D: Backend> {
    /// `buffer ← (1 - momentum) · buffer + momentum · value`.
    Ema {
        /// The weight of the new value.
        momentum: f64,
        /// The batch's statistic, same length as the buffer.
        value: D::Storage<E>,
    },
    /// `buffer ← buffer + amount` elementwise (a counter such as
    /// `num_batches_tracked`).
    Add {
        /// Added to every element.
        amount: f64,
    },
    /// A cumulative (equal-weight) average of every batch seen:
    /// `buffer ← buffer + (value - buffer) / n`, where `n` is the value of
    /// the counter buffer `counter` at the time this update is applied
    /// (after the counter's own updates recorded before this one). This is
    /// PyTorch's `BatchNorm(momentum=None)`, whose factor is
    /// `1 / num_batches_tracked`; it is read when the update is applied, not
    /// when it is recorded, so several batches recorded before one optimizer
    /// step are weighted exactly as PyTorch weights them.
    CumulativeAverage {
        /// The id of the counter buffer (`num_batches_tracked`), which must
        /// belong to the same model.
        counter: crate::autograd::TensorId,
        /// The batch's statistic, same length as the buffer.
        value: D::Storage<E>,
    },
}

impl<E: Dtype, D: Backend> Clone for StatUpdate<E, D> {
    fn clone(&self) -> Self {
        match self {
            StatUpdate::Ema { momentum, value } => StatUpdate::Ema {
                momentum: *momentum,
                value: value.clone(),
            },
            StatUpdate::Add { amount } => StatUpdate::Add { amount: *amount },
            StatUpdate::CumulativeAverage { counter, value } => StatUpdate::CumulativeAverage {
                counter: *counter,
                value: value.clone(),
            },
        }
    }
}
