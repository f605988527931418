//! [`AttentionKernel`]: the score matrix of a call (`pairs·nq·nkv`) is
//! materialised in a scratch buffer and every step is a simple kernel, one
//! thread per output element except the softmax (one block per query row,
//! shared-memory max and sum). Forward: scores (scaled `q·k`, the mask read
//! in place, causal bottom-right), softmax with log-sum-exp and dropout,
//! `o = P·V`. Backward: scores again, `P = exp(s - lse)`, `di = o·do`,
//! `dS = P ⊙ (dP·z - di)·scale` with `dP = do·Vᵀ`, then `dQ = dS·K`,
//! `dK = dSᵀ·Q`, `dV = (P·z)ᵀ·do`, each added into its operand's buffer
//! through its view. Dropout uses the CPU's counter hash
//! ([`crate::ops::attention::dropout_keep`], ported to CUDA C), so both
//! devices drop the same weights.
//!
//! Gradients are added with `atomicAdd`: a view may read one element for
//! several pairs (a key shared by heads) and a shared `q/k/v` buffer takes
//! all three gradients, so writes may meet; when they do not, each element
//! receives one add per kernel and the result is deterministic.

use super::compile::KernelSource;
use super::conv::per_item;
use super::{launch, Cuda, CudaStorage};
use crate::dtype::Dtype;
use crate::ops::attention::{
    dropout_threshold, AttentionGrads, AttentionKernel, AttentionParams, AttentionView,
    AttentionWant,
};
use cudarc::driver::{CudaSlice, DeviceRepr, PushKernelArg};

/// One call's sizes, layouts and options, passed by value (the C struct
/// `AttnArgs`; every field 8 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
struct AttnArgs {
    pairs: u64,
    heads: u64,
    nq: u64,
    nkv: u64,
    dqk: u64,
    dv: u64,
    q: [u64; 4],
    k: [u64; 4],
    v: [u64; 4],
    o: [u64; 4],
    causal: u64,
    has_mask: u64,
    mask_pairs: u64,
    mask_block: u64,
    mask_row: u64,
    dropout: u64,
    seed: u64,
    threshold: u64,
    scale: f64,
    kept: f64,
}

// SAFETY: `#[repr(C)]`, every field an 8-byte u64/f64 (arrays of u64), in
// the order of the C struct `AttnArgs` (unsigned long long / double
// fields, views as four unsigned long long each): same size and layout.
unsafe impl DeviceRepr for AttnArgs {}

fn view(v: &AttentionView) -> [u64; 4] {
    [v.offset as u64, v.batch as u64, v.head as u64, v.row as u64]
}

impl AttnArgs {
    fn new(p: &AttentionParams, has_mask: bool) -> Self {
        let u = |v: usize| v as u64;
        AttnArgs {
            pairs: u(p.pairs()),
            heads: u(p.heads.max(1)),
            nq: u(p.nq),
            nkv: u(p.nkv),
            dqk: u(p.dqk),
            dv: u(p.dv),
            q: view(&p.q),
            k: view(&p.k),
            v: view(&p.v),
            o: view(&p.out),
            causal: u64::from(p.causal),
            has_mask: u64::from(has_mask),
            mask_pairs: u(p.mask_pairs.max(1)),
            mask_block: u(p.mask_block),
            mask_row: u(p.mask_row),
            dropout: u64::from(p.dropout > 0.0),
            seed: p.seed,
            threshold: dropout_threshold(p.dropout),
            scale: p.scale,
            kept: if p.dropout < 1.0 {
                1.0 / (1.0 - p.dropout)
            } else {
                0.0
            },
        }
    }
}

/// The attention kernels.
pub const ATTENTION: KernelSource = KernelSource {
    name: "attention",
    code: r#"
// NVRTC has no math.h: +inf from its bits.
#define INF ((T)__longlong_as_double(0x7ff0000000000000ULL))
struct View { usize_t off, b, h, r; };
struct AttnArgs {
    usize_t pairs, heads, nq, nkv, dqk, dv;
    View q, k, v, o;
    usize_t causal, has_mask, mask_pairs, mask_block, mask_row, dropout, seed, threshold;
    double scale, kept;
};

__device__ usize_t at(View v, usize_t pair, usize_t heads, usize_t i) {
    return v.off + (pair / heads) * v.b + (pair % heads) * v.h + i * v.r;
}

// The last key query i may see (exclusive): j + nq <= i + nkv when causal.
__device__ usize_t key_end(const AttnArgs &a, usize_t i) {
    if (!a.causal) return a.nkv;
    usize_t e = i + 1 + a.nkv;
    e = e > a.nq ? e - a.nq : 0;
    return e < a.nkv ? e : a.nkv;
}

// typegrad::ops::attention::dropout_keep, bit for bit.
__device__ bool dropout_keep(usize_t seed, usize_t index, usize_t threshold) {
    usize_t z = seed ^ (index * 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    return (z >> 32) >= threshold;
}

__device__ T keep_factor(const AttnArgs &a, usize_t index) {
    if (!a.dropout) return (T)1;
    return dropout_keep(a.seed, index, a.threshold) ? (T)a.kept : (T)0;
}

// s[pair, i, j] = scale·q_i·k_j, or -inf for a key the query may not see.
extern "C" __global__ void attn_scores(T *s, const T *q, const T *k, const bool *mask, AttnArgs a) {
    T scale = (T)a.scale;
    GRID_STRIDE(x, a.pairs * a.nq * a.nkv) {
        usize_t j = x % a.nkv, t = x / a.nkv;
        usize_t i = t % a.nq, pair = t / a.nq;
        bool ok = j < key_end(a, i);
        if (ok && a.has_mask) ok = mask[(pair / a.mask_pairs) * a.mask_block + i * a.mask_row + j];
        if (!ok) { s[x] = -INF; continue; }
        const T *qr = q + at(a.q, pair, a.heads, i);
        const T *kr = k + at(a.k, pair, a.heads, j);
        ACC acc = 0;
        for (usize_t c = 0; c < a.dqk; c++) acc += (qr[c] * scale) * kr[c];
        s[x] = (T)acc;
    }
}

// One block per query row: max, Σ exp, lse = max + ln Σ, then the row
// becomes the (dropped-out) weights. A row with every key masked: lse =
// +inf and zero weights.
extern "C" __global__ void attn_softmax(T *s, T *lse, AttnArgs a) {
    __shared__ ACC sh[256];
    for (usize_t row = blockIdx.x; row < a.pairs * a.nq; row += gridDim.x) {
        T *sr = s + row * a.nkv;
        ACC m = -INF;
        for (usize_t j = threadIdx.x; j < a.nkv; j += blockDim.x) m = sr[j] > m ? sr[j] : m;
        sh[threadIdx.x] = m;
        __syncthreads();
        for (unsigned w = blockDim.x / 2; w > 0; w >>= 1) {
            if (threadIdx.x < w && sh[threadIdx.x + w] > sh[threadIdx.x]) sh[threadIdx.x] = sh[threadIdx.x + w];
            __syncthreads();
        }
        m = sh[0];
        __syncthreads();
        if (m == -INF) {
            for (usize_t j = threadIdx.x; j < a.nkv; j += blockDim.x) sr[j] = 0;
            if (threadIdx.x == 0) lse[row] = INF;
            continue;
        }
        ACC l = 0;
        for (usize_t j = threadIdx.x; j < a.nkv; j += blockDim.x) {
            T e = exp(sr[j] - (T)m);
            sr[j] = e;
            l += e;
        }
        sh[threadIdx.x] = l;
        __syncthreads();
        for (unsigned w = blockDim.x / 2; w > 0; w >>= 1) {
            if (threadIdx.x < w) sh[threadIdx.x] += sh[threadIdx.x + w];
            __syncthreads();
        }
        l = sh[0];
        __syncthreads();
        T inv = (T)1 / (T)l;
        for (usize_t j = threadIdx.x; j < a.nkv; j += blockDim.x)
            sr[j] = sr[j] * inv * keep_factor(a, row * a.nkv + j);
        if (threadIdx.x == 0) lse[row] = (T)m + log((T)l);
    }
}

// o_i = Σ_j w_ij v_j, written through the output view.
extern "C" __global__ void attn_out(T *o, const T *w, const T *v, AttnArgs a) {
    GRID_STRIDE(x, a.pairs * a.nq * a.dv) {
        usize_t c = x % a.dv, t = x / a.dv;
        usize_t i = t % a.nq, pair = t / a.nq;
        const T *wr = w + (pair * a.nq + i) * a.nkv;
        usize_t end = key_end(a, i);
        ACC acc = 0;
        for (usize_t j = 0; j < end; j++) acc += wr[j] * v[at(a.v, pair, a.heads, j) + c];
        o[at(a.o, pair, a.heads, i) + c] = (T)acc;
    }
}

// Backward: the probabilities exp(s - lse) (0 for a fully masked row).
extern "C" __global__ void attn_probs(T *s, const T *lse, AttnArgs a) {
    GRID_STRIDE(x, a.pairs * a.nq * a.nkv) {
        T l = lse[x / a.nkv];
        s[x] = isfinite(l) ? exp(s[x] - l) : (T)0;
    }
}

// di = o_i · do_i.
extern "C" __global__ void attn_di(T *di, const T *o, const T *g, AttnArgs a) {
    GRID_STRIDE(x, a.pairs * a.nq) {
        usize_t i = x % a.nq, pair = x / a.nq;
        usize_t r = at(a.o, pair, a.heads, i);
        ACC acc = 0;
        for (usize_t c = 0; c < a.dv; c++) acc += o[r + c] * g[r + c];
        di[x] = (T)acc;
    }
}

// ds = p (z·do_i·v_j - di)·scale; p becomes p·z (the weights dV needs).
extern "C" __global__ void attn_ds(T *ds, T *p, const T *v, const T *g, const T *di, AttnArgs a) {
    T scale = (T)a.scale;
    GRID_STRIDE(x, a.pairs * a.nq * a.nkv) {
        T pj = p[x];
        if (pj == (T)0) { ds[x] = 0; continue; }
        usize_t j = x % a.nkv, t = x / a.nkv;
        usize_t i = t % a.nq, pair = t / a.nq;
        const T *gr = g + at(a.o, pair, a.heads, i);
        const T *vr = v + at(a.v, pair, a.heads, j);
        ACC dp = 0;
        for (usize_t c = 0; c < a.dv; c++) dp += gr[c] * vr[c];
        T z = keep_factor(a, x);
        ds[x] = pj * ((T)dp * z - di[t]) * scale;
        p[x] = pj * z;
    }
}

// dQ_i += Σ_j ds_ij k_j.
extern "C" __global__ void attn_dq(T *gq, const T *ds, const T *k, AttnArgs a) {
    GRID_STRIDE(x, a.pairs * a.nq * a.dqk) {
        usize_t c = x % a.dqk, t = x / a.dqk;
        usize_t i = t % a.nq, pair = t / a.nq;
        const T *dr = ds + t * a.nkv;
        usize_t end = key_end(a, i);
        ACC acc = 0;
        for (usize_t j = 0; j < end; j++) acc += dr[j] * k[at(a.k, pair, a.heads, j) + c];
        atomicAdd(&gq[at(a.q, pair, a.heads, i) + c], (T)acc);
    }
}

// dK_j += Σ_i ds_ij q_i.
extern "C" __global__ void attn_dk(T *gk, const T *ds, const T *q, AttnArgs a) {
    GRID_STRIDE(x, a.pairs * a.nkv * a.dqk) {
        usize_t c = x % a.dqk, t = x / a.dqk;
        usize_t j = t % a.nkv, pair = t / a.nkv;
        const T *dp = ds + pair * a.nq * a.nkv + j;
        ACC acc = 0;
        for (usize_t i = 0; i < a.nq; i++) acc += dp[i * a.nkv] * q[at(a.q, pair, a.heads, i) + c];
        atomicAdd(&gk[at(a.k, pair, a.heads, j) + c], (T)acc);
    }
}

// dV_j += Σ_i (p·z)_ij do_i.
extern "C" __global__ void attn_dv(T *gv, const T *w, const T *g, AttnArgs a) {
    GRID_STRIDE(x, a.pairs * a.nkv * a.dv) {
        usize_t c = x % a.dv, t = x / a.dv;
        usize_t j = t % a.nkv, pair = t / a.nkv;
        const T *wp = w + pair * a.nq * a.nkv + j;
        ACC acc = 0;
        for (usize_t i = 0; i < a.nq; i++) acc += wp[i * a.nkv] * g[at(a.o, pair, a.heads, i) + c];
        atomicAdd(&gv[at(a.v, pair, a.heads, j) + c], (T)acc);
    }
}
"#,
    elems: &["f32", "f64"],
};

/// Launch attention kernel `$func` over `$n` items (threads, or blocks
/// when `$rows`), with the pointer arguments in the kernel's order, then
/// the `AttnArgs`.
macro_rules! attn_launch {
    ($dev:expr, $elem:expr, $func:expr, $n:expr, $rows:expr, $a:expr, [$($arg:expr),*]) => {{
        let n: usize = $n;
        if n > 0 {
            let f = $dev.kernel(&ATTENTION, $elem, $func);
            let mut l = $dev.stream().launch_builder(&f);
            $(l.arg($arg);)*
            l.arg($a);
            let cfg = if $rows { per_item(n) } else { launch::elementwise(n) };
            // SAFETY: every attention kernel indexes the scratch buffers
            // below pairs·nq·nkv (their size), the operands through their
            // views at rows < nq / nkv and columns < dqk / dv (the extents
            // the AttentionParams contract gives the buffers), the mask at
            // mask_block / mask_row offsets of the keys the call covers;
            // the pointers come in the kernel's order, then AttnArgs by
            // value, as its signature says.
            unsafe { l.launch(cfg) }.unwrap_or_else(|e| $dev.fail($func, e));
        }
    }};
}

impl Cuda {
    fn attn_zeros<T: crate::dtype::Elem>(&self, n: usize) -> CudaSlice<T> {
        self.zeros::<T>(n)
    }

    /// The weights (or probabilities) of a call into `s`, scores first.
    fn attn_scores<E: Dtype>(
        &self,
        a: &AttnArgs,
        s: &mut CudaSlice<E>,
        q: &CudaStorage<E>,
        k: &CudaStorage<E>,
        mask: &CudaSlice<bool>,
    ) {
        let n = (a.pairs * a.nq * a.nkv) as usize;
        attn_launch!(
            self,
            E::NAME,
            "attn_scores",
            n,
            false,
            a,
            [&mut *s, q.slice(), k.slice(), mask]
        );
    }

    /// The backward's shared part: the weights `P·z` and `dS`, each
    /// `pairs·nq·nkv` (None when the call has no scores).
    #[allow(clippy::too_many_arguments)]
    fn attn_backward_prep<E: Dtype>(
        &self,
        p: &AttentionParams,
        q: &CudaStorage<E>,
        k: &CudaStorage<E>,
        v: &CudaStorage<E>,
        mask: Option<&CudaStorage<bool>>,
        out: &CudaStorage<E>,
        lse: &CudaStorage<E>,
        gout: &CudaStorage<E>,
    ) -> Option<(AttnArgs, CudaSlice<E>, CudaSlice<E>)> {
        let a = AttnArgs::new(p, mask.is_some());
        let (pairs, nq, nkv) = (p.pairs(), p.nq, p.nkv);
        if pairs == 0 || nq == 0 || nkv == 0 {
            return None;
        }
        let dummy;
        let m = match mask {
            Some(m) => m.slice(),
            None => {
                dummy = self.attn_zeros::<bool>(1);
                &dummy
            }
        };
        let ns = pairs * nq * nkv;
        let mut s = self.alloc::<E>(ns);
        self.attn_scores(&a, &mut s, q, k, m);
        attn_launch!(
            self,
            E::NAME,
            "attn_probs",
            ns,
            false,
            &a,
            [&mut s, lse.slice()]
        );
        let mut di = self.alloc::<E>(pairs * nq);
        attn_launch!(
            self,
            E::NAME,
            "attn_di",
            pairs * nq,
            false,
            &a,
            [&mut di, out.slice(), gout.slice()]
        );
        let mut ds = self.alloc::<E>(ns);
        attn_launch!(
            self,
            E::NAME,
            "attn_ds",
            ns,
            false,
            &a,
            [&mut ds, &mut s, v.slice(), gout.slice(), &di]
        );
        Some((a, s, ds))
    }

    /// `target += ` one gradient: `attn_dq` (`src` = dS, `operand` = K),
    /// `attn_dk` (dS, Q) or `attn_dv` (P·z, dO).
    fn attn_grad<E: Dtype>(
        &self,
        func: &'static str,
        a: &AttnArgs,
        target: &mut CudaSlice<E>,
        src: &CudaSlice<E>,
        operand: &CudaStorage<E>,
    ) {
        let (rows, width) = match func {
            "attn_dq" => (a.nq, a.dqk),
            "attn_dk" => (a.nkv, a.dqk),
            _ => (a.nkv, a.dv),
        };
        let n = (a.pairs * rows * width) as usize;
        attn_launch!(
            self,
            E::NAME,
            func,
            n,
            false,
            a,
            [target, src, operand.slice()]
        );
    }
}

impl<E: Dtype> AttentionKernel<E> for Cuda {
    fn attention(
        &self,
        p: &AttentionParams,
        q: &Self::Storage<E>,
        k: &Self::Storage<E>,
        v: &Self::Storage<E>,
        mask: Option<&Self::Storage<bool>>,
    ) -> (Self::Storage<E>, Self::Storage<E>) {
        let (pairs, nq, nkv) = (p.pairs(), p.nq, p.nkv);
        // Zeros: a view that skips elements leaves them 0, as on the CPU.
        let mut out = self.zeros::<E>(pairs * nq * p.dv);
        let mut lse = self.alloc::<E>(pairs * nq);
        if pairs == 0 || nq == 0 {
            return (CudaStorage::new(out), CudaStorage::new(lse));
        }
        let a = AttnArgs::new(p, mask.is_some());
        let dummy;
        let m = match mask {
            Some(m) => m.slice(),
            None => {
                dummy = self.attn_zeros::<bool>(1);
                &dummy
            }
        };
        // No keys: every row is fully masked (a 1-wide scratch of -inf is
        // never read past nkv = 0; the softmax writes lse = +inf).
        let mut s = self.alloc::<E>((pairs * nq * nkv).max(1));
        self.attn_scores(&a, &mut s, q, k, m);
        attn_launch!(
            self,
            E::NAME,
            "attn_softmax",
            pairs * nq,
            true,
            &a,
            [&mut s, &mut lse]
        );
        attn_launch!(
            self,
            E::NAME,
            "attn_out",
            pairs * nq * p.dv,
            false,
            &a,
            [&mut out, &s, v.slice()]
        );
        (CudaStorage::new(out), CudaStorage::new(lse))
    }

    #[allow(clippy::too_many_arguments)]
    fn attention_backward(
        &self,
        p: &AttentionParams,
        q: &Self::Storage<E>,
        k: &Self::Storage<E>,
        v: &Self::Storage<E>,
        mask: Option<&Self::Storage<bool>>,
        out: &Self::Storage<E>,
        lse: &Self::Storage<E>,
        gout: &Self::Storage<E>,
        want: AttentionWant,
    ) -> AttentionGrads<Self::Storage<E>> {
        let mut gq = want.q.then(|| self.attn_zeros::<E>(q.len()));
        let mut gk = want.k.then(|| self.attn_zeros::<E>(k.len()));
        let mut gv = want.v.then(|| self.attn_zeros::<E>(v.len()));
        if want.q || want.k || want.v {
            if let Some((a, w, ds)) = self.attn_backward_prep(p, q, k, v, mask, out, lse, gout) {
                if let Some(g) = gq.as_mut() {
                    self.attn_grad("attn_dq", &a, g, &ds, k);
                }
                if let Some(g) = gk.as_mut() {
                    self.attn_grad("attn_dk", &a, g, &ds, q);
                }
                if let Some(g) = gv.as_mut() {
                    self.attn_grad("attn_dv", &a, g, &w, gout);
                }
            }
        }
        // zeros() allocates at least one element; an empty operand gets an
        // empty gradient.
        let wrap = |g: CudaSlice<E>, n: usize| {
            CudaStorage::new(if n == 0 { self.alloc::<E>(0) } else { g })
        };
        (
            gq.map(|g| wrap(g, q.len())),
            gk.map(|g| wrap(g, k.len())),
            gv.map(|g| wrap(g, v.len())),
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn attention_backward_shared(
        &self,
        p: &AttentionParams,
        x: &Self::Storage<E>,
        mask: Option<&Self::Storage<bool>>,
        out: &Self::Storage<E>,
        lse: &Self::Storage<E>,
        gout: &Self::Storage<E>,
    ) -> Self::Storage<E> {
        if x.is_empty() {
            return CudaStorage::new(self.alloc::<E>(0));
        }
        let mut g = self.attn_zeros::<E>(x.len());
        // The three gradients are added into one buffer by three kernels,
        // in stream order.
        if let Some((a, w, ds)) = self.attn_backward_prep(p, x, x, x, mask, out, lse, gout) {
            self.attn_grad("attn_dq", &a, &mut g, &ds, x);
            self.attn_grad("attn_dk", &a, &mut g, &ds, x);
            self.attn_grad("attn_dv", &a, &mut g, &w, gout);
        }
        CudaStorage::new(g)
    }
}
