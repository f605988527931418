//! CPU kernels for unary ops: one pass over the buffer, per-op closure
//! monomorphised here (the `match` on the op is outside the loop).

use super::par::{chunk_for, for_each_chunk, output_vec};
use super::simd::wide_fn;
use super::Cpu;
use super::CpuStorage;
use crate::backend::kernels::unary::{normal_cdf_fast, normal_pdf_fast, UnaryKernel, UnaryOp};
use crate::dtype::Dtype;
use alloc::vec::Vec;
use core::mem::MaybeUninit;

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

/// Whether `E` is `f32` (the fast GELU is accurate to f32 only).
#[inline(always)]
fn is_f32<E: Dtype>() -> bool {
    core::any::TypeId::of::<E>() == core::any::TypeId::of::<f32>()
}

wide_fn! {
    /// `y = f(x)` over one chunk, every element of `y` written; compiled
    /// for the CPU's widest vectors, one plain loop per op.
    fn unary_chunk<E: Dtype>(op: UnaryOp<E>, x: &[E], y: &mut [MaybeUninit<E>]) -> () {
        if op == UnaryOp::Exp {
            // Fused multiply-adds where the CPU has them (same accuracy).
            for (y, &v) in y.iter_mut().zip(x) {
                y.write(v.fast_exp_with::<FMA>());
            }
            return;
        }
        if op == UnaryOp::GeluErf && is_f32::<E>() {
            // Exact GELU without a scalar erf call (accurate to f32).
            for (y, &v) in y.iter_mut().zip(x) {
                y.write(v * normal_cdf_fast::<FMA, E>(v));
            }
            return;
        }
        dispatch!(op, |o| {
            for (y, &v) in y.iter_mut().zip(x) {
                y.write(o.f(v));
            }
        })
    }
}

wide_fn! {
    /// `gx = gy · f'(saved)` over one chunk, every element of `gx` written.
    fn unary_backward_chunk<E: Dtype>(op: UnaryOp<E>, saved: &[E], gy: &[E], gx: &mut [MaybeUninit<E>]) -> () {
        if op == UnaryOp::GeluErf && is_f32::<E>() {
            // d/dx x·Φ(x) = Φ(x) + x·φ(x), vectorised (see `unary_chunk`).
            for ((g, &s), &d) in gx.iter_mut().zip(saved).zip(gy) {
                let df = normal_cdf_fast::<FMA, E>(s) + s * normal_pdf_fast::<FMA, E>(s);
                g.write(d * df);
            }
            return;
        }
        dispatch!(op, |o| {
            for ((g, &s), &d) in gx.iter_mut().zip(saved).zip(gy) {
                g.write(d * o.df_saved(s));
            }
        })
    }
}

/// A buffer of `n` elements written by `fill(start, chunk)` over chunks
/// covering it (in parallel for large `n`), never zero-filled first.
fn filled<E: Dtype>(n: usize, fill: impl Fn(usize, &mut [MaybeUninit<E>]) + Sync + Send) -> Vec<E> {
    let mut out = output_vec(n);
    let chunk = chunk_for(n);
    for_each_chunk(&mut out.spare_capacity_mut()[..n], chunk, |i, c| {
        fill(i * chunk, c)
    });
    // SAFETY: `for_each_chunk` passes every chunk of the `n` spare slots to
    // `fill`, and each caller's `fill` writes every element of its chunk
    // (the chunk kernels above write all of `y`/`gx`, whose lengths equal
    // their inputs' slices).
    unsafe { out.set_len(n) };
    out
}

fn unary<E: Dtype>(op: UnaryOp<E>, x: &[E]) -> Vec<E> {
    filled(x.len(), |s, y| unary_chunk(op, &x[s..s + y.len()], y))
}

fn unary_backward<E: Dtype>(op: UnaryOp<E>, saved: &[E], gy: &[E]) -> Vec<E> {
    assert_eq!(
        saved.len(),
        gy.len(),
        "unary_backward: saved buffer of {} elements, gradient of {}",
        saved.len(),
        gy.len()
    );
    filled(gy.len(), |s, g| {
        let r = s..s + g.len();
        unary_backward_chunk(op, &saved[r.clone()], &gy[r], g)
    })
}

macro_rules! unary_impl {
    ($($e:ty),*) => {$(
        impl UnaryKernel<$e> for Cpu {
            fn unary(&self, op: UnaryOp<$e>, x: &CpuStorage<$e>) -> CpuStorage<$e> {
                CpuStorage::new(unary(op, x))
            }
            fn unary_backward(
                &self,
                op: UnaryOp<$e>,
                saved: &CpuStorage<$e>,
                gy: &CpuStorage<$e>,
            ) -> CpuStorage<$e> {
                CpuStorage::new(unary_backward(op, saved, gy))
            }
        }
    )*};
}
unary_impl!(f32, f64);
