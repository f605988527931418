//! The unary kernel trait and its descriptor: [`UnaryOp`] (which op, with
//! its scalar formulas `f` and `f'`, the spec of every backend's kernel) and
//! [`UnaryKernel`]. The typed methods (`Tensor::exp`, ...) are in
//! `ops/unary/`.

mod formulas;
pub(crate) use formulas::gelu::{normal_cdf_fast, normal_pdf_fast};
use formulas::*;

use crate::backend::Backend;
use crate::dtype::Dtype;

/// Which unary op, with its parameters.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum UnaryOp<E> {
    /// `-x`
    Neg,
    /// `e^x`
    Exp,
    /// `ln x`
    Ln,
    /// `√x`
    Sqrt,
    /// `x²`
    Square,
    /// `|x|`
    Abs,
    /// `x^p`
    Powf(E),
    /// `tanh x`
    Tanh,
    /// `1 / (1 + e^-x)`
    Sigmoid,
    /// `max(x, 0)`
    Relu,
    /// `x` if positive else `slope · x`
    LeakyRelu(E),
    /// `x Φ(x)` with the exact normal CDF (erf)
    GeluErf,
    /// GELU with the tanh approximation
    GeluTanh,
    /// `x · sigmoid(x)`
    Silu,
    /// `min(max(x, lo), hi)`
    Clamp(E, E),
    /// `x + c`
    AddScalar(E),
    /// `x · c`
    MulScalar(E),
    /// `sin x`
    Sin,
    /// `cos x`
    Cos,
}

impl<E: Dtype> UnaryOp<E> {
    /// `f(x)`.
    #[inline(always)]
    pub fn f(self, x: E) -> E {
        match self {
            UnaryOp::Neg => neg::f(x),
            UnaryOp::Exp => exp::f(x),
            UnaryOp::Ln => ln::f(x),
            UnaryOp::Sqrt => sqrt::f(x),
            UnaryOp::Square => square::f(x),
            UnaryOp::Abs => abs::f(x),
            UnaryOp::Powf(p) => powf::f(x, p),
            UnaryOp::Tanh => activations::tanh_f(x),
            UnaryOp::Sigmoid => activations::sigmoid_f(x),
            UnaryOp::Relu => activations::relu_f(x),
            UnaryOp::LeakyRelu(s) => activations::leaky_relu_f(x, s),
            UnaryOp::GeluErf => gelu::erf_f(x),
            UnaryOp::GeluTanh => gelu::tanh_f(x),
            UnaryOp::Silu => activations::silu_f(x),
            UnaryOp::Clamp(lo, hi) => clamp::f(x, lo, hi),
            UnaryOp::AddScalar(c) => x + c,
            UnaryOp::MulScalar(c) => x * c,
            UnaryOp::Sin => trig::sin_f(x),
            UnaryOp::Cos => trig::cos_f(x),
        }
    }

    /// `df/dx` at `x`, given `y = f(x)`.
    #[inline(always)]
    pub fn df(self, x: E, y: E) -> E {
        match self {
            UnaryOp::Neg => neg::df(x, y),
            UnaryOp::Exp => exp::df(x, y),
            UnaryOp::Ln => ln::df(x, y),
            UnaryOp::Sqrt => sqrt::df(x, y),
            UnaryOp::Square => square::df(x, y),
            UnaryOp::Abs => abs::df(x, y),
            UnaryOp::Powf(p) => powf::df(x, p),
            UnaryOp::Tanh => activations::tanh_df(x, y),
            UnaryOp::Sigmoid => activations::sigmoid_df(x, y),
            UnaryOp::Relu => activations::relu_df(x, y),
            UnaryOp::LeakyRelu(s) => activations::leaky_relu_df(x, s),
            UnaryOp::GeluErf => gelu::erf_df(x),
            UnaryOp::GeluTanh => gelu::tanh_df(x),
            UnaryOp::Silu => activations::silu_df(x),
            UnaryOp::Clamp(lo, hi) => clamp::df(x, lo, hi),
            UnaryOp::AddScalar(_) => E::one(),
            UnaryOp::MulScalar(c) => c,
            UnaryOp::Sin => trig::sin_df(x),
            UnaryOp::Cos => trig::cos_df(x),
        }
    }
}

/// What a unary op's backward reads: its input, its output, or nothing.
/// An op keeps only that tensor alive until its backward has run.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Saved {
    /// `f'` is a function of the input (`ln`, `x²`, GELU, ...).
    Input,
    /// `f'` is a function of the output (`eˣ`, `√x`, tanh, sigmoid, ReLU).
    Output,
    /// `f'` is a constant (negation, adding or multiplying a scalar).
    Nothing,
}

impl<E: Dtype> UnaryOp<E> {
    /// Which tensor the backward needs.
    ///
    /// ```
    /// use typegrad::backend::kernels::unary::{Saved, UnaryOp};
    /// assert_eq!(UnaryOp::<f32>::Relu.saves(), Saved::Output);
    /// assert_eq!(UnaryOp::<f32>::Square.saves(), Saved::Input);
    /// assert_eq!(UnaryOp::<f32>::MulScalar(2.0).saves(), Saved::Nothing);
    /// ```
    pub fn saves(self) -> Saved {
        match self {
            // ReLU: y > 0 exactly where x > 0, so its derivative reads y.
            UnaryOp::Exp | UnaryOp::Sqrt | UnaryOp::Tanh | UnaryOp::Sigmoid | UnaryOp::Relu => {
                Saved::Output
            }
            UnaryOp::Neg | UnaryOp::AddScalar(_) | UnaryOp::MulScalar(_) => Saved::Nothing,
            _ => Saved::Input,
        }
    }

    /// `f'` from the saved value `s` (the input or the output, as
    /// [`UnaryOp::saves`] says; ignored for [`Saved::Nothing`]). Each
    /// derivative reads only the argument it saves, so both are `s`.
    #[inline(always)]
    pub fn df_saved(self, s: E) -> E {
        self.df(s, s)
    }
}

/// Kernels for [`UnaryOp`].
pub trait UnaryKernel<E: Dtype>: Backend {
    /// `y = f(x)` elementwise.
    fn unary(&self, op: UnaryOp<E>, x: &Self::Storage<E>) -> Self::Storage<E>;
    /// `gx = gy · f'` elementwise, with `f'` computed from `saved` by
    /// [`UnaryOp::df_saved`]: the input or the output as [`UnaryOp::saves`]
    /// says (for [`Saved::Nothing`], any buffer of the same length; callers
    /// pass `gy`).
    fn unary_backward(
        &self,
        op: UnaryOp<E>,
        saved: &Self::Storage<E>,
        gy: &Self::Storage<E>,
    ) -> Self::Storage<E>;
}
