//! [`NormKernel`]: batch-norm statistics and parameter sums with one block
//! per channel, layer norm with one block per row (shared-memory tree
//! reductions), the elementwise parts one thread per element. Sums and the
//! per-channel scalars are in double, as the CPU kernel combines them in
//! f64, so both devices agree to rounding.

use super::compile::KernelSource;
use super::conv::per_item;
use super::{launch, Cuda, CudaStorage};
use crate::dtype::Dtype;
use crate::ops::binary::BinaryKernel;
use crate::ops::norm::{BatchNormParams, LayerNormParams, NormGrads, NormKernel, NormWant};
use crate::ops::reduce::ReduceKernel;
use crate::ops::unary::UnaryKernel;
use cudarc::driver::{CudaSlice, PushKernelArg};

/// The normalisation kernels.
pub const NORM: KernelSource = KernelSource {
    name: "norm",
    code: r#"
#define CHANNEL_AT(j) (((j) / inner * channels + c) * inner + (j) % inner)

// One block per channel: mean, then the biased variance around it.
extern "C" __global__ void bn_stats(T *mean, T *var, const T *x, usize_t batch, usize_t channels, usize_t inner) {
    usize_t per = batch * inner;
    for (usize_t c = blockIdx.x; c < channels; c += gridDim.x) {
        double s = 0;
        for (usize_t j = threadIdx.x; j < per; j += blockDim.x) s += (double)x[CHANNEL_AT(j)];
        double mu = block_sum(s) / (double)per;
        T m = (T)mu;
        double q = 0;
        for (usize_t j = threadIdx.x; j < per; j += blockDim.x) {
            T d = x[CHANNEL_AT(j)] - m;
            q += (double)(d * d);
        }
        q = block_sum(q);
        if (threadIdx.x == 0) { mean[c] = m; var[c] = (T)(q / (double)per); }
    }
}

// y = x·scale + shift, scale = w/sqrt(var + eps), shift = b - mean·scale.
extern "C" __global__ void bn_forward(T *y, const T *x, const T *mean, const T *var, const T *w, int has_w,
                                      const T *b, int has_b, double eps, usize_t n, usize_t channels, usize_t inner) {
    GRID_STRIDE(i, n) {
        usize_t c = i / inner % channels;
        double r = 1.0 / sqrt((double)var[c] + eps);
        double s = has_w ? (double)w[c] * r : r;
        double t = (has_b ? (double)b[c] : 0.0) - (double)mean[c] * s;
        y[i] = x[i] * (T)s + (T)t;
    }
}

// One block per channel: sums[2c] = Σ gy, sums[2c + 1] = Σ gy·(x - mean).
extern "C" __global__ void bn_sums(double *sums, const T *x, const T *gy, const T *mean, usize_t batch, usize_t channels, usize_t inner) {
    usize_t per = batch * inner;
    for (usize_t c = blockIdx.x; c < channels; c += gridDim.x) {
        T m = mean[c];
        double sg = 0, sgx = 0;
        for (usize_t j = threadIdx.x; j < per; j += blockDim.x) {
            usize_t at = CHANNEL_AT(j);
            sg += (double)gy[at];
            sgx += (double)((x[at] - m) * gy[at]);
        }
        sg = block_sum(sg);
        sgx = block_sum(sgx);
        if (threadIdx.x == 0) { sums[2 * c] = sg; sums[2 * c + 1] = sgx; }
    }
}

// gx = a·gy + bc·x + d per channel (batch statistics), or a·gy.
extern "C" __global__ void bn_grad_input(T *gx, const T *x, const T *gy, const T *mean, const T *var, const T *w, int has_w,
                                         const double *sums, int batch_stats, double eps, usize_t n, usize_t channels, usize_t inner) {
    double count = (double)(n / channels);
    GRID_STRIDE(i, n) {
        usize_t c = i / inner % channels;
        double r = 1.0 / sqrt((double)var[c] + eps);
        double a = has_w ? (double)w[c] * r : r;
        if (!batch_stats) { gx[i] = (T)a * gy[i]; continue; }
        double mg = sums[2 * c] / count;
        double k = sums[2 * c + 1] * r * r / count;
        double m = (double)mean[c];
        gx[i] = (T)a * gy[i] + (T)(-a * k) * x[i] + (T)(a * (k * m - mg));
    }
}

// gw[c] = Σ gy·x̂ = sums[2c + 1]·rstd, gb[c] = Σ gy.
extern "C" __global__ void bn_param_grads(T *gw, T *gb, const double *sums, const T *var, double eps, usize_t channels) {
    GRID_STRIDE(c, channels) {
        double r = 1.0 / sqrt((double)var[c] + eps);
        gw[c] = (T)(sums[2 * c + 1] * r);
        gb[c] = (T)sums[2 * c];
    }
}

// One block per row: mean, rstd, then y = (x - mean)·rstd·w + b.
extern "C" __global__ void ln_forward(T *y, T *mean, T *rstd, const T *x, const T *w, int has_w, const T *b, int has_b,
                                      double eps, usize_t rows, usize_t cols) {
    for (usize_t r = blockIdx.x; r < rows; r += gridDim.x) {
        const T *xr = x + r * cols;
        double s = 0;
        for (usize_t j = threadIdx.x; j < cols; j += blockDim.x) s += (double)xr[j];
        T m = (T)(block_sum(s) / (double)cols);
        double q = 0;
        for (usize_t j = threadIdx.x; j < cols; j += blockDim.x) {
            T d = xr[j] - m;
            q += (double)(d * d);
        }
        double var = block_sum(q) / (double)cols;
        T rs = (T)(1.0 / sqrt(var + eps));
        for (usize_t j = threadIdx.x; j < cols; j += blockDim.x) {
            T v = (xr[j] - m) * rs;
            if (has_w) v = v * w[j];
            if (has_b) v = v + b[j];
            y[r * cols + j] = v;
        }
        if (threadIdx.x == 0) { mean[r] = m; rstd[r] = rs; }
    }
}

// One block per row: g = gy·w, gx = rstd (g - mean(g) - x̂·mean(g·x̂)).
extern "C" __global__ void ln_grad_input(T *gx, const T *x, const T *mean, const T *rstd, const T *w, int has_w,
                                         const T *gy, usize_t rows, usize_t cols) {
    for (usize_t r = blockIdx.x; r < rows; r += gridDim.x) {
        const T *xr = x + r * cols;
        const T *gr = gy + r * cols;
        T m = mean[r], rs = rstd[r];
        double sg = 0, sgx = 0;
        for (usize_t j = threadIdx.x; j < cols; j += blockDim.x) {
            T g = has_w ? gr[j] * w[j] : gr[j];
            sg += (double)g;
            sgx += (double)(g * (xr[j] - m) * rs);
        }
        T mg = (T)(block_sum(sg) / (double)cols);
        T mgx = (T)(block_sum(sgx) / (double)cols);
        for (usize_t j = threadIdx.x; j < cols; j += blockDim.x) {
            T g = has_w ? gr[j] * w[j] : gr[j];
            gx[r * cols + j] = rs * (g - mg - (xr[j] - m) * rs * mgx);
        }
    }
}

// One thread per column: gw[j] = Σ_rows gy·x̂, gb[j] = Σ_rows gy.
extern "C" __global__ void ln_param_grads(T *gw, T *gb, const T *x, const T *mean, const T *rstd, const T *gy, usize_t rows, usize_t cols) {
    GRID_STRIDE(j, cols) {
        double sw = 0, sb = 0;
        for (usize_t r = 0; r < rows; r++) {
            T d = gy[r * cols + j];
            sw += (double)(d * (x[r * cols + j] - mean[r]) * rstd[r]);
            sb += (double)d;
        }
        gw[j] = (T)sw;
        gb[j] = (T)sb;
    }
}
"#,
    elems: &["f32", "f64"],
};

/// A pointer for an absent optional operand (never read: its flag is 0).
fn opt<'a, E>(o: Option<&'a CudaStorage<E>>, dummy: &'a CudaStorage<E>) -> (&'a CudaSlice<E>, i32) {
    match o {
        Some(s) => (s.slice(), 1),
        None => (dummy.slice(), 0),
    }
}

impl<E: Dtype> NormKernel<E> for Cuda
where
    Cuda: UnaryKernel<E> + BinaryKernel<E> + ReduceKernel<E>,
{
    fn batch_norm_stats(
        &self,
        p: BatchNormParams,
        x: &Self::Storage<E>,
    ) -> (Self::Storage<E>, Self::Storage<E>) {
        let (mut mean, mut var) = (self.alloc::<E>(p.channels), self.alloc::<E>(p.channels));
        if p.channels > 0 {
            let f = self.kernel(&NORM, E::NAME, "bn_stats");
            let (b, c, i) = (p.batch as u64, p.channels as u64, p.inner as u64);
            let mut l = self.stream().launch_builder(&f);
            l.arg(&mut mean)
                .arg(&mut var)
                .arg(x.slice())
                .arg(&b)
                .arg(&c)
                .arg(&i);
            // SAFETY: writes mean/var[c] for c < channels (their size),
            // reads x inside batch·channels·inner; 256 threads as block_sum
            // needs; argument types match the signature.
            unsafe { l.launch(per_item(p.channels)) }.unwrap_or_else(|e| self.fail("bn_stats", e));
        }
        (CudaStorage::new(mean), CudaStorage::new(var))
    }

    #[allow(clippy::too_many_arguments)]
    fn batch_norm_forward(
        &self,
        p: BatchNormParams,
        eps: f64,
        x: &Self::Storage<E>,
        mean: &Self::Storage<E>,
        var: &Self::Storage<E>,
        w: Option<&Self::Storage<E>>,
        b: Option<&Self::Storage<E>>,
    ) -> Self::Storage<E> {
        let n = p.batch * p.channels * p.inner;
        let mut y = self.alloc::<E>(n);
        if n > 0 {
            let ((w, has_w), (b, has_b)) = (opt(w, x), opt(b, x));
            let (n64, c, i) = (n as u64, p.channels as u64, p.inner as u64);
            let f = self.kernel(&NORM, E::NAME, "bn_forward");
            let mut l = self.stream().launch_builder(&f);
            l.arg(&mut y)
                .arg(x.slice())
                .arg(mean.slice())
                .arg(var.slice())
                .arg(w)
                .arg(&has_w)
                .arg(b)
                .arg(&has_b)
                .arg(&eps)
                .arg(&n64)
                .arg(&c)
                .arg(&i);
            // SAFETY: writes y[0..n], reads x[0..n] and the per-channel
            // buffers at c < channels (absent ones never: flag 0);
            // argument types match the signature.
            unsafe { l.launch(launch::elementwise(n)) }
                .unwrap_or_else(|e| self.fail("bn_forward", e));
        }
        CudaStorage::new(y)
    }

    #[allow(clippy::too_many_arguments)]
    fn batch_norm_backward(
        &self,
        p: BatchNormParams,
        eps: f64,
        batch_stats: bool,
        x: &Self::Storage<E>,
        mean: &Self::Storage<E>,
        var: &Self::Storage<E>,
        w: Option<&Self::Storage<E>>,
        gy: &Self::Storage<E>,
        want: NormWant,
    ) -> NormGrads<Self::Storage<E>> {
        let n = p.batch * p.channels * p.inner;
        let (b, c, i) = (p.batch as u64, p.channels as u64, p.inner as u64);
        let need_sums = want.weight || want.bias || (want.input && batch_stats);
        let mut sums = self
            .stream()
            .alloc_zeros::<f64>(2 * p.channels.max(1))
            .unwrap_or_else(|e| self.fail("alloc", e));
        if need_sums && p.channels > 0 {
            let f = self.kernel(&NORM, E::NAME, "bn_sums");
            let mut l = self.stream().launch_builder(&f);
            l.arg(&mut sums)
                .arg(x.slice())
                .arg(gy.slice())
                .arg(mean.slice())
                .arg(&b)
                .arg(&c)
                .arg(&i);
            // SAFETY: writes sums[2c], sums[2c+1] for c < channels (size
            // 2·channels), reads x and gy inside batch·channels·inner;
            // 256 threads as block_sum needs; argument types match.
            unsafe { l.launch(per_item(p.channels)) }.unwrap_or_else(|e| self.fail("bn_sums", e));
        }
        let gx = want.input.then(|| {
            let mut gx = self.alloc::<E>(n);
            if n > 0 {
                let (w, has_w) = opt(w, x);
                let (n64, bs) = (n as u64, i32::from(batch_stats));
                let f = self.kernel(&NORM, E::NAME, "bn_grad_input");
                let mut l = self.stream().launch_builder(&f);
                l.arg(&mut gx)
                    .arg(x.slice())
                    .arg(gy.slice())
                    .arg(mean.slice())
                    .arg(var.slice())
                    .arg(w)
                    .arg(&has_w)
                    .arg(&sums)
                    .arg(&bs)
                    .arg(&eps)
                    .arg(&n64)
                    .arg(&c)
                    .arg(&i);
                // SAFETY: writes gx[0..n], reads x, gy at i < n and the
                // per-channel buffers at c < channels; argument types
                // match the signature.
                unsafe { l.launch(launch::elementwise(n)) }
                    .unwrap_or_else(|e| self.fail("bn_grad_input", e));
            }
            CudaStorage::new(gx)
        });
        let (gw, gb) = if want.weight || want.bias {
            let (mut gw, mut gb) = (self.alloc::<E>(p.channels), self.alloc::<E>(p.channels));
            if p.channels > 0 {
                let f = self.kernel(&NORM, E::NAME, "bn_param_grads");
                let mut l = self.stream().launch_builder(&f);
                l.arg(&mut gw)
                    .arg(&mut gb)
                    .arg(&sums)
                    .arg(var.slice())
                    .arg(&eps)
                    .arg(&c);
                // SAFETY: writes gw, gb at c < channels (their size), reads
                // sums and var there; argument types match.
                unsafe { l.launch(launch::elementwise(p.channels)) }
                    .unwrap_or_else(|e| self.fail("bn_param_grads", e));
            }
            (
                want.weight.then(|| CudaStorage::new(gw)),
                want.bias.then(|| CudaStorage::new(gb)),
            )
        } else {
            (None, None)
        };
        (gx, gw, gb)
    }

    fn layer_norm_forward(
        &self,
        p: LayerNormParams,
        eps: f64,
        x: &Self::Storage<E>,
        w: Option<&Self::Storage<E>>,
        b: Option<&Self::Storage<E>>,
    ) -> (Self::Storage<E>, Self::Storage<E>, Self::Storage<E>) {
        let mut y = self.alloc::<E>(p.rows * p.cols);
        let (mut mean, mut rstd) = if p.cols == 0 {
            // CPU semantics: zero statistics for empty rows.
            let z = || self.zeros::<E>(p.rows);
            (z(), z())
        } else {
            (self.alloc::<E>(p.rows), self.alloc::<E>(p.rows))
        };
        if p.rows > 0 && p.cols > 0 {
            let ((w, has_w), (b, has_b)) = (opt(w, x), opt(b, x));
            let (r, c) = (p.rows as u64, p.cols as u64);
            let f = self.kernel(&NORM, E::NAME, "ln_forward");
            let mut l = self.stream().launch_builder(&f);
            l.arg(&mut y)
                .arg(&mut mean)
                .arg(&mut rstd)
                .arg(x.slice())
                .arg(w)
                .arg(&has_w)
                .arg(b)
                .arg(&has_b)
                .arg(&eps)
                .arg(&r)
                .arg(&c);
            // SAFETY: each block writes its rows of y and mean/rstd[r] for
            // r < rows, reads x's rows and w, b at j < cols; 256 threads as
            // block_sum needs; argument types match the signature.
            unsafe { l.launch(per_item(p.rows)) }.unwrap_or_else(|e| self.fail("ln_forward", e));
        }
        (
            CudaStorage::new(y),
            CudaStorage::new(mean),
            CudaStorage::new(rstd),
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn layer_norm_backward(
        &self,
        p: LayerNormParams,
        x: &Self::Storage<E>,
        mean: &Self::Storage<E>,
        rstd: &Self::Storage<E>,
        w: Option<&Self::Storage<E>>,
        gy: &Self::Storage<E>,
        want: NormWant,
    ) -> NormGrads<Self::Storage<E>> {
        let (r, c) = (p.rows as u64, p.cols as u64);
        let full = p.rows * p.cols > 0;
        let gx = want.input.then(|| {
            if !full {
                return crate::backend::Backend::full(self, p.rows * p.cols, E::zero());
            }
            let mut gx = self.alloc::<E>(p.rows * p.cols);
            let (w, has_w) = opt(w, x);
            let f = self.kernel(&NORM, E::NAME, "ln_grad_input");
            let mut l = self.stream().launch_builder(&f);
            l.arg(&mut gx)
                .arg(x.slice())
                .arg(mean.slice())
                .arg(rstd.slice())
                .arg(w)
                .arg(&has_w)
                .arg(gy.slice())
                .arg(&r)
                .arg(&c);
            // SAFETY: each block writes its rows of gx (rows·cols), reads
            // x, gy rows, mean/rstd[r] and w[j < cols]; 256 threads as
            // block_sum needs; argument types match the signature.
            unsafe { l.launch(per_item(p.rows)) }.unwrap_or_else(|e| self.fail("ln_grad_input", e));
            CudaStorage::new(gx)
        });
        let (gw, gb) = if want.weight || want.bias {
            let (mut gw, mut gb) = if full {
                (self.alloc::<E>(p.cols), self.alloc::<E>(p.cols))
            } else {
                let z = || self.zeros::<E>(p.cols);
                (z(), z())
            };
            if full {
                let f = self.kernel(&NORM, E::NAME, "ln_param_grads");
                let mut l = self.stream().launch_builder(&f);
                l.arg(&mut gw)
                    .arg(&mut gb)
                    .arg(x.slice())
                    .arg(mean.slice())
                    .arg(rstd.slice())
                    .arg(gy.slice())
                    .arg(&r)
                    .arg(&c);
                // SAFETY: writes gw, gb at j < cols (their size), reads x,
                // gy inside rows·cols and mean/rstd at r < rows; argument
                // types match the signature.
                unsafe { l.launch(launch::elementwise(p.cols)) }
                    .unwrap_or_else(|e| self.fail("ln_param_grads", e));
            }
            (
                want.weight.then(|| CudaStorage::new(gw)),
                want.bias.then(|| CudaStorage::new(gb)),
            )
        } else {
            (None, None)
        };
        (gx, gw, gb)
    }
}
