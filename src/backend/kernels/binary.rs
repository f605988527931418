//! The binary kernel trait and its descriptor [`BinaryOp`] (with its
//! scalar formulas, the spec of every backend's kernel). The typed,
//! broadcasting methods (`Tensor::add`, ...) are in `ops/binary/`.

use crate::backend::Backend;
use crate::dtype::Dtype;

/// `maximum` and `minimum`: the scalar formulas (gradient to `a` on ties).
mod minmax {
    use crate::dtype::Dtype;

    #[inline(always)]
    pub(super) fn max_f<E: Dtype>(a: E, b: E) -> E {
        if a >= b {
            a
        } else {
            b
        }
    }
    #[inline(always)]
    pub(super) fn max_df<E: Dtype>(a: E, b: E) -> (E, E) {
        if a >= b {
            (E::one(), E::zero())
        } else {
            (E::zero(), E::one())
        }
    }
    #[inline(always)]
    pub(super) fn min_f<E: Dtype>(a: E, b: E) -> E {
        if a <= b {
            a
        } else {
            b
        }
    }
    #[inline(always)]
    pub(super) fn min_df<E: Dtype>(a: E, b: E) -> (E, E) {
        if a <= b {
            (E::one(), E::zero())
        } else {
            (E::zero(), E::one())
        }
    }
}

/// Which binary op.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    /// `a + b`
    Add,
    /// `a - b`
    Sub,
    /// `a · b`
    Mul,
    /// `a / b`
    Div,
    /// `max(a, b)` (gradient to `a` on ties)
    Maximum,
    /// `min(a, b)` (gradient to `a` on ties)
    Minimum,
}

impl BinaryOp {
    /// Whether the backward reads the operands' values (not for `+`/`-`,
    /// whose partials are constants: those ops keep no operand alive).
    ///
    /// ```
    /// use typegrad::backend::kernels::binary::BinaryOp;
    /// assert!(!BinaryOp::Add.reads_operands() && BinaryOp::Mul.reads_operands());
    /// ```
    pub fn reads_operands(self) -> bool {
        !matches!(self, BinaryOp::Add | BinaryOp::Sub)
    }

    /// `f(a, b)`.
    #[inline(always)]
    pub fn f<E: Dtype>(self, a: E, b: E) -> E {
        match self {
            BinaryOp::Add => a + b,
            BinaryOp::Sub => a - b,
            BinaryOp::Mul => a * b,
            BinaryOp::Div => a / b,
            BinaryOp::Maximum => minmax::max_f(a, b),
            BinaryOp::Minimum => minmax::min_f(a, b),
        }
    }
    /// `(∂f/∂a, ∂f/∂b)` at `(a, b)`.
    #[inline(always)]
    pub fn df<E: Dtype>(self, a: E, b: E) -> (E, E) {
        match self {
            BinaryOp::Add => (E::one(), E::one()),
            BinaryOp::Sub => (E::one(), -E::one()),
            BinaryOp::Mul => (b, a),
            BinaryOp::Div => (E::one() / b, -a / (b * b)),
            BinaryOp::Maximum => minmax::max_df(a, b),
            BinaryOp::Minimum => minmax::min_df(a, b),
        }
    }
}

/// Kernels for [`BinaryOp`] with broadcasting. Dims are right-aligned;
/// `out_dims` is their broadcast.
pub trait BinaryKernel<E: Dtype>: Backend {
    /// `out = f(a, b)` with broadcasting.
    fn binary(
        &self,
        op: BinaryOp,
        a: &Self::Storage<E>,
        a_dims: &[usize],
        b: &Self::Storage<E>,
        b_dims: &[usize],
        out_dims: &[usize],
    ) -> Self::Storage<E>;

    /// Gradients of `a` and `b` (each summed over its broadcast axes), for
    /// the sides asked for. `a` and `b` are `None` when the op does not read
    /// them ([`BinaryOp::reads_operands`]: add and subtract).
    #[allow(clippy::too_many_arguments)]
    fn binary_backward(
        &self,
        op: BinaryOp,
        a: Option<&Self::Storage<E>>,
        a_dims: &[usize],
        b: Option<&Self::Storage<E>>,
        b_dims: &[usize],
        out_dims: &[usize],
        gy: &Self::Storage<E>,
        want: (bool, bool),
    ) -> (Option<Self::Storage<E>>, Option<Self::Storage<E>>);

    /// `acc += x` (same length): gradient accumulation.
    fn add_assign(&self, acc: &mut Self::Storage<E>, x: &Self::Storage<E>);
}
