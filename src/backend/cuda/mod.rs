//! The CUDA backend (feature `cuda`): storage is a [`CudaStorage`] (a
//! reference-counted device buffer, copied on write); kernels are CUDA C
//! compiled at run time by NVRTC, once per process and element type
//! ([`compile`]); matrix products go through cuBLAS.
//!
//! cudarc loads `libcuda`, `libnvrtc` and `libcublas` when first used, so the
//! crate builds and links on a machine without CUDA; there [`Cuda::new`] is
//! an [`Error::Device`] naming the missing library, never a panic.
//!
//! Every kernel is enqueued on the device's one stream and nothing waits for
//! it: the host blocks only where a value is read back
//! ([`Backend::download`], so `to_vec`, `item`).

mod attention;
pub mod binary;
pub mod compile;
mod conv;
mod elem_args;
mod fill;
pub mod index;
mod launch;
mod linear;
mod matmul;
pub mod movement;
mod norm;
pub mod optim;
mod pool;
pub mod random;
pub mod reduce;
mod storage;
pub mod unary;

pub use storage::CudaStorage;

use super::Backend;
use crate::dtype::Elem;
use crate::shape::Error;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;
use core::sync::atomic::{AtomicU64, Ordering};
use cudarc::driver::{CudaContext, CudaStream, PushKernelArg};

/// A CUDA GPU. Cloning shares the GPU, its stream, its compiled kernels and
/// its random stream.
///
/// ```no_run
/// use typegrad::prelude::*;
/// use typegrad::backend::cuda::Cuda;
/// let gpu = Cuda::new(0).expect("a CUDA GPU");
/// let x: Tensor<(u!(3),), f32, Cuda> = Tensor::from_vec_static(vec![1.0, 2.0, 3.0], &gpu);
/// assert_eq!(x.to_vec(), vec![1.0, 2.0, 3.0]);
/// ```
#[derive(Clone)]
pub struct Cuda {
    pub(crate) inner: Arc<Inner>,
    seed: u64,
    counter: Arc<AtomicU64>,
}

/// What clones of one [`Cuda`] share.
pub(crate) struct Inner {
    pub(crate) ordinal: usize,
    pub(crate) ctx: Arc<CudaContext>,
    pub(crate) stream: Arc<CudaStream>,
    /// cuBLAS on `stream`, for the product kernels.
    pub(crate) blas: cudarc::cublas::CudaBlas,
    pub(crate) kernels: compile::KernelCache,
}

impl fmt::Debug for Cuda {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cuda({}, seed {})", self.inner.ordinal, self.seed)
    }
}

/// Whether a shared library cudarc loads is present (cudarc panics on first
/// use of a missing one, so we ask before touching it).
fn library_present(which: &str) -> bool {
    // SAFETY: these only try `dlopen` on the candidate names; no symbol of
    // the library is called.
    unsafe {
        match which {
            "cuda" => cudarc::driver::sys::is_culib_present(),
            "cublas" => cudarc::cublas::sys::is_culib_present(),
            _ => cudarc::nvrtc::sys::is_culib_present(),
        }
    }
}

fn device_error(ordinal: usize, message: impl ToString) -> Error {
    Error::Device {
        device: alloc::format!("cuda:{ordinal}"),
        message: message.to_string(),
    }
}

impl Cuda {
    /// The GPU with this ordinal, random seed 0. An [`Error::Device`] when
    /// there is no driver, no such GPU, or no cuBLAS/NVRTC library.
    pub fn new(ordinal: usize) -> Result<Self, Error> {
        Self::seeded(ordinal, 0)
    }

    /// The GPU with this ordinal, with random tensors reproducible from
    /// `seed` (as [`Cpu::seeded`](super::Cpu::seeded)).
    pub fn seeded(ordinal: usize, seed: u64) -> Result<Self, Error> {
        if !library_present("cuda") {
            return Err(device_error(
                ordinal,
                "the CUDA driver library (libcuda.so) was not found: no NVIDIA driver is installed",
            ));
        }
        let count = CudaContext::device_count().map_err(|e| device_error(ordinal, e))?;
        if ordinal >= count.max(0) as usize {
            return Err(device_error(
                ordinal,
                alloc::format!("no such GPU: the driver sees {count} CUDA device(s)"),
            ));
        }
        for lib in ["nvrtc", "cublas"] {
            if !library_present(lib) {
                return Err(device_error(
                    ordinal,
                    alloc::format!("the {lib} library (lib{lib}.so) was not found; add its folder to LD_LIBRARY_PATH"),
                ));
            }
        }
        let ctx = CudaContext::new(ordinal).map_err(|e| device_error(ordinal, e))?;
        // SAFETY: every allocation, copy, launch and free of this backend
        // (cuBLAS included) goes through the context's one default stream,
        // so stream order alone orders every use of a buffer; cudarc's
        // per-buffer events, which guard uses across streams, would only add
        // event records to every launch.
        unsafe { ctx.disable_event_tracking() };
        let stream = ctx.default_stream();
        let blas =
            cudarc::cublas::CudaBlas::new(stream.clone()).map_err(|e| device_error(ordinal, e))?;
        Ok(Cuda {
            inner: Arc::new(Inner {
                ordinal,
                ctx,
                stream,
                blas,
                kernels: compile::KernelCache::default(),
            }),
            seed,
            counter: Arc::new(AtomicU64::new(0)),
        })
    }

    /// Whether a CUDA GPU can be used here (driver present, at least one
    /// device).
    ///
    /// ```
    /// let _ = typegrad::backend::cuda::Cuda::is_available();
    /// ```
    pub fn is_available() -> bool {
        library_present("cuda") && CudaContext::device_count().map(|n| n > 0).unwrap_or(false)
    }

    /// The device ordinal.
    pub fn ordinal(&self) -> usize {
        self.inner.ordinal
    }

    /// The stream every kernel of this device is enqueued on.
    pub fn stream(&self) -> &Arc<CudaStream> {
        &self.inner.stream
    }

    /// Wait until every enqueued kernel has finished (for timing; reading a
    /// value back waits by itself).
    pub fn synchronize(&self) -> Result<(), Error> {
        self.inner
            .stream
            .synchronize()
            .map_err(|e| device_error(self.inner.ordinal, e))
    }

    /// This GPU (sharing its stream and compiled kernels) with a fresh
    /// random stream seeded by `seed`, as [`Cuda::seeded`] would give
    /// without creating the context and compiling the kernels again.
    ///
    /// ```no_run
    /// use typegrad::backend::cuda::Cuda;
    /// let gpu = Cuda::new(0).expect("a CUDA GPU");
    /// let _other = gpu.reseeded(7);
    /// ```
    pub fn reseeded(&self, seed: u64) -> Cuda {
        Cuda {
            inner: self.inner.clone(),
            seed,
            counter: Arc::new(AtomicU64::new(0)),
        }
    }

    /// An uninitialised buffer of `n` elements, for a kernel to write in
    /// full.
    pub(crate) fn alloc<T: Elem>(&self, n: usize) -> cudarc::driver::CudaSlice<T> {
        if n == 0 {
            return self.empty();
        }
        // SAFETY: every caller launches a kernel that writes all n elements
        // before the buffer is read.
        unsafe { self.inner.stream.alloc::<T>(n) }.unwrap_or_else(|e| self.fail("alloc", e))
    }

    /// A zero-filled buffer of `n` elements.
    pub(crate) fn zeros<T: Elem>(&self, n: usize) -> cudarc::driver::CudaSlice<T> {
        if n == 0 {
            return self.empty();
        }
        self.zeros::<T>(n)
    }

    /// An empty buffer: the driver refuses a plain allocation of 0 bytes
    /// (`cuMemAlloc`), so empty tensors get cudarc's null slice.
    fn empty<T: Elem>(&self) -> cudarc::driver::CudaSlice<T> {
        self.inner
            .stream
            .null::<T>()
            .unwrap_or_else(|e| self.fail("alloc", e))
    }

    /// Panic with the device and the driver's words: used for failures that
    /// leave no sensible value to return from an infallible kernel method
    /// (out of device memory, a kernel fault), as PyTorch raises.
    #[track_caller]
    pub(crate) fn fail(&self, what: &str, err: impl fmt::Display) -> ! {
        panic!("cuda:{}: {what}: {err}", self.inner.ordinal)
    }
}

impl Backend for Cuda {
    type Storage<T: Elem> = CudaStorage<T>;

    fn name(&self) -> &'static str {
        "cuda"
    }
    fn len<T: Elem>(&self, s: &Self::Storage<T>) -> usize {
        s.len()
    }
    fn upload<T: Elem>(&self, data: Vec<T>) -> Self::Storage<T> {
        if data.is_empty() {
            return CudaStorage::new(self.empty());
        }
        let buf = self
            .inner
            .stream
            .clone_htod(&data)
            .unwrap_or_else(|e| self.fail("upload", e));
        CudaStorage::new(buf)
    }
    fn download<T: Elem>(&self, s: &Self::Storage<T>) -> Vec<T> {
        if s.is_empty() {
            return Vec::new();
        }
        self.inner
            .stream
            .clone_dtoh(s.slice())
            .unwrap_or_else(|e| self.fail("download", e))
    }
    fn full<T: Elem>(&self, n: usize, v: T) -> Self::Storage<T> {
        if v == T::default() {
            // All-zero bits for every Elem (0.0, false, 0).
            return CudaStorage::new(self.zeros::<T>(n));
        }
        let mut buf = self.alloc::<T>(n);
        let f = self.kernel(&fill::FILL, T::NAME, "fill");
        let n64 = n as u64;
        let mut b = self.inner.stream.launch_builder(&f);
        b.arg(&mut buf).arg(&v).arg(&n64);
        // SAFETY: `fill` writes `out[i]` for i < n only, and `buf` holds n
        // elements of T; the argument types match the kernel's signature.
        unsafe { b.launch(launch::elementwise(n)) }.unwrap_or_else(|e| self.fail("fill", e));
        CudaStorage::new(buf)
    }
    fn next_seed(&self) -> u64 {
        let k = self.counter.fetch_add(1, Ordering::Relaxed);
        // Same mixing as the CPU device, so seeds are reproducible per call order.
        crate::backend::cpu::mix_seed(self.seed, k)
    }
}

/// The name of a device for messages, e.g. `"cuda:0"`.
pub fn device_label(dev: &Cuda) -> String {
    alloc::format!("cuda:{}", dev.inner.ordinal)
}
