//! `powf`: elementwise `x^p` for a scalar exponent.

use super::UnaryOp;
use crate::autograd::Tracking;
use crate::backend::Device;
use crate::dtype::Dtype;
use crate::shape::Shape;
use crate::tensor::Tensor;

impl<S: Shape, E: Dtype, D: Device<E>, T: Tracking<E, D>> Tensor<S, E, D, T> {
    /// Elementwise `x^p`.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let x = Tensor::<(u!(2),), f64>::from_vec_static(vec![4.0, 9.0], &Cpu::default());
    /// assert_eq!(x.powf(0.5).to_vec(), vec![2.0, 3.0]);
    /// ```
    pub fn powf(self, p: E) -> Self {
        self.unary_op(UnaryOp::Powf(p))
    }
}
