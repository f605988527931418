//! `neg`: Elementwise negation, `-x`.

use super::UnaryOp;
use crate::autograd::Tracking;
use crate::backend::Device;
use crate::dtype::Dtype;
use crate::shape::Shape;
use crate::tensor::Tensor;

impl<S: Shape, E: Dtype, D: Device<E>, T: Tracking<E, D>> Tensor<S, E, D, T> {
    /// Elementwise negation, `-x`.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let x = Tensor::<(u!(2),), f64>::from_vec_static(vec![1.5, -2.0], &Cpu::default());
    /// let y = x.neg().to_vec();
    /// assert!((y[0] - -1.5).abs() < 1e-12);
    /// ```
    #[allow(clippy::should_implement_trait)] // also implemented as `-x`
    pub fn neg(self) -> Self {
        self.unary_op(UnaryOp::Neg)
    }
}
