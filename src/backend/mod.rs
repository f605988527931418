//! Backends: where tensor data lives and which code computes on it.
//!
//! [`Backend`] owns storage (allocation, host copies, random seeds). Each op
//! family has one kernel trait (`UnaryKernel`, `BinaryKernel`, ...), defined
//! with the plain-data descriptors its methods take in [`kernels`] (and
//! re-exported beside the typed op in [`crate::ops`]). [`Device<E>`]
//! collects them all, so a generic model needs a single bound `D: Device<E>`.
//!
//! **How a new backend fits.** A backend is a folder here (`cpu/`, `cuda/`)
//! that implements [`Backend`] and every trait of [`kernels`]; nothing in
//! `ops/`, `tensor`, `autograd` or `nn` changes, and `backend/` imports
//! nothing from `ops/`. Op code never touches host memory: it only passes
//! `D::Storage<E>` handles and runtime sizes to kernel trait methods, and
//! reads values back only through [`Backend::download`]. The CUDA backend
//! defines `Storage<T>` as a device buffer, implements `Backend`
//! (allocation, copies) and each kernel trait (NVRTC-compiled kernels,
//! cuBLAS for matmul). Kernels take runtime sizes and are generic over the
//! element type only, so they are compiled once inside typegrad, at its own
//! optimisation level.

pub mod cpu;
#[cfg(feature = "cuda")]
pub mod cuda;
pub mod kernels;
/// Random numbers (the [`RandomKernel`](kernels::RandomKernel) trait and the
/// Philox generator), also at `backend::kernels::random`.
pub use kernels::random;

use crate::dtype::{Dtype, Elem};
use alloc::vec::Vec;
use core::fmt::Debug;

pub use cpu::Cpu;
#[cfg(feature = "cuda")]
pub use cuda::Cuda;

/// Storage, allocation and host transfers of a device.
pub trait Backend: Clone + Debug + Send + Sync + 'static {
    /// A buffer of `T` on this device. Cheap to clone (reference counted);
    /// tensors never mutate shared storage in place.
    type Storage<T: Elem>: Clone + Debug + Send + Sync;

    /// Short name for messages (`"cpu"`, `"cuda:0"`).
    fn name(&self) -> &'static str;
    /// Number of elements in a buffer.
    fn len<T: Elem>(&self, s: &Self::Storage<T>) -> usize;
    /// Upload host data.
    fn upload<T: Elem>(&self, data: Vec<T>) -> Self::Storage<T>;
    /// Download to host.
    fn download<T: Elem>(&self, s: &Self::Storage<T>) -> Vec<T>;
    /// A buffer of `n` copies of `v`.
    fn full<T: Elem>(&self, n: usize, v: T) -> Self::Storage<T>;
    /// A buffer holding `data`, which lives for the whole program (a
    /// checkpoint embedded in flash, a leaked or mapped image). The default
    /// copies it, as [`Backend::upload`] does; a backend that can read host
    /// memory in place (the CPU) borrows it instead, with no copy and no
    /// allocation, and copies only when the buffer is first written.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// static W: [f32; 2] = [1.0, 2.0];
    /// let s = Cpu::default().upload_static(&W);
    /// assert!(s.is_borrowed() && s.as_ptr() == W.as_ptr());
    /// ```
    fn upload_static<T: Elem>(&self, data: &'static [T]) -> Self::Storage<T> {
        self.upload(data.to_vec())
    }
    /// Whether [`Backend::upload_static`] borrows (true) or copies (false,
    /// the default).
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// assert!(Cpu::default().borrows_static());
    /// ```
    fn borrows_static(&self) -> bool {
        false
    }
    /// A fresh seed from the device's seeded random stream (deterministic for
    /// a given device seed and call order).
    fn next_seed(&self) -> u64;
}

/// Everything a model generic over the device needs: one bound.
///
/// ```
/// use typegrad::prelude::*;
/// fn softplus<S: Shape, E: Dtype, D: Device<E>>(x: Tensor<S, E, D>) -> Tensor<S, E, D> {
///     x.exp().add_scalar(E::one()).ln()
/// }
/// let x = Tensor::<(u!(2),), f32>::from_vec_static(vec![0.0, 1.0], &Cpu::default());
/// let t = softplus(x);
/// assert!((t.to_vec()[0] - 2f32.ln()).abs() < 1e-6);
/// ```
pub trait Device<E: Dtype>:
    Backend
    + kernels::UnaryKernel<E>
    + kernels::BinaryKernel<E>
    + kernels::ReduceKernel<E>
    + kernels::MatmulKernel<E>
    + kernels::LinearKernel<E>
    + kernels::MovementKernel<E>
    + kernels::IndexKernel<E>
    + kernels::NormKernel<E>
    + kernels::PoolKernel<E>
    + kernels::OptimKernel<E>
    + kernels::ConvKernel<E>
    + kernels::AttentionKernel<E>
    + kernels::RandomKernel<E>
{
}

impl<E: Dtype, D> Device<E> for D where
    D: Backend
        + kernels::UnaryKernel<E>
        + kernels::BinaryKernel<E>
        + kernels::ReduceKernel<E>
        + kernels::MatmulKernel<E>
        + kernels::LinearKernel<E>
        + kernels::MovementKernel<E>
        + kernels::IndexKernel<E>
        + kernels::NormKernel<E>
        + kernels::PoolKernel<E>
        + kernels::OptimKernel<E>
        + kernels::ConvKernel<E>
        + kernels::AttentionKernel<E>
        + kernels::RandomKernel<E>
{
}
