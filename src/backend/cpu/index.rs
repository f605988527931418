//! CPU kernels for indexing and masks. Indices are checked up front (before
//! any output is written); the loops then only read in-range slots. Masks
//! that broadcast are read in place when they tile the data (the common
//! causal-mask case) and expanded once otherwise.

use super::par::{chunk_for, for_each_chunk};
use super::strides::{broadcast, walk2};
use super::Cpu;
use super::CpuStorage;
use crate::backend::kernels::index::{CmpOp, IndexKernel};
use crate::dtype::Dtype;
use crate::shape::{Error, MAX_RANK};
use alloc::vec;
use alloc::vec::Vec;

/// `(outer, n, inner)`: the sizes before, at and after `axis`.
#[inline]
fn split(dims: &[usize], axis: usize) -> (usize, usize, usize) {
    assert!(
        axis < dims.len(),
        "index kernel: axis {axis} out of range for rank {}",
        dims.len()
    );
    let outer = dims[..axis].iter().product();
    let inner = dims[axis + 1..].iter().product();
    (outer, dims[axis], inner)
}

/// The first index `>= size`, as an error.
fn check_indices(op: &'static str, axis: usize, idx: &[usize], size: usize) -> Result<(), Error> {
    match idx.iter().find(|&&i| i >= size) {
        Some(&index) => Err(Error::IndexOutOfRange {
            op,
            axis,
            index,
            size,
        }),
        None => Ok(()),
    }
}

/// Chunk length (in elements) that is a whole number of rows of `row` elements.
fn row_chunk(total: usize, row: usize) -> usize {
    chunk_for(total).div_ceil(row).max(1) * row
}

fn index_select<E: Dtype>(
    x: &[E],
    dims: &[usize],
    axis: usize,
    idx: &[usize],
) -> Result<Vec<E>, Error> {
    let (outer, n, inner) = split(dims, axis);
    assert_eq!(
        x.len(),
        outer * n * inner,
        "index_select: buffer length does not match dims"
    );
    check_indices("index_select", axis, idx, n)?;
    let m = idx.len();
    let total = outer * m * inner;
    let mut out = vec![E::zero(); total];
    if total == 0 {
        return Ok(out);
    }
    let c = row_chunk(total, inner);
    for_each_chunk(&mut out, c, |ci, o| {
        let r0 = ci * c / inner;
        for (k, row) in o.chunks_mut(inner).enumerate() {
            let r = r0 + k;
            let (oo, j) = (r / m, r % m);
            let src = (oo * n + idx[j]) * inner;
            row.copy_from_slice(&x[src..src + inner]);
        }
    });
    Ok(out)
}

fn index_select_backward<E: Dtype>(gy: &[E], dims: &[usize], axis: usize, idx: &[usize]) -> Vec<E> {
    let (outer, n, inner) = split(dims, axis);
    let m = idx.len();
    assert_eq!(
        gy.len(),
        outer * m * inner,
        "index_select_backward: gradient length does not match"
    );
    let mut g = vec![E::zero(); outer * n * inner];
    if inner == 0 {
        return g;
    }
    for o in 0..outer {
        for (j, &i) in idx.iter().enumerate() {
            let dst = (o * n + i) * inner;
            let src = (o * m + j) * inner;
            for (d, &s) in g[dst..dst + inner].iter_mut().zip(&gy[src..src + inner]) {
                *d = *d + s;
            }
        }
    }
    g
}

fn gather<E: Dtype>(x: &[E], dims: &[usize], axis: usize, idx: &[usize]) -> Result<Vec<E>, Error> {
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
    check_indices("gather", axis, idx, n)?;
    let mut out = vec![E::zero(); idx.len()];
    let c = chunk_for(out.len());
    for_each_chunk(&mut out, c, |ci, o| {
        for (k, y) in o.iter_mut().enumerate() {
            let p = ci * c + k;
            let (oo, i) = (p / inner, p % inner);
            *y = x[(oo * n + idx[p]) * inner + i];
        }
    });
    Ok(out)
}

fn gather_backward<E: Dtype>(gy: &[E], dims: &[usize], axis: usize, idx: &[usize]) -> Vec<E> {
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
    let mut g = vec![E::zero(); outer * n * inner];
    for (p, (&i, &v)) in idx.iter().zip(gy).enumerate() {
        let (oo, r) = (p / inner, p % inner);
        let d = &mut g[(oo * n + i) * inner + r];
        *d = *d + v;
    }
    g
}

/// A mask read at each output position: in place (same layout), tiled (it
/// is the trailing block of the data, e.g. a `(T, T)` mask on `(B, H, T, T)`),
/// or expanded once for a general broadcast.
enum MaskView<'a> {
    Direct(&'a [bool]),
    Tiled(&'a [bool]),
    Owned(Vec<bool>),
}

impl MaskView<'_> {
    #[inline(always)]
    fn get(&self, o: usize) -> bool {
        match self {
            MaskView::Direct(m) => m[o],
            MaskView::Tiled(m) => m[o % m.len()],
            MaskView::Owned(m) => m[o],
        }
    }
}

fn mask_view<'a>(mask: &'a [bool], mask_dims: &[usize], dims: &[usize]) -> MaskView<'a> {
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
    let n: usize = dims.iter().product();
    assert_eq!(
        mask.len(),
        mask_dims.iter().product::<usize>(),
        "mask: buffer length does not match dims"
    );
    if mask.len() == n {
        return MaskView::Direct(mask);
    }
    // Trailing block: the mask's dims, after leading 1s, are the data's last axes.
    let first = mask_dims
        .iter()
        .position(|&d| d != 1)
        .unwrap_or(mask_dims.len());
    let core = &mask_dims[first..];
    if !mask.is_empty() && dims[dims.len() - core.len()..] == *core {
        return MaskView::Tiled(mask);
    }
    let mut out = vec![false; n];
    let sm = broadcast(mask_dims, dims);
    walk2(dims, &sm, &[0; MAX_RANK], |o, im, _| out[o] = mask[im]);
    MaskView::Owned(out)
}

/// `out[o] = f(o)` in parallel chunks.
fn fill<T: Copy + Default + Send>(n: usize, f: impl Fn(usize) -> T + Sync + Send) -> Vec<T> {
    let mut out = vec![T::default(); n];
    let c = chunk_for(n);
    for_each_chunk(&mut out, c, |ci, o| {
        for (k, y) in o.iter_mut().enumerate() {
            *y = f(ci * c + k);
        }
    });
    out
}

fn where_cond<E: Dtype>(
    cond: &[bool],
    cond_dims: &[usize],
    a: &[E],
    b: &[E],
    dims: &[usize],
) -> Vec<E> {
    let n: usize = dims.iter().product();
    assert!(
        a.len() == n && b.len() == n,
        "where_cond: buffer lengths do not match dims"
    );
    let m = mask_view(cond, cond_dims, dims);
    fill(n, |o| if m.get(o) { a[o] } else { b[o] })
}

fn where_backward<E: Dtype>(
    cond: &[bool],
    cond_dims: &[usize],
    gy: &[E],
    dims: &[usize],
    want: (bool, bool),
) -> (Option<Vec<E>>, Option<Vec<E>>) {
    let n: usize = dims.iter().product();
    assert_eq!(
        gy.len(),
        n,
        "where_backward: gradient length does not match dims"
    );
    let m = mask_view(cond, cond_dims, dims);
    let z = E::zero();
    let ga = want
        .0
        .then(|| fill(n, |o| if m.get(o) { gy[o] } else { z }));
    let gb = want
        .1
        .then(|| fill(n, |o| if m.get(o) { z } else { gy[o] }));
    (ga, gb)
}

fn masked_fill<E: Dtype>(
    x: &[E],
    dims: &[usize],
    mask: &[bool],
    mask_dims: &[usize],
    v: E,
) -> Vec<E> {
    let n: usize = dims.iter().product();
    assert_eq!(x.len(), n, "masked_fill: buffer length does not match dims");
    let m = mask_view(mask, mask_dims, dims);
    fill(n, |o| if m.get(o) { v } else { x[o] })
}

fn compare<E: Dtype>(op: CmpOp, a: &[E], b: &[E]) -> Vec<bool> {
    assert_eq!(a.len(), b.len(), "compare: buffer lengths differ");
    macro_rules! go {
        ($op:ident) => {
            fill(a.len(), |o| CmpOp::$op.f(a[o], b[o]))
        };
    }
    match op {
        CmpOp::Eq => go!(Eq),
        CmpOp::Ne => go!(Ne),
        CmpOp::Lt => go!(Lt),
        CmpOp::Le => go!(Le),
        CmpOp::Gt => go!(Gt),
        CmpOp::Ge => go!(Ge),
    }
}

fn compare_scalar<E: Dtype>(op: CmpOp, a: &[E], v: E) -> Vec<bool> {
    macro_rules! go {
        ($op:ident) => {
            fill(a.len(), |o| CmpOp::$op.f(a[o], v))
        };
    }
    match op {
        CmpOp::Eq => go!(Eq),
        CmpOp::Ne => go!(Ne),
        CmpOp::Lt => go!(Lt),
        CmpOp::Le => go!(Le),
        CmpOp::Gt => go!(Gt),
        CmpOp::Ge => go!(Ge),
    }
}

fn arg_extreme<E: Dtype>(
    x: &[E],
    dims: &[usize],
    axis: usize,
    largest: bool,
) -> Result<Vec<usize>, Error> {
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
    let better = |v: E, best: E| {
        if best.is_nan() {
            false
        } else if v.is_nan() {
            true
        } else if largest {
            v > best
        } else {
            v < best
        }
    };
    Ok(fill(total, |p| {
        let (o, i) = (p / inner, p % inner);
        let base = o * n * inner + i;
        let (mut best, mut bi) = (x[base], 0);
        for k in 1..n {
            let v = x[base + k * inner];
            if better(v, best) {
                best = v;
                bi = k;
            }
        }
        bi
    }))
}

macro_rules! index_impl {
    ($($e:ty),*) => {$(
        impl IndexKernel<$e> for Cpu {
            fn index_select(&self, x: &CpuStorage<$e>, dims: &[usize], axis: usize, idx: &CpuStorage<usize>) -> Result<CpuStorage<$e>, Error> {
                index_select(x, dims, axis, idx).map(CpuStorage::new)
            }
            fn index_select_backward(&self, gy: &CpuStorage<$e>, dims: &[usize], axis: usize, idx: &CpuStorage<usize>) -> CpuStorage<$e> {
                CpuStorage::new(index_select_backward(gy, dims, axis, idx))
            }
            fn gather(&self, x: &CpuStorage<$e>, dims: &[usize], axis: usize, idx: &CpuStorage<usize>) -> Result<CpuStorage<$e>, Error> {
                gather(x, dims, axis, idx).map(CpuStorage::new)
            }
            fn gather_backward(&self, gy: &CpuStorage<$e>, dims: &[usize], axis: usize, idx: &CpuStorage<usize>) -> CpuStorage<$e> {
                CpuStorage::new(gather_backward(gy, dims, axis, idx))
            }
            fn where_cond(&self, c: &CpuStorage<bool>, cd: &[usize], a: &CpuStorage<$e>, b: &CpuStorage<$e>, dims: &[usize]) -> CpuStorage<$e> {
                CpuStorage::new(where_cond(c, cd, a, b, dims))
            }
            fn where_backward(
                &self,
                c: &CpuStorage<bool>,
                cd: &[usize],
                gy: &CpuStorage<$e>,
                dims: &[usize],
                want: (bool, bool),
            ) -> (Option<CpuStorage<$e>>, Option<CpuStorage<$e>>) {
                let (ga, gb) = where_backward(c, cd, gy, dims, want);
                (ga.map(CpuStorage::new), gb.map(CpuStorage::new))
            }
            fn masked_fill(&self, x: &CpuStorage<$e>, dims: &[usize], m: &CpuStorage<bool>, md: &[usize], v: $e) -> CpuStorage<$e> {
                CpuStorage::new(masked_fill(x, dims, m, md, v))
            }
            fn compare(&self, op: CmpOp, a: &CpuStorage<$e>, b: &CpuStorage<$e>) -> CpuStorage<bool> {
                CpuStorage::new(compare(op, a, b))
            }
            fn compare_scalar(&self, op: CmpOp, a: &CpuStorage<$e>, v: $e) -> CpuStorage<bool> {
                CpuStorage::new(compare_scalar(op, a, v))
            }
            fn arg_extreme(&self, x: &CpuStorage<$e>, dims: &[usize], axis: usize, largest: bool) -> Result<CpuStorage<usize>, Error> {
                arg_extreme(x, dims, axis, largest).map(CpuStorage::new)
            }
        }
    )*};
}
index_impl!(f32, f64);
