//! CUDA kernels that move data: a strided gather (permute, expand, narrow),
//! narrow's backward, concat and the in-place row copy.

use super::compile::KernelSource;
use super::elem_args::{dims_c, Dims6};
use super::{launch, Cuda, CudaStorage};
use crate::backend::cpu::strides::{broadcast, contiguous};
use crate::dtype::Dtype;
use crate::ops::movement::{MovementKernel, RowCopy};
use crate::shape::MAX_RANK;
use cudarc::driver::PushKernelArg;

/// `strided` (out[p] = x[base + offset of p]), `narrow_backward`, `concat`,
/// `copy_rows`.
pub const MOVEMENT: KernelSource = KernelSource {
    name: "movement",
    code: concat!(
        dims_c!(),
        r#"
extern "C" __global__ void strided(const T *x, T *out, usize_t base, Dims6 dims, Dims6 strides, int rank, usize_t n) {
    GRID_STRIDE(p, n) { out[p] = x[base + offset_of(p, dims, strides, rank)]; }
}
extern "C" __global__ void narrow_backward(const T *gy, T *out, usize_t outer, usize_t size, usize_t inner, usize_t start, usize_t len) {
    GRID_STRIDE(p, outer * size * inner) {
        usize_t o = p / (size * inner), rem = p % (size * inner);
        usize_t a = rem / inner, k = rem % inner;
        out[p] = (a >= start && a < start + len) ? gy[(o * len + (a - start)) * inner + k] : (T)0;
    }
}
extern "C" __global__ void concat(const T *a, const T *b, T *out, usize_t outer, usize_t ba, usize_t bb) {
    usize_t block = ba + bb;
    GRID_STRIDE(p, outer * block) {
        usize_t o = p / block, q = p % block;
        out[p] = q < ba ? a[o * ba + q] : b[o * bb + (q - ba)];
    }
}
extern "C" __global__ void copy_rows(T *dst, const T *src, usize_t groups, usize_t rows, usize_t width,
                                     usize_t f_off, usize_t f_group, usize_t f_row,
                                     usize_t t_off, usize_t t_group, usize_t t_row) {
    GRID_STRIDE(p, groups * rows * width) {
        usize_t w = p % width, gr = p / width;
        usize_t r = gr % rows, g = gr / rows;
        dst[t_off + g * t_group + r * t_row + w] = src[f_off + g * f_group + r * f_row + w];
    }
}
"#
    ),
    elems: &["f32", "f64"],
};

fn split(dims: &[usize], axis: usize) -> (usize, usize, usize) {
    (
        dims[..axis].iter().product(),
        dims[axis],
        dims[axis + 1..].iter().product(),
    )
}

/// `out[p] = x[base + Σ idx_k · strides_k]` over the row-major `dims`.
fn strided<E: Dtype>(
    dev: &Cuda,
    x: &CudaStorage<E>,
    base: usize,
    dims: &[usize],
    strides: &[usize],
) -> CudaStorage<E> {
    let n: usize = dims.iter().product();
    let mut out = dev.alloc::<E>(n);
    if n == 0 {
        return CudaStorage::new(out);
    }
    // The largest offset read must be inside x.
    let last = base
        + dims
            .iter()
            .zip(strides)
            .map(|(&d, &s)| (d - 1) * s)
            .sum::<usize>();
    assert!(
        last < x.len(),
        "movement: a read at {last} past a buffer of {}",
        x.len()
    );
    let (b64, n64, r) = (base as u64, n as u64, dims.len() as i32);
    let (d, s) = (Dims6::from_slice(dims, 1), Dims6::from_slice(strides, 0));
    let f = dev.kernel(&MOVEMENT, E::NAME, "strided");
    let mut l = dev.stream().launch_builder(&f);
    l.arg(x.slice())
        .arg(&mut out)
        .arg(&b64)
        .arg(&d)
        .arg(&s)
        .arg(&r)
        .arg(&n64);
    // SAFETY: (const T*, T*, usize_t, Dims6, Dims6, int, usize_t); out
    // holds n; every read is at most `last`, checked to be inside x.
    unsafe { l.launch(launch::elementwise(n)) }.unwrap_or_else(|e| dev.fail("movement", e));
    CudaStorage::new(out)
}

impl<E: Dtype> MovementKernel<E> for Cuda {
    fn permute(&self, x: &CudaStorage<E>, dims: &[usize], perm: &[usize]) -> CudaStorage<E> {
        assert_eq!(
            dims.len(),
            perm.len(),
            "permute: {} dims but a permutation of {}",
            dims.len(),
            perm.len()
        );
        let c = contiguous(dims);
        let mut od = [0usize; MAX_RANK];
        let mut st = [0usize; MAX_RANK];
        for (i, &p) in perm.iter().enumerate() {
            od[i] = dims[p];
            st[i] = c[p];
        }
        strided(self, x, 0, &od[..dims.len()], &st[..dims.len()])
    }

    fn expand(&self, x: &CudaStorage<E>, from: &[usize], to: &[usize]) -> CudaStorage<E> {
        assert!(
            from.len() <= to.len(),
            "expand: source rank {} above target rank {}",
            from.len(),
            to.len()
        );
        let st = broadcast(from, to);
        strided(self, x, 0, to, &st[..to.len()])
    }

    fn narrow(
        &self,
        x: &CudaStorage<E>,
        dims: &[usize],
        axis: usize,
        start: usize,
        len: usize,
    ) -> CudaStorage<E> {
        assert!(
            start + len <= dims[axis],
            "narrow: {start}+{len} beyond axis {axis} of size {}",
            dims[axis]
        );
        let c = contiguous(dims);
        let mut od = [0usize; MAX_RANK];
        od[..dims.len()].copy_from_slice(dims);
        od[axis] = len;
        strided(
            self,
            x,
            start * c[axis],
            &od[..dims.len()],
            &c[..dims.len()],
        )
    }

    fn narrow_backward(
        &self,
        gy: &CudaStorage<E>,
        dims: &[usize],
        axis: usize,
        start: usize,
        len: usize,
    ) -> CudaStorage<E> {
        let (outer, size, inner) = split(dims, axis);
        assert!(
            start + len <= size,
            "narrow_backward: {start}+{len} beyond axis {axis} of size {size}"
        );
        assert_eq!(
            gy.len(),
            outer * len * inner,
            "narrow_backward: gradient length does not match"
        );
        let n = outer * size * inner;
        let mut out = self.alloc::<E>(n);
        if n == 0 {
            return CudaStorage::new(out);
        }
        let a = [
            outer as u64,
            size as u64,
            inner as u64,
            start as u64,
            len as u64,
        ];
        let f = self.kernel(&MOVEMENT, E::NAME, "narrow_backward");
        let mut l = self.stream().launch_builder(&f);
        l.arg(gy.slice())
            .arg(&mut out)
            .arg(&a[0])
            .arg(&a[1])
            .arg(&a[2])
            .arg(&a[3])
            .arg(&a[4]);
        // SAFETY: (const T*, T*, usize_t x5); out holds outer·size·inner,
        // gy outer·len·inner (checked) and is read only inside the window.
        unsafe { l.launch(launch::elementwise(n)) }
            .unwrap_or_else(|e| self.fail("narrow_backward", e));
        CudaStorage::new(out)
    }

    fn concat(
        &self,
        a: &CudaStorage<E>,
        ad: &[usize],
        b: &CudaStorage<E>,
        bd: &[usize],
        axis: usize,
    ) -> CudaStorage<E> {
        assert_eq!(
            ad.len(),
            bd.len(),
            "concat: ranks {} and {} differ",
            ad.len(),
            bd.len()
        );
        let (outer, na, inner) = split(ad, axis);
        let (outer_b, nb, inner_b) = split(bd, axis);
        assert_eq!(inner, inner_b, "concat: inner blocks differ");
        assert_eq!(outer, outer_b, "concat: outer blocks differ");
        assert!(
            a.len() == outer * na * inner && b.len() == outer * nb * inner,
            "concat: buffer lengths do not match dims"
        );
        let (ba, bb) = (na * inner, nb * inner);
        let n = outer * (ba + bb);
        let mut out = self.alloc::<E>(n);
        if n == 0 {
            return CudaStorage::new(out);
        }
        let (o, ba64, bb64) = (outer as u64, ba as u64, bb as u64);
        let f = self.kernel(&MOVEMENT, E::NAME, "concat");
        let mut l = self.stream().launch_builder(&f);
        l.arg(a.slice())
            .arg(b.slice())
            .arg(&mut out)
            .arg(&o)
            .arg(&ba64)
            .arg(&bb64);
        // SAFETY: (const T*, const T*, T*, usize_t x3); a holds outer·ba, b
        // outer·bb, out outer·(ba + bb) (checked above).
        unsafe { l.launch(launch::elementwise(n)) }.unwrap_or_else(|e| self.fail("concat", e));
        CudaStorage::new(out)
    }

    fn copy_rows_into(&self, dst: &mut CudaStorage<E>, src: &CudaStorage<E>, c: &RowCopy) {
        assert!(
            c.src_end() <= src.len() && c.dst_end() <= dst.len(),
            "copy_rows_into: rows run past a buffer (source {} of {}, destination {} of {})",
            c.src_end(),
            src.len(),
            c.dst_end(),
            dst.len()
        );
        let n = c.groups * c.rows * c.width;
        if n == 0 {
            return;
        }
        let a = [
            c.groups,
            c.rows,
            c.width,
            c.from.offset,
            c.from.group,
            c.from.row,
            c.to.offset,
            c.to.group,
            c.to.row,
        ]
        .map(|v| v as u64);
        let f = self.kernel(&MOVEMENT, E::NAME, "copy_rows");
        let stream = self.stream().clone();
        let d = dst.make_mut(&stream);
        let mut l = stream.launch_builder(&f);
        l.arg(d).arg(src.slice());
        for v in &a {
            l.arg(v);
        }
        // SAFETY: (T*, const T*, usize_t x9); the last element written is
        // dst_end() - 1 < dst.len() and the last read src_end() - 1 <
        // src.len() (asserted above); make_mut gave dst its own buffer.
        unsafe { l.launch(launch::elementwise(n)) }
            .unwrap_or_else(|e| self.fail("copy_rows_into", e));
    }
}
