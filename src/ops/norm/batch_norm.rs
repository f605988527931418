//! The fused batch-norm op: normalise each channel with the batch's or the
//! running statistics, scale and shift, and record one backward.

use super::{BatchNormParams, NormWant};
use crate::autograd::{TensorId, Tracking};
use crate::backend::{Backend, Device};
use crate::dtype::Dtype;
use crate::shape::Shape;
use crate::tensor::{op_result, Tensor};

/// Which statistics normalise the input.
pub(crate) enum BatchStats<'a, E: Dtype, D: Backend> {
    /// The batch's own mean and biased variance (training): the backward
    /// differentiates through them.
    Batch,
    /// Given statistics (the running ones, in evaluation): constants.
    Running {
        mean: &'a D::Storage<E>,
        var: &'a D::Storage<E>,
    },
}

/// Batch norm of `x` viewed as `p` (the caller checked the sizes), with
/// the affine parameters `w`, `b` (id and values) if any. Returns the
/// output and, for [`BatchStats::Batch`], the batch mean and biased
/// variance (for the running-statistics updates). When `x` is tracked the
/// backward gives the input's gradient (if wanted) and the parameters'
/// under their own ids.
pub(crate) fn batch_norm<S: Shape, E: Dtype, D: Device<E>, T: Tracking<E, D>>(
    x: Tensor<S, E, D, T>,
    p: BatchNormParams,
    eps: f64,
    w: Option<(TensorId, &D::Storage<E>)>,
    b: Option<(TensorId, &D::Storage<E>)>,
    stats: BatchStats<'_, E, D>,
) -> (Tensor<S, E, D, T>, Option<(D::Storage<E>, D::Storage<E>)>) {
    let dev = x.device.clone();
    let batch_stats = matches!(stats, BatchStats::Batch);
    let (mean, var) = match stats {
        BatchStats::Batch => dev.batch_norm_stats(p, &x.data),
        BatchStats::Running { mean, var } => (mean.clone(), var.clone()),
    };
    let y = dev.batch_norm_forward(p, eps, &x.data, &mean, &var, w.map(|w| w.1), b.map(|b| b.1));
    let want_input = x.tape.wants_grad(x.id);
    let (x, tape) = x.split_tape();
    // Only a tracked input records a backward; keep what it reads.
    let saved = T::TRACKED.then(|| {
        (
            x.id,
            x.data,
            mean.clone(),
            var.clone(),
            w.map(|(id, d)| (id, d.clone())),
            b.map(|b| b.0),
        )
    });
    let out = op_result(x.shape, y, dev.clone(), tape, move |g, gy| {
        let Some((x_id, x_data, mean, var, w, b_id)) = &saved else {
            return;
        };
        let want = NormWant {
            input: want_input,
            weight: w.is_some(),
            bias: b_id.is_some(),
        };
        let (gx, gw, gb) = dev.batch_norm_backward(
            p,
            eps,
            batch_stats,
            x_data,
            mean,
            var,
            w.as_ref().map(|w| &w.1),
            gy,
            want,
        );
        if let Some(gx) = gx {
            g.accumulate(*x_id, gx);
        }
        if let (Some(gw), Some((w_id, _))) = (gw, w) {
            g.accumulate(*w_id, gw);
        }
        if let (Some(gb), Some(b_id)) = (gb, b_id) {
            g.accumulate(*b_id, gb);
        }
    });
    (out, batch_stats.then_some((mean, var)))
}
