//! `clamp`: limit values to `[lo, hi]`.

use super::UnaryOp;
use crate::autograd::Tracking;
use crate::backend::Device;
use crate::dtype::Dtype;
use crate::shape::Shape;
use crate::tensor::Tensor;

impl<S: Shape, E: Dtype, D: Device<E>, T: Tracking<E, D>> Tensor<S, E, D, T> {
    /// Elementwise `min(max(x, lo), hi)`. Panics if `lo > hi`.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let x = Tensor::<(u!(3),), f32>::from_vec_static(vec![-2.0, 0.5, 3.0], &Cpu::default());
    /// assert_eq!(x.clamp(-1.0, 1.0).to_vec(), vec![-1.0, 0.5, 1.0]);
    /// ```
    #[track_caller]
    pub fn clamp(self, lo: E, hi: E) -> Self {
        assert!(lo <= hi, "clamp: lo ({lo}) must not exceed hi ({hi})");
        self.unary_op(UnaryOp::Clamp(lo, hi))
    }
}
