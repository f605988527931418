//! CPU [`MatmulKernel`]: allocates `C` and runs the product through the
//! shared gemm routine in [`super::matmul`] (gemm under `std`,
//! matrixmultiply without).

use super::matmul::{self as gemm_kernel, CpuFloat};
use super::Cpu;
use super::CpuStorage;
use crate::backend::kernels::matmul::{MatmulKernel, MatmulParams};
use alloc::vec;
use alloc::vec::Vec;

/// `C = op(A) · op(B)` per batch, into a fresh (zero-initialised) buffer.
fn matmul<E: CpuFloat>(p: MatmulParams, a: &[E], b: &[E]) -> Vec<E> {
    let len = p
        .batch
        .checked_mul(p.m)
        .and_then(|x| x.checked_mul(p.n))
        .expect("matmul: batch·m·n overflows usize");
    let mut c = vec![E::ZERO; len];
    let kp = gemm_kernel::MatmulParams {
        batch: p.batch,
        m: p.m,
        k: p.k,
        n: p.n,
        a_batch_stride: p.a_batch_stride,
        b_batch_stride: p.b_batch_stride,
        a_t: p.a_t,
        b_t: p.b_t,
        accumulate: false,
    };
    gemm_kernel::matmul(kp, a, b, &mut c);
    c
}

macro_rules! matmul_impl {
    ($($e:ty),*) => {$(
        impl MatmulKernel<$e> for Cpu {
            fn matmul(&self, p: MatmulParams, a: &CpuStorage<$e>, b: &CpuStorage<$e>) -> CpuStorage<$e> {
                CpuStorage::new(matmul(p, a, b))
            }
        }
    )*};
}
matmul_impl!(f32, f64);
