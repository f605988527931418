//! CUDA kernels for reductions, softmax and the fused losses.
//!
//! An axis reduction views the input as `(outer, n, inner)`. One block of
//! `BLOCK_THREADS` reduces one output when the outputs are few or the
//! reduced elements contiguous (`inner == 1`); otherwise one thread reduces
//! one output, so neighbouring threads read neighbouring addresses. Sums of
//! `f32` accumulate in `f32` (as the CPU kernels), in a different order, so
//! results agree with the CPU to rounding.

use super::compile::KernelSource;
use super::elem_args::{block_reduce_c, per_block, zeros};
use super::index::first_bad_index;
use super::{launch, Cuda, CudaStorage};
use crate::backend::kernels::reduce::{sum_to_passes, CrossEntropySpec, ReduceKernel, ReduceOp};
use crate::dtype::Dtype;
use crate::shape::Error;
use cudarc::driver::{CudaSlice, LaunchConfig, PushKernelArg};

/// Reductions along `(outer, n, inner)`, their backward, softmax, and the
/// cross-entropy / BCE kernels.
pub const REDUCE: KernelSource = KernelSource {
    name: "reduce",
    code: concat!(
        block_reduce_c!(),
        r#"
/* op: 0 sum, 1 mean, 2 max, 3 min, 4 var, 5 logsumexp.
   cnt = (T)n, den = the variance's divisor. */
__device__ __forceinline__ T lse_finish(T m, T s) { return isfinite(m) ? m + log(s) : m; }

extern "C" __global__ void reduce_block(int op, const T *x, T *out, usize_t outer, usize_t n, usize_t inner, T cnt, T den) {
    __shared__ ACC sh[BLOCK_THREADS];
    usize_t outs = outer * inner;
    for (usize_t r = blockIdx.x; r < outs; r += gridDim.x) {
        usize_t o = r / inner, i = r % inner;
        const T *base = x + o * n * inner + i;
        T res;
        if (op == 2 || op == 3 || op == 5) {
            ACC m = op == 3 ? (ACC)TG_INF : (ACC)-TG_INF;
            for (usize_t j = threadIdx.x; j < n; j += blockDim.x) {
                ACC v = base[j * inner];
                m = op == 3 ? min_e(m, v) : max_e(m, v);
            }
            m = op == 3 ? block_reduce<2>(m, sh) : block_reduce<1>(m, sh);
            if (op != 5) {
                res = m;
            } else {
                ACC shift = isfinite(m) ? m : (ACC)0;
                ACC s = 0;
                for (usize_t j = threadIdx.x; j < n; j += blockDim.x) s += exp(base[j * inner] - shift);
                s = block_reduce<0>(s, sh);
                res = lse_finish(m, s);
            }
        } else {
            ACC s = 0;
            for (usize_t j = threadIdx.x; j < n; j += blockDim.x) s += base[j * inner];
            s = block_reduce<0>(s, sh);
            if (op == 0) {
                res = s;
            } else if (op == 1) {
                res = s / cnt;
            } else {
                ACC m = s / cnt;
                ACC q = 0;
                for (usize_t j = threadIdx.x; j < n; j += blockDim.x) {
                    ACC d = base[j * inner] - m;
                    q += d * d;
                }
                q = block_reduce<0>(q, sh);
                res = q / den;
            }
        }
        if (threadIdx.x == 0) out[r] = res;
    }
}

extern "C" __global__ void reduce_thread(int op, const T *x, T *out, usize_t outer, usize_t n, usize_t inner, T cnt, T den) {
    GRID_STRIDE(r, outer * inner) {
        usize_t o = r / inner, i = r % inner;
        const T *base = x + o * n * inner + i;
        T res;
        if (op == 2 || op == 3 || op == 5) {
            ACC m = op == 3 ? (ACC)TG_INF : (ACC)-TG_INF;
            for (usize_t j = 0; j < n; ++j) m = op == 3 ? min_e(m, base[j * inner]) : max_e(m, base[j * inner]);
            if (op != 5) {
                res = m;
            } else {
                ACC shift = isfinite(m) ? m : (ACC)0;
                ACC s = 0;
                for (usize_t j = 0; j < n; ++j) s += exp(base[j * inner] - shift);
                res = lse_finish(m, s);
            }
        } else {
            ACC s = 0;
            for (usize_t j = 0; j < n; ++j) s += base[j * inner];
            if (op == 0) {
                res = s;
            } else if (op == 1) {
                res = s / cnt;
            } else {
                ACC m = s / cnt;
                ACC q = 0;
                for (usize_t j = 0; j < n; ++j) { ACC d = base[j * inner] - m; q += d * d; }
                res = q / den;
            }
        }
        out[r] = res;
    }
}

/* ties[r] = how many of the reduced elements equal y[r]. */
extern "C" __global__ void count_ties(const T *x, const T *y, T *ties, usize_t outer, usize_t n, usize_t inner) {
    GRID_STRIDE(r, outer * inner) {
        usize_t o = r / inner, i = r % inner;
        const T *base = x + o * n * inner + i;
        T t = 0;
        for (usize_t j = 0; j < n; ++j) if (base[j * inner] == y[r]) t += (T)1;
        ties[r] = t;
    }
}

/* aux: ties (max/min) or the mean (var); c: 1/n (mean) or the divisor (var). */
extern "C" __global__ void reduce_backward(int op, const T *x, const T *y, const T *gy, const T *aux, T *gx, usize_t outer, usize_t n, usize_t inner, T c) {
    GRID_STRIDE(p, outer * n * inner) {
        usize_t o = p / (n * inner), i = p % inner;
        usize_t r = o * inner + i;
        T v = x[p], g;
        switch (op) {
        case 0: g = gy[r]; break;
        case 1: g = gy[r] * c; break;
        case 2: case 3: {
            T t = aux[r];
            T share = t > (T)0 ? gy[r] / t : (T)0;
            g = v == y[r] ? share : (T)0;
            break;
        }
        case 4: g = ((T)2 * gy[r] / c) * (v - aux[r]); break;
        default: g = y[r] == (T)-TG_INF ? (T)0 : gy[r] * exp(v - y[r]); break;
        }
        gx[p] = g;
    }
}

/* Softmax along the axis of (outer, n, inner): one block per (o, i). */
extern "C" __global__ void softmax(const T *x, T *y, usize_t outer, usize_t n, usize_t inner, int log_) {
    __shared__ ACC sh[BLOCK_THREADS];
    for (usize_t r = blockIdx.x; r < outer * inner; r += gridDim.x) {
        usize_t o = r / inner, i = r % inner;
        usize_t base = o * n * inner + i;
        ACC m = -TG_INF;
        for (usize_t j = threadIdx.x; j < n; j += blockDim.x) m = max_e(m, x[base + j * inner]);
        m = block_reduce<1>(m, sh);
        ACC s = 0;
        for (usize_t j = threadIdx.x; j < n; j += blockDim.x) s += exp(x[base + j * inner] - m);
        s = block_reduce<0>(s, sh);
        if (log_) {
            ACC l = isfinite(m) ? log(s) : (ACC)0;
            for (usize_t j = threadIdx.x; j < n; j += blockDim.x) y[base + j * inner] = (x[base + j * inner] - m) - l;
        } else {
            ACC inv = (ACC)1 / s;
            for (usize_t j = threadIdx.x; j < n; j += blockDim.x) y[base + j * inner] = exp(x[base + j * inner] - m) * inv;
        }
    }
}

extern "C" __global__ void softmax_backward(const T *y, const T *gy, T *gx, usize_t outer, usize_t n, usize_t inner, int log_) {
    __shared__ ACC sh[BLOCK_THREADS];
    for (usize_t r = blockIdx.x; r < outer * inner; r += gridDim.x) {
        usize_t o = r / inner, i = r % inner;
        usize_t base = o * n * inner + i;
        ACC a = 0;
        for (usize_t j = threadIdx.x; j < n; j += blockDim.x) {
            usize_t k = base + j * inner;
            a += log_ ? gy[k] : gy[k] * y[k];
        }
        a = block_reduce<0>(a, sh);
        for (usize_t j = threadIdx.x; j < n; j += blockDim.x) {
            usize_t k = base + j * inner;
            gx[k] = log_ ? gy[k] - exp(y[k]) * a : y[k] * (gy[k] - a);
        }
    }
}

/* Cross-entropy, one block per row: stats[2r] = shift, stats[2r+1] = ln Σ
   exp(x - shift), loss[r] = the row's loss (0 when ignored). */
extern "C" __global__ void ce_rows(const T *x, const usize_t *targets, T *stats, T *loss, usize_t rows, usize_t c, int has_ignore, usize_t ignore, T on, T off, int smooth) {
    __shared__ ACC sh[BLOCK_THREADS];
    for (usize_t r = blockIdx.x; r < rows; r += gridDim.x) {
        const T *row = x + r * c;
        ACC m = -TG_INF;
        for (usize_t j = threadIdx.x; j < c; j += blockDim.x) m = max_e(m, row[j]);
        m = block_reduce<1>(m, sh);
        ACC shift = isfinite(m) ? m : (ACC)0;
        ACC s = 0, lin = 0;
        for (usize_t j = threadIdx.x; j < c; j += blockDim.x) {
            s += exp(row[j] - shift);
            lin += row[j] - shift;
        }
        s = block_reduce<0>(s, sh);
        if (smooth) lin = block_reduce<0>(lin, sh);
        if (threadIdx.x == 0) {
            ACC ln_s = log(s);
            usize_t t = targets[r];
            ACC l = 0;
            if (!(has_ignore && t == ignore)) {
                ACC picked = on * (row[t] - shift);
                if (smooth) picked = picked + off * lin;
                l = ln_s - picked;
            }
            stats[2 * r] = shift;
            stats[2 * r + 1] = ln_s;
            loss[r] = l;
        }
    }
}

/* One block: out[0] = Σ loss / (rows not ignored), 0 when all are. */
extern "C" __global__ void ce_mean(const T *loss, const usize_t *targets, T *out, usize_t rows, int has_ignore, usize_t ignore) {
    __shared__ ACC sh[BLOCK_THREADS];
    ACC s = 0, k = 0;
    for (usize_t r = threadIdx.x; r < rows; r += blockDim.x) {
        s += loss[r];
        if (!(has_ignore && targets[r] == ignore)) k += (ACC)1;
    }
    s = block_reduce<0>(s, sh);
    k = block_reduce<0>(k, sh);
    if (threadIdx.x == 0) out[0] = k == (ACC)0 ? (T)0 : s / k;
}

/* One block: out[0] = the number of rows not ignored. */
extern "C" __global__ void ce_count(const usize_t *targets, T *out, usize_t rows, int has_ignore, usize_t ignore) {
    __shared__ ACC sh[BLOCK_THREADS];
    ACC k = 0;
    for (usize_t r = threadIdx.x; r < rows; r += blockDim.x)
        if (!(has_ignore && targets[r] == ignore)) k += (ACC)1;
    k = block_reduce<0>(k, sh);
    if (threadIdx.x == 0) out[0] = k;
}

extern "C" __global__ void ce_backward(const T *x, const T *stats, const usize_t *targets, const T *gy, const T *count, T *gx, usize_t rows, usize_t c, int has_ignore, usize_t ignore, T eps) {
    GRID_STRIDE(p, rows * c) {
        usize_t r = p / c, k = p % c;
        usize_t t = targets[r];
        T n = count[0];
        T g = 0;
        if (!(has_ignore && t == ignore) && n > (T)0) {
            T scale = gy[0] / n;
            T on = scale * ((T)1 - eps);
            T off = scale * eps / (T)c;
            g = scale * exp((x[p] - stats[2 * r]) - stats[2 * r + 1]) - off;
            if (k == t) g = g - on;
        }
        gx[p] = g;
    }
}

/* One block: out[0] = mean of max(x, 0) - x y + ln(1 + e^-|x|). */
extern "C" __global__ void bce_mean(const T *x, const T *y, T *out, usize_t n) {
    __shared__ ACC sh[BLOCK_THREADS];
    ACC s = 0;
    for (usize_t i = threadIdx.x; i < n; i += blockDim.x) {
        T v = x[i];
        s += (v > (T)0 ? v : (T)0) - v * y[i] + log1p(exp(-fabs(v)));
    }
    s = block_reduce<0>(s, sh);
    if (threadIdx.x == 0) out[0] = s / (ACC)n;
}

/* which 0: gy/N (σ(x) - y); which 1: -gy/N x. */
extern "C" __global__ void bce_backward(int which, const T *x, const T *y, const T *gy, T *g, usize_t n) {
    T s = gy[0] / (T)n;
    GRID_STRIDE(i, n) {
        T v = x[i];
        if (which == 0) {
            T e = exp(-fabs(v));
            T sg = (T)1 / ((T)1 + e);
            if (v < (T)0) sg = e * sg;
            g[i] = s * (sg - y[i]);
        } else {
            g[i] = -s * v;
        }
    }
}
"#
    ),
    elems: &["f32", "f64"],
};

fn split(dims: &[usize], axis: Option<usize>) -> (usize, usize, usize) {
    match axis {
        None => (1, dims.iter().product(), 1),
        Some(a) => {
            assert!(
                a < dims.len(),
                "reduce: axis {a} out of range for dims {dims:?}"
            );
            (
                dims[..a].iter().product(),
                dims[a],
                dims[a + 1..].iter().product(),
            )
        }
    }
}

fn op_code(op: ReduceOp) -> i32 {
    match op {
        ReduceOp::Sum => 0,
        ReduceOp::Mean => 1,
        ReduceOp::Max => 2,
        ReduceOp::Min => 3,
        ReduceOp::Var { .. } => 4,
        ReduceOp::LogSumExp => 5,
    }
}

fn var_den<E: Dtype>(op: ReduceOp, n: usize) -> E {
    match op {
        ReduceOp::Var { correction } => E::from_f64(n.saturating_sub(correction) as f64),
        _ => E::one(),
    }
}

/// A grid-stride launch over `n` items (at least one block).
fn grid(n: usize) -> LaunchConfig {
    launch::elementwise(n)
}

/// `reduce` on `(outer, n, inner)`, into a new buffer of `outer · inner`.
fn reduce3<E: Dtype>(
    dev: &Cuda,
    op: ReduceOp,
    x: &CudaSlice<E>,
    (outer, n, inner): (usize, usize, usize),
) -> CudaSlice<E> {
    let outs = outer * inner;
    let mut out = dev.alloc::<E>(outs);
    if outs == 0 {
        return out;
    }
    let c = op_code(op);
    let (cnt, den) = (E::from_f64(n as f64), var_den::<E>(op, n));
    let (o64, n64, i64_) = (outer as u64, n as u64, inner as u64);
    // Few outputs or contiguous rows: a block each; else a thread each.
    let by_block = inner == 1 || outs < 4096;
    let (name, cfg) = if by_block {
        ("reduce_block", per_block(outs.min(65_535 * 16)))
    } else {
        ("reduce_thread", grid(outs))
    };
    let f = dev.kernel(&REDUCE, E::NAME, name);
    let mut l = dev.stream().launch_builder(&f);
    l.arg(&c)
        .arg(x)
        .arg(&mut out)
        .arg(&o64)
        .arg(&n64)
        .arg(&i64_)
        .arg(&cnt)
        .arg(&den);
    // SAFETY: (int, const T*, T*, usize_t x3, T, T); x holds
    // outer·n·inner elements (checked by callers), out outer·inner; the
    // block kernel uses BLOCK_THREADS threads, its static shared size.
    unsafe { l.launch(cfg) }.unwrap_or_else(|e| dev.fail("reduce", e));
    out
}

impl<E: Dtype> ReduceKernel<E> for Cuda {
    fn reduce(
        &self,
        op: ReduceOp,
        x: &CudaStorage<E>,
        dims: &[usize],
        axis: Option<usize>,
    ) -> CudaStorage<E> {
        let s = split(dims, axis);
        assert_eq!(
            x.len(),
            s.0 * s.1 * s.2,
            "reduce: buffer of {} elements for dims {dims:?}",
            x.len()
        );
        CudaStorage::new(reduce3(self, op, x.slice(), s))
    }

    fn reduce_backward(
        &self,
        op: ReduceOp,
        x: &CudaStorage<E>,
        y: &CudaStorage<E>,
        gy: &CudaStorage<E>,
        dims: &[usize],
        axis: Option<usize>,
    ) -> CudaStorage<E> {
        let (outer, n, inner) = split(dims, axis);
        assert_eq!(
            x.len(),
            outer * n * inner,
            "reduce_backward: buffer of {} elements for dims {dims:?}",
            x.len()
        );
        assert_eq!(
            gy.len(),
            outer * inner,
            "reduce_backward: gradient of {} elements, expected {}",
            gy.len(),
            outer * inner
        );
        assert_eq!(
            y.len(),
            gy.len(),
            "reduce_backward: output of {} elements, expected {}",
            y.len(),
            gy.len()
        );
        let total = x.len();
        let mut gx = self.alloc::<E>(total);
        if total == 0 {
            return CudaStorage::new(gx);
        }
        let (o64, n64, i64_) = (outer as u64, n as u64, inner as u64);
        let outs = outer * inner;
        // The per-output helper: ties (max/min) or the mean (var); other
        // ops do not read it, and gy stands in.
        let (aux, c): (Option<CudaSlice<E>>, E) = match op {
            ReduceOp::Max | ReduceOp::Min => {
                let mut ties = self.alloc::<E>(outs);
                let f = self.kernel(&REDUCE, E::NAME, "count_ties");
                let mut l = self.stream().launch_builder(&f);
                l.arg(x.slice())
                    .arg(y.slice())
                    .arg(&mut ties)
                    .arg(&o64)
                    .arg(&n64)
                    .arg(&i64_);
                // SAFETY: (const T*, const T*, T*, usize_t x3); x holds
                // outer·n·inner elements, y and ties outer·inner.
                unsafe { l.launch(grid(outs)) }.unwrap_or_else(|e| self.fail("reduce_backward", e));
                (Some(ties), E::one())
            }
            ReduceOp::Var { .. } => (
                Some(reduce3(self, ReduceOp::Mean, x.slice(), (outer, n, inner))),
                var_den::<E>(op, n),
            ),
            ReduceOp::Mean => (None, E::one() / E::from_f64(n as f64)),
            _ => (None, E::one()),
        };
        let aux = aux.as_ref().unwrap_or(gy.slice());
        let code = op_code(op);
        let f = self.kernel(&REDUCE, E::NAME, "reduce_backward");
        let mut l = self.stream().launch_builder(&f);
        l.arg(&code)
            .arg(x.slice())
            .arg(y.slice())
            .arg(gy.slice())
            .arg(aux)
            .arg(&mut gx)
            .arg(&o64)
            .arg(&n64)
            .arg(&i64_)
            .arg(&c);
        // SAFETY: (int, const T*, const T*, const T*, const T*, T*,
        // usize_t x3, T); x and gx hold outer·n·inner elements, y, gy and
        // aux outer·inner, and the kernel indexes within those.
        unsafe { l.launch(grid(total)) }.unwrap_or_else(|e| self.fail("reduce_backward", e));
        CudaStorage::new(gx)
    }

    fn sum_to(&self, x: &CudaStorage<E>, from: &[usize], to: &[usize]) -> CudaStorage<E> {
        if from == to {
            return x.clone();
        }
        let mut cur: Option<CudaSlice<E>> = None;
        for pass in sum_to_passes(x.len(), from, to) {
            cur = Some(reduce3(
                self,
                ReduceOp::Sum,
                cur.as_ref().unwrap_or(x.slice()),
                pass,
            ));
        }
        match cur {
            Some(c) => CudaStorage::new(c),
            None => x.clone(),
        }
    }

    fn softmax(
        &self,
        x: &CudaStorage<E>,
        dims: &[usize],
        axis: usize,
        log: bool,
    ) -> CudaStorage<E> {
        let (outer, n, inner) = split(dims, Some(axis));
        assert_eq!(
            x.len(),
            dims.iter().product::<usize>(),
            "softmax: buffer of {} elements for dims {dims:?}",
            x.len()
        );
        let mut y = self.alloc::<E>(x.len());
        if x.is_empty() {
            return CudaStorage::new(y);
        }
        let (o64, n64, i64_, lg) = (outer as u64, n as u64, inner as u64, log as i32);
        let f = self.kernel(&REDUCE, E::NAME, "softmax");
        let mut l = self.stream().launch_builder(&f);
        l.arg(x.slice())
            .arg(&mut y)
            .arg(&o64)
            .arg(&n64)
            .arg(&i64_)
            .arg(&lg);
        // SAFETY: (const T*, T*, usize_t x3, int); x and y hold
        // outer·n·inner elements; BLOCK_THREADS threads per block.
        unsafe { l.launch(per_block((outer * inner).min(65_535 * 16))) }
            .unwrap_or_else(|e| self.fail("softmax", e));
        CudaStorage::new(y)
    }

    fn softmax_backward(
        &self,
        y: &CudaStorage<E>,
        gy: &CudaStorage<E>,
        dims: &[usize],
        axis: usize,
        log: bool,
    ) -> CudaStorage<E> {
        let (outer, n, inner) = split(dims, Some(axis));
        assert_eq!(
            y.len(),
            dims.iter().product::<usize>(),
            "softmax_backward: buffer of {} elements for dims {dims:?}",
            y.len()
        );
        assert_eq!(
            gy.len(),
            y.len(),
            "softmax_backward: gradient of {} elements, expected {}",
            gy.len(),
            y.len()
        );
        let mut gx = self.alloc::<E>(y.len());
        if y.is_empty() {
            return CudaStorage::new(gx);
        }
        let (o64, n64, i64_, lg) = (outer as u64, n as u64, inner as u64, log as i32);
        let f = self.kernel(&REDUCE, E::NAME, "softmax_backward");
        let mut l = self.stream().launch_builder(&f);
        l.arg(y.slice())
            .arg(gy.slice())
            .arg(&mut gx)
            .arg(&o64)
            .arg(&n64)
            .arg(&i64_)
            .arg(&lg);
        // SAFETY: (const T*, const T*, T*, usize_t x3, int); all three
        // buffers hold outer·n·inner elements.
        unsafe { l.launch(per_block((outer * inner).min(65_535 * 16))) }
            .unwrap_or_else(|e| self.fail("softmax_backward", e));
        CudaStorage::new(gx)
    }

    fn cross_entropy(
        &self,
        logits: &CudaStorage<E>,
        targets: &CudaStorage<usize>,
        spec: CrossEntropySpec,
    ) -> Result<(CudaStorage<E>, CudaStorage<E>), Error> {
        let (rows, c) = (spec.rows, spec.classes);
        assert_eq!(
            logits.len(),
            rows * c,
            "cross_entropy: {} logits for {rows} rows of {c} classes",
            logits.len()
        );
        assert_eq!(
            targets.len(),
            rows,
            "cross_entropy: {} targets for {rows} rows",
            targets.len()
        );
        // The signature returns an error for a bad target, so the targets are
        // checked here: one 8-byte read back (a host synchronisation).
        if let Some(bad) = first_bad_index(self, targets, c, spec.ignore_index) {
            return Err(Error::IndexOutOfRange {
                op: "cross_entropy target",
                axis: spec.class_axis,
                index: bad,
                size: c,
            });
        }
        let mut stats = self.alloc::<E>(2 * rows);
        let mut out = self.alloc::<E>(1);
        let (has_ignore, ignore) = match spec.ignore_index {
            Some(i) => (1i32, i as u64),
            None => (0, 0),
        };
        let (r64, c64) = (rows as u64, c as u64);
        if rows > 0 {
            let mut loss = self.alloc::<E>(rows);
            let eps = E::from_f64(spec.label_smoothing);
            let on = E::one() - eps;
            let off = if c > 0 {
                eps / E::from_f64(c as f64)
            } else {
                E::zero()
            };
            let smooth = (spec.label_smoothing != 0.0) as i32;
            let f = self.kernel(&REDUCE, E::NAME, "ce_rows");
            let mut l = self.stream().launch_builder(&f);
            l.arg(logits.slice())
                .arg(targets.slice())
                .arg(&mut stats)
                .arg(&mut loss)
                .arg(&r64)
                .arg(&c64)
                .arg(&has_ignore)
                .arg(&ignore)
                .arg(&on)
                .arg(&off)
                .arg(&smooth);
            // SAFETY: (const T*, const usize_t*, T*, T*, usize_t, usize_t,
            // int, usize_t, T, T, int); logits hold rows·c elements, targets
            // rows (each < c unless ignored: checked above), stats 2·rows,
            // loss rows.
            unsafe { l.launch(per_block(rows.min(65_535 * 16))) }
                .unwrap_or_else(|e| self.fail("cross_entropy", e));
            let f = self.kernel(&REDUCE, E::NAME, "ce_mean");
            let mut l = self.stream().launch_builder(&f);
            l.arg(&loss)
                .arg(targets.slice())
                .arg(&mut out)
                .arg(&r64)
                .arg(&has_ignore)
                .arg(&ignore);
            // SAFETY: (const T*, const usize_t*, T*, usize_t, int, usize_t);
            // loss and targets hold rows elements, out one; one block.
            unsafe { l.launch(per_block(1)) }.unwrap_or_else(|e| self.fail("cross_entropy", e));
        } else {
            out = zeros::<E>(self, 1);
        }
        Ok((CudaStorage::new(out), CudaStorage::new(stats)))
    }

    fn cross_entropy_backward(
        &self,
        logits: &CudaStorage<E>,
        stats: &CudaStorage<E>,
        targets: &CudaStorage<usize>,
        gy: &CudaStorage<E>,
        spec: CrossEntropySpec,
    ) -> CudaStorage<E> {
        let (rows, c) = (spec.rows, spec.classes);
        assert_eq!(
            logits.len(),
            rows * c,
            "cross_entropy: {} logits for {rows} rows of {c} classes",
            logits.len()
        );
        assert_eq!(
            targets.len(),
            rows,
            "cross_entropy: {} targets for {rows} rows",
            targets.len()
        );
        assert_eq!(
            stats.len(),
            2 * rows,
            "cross_entropy_backward: {} row statistics for {rows} rows",
            stats.len()
        );
        let total = rows * c;
        let mut gx = self.alloc::<E>(total);
        if total == 0 {
            return CudaStorage::new(gx);
        }
        let (has_ignore, ignore) = match spec.ignore_index {
            Some(i) => (1i32, i as u64),
            None => (0, 0),
        };
        let (r64, c64) = (rows as u64, c as u64);
        let mut count = self.alloc::<E>(1);
        let f = self.kernel(&REDUCE, E::NAME, "ce_count");
        let mut l = self.stream().launch_builder(&f);
        l.arg(targets.slice())
            .arg(&mut count)
            .arg(&r64)
            .arg(&has_ignore)
            .arg(&ignore);
        // SAFETY: (const usize_t*, T*, usize_t, int, usize_t); targets hold
        // rows elements, count one; one block.
        unsafe { l.launch(per_block(1)) }
            .unwrap_or_else(|e| self.fail("cross_entropy_backward", e));
        let eps = E::from_f64(spec.label_smoothing);
        let f = self.kernel(&REDUCE, E::NAME, "ce_backward");
        let mut l = self.stream().launch_builder(&f);
        l.arg(logits.slice())
            .arg(stats.slice())
            .arg(targets.slice())
            .arg(gy.slice())
            .arg(&count)
            .arg(&mut gx)
            .arg(&r64)
            .arg(&c64)
            .arg(&has_ignore)
            .arg(&ignore)
            .arg(&eps);
        // SAFETY: (const T*, const T*, const usize_t*, const T*, const T*,
        // T*, usize_t, usize_t, int, usize_t, T); logits and gx hold rows·c,
        // stats 2·rows, targets rows (checked by the forward), gy and count
        // at least one.
        unsafe { l.launch(grid(total)) }.unwrap_or_else(|e| self.fail("cross_entropy_backward", e));
        CudaStorage::new(gx)
    }

    fn bce_with_logits(&self, x: &CudaStorage<E>, y: &CudaStorage<E>) -> CudaStorage<E> {
        assert_eq!(
            x.len(),
            y.len(),
            "bce_with_logits: {} logits, {} targets",
            x.len(),
            y.len()
        );
        let mut out = self.alloc::<E>(1);
        let n64 = x.len() as u64;
        let f = self.kernel(&REDUCE, E::NAME, "bce_mean");
        let mut l = self.stream().launch_builder(&f);
        l.arg(x.slice()).arg(y.slice()).arg(&mut out).arg(&n64);
        // SAFETY: (const T*, const T*, T*, usize_t); x and y hold n
        // elements, out one; one block.
        unsafe { l.launch(per_block(1)) }.unwrap_or_else(|e| self.fail("bce_with_logits", e));
        CudaStorage::new(out)
    }

    fn bce_with_logits_backward(
        &self,
        x: &CudaStorage<E>,
        y: &CudaStorage<E>,
        gy: &CudaStorage<E>,
        want: (bool, bool),
    ) -> (Option<CudaStorage<E>>, Option<CudaStorage<E>>) {
        assert_eq!(
            x.len(),
            y.len(),
            "bce_with_logits: {} logits, {} targets",
            x.len(),
            y.len()
        );
        let n = x.len();
        let side = |which: i32| {
            let mut g = self.alloc::<E>(n);
            if n == 0 {
                return CudaStorage::new(g);
            }
            let n64 = n as u64;
            let f = self.kernel(&REDUCE, E::NAME, "bce_backward");
            let mut l = self.stream().launch_builder(&f);
            l.arg(&which)
                .arg(x.slice())
                .arg(y.slice())
                .arg(gy.slice())
                .arg(&mut g)
                .arg(&n64);
            // SAFETY: (int, const T*, const T*, const T*, T*, usize_t); x,
            // y and g hold n elements, gy one.
            unsafe { l.launch(grid(n)) }
                .unwrap_or_else(|e| self.fail("bce_with_logits_backward", e));
            CudaStorage::new(g)
        };
        (want.0.then(|| side(0)), want.1.then(|| side(1)))
    }
}
