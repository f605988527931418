//! Elementwise unary ops. Each op file holds the typed method; the op
//! descriptor [`UnaryOp`] with its formulas `f(x)`, `df(x, y)` (with
//! `y = f(x)`) and the kernel trait live in the backend layer
//! ([`crate::backend::kernels::unary`]), re-exported here.

mod abs;
mod activations;
mod clamp;
mod exp;
mod gelu;
mod ln;
mod neg;
mod powf;
mod scalar;
mod sqrt;
mod square;
mod trig;

pub use crate::backend::kernels::unary::{Saved, UnaryKernel, UnaryOp};

use crate::autograd::Tracking;
use crate::backend::Device;
use crate::dtype::Dtype;
use crate::shape::Shape;
use crate::tensor::{op_result, Tensor};

impl<S: Shape, E: Dtype, D: Device<E>, T: Tracking<E, D>> Tensor<S, E, D, T> {
    /// Apply a unary op and record its backward.
    pub(crate) fn unary_op(self, op: UnaryOp<E>) -> Self {
        let y = self.device.unary(op, &self.data);
        let (x, tape) = self.split_tape();
        let dev = x.device.clone();
        let x_id = x.id;
        if !T::TRACKED {
            return op_result(x.shape, y, dev, tape, |_, _| {});
        }
        // Keep only what the backward reads.
        let saved = match op.saves() {
            Saved::Input => Some(x.data),
            Saved::Output => Some(y.clone()),
            Saved::Nothing => None,
        };
        op_result(x.shape, y, dev.clone(), tape, move |g, gy| {
            let gx = dev.unary_backward(op, saved.as_ref().unwrap_or(gy), gy);
            g.accumulate(x_id, gx);
        })
    }
}
