//! `softmax` and `log_softmax` along an axis (the shape is kept).
//!
//! The row maximum is subtracted before exponentiating, so logits of any
//! finite magnitude (±1e4 and beyond) give finite results. `log_softmax`
//! is computed directly as `(x - max) - ln Σ exp(x - max)`, never as
//! `ln(softmax(x))` (which underflows to `-inf`). A row that is entirely
//! `-inf` gives NaN, as in PyTorch.

use crate::autograd::Tracking;
use crate::backend::Device;
use crate::dtype::Dtype;
use crate::shape::{HasAxis, Shape};
use crate::tensor::{op_result, Tensor};

impl<S: Shape, E: Dtype, D: Device<E>, T: Tracking<E, D>> Tensor<S, E, D, T> {
    fn softmax_op(self, axis: usize, log: bool) -> Self {
        let dims = self.shape.dims();
        let y = self.device.softmax(&self.data, &dims, axis, log);
        let (x, tape) = self.split_tape();
        let dev = x.device.clone();
        let ys = y.clone();
        let x_id = x.id;
        // Both backwards need only the output: the input is not kept.
        op_result(x.shape, y, dev.clone(), tape, move |g, gy| {
            let gx = dev.softmax_backward(&ys, gy, &dims, axis, log);
            g.accumulate(x_id, gx);
        })
    }

    /// `exp(x) / Σ exp(x)` along axis `I`: each slice along `I` becomes a
    /// probability distribution. An axis out of range does not compile.
    ///
    /// Backward: `gx = y ⊙ (gy - Σ_I gy ⊙ y)`.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let logits = Tensor::<(u!(2), u!(3)), f32>::from_vec_static(vec![1.0, 2.0, 3.0, 1e4, 0.0, -1e4], &Cpu::default());
    /// let p = logits.softmax::<1>().to_vec();
    /// assert!((p[0] + p[1] + p[2] - 1.0).abs() < 1e-6);
    /// assert_eq!(&p[3..], &[1.0, 0.0, 0.0]); // no overflow for large logits
    /// ```
    pub fn softmax<const I: usize>(self) -> Self
    where
        S: HasAxis<I>,
    {
        self.softmax_op(I, false)
    }

    /// `x - ln Σ exp(x)` along axis `I` (the log of [`Tensor::softmax`],
    /// computed stably). An axis out of range does not compile.
    ///
    /// Backward: `gx = gy - exp(y) · Σ_I gy`.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let logits = Tensor::<(u!(3),), f64>::from_vec_static(vec![1e4, 0.0, -1e4], &Cpu::default());
    /// let lp = logits.log_softmax::<0>().to_vec();
    /// assert_eq!(lp, vec![0.0, -1e4, -2e4]); // finite, where ln(softmax) would give -inf
    /// ```
    pub fn log_softmax<const I: usize>(self) -> Self
    where
        S: HasAxis<I>,
    {
        self.softmax_op(I, true)
    }
}
