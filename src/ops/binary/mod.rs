//! Elementwise binary ops with numpy broadcasting: add, sub, mul, div,
//! maximum, minimum. Shapes broadcast at the type level
//! ([`BroadcastShape`]); a static mismatch is a compile error, a `Dyn`
//! mismatch a runtime [`Error`].

mod arith;
mod minmax;

use crate::autograd::{Merge, Tracking};
use crate::backend::{Backend, Device};
use crate::dtype::Dtype;
use crate::shape::{BroadcastShape, Error, Shape};
use crate::tensor::{op_result, Tensor};

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
    /// use typegrad::ops::binary::BinaryOp;
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

impl<S: Shape, E: Dtype, D: Device<E>, T: Tracking<E, D>> Tensor<S, E, D, T> {
    /// Apply a broadcasting binary op and record its backward.
    pub(crate) fn try_binary_op<S2: Shape, T2>(
        self,
        op: BinaryOp,
        rhs: Tensor<S2, E, D, T2>,
    ) -> Result<Tensor<S::Output, E, D, <T as Merge<T2>>::Output>, Error>
    where
        S: BroadcastShape<S2>,
        T: Merge<T2>,
        T2: Tracking<E, D>,
        <T as Merge<T2>>::Output: Tracking<E, D>,
    {
        let out_shape = self.shape.broadcast_shape(&rhs.shape)?;
        let (ad, bd, od) = (self.shape.dims(), rhs.shape.dims(), out_shape.dims());
        let y = self.device.binary(op, &self.data, &ad, &rhs.data, &bd, &od);
        let (a, ta) = self.split_tape();
        let (b, tb) = rhs.split_tape();
        let tape = ta.merge(tb);
        let dev = a.device.clone();
        if !<<T as Merge<T2>>::Output as Tracking<E, D>>::TRACKED {
            return Ok(op_result(out_shape, y, dev, tape, |_, _| {}));
        }
        // An untracked operand of a tracked op is a leaf (a layer's
        // parameter): its gradient is recorded under its own id.
        let want = (tape.wants_grad(a.id), tape.wants_grad(b.id));
        let (a_id, b_id) = (a.id, b.id);
        let keep = op.reads_operands();
        let a_data = keep.then_some(a.data);
        let b_data = keep.then_some(b.data);
        Ok(op_result(out_shape, y, dev.clone(), tape, move |g, gy| {
            let (ga, gb) = dev.binary_backward(
                op,
                a_data.as_ref(),
                &ad,
                b_data.as_ref(),
                &bd,
                &od,
                gy,
                want,
            );
            if let Some(ga) = ga {
                g.accumulate(a_id, ga);
            }
            if let Some(gb) = gb {
                g.accumulate(b_id, gb);
            }
        }))
    }
}
