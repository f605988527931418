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
use crate::shape::{Error, Shape};
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
        let ys = y.clone();
        op_result(out_shape, y, dev.clone(), tape, move |g, gy| {
            let gx = dev.reduce_backward(op, &x.data, &ys, gy, &dims, axis);
            g.accumulate(x.id, gx);
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
