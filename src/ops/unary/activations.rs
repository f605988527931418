//! Activation functions: tanh, sigmoid, ReLU, leaky ReLU, SiLU.

use super::UnaryOp;
use crate::autograd::Tracking;
use crate::backend::Device;
use crate::dtype::Dtype;
use crate::shape::Shape;
use crate::tensor::Tensor;

#[inline(always)]
pub(super) fn tanh_f<E: Dtype>(x: E) -> E {
    x.tanh()
}
#[inline(always)]
pub(super) fn tanh_df<E: Dtype>(_x: E, y: E) -> E {
    E::one() - y * y
}
/// Stable for large |x|: never evaluates `e^x` for large positive x.
#[inline(always)]
pub(super) fn sigmoid_f<E: Dtype>(x: E) -> E {
    // e^-|x| never overflows; branch-free, so loops over it vectorise.
    let e = (-x.abs()).fast_exp();
    let s = E::one() / (E::one() + e);
    if x >= E::zero() {
        s
    } else {
        e * s
    }
}
#[inline(always)]
pub(super) fn sigmoid_df<E: Dtype>(_x: E, y: E) -> E {
    y * (E::one() - y)
}
#[inline(always)]
pub(super) fn relu_f<E: Dtype>(x: E) -> E {
    if x > E::zero() {
        x
    } else {
        E::zero()
    }
}
/// Subgradient 0 at 0, as PyTorch.
#[inline(always)]
pub(super) fn relu_df<E: Dtype>(x: E, _y: E) -> E {
    if x > E::zero() {
        E::one()
    } else {
        E::zero()
    }
}
#[inline(always)]
pub(super) fn leaky_relu_f<E: Dtype>(x: E, s: E) -> E {
    if x > E::zero() {
        x
    } else {
        x * s
    }
}
#[inline(always)]
pub(super) fn leaky_relu_df<E: Dtype>(x: E, s: E) -> E {
    if x > E::zero() {
        E::one()
    } else {
        s
    }
}
#[inline(always)]
pub(super) fn silu_f<E: Dtype>(x: E) -> E {
    x * sigmoid_f(x)
}
#[inline(always)]
pub(super) fn silu_df<E: Dtype>(x: E) -> E {
    let s = sigmoid_f(x);
    s * (E::one() + x * (E::one() - s))
}

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
