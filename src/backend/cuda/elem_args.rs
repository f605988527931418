//! Kernel arguments and helpers shared by the elementwise families (unary,
//! binary, reduce, index, movement, optim): shape arrays passed by value,
//! block reductions, launch shapes.

use super::Cuda;
use crate::dtype::Elem;
use crate::shape::MAX_RANK;
use cudarc::driver::{CudaSlice, DeviceRepr};

/// Up to [`MAX_RANK`] sizes or strides, passed to a kernel by value (the C
/// side is `struct Dims6 { usize_t d[6]; }`, see [`DIMS_C`]).
#[repr(C)]
#[derive(Copy, Clone, Debug, Default)]
pub(crate) struct Dims6 {
    pub d: [u64; MAX_RANK],
}

// SAFETY: `Dims6` is `#[repr(C)]` and holds only `u64`s: it has the layout
// of the C struct `Dims6` (six `unsigned long long`s) that the kernels take
// by value, and every bit pattern is valid.
unsafe impl DeviceRepr for Dims6 {}

impl Dims6 {
    /// The first `v.len()` entries from `v`, the rest `fill`.
    pub fn from_slice(v: &[usize], fill: u64) -> Self {
        assert!(
            v.len() <= MAX_RANK,
            "cuda: rank {} above {MAX_RANK}",
            v.len()
        );
        let mut d = [fill; MAX_RANK];
        for (o, &x) in d.iter_mut().zip(v) {
            *o = x as u64;
        }
        Dims6 { d }
    }
}

/// The C declaration of [`Dims6`], and `offset_of`: the offset of flat
/// output index `p` (row-major over `dims[..rank]`) under `strides`.
macro_rules! dims_c {
    () => {
        r#"
struct Dims6 { usize_t d[6]; };
__device__ __forceinline__ usize_t offset_of(usize_t p, const Dims6 &dims, const Dims6 &strides, int rank) {
    usize_t off = 0;
    for (int k = rank - 1; k >= 0; --k) {
        usize_t q = p % dims.d[k];
        p /= dims.d[k];
        off += q * strides.d[k];
    }
    return off;
}
"#
    };
}
pub(crate) use dims_c;

/// Shared-memory block reductions (sum, max with NaN propagating, min), for
/// kernels launched with `BLOCK_THREADS` threads per block.
macro_rules! block_reduce_c {
    () => {
        r#"
#define BLOCK_THREADS 256
#define TG_INF (__longlong_as_double(0x7ff0000000000000ULL))
__device__ __forceinline__ ACC max_e(ACC a, ACC b) { return (a >= b || isnan(a)) ? a : b; }
__device__ __forceinline__ ACC min_e(ACC a, ACC b) { return (a <= b || isnan(a)) ? a : b; }
template <int K> __device__ __forceinline__ ACC combine(ACC a, ACC b) {
    if (K == 0) return a + b;
    if (K == 1) return max_e(a, b);
    return min_e(a, b);
}
/* Reduce v over the block (K: 0 sum, 1 max, 2 min); every thread gets the
   result. `sh` holds BLOCK_THREADS values; safe to call repeatedly. */
template <int K> __device__ ACC block_reduce(ACC v, ACC *sh) {
    __syncthreads();
    sh[threadIdx.x] = v;
    __syncthreads();
    for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {
        if (threadIdx.x < s) sh[threadIdx.x] = combine<K>(sh[threadIdx.x], sh[threadIdx.x + s]);
        __syncthreads();
    }
    ACC r = sh[0];
    __syncthreads();
    return r;
}
"#
    };
}
pub(crate) use block_reduce_c;

/// Threads per block of the block-reduction kernels (`BLOCK_THREADS`).
pub(crate) const BLOCK_THREADS: u32 = 256;

/// One block of [`BLOCK_THREADS`] per item, `items` blocks (at least one).
pub(crate) fn per_block(items: usize) -> cudarc::driver::LaunchConfig {
    cudarc::driver::LaunchConfig {
        grid_dim: ((items.max(1)).min(i32::MAX as usize) as u32, 1, 1),
        block_dim: (BLOCK_THREADS, 1, 1),
        shared_mem_bytes: 0,
    }
}

/// A zero-filled device buffer of `n` elements.
pub(crate) fn zeros<T: Elem>(dev: &Cuda, n: usize) -> CudaSlice<T> {
    dev.zeros(n)
}
