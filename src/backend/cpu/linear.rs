//! CPU [`LinearKernel`]: the bias is written into the output rows first and
//! the gemm accumulates `X · Wᵀ` onto it (one pass over `Y`, no separate
//! broadcast add); the backward runs two gemms reading `dY` and `W` through
//! the transpose flags, and sums the columns of `dY` in one pass.

use super::matmul::{self as gemm_kernel, CpuFloat};
use super::par::{full, repeat_rows};
use super::Cpu;
use super::CpuStorage;
use crate::backend::kernels::linear::{LinearGrads, LinearKernel, LinearParams, LinearWant};
use crate::backend::kernels::matmul::MatmulParams;
use crate::dtype::Dtype;
use alloc::vec::Vec;

/// The internal gemm's parameters for a dense product (`accumulate` onto C).
fn kernel_params(p: MatmulParams, accumulate: bool) -> gemm_kernel::MatmulParams {
    gemm_kernel::MatmulParams {
        batch: p.batch,
        m: p.m,
        k: p.k,
        n: p.n,
        a_batch_stride: p.a_batch_stride,
        b_batch_stride: p.b_batch_stride,
        a_t: p.a_t,
        b_t: p.b_t,
        accumulate,
    }
}

fn len(a: usize, b: usize) -> usize {
    a.checked_mul(b)
        .expect("linear: buffer size overflows usize")
}

/// `Y = X · Wᵀ (+ b)`.
fn forward<E: CpuFloat>(p: LinearParams, x: &[E], w: &[E], b: Option<&[E]>) -> Vec<E> {
    let n = len(p.rows, p.out);
    // The bias rows (or zeros) first, then the product added to them;
    // both written by the threads for large outputs.
    let mut y = match b {
        Some(b) => repeat_rows(b, p.rows),
        None => full(n, E::ZERO),
    };
    let mp = crate::backend::kernels::linear::forward_params(p);
    gemm_kernel::matmul(kernel_params(mp, b.is_some()), x, w, &mut y);
    y
}

/// `dX = dY · W`.
fn grad_input<E: CpuFloat>(p: LinearParams, w: &[E], gy: &[E]) -> Vec<E> {
    let mut gx = full(len(p.rows, p.inp), E::ZERO);
    let mp = crate::backend::kernels::linear::grad_input_params(p);
    gemm_kernel::matmul(kernel_params(mp, false), gy, w, &mut gx);
    gx
}

/// `dW = dYᵀ · X`.
fn grad_weight<E: CpuFloat>(p: LinearParams, x: &[E], gy: &[E]) -> Vec<E> {
    let mut gw = full(len(p.out, p.inp), E::ZERO);
    let mp = crate::backend::kernels::linear::grad_weight_params(p);
    gemm_kernel::matmul(kernel_params(mp, false), gy, x, &mut gw);
    gw
}

/// `db[j] = Σ_r dY[r, j]`: the reduction kernels' sum over the rows
/// (each column summed in row order; columns over the threads when large).
fn grad_bias<E: Dtype>(p: LinearParams, gy: &[E]) -> Vec<E> {
    super::reduce::sum_axis(gy, (1, p.rows, p.out))
}

macro_rules! linear_impl {
    ($($e:ty),*) => {$(
        impl LinearKernel<$e> for Cpu {
            fn linear(
                &self,
                p: LinearParams,
                x: &CpuStorage<$e>,
                w: &CpuStorage<$e>,
                b: Option<&CpuStorage<$e>>,
            ) -> CpuStorage<$e> {
                CpuStorage::new(forward(p, x, w, b.map(|b| b.as_slice())))
            }

            fn linear_backward(
                &self,
                p: LinearParams,
                x: &CpuStorage<$e>,
                w: &CpuStorage<$e>,
                gy: &CpuStorage<$e>,
                want: LinearWant,
            ) -> LinearGrads<CpuStorage<$e>> {
                (
                    want.input.then(|| CpuStorage::new(grad_input(p, w, gy))),
                    want.weight.then(|| CpuStorage::new(grad_weight(p, x, gy))),
                    want.bias.then(|| CpuStorage::new(grad_bias(p, gy))),
                )
            }
        }
    )*};
}
linear_impl!(f32, f64);
