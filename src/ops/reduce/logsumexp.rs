//! `logsumexp` and `logsumexp_axis`: `ln Σ exp(x)`, computed stably as
//! `max + ln Σ exp(x - max)` in one kernel (finite for logits of any
//! magnitude; `-inf` for an empty or all `-inf` input). The gradient is the
//! softmax `exp(x - logsumexp)`.

use super::ReduceOp;
use crate::autograd::Tracking;
use crate::backend::Device;
use crate::dtype::Dtype;
use crate::shape::{RemoveAxis, Shape};
use crate::tensor::Tensor;

impl<S: Shape, E: Dtype, D: Device<E>, T: Tracking<E, D>> Tensor<S, E, D, T> {
    /// `ln Σ exp(x)` over all elements, as a scalar tensor.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let x = Tensor::<(u!(2),), f32>::from_vec_static(vec![1e4, 1e4], &Cpu::default());
    /// let y = x.logsumexp().item(); // 1e4 + ln 2, no overflow
    /// assert!((y - (1e4 + 2f32.ln())).abs() < 1e-3);
    /// ```
    pub fn logsumexp(self) -> Tensor<(), E, D, T> {
        self.reduce_op(ReduceOp::LogSumExp, None, ())
    }

    /// `ln Σ exp(x)` along axis `I`, which is removed from the shape. An axis
    /// out of range does not compile.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let logits = Tensor::<(u!(2), u!(2)), f64>::from_vec_static(vec![0.0, 0.0, -1e4, 3.0], &Cpu::default());
    /// let lse: Tensor<(u!(2),), f64> = logits.logsumexp_axis::<1>();
    /// let v = lse.to_vec();
    /// assert!((v[0] - 2f64.ln()).abs() < 1e-12 && (v[1] - 3.0).abs() < 1e-12);
    /// ```
    pub fn logsumexp_axis<const I: usize>(self) -> Tensor<<S as RemoveAxis<I>>::Output, E, D, T>
    where
        S: RemoveAxis<I>,
    {
        let shape = self.shape.remove_axis();
        self.reduce_op(ReduceOp::LogSumExp, Some(I), shape)
    }
}
