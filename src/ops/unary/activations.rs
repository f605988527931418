//! Activation functions: tanh, sigmoid, ReLU, leaky ReLU, SiLU.

use super::UnaryOp;
use crate::autograd::Tracking;
use crate::backend::Device;
use crate::dtype::Dtype;
use crate::shape::Shape;
use crate::tensor::Tensor;

impl<S: Shape, E: Dtype, D: Device<E>, T: Tracking<E, D>> Tensor<S, E, D, T> {
    /// Elementwise hyperbolic tangent.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let x = Tensor::<(u!(1),), f64>::from_vec_static(vec![0.5], &Cpu::default());
    /// assert!((x.tanh().to_vec()[0] - 0.5f64.tanh()).abs() < 1e-12);
    /// ```
    pub fn tanh(self) -> Self {
        self.unary_op(UnaryOp::Tanh)
    }
    /// Elementwise logistic sigmoid `1 / (1 + e^-x)`, stable for large |x|.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let x = Tensor::<(u!(2),), f64>::from_vec_static(vec![0.0, -1e4], &Cpu::default());
    /// assert_eq!(x.sigmoid().to_vec(), vec![0.5, 0.0]);
    /// ```
    pub fn sigmoid(self) -> Self {
        self.unary_op(UnaryOp::Sigmoid)
    }
    /// Elementwise `max(x, 0)`.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let x = Tensor::<(u!(2),), f32>::from_vec_static(vec![-1.0, 2.0], &Cpu::default());
    /// assert_eq!(x.relu().to_vec(), vec![0.0, 2.0]);
    /// ```
    pub fn relu(self) -> Self {
        self.unary_op(UnaryOp::Relu)
    }
    /// Elementwise leaky ReLU: `x` for positive `x`, else `slope · x`.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let x = Tensor::<(u!(2),), f32>::from_vec_static(vec![-1.0, 2.0], &Cpu::default());
    /// assert_eq!(x.leaky_relu(0.1).to_vec(), vec![-0.1, 2.0]);
    /// ```
    pub fn leaky_relu(self, slope: E) -> Self {
        self.unary_op(UnaryOp::LeakyRelu(slope))
    }
    /// Elementwise SiLU (swish), `x · sigmoid(x)`.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let x = Tensor::<(u!(1),), f64>::from_vec_static(vec![0.0], &Cpu::default());
    /// assert_eq!(x.silu().to_vec(), vec![0.0]);
    /// ```
    pub fn silu(self) -> Self {
        self.unary_op(UnaryOp::Silu)
    }
}
