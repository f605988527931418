//! CPU kernels for unary ops: one pass over the buffer, per-op closure
//! monomorphised here (the `match` on the op is outside the loop).

use super::par::{chunk_for, for_each_chunk};
use super::Cpu;
use crate::dtype::Dtype;
use crate::ops::unary::{UnaryKernel, UnaryOp};
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

fn map<E: Dtype>(x: &[E], f: impl Fn(E) -> E + Sync + Send) -> Vec<E> {
    let mut out = vec![E::zero(); x.len()];
    let c = chunk_for(x.len());
    for_each_chunk(&mut out, c, |i, o| {
        let xs = &x[i * c..i * c + o.len()];
        for (o, &x) in o.iter_mut().zip(xs) {
            *o = f(x);
        }
    });
    out
}

fn map3<E: Dtype>(x: &[E], y: &[E], gy: &[E], f: impl Fn(E, E) -> E + Sync + Send) -> Vec<E> {
    let mut out = vec![E::zero(); x.len()];
    let c = chunk_for(x.len());
    for_each_chunk(&mut out, c, |i, o| {
        let r = i * c..i * c + o.len();
        for (((o, &x), &y), &g) in o
            .iter_mut()
            .zip(&x[r.clone()])
            .zip(&y[r.clone()])
            .zip(&gy[r])
        {
            *o = g * f(x, y);
        }
    });
    out
}

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

macro_rules! unary_impl {
    ($($e:ty),*) => {$(
        impl UnaryKernel<$e> for Cpu {
            fn unary(&self, op: UnaryOp<$e>, x: &Arc<Vec<$e>>) -> Arc<Vec<$e>> {
                Arc::new(dispatch!(op, |o| map(x, move |v| o.f(v))))
            }
            fn unary_backward(
                &self,
                op: UnaryOp<$e>,
                x: &Arc<Vec<$e>>,
                y: &Arc<Vec<$e>>,
                gy: &Arc<Vec<$e>>,
            ) -> Arc<Vec<$e>> {
                Arc::new(dispatch!(op, |o| map3(x, y, gy, move |a, b| o.df(a, b))))
            }
        }
    )*};
}
unary_impl!(f32, f64);
