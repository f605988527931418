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
use crate::backend::Device;
use crate::dtype::Dtype;
use crate::ops::unary::UnaryOp;
use crate::shape::{Dims, Error, Shape, MAX_RANK};
use crate::tensor::{op_result, Tensor};

pub use crate::backend::kernels::reduce::{CrossEntropySpec, ReduceKernel, ReduceOp};

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
