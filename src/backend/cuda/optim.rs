//! CUDA kernels for the fused, in-place optimizer updates.

use super::compile::KernelSource;
use super::elem_args::{block_reduce_c, per_block};
use super::{launch, Cuda, CudaStorage};
use crate::backend::Backend;
use crate::dtype::Dtype;
use crate::optim::{AdamStep, OptimKernel, SgdStep};
use cudarc::driver::PushKernelArg;

/// `sgd`, `sgd_momentum`, `adam`, `scale`, and the two passes of
/// `sum_squares` (partial sums per block in `double`, then their total).
pub const OPTIM: KernelSource = KernelSource {
    name: "optim",
    code: concat!(
        block_reduce_c!(),
        r#"
extern "C" __global__ void sgd(T *p, const T *g, T lr, T wd, usize_t n) {
    GRID_STRIDE(i, n) { p[i] = p[i] - lr * (g[i] + wd * p[i]); }
}
extern "C" __global__ void sgd_momentum(T *p, T *buf, const T *g, T lr, T mu, T keep, T wd, int nesterov, int first, usize_t n) {
    GRID_STRIDE(i, n) {
        T gi = g[i] + wd * p[i];
        T b = first ? gi : mu * buf[i] + keep * gi;
        buf[i] = b;
        T d = nesterov ? gi + mu * b : b;
        p[i] = p[i] - lr * d;
    }
}
extern "C" __global__ void adam(T *p, T *m, T *v, const T *g, T b1, T b2, T c1, T c2, T eps, T l2, T decay, T step_size, T inv_bc2, usize_t n) {
    GRID_STRIDE(i, n) {
        T pi = p[i];
        T gi = g[i] + l2 * pi;
        T q = pi * decay;
        T mi = b1 * m[i] + c1 * gi;
        T vi = b2 * v[i] + c2 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] = q - step_size * mi / (sqrt(vi) * inv_bc2 + eps);
    }
}
extern "C" __global__ void scale(T *x, T factor, usize_t n) {
    GRID_STRIDE(i, n) { x[i] = x[i] * factor; }
}
extern "C" __global__ void sumsq_partial(const T *x, double *part, usize_t n) {
    __shared__ double sh[BLOCK_THREADS];
    double s = 0;
    GRID_STRIDE(i, n) { double v = (double)x[i]; s += v * v; }
    sh[threadIdx.x] = s;
    __syncthreads();
    for (unsigned k = blockDim.x / 2; k > 0; k >>= 1) {
        if (threadIdx.x < k) sh[threadIdx.x] += sh[threadIdx.x + k];
        __syncthreads();
    }
    if (threadIdx.x == 0) part[blockIdx.x] = sh[0];
}
extern "C" __global__ void sum_parts(const double *part, double *out, usize_t n) {
    __shared__ double sh[BLOCK_THREADS];
    double s = 0;
    for (usize_t i = threadIdx.x; i < n; i += blockDim.x) s += part[i];
    sh[threadIdx.x] = s;
    __syncthreads();
    for (unsigned k = blockDim.x / 2; k > 0; k >>= 1) {
        if (threadIdx.x < k) sh[threadIdx.x] += sh[threadIdx.x + k];
        __syncthreads();
    }
    if (threadIdx.x == 0) out[0] = sh[0];
}
"#
    ),
    elems: &["f32", "f64"],
};

/// Blocks of the first `sum_squares` pass.
const PARTS: usize = 1024;

impl<E: Dtype> OptimKernel<E> for Cuda {
    fn sgd_update(
        &self,
        param: &mut CudaStorage<E>,
        grad: &CudaStorage<E>,
        momentum_buf: Option<&mut CudaStorage<E>>,
        cfg: &SgdStep<E>,
    ) {
        let n = param.len();
        assert_eq!(
            grad.len(),
            n,
            "sgd_update: gradient of {} elements for a parameter of {n}",
            grad.len()
        );
        if n == 0 {
            return;
        }
        let n64 = n as u64;
        let stream = self.stream().clone();
        match momentum_buf {
            None => {
                let f = self.kernel(&OPTIM, E::NAME, "sgd");
                let p = param.make_mut(&stream);
                let mut l = stream.launch_builder(&f);
                l.arg(p)
                    .arg(grad.slice())
                    .arg(&cfg.lr)
                    .arg(&cfg.weight_decay)
                    .arg(&n64);
                // SAFETY: (T*, const T*, T, T, usize_t); p and g hold n;
                // make_mut gave p its own buffer.
                unsafe { l.launch(launch::elementwise(n)) }
                    .unwrap_or_else(|e| self.fail("sgd_update", e));
            }
            Some(buf) => {
                assert_eq!(
                    buf.len(),
                    n,
                    "sgd_update: momentum buffer of {} elements for {n}",
                    buf.len()
                );
                let keep = E::one() - cfg.dampening;
                let (nes, first) = (cfg.nesterov as i32, cfg.first as i32);
                let f = self.kernel(&OPTIM, E::NAME, "sgd_momentum");
                let p = param.make_mut(&stream);
                let b = buf.make_mut(&stream);
                let mut l = stream.launch_builder(&f);
                l.arg(p)
                    .arg(b)
                    .arg(grad.slice())
                    .arg(&cfg.lr)
                    .arg(&cfg.momentum)
                    .arg(&keep)
                    .arg(&cfg.weight_decay)
                    .arg(&nes)
                    .arg(&first)
                    .arg(&n64);
                // SAFETY: (T*, T*, const T*, T, T, T, T, int, int, usize_t);
                // p, buf and g hold n; p and buf are unshared (make_mut).
                unsafe { l.launch(launch::elementwise(n)) }
                    .unwrap_or_else(|e| self.fail("sgd_update", e));
            }
        }
    }

    fn adam_update(
        &self,
        param: &mut CudaStorage<E>,
        grad: &CudaStorage<E>,
        m: &mut CudaStorage<E>,
        v: &mut CudaStorage<E>,
        cfg: &AdamStep<E>,
    ) {
        let n = param.len();
        assert!(
            grad.len() == n && m.len() == n && v.len() == n,
            "adam_update: buffers of {}, {}, {} elements for a parameter of {n}",
            grad.len(),
            m.len(),
            v.len()
        );
        if n == 0 {
            return;
        }
        let (c1, c2) = (E::one() - cfg.beta1, E::one() - cfg.beta2);
        let inv_bc2 = E::one() / cfg.bias_correction2_sqrt;
        let (decay, l2) = if cfg.decoupled {
            (E::one() - cfg.lr * cfg.weight_decay, E::zero())
        } else {
            (E::one(), cfg.weight_decay)
        };
        let n64 = n as u64;
        let stream = self.stream().clone();
        let f = self.kernel(&OPTIM, E::NAME, "adam");
        let p = param.make_mut(&stream);
        let mm = m.make_mut(&stream);
        let vv = v.make_mut(&stream);
        let mut l = stream.launch_builder(&f);
        l.arg(p)
            .arg(mm)
            .arg(vv)
            .arg(grad.slice())
            .arg(&cfg.beta1)
            .arg(&cfg.beta2)
            .arg(&c1)
            .arg(&c2)
            .arg(&cfg.eps)
            .arg(&l2)
            .arg(&decay)
            .arg(&cfg.step_size)
            .arg(&inv_bc2)
            .arg(&n64);
        // SAFETY: (T*, T*, T*, const T*, T x9, usize_t); p, m, v and g hold
        // n elements; p, m and v are unshared (make_mut).
        unsafe { l.launch(launch::elementwise(n)) }.unwrap_or_else(|e| self.fail("adam_update", e));
    }

    /// Two passes on the device, then the one `f64` read back that the
    /// signature asks for (a host synchronisation, where clipping needs it).
    fn sum_squares(&self, x: &CudaStorage<E>) -> f64 {
        let n = x.len();
        if n == 0 {
            return 0.0;
        }
        let blocks = n.div_ceil(256).min(PARTS);
        let mut part = self.alloc::<f64>(blocks);
        let mut out = self.alloc::<f64>(1);
        let (n64, b64) = (n as u64, blocks as u64);
        let f = self.kernel(&OPTIM, E::NAME, "sumsq_partial");
        let mut l = self.stream().launch_builder(&f);
        l.arg(x.slice()).arg(&mut part).arg(&n64);
        // SAFETY: (const T*, double*, usize_t); x holds n, part one entry
        // per block (`blocks` blocks of BLOCK_THREADS threads).
        unsafe { l.launch(per_block(blocks)) }.unwrap_or_else(|e| self.fail("sum_squares", e));
        let f = self.kernel(&OPTIM, E::NAME, "sum_parts");
        let mut l = self.stream().launch_builder(&f);
        l.arg(&part).arg(&mut out).arg(&b64);
        // SAFETY: (const double*, double*, usize_t); part holds `blocks`,
        // out one; one block.
        unsafe { l.launch(per_block(1)) }.unwrap_or_else(|e| self.fail("sum_squares", e));
        self.download(&super::CudaStorage::new(out))[0]
    }

    fn scale_assign(&self, x: &mut CudaStorage<E>, factor: E) {
        let n = x.len();
        if n == 0 {
            return;
        }
        let n64 = n as u64;
        let stream = self.stream().clone();
        let f = self.kernel(&OPTIM, E::NAME, "scale");
        let d = x.make_mut(&stream);
        let mut l = stream.launch_builder(&f);
        l.arg(d).arg(&factor).arg(&n64);
        // SAFETY: (T*, T, usize_t); x holds n and is unshared (make_mut).
        unsafe { l.launch(launch::elementwise(n)) }
            .unwrap_or_else(|e| self.fail("scale_assign", e));
    }
}
