//! GELU, exact (`x Φ(x)` with erf) and the tanh approximation.

use super::UnaryOp;
use crate::autograd::Tracking;
use crate::backend::Device;
use crate::dtype::Dtype;
use crate::shape::Shape;
use crate::tensor::Tensor;

const SQRT_2_OVER_PI: f64 = 0.797_884_560_802_865_4;
const COEF: f64 = 0.044_715;

#[inline(always)]
pub(super) fn erf_f<E: Dtype>(x: E) -> E {
    let half = E::from_f64(0.5);
    half * x * (E::one() + (x * E::from_f64(core::f64::consts::FRAC_1_SQRT_2)).erf())
}
#[inline(always)]
pub(super) fn erf_df<E: Dtype>(x: E) -> E {
    let half = E::from_f64(0.5);
    let cdf = half * (E::one() + (x * E::from_f64(core::f64::consts::FRAC_1_SQRT_2)).erf());
    let pdf = (-(x * x) * half).exp() * E::from_f64(0.398_942_280_401_432_7);
    cdf + x * pdf
}
#[inline(always)]
pub(super) fn tanh_f<E: Dtype>(x: E) -> E {
    let half = E::from_f64(0.5);
    let inner = E::from_f64(SQRT_2_OVER_PI) * (x + E::from_f64(COEF) * x * x * x);
    half * x * (E::one() + inner.tanh())
}
#[inline(always)]
pub(super) fn tanh_df<E: Dtype>(x: E) -> E {
    let half = E::from_f64(0.5);
    let c = E::from_f64(SQRT_2_OVER_PI);
    let inner = c * (x + E::from_f64(COEF) * x * x * x);
    let t = inner.tanh();
    let dinner = c * (E::one() + E::from_f64(3.0 * COEF) * x * x);
    half * (E::one() + t) + half * x * (E::one() - t * t) * dinner
}

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
