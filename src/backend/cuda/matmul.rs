//! [`MatmulKernel`] through cuBLAS.
//!
//! cuBLAS is column-major: a row-major `m × n` buffer is, to cuBLAS, the
//! column-major `n × m` transpose. So the row-major product
//! `C = op(A)·op(B)` is computed as the column-major `Cᵀ = op(B)ᵀ·op(A)ᵀ`:
//! the operands swap places, and each transpose flag and leading dimension
//! is read off the row-major storage, so a transposed operand costs a flag,
//! never a copy. Batches are one strided-batched call; a stride of 0
//! broadcasts one operand over the batch, as the CPU kernel does.

use super::Cuda;
use crate::dtype::{Dtype, Elem};
use crate::ops::matmul::{MatmulKernel, MatmulParams};
use core::any::Any;
use cudarc::cublas::sys::cublasOperation_t;
use cudarc::cublas::{Gemm, GemmConfig, StridedBatchedConfig};
use cudarc::driver::CudaSlice;

/// The cuBLAS call for `p` (`C` row-major `m × n` per batch entry).
fn config<T>(p: &MatmulParams, beta: T, alpha: T) -> StridedBatchedConfig<T> {
    let int = |v: usize| i32::try_from(v).expect("cuda: matrix size over i32::MAX");
    // op(B)ᵀ as cuBLAS's first operand: row-major k × n (no b_t) is
    // column-major n × k with leading dimension n, already op(B)ᵀ; stored
    // n × k (b_t) it is column-major k × n, to be transposed.
    let (transa, lda) = if p.b_t {
        (cublasOperation_t::CUBLAS_OP_T, p.k)
    } else {
        (cublasOperation_t::CUBLAS_OP_N, p.n)
    };
    // op(A)ᵀ as the second: row-major m × k (no a_t) is column-major k × m,
    // leading dimension k; stored k × m (a_t) it is column-major m × k.
    let (transb, ldb) = if p.a_t {
        (cublasOperation_t::CUBLAS_OP_T, p.m)
    } else {
        (cublasOperation_t::CUBLAS_OP_N, p.k)
    };
    StridedBatchedConfig {
        gemm: GemmConfig {
            transa,
            transb,
            m: int(p.n),
            n: int(p.m),
            k: int(p.k),
            alpha,
            lda: int(lda.max(1)),
            ldb: int(ldb.max(1)),
            beta,
            ldc: int(p.n.max(1)),
        },
        batch_size: int(p.batch),
        stride_a: p.b_batch_stride as i64,
        stride_b: p.a_batch_stride as i64,
        stride_c: (p.m * p.n) as i64,
    }
}

impl Cuda {
    /// `c = op(a)·op(b) + beta·c` per batch entry through cuBLAS (`c` holds
    /// `batch·m·n` elements; with `beta = 0` it may be uninitialised).
    /// Only f32 and f64 have a cuBLAS gemm: the element type is matched at
    /// run time (the kernel traits are generic over [`Dtype`]).
    pub(crate) fn gemm<E: Elem>(
        &self,
        p: &MatmulParams,
        a: &CudaSlice<E>,
        b: &CudaSlice<E>,
        c: &mut CudaSlice<E>,
        beta: f64,
    ) {
        if p.batch == 0 || p.m == 0 || p.n == 0 {
            return;
        }
        let blas = &self.inner.blas;
        let (a, b, c): (&dyn Any, &dyn Any, &mut dyn Any) = (a, b, c);
        let done = if let (Some(a), Some(b), Some(c)) = (
            a.downcast_ref::<CudaSlice<f32>>(),
            b.downcast_ref::<CudaSlice<f32>>(),
            c.downcast_mut::<CudaSlice<f32>>(),
        ) {
            // SAFETY: the leading dimensions and batch strides describe
            // buffers of the sizes the MatmulParams contract gives (checked
            // by the op layer: a holds batch·m·k, b batch·k·n elements or
            // one matrix with stride 0, c batch·m·n); cuBLAS reads and
            // writes inside them only.
            unsafe { blas.gemm_strided_batched(config(p, beta as f32, 1.0), b, a, c) }
        } else if let (Some(a), Some(b), Some(c)) = (
            a.downcast_ref::<CudaSlice<f64>>(),
            b.downcast_ref::<CudaSlice<f64>>(),
            c.downcast_mut::<CudaSlice<f64>>(),
        ) {
            // SAFETY: as for f32 above.
            unsafe { blas.gemm_strided_batched(config(p, beta, 1.0), b, a, c) }
        } else {
            self.fail("gemm", alloc::format!("no cuBLAS gemm for {}", E::NAME))
        };
        done.unwrap_or_else(|e| self.fail("cuBLAS gemm", e));
    }
}

impl<E: Dtype> MatmulKernel<E> for Cuda {
    fn matmul(
        &self,
        p: MatmulParams,
        a: &Self::Storage<E>,
        b: &Self::Storage<E>,
    ) -> Self::Storage<E> {
        let n = p.batch * p.m * p.n;
        if p.k == 0 || n == 0 {
            // An empty sum: zeros (cuBLAS would leave C unwritten).
            return crate::backend::Backend::full(self, n, E::zero());
        }
        let mut c = self.alloc::<E>(n);
        self.gemm(&p, a.slice(), b.slice(), &mut c, 0.0);
        super::CudaStorage::new(c)
    }
}
