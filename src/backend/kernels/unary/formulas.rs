//! The scalar formulas of the unary ops, `f(x)` and `f'` (one module per
//! op, as the typed methods in `ops/unary/` are split), the spec every
//! backend's unary kernel follows.

/// `abs`: Elementwise absolute value (subgradient 0 at 0).
pub(crate) mod abs {
    use crate::dtype::Dtype;

    #[inline(always)]
    pub(crate) fn f<E: Dtype>(x: E) -> E {
        x.abs()
    }

    #[inline(always)]
    pub(crate) fn df<E: Dtype>(x: E, y: E) -> E {
        let _ = (x, y);
        if x > E::zero() {
            E::one()
        } else if x < E::zero() {
            -E::one()
        } else {
            E::zero()
        }
    }
}

/// Activation functions: tanh, sigmoid, ReLU, leaky ReLU, SiLU.
pub(crate) mod activations {
    use crate::dtype::Dtype;

    #[inline(always)]
    pub(crate) fn tanh_f<E: Dtype>(x: E) -> E {
        x.tanh()
    }
    #[inline(always)]
    pub(crate) fn tanh_df<E: Dtype>(_x: E, y: E) -> E {
        E::one() - y * y
    }
    /// Stable for large |x|: never evaluates `e^x` for large positive x.
    #[inline(always)]
    pub(crate) fn sigmoid_f<E: Dtype>(x: E) -> E {
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
    pub(crate) fn sigmoid_df<E: Dtype>(_x: E, y: E) -> E {
        y * (E::one() - y)
    }
    #[inline(always)]
    pub(crate) fn relu_f<E: Dtype>(x: E) -> E {
        if x > E::zero() {
            x
        } else {
            E::zero()
        }
    }
    /// Subgradient 0 at 0, as PyTorch.
    #[inline(always)]
    pub(crate) fn relu_df<E: Dtype>(x: E, _y: E) -> E {
        if x > E::zero() {
            E::one()
        } else {
            E::zero()
        }
    }
    #[inline(always)]
    pub(crate) fn leaky_relu_f<E: Dtype>(x: E, s: E) -> E {
        if x > E::zero() {
            x
        } else {
            x * s
        }
    }
    #[inline(always)]
    pub(crate) fn leaky_relu_df<E: Dtype>(x: E, s: E) -> E {
        if x > E::zero() {
            E::one()
        } else {
            s
        }
    }
    #[inline(always)]
    pub(crate) fn silu_f<E: Dtype>(x: E) -> E {
        x * sigmoid_f(x)
    }
    #[inline(always)]
    pub(crate) fn silu_df<E: Dtype>(x: E) -> E {
        let s = sigmoid_f(x);
        s * (E::one() + x * (E::one() - s))
    }
}

/// `clamp`: limit values to `[lo, hi]`.
pub(crate) mod clamp {
    use crate::dtype::Dtype;

    #[inline(always)]
    pub(crate) fn f<E: Dtype>(x: E, lo: E, hi: E) -> E {
        if x < lo {
            lo
        } else if x > hi {
            hi
        } else {
            x
        }
    }
    /// Gradient 1 inside `[lo, hi]`, 0 outside (PyTorch's convention).
    #[inline(always)]
    pub(crate) fn df<E: Dtype>(x: E, lo: E, hi: E) -> E {
        if x >= lo && x <= hi {
            E::one()
        } else {
            E::zero()
        }
    }
}

/// `exp`: Elementwise `e^x`.
pub(crate) mod exp {
    use crate::dtype::Dtype;

    #[inline(always)]
    pub(crate) fn f<E: Dtype>(x: E) -> E {
        x.fast_exp()
    }

    #[inline(always)]
    pub(crate) fn df<E: Dtype>(x: E, y: E) -> E {
        let _ = (x, y);
        y
    }
}

/// GELU, exact (`x Φ(x)` with erf) and the tanh approximation.
pub(crate) mod gelu {
    use crate::dtype::Dtype;

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
    pub(crate) fn erf_f<E: Dtype>(x: E) -> E {
        let half = E::from_f64(0.5);
        half * x * (E::one() + (x * E::from_f64(core::f64::consts::FRAC_1_SQRT_2)).erf())
    }
    #[inline(always)]
    pub(crate) fn erf_df<E: Dtype>(x: E) -> E {
        let half = E::from_f64(0.5);
        let cdf = half * (E::one() + (x * E::from_f64(core::f64::consts::FRAC_1_SQRT_2)).erf());
        let pdf = (-(x * x) * half).exp() * E::from_f64(0.398_942_280_401_432_7);
        cdf + x * pdf
    }
    #[inline(always)]
    pub(crate) fn tanh_f<E: Dtype>(x: E) -> E {
        let half = E::from_f64(0.5);
        let inner = E::from_f64(SQRT_2_OVER_PI) * (x + E::from_f64(COEF) * x * x * x);
        half * x * (E::one() + inner.tanh())
    }
    #[inline(always)]
    pub(crate) fn tanh_df<E: Dtype>(x: E) -> E {
        let half = E::from_f64(0.5);
        let c = E::from_f64(SQRT_2_OVER_PI);
        let inner = c * (x + E::from_f64(COEF) * x * x * x);
        let t = inner.tanh();
        let dinner = c * (E::one() + E::from_f64(3.0 * COEF) * x * x);
        half * (E::one() + t) + half * x * (E::one() - t * t) * dinner
    }
}

/// `ln`: Elementwise natural logarithm (NaN for negative inputs, -inf at 0, as IEEE).
pub(crate) mod ln {
    use crate::dtype::Dtype;

    #[inline(always)]
    pub(crate) fn f<E: Dtype>(x: E) -> E {
        x.ln()
    }

    #[inline(always)]
    pub(crate) fn df<E: Dtype>(x: E, y: E) -> E {
        let _ = (x, y);
        E::one() / x
    }
}

/// `neg`: Elementwise negation, `-x`.
pub(crate) mod neg {
    use crate::dtype::Dtype;

    #[inline(always)]
    pub(crate) fn f<E: Dtype>(x: E) -> E {
        -x
    }

    #[inline(always)]
    pub(crate) fn df<E: Dtype>(x: E, y: E) -> E {
        let _ = (x, y);
        -E::one()
    }
}

/// `powf`: elementwise `x^p` for a scalar exponent.
pub(crate) mod powf {
    use crate::dtype::Dtype;

    #[inline(always)]
    pub(crate) fn f<E: Dtype>(x: E, p: E) -> E {
        x.powf(p)
    }
    #[inline(always)]
    pub(crate) fn df<E: Dtype>(x: E, p: E) -> E {
        if p == E::zero() {
            E::zero()
        } else {
            p * x.powf(p - E::one())
        }
    }
}

/// `sqrt`: Elementwise square root.
pub(crate) mod sqrt {
    use crate::dtype::Dtype;

    #[inline(always)]
    pub(crate) fn f<E: Dtype>(x: E) -> E {
        x.sqrt()
    }

    #[inline(always)]
    pub(crate) fn df<E: Dtype>(x: E, y: E) -> E {
        let _ = (x, y);
        E::from_f64(0.5) / y
    }
}

/// `square`: Elementwise square, `x²`.
pub(crate) mod square {
    use crate::dtype::Dtype;

    #[inline(always)]
    pub(crate) fn f<E: Dtype>(x: E) -> E {
        x * x
    }

    #[inline(always)]
    pub(crate) fn df<E: Dtype>(x: E, y: E) -> E {
        let _ = (x, y);
        x + x
    }
}

/// `sin` and `cos`: elementwise sine and cosine (radians), for sinusoidal
pub(crate) mod trig {
    use crate::dtype::Dtype;

    #[inline(always)]
    pub(crate) fn sin_f<E: Dtype>(x: E) -> E {
        x.sin()
    }

    /// d/dx sin x = cos x (reads the input).
    #[inline(always)]
    pub(crate) fn sin_df<E: Dtype>(x: E) -> E {
        x.cos()
    }

    #[inline(always)]
    pub(crate) fn cos_f<E: Dtype>(x: E) -> E {
        x.cos()
    }

    /// d/dx cos x = -sin x (reads the input).
    #[inline(always)]
    pub(crate) fn cos_df<E: Dtype>(x: E) -> E {
        -x.sin()
    }
}
