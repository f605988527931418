//! Index arithmetic shared by the CPU kernels: broadcast strides and an
//! odometer over a multi-index.

use crate::shape::MAX_RANK;

/// Row-major strides of `dims`.
pub(crate) fn contiguous(dims: &[usize]) -> [usize; MAX_RANK] {
    let mut s = [0; MAX_RANK];
    let mut acc = 1;
    for i in (0..dims.len()).rev() {
        s[i] = acc;
        acc *= dims[i];
    }
    s
}

/// Strides of `dims` (right-aligned into `out_rank` axes) for reading it as
/// its broadcast: 0 on broadcast axes.
pub(crate) fn broadcast(dims: &[usize], out_dims: &[usize]) -> [usize; MAX_RANK] {
    let r = out_dims.len();
    let off = r - dims.len();
    let c = contiguous(dims);
    let mut s = [0; MAX_RANK];
    for i in 0..dims.len() {
        s[i + off] = if dims[i] == 1 && out_dims[i + off] != 1 {
            0
        } else {
            c[i]
        };
    }
    s
}

/// Calls `f(out_index, offset_a, offset_b)` for every element of `out_dims`
/// in row-major order, with offsets by the given strides.
#[inline]
pub(crate) fn walk2(
    out_dims: &[usize],
    sa: &[usize; MAX_RANK],
    sb: &[usize; MAX_RANK],
    mut f: impl FnMut(usize, usize, usize),
) {
    let n: usize = out_dims.iter().product();
    if n == 0 {
        return;
    }
    let r = out_dims.len();
    if r == 0 {
        f(0, 0, 0);
        return;
    }
    let last = out_dims[r - 1];
    let (la, lb) = (sa[r - 1], sb[r - 1]);
    let mut idx = [0usize; MAX_RANK];
    let (mut oa, mut ob) = (0usize, 0usize);
    let mut o = 0;
    while o < n {
        for j in 0..last {
            f(o + j, oa + j * la, ob + j * lb);
        }
        o += last;
        // Advance the odometer over the leading axes.
        let mut ax = r - 1;
        loop {
            if ax == 0 {
                return;
            }
            ax -= 1;
            idx[ax] += 1;
            oa += sa[ax];
            ob += sb[ax];
            if idx[ax] < out_dims[ax] {
                break;
            }
            oa -= sa[ax] * idx[ax];
            ob -= sb[ax] * idx[ax];
            idx[ax] = 0;
        }
    }
}
