//! The fused layer-norm op: normalise each row over its trailing values,
//! scale and shift, and record one backward.

use super::{LayerNormParams, NormWant};
use crate::autograd::{TensorId, Tracking};
use crate::backend::Device;
use crate::dtype::Dtype;
use crate::shape::Shape;
use crate::tensor::{op_result, Tensor};

/// Layer norm of `x` viewed as `p` (the caller checked the sizes), with
/// the affine parameters `w`, `b` (id and values, `cols` long) if any.
/// When `x` is tracked the backward gives the input's gradient (if wanted)
/// and the parameters' under their own ids; it keeps the input and the
/// per-row mean and `1/σ`.
pub(crate) fn layer_norm<S: Shape, E: Dtype, D: Device<E>, T: Tracking<E, D>>(
    x: Tensor<S, E, D, T>,
    p: LayerNormParams,
    eps: f64,
    w: Option<(TensorId, &D::Storage<E>)>,
    b: Option<(TensorId, &D::Storage<E>)>,
) -> Tensor<S, E, D, T> {
    let dev = x.device.clone();
    let (y, mean, rstd) = dev.layer_norm_forward(p, eps, &x.data, w.map(|w| w.1), b.map(|b| b.1));
    let want_input = x.tape.wants_grad(x.id);
    let (x, tape) = x.split_tape();
    let saved = T::TRACKED.then(|| {
        (
            x.id,
            x.data,
            mean,
            rstd,
            w.map(|(id, d)| (id, d.clone())),
            b.map(|b| b.0),
        )
    });
    op_result(x.shape, y, dev.clone(), tape, move |g, gy| {
        let Some((x_id, x_data, mean, rstd, w, b_id)) = &saved else {
            return;
        };
        let want = NormWant {
            input: want_input,
            weight: w.is_some(),
            bias: b_id.is_some(),
        };
        let (gx, gw, gb) =
            dev.layer_norm_backward(p, x_data, mean, rstd, w.as_ref().map(|w| &w.1), gy, want);
        if let Some(gx) = gx {
            g.accumulate(*x_id, gx);
        }
        if let (Some(gw), Some((w_id, _))) = (gw, w) {
            g.accumulate(*w_id, gw);
        }
        if let (Some(gb), Some(b_id)) = (gb, b_id) {
            g.accumulate(*b_id, gb);
        }
    })
}
