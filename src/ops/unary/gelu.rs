//! GELU, exact (`x Φ(x)` with erf) and the tanh approximation.

use super::UnaryOp;
use crate::autograd::Tracking;
use crate::backend::Device;
use crate::dtype::Dtype;
use crate::shape::Shape;
use crate::tensor::Tensor;

const SQRT_2_OVER_PI: f64 = 0.797_884_560_802_865_4;
const COEF: f64 = 0.044_715;

/// `a·b + c`, fused when `FMA` (kernels compiled with the extension).
#[inline(always)]
fn madd<const FMA: bool, E: Dtype>(a: E, b: E, c: E) -> E {
    if FMA {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

/// `Φ(x)`, the normal CDF of exact GELU, without a call to `erf`: through
/// `erfc(|x|/√2)` by the Chebyshev fit of Numerical Recipes (`erfcc`,
/// relative error below 1.2e-7 for every argument), so both tails keep
/// their relative accuracy (no `1 + erf` cancellation) and the loop
/// vectorises (one division, one [`Dtype::fast_exp_with`]). Accurate to
/// f32, not to f64: the CPU kernel uses it for `f32` only.
#[inline(always)]
pub(crate) fn normal_cdf_fast<const FMA: bool, E: Dtype>(x: E) -> E {
    let c = |v: f64| E::from_f64(v);
    let a = x.abs() * c(core::f64::consts::FRAC_1_SQRT_2);
    let t = E::one() / madd::<FMA, E>(c(0.5), a, E::one());
    let mut p = c(0.170_872_77);
    for k in [
        -0.822_152_23,
        1.488_515_87,
        -1.135_203_98,
        0.278_868_07,
        -0.186_288_06,
        0.096_784_18,
        0.374_091_96,
        1.000_023_68,
        -1.265_512_23,
    ] {
        p = madd::<FMA, E>(p, t, c(k));
    }
    // erfc(a) = t·exp(p − a²); Φ(x) = erfc(−x/√2)/2.
    let half_erfc = c(0.5) * t * madd::<FMA, E>(-a, a, p).fast_exp_with::<FMA>();
    if x < E::zero() {
        half_erfc
    } else {
        E::one() - half_erfc
    }
}

/// `φ(x) = exp(−x²/2)/√(2π)`, vectorisable.
#[inline(always)]
pub(crate) fn normal_pdf_fast<const FMA: bool, E: Dtype>(x: E) -> E {
    (-(x * x) * E::from_f64(0.5)).fast_exp_with::<FMA>() * E::from_f64(0.398_942_280_401_432_7)
}

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
