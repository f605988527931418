//! CPU [`AttentionKernel`]: one pass per query row, per `(batch, head)`
//! pair.
//!
//! Forward, for query `i`: the scores `s_j = scale·q_i·k_j` for the keys it
//! may see (a causal row stops at its last key, so masked work is skipped,
//! not computed and thrown away), the boolean mask, a two-pass stable
//! softmax (`max`, then `exp` and sum), dropout, and `o_i = Σ_j p_j v_j`.
//! Only `o` and `lse_i = max + ln Σ exp` are kept. Backward, for query `i`:
//! the probabilities recomputed from `lse_i`, `dp_j = do_i·v_j`,
//! `ds_j = p_j (dp_j - do_i·o_i)`, then `dq_i += scale·ds_j k_j`,
//! `dk_j += scale·ds_j q_i`, `dv_j += p_j do_i`.
//!
//! Every inner loop is an `axpy` over a contiguous row (`K` and `V` are
//! gathered transposed once per pair, so `Q·Kᵀ` is `Σ_c q_c·Kᵀ[c, :]`):
//! no horizontal sums, so the loops vectorise, compiled for AVX-512 or
//! AVX2 ([`wide_fn!`]). At the head sizes of the target models (`d <= 64`,
//! `N <= 256`) a gemm per pair measured no faster and is much slower for
//! one query against a cache. Pairs run on rayon threads above
//! [`PAR_WORK`] multiply-adds, each writing its own block; below it, on the
//! calling thread straight into the output.

use super::attention_gemm::{self, exp_sum, max_of, GemmScratch, Grads, GEMM_MIN_QUERIES};
use super::matmul::CpuFloat;
use super::simd::{lane_dot, wide_fn};
use super::Cpu;
use super::CpuStorage;
use crate::backend::kernels::attention::{
    dropout_keep, dropout_threshold, AttentionGrads, AttentionKernel, AttentionParams,
    AttentionView, AttentionWant,
};
use crate::dtype::Dtype;
use alloc::vec;
use alloc::vec::Vec;

/// Multiply-adds (`pairs·nq·nkv·(dqk + dv)`) from which pairs are spread
/// over threads: the matmul kernel's split threshold (`PAR_SPLIT_MIN_WORK`).
#[cfg(feature = "std")]
const PAR_WORK: usize = 1 << 20;

/// Whether a call is worth spreading over threads.
fn parallel(p: &AttentionParams) -> bool {
    #[cfg(feature = "std")]
    {
        let work = p
            .pairs()
            .saturating_mul(p.nq)
            .saturating_mul(p.nkv)
            .saturating_mul(p.dqk + p.dv);
        work >= PAR_WORK && p.pairs() > 1 && super::threads::parallel_threads() > 1
    }
    #[cfg(not(feature = "std"))]
    {
        let _ = p;
        false
    }
}

/// A dense block of one pair: rows of `width`.
#[cfg(feature = "std")]
fn block(width: usize) -> AttentionView {
    AttentionView {
        offset: 0,
        batch: 0,
        head: 0,
        row: width,
    }
}

/// `a·b + c`, fused where the kernel is compiled with FMA.
#[inline(always)]
fn madd<const FMA: bool, E: Dtype>(a: E, b: E, c: E) -> E {
    if FMA {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

/// `y += a·x`.
#[inline(always)]
fn axpy<const FMA: bool, E: Dtype>(a: E, x: &[E], y: &mut [E]) {
    for (y, &x) in y.iter_mut().zip(x) {
        *y = madd::<FMA, E>(a, x, *y);
    }
}

/// `M` (rows `0..n` of a view, `width` columns) transposed into `out`
/// (`width × n`).
fn gather_t<E: Dtype>(
    src: &[E],
    view: &AttentionView,
    b: usize,
    h: usize,
    n: usize,
    width: usize,
    out: &mut Vec<E>,
) {
    out.clear();
    out.resize(width * n, E::zero());
    for j in 0..n {
        let row = &src[view.at(b, h, j)..][..width];
        for (c, &x) in row.iter().enumerate() {
            out[c * n + j] = x;
        }
    }
}

/// Per-pair scratch, reused across pairs on one thread.
#[derive(Default)]
struct Scratch<E> {
    kt: Vec<E>,
    vt: Vec<E>,
    s: Vec<E>,
    dp: Vec<E>,
    /// Scratch of the product kernels.
    g: GemmScratch<E>,
}

/// Whether the pairs go through the product kernels (`attention_gemm`):
/// many queries (training, prefill) rather than one (decoding).
fn use_gemm(p: &AttentionParams) -> bool {
    p.nq >= GEMM_MIN_QUERIES && p.nkv > 0
}

/// Masked-out scores of query `i` (`s` = its keys `0..s.len()`) set to
/// `-inf`; returns the maximum.
#[inline(always)]
fn mask_and_max<E: Dtype>(p: &AttentionParams, mask: Option<&[bool]>, i: usize, s: &mut [E]) -> E {
    if let Some(m) = mask {
        let n = s.len();
        for (sj, &ok) in s.iter_mut().zip(&m[i * p.mask_row..][..n]) {
            if !ok {
                *sj = E::neg_infinity();
            }
        }
    }
    max_of(s)
}

/// The scaled, masked scores of query `i` against keys `0..jend` into
/// `s[..jend]`; returns their maximum (`-inf` if all are masked).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn scores<const FMA: bool, E: Dtype>(
    p: &AttentionParams,
    qrow: &[E],
    kt: &[E],
    mask: Option<&[bool]>,
    i: usize,
    jend: usize,
    scale: E,
    s: &mut [E],
) -> E {
    let s = &mut s[..jend];
    s.fill(E::zero());
    for (c, &qc) in qrow.iter().enumerate() {
        axpy::<FMA, E>(qc * scale, &kt[c * p.nkv..][..jend], s);
    }
    mask_and_max(p, mask, i, s)
}

/// Queries below which [`forward_pair`] takes each key row as it is
/// (a dot product per key) instead of transposing the keys first: one
/// query against a KV cache would transpose the whole cache per token.
const ROW_SCORES_MAX_QUERIES: usize = 4;

/// [`scores`] reading key `j` as row `j` of the pair's keys (no
/// transposed copy).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn scores_rows<const FMA: bool, E: Dtype>(
    p: &AttentionParams,
    qrow: &[E],
    k: &[E],
    (b, h): (usize, usize),
    mask: Option<&[bool]>,
    i: usize,
    jend: usize,
    scale: E,
    s: &mut [E],
) -> E {
    let s = &mut s[..jend];
    for (j, sj) in s.iter_mut().enumerate() {
        let key = &k[p.k.at(b, h, j)..][..p.dqk];
        *sj = lane_dot(qrow, key, E::zero(), madd::<FMA, E>) * scale;
    }
    mask_and_max(p, mask, i, s)
}

wide_fn! {
    /// The forward of pair `pair`: output rows written through `ov` (at
    /// `(ob, oh)`), log-sum-exps into `lse` (`nq` values).
    fn forward_pair<E: Dtype>(
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
        scr: &mut Scratch<E>,
    ) -> () {
        let (b, h) = (pair / p.heads, pair % p.heads);
        let mask = p.pair_mask(mask, pair);
        let scale = E::from_f64(p.scale);
        let by_rows = p.nq < ROW_SCORES_MAX_QUERIES;
        if !by_rows {
            gather_t(k, &p.k, b, h, p.nkv, p.dqk, &mut scr.kt);
        }
        scr.s.resize(p.nkv, E::zero());
        let threshold = dropout_threshold(p.dropout);
        let kept = if p.dropout < 1.0 { E::from_f64(1.0 / (1.0 - p.dropout)) } else { E::zero() };
        for i in 0..p.nq {
            let jend = p.key_end(i);
            let qrow = &q[p.q.at(b, h, i)..][..p.dqk];
            let orow = &mut o[ov.at(oh.0, oh.1, i)..][..p.dv];
            orow.fill(E::zero());
            let m = if by_rows {
                scores_rows::<FMA, E>(p, qrow, k, (b, h), mask, i, jend, scale, &mut scr.s)
            } else {
                scores::<FMA, E>(p, qrow, &scr.kt, mask, i, jend, scale, &mut scr.s)
            };
            if m == E::neg_infinity() {
                // Every key masked: zeros, and no gradient (lse = +inf).
                lse[i] = E::infinity();
                continue;
            }
            let s = &mut scr.s[..jend];
            let l = exp_sum::<FMA, E>(s, m);
            lse[i] = m + l.ln();
            let inv = l.recip();
            if p.dropout > 0.0 {
                let base = ((pair * p.nq + i) * p.nkv) as u64;
                for (j, x) in s.iter_mut().enumerate() {
                    let z = if dropout_keep(p.seed, base + j as u64, threshold) { kept } else { E::zero() };
                    *x = *x * inv * z;
                }
            } else {
                for x in s.iter_mut() {
                    *x = *x * inv;
                }
            }
            for (j, &w) in s.iter().enumerate() {
                if w != E::zero() {
                    axpy::<FMA, E>(w, &v[p.v.at(b, h, j)..][..p.dv], orow);
                }
            }
        }
    }
}

/// Gradient outputs of one pair: each a buffer, its view, and the
/// `(batch, head)` to write at.
type GradOut<'a, E> = Option<(&'a mut [E], AttentionView, (usize, usize))>;

wide_fn! {
    /// The backward of pair `pair`, accumulating into the outputs given.
    fn backward_pair<E: Dtype>(
        p: &AttentionParams,
        q: &[E],
        k: &[E],
        v: &[E],
        mask: Option<&[bool]>,
        out: &[E],
        lse: &[E],
        gout: &[E],
        pair: usize,
        gq: GradOut<'_, E>,
        gk: GradOut<'_, E>,
        gv: GradOut<'_, E>,
        scr: &mut Scratch<E>,
    ) -> () {
        let (b, h) = (pair / p.heads, pair % p.heads);
        let mask = p.pair_mask(mask, pair);
        let scale = E::from_f64(p.scale);
        let (mut gq, mut gk, mut gv) = (gq, gk, gv);
        gather_t(k, &p.k, b, h, p.nkv, p.dqk, &mut scr.kt);
        gather_t(v, &p.v, b, h, p.nkv, p.dv, &mut scr.vt);
        scr.s.resize(p.nkv, E::zero());
        scr.dp.resize(p.nkv, E::zero());
        let threshold = dropout_threshold(p.dropout);
        let kept = if p.dropout < 1.0 { E::from_f64(1.0 / (1.0 - p.dropout)) } else { E::zero() };
        for i in 0..p.nq {
            let l = lse[pair * p.nq + i];
            if !l.is_finite() {
                continue;
            }
            let jend = p.key_end(i);
            let qrow = &q[p.q.at(b, h, i)..][..p.dqk];
            scores::<FMA, E>(p, qrow, &scr.kt, mask, i, jend, scale, &mut scr.s);
            let s = &mut scr.s[..jend];
            for x in s.iter_mut() {
                *x = (*x - l).fast_exp_with::<FMA>();
            }
            let orow = &out[p.out.at(b, h, i)..][..p.dv];
            let grow = &gout[p.out.at(b, h, i)..][..p.dv];
            let di = orow.iter().zip(grow).fold(E::zero(), |a, (&o, &g)| madd::<FMA, E>(o, g, a));
            let dp = &mut scr.dp[..jend];
            dp.fill(E::zero());
            for (c, &g) in grow.iter().enumerate() {
                axpy::<FMA, E>(g, &scr.vt[c * p.nkv..][..jend], dp);
            }
            let base = ((pair * p.nq + i) * p.nkv) as u64;
            for j in 0..jend {
                let pj = s[j];
                if pj == E::zero() {
                    continue;
                }
                let z = if p.dropout > 0.0 {
                    if dropout_keep(p.seed, base + j as u64, threshold) { kept } else { E::zero() }
                } else {
                    E::one()
                };
                if let Some((gv, view, (ob, oh))) = gv.as_mut() {
                    if z != E::zero() {
                        axpy::<FMA, E>(pj * z, grow, &mut gv[view.at(*ob, *oh, j)..][..p.dv]);
                    }
                }
                let ds = pj * (dp[j] * z - di) * scale;
                if let Some((gq, view, (ob, oh))) = gq.as_mut() {
                    axpy::<FMA, E>(ds, &k[p.k.at(b, h, j)..][..p.dqk], &mut gq[view.at(*ob, *oh, i)..][..p.dqk]);
                }
                if let Some((gk, view, (ob, oh))) = gk.as_mut() {
                    axpy::<FMA, E>(ds, qrow, &mut gk[view.at(*ob, *oh, j)..][..p.dqk]);
                }
            }
        }
    }
}

/// Copy a dense per-pair block (`n` rows of `width`) to its view.
#[cfg(feature = "std")]
fn scatter<E: Copy>(
    dst: &mut [E],
    view: &AttentionView,
    b: usize,
    h: usize,
    src: &[E],
    n: usize,
    width: usize,
) {
    for i in 0..n {
        dst[view.at(b, h, i)..][..width].copy_from_slice(&src[i * width..][..width]);
    }
}

fn forward<E: Dtype + CpuFloat>(
    p: &AttentionParams,
    q: &[E],
    k: &[E],
    v: &[E],
    mask: Option<&[bool]>,
) -> (Vec<E>, Vec<E>) {
    let pairs = p.pairs();
    let mut out = vec![E::zero(); pairs * p.nq * p.dv];
    let mut lse = vec![E::zero(); pairs * p.nq];
    if pairs == 0 || p.nq == 0 {
        return (out, lse);
    }
    if !parallel(p) {
        let mut scr = Scratch::default();
        for (pair, l) in lse.chunks_mut(p.nq).enumerate() {
            let bh = (pair / p.heads, pair % p.heads);
            if use_gemm(p) {
                attention_gemm::forward_pair(
                    p, q, k, v, mask, pair, &mut out, &p.out, bh, l, &mut scr.g,
                );
            } else {
                forward_pair(p, q, k, v, mask, pair, &mut out, &p.out, bh, l, &mut scr);
            }
        }
        return (out, lse);
    }
    #[cfg(feature = "std")]
    {
        use rayon::prelude::*;
        let blocks: Vec<Vec<E>> = lse
            .par_chunks_mut(p.nq)
            .enumerate()
            .map_init(Scratch::default, |scr, (pair, l)| {
                let mut o = vec![E::zero(); p.nq * p.dv];
                if use_gemm(p) {
                    attention_gemm::forward_pair(
                        p,
                        q,
                        k,
                        v,
                        mask,
                        pair,
                        &mut o,
                        &block(p.dv),
                        (0, 0),
                        l,
                        &mut scr.g,
                    );
                } else {
                    forward_pair(p, q, k, v, mask, pair, &mut o, &block(p.dv), (0, 0), l, scr);
                }
                o
            })
            .collect();
        for (pair, o) in blocks.iter().enumerate() {
            scatter(
                &mut out,
                &p.out,
                pair / p.heads,
                pair % p.heads,
                o,
                p.nq,
                p.dv,
            );
        }
    }
    (out, lse)
}

#[allow(clippy::too_many_arguments)]
fn backward<E: Dtype + CpuFloat>(
    p: &AttentionParams,
    q: &[E],
    k: &[E],
    v: &[E],
    mask: Option<&[bool]>,
    out: &[E],
    lse: &[E],
    gout: &[E],
    want: AttentionWant,
) -> AttentionGrads<Vec<E>> {
    let mut gq = want.q.then(|| vec![E::zero(); q.len()]);
    let mut gk = want.k.then(|| vec![E::zero(); k.len()]);
    let mut gv = want.v.then(|| vec![E::zero(); v.len()]);
    let pairs = p.pairs();
    if pairs == 0 || p.nq == 0 || !(want.q || want.k || want.v) {
        return (gq, gk, gv);
    }
    if !parallel(p) {
        let mut scr = Scratch::default();
        for pair in 0..pairs {
            let bh = (pair / p.heads, pair % p.heads);
            let (gq, gk, gv) = (
                gq.as_deref_mut().map(|g| (g, p.q, bh)),
                gk.as_deref_mut().map(|g| (g, p.k, bh)),
                gv.as_deref_mut().map(|g| (g, p.v, bh)),
            );
            if use_gemm(p) {
                attention_gemm::backward_pair(
                    p,
                    q,
                    k,
                    v,
                    mask,
                    out,
                    lse,
                    gout,
                    pair,
                    Grads::Separate(gq, gk, gv),
                    &mut scr.g,
                );
            } else {
                backward_pair(p, q, k, v, mask, out, lse, gout, pair, gq, gk, gv, &mut scr);
            }
        }
        return (gq, gk, gv);
    }
    #[cfg(feature = "std")]
    {
        use rayon::prelude::*;
        type Blocks<E> = (Vec<E>, Vec<E>, Vec<E>);
        let blocks: Vec<Blocks<E>> = (0..pairs)
            .into_par_iter()
            .map_init(Scratch::default, |scr, pair| {
                let mut bq = vec![E::zero(); if want.q { p.nq * p.dqk } else { 0 }];
                let mut bk = vec![E::zero(); if want.k { p.nkv * p.dqk } else { 0 }];
                let mut bv = vec![E::zero(); if want.v { p.nkv * p.dv } else { 0 }];
                let (gq, gk, gv) = (
                    want.q.then_some((&mut bq[..], block(p.dqk), (0, 0))),
                    want.k.then_some((&mut bk[..], block(p.dqk), (0, 0))),
                    want.v.then_some((&mut bv[..], block(p.dv), (0, 0))),
                );
                if use_gemm(p) {
                    attention_gemm::backward_pair(
                        p,
                        q,
                        k,
                        v,
                        mask,
                        out,
                        lse,
                        gout,
                        pair,
                        Grads::Separate(gq, gk, gv),
                        &mut scr.g,
                    );
                } else {
                    backward_pair(p, q, k, v, mask, out, lse, gout, pair, gq, gk, gv, scr);
                }
                (bq, bk, bv)
            })
            .collect();
        for (pair, (bq, bk, bv)) in blocks.iter().enumerate() {
            let (b, h) = (pair / p.heads, pair % p.heads);
            if let Some(g) = gq.as_deref_mut() {
                scatter(g, &p.q, b, h, bq, p.nq, p.dqk);
            }
            if let Some(g) = gk.as_deref_mut() {
                scatter(g, &p.k, b, h, bk, p.nkv, p.dqk);
            }
            if let Some(g) = gv.as_deref_mut() {
                scatter(g, &p.v, b, h, bv, p.nkv, p.dv);
            }
        }
    }
    (gq, gk, gv)
}

/// `dst[view rows] += src` for a dense per-pair block (`n` rows of `width`).
#[cfg(feature = "std")]
#[allow(clippy::too_many_arguments)]
fn scatter_add<E: Dtype>(
    dst: &mut [E],
    view: &AttentionView,
    b: usize,
    h: usize,
    src: &[E],
    n: usize,
    width: usize,
) {
    for i in 0..n {
        let d = &mut dst[view.at(b, h, i)..][..width];
        for (d, &s) in d.iter_mut().zip(&src[i * width..][..width]) {
            *d = *d + s;
        }
    }
}

/// [`AttentionKernel::attention_backward_shared`]: the gradient of one
/// buffer read as Q, K and V, in one buffer (the product kernels write the
/// three parts into it; the row kernel's three buffers are added).
#[allow(clippy::too_many_arguments)]
fn backward_shared<E: Dtype + CpuFloat>(
    p: &AttentionParams,
    x: &[E],
    mask: Option<&[bool]>,
    out: &[E],
    lse: &[E],
    gout: &[E],
) -> Vec<E> {
    if !use_gemm(p) || p.pairs() == 0 {
        let all = AttentionWant {
            q: true,
            k: true,
            v: true,
        };
        let (gq, gk, gv) = backward(p, x, x, x, mask, out, lse, gout, all);
        let (mut g, gk, gv) = (
            gq.unwrap_or_default(),
            gk.unwrap_or_default(),
            gv.unwrap_or_default(),
        );
        for (g, (&a, &b)) in g.iter_mut().zip(gk.iter().zip(&gv)) {
            *g = *g + a + b;
        }
        return g;
    }
    let mut g = vec![E::zero(); x.len()];
    if !parallel(p) {
        let mut scr = GemmScratch::default();
        for pair in 0..p.pairs() {
            let grads = Grads::Shared(&mut g[..], (pair / p.heads, pair % p.heads));
            attention_gemm::backward_pair(p, x, x, x, mask, out, lse, gout, pair, grads, &mut scr);
        }
        return g;
    }
    #[cfg(feature = "std")]
    {
        use rayon::prelude::*;
        type Blocks<E> = (Vec<E>, Vec<E>, Vec<E>);
        let blocks: Vec<Blocks<E>> = (0..p.pairs())
            .into_par_iter()
            .map_init(GemmScratch::default, |scr, pair| {
                let mut bq = vec![E::zero(); p.nq * p.dqk];
                let mut bk = vec![E::zero(); p.nkv * p.dqk];
                let mut bv = vec![E::zero(); p.nkv * p.dv];
                let grads = Grads::Separate(
                    Some((&mut bq[..], block(p.dqk), (0, 0))),
                    Some((&mut bk[..], block(p.dqk), (0, 0))),
                    Some((&mut bv[..], block(p.dv), (0, 0))),
                );
                attention_gemm::backward_pair(p, x, x, x, mask, out, lse, gout, pair, grads, scr);
                (bq, bk, bv)
            })
            .collect();
        for (pair, (bq, bk, bv)) in blocks.iter().enumerate() {
            let (b, h) = (pair / p.heads, pair % p.heads);
            scatter_add(&mut g, &p.q, b, h, bq, p.nq, p.dqk);
            scatter_add(&mut g, &p.k, b, h, bk, p.nkv, p.dqk);
            scatter_add(&mut g, &p.v, b, h, bv, p.nkv, p.dv);
        }
    }
    g
}

macro_rules! attention_impl {
    ($($e:ty),*) => {$(
        impl AttentionKernel<$e> for Cpu {
            fn attention(
                &self,
                p: &AttentionParams,
                q: &CpuStorage<$e>,
                k: &CpuStorage<$e>,
                v: &CpuStorage<$e>,
                mask: Option<&CpuStorage<bool>>,
            ) -> (CpuStorage<$e>, CpuStorage<$e>) {
                let (o, l) = forward(p, q, k, v, mask.map(|m| m.as_slice()));
                (CpuStorage::new(o), CpuStorage::new(l))
            }

            fn attention_backward(
                &self,
                p: &AttentionParams,
                q: &CpuStorage<$e>,
                k: &CpuStorage<$e>,
                v: &CpuStorage<$e>,
                mask: Option<&CpuStorage<bool>>,
                out: &CpuStorage<$e>,
                lse: &CpuStorage<$e>,
                gout: &CpuStorage<$e>,
                want: AttentionWant,
            ) -> AttentionGrads<CpuStorage<$e>> {
                let (a, b, c) =
                    backward(p, q, k, v, mask.map(|m| m.as_slice()), out, lse, gout, want);
                (a.map(CpuStorage::new), b.map(CpuStorage::new), c.map(CpuStorage::new))
            }

            fn attention_backward_shared(
                &self,
                p: &AttentionParams,
                x: &CpuStorage<$e>,
                mask: Option<&CpuStorage<bool>>,
                out: &CpuStorage<$e>,
                lse: &CpuStorage<$e>,
                gout: &CpuStorage<$e>,
            ) -> CpuStorage<$e> {
                CpuStorage::new(backward_shared(p, x, mask.map(|m| m.as_slice()), out, lse, gout))
            }
        }
    )*};
}
attention_impl!(f32, f64);
