//! Tensor-scalar arithmetic: `x + c`, `x - c`, `x * c`, `x / c`.

use super::UnaryOp;
use crate::autograd::Tracking;
use crate::backend::Device;
use crate::dtype::Dtype;
use crate::shape::Shape;
use crate::tensor::Tensor;

impl<S: Shape, E: Dtype, D: Device<E>, T: Tracking<E, D>> Tensor<S, E, D, T> {
    /// `x + c` elementwise (also `x + c` with the operator).
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let x = Tensor::<(u!(2),), f32>::from_vec_static(vec![1.0, 2.0], &Cpu::default());
    /// assert_eq!((x.add_scalar(1.0) * 2.0).to_vec(), vec![4.0, 6.0]);
    /// ```
    pub fn add_scalar(self, c: E) -> Self {
        self.unary_op(UnaryOp::AddScalar(c))
    }
    /// `x - c` elementwise.
    pub fn sub_scalar(self, c: E) -> Self {
        self.unary_op(UnaryOp::AddScalar(-c))
    }
    /// `x · c` elementwise.
    pub fn mul_scalar(self, c: E) -> Self {
        self.unary_op(UnaryOp::MulScalar(c))
    }
    /// `x / c` elementwise.
    pub fn div_scalar(self, c: E) -> Self {
        self.unary_op(UnaryOp::MulScalar(E::one() / c))
    }
}

macro_rules! scalar_ops {
    ($($e:ty),*) => {$(
        impl<S: Shape, D: Device<$e>, T: Tracking<$e, D>> core::ops::Add<$e> for Tensor<S, $e, D, T> {
            type Output = Self;
            fn add(self, c: $e) -> Self {
                self.add_scalar(c)
            }
        }
        impl<S: Shape, D: Device<$e>, T: Tracking<$e, D>> core::ops::Sub<$e> for Tensor<S, $e, D, T> {
            type Output = Self;
            fn sub(self, c: $e) -> Self {
                self.sub_scalar(c)
            }
        }
        impl<S: Shape, D: Device<$e>, T: Tracking<$e, D>> core::ops::Mul<$e> for Tensor<S, $e, D, T> {
            type Output = Self;
            fn mul(self, c: $e) -> Self {
                self.mul_scalar(c)
            }
        }
        impl<S: Shape, D: Device<$e>, T: Tracking<$e, D>> core::ops::Div<$e> for Tensor<S, $e, D, T> {
            type Output = Self;
            fn div(self, c: $e) -> Self {
                self.div_scalar(c)
            }
        }
        impl<S: Shape, D: Device<$e>, T: Tracking<$e, D>> core::ops::Neg for Tensor<S, $e, D, T> {
            type Output = Self;
            fn neg(self) -> Self {
                Tensor::neg(self)
            }
        }
    )*};
}
scalar_ops!(f32, f64);
