//! GELU, exact (`x Φ(x)` with erf) and the tanh approximation.

use super::UnaryOp;
use crate::autograd::Tracking;
use crate::backend::Device;
use crate::dtype::Dtype;
use crate::shape::Shape;
use crate::tensor::Tensor;

impl<S: Shape, E: Dtype, D: Device<E>, T: Tracking<E, D>> Tensor<S, E, D, T> {
    /// Exact GELU, `x Φ(x)` (PyTorch's default `approximate='none'`).
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let x = Tensor::<(u!(1),), f64>::from_vec_static(vec![1.0], &Cpu::default());
    /// assert!((x.gelu().to_vec()[0] - 0.841_344_746_068_542_9).abs() < 1e-12);
    /// ```
    pub fn gelu(self) -> Self {
        self.unary_op(UnaryOp::GeluErf)
    }
    /// GELU with the tanh approximation (PyTorch's `approximate='tanh'`).
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let x = Tensor::<(u!(1),), f64>::from_vec_static(vec![1.0], &Cpu::default());
    /// assert!((x.gelu_tanh().to_vec()[0] - 0.841_191_990_607_459_5).abs() < 1e-9);
    /// ```
    pub fn gelu_tanh(self) -> Self {
        self.unary_op(UnaryOp::GeluTanh)
    }
}
