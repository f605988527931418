//! [`RandomKernel`] on the GPU: Philox-4x32-10, one counter per element
//! (see [`crate::backend::random`], whose host functions define each element
//! bit for bit).

use super::compile::KernelSource;
use super::{launch, Cuda, CudaStorage};
use crate::backend::random::{dropout_scale, dropout_threshold, RandomKernel, Stream};
use crate::dtype::Dtype;
use cudarc::driver::PushKernelArg;

/// `philox_raw`, `uniform`, `normal`, `dropout_mask`.
pub const RANDOM: KernelSource = KernelSource {
    name: "random",
    code: r#"
struct U4 { unsigned int x[4]; };
__device__ __forceinline__ U4 philox(usize_t i, unsigned int stream, usize_t seed) {
    unsigned int c0 = (unsigned int)i, c1 = (unsigned int)(i >> 32), c2 = stream, c3 = 0;
    unsigned int k0 = (unsigned int)seed, k1 = (unsigned int)(seed >> 32);
    #pragma unroll
    for (int r = 0; r < 10; ++r) {
        if (r > 0) { k0 += 0x9E3779B9u; k1 += 0xBB67AE85u; }
        unsigned int hi0 = __umulhi(0xD2511F53u, c0), lo0 = 0xD2511F53u * c0;
        unsigned int hi1 = __umulhi(0xCD9E8D57u, c2), lo1 = 0xCD9E8D57u * c2;
        unsigned int n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
        c0 = n0; c1 = lo1; c2 = n2; c3 = lo0;
    }
    U4 o; o.x[0] = c0; o.x[1] = c1; o.x[2] = c2; o.x[3] = c3;
    return o;
}
/* The largest value below h towards l, in the element type. */
__device__ __forceinline__ float next_below(float h, float l) { return nextafterf(h, l); }
__device__ __forceinline__ double next_below(double h, double l) { return nextafter(h, l); }
__device__ __forceinline__ double unit53(unsigned int lo, unsigned int hi) {
    unsigned long long b = ((unsigned long long)lo | ((unsigned long long)hi << 32)) >> 11;
    return __dmul_rn((double)b, 1.0 / 9007199254740992.0);
}
/* out[2i] = word0 | word1 << 32, out[2i+1] = word2 | word3 << 32 of block i. */
extern "C" __global__ void philox_raw(usize_t *out, usize_t seed, unsigned int stream, usize_t n) {
    GRID_STRIDE(i, n) {
        U4 b = philox(i, stream, seed);
        out[2 * i] = (usize_t)b.x[0] | ((usize_t)b.x[1] << 32);
        out[2 * i + 1] = (usize_t)b.x[2] | ((usize_t)b.x[3] << 32);
    }
}
extern "C" __global__ void uniform(T *out, double lo, double hi, usize_t seed, usize_t n) {
    T hi_t = (T)hi, below = next_below(hi_t, (T)lo);
    GRID_STRIDE(i, n) {
        U4 b = philox(i, 0u, seed);
        double v = __dadd_rn(lo, __dmul_rn(__dadd_rn(hi, -lo), unit53(b.x[0], b.x[1])));
        T r = (T)v;
        out[i] = r >= hi_t ? below : r;
    }
}
extern "C" __global__ void normal(T *out, double mean, double std_, usize_t seed, usize_t n) {
    GRID_STRIDE(i, n) {
        U4 b = philox(i, 1u, seed);
        double u1 = 1.0 - unit53(b.x[0], b.x[1]);
        double u2 = unit53(b.x[2], b.x[3]);
        double r = sqrt(-2.0 * log(u1));
        double z = r * cos(6.283185307179586 * u2);
        out[i] = (T)__dadd_rn(mean, __dmul_rn(std_, z));
    }
}
extern "C" __global__ void dropout_mask(T *out, usize_t threshold, T keep, usize_t seed, usize_t n) {
    GRID_STRIDE(i, n) {
        U4 b = philox(i, 2u, seed);
        out[i] = (usize_t)b.x[0] < threshold ? (T)0 : keep;
    }
}
"#,
    elems: &["f32", "f64"],
};

impl Cuda {
    /// The raw Philox blocks of elements `0..n` of `stream` under `seed`,
    /// two 64-bit words per block (words 0-1 and 2-3, low word first): what
    /// the tests compare with [`philox_block`](crate::backend::random::philox_block).
    #[doc(hidden)]
    pub fn philox_raw(&self, n: usize, seed: u64, stream: Stream) -> CudaStorage<usize> {
        let mut out = self.alloc::<usize>(2 * n);
        if n == 0 {
            return CudaStorage::new(out);
        }
        let (n64, s) = (n as u64, stream as u32);
        let f = self.kernel(&RANDOM, "f64", "philox_raw");
        let mut l = self.stream().launch_builder(&f);
        l.arg(&mut out).arg(&seed).arg(&s).arg(&n64);
        // SAFETY: (usize_t*, usize_t, unsigned int, usize_t); out holds 2n.
        unsafe { l.launch(launch::elementwise(n)) }.unwrap_or_else(|e| self.fail("philox", e));
        CudaStorage::new(out)
    }
}

impl<E: Dtype> RandomKernel<E> for Cuda {
    fn normal(&self, n: usize, mean: f64, std: f64, seed: u64) -> CudaStorage<E> {
        assert!(
            std.is_finite() && std >= 0.0,
            "randn: std must be finite and >= 0"
        );
        let mut out = self.alloc::<E>(n);
        if n == 0 {
            return CudaStorage::new(out);
        }
        let n64 = n as u64;
        let f = self.kernel(&RANDOM, E::NAME, "normal");
        let mut l = self.stream().launch_builder(&f);
        l.arg(&mut out).arg(&mean).arg(&std).arg(&seed).arg(&n64);
        // SAFETY: (T*, double, double, usize_t, usize_t); out holds n.
        unsafe { l.launch(launch::elementwise(n)) }.unwrap_or_else(|e| self.fail("normal", e));
        CudaStorage::new(out)
    }

    fn uniform(&self, n: usize, lo: f64, hi: f64, seed: u64) -> CudaStorage<E> {
        assert!(
            lo.is_finite() && hi.is_finite() && lo < hi,
            "rand_uniform: bounds must be finite"
        );
        let mut out = self.alloc::<E>(n);
        if n == 0 {
            return CudaStorage::new(out);
        }
        let n64 = n as u64;
        let f = self.kernel(&RANDOM, E::NAME, "uniform");
        let mut l = self.stream().launch_builder(&f);
        l.arg(&mut out).arg(&lo).arg(&hi).arg(&seed).arg(&n64);
        // SAFETY: (T*, double, double, usize_t, usize_t); out holds n.
        unsafe { l.launch(launch::elementwise(n)) }.unwrap_or_else(|e| self.fail("uniform", e));
        CudaStorage::new(out)
    }

    fn dropout_mask(&self, n: usize, p: f64, seed: u64) -> CudaStorage<E> {
        assert!(
            (0.0..=1.0).contains(&p),
            "dropout: the rate p must be in [0, 1], got {p}"
        );
        let mut out = self.alloc::<E>(n);
        if n == 0 {
            return CudaStorage::new(out);
        }
        let (threshold, keep, n64) = (dropout_threshold(p), dropout_scale::<E>(p), n as u64);
        let f = self.kernel(&RANDOM, E::NAME, "dropout_mask");
        let mut l = self.stream().launch_builder(&f);
        l.arg(&mut out)
            .arg(&threshold)
            .arg(&keep)
            .arg(&seed)
            .arg(&n64);
        // SAFETY: (T*, usize_t, T, usize_t, usize_t); out holds n.
        unsafe { l.launch(launch::elementwise(n)) }
            .unwrap_or_else(|e| self.fail("dropout_mask", e));
        CudaStorage::new(out)
    }
}
