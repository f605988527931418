//! [`ConvKernel`]: direct convolution kernels, one thread per output
//! element (forward, input gradient) or one block per weight element (the
//! weight gradient, a block reduction over the batch and the output
//! pixels). The input gradient is a gather: each input element sums the
//! outputs whose window covers it, so overlapping windows need no atomics
//! and the transposed convolution's output padding (elements no window
//! reaches) comes out as 0 (plus the bias) by construction.

use super::compile::KernelSource;
use super::{launch, Cuda, CudaStorage};
use crate::dtype::Dtype;
use crate::ops::conv::{ConvKernel, ConvParams};
use cudarc::driver::{DeviceRepr, LaunchConfig, PushKernelArg};

/// The sizes of one convolution, passed by value (the C struct `ConvArgs`).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
struct ConvArgs {
    batch: u64,
    c_in: u64,
    c_out: u64,
    groups: u64,
    h: u64,
    w: u64,
    kh: u64,
    kw: u64,
    sh: u64,
    sw: u64,
    ph: u64,
    pw: u64,
    dh: u64,
    dw: u64,
    oh: u64,
    ow: u64,
}

// SAFETY: a plain `#[repr(C)]` struct of sixteen u64s, laid out exactly as
// the C struct `ConvArgs` (sixteen unsigned long long) the kernels take by
// value.
unsafe impl DeviceRepr for ConvArgs {}

impl ConvArgs {
    fn new(p: &ConvParams) -> Self {
        let o = p
            .output()
            .unwrap_or_else(|| panic!("cuda conv: the kernel does not fit the input for {p:?}"));
        let u = |v: usize| v as u64;
        ConvArgs {
            batch: u(p.batch),
            c_in: u(p.c_in),
            c_out: u(p.c_out),
            groups: u(p.groups.max(1)),
            h: u(p.input[0]),
            w: u(p.input[1]),
            kh: u(p.kernel[0]),
            kw: u(p.kernel[1]),
            sh: u(p.stride[0]),
            sw: u(p.stride[1]),
            ph: u(p.padding[0]),
            pw: u(p.padding[1]),
            dh: u(p.dilation[0]),
            dw: u(p.dilation[1]),
            oh: u(o[0]),
            ow: u(o[1]),
        }
    }
}

/// The convolution kernels.
pub const CONV: KernelSource = KernelSource {
    name: "conv",
    code: r#"
struct ConvArgs {
    usize_t batch, c_in, c_out, groups, h, w, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow;
};

// y[n, co, oy, ox] = b[co] + sum over the group's input channels and the
// window taps that land inside the input.
extern "C" __global__ void conv_forward(T *y, const T *x, const T *wt, const T *bias, int has_bias, ConvArgs a) {
    usize_t cig = a.c_in / a.groups, cog = a.c_out / a.groups;
    GRID_STRIDE(i, a.batch * a.c_out * a.oh * a.ow) {
        usize_t ox = i % a.ow, t = i / a.ow;
        usize_t oy = t % a.oh; t /= a.oh;
        usize_t co = t % a.c_out, n = t / a.c_out;
        usize_t g = co / cog;
        ACC acc = 0;
        for (usize_t ci = 0; ci < cig; ci++) {
            const T *xp = x + (n * a.c_in + g * cig + ci) * a.h * a.w;
            const T *wp = wt + (co * cig + ci) * a.kh * a.kw;
            for (usize_t ky = 0; ky < a.kh; ky++) {
                long long iy = (long long)(oy * a.sh + ky * a.dh) - (long long)a.ph;
                if (iy < 0 || iy >= (long long)a.h) continue;
                for (usize_t kx = 0; kx < a.kw; kx++) {
                    long long ix = (long long)(ox * a.sw + kx * a.dw) - (long long)a.pw;
                    if (ix < 0 || ix >= (long long)a.w) continue;
                    acc += (ACC)xp[iy * a.w + ix] * (ACC)wp[ky * a.kw + kx];
                }
            }
        }
        y[i] = (T)(acc + (has_bias ? (ACC)bias[co] : (ACC)0));
    }
}

// dx[n, c, iy, ix] = b[c] + sum of gy * w over the outputs whose window
// reads (iy, ix): oy·sh + ky·dh - ph = iy.
extern "C" __global__ void conv_input_grad(T *dx, const T *gy, const T *wt, const T *bias, int has_bias, ConvArgs a) {
    usize_t cig = a.c_in / a.groups, cog = a.c_out / a.groups;
    GRID_STRIDE(i, a.batch * a.c_in * a.h * a.w) {
        usize_t ix = i % a.w, t = i / a.w;
        usize_t iy = t % a.h; t /= a.h;
        usize_t c = t % a.c_in, n = t / a.c_in;
        usize_t g = c / cig, ci = c % cig;
        ACC acc = 0;
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
                for (usize_t co = g * cog; co < (g + 1) * cog; co++) {
                    acc += (ACC)gy[((n * a.c_out + co) * a.oh + oy) * a.ow + ox]
                         * (ACC)wt[((co * cig + ci) * a.kh + ky) * a.kw + kx];
                }
            }
        }
        dx[i] = (T)(acc + (has_bias ? (ACC)bias[c] : (ACC)0));
    }
}

// One block per weight element (co, ci, ky, kx): the sum over the batch and
// the output pixels of gy[n, co, oy, ox] · x[n, g·cig + ci, iy, ix].
extern "C" __global__ void conv_weight_grad(T *dw, const T *x, const T *gy, ConvArgs a) {
    usize_t cig = a.c_in / a.groups, cog = a.c_out / a.groups;
    usize_t count = a.c_out * cig * a.kh * a.kw;
    usize_t per = a.batch * a.oh * a.ow;
    for (usize_t e = blockIdx.x; e < count; e += gridDim.x) {
        usize_t kx = e % a.kw, t = e / a.kw;
        usize_t ky = t % a.kh; t /= a.kh;
        usize_t ci = t % cig, co = t / cig;
        usize_t c = (co / cog) * cig + ci;
        ACC acc = 0;
        for (usize_t j = threadIdx.x; j < per; j += blockDim.x) {
            usize_t ox = j % a.ow, u = j / a.ow;
            usize_t oy = u % a.oh, n = u / a.oh;
            long long iy = (long long)(oy * a.sh + ky * a.dh) - (long long)a.ph;
            long long ix = (long long)(ox * a.sw + kx * a.dw) - (long long)a.pw;
            if (iy < 0 || iy >= (long long)a.h || ix < 0 || ix >= (long long)a.w) continue;
            acc += (ACC)gy[((n * a.c_out + co) * a.oh + oy) * a.ow + ox]
                 * (ACC)x[((n * a.c_in + c) * a.h + iy) * a.w + ix];
        }
        acc = block_sum(acc);
        if (threadIdx.x == 0) dw[e] = (T)acc;
    }
}

// One block per channel: out[c] = sum over n and s of g[n, c, s].
extern "C" __global__ void channel_sum(T *out, const T *g, usize_t batch, usize_t channels, usize_t spatial) {
    for (usize_t c = blockIdx.x; c < channels; c += gridDim.x) {
        ACC acc = 0;
        for (usize_t j = threadIdx.x; j < batch * spatial; j += blockDim.x) {
            usize_t n = j / spatial, s = j % spatial;
            acc += (ACC)g[(n * channels + c) * spatial + s];
        }
        acc = block_sum(acc);
        if (threadIdx.x == 0) out[c] = (T)acc;
    }
}
"#,
    elems: &["f32", "f64"],
};

/// One block of 256 threads per item, up to 65 535 blocks (the kernels loop
/// over the rest).
pub(crate) fn per_item(items: usize) -> LaunchConfig {
    LaunchConfig {
        grid_dim: (items.clamp(1, 65_535) as u32, 1, 1),
        block_dim: (256, 1, 1),
        shared_mem_bytes: 0,
    }
}

impl Cuda {
    /// `conv_forward` or `conv_input_grad` (same arguments): `out` elements
    /// from `src` (x or gy), the weight and an optional bias.
    #[allow(clippy::too_many_arguments)]
    fn conv_gather<E: Dtype>(
        &self,
        func: &'static str,
        n: usize,
        p: &ConvParams,
        src: &CudaStorage<E>,
        w: &CudaStorage<E>,
        b: Option<&CudaStorage<E>>,
    ) -> CudaStorage<E> {
        let mut out = self.alloc::<E>(n);
        if n > 0 {
            let args = ConvArgs::new(p);
            let f = self.kernel(&CONV, E::NAME, func);
            let has_bias = i32::from(b.is_some());
            // Without a bias the kernel never reads `bias`: any pointer.
            let bias = b.unwrap_or(w);
            let mut l = self.stream().launch_builder(&f);
            l.arg(&mut out)
                .arg(src.slice())
                .arg(w.slice())
                .arg(bias.slice())
                .arg(&has_bias)
                .arg(&args);
            // SAFETY: the kernel writes out[0..n] (n = its element count for
            // these sizes) and reads x/gy, w and b inside the extents the
            // ConvParams give them (bounds-checked window taps); argument
            // types match the signature (pointers, int, ConvArgs by value).
            unsafe { l.launch(launch::elementwise(n)) }.unwrap_or_else(|e| self.fail(func, e));
        }
        CudaStorage::new(out)
    }
}

impl<E: Dtype> ConvKernel<E> for Cuda {
    fn conv_forward(
        &self,
        p: &ConvParams,
        x: &Self::Storage<E>,
        w: &Self::Storage<E>,
        b: Option<&Self::Storage<E>>,
    ) -> Self::Storage<E> {
        let o = p.output().unwrap_or([0, 0]);
        let n = p.batch * p.c_out * o[0] * o[1];
        self.conv_gather("conv_forward", n, p, x, w, b)
    }

    fn conv_input_grad(
        &self,
        p: &ConvParams,
        w: &Self::Storage<E>,
        gy: &Self::Storage<E>,
        b: Option<&Self::Storage<E>>,
    ) -> Self::Storage<E> {
        let n = p.batch * p.c_in * p.input[0] * p.input[1];
        self.conv_gather("conv_input_grad", n, p, gy, w, b)
    }

    fn conv_weight_grad(
        &self,
        p: &ConvParams,
        x: &Self::Storage<E>,
        gy: &Self::Storage<E>,
    ) -> Self::Storage<E> {
        let count = p.c_out * p.c_in_per_group() * p.kernel[0] * p.kernel[1];
        let mut dw = self.alloc::<E>(count);
        if count > 0 {
            let args = ConvArgs::new(p);
            let f = self.kernel(&CONV, E::NAME, "conv_weight_grad");
            let mut l = self.stream().launch_builder(&f);
            l.arg(&mut dw).arg(x.slice()).arg(gy.slice()).arg(&args);
            // SAFETY: each block writes dw[e] for its weight elements
            // e < count (dw's size) and reads x and gy inside their extents
            // (taps bounds-checked); 256 threads as block_sum needs;
            // argument types match the signature.
            unsafe { l.launch(per_item(count)) }
                .unwrap_or_else(|e| self.fail("conv_weight_grad", e));
        }
        CudaStorage::new(dw)
    }

    fn channel_sum(
        &self,
        batch: usize,
        channels: usize,
        spatial: usize,
        g: &Self::Storage<E>,
    ) -> Self::Storage<E> {
        let mut out = self.alloc::<E>(channels);
        if channels > 0 {
            let f = self.kernel(&CONV, E::NAME, "channel_sum");
            let (b, c, s) = (batch as u64, channels as u64, spatial as u64);
            let mut l = self.stream().launch_builder(&f);
            l.arg(&mut out).arg(g.slice()).arg(&b).arg(&c).arg(&s);
            // SAFETY: writes out[0..channels], reads g[0..batch·channels·
            // spatial] (its size); 256 threads as block_sum needs; argument
            // types match the signature.
            unsafe { l.launch(per_item(channels)) }.unwrap_or_else(|e| self.fail("channel_sum", e));
        }
        CudaStorage::new(out)
    }
}
