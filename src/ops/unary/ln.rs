//! `ln`: Elementwise natural logarithm (NaN for negative inputs, -inf at 0, as IEEE).

use super::UnaryOp;
use crate::autograd::Tracking;
use crate::backend::Device;
use crate::dtype::Dtype;
use crate::shape::Shape;
use crate::tensor::Tensor;

impl<S: Shape, E: Dtype, D: Device<E>, T: Tracking<E, D>> Tensor<S, E, D, T> {
    /// Elementwise natural logarithm (NaN for negative inputs, -inf at 0, as IEEE).
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let x = Tensor::<(u!(2),), f64>::from_vec_static(vec![1.0, 2.0], &Cpu::default());
    /// let y = x.ln().to_vec();
    /// assert!((y[0] - 0.0).abs() < 1e-12);
    /// ```
    pub fn ln(self) -> Self {
        self.unary_op(UnaryOp::Ln)
    }
}
