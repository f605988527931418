//! CUDA kernels for indexing, masks, comparisons and arg-max/min.
//!
//! The index kernels return an error for an index out of range, which their
//! signatures make a host value: the indices are checked on the device and
//! the position of the first bad one (8 bytes) is read back — one host
//! synchronisation per `index_select`/`gather`/`cross_entropy` forward.
//! Scatter-adds (the backwards) use `atomicAdd`, so sums over duplicate
//! indices are in no fixed order.

use super::compile::KernelSource;
use super::elem_args::{dims_c, zeros, Dims6};
use super::{launch, Cuda, CudaStorage};
use crate::backend::cpu::strides::broadcast;
use crate::backend::Backend;
use crate::dtype::Dtype;
use crate::ops::index::{CmpOp, IndexKernel};
use crate::shape::{Error, MAX_RANK};
use cudarc::driver::PushKernelArg;

/// Index, mask and comparison kernels.
pub const INDEX: KernelSource = KernelSource {
    name: "index",
    code: concat!(
        dims_c!(),
        r#"
extern "C" __global__ void first_bad(const usize_t *idx, usize_t n, usize_t size, int has_ignore, usize_t ignore, usize_t *out) {
    GRID_STRIDE(i, n) {
        usize_t v = idx[i];
        if (v >= size && !(has_ignore && v == ignore)) atomicMin(out, i);
    }
}
extern "C" __global__ void index_select(const T *x, T *out, const usize_t *idx, usize_t outer, usize_t n, usize_t m, usize_t inner) {
    GRID_STRIDE(p, outer * m * inner) {
        usize_t r = p / inner, k = p % inner;
        usize_t o = r / m, j = r % m;
        out[p] = x[(o * n + idx[j]) * inner + k];
    }
}
extern "C" __global__ void index_select_backward(const T *gy, T *g, const usize_t *idx, usize_t outer, usize_t n, usize_t m, usize_t inner) {
    GRID_STRIDE(p, outer * m * inner) {
        usize_t r = p / inner, k = p % inner;
        usize_t o = r / m, j = r % m;
        atomicAdd(&g[(o * n + idx[j]) * inner + k], gy[p]);
    }
}
extern "C" __global__ void gather(const T *x, T *out, const usize_t *idx, usize_t outer, usize_t n, usize_t inner) {
    GRID_STRIDE(p, outer * inner) {
        usize_t o = p / inner, i = p % inner;
        out[p] = x[(o * n + idx[p]) * inner + i];
    }
}
extern "C" __global__ void gather_backward(const T *gy, T *g, const usize_t *idx, usize_t outer, usize_t n, usize_t inner) {
    GRID_STRIDE(p, outer * inner) {
        usize_t o = p / inner, i = p % inner;
        atomicAdd(&g[(o * n + idx[p]) * inner + i], gy[p]);
    }
}
extern "C" __global__ void where_cond(const bool *cond, const T *a, const T *b, T *out, Dims6 dims, Dims6 sm, int rank, usize_t n) {
    GRID_STRIDE(i, n) { out[i] = cond[offset_of(i, dims, sm, rank)] ? a[i] : b[i]; }
}
/* side 0: gy where cond else 0; side 1: 0 where cond else gy. */
extern "C" __global__ void where_backward(int side, const bool *cond, const T *gy, T *g, Dims6 dims, Dims6 sm, int rank, usize_t n) {
    GRID_STRIDE(i, n) {
        bool c = cond[offset_of(i, dims, sm, rank)];
        g[i] = (c == (side == 0)) ? gy[i] : (T)0;
    }
}
extern "C" __global__ void masked_fill(const T *x, const bool *mask, T *out, Dims6 dims, Dims6 sm, int rank, usize_t n, T value) {
    GRID_STRIDE(i, n) { out[i] = mask[offset_of(i, dims, sm, rank)] ? value : x[i]; }
}
__device__ __forceinline__ bool cmp(int op, T a, T b) {
    switch (op) {
    case 0: return a == b;
    case 1: return a != b;
    case 2: return a < b;
    case 3: return a <= b;
    case 4: return a > b;
    default: return a >= b;
    }
}
extern "C" __global__ void compare(int op, const T *a, const T *b, bool *out, usize_t n) {
    GRID_STRIDE(i, n) { out[i] = cmp(op, a[i], b[i]); }
}
extern "C" __global__ void compare_scalar(int op, const T *a, T v, bool *out, usize_t n) {
    GRID_STRIDE(i, n) { out[i] = cmp(op, a[i], v); }
}
/* First index of the extreme along the axis; a NaN beats any number, the
   first NaN wins. */
extern "C" __global__ void arg_extreme(const T *x, usize_t *out, usize_t outer, usize_t n, usize_t inner, int largest) {
    GRID_STRIDE(p, outer * inner) {
        usize_t o = p / inner, i = p % inner;
        usize_t base = o * n * inner + i;
        T best = x[base];
        usize_t bi = 0;
        for (usize_t k = 1; k < n; ++k) {
            T v = x[base + k * inner];
            bool better = isnan(best) ? false : (isnan(v) ? true : (largest ? v > best : v < best));
            if (better) { best = v; bi = k; }
        }
        out[p] = bi;
    }
}
"#
    ),
    elems: &["f32", "f64"],
};

fn split(dims: &[usize], axis: usize) -> (usize, usize, usize) {
    assert!(
        axis < dims.len(),
        "index kernel: axis {axis} out of range for rank {}",
        dims.len()
    );
    (
        dims[..axis].iter().product(),
        dims[axis],
        dims[axis + 1..].iter().product(),
    )
}

/// Mask dims and broadcast strides against `dims`, after the CPU's checks.
fn mask_args(mask_len: usize, mask_dims: &[usize], dims: &[usize]) -> (Dims6, Dims6, i32) {
    assert!(
        mask_dims.len() <= dims.len() && mask_dims.len() <= MAX_RANK,
        "mask: rank {} cannot broadcast to rank {}",
        mask_dims.len(),
        dims.len()
    );
    let off = dims.len() - mask_dims.len();
    for (i, &d) in mask_dims.iter().enumerate() {
        assert!(
            d == dims[i + off] || d == 1,
            "mask: dims {mask_dims:?} do not broadcast to {dims:?}"
        );
    }
    assert_eq!(
        mask_len,
        mask_dims.iter().product::<usize>(),
        "mask: buffer length does not match dims"
    );
    let s = broadcast(mask_dims, dims);
    (
        Dims6::from_slice(dims, 1),
        Dims6::from_slice(&s[..dims.len()], 0),
        dims.len() as i32,
    )
}

fn cmp_code(op: CmpOp) -> i32 {
    match op {
        CmpOp::Eq => 0,
        CmpOp::Ne => 1,
        CmpOp::Lt => 2,
        CmpOp::Le => 3,
        CmpOp::Gt => 4,
        CmpOp::Ge => 5,
    }
}

/// The first index in `idx` that is `>= size` (and not `ignore`), read
/// back to the host (a synchronisation: the callers must return an
/// error for it).
pub(crate) fn first_bad_index(
    dev: &Cuda,
    idx: &CudaStorage<usize>,
    size: usize,
    ignore: Option<usize>,
) -> Option<usize> {
    let n = idx.len();
    if n == 0 {
        return None;
    }
    let mut pos = dev.upload(alloc::vec![usize::MAX]);
    let (has_ignore, ig) = match ignore {
        Some(i) => (1i32, i as u64),
        None => (0, 0),
    };
    let (n64, s64) = (n as u64, size as u64);
    // The kernel family is compiled per element type; any one serves.
    let f = dev.kernel(&INDEX, "f32", "first_bad");
    let stream = dev.stream().clone();
    let out = pos.make_mut(&stream);
    let mut l = stream.launch_builder(&f);
    l.arg(idx.slice())
        .arg(&n64)
        .arg(&s64)
        .arg(&has_ignore)
        .arg(&ig)
        .arg(out);
    // SAFETY: (const usize_t*, usize_t, usize_t, int, usize_t,
    // usize_t*); idx holds n elements, out one.
    unsafe { l.launch(launch::elementwise(n)) }.unwrap_or_else(|e| dev.fail("index check", e));
    let p = dev.download(&pos)[0];
    (p != usize::MAX).then(|| dev.download(idx)[p])
}

impl<E: Dtype> IndexKernel<E> for Cuda {
    fn index_select(
        &self,
        x: &CudaStorage<E>,
        dims: &[usize],
        axis: usize,
        idx: &CudaStorage<usize>,
    ) -> Result<CudaStorage<E>, Error> {
        let (outer, n, inner) = split(dims, axis);
        assert_eq!(
            x.len(),
            outer * n * inner,
            "index_select: buffer length does not match dims"
        );
        if let Some(index) = first_bad_index(self, idx, n, None) {
            return Err(Error::IndexOutOfRange {
                op: "index_select",
                axis,
                index,
                size: n,
            });
        }
        let m = idx.len();
        let total = outer * m * inner;
        let mut out = self.alloc::<E>(total);
        if total == 0 {
            return Ok(CudaStorage::new(out));
        }
        let (o, n64, m64, i) = (outer as u64, n as u64, m as u64, inner as u64);
        let f = self.kernel(&INDEX, E::NAME, "index_select");
        let mut l = self.stream().launch_builder(&f);
        l.arg(x.slice())
            .arg(&mut out)
            .arg(idx.slice())
            .arg(&o)
            .arg(&n64)
            .arg(&m64)
            .arg(&i);
        // SAFETY: (const T*, T*, const usize_t*, usize_t x4); out holds
        // outer·m·inner, idx m (each < n, checked above), x outer·n·inner.
        unsafe { l.launch(launch::elementwise(total)) }
            .unwrap_or_else(|e| self.fail("index_select", e));
        Ok(CudaStorage::new(out))
    }

    fn index_select_backward(
        &self,
        gy: &CudaStorage<E>,
        dims: &[usize],
        axis: usize,
        idx: &CudaStorage<usize>,
    ) -> CudaStorage<E> {
        let (outer, n, inner) = split(dims, axis);
        let m = idx.len();
        assert_eq!(
            gy.len(),
            outer * m * inner,
            "index_select_backward: gradient length does not match"
        );
        let mut g = zeros::<E>(self, outer * n * inner);
        let total = gy.len();
        if total == 0 {
            return CudaStorage::new(g);
        }
        let (o, n64, m64, i) = (outer as u64, n as u64, m as u64, inner as u64);
        let f = self.kernel(&INDEX, E::NAME, "index_select_backward");
        let mut l = self.stream().launch_builder(&f);
        l.arg(gy.slice())
            .arg(&mut g)
            .arg(idx.slice())
            .arg(&o)
            .arg(&n64)
            .arg(&m64)
            .arg(&i);
        // SAFETY: (const T*, T*, const usize_t*, usize_t x4); gy holds
        // outer·m·inner, g outer·n·inner, idx m entries < n (checked by the
        // forward, as the trait requires).
        unsafe { l.launch(launch::elementwise(total)) }
            .unwrap_or_else(|e| self.fail("index_select_backward", e));
        CudaStorage::new(g)
    }

    fn gather(
        &self,
        x: &CudaStorage<E>,
        dims: &[usize],
        axis: usize,
        idx: &CudaStorage<usize>,
    ) -> Result<CudaStorage<E>, Error> {
        let (outer, n, inner) = split(dims, axis);
        assert_eq!(
            x.len(),
            outer * n * inner,
            "gather: buffer length does not match dims"
        );
        assert_eq!(
            idx.len(),
            outer * inner,
            "gather: index length does not match dims"
        );
        if let Some(index) = first_bad_index(self, idx, n, None) {
            return Err(Error::IndexOutOfRange {
                op: "gather",
                axis,
                index,
                size: n,
            });
        }
        let total = idx.len();
        let mut out = self.alloc::<E>(total);
        if total == 0 {
            return Ok(CudaStorage::new(out));
        }
        let (o, n64, i) = (outer as u64, n as u64, inner as u64);
        let f = self.kernel(&INDEX, E::NAME, "gather");
        let mut l = self.stream().launch_builder(&f);
        l.arg(x.slice())
            .arg(&mut out)
            .arg(idx.slice())
            .arg(&o)
            .arg(&n64)
            .arg(&i);
        // SAFETY: (const T*, T*, const usize_t*, usize_t x3); out and idx
        // hold outer·inner (indices < n, checked), x outer·n·inner.
        unsafe { l.launch(launch::elementwise(total)) }.unwrap_or_else(|e| self.fail("gather", e));
        Ok(CudaStorage::new(out))
    }

    fn gather_backward(
        &self,
        gy: &CudaStorage<E>,
        dims: &[usize],
        axis: usize,
        idx: &CudaStorage<usize>,
    ) -> CudaStorage<E> {
        let (outer, n, inner) = split(dims, axis);
        assert_eq!(
            idx.len(),
            outer * inner,
            "gather_backward: index length does not match dims"
        );
        assert_eq!(
            gy.len(),
            idx.len(),
            "gather_backward: gradient length does not match"
        );
        let mut g = zeros::<E>(self, outer * n * inner);
        let total = gy.len();
        if total == 0 {
            return CudaStorage::new(g);
        }
        let (o, n64, i) = (outer as u64, n as u64, inner as u64);
        let f = self.kernel(&INDEX, E::NAME, "gather_backward");
        let mut l = self.stream().launch_builder(&f);
        l.arg(gy.slice())
            .arg(&mut g)
            .arg(idx.slice())
            .arg(&o)
            .arg(&n64)
            .arg(&i);
        // SAFETY: (const T*, T*, const usize_t*, usize_t x3); gy and idx
        // hold outer·inner (indices < n, checked by the forward), g
        // outer·n·inner.
        unsafe { l.launch(launch::elementwise(total)) }
            .unwrap_or_else(|e| self.fail("gather_backward", e));
        CudaStorage::new(g)
    }

    fn where_cond(
        &self,
        cond: &CudaStorage<bool>,
        cond_dims: &[usize],
        a: &CudaStorage<E>,
        b: &CudaStorage<E>,
        dims: &[usize],
    ) -> CudaStorage<E> {
        let n: usize = dims.iter().product();
        assert!(
            a.len() == n && b.len() == n,
            "where_cond: buffer lengths do not match dims"
        );
        let (d, sm, r) = mask_args(cond.len(), cond_dims, dims);
        let mut out = self.alloc::<E>(n);
        if n == 0 {
            return CudaStorage::new(out);
        }
        let n64 = n as u64;
        let f = self.kernel(&INDEX, E::NAME, "where_cond");
        let mut l = self.stream().launch_builder(&f);
        l.arg(cond.slice())
            .arg(a.slice())
            .arg(b.slice())
            .arg(&mut out)
            .arg(&d)
            .arg(&sm)
            .arg(&r)
            .arg(&n64);
        // SAFETY: (const bool*, const T*, const T*, T*, Dims6, Dims6, int,
        // usize_t); a, b, out hold n; cond is read at broadcast offsets below
        // its (checked) length.
        unsafe { l.launch(launch::elementwise(n)) }.unwrap_or_else(|e| self.fail("where_cond", e));
        CudaStorage::new(out)
    }

    fn where_backward(
        &self,
        cond: &CudaStorage<bool>,
        cond_dims: &[usize],
        gy: &CudaStorage<E>,
        dims: &[usize],
        want: (bool, bool),
    ) -> (Option<CudaStorage<E>>, Option<CudaStorage<E>>) {
        let n: usize = dims.iter().product();
        assert_eq!(
            gy.len(),
            n,
            "where_backward: gradient length does not match dims"
        );
        let (d, sm, r) = mask_args(cond.len(), cond_dims, dims);
        let side = |s: i32| {
            let mut g = self.alloc::<E>(n);
            if n == 0 {
                return CudaStorage::new(g);
            }
            let n64 = n as u64;
            let f = self.kernel(&INDEX, E::NAME, "where_backward");
            let mut l = self.stream().launch_builder(&f);
            l.arg(&s)
                .arg(cond.slice())
                .arg(gy.slice())
                .arg(&mut g)
                .arg(&d)
                .arg(&sm)
                .arg(&r)
                .arg(&n64);
            // SAFETY: (int, const bool*, const T*, T*, Dims6, Dims6, int,
            // usize_t); gy and g hold n; cond read at in-bounds broadcast
            // offsets.
            unsafe { l.launch(launch::elementwise(n)) }
                .unwrap_or_else(|e| self.fail("where_backward", e));
            CudaStorage::new(g)
        };
        (want.0.then(|| side(0)), want.1.then(|| side(1)))
    }

    fn masked_fill(
        &self,
        x: &CudaStorage<E>,
        dims: &[usize],
        mask: &CudaStorage<bool>,
        mask_dims: &[usize],
        value: E,
    ) -> CudaStorage<E> {
        let n: usize = dims.iter().product();
        assert_eq!(x.len(), n, "masked_fill: buffer length does not match dims");
        let (d, sm, r) = mask_args(mask.len(), mask_dims, dims);
        let mut out = self.alloc::<E>(n);
        if n == 0 {
            return CudaStorage::new(out);
        }
        let n64 = n as u64;
        let f = self.kernel(&INDEX, E::NAME, "masked_fill");
        let mut l = self.stream().launch_builder(&f);
        l.arg(x.slice())
            .arg(mask.slice())
            .arg(&mut out)
            .arg(&d)
            .arg(&sm)
            .arg(&r)
            .arg(&n64)
            .arg(&value);
        // SAFETY: (const T*, const bool*, T*, Dims6, Dims6, int, usize_t,
        // T); x and out hold n; mask read at in-bounds broadcast offsets.
        unsafe { l.launch(launch::elementwise(n)) }.unwrap_or_else(|e| self.fail("masked_fill", e));
        CudaStorage::new(out)
    }

    fn compare(&self, op: CmpOp, a: &CudaStorage<E>, b: &CudaStorage<E>) -> CudaStorage<bool> {
        assert_eq!(a.len(), b.len(), "compare: buffer lengths differ");
        let n = a.len();
        let mut out = self.alloc::<bool>(n);
        if n == 0 {
            return CudaStorage::new(out);
        }
        let (c, n64) = (cmp_code(op), n as u64);
        let f = self.kernel(&INDEX, E::NAME, "compare");
        let mut l = self.stream().launch_builder(&f);
        l.arg(&c)
            .arg(a.slice())
            .arg(b.slice())
            .arg(&mut out)
            .arg(&n64);
        // SAFETY: (int, const T*, const T*, bool*, usize_t); all hold n.
        unsafe { l.launch(launch::elementwise(n)) }.unwrap_or_else(|e| self.fail("compare", e));
        CudaStorage::new(out)
    }

    fn compare_scalar(&self, op: CmpOp, a: &CudaStorage<E>, v: E) -> CudaStorage<bool> {
        let n = a.len();
        let mut out = self.alloc::<bool>(n);
        if n == 0 {
            return CudaStorage::new(out);
        }
        let (c, n64) = (cmp_code(op), n as u64);
        let f = self.kernel(&INDEX, E::NAME, "compare_scalar");
        let mut l = self.stream().launch_builder(&f);
        l.arg(&c).arg(a.slice()).arg(&v).arg(&mut out).arg(&n64);
        // SAFETY: (int, const T*, T, bool*, usize_t); a and out hold n.
        unsafe { l.launch(launch::elementwise(n)) }
            .unwrap_or_else(|e| self.fail("compare_scalar", e));
        CudaStorage::new(out)
    }

    fn arg_extreme(
        &self,
        x: &CudaStorage<E>,
        dims: &[usize],
        axis: usize,
        largest: bool,
    ) -> Result<CudaStorage<usize>, Error> {
        let op = if largest { "argmax" } else { "argmin" };
        let (outer, n, inner) = split(dims, axis);
        assert_eq!(
            x.len(),
            outer * n * inner,
            "{op}: buffer length does not match dims"
        );
        let total = outer * inner;
        if n == 0 && total > 0 {
            return Err(Error::TooFewElements {
                op,
                axis: Some(axis),
                got: 0,
                min: 1,
            });
        }
        let mut out = self.alloc::<usize>(total);
        if total == 0 {
            return Ok(CudaStorage::new(out));
        }
        let (o, n64, i, lg) = (outer as u64, n as u64, inner as u64, largest as i32);
        let f = self.kernel(&INDEX, E::NAME, "arg_extreme");
        let mut l = self.stream().launch_builder(&f);
        l.arg(x.slice())
            .arg(&mut out)
            .arg(&o)
            .arg(&n64)
            .arg(&i)
            .arg(&lg);
        // SAFETY: (const T*, usize_t*, usize_t x3, int); x holds
        // outer·n·inner (n >= 1 here), out outer·inner.
        unsafe { l.launch(launch::elementwise(total)) }
            .unwrap_or_else(|e| self.fail("arg_extreme", e));
        Ok(CudaStorage::new(out))
    }
}
