//! `sin` and `cos`: elementwise sine and cosine (radians), for sinusoidal
//! positional encodings and periodic features.

use super::UnaryOp;
use crate::autograd::Tracking;
use crate::backend::Device;
use crate::dtype::Dtype;
use crate::shape::Shape;
use crate::tensor::Tensor;

impl<S: Shape, E: Dtype, D: Device<E>, T: Tracking<E, D>> Tensor<S, E, D, T> {
    /// Elementwise sine (radians); its gradient is `cos x`.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let x = Tensor::<(u!(2),), f64>::from_vec_static(vec![0.0, core::f64::consts::FRAC_PI_2], &Cpu::default());
    /// let xt = x.clone().trace();
    /// let y = xt.sin();
    /// assert!((y.to_vec()[1] - 1.0).abs() < 1e-12);
    /// let grads = y.sum().backward(); // d/dx sin x = cos x
    /// let g = grads.get(&x).unwrap().to_vec();
    /// assert!((g[0] - 1.0).abs() < 1e-12 && g[1].abs() < 1e-12);
    /// ```
    pub fn sin(self) -> Self {
        self.unary_op(UnaryOp::Sin)
    }

    /// Elementwise cosine (radians); its gradient is `-sin x`.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let x = Tensor::<(u!(2),), f64>::from_vec_static(vec![0.0, core::f64::consts::FRAC_PI_2], &Cpu::default());
    /// let xt = x.clone().trace();
    /// let y = xt.cos();
    /// assert!((y.to_vec()[0] - 1.0).abs() < 1e-12);
    /// let grads = y.sum().backward(); // d/dx cos x = -sin x
    /// let g = grads.get(&x).unwrap().to_vec();
    /// assert!(g[0].abs() < 1e-12 && (g[1] + 1.0).abs() < 1e-12);
    /// ```
    pub fn cos(self) -> Self {
        self.unary_op(UnaryOp::Cos)
    }
}
