//! Reductions (sum, mean, max, min, var, logsumexp) along one axis or the
//! whole tensor, and softmax / log-softmax along an axis.
//!
//! | whole tensor -> `Tensor<(), ..>` | along axis `I` -> `S::Output` of [`RemoveAxis<I>`] |
//! |---|---|
//! | [`sum`](Tensor::sum) | [`sum_axis::<I>`](Tensor::sum_axis) |
//! | [`mean`](Tensor::mean) | [`mean_axis::<I>`](Tensor::mean_axis) |
//! | [`max`](Tensor::max) / [`min`](Tensor::min) | [`max_axis::<I>`](Tensor::max_axis) / [`min_axis::<I>`](Tensor::min_axis) |
//! | [`var`](Tensor::var) / [`var_unbiased`](Tensor::var_unbiased) | [`var_axis::<I>`](Tensor::var_axis) / [`var_axis_unbiased::<I>`](Tensor::var_axis_unbiased) |
//! | [`logsumexp`](Tensor::logsumexp) | [`logsumexp_axis::<I>`](Tensor::logsumexp_axis) |
//!
//! and [`softmax::<I>`](Tensor::softmax) / [`log_softmax::<I>`](Tensor::log_softmax),
//! which keep the shape. An axis out of range is a compile error. Reduced
//! axes are removed (there are no keep-dim variants: broadcasting a reduced
//! tensor back is the binary ops' job).
//!
//! Every op is one fused kernel call with its own backward (mean is not
//! `sum / n`, variance is not composed from `mean` and `square`), so no
//! intermediate tensor is stored for the backward pass.
//!
//! **Empty reductions.** `sum` of nothing is 0 and `logsumexp` of nothing is
//! `-inf`. `max`, `min`, `mean` and `var` of an empty axis (a `Dyn` axis of
//! size 0) and `var_unbiased` of fewer than two elements are undefined: the
//! `try_` forms return [`Error::TooFewElements`] and the plain forms panic
//! with the op, the axis and its size.
//!
//! [`RemoveAxis<I>`]: crate::shape::RemoveAxis
//! [`Error::TooFewElements`]: crate::shape::Error::TooFewElements

mod logsumexp;
mod mean;
mod minmax;
mod softmax;
mod sum;
mod var;

use crate::autograd::Tracking;
use crate::backend::{Backend, Device};
use crate::dtype::Dtype;
use crate::ops::unary::UnaryOp;
use crate::shape::{Dims, Error, Shape, MAX_RANK};
use crate::tensor::{op_result, Tensor};

/// Which reduction.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ReduceOp {
    /// Sum.
    Sum,
    /// Arithmetic mean (sum / N).
    Mean,
    /// Maximum (gradient shared equally among ties). NaN propagates.
    Max,
    /// Minimum (gradient shared equally among ties). NaN propagates.
    Min,
    /// Variance: the sum of squared deviations from the mean divided by
    /// `N - correction` (0: population variance, 1: unbiased).
    Var {
        /// Subtracted from the element count in the divisor.
        correction: usize,
    },
    /// `ln Σ exp(x)`, computed as `max + ln Σ exp(x - max)` (stable).
    LogSumExp,
}

/// Kernels for reductions and softmax. `dims` are the input's runtime sizes;
/// `axis: None` reduces everything to one element.
///
/// An axis reduction views the input as `(outer, n, inner)` (the product of
/// the dims before the axis, the axis, the product after it); the output has
/// `outer · inner` elements in row-major order.
pub trait ReduceKernel<E: Dtype>: Backend {
    /// Reduce along `axis` (removing it) or everything.
    fn reduce(
        &self,
        op: ReduceOp,
        x: &Self::Storage<E>,
        dims: &[usize],
        axis: Option<usize>,
    ) -> Self::Storage<E>;
    /// Gradient of the input of [`ReduceKernel::reduce`], given its output `y` and `gy`.
    fn reduce_backward(
        &self,
        op: ReduceOp,
        x: &Self::Storage<E>,
        y: &Self::Storage<E>,
        gy: &Self::Storage<E>,
        dims: &[usize],
        axis: Option<usize>,
    ) -> Self::Storage<E>;
    /// Sum a tensor of `from` dims down to the broadcastable `to` dims
    /// (right-aligned): the backward of broadcasting.
    fn sum_to(&self, x: &Self::Storage<E>, from: &[usize], to: &[usize]) -> Self::Storage<E>;
    /// Softmax (or log-softmax) along `axis`, stable for any magnitude.
    fn softmax(
        &self,
        x: &Self::Storage<E>,
        dims: &[usize],
        axis: usize,
        log: bool,
    ) -> Self::Storage<E>;
    /// Gradient of softmax's input given its output `y` and `gy`.
    fn softmax_backward(
        &self,
        y: &Self::Storage<E>,
        gy: &Self::Storage<E>,
        dims: &[usize],
        axis: usize,
        log: bool,
    ) -> Self::Storage<E>;
    /// Fused, stable cross-entropy of `spec.rows` rows of `spec.classes`
    /// logits against one class index per row (log-softmax and the
    /// negative log-likelihood in one pass; see [`CrossEntropySpec`]).
    /// Returns the mean loss over the rows whose target is not ignored (one
    /// element; 0 when every row is ignored) and two statistics per row
    /// (`2 · rows` elements: the shift `m`, the row maximum, and
    /// `ln Σ exp(x - m)`), which the backward needs: keeping them apart
    /// lets it form `exp((x - m) - ln s)` without rounding `m + ln s` at the
    /// magnitude of the logits. A target `>= classes`
    /// (other than the ignored index) is an [`Error::IndexOutOfRange`].
    #[allow(clippy::type_complexity)]
    fn cross_entropy(
        &self,
        logits: &Self::Storage<E>,
        targets: &Self::Storage<usize>,
        spec: CrossEntropySpec,
    ) -> Result<(Self::Storage<E>, Self::Storage<E>), Error>;
    /// Gradient of the logits of [`ReduceKernel::cross_entropy`]: row `r`
    /// gets `gy / n · (softmax(x_r) - q_r)` (`q_r` the smoothed one-hot
    /// target, `n` the number of rows not ignored); ignored rows get 0.
    fn cross_entropy_backward(
        &self,
        logits: &Self::Storage<E>,
        stats: &Self::Storage<E>,
        targets: &Self::Storage<usize>,
        gy: &Self::Storage<E>,
        spec: CrossEntropySpec,
    ) -> Self::Storage<E>;
    /// Mean binary cross-entropy on logits `x` against targets `y` (same
    /// length, at least one element), in the stable form
    /// `max(x, 0) - x·y + ln(1 + e^{-|x|})`. One element.
    fn bce_with_logits(&self, x: &Self::Storage<E>, y: &Self::Storage<E>) -> Self::Storage<E>;
    /// Gradients of [`ReduceKernel::bce_with_logits`] given the output
    /// gradient `gy` (one element): `gy/N · (σ(x) - y)` for the logits and
    /// `-gy/N · x` for the targets, each computed only if asked for in `want`.
    #[allow(clippy::type_complexity)]
    fn bce_with_logits_backward(
        &self,
        x: &Self::Storage<E>,
        y: &Self::Storage<E>,
        gy: &Self::Storage<E>,
        want: (bool, bool),
    ) -> (Option<Self::Storage<E>>, Option<Self::Storage<E>>);
}

/// Sizes and options of a fused cross-entropy
/// ([`ReduceKernel::cross_entropy`]): the logits are `rows` contiguous rows
/// of `classes` values (the class axis last), the targets `rows` indices.
///
/// Row `r`'s loss is `Σ_c q_c · (lse_r - x_rc)` with the smoothed target
/// `q = (1 - ε)·onehot(t_r) + ε/C`, computed as
/// `ln Σ exp(x - m) - Σ_c q_c (x_c - m)` (`m` the row maximum), so logits of
/// any finite magnitude give a finite loss.
///
/// ```
/// use typegrad::prelude::*;
/// use typegrad::ops::reduce::{CrossEntropySpec, ReduceKernel};
/// let dev = Cpu::default();
/// let logits = dev.upload(vec![0.0f64, 0.0, 1e4, 0.0]); // two rows, two classes
/// let targets = dev.upload(vec![1usize, 0]);
/// let spec = CrossEntropySpec { rows: 2, classes: 2, label_smoothing: 0.0, ignore_index: None, class_axis: 1 };
/// let (loss, _lse) = dev.cross_entropy(&logits, &targets, spec).unwrap();
/// assert!((loss[0] - core::f64::consts::LN_2 / 2.0).abs() < 1e-12); // (ln 2 + 0) / 2
/// ```
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct CrossEntropySpec {
    /// Number of rows (every dim but the class axis, multiplied).
    pub rows: usize,
    /// Number of classes (the size of the last axis).
    pub classes: usize,
    /// Label smoothing `ε` in `[0, 1]`.
    pub label_smoothing: f64,
    /// Rows whose target equals this index contribute nothing.
    pub ignore_index: Option<usize>,
    /// The class axis's number in the logits (for error messages).
    pub class_axis: usize,
}

impl<S: Shape, E: Dtype, D: Device<E>, T: Tracking<E, D>> Tensor<S, E, D, T> {
    /// Apply a reduction and record its backward.
    pub(crate) fn reduce_op<S2: Shape>(
        self,
        op: ReduceOp,
        axis: Option<usize>,
        out_shape: S2,
    ) -> Tensor<S2, E, D, T> {
        let dims = self.shape.dims();
        let y = self.device.reduce(op, &self.data, &dims, axis);
        let (x, tape) = self.split_tape();
        let dev = x.device.clone();
        let x_id = x.id;
        if !T::TRACKED {
            return op_result(out_shape, y, dev, tape, |_, _| {});
        }
        if let ReduceOp::Sum | ReduceOp::Mean = op {
            // The gradient is gy spread over the reduced elements (scaled by
            // 1/n for the mean): nothing of the input or output is kept.
            let mut kept = [1usize; MAX_RANK];
            let kept = match axis {
                Some(a) => {
                    kept[..dims.len()].copy_from_slice(&dims);
                    kept[a] = 1;
                    Dims::new(&kept[..dims.len()])
                }
                None => Dims::new(&kept[..dims.len()]),
            };
            let n = match axis {
                Some(a) => dims[a],
                None => dims.iter().product(),
            };
            return op_result(out_shape, y, dev.clone(), tape, move |g, gy| {
                // Scale the (small) output gradient, then spread it once.
                let gx = if op == ReduceOp::Mean && n > 0 {
                    let scaled = dev.unary(UnaryOp::MulScalar(E::from_f64(1.0 / n as f64)), gy);
                    dev.expand(&scaled, &kept, &dims)
                } else {
                    dev.expand(gy, &kept, &dims)
                };
                g.accumulate(x_id, gx);
            });
        }
        let ys = y.clone();
        let xs = x.data;
        op_result(out_shape, y, dev.clone(), tape, move |g, gy| {
            let gx = dev.reduce_backward(op, &xs, &ys, gy, &dims, axis);
            g.accumulate(x_id, gx);
        })
    }

    /// [`Tensor::reduce_op`] after checking that the reduction covers at
    /// least `min` elements.
    pub(crate) fn try_reduce_op<S2: Shape>(
        self,
        name: &'static str,
        op: ReduceOp,
        axis: Option<usize>,
        out_shape: S2,
        min: usize,
    ) -> Result<Tensor<S2, E, D, T>, Error> {
        let got = match axis {
            Some(a) => self.shape.dims()[a],
            None => self.shape.numel(),
        };
        if got < min {
            return Err(Error::TooFewElements {
                op: name,
                axis,
                got,
                min,
            });
        }
        Ok(self.reduce_op(op, axis, out_shape))
    }
}
