//! `sqrt`: Elementwise square root.

use super::UnaryOp;
use crate::autograd::Tracking;
use crate::backend::Device;
use crate::dtype::Dtype;
use crate::shape::Shape;
use crate::tensor::Tensor;

impl<S: Shape, E: Dtype, D: Device<E>, T: Tracking<E, D>> Tensor<S, E, D, T> {
    /// Elementwise square root.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let x = Tensor::<(u!(2),), f64>::from_vec_static(vec![4.0, 9.0], &Cpu::default());
    /// let y = x.sqrt().to_vec();
    /// assert!((y[0] - 2.0).abs() < 1e-12);
    /// ```
    pub fn sqrt(self) -> Self {
        self.unary_op(UnaryOp::Sqrt)
    }
}
