//! NVRTC: the CUDA C kernels, compiled at run time once per process, GPU
//! and element type, and cached.
//!
//! A kernel family is one [`KernelSource`]: CUDA C written against a type
//! `T` (and `ACC`, the accumulation type) that [`module_code`] defines for
//! each element type the family supports. [`SOURCES`] lists every family, so
//! a test can compile all of them to PTX on a machine with NVRTC and no GPU.

use super::Cuda;
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use cudarc::driver::{CudaFunction, CudaModule};
use std::collections::HashMap;
use std::sync::Mutex;

/// One family of kernels: CUDA C over the element type `T`.
#[derive(Debug)]
pub struct KernelSource {
    /// Family name (module key), e.g. `"unary"`.
    pub name: &'static str,
    /// The CUDA C code; `T` and `ACC` are typedefs provided per element type.
    pub code: &'static str,
    /// The element types ([`Elem::NAME`](crate::dtype::Elem::NAME)) it is
    /// compiled for.
    pub elems: &'static [&'static str],
}

/// Every kernel family of the CUDA backend.
pub const SOURCES: &[&KernelSource] = &[
    &super::fill::FILL,
    &super::unary::UNARY,
    &super::binary::BINARY,
    &super::reduce::REDUCE,
    &super::index::INDEX,
    &super::movement::MOVEMENT,
    &super::optim::OPTIM,
    &super::random::RANDOM,
    &super::linear::LINEAR,
    &super::conv::CONV,
    &super::pool::POOL,
    &super::norm::NORM,
    &super::attention::ATTENTION,
];

/// The C type of an element type, by [`Elem::NAME`](crate::dtype::Elem::NAME).
pub fn c_type(elem: &str) -> &'static str {
    match elem {
        "f32" => "float",
        "f64" => "double",
        "bool" => "bool",
        "u8" => "unsigned char",
        "usize" => "unsigned long long",
        other => panic!("cuda: no C type for element type {other}"),
    }
}

/// The full translation unit of `source` for one element type: typedefs,
/// the shared helpers, then the family's code.
pub fn module_code(source: &KernelSource, elem: &str) -> String {
    let t = c_type(elem);
    // Sums of f32 accumulate in f32 as the CPU kernels do; f64 in f64.
    format!(
        "typedef {t} T;\ntypedef {t} ACC;\ntypedef unsigned long long usize_t;\n{PRELUDE}\n{}",
        source.code
    )
}

/// Helpers every family may use.
const PRELUDE: &str = r#"
#define GRID_STRIDE(i, n) for (usize_t i = (usize_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (usize_t)blockDim.x * gridDim.x)

// Sum of v over the block (blockDim.x == 256), in S; every thread gets it.
template <typename S> __device__ S block_sum(S v) {
    __shared__ S sh[256];
    sh[threadIdx.x] = v;
    __syncthreads();
    for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {
        if (threadIdx.x < s) sh[threadIdx.x] += sh[threadIdx.x + s];
        __syncthreads();
    }
    S r = sh[0];
    __syncthreads();
    return r;
}
"#;

/// Whether the NVRTC library can be loaded here (no GPU needed).
pub fn nvrtc_available() -> bool {
    super::library_present("nvrtc")
}

/// Compile CUDA C to PTX with NVRTC, or the compiler's log.
pub fn compile_ptx(code: &str) -> Result<cudarc::nvrtc::Ptx, String> {
    let opts = cudarc::nvrtc::CompileOptions {
        // CUDA 13's NVRTC targets compute_75 and newer; the driver JITs the
        // PTX for the GPU it finds (sm_90 on an H100/H200).
        options: alloc::vec![String::from("--std=c++17")],
        ..Default::default()
    };
    cudarc::nvrtc::compile_ptx_with_opts(code, opts).map_err(|e| format!("{e:?}"))
}

/// Compiled modules of one GPU, keyed by family and element type.
#[derive(Default)]
pub(crate) struct KernelCache {
    modules: Mutex<HashMap<(&'static str, &'static str), Arc<CudaModule>>>,
}

impl Cuda {
    /// The kernel `func` of `source` for element type `elem`, compiled on
    /// first use (panics with NVRTC's log if the source does not compile,
    /// which the PTX test rules out).
    pub(crate) fn kernel(
        &self,
        source: &'static KernelSource,
        elem: &'static str,
        func: &str,
    ) -> CudaFunction {
        let mut modules = self
            .inner
            .kernels
            .modules
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let module = match modules.get(&(source.name, elem)) {
            Some(m) => m.clone(),
            None => {
                let ptx = compile_ptx(&module_code(source, elem)).unwrap_or_else(|log| {
                    self.fail(
                        &format!("compiling kernels `{}` for {elem}", source.name),
                        log,
                    )
                });
                let m = self.inner.ctx.load_module(ptx).unwrap_or_else(|e| {
                    self.fail(&format!("loading kernels `{}`", source.name), e)
                });
                modules.insert((source.name, elem), m.clone());
                m
            }
        };
        module
            .load_function(func)
            .unwrap_or_else(|e| self.fail(&format!("kernel `{func}` of `{}`", source.name), e))
    }
}

/// Every (family, element type) pair, with its code: what the PTX test
/// compiles.
pub fn all_modules() -> Vec<(String, String)> {
    SOURCES
        .iter()
        .flat_map(|s| {
            s.elems
                .iter()
                .map(move |e| (format!("{}<{e}>", s.name), module_code(s, e)))
        })
        .collect()
}
