//! [`PoolKernel`]: one thread per output element for the forwards (window
//! taps in the CPU kernel's order, so ties and NaNs pick the same element);
//! the max-pool backward scatters each gradient to its argmax with
//! `atomicAdd` (any index the forward gave, windows overlapping or not,
//! exactly as the CPU kernel adds them); the average-pool backward gathers,
//! each input element summing the outputs whose window covers it.

use super::compile::KernelSource;
use super::{launch, Cuda, CudaStorage};
use crate::dtype::Dtype;
use crate::ops::pool::{PoolKernel, PoolParams};
use cudarc::driver::{DeviceRepr, PushKernelArg};

/// The sizes of one pooling call, passed by value (the C struct `PoolArgs`).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
struct PoolArgs {
    planes: u64,
    h: u64,
    w: u64,
    oh: u64,
    ow: u64,
    kh: u64,
    kw: u64,
    sh: u64,
    sw: u64,
    ph: u64,
    pw: u64,
    dh: u64,
    dw: u64,
}

// SAFETY: a plain `#[repr(C)]` struct of thirteen u64s, laid out as the C
// struct `PoolArgs` (thirteen unsigned long long) the kernels take by value.
unsafe impl DeviceRepr for PoolArgs {}

impl PoolArgs {
    fn new(p: &PoolParams) -> Self {
        let u = |v: usize| v as u64;
        PoolArgs {
            planes: u(p.planes),
            h: u(p.input[0]),
            w: u(p.input[1]),
            oh: u(p.output[0]),
            ow: u(p.output[1]),
            kh: u(p.kernel[0]),
            kw: u(p.kernel[1]),
            sh: u(p.stride[0]),
            sw: u(p.stride[1]),
            ph: u(p.padding[0]),
            pw: u(p.padding[1]),
            dh: u(p.dilation[0]),
            dw: u(p.dilation[1]),
        }
    }
}

/// The pooling kernels.
pub const POOL: KernelSource = KernelSource {
    name: "pool",
    code: r#"
// NVRTC has no math.h: +inf from its bits.
#define INF ((T)__longlong_as_double(0x7ff0000000000000ULL))
struct PoolArgs {
    usize_t planes, h, w, oh, ow, kh, kw, sh, sw, ph, pw, dh, dw;
};

// Input row of tap k of output o along one axis, or -1 outside the input.
__device__ long long tap(usize_t o, usize_t k, usize_t s, usize_t d, usize_t pad, usize_t n) {
    long long i = (long long)(o * s + k * d) - (long long)pad;
    return (i < 0 || i >= (long long)n) ? -1 : i;
}

// Taps of output o that land inside the input.
__device__ usize_t inside(usize_t o, usize_t k, usize_t s, usize_t d, usize_t pad, usize_t n) {
    usize_t c = 0;
    for (usize_t j = 0; j < k; j++) c += tap(o, j, s, d, pad, n) >= 0;
    return c;
}

// The first element of the window (in tap order) that is strictly larger
// than all before it, or NaN, wins; the index starts at the window's first
// element (an all -inf window points there), ULLONG_MAX for an empty one.
template <bool IDX>
__device__ void max_pool_body(T *y, usize_t *idx, const T *x, PoolArgs a) {
    GRID_STRIDE(i, a.planes * a.oh * a.ow) {
        usize_t ox = i % a.ow, t = i / a.ow;
        usize_t oy = t % a.oh, c = t / a.oh;
        const T *xp = x + c * a.h * a.w;
        T best = -INF;
        usize_t at = ~(usize_t)0;
        bool first = true;
        for (usize_t ky = 0; ky < a.kh; ky++) {
            long long iy = tap(oy, ky, a.sh, a.dh, a.ph, a.h);
            if (iy < 0) continue;
            for (usize_t kx = 0; kx < a.kw; kx++) {
                long long ix = tap(ox, kx, a.sw, a.dw, a.pw, a.w);
                if (ix < 0) continue;
                usize_t pos = (usize_t)iy * a.w + (usize_t)ix;
                T v = xp[pos];
                if (first) { at = pos; first = false; }
                if (v > best || v != v) { best = v; at = pos; }
            }
        }
        y[i] = best;
        if (IDX) idx[i] = at;
    }
}
extern "C" __global__ void max_pool(T *y, const T *x, PoolArgs a) {
    max_pool_body<false>(y, (usize_t *)0, x, a);
}
extern "C" __global__ void max_pool_idx(T *y, usize_t *idx, const T *x, PoolArgs a) {
    max_pool_body<true>(y, idx, x, a);
}

// gx (zeroed) += gy at each output's argmax in its plane.
extern "C" __global__ void max_pool_backward(T *gx, const usize_t *idx, const T *gy, PoolArgs a) {
    usize_t plane = a.h * a.w;
    GRID_STRIDE(i, a.planes * a.oh * a.ow) {
        usize_t c = i / (a.oh * a.ow), at = idx[i];
        if (at < plane) atomicAdd(&gx[c * plane + at], gy[i]);
    }
}

extern "C" __global__ void avg_pool(T *y, const T *x, PoolArgs a, int include_pad) {
    GRID_STRIDE(i, a.planes * a.oh * a.ow) {
        usize_t ox = i % a.ow, t = i / a.ow;
        usize_t oy = t % a.oh, c = t / a.oh;
        const T *xp = x + c * a.h * a.w;
        ACC s = 0;
        usize_t n = 0;
        for (usize_t ky = 0; ky < a.kh; ky++) {
            long long iy = tap(oy, ky, a.sh, a.dh, a.ph, a.h);
            if (iy < 0) continue;
            for (usize_t kx = 0; kx < a.kw; kx++) {
                long long ix = tap(ox, kx, a.sw, a.dw, a.pw, a.w);
                if (ix < 0) continue;
                s += xp[iy * a.w + ix];
                n++;
            }
        }
        T div = include_pad ? (T)(a.kh * a.kw) : (T)n;
        y[i] = (T)s / div;
    }
}

// gx[c, iy, ix] = sum over the outputs whose window covers (iy, ix) of
// gy / (that output's divisor).
extern "C" __global__ void avg_pool_backward(T *gx, const T *gy, PoolArgs a, int include_pad) {
    GRID_STRIDE(i, a.planes * a.h * a.w) {
        usize_t ix = i % a.w, t = i / a.w;
        usize_t iy = t % a.h, c = t / a.h;
        const T *gp = gy + c * a.oh * a.ow;
        ACC s = 0;
        for (usize_t ky = 0; ky < a.kh; ky++) {
            long long ty = (long long)(iy + a.ph) - (long long)(ky * a.dh);
            if (ty < 0 || ty % (long long)a.sh != 0) continue;
            usize_t oy = (usize_t)ty / a.sh;
            if (oy >= a.oh) continue;
            for (usize_t kx = 0; kx < a.kw; kx++) {
                long long tx = (long long)(ix + a.pw) - (long long)(kx * a.dw);
                if (tx < 0 || tx % (long long)a.sw != 0) continue;
                usize_t ox = (usize_t)tx / a.sw;
                if (ox >= a.ow) continue;
                T div = include_pad ? (T)(a.kh * a.kw)
                    : (T)(inside(oy, a.kh, a.sh, a.dh, a.ph, a.h) * inside(ox, a.kw, a.sw, a.dw, a.pw, a.w));
                s += gp[oy * a.ow + ox] / div;
            }
        }
        gx[i] = (T)s;
    }
}
"#,
    elems: &["f32", "f64"],
};

impl<E: Dtype> PoolKernel<E> for Cuda {
    fn max_pool(
        &self,
        p: &PoolParams,
        x: &Self::Storage<E>,
        indices: bool,
    ) -> (Self::Storage<E>, Option<Self::Storage<usize>>) {
        let n = p.output_len();
        let args = PoolArgs::new(p);
        let mut y = self.alloc::<E>(n);
        let mut idx = indices.then(|| self.alloc::<usize>(n));
        if n > 0 {
            let f = self.kernel(
                &POOL,
                E::NAME,
                if indices { "max_pool_idx" } else { "max_pool" },
            );
            let mut l = self.stream().launch_builder(&f);
            l.arg(&mut y);
            if let Some(idx) = idx.as_mut() {
                l.arg(idx);
            }
            l.arg(x.slice()).arg(&args);
            // SAFETY: writes y (and idx) at i < planes·oh·ow (their size),
            // reads x inside each plane (taps bounds-checked); arguments in
            // the order and types of the chosen kernel's signature.
            unsafe { l.launch(launch::elementwise(n)) }
                .unwrap_or_else(|e| self.fail("max_pool", e));
        }
        (CudaStorage::new(y), idx.map(CudaStorage::new))
    }

    fn max_pool_backward(
        &self,
        p: &PoolParams,
        indices: &Self::Storage<usize>,
        gy: &Self::Storage<E>,
    ) -> Self::Storage<E> {
        let n = p.output_len();
        assert_eq!(indices.len(), n, "max_pool_backward: indices for {p:?}");
        assert_eq!(gy.len(), n, "max_pool_backward: gradient for {p:?}");
        let mut gx = self.zeros::<E>(p.input_len());
        if n > 0 {
            let args = PoolArgs::new(p);
            let f = self.kernel(&POOL, E::NAME, "max_pool_backward");
            let mut l = self.stream().launch_builder(&f);
            l.arg(&mut gx)
                .arg(indices.slice())
                .arg(gy.slice())
                .arg(&args);
            // SAFETY: reads idx and gy at i < n (their size); adds into gx
            // only at c·plane + idx with idx < plane (checked), c < planes;
            // argument types match the signature.
            unsafe { l.launch(launch::elementwise(n)) }
                .unwrap_or_else(|e| self.fail("max_pool_backward", e));
        }
        CudaStorage::new(gx)
    }

    fn avg_pool(
        &self,
        p: &PoolParams,
        x: &Self::Storage<E>,
        count_include_pad: bool,
    ) -> Self::Storage<E> {
        self.avg_launch("avg_pool", p.output_len(), p, x, count_include_pad)
    }

    fn avg_pool_backward(
        &self,
        p: &PoolParams,
        gy: &Self::Storage<E>,
        count_include_pad: bool,
    ) -> Self::Storage<E> {
        self.avg_launch("avg_pool_backward", p.input_len(), p, gy, count_include_pad)
    }
}

impl Cuda {
    /// `avg_pool` / `avg_pool_backward`: `n` outputs from `src`.
    fn avg_launch<E: Dtype>(
        &self,
        func: &'static str,
        n: usize,
        p: &PoolParams,
        src: &CudaStorage<E>,
        include_pad: bool,
    ) -> CudaStorage<E> {
        let mut out = self.alloc::<E>(n);
        if n > 0 {
            let args = PoolArgs::new(p);
            let pad = i32::from(include_pad);
            let f = self.kernel(&POOL, E::NAME, func);
            let mut l = self.stream().launch_builder(&f);
            l.arg(&mut out).arg(src.slice()).arg(&args).arg(&pad);
            // SAFETY: writes out[0..n] (its size: the output for the
            // forward, the input for the backward), reads src inside each
            // plane (taps bounds-checked); argument types match.
            unsafe { l.launch(launch::elementwise(n)) }.unwrap_or_else(|e| self.fail(func, e));
        }
        CudaStorage::new(out)
    }
}
