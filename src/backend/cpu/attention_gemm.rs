//! Attention of one `(batch, head)` pair as small matrix products, for
//! pairs with many queries (training, prompt prefill): `S = Q·Kᵀ` and
//! `O = P·V` forward; `dP = dO·Vᵀ`, `dV = Pᵀ·dO`, `dQ = dS·K`, `dK =
//! dSᵀ·Q` backward, each one call of the crate's gemm on strided views (no
//! copies of the operands), with the softmax, masks and dropout applied
//! row by row on the `Nq × Nkv` score block in between.
//!
//! The row kernel of `attention.rs` does the same arithmetic one query at a
//! time with `axpy`s of 32-64 elements; at GPT-mini's size (64 queries, 64
//! keys, head width 32) these products are 3-6x faster (see
//! docs/PERFORMANCE.md, "GPT"). A query row far from the diagonal of a
//! causal block costs the gemm the masked half too; the products still win.

use super::matmul::{CpuFloat, Layout};
use super::simd::wide_fn;
use crate::backend::kernels::attention::{
    dropout_keep, dropout_threshold, AttentionParams, AttentionView,
};
use crate::dtype::Dtype;
use alloc::vec::Vec;

/// Queries per pair from which the products are used.
pub(super) const GEMM_MIN_QUERIES: usize = 8;

/// One strided operand: buffer, offset of element `(0, 0)`, row and column
/// strides.
struct Op<'a, E> {
    buf: &'a [E],
    off: usize,
    rs: usize,
    cs: usize,
}

/// The index one past the last element a `rows × cols` view touches.
fn end(off: usize, rs: usize, cs: usize, rows: usize, cols: usize) -> usize {
    off + (rows - 1) * rs + (cols - 1) * cs + 1
}

/// `C = op(A)·op(B)` (`m × k` times `k × n`; `C += ` when `acc`), `C` at
/// `c[c_off..]` with row stride `rsc` and column stride 1, on the calling
/// thread. Panics if a view runs past its buffer.
#[allow(clippy::too_many_arguments)]
fn gemm<E: CpuFloat>(
    m: usize,
    k: usize,
    n: usize,
    a: Op<'_, E>,
    b: Op<'_, E>,
    c: &mut [E],
    c_off: usize,
    rsc: usize,
    acc: bool,
) {
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !acc {
            for i in 0..m {
                c[c_off + i * rsc..][..n].fill(E::ZERO);
            }
        }
        return;
    }
    assert!(
        end(a.off, a.rs, a.cs, m, k) <= a.buf.len(),
        "attention gemm: A out of bounds"
    );
    assert!(
        end(b.off, b.rs, b.cs, k, n) <= b.buf.len(),
        "attention gemm: B out of bounds"
    );
    assert!(
        end(c_off, rsc, 1, m, n) <= c.len(),
        "attention gemm: C out of bounds"
    );
    assert!(rsc >= n, "attention gemm: rows of C overlap");
    let l = Layout {
        m,
        k,
        n,
        rsa: a.rs as isize,
        csa: a.cs as isize,
        rsb: b.rs as isize,
        csb: b.cs as isize,
        rsc: rsc as isize,
    };
    let (pa, pb) = (a.buf[a.off..].as_ptr(), b.buf[b.off..].as_ptr());
    let pc = c[c_off..].as_mut_ptr();
    #[cfg(feature = "std")]
    // SAFETY: the asserts above check that every element of the three
    // views (offsets, sizes, non-negative strides) lies inside its slice,
    // and that C's rows (stride `rsc >= n`, column stride 1) do not overlap;
    // `c` is a `&mut` slice, so it aliases neither `a` nor `b`.
    unsafe {
        E::gemm_crate(l, pa, pb, pc, acc, 1)
    }
    #[cfg(not(feature = "std"))]
    // SAFETY: as for the gemm arm.
    unsafe {
        E::matrixmultiply_crate(l, pa, pb, pc, acc)
    }
}

/// Lanes of the reductions below: independent accumulators, so the loops
/// vectorise (a single running max or sum is a serial dependency chain
/// the compiler may not reorder).
const LANES: usize = 16;

/// The maximum of `x` (`-inf` when empty).
#[inline(always)]
pub(super) fn max_of<E: Dtype>(x: &[E]) -> E {
    let mut acc = [E::neg_infinity(); LANES];
    let chunks = x.chunks_exact(LANES);
    let rest = chunks.remainder();
    for c in chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a = if v > *a { v } else { *a };
        }
    }
    let m = rest
        .iter()
        .fold(E::neg_infinity(), |m, &v| if v > m { v } else { m });
    acc.iter().fold(m, |m, &v| if v > m { v } else { m })
}

/// `x_j = exp(x_j - m)` in place; returns their sum.
#[inline(always)]
pub(super) fn exp_sum<const FMA: bool, E: Dtype>(x: &mut [E], m: E) -> E {
    for v in x.iter_mut() {
        *v = (*v - m).fast_exp_with::<FMA>();
    }
    let mut acc = [E::zero(); LANES];
    let chunks = x.chunks_exact(LANES);
    let rest = chunks.remainder();
    for c in chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a = *a + v;
        }
    }
    let s = rest.iter().fold(E::zero(), |s, &v| s + v);
    acc.iter().fold(s, |s, &v| s + v)
}

/// Per-pair scratch of the product kernels, reused across pairs.
#[derive(Default)]
pub(super) struct GemmScratch<E> {
    /// Scores, then probabilities (`Nq × Nkv`).
    p: Vec<E>,
    /// `dP`, then `dS` (`Nq × Nkv`).
    ds: Vec<E>,
    /// Probabilities after dropout (`Nq × Nkv`), with dropout only.
    pz: Vec<E>,
}

/// `Q·Kᵀ` of pair `(b, h)` into `s` (`nq × nkv`, unscaled).
fn scores<E: Dtype + CpuFloat>(
    p: &AttentionParams,
    q: &[E],
    k: &[E],
    b: usize,
    h: usize,
    s: &mut Vec<E>,
) {
    s.clear();
    s.resize(p.nq * p.nkv, E::zero());
    let a = Op {
        buf: q,
        off: p.q.at(b, h, 0),
        rs: p.q.row,
        cs: 1,
    };
    let kt = Op {
        buf: k,
        off: p.k.at(b, h, 0),
        rs: 1,
        cs: p.k.row,
    };
    gemm(p.nq, p.dqk, p.nkv, a, kt, s, 0, p.nkv, false);
}

wide_fn! {
    /// Forward softmax in place on the score block `s` (`nq × nkv`, rows of
    /// `nkv`): scaled, masked (causal, boolean), stable; zeros past each
    /// row's last key and for fully masked rows (`lse = +inf`); dropout
    /// applied to the returned probabilities.
    fn softmax_rows<E: Dtype>(p: &AttentionParams, s: &mut [E], mask: Option<&[bool]>, pair: usize, lse: &mut [E]) -> () {
        let mask = p.pair_mask(mask, pair);
        let scale = E::from_f64(p.scale);
        let threshold = dropout_threshold(p.dropout);
        let kept = if p.dropout < 1.0 { E::from_f64(1.0 / (1.0 - p.dropout)) } else { E::zero() };
        for (i, row) in s.chunks_exact_mut(p.nkv).enumerate() {
            let jend = p.key_end(i);
            let (live, dead) = row.split_at_mut(jend);
            dead.fill(E::zero());
            for x in live.iter_mut() {
                *x = *x * scale;
            }
            if let Some(m) = mask {
                for (x, &ok) in live.iter_mut().zip(&m[i * p.mask_row..][..jend]) {
                    if !ok {
                        *x = E::neg_infinity();
                    }
                }
            }
            let m = max_of(live);
            if m == E::neg_infinity() {
                live.fill(E::zero());
                lse[i] = E::infinity();
                continue;
            }
            let l = exp_sum::<FMA, E>(live, m);
            lse[i] = m + l.ln();
            let inv = l.recip();
            if p.dropout > 0.0 {
                let base = ((pair * p.nq + i) * p.nkv) as u64;
                for (j, x) in live.iter_mut().enumerate() {
                    let z = if dropout_keep(p.seed, base + j as u64, threshold) { kept } else { E::zero() };
                    *x = *x * inv * z;
                }
            } else {
                for x in live.iter_mut() {
                    *x = *x * inv;
                }
            }
        }
    }
}

/// The forward of pair `pair` through products: output rows written
/// through `ov` at `oh`, log-sum-exps into `lse` (`nq` values).
#[allow(clippy::too_many_arguments)]
pub(super) fn forward_pair<E: Dtype + CpuFloat>(
    p: &AttentionParams,
    q: &[E],
    k: &[E],
    v: &[E],
    mask: Option<&[bool]>,
    pair: usize,
    o: &mut [E],
    ov: &AttentionView,
    oh: (usize, usize),
    lse: &mut [E],
    scr: &mut GemmScratch<E>,
) {
    let (b, h) = (pair / p.heads, pair % p.heads);
    scores(p, q, k, b, h, &mut scr.p);
    softmax_rows(p, &mut scr.p, mask, pair, lse);
    let pm = Op {
        buf: &scr.p,
        off: 0,
        rs: p.nkv,
        cs: 1,
    };
    let vm = Op {
        buf: v,
        off: p.v.at(b, h, 0),
        rs: p.v.row,
        cs: 1,
    };
    gemm(
        p.nq,
        p.nkv,
        p.dv,
        pm,
        vm,
        o,
        ov.at(oh.0, oh.1, 0),
        ov.row,
        false,
    );
}

wide_fn! {
    /// Backward of the softmax on the blocks of one pair: `s` holds the raw
    /// scores and becomes the probabilities `P` (masked entries 0), `ds`
    /// holds `dO·Vᵀ` and becomes `dS = P∘(dP∘Z − D)·scale`; with dropout `pz`
    /// receives `P∘Z` (the weights `dV` needs).
    fn softmax_backward_rows<E: Dtype>(
        p: &AttentionParams,
        s: &mut [E],
        ds: &mut [E],
        pz: &mut [E],
        mask: Option<&[bool]>,
        pair: usize,
        lse: &[E],
        out: &[E],
        gout: &[E],
        bh: (usize, usize),
    ) -> () {
        let mask = p.pair_mask(mask, pair);
        let scale = E::from_f64(p.scale);
        let threshold = dropout_threshold(p.dropout);
        let kept = if p.dropout < 1.0 { E::from_f64(1.0 / (1.0 - p.dropout)) } else { E::zero() };
        for i in 0..p.nq {
            let row = &mut s[i * p.nkv..][..p.nkv];
            let drow = &mut ds[i * p.nkv..][..p.nkv];
            let l = lse[pair * p.nq + i];
            let jend = if l.is_finite() { p.key_end(i) } else { 0 };
            let (live, dead) = row.split_at_mut(jend);
            dead.fill(E::zero());
            drow[jend..].fill(E::zero());
            for x in live.iter_mut() {
                *x = (*x * scale - l).fast_exp_with::<FMA>();
            }
            if let Some(m) = mask {
                for (x, &ok) in live.iter_mut().zip(&m[i * p.mask_row..][..jend]) {
                    if !ok {
                        *x = E::zero();
                    }
                }
            }
            let orow = &out[p.out.at(bh.0, bh.1, i)..][..p.dv];
            let grow = &gout[p.out.at(bh.0, bh.1, i)..][..p.dv];
            let di = orow.iter().zip(grow).fold(E::zero(), |a, (&o, &g)| if FMA { o.mul_add(g, a) } else { o * g + a });
            let live_d = &mut drow[..jend];
            if p.dropout > 0.0 {
                let zrow = &mut pz[i * p.nkv..][..p.nkv];
                zrow[jend..].fill(E::zero());
                let base = ((pair * p.nq + i) * p.nkv) as u64;
                for j in 0..jend {
                    let z = if dropout_keep(p.seed, base + j as u64, threshold) { kept } else { E::zero() };
                    zrow[j] = live[j] * z;
                    live_d[j] = live[j] * (live_d[j] * z - di) * scale;
                }
            } else {
                for (d, &pj) in live_d.iter_mut().zip(live.iter()) {
                    *d = pj * (*d - di) * scale;
                }
            }
        }
    }
}

/// A gradient output of one pair: buffer, view, and `(batch, head)`.
pub(super) type GradOut<'a, E> = Option<(&'a mut [E], AttentionView, (usize, usize))>;

/// Where [`backward_pair`] writes: separate buffers (each part written, not
/// added), or one buffer read as Q, K and V at once (`p.q`, `p.k`, `p.v` at
/// `(batch, head)`), the three parts added into it.
pub(super) enum Grads<'a, E> {
    /// `dQ`, `dK`, `dV`, each where wanted.
    Separate(GradOut<'a, E>, GradOut<'a, E>, GradOut<'a, E>),
    /// One zero-initialised buffer for all three.
    Shared(&'a mut [E], (usize, usize)),
}

impl<E> Grads<'_, E> {
    /// Part 0 (Q), 1 (K) or 2 (V): its buffer, view, `(batch, head)`, and
    /// whether the product adds to it.
    fn part(
        &mut self,
        part: usize,
        p: &AttentionParams,
    ) -> Option<(&mut [E], AttentionView, (usize, usize), bool)> {
        match self {
            Grads::Separate(q, k, v) => {
                let g = [q, k, v].into_iter().nth(part)?.as_mut()?;
                Some((&mut *g.0, g.1, g.2, false))
            }
            Grads::Shared(buf, bh) => Some((&mut **buf, [p.q, p.k, p.v][part], *bh, true)),
        }
    }
}

/// The backward of pair `pair` through products into `grads`.
#[allow(clippy::too_many_arguments)]
pub(super) fn backward_pair<E: Dtype + CpuFloat>(
    p: &AttentionParams,
    q: &[E],
    k: &[E],
    v: &[E],
    mask: Option<&[bool]>,
    out: &[E],
    lse: &[E],
    gout: &[E],
    pair: usize,
    mut grads: Grads<'_, E>,
    scr: &mut GemmScratch<E>,
) {
    let (b, h) = (pair / p.heads, pair % p.heads);
    scores(p, q, k, b, h, &mut scr.p);
    // dP = dO·Vᵀ.
    scr.ds.clear();
    scr.ds.resize(p.nq * p.nkv, E::zero());
    let go = || Op {
        buf: gout,
        off: p.out.at(b, h, 0),
        rs: p.out.row,
        cs: 1,
    };
    let vt = Op {
        buf: v,
        off: p.v.at(b, h, 0),
        rs: 1,
        cs: p.v.row,
    };
    gemm(p.nq, p.dv, p.nkv, go(), vt, &mut scr.ds, 0, p.nkv, false);
    if p.dropout > 0.0 {
        scr.pz.clear();
        scr.pz.resize(p.nq * p.nkv, E::zero());
    }
    softmax_backward_rows(
        p,
        &mut scr.p,
        &mut scr.ds,
        &mut scr.pz,
        mask,
        pair,
        lse,
        out,
        gout,
        (b, h),
    );
    if let Some((g, view, (ob, oh), acc)) = grads.part(2, p) {
        // dV = (P∘Z)ᵀ·dO.
        let w = if p.dropout > 0.0 { &scr.pz } else { &scr.p };
        let pt = Op {
            buf: w,
            off: 0,
            rs: 1,
            cs: p.nkv,
        };
        gemm(
            p.nkv,
            p.nq,
            p.dv,
            pt,
            go(),
            g,
            view.at(ob, oh, 0),
            view.row,
            acc,
        );
    }
    if let Some((g, view, (ob, oh), acc)) = grads.part(0, p) {
        // dQ = dS·K.
        let dsm = Op {
            buf: &scr.ds,
            off: 0,
            rs: p.nkv,
            cs: 1,
        };
        let km = Op {
            buf: k,
            off: p.k.at(b, h, 0),
            rs: p.k.row,
            cs: 1,
        };
        gemm(
            p.nq,
            p.nkv,
            p.dqk,
            dsm,
            km,
            g,
            view.at(ob, oh, 0),
            view.row,
            acc,
        );
    }
    if let Some((g, view, (ob, oh), acc)) = grads.part(1, p) {
        // dK = dSᵀ·Q.
        let dst = Op {
            buf: &scr.ds,
            off: 0,
            rs: 1,
            cs: p.nkv,
        };
        let qm = Op {
            buf: q,
            off: p.q.at(b, h, 0),
            rs: p.q.row,
            cs: 1,
        };
        gemm(
            p.nkv,
            p.nq,
            p.dqk,
            dst,
            qm,
            g,
            view.at(ob, oh, 0),
            view.row,
            acc,
        );
    }
}
