//! CPU kernels for unary ops: one pass over the buffer, per-op closure
//! monomorphised here (the `match` on the op is outside the loop).

use super::par::{map1, map2};
use super::simd::wide_fn;
use super::Cpu;
use crate::dtype::Dtype;
use crate::ops::unary::{UnaryKernel, UnaryOp};
use alloc::sync::Arc;
use alloc::vec::Vec;

macro_rules! dispatch {
    ($op:expr, |$o:ident| $body:expr) => {
        // Each arm gets its own copy of the loop with the op inlined.
        match $op {
            UnaryOp::Neg => {
                let $o = UnaryOp::Neg;
                $body
            }
            UnaryOp::Exp => {
                let $o = UnaryOp::Exp;
                $body
            }
            UnaryOp::Ln => {
                let $o = UnaryOp::Ln;
                $body
            }
            UnaryOp::Sqrt => {
                let $o = UnaryOp::Sqrt;
                $body
            }
            UnaryOp::Square => {
                let $o = UnaryOp::Square;
                $body
            }
            UnaryOp::Abs => {
                let $o = UnaryOp::Abs;
                $body
            }
            UnaryOp::Tanh => {
                let $o = UnaryOp::Tanh;
                $body
            }
            UnaryOp::Sigmoid => {
                let $o = UnaryOp::Sigmoid;
                $body
            }
            UnaryOp::Relu => {
                let $o = UnaryOp::Relu;
                $body
            }
            UnaryOp::GeluErf => {
                let $o = UnaryOp::GeluErf;
                $body
            }
            UnaryOp::GeluTanh => {
                let $o = UnaryOp::GeluTanh;
                $body
            }
            UnaryOp::Silu => {
                let $o = UnaryOp::Silu;
                $body
            }
            other => {
                let $o = other;
                $body
            }
        }
    };
}

wide_fn! {
    /// `f` over `x`, compiled for the CPU's widest vectors.
    fn unary<E: Dtype>(op: UnaryOp<E>, x: &[E]) -> Vec<E> {
        dispatch!(op, |o| map1(x, move |v| o.f(v)))
    }
}

wide_fn! {
    /// `gy · f'(saved)`, compiled for the CPU's widest vectors.
    fn unary_backward<E: Dtype>(op: UnaryOp<E>, saved: &[E], gy: &[E]) -> Vec<E> {
        dispatch!(op, |o| map2(saved, gy, move |s, g| g * o.df_saved(s)))
    }
}

macro_rules! unary_impl {
    ($($e:ty),*) => {$(
        impl UnaryKernel<$e> for Cpu {
            fn unary(&self, op: UnaryOp<$e>, x: &Arc<Vec<$e>>) -> Arc<Vec<$e>> {
                Arc::new(unary(op, x))
            }
            fn unary_backward(
                &self,
                op: UnaryOp<$e>,
                saved: &Arc<Vec<$e>>,
                gy: &Arc<Vec<$e>>,
            ) -> Arc<Vec<$e>> {
                Arc::new(unary_backward(op, saved, gy))
            }
        }
    )*};
}
unary_impl!(f32, f64);
