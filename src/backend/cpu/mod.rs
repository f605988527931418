//! The CPU backend: storage is a [`CpuStorage`] (a reference-counted `Vec`,
//! or `'static` data borrowed in place, copied on write); kernels are plain
//! loops (rayon-parallel above a size threshold with `std`) and `gemm`.

mod attention;
mod attention_gemm;
mod binary;
mod conv;
mod gemv;
mod index;
mod linear;
mod loss;
#[doc(hidden)]
pub mod matmul;
mod matmul_kernel;
mod movement;
mod norm;
mod optim;
pub(crate) mod par;
mod pool;
mod random;
mod reduce;
mod simd;
mod storage;
pub(crate) mod strides;
#[cfg(feature = "std")]
pub(crate) mod team;
#[cfg(feature = "std")]
pub mod threads;
mod unary;

use super::Backend;
use crate::dtype::Elem;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicUsize, Ordering};
pub use storage::CpuStorage;

/// The CPU device. Cloning shares its random stream.
///
/// ```
/// use typegrad::prelude::*;
/// let dev = Cpu::seeded(42);
/// let a: Tensor<(u!(3),), f32> = Tensor::randn(Default::default(), 0.0, 1.0, &dev);
/// let b: Tensor<(u!(3),), f32> = Tensor::randn(Default::default(), 0.0, 1.0, &Cpu::seeded(42));
/// assert_eq!(a.to_vec(), b.to_vec());
/// ```
#[derive(Clone, Debug)]
pub struct Cpu {
    seed: u64,
    counter: Arc<AtomicUsize>,
}

impl Default for Cpu {
    /// A CPU device with seed 0.
    fn default() -> Self {
        Cpu::seeded(0)
    }
}

impl Cpu {
    /// A CPU device whose random tensors are reproducible from `seed`.
    pub fn seeded(seed: u64) -> Self {
        par::tune_allocator();
        Cpu {
            seed,
            counter: Arc::new(AtomicUsize::new(0)),
        }
    }
}

impl Backend for Cpu {
    type Storage<T: Elem> = CpuStorage<T>;

    fn name(&self) -> &'static str {
        "cpu"
    }
    fn len<T: Elem>(&self, s: &Self::Storage<T>) -> usize {
        s.len()
    }
    fn upload<T: Elem>(&self, data: Vec<T>) -> Self::Storage<T> {
        CpuStorage::new(data)
    }
    fn download<T: Elem>(&self, s: &Self::Storage<T>) -> Vec<T> {
        s.to_vec()
    }
    fn full<T: Elem>(&self, n: usize, v: T) -> Self::Storage<T> {
        CpuStorage::new(vec![v; n])
    }
    /// Borrows `data` in place: no copy, no allocation (see [`CpuStorage`]).
    fn upload_static<T: Elem>(&self, data: &'static [T]) -> Self::Storage<T> {
        CpuStorage::from_static(data)
    }
    fn borrows_static(&self) -> bool {
        true
    }
    fn next_seed(&self) -> u64 {
        mix_seed(
            self.seed,
            self.counter.fetch_add(1, Ordering::Relaxed) as u64,
        )
    }
}

/// splitmix64 of (seed, counter): independent streams per call, the same on
/// every device, so a seeded run draws the same numbers on the CPU and GPU.
pub(crate) fn mix_seed(seed: u64, c: u64) -> u64 {
    let mut z = seed
        ^ c.wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .wrapping_add(0x632B_E59B_D9B4_E019);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
