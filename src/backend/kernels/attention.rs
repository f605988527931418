//! The fused attention kernel trait ([`AttentionKernel`]) and its
//! descriptors ([`AttentionParams`], [`AttentionView`], [`AttentionWant`],
//! the dropout pattern [`dropout_keep`]). The typed methods are in
//! `ops/attention/`.

use crate::backend::Backend;
use crate::dtype::Dtype;

/// Where the rows of one operand lie in its buffer: element `(b, h, i, c)`
/// (batch `b`, head `h`, row `i`, column `c`) is at
/// `offset + b·batch + h·head + i·row + c`. Columns are always contiguous.
///
/// A `(B, H, N, d)` tensor is `{ batch: H·N·d, head: N·d, row: d }`; the
/// heads-in-the-last-axis layout `(B, N, H·d)` is `{ batch: N·H·d, head: d,
/// row: H·d }`; a KV cache `(B, H, Tmax, d)` read up to `kv_len` rows is the
/// first with `N = Tmax`.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct AttentionView {
    /// Offset of element `(0, 0, 0, 0)`.
    pub offset: usize,
    /// Elements between batch entries.
    pub batch: usize,
    /// Elements between heads.
    pub head: usize,
    /// Elements between rows.
    pub row: usize,
}

impl AttentionView {
    /// The offset of row `i` of head `h` of batch entry `b`.
    #[inline]
    pub fn at(&self, b: usize, h: usize, i: usize) -> usize {
        self.offset + b * self.batch + h * self.head + i * self.row
    }
}

/// The runtime description of one attention call: sizes, layouts and
/// options. Plain data, so any backend can implement [`AttentionKernel`]
/// from it.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct AttentionParams {
    /// Batch entries (the product of the leading dims).
    pub batch: usize,
    /// Heads per batch entry (1 for the plain op).
    pub heads: usize,
    /// Queries per head.
    pub nq: usize,
    /// Keys (and values) attended per head.
    pub nkv: usize,
    /// Query/key width per head.
    pub dqk: usize,
    /// Value (and output) width per head.
    pub dv: usize,
    /// Layout of `Q` in its buffer.
    pub q: AttentionView,
    /// Layout of `K` in its buffer.
    pub k: AttentionView,
    /// Layout of `V` in its buffer.
    pub v: AttentionView,
    /// Layout of the output (and of its gradient), a dense buffer of
    /// `batch·heads·nq·dv` elements.
    pub out: AttentionView,
    /// Multiplies `Q·Kᵀ`.
    pub scale: f64,
    /// Query `i` sees key `j` only if `j + nq <= i + nkv`.
    pub causal: bool,
    /// A boolean mask (`true` = may attend) is given: pair `p` reads the
    /// `nq × nkv` block at `(p / mask_pairs) · mask_block`, query `i`'s row
    /// at `i · mask_row` in it (see [`AttentionParams::pair_mask`]).
    pub mask: bool,
    /// Consecutive pairs that share one mask block (all pairs: one mask).
    pub mask_pairs: usize,
    /// Elements between the mask blocks of consecutive groups of pairs.
    pub mask_block: usize,
    /// Elements between the mask rows of consecutive queries (0: one row
    /// for every query, a key-padding mask; else `nkv`).
    pub mask_row: usize,
    /// Attention dropout rate (0: none).
    pub dropout: f64,
    /// Seed of the dropout pattern ([`dropout_keep`]).
    pub seed: u64,
}

impl AttentionParams {
    /// The part of the mask buffer pair `pair` reads (its row for query `i`
    /// starts at `i · mask_row`).
    #[inline]
    pub fn pair_mask<'m>(&self, mask: Option<&'m [bool]>, pair: usize) -> Option<&'m [bool]> {
        mask.map(|m| &m[(pair / self.mask_pairs.max(1)) * self.mask_block..])
    }
    /// Number of `(batch, head)` pairs.
    pub fn pairs(&self) -> usize {
        self.batch * self.heads
    }
    /// The last key query `i` may see (exclusive bound), from the causal
    /// alignment `j <= i + nkv - nq`.
    #[inline]
    pub fn key_end(&self, i: usize) -> usize {
        if self.causal {
            (i + 1 + self.nkv).saturating_sub(self.nq).min(self.nkv)
        } else {
            self.nkv
        }
    }
}

/// Whether attention weight `(pair, i, j)` survives dropout with rate `p`
/// under `seed`: a counter-based hash (splitmix64 of the seed and the
/// weight's index `(pair·nq + i)·nkv + j`), so the backward, and any other
/// backend, regenerate the same pattern without storing it. `threshold` is
/// `round(p·2³²)`; a weight is dropped when the hash's high 32 bits are
/// below it.
///
/// ```
/// use typegrad::backend::kernels::attention::{dropout_keep, dropout_threshold};
/// let t = dropout_threshold(0.25);
/// let kept = (0..100_000u64).filter(|&i| dropout_keep(7, i, t)).count();
/// assert!((kept as f64 / 100_000.0 - 0.75).abs() < 0.01);
/// ```
#[inline]
pub fn dropout_keep(seed: u64, index: u64, threshold: u64) -> bool {
    let mut z = seed ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 32) >= threshold
}

/// `round(p·2³²)`, the threshold of [`dropout_keep`] for rate `p`.
#[inline]
pub fn dropout_threshold(p: f64) -> u64 {
    libm::round(p * 4_294_967_296.0) as u64
}

/// Which gradients [`AttentionKernel::attention_backward`] computes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct AttentionWant {
    /// `dQ`.
    pub q: bool,
    /// `dK`.
    pub k: bool,
    /// `dV`.
    pub v: bool,
}

/// `(dQ, dK, dV)`, each present if asked for, each the size and layout of
/// the buffer its operand was read from (zero where the view did not read).
pub type AttentionGrads<S> = (Option<S>, Option<S>, Option<S>);

/// The fused attention kernel.
///
/// Both methods take the plain [`AttentionParams`]; operands are read
/// through their [`AttentionView`]s, so the same kernel serves contiguous
/// `(B, H, N, d)` tensors, the heads-in-the-last-axis layout of a
/// projection, and a preallocated KV cache read up to `nkv` rows.
///
/// No provided methods: a backend implements both (the CPU one is
/// `backend/cpu/attention.rs`; its per-row algorithm is the reference
/// for others).
pub trait AttentionKernel<E: Dtype>: Backend {
    /// The output (dense, `p.out` layout) and the log-sum-exp of each
    /// query's scaled, masked scores (dense `batch·heads·nq`, `+inf` for a
    /// query with every key masked, whose output is zeros).
    fn attention(
        &self,
        p: &AttentionParams,
        q: &Self::Storage<E>,
        k: &Self::Storage<E>,
        v: &Self::Storage<E>,
        mask: Option<&Self::Storage<bool>>,
    ) -> (Self::Storage<E>, Self::Storage<E>);

    /// The gradients of `Q`, `K`, `V` for the output gradient `gout`, given
    /// the forward's output and log-sum-exp (probabilities recomputed).
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
    ) -> AttentionGrads<Self::Storage<E>>;

    /// The gradient of one buffer `x` read as `Q`, `K` and `V` at once (a
    /// packed q/k/v projection, or self-attention on one tensor): the sum
    /// of the three gradients, in one buffer of `x`'s size. Provided: the
    /// three from [`AttentionKernel::attention_backward`], added; a backend
    /// may write them into one buffer directly (the CPU one does).
    #[allow(clippy::too_many_arguments)]
    fn attention_backward_shared(
        &self,
        p: &AttentionParams,
        x: &Self::Storage<E>,
        mask: Option<&Self::Storage<bool>>,
        out: &Self::Storage<E>,
        lse: &Self::Storage<E>,
        gout: &Self::Storage<E>,
    ) -> Self::Storage<E>
    where
        Self: crate::backend::kernels::binary::BinaryKernel<E>,
    {
        let all = AttentionWant {
            q: true,
            k: true,
            v: true,
        };
        let (gq, gk, gv) = self.attention_backward(p, x, x, x, mask, out, lse, gout, all);
        let mut g = gq.expect("dQ was asked for");
        self.add_assign(&mut g, &gk.expect("dK was asked for"));
        self.add_assign(&mut g, &gv.expect("dV was asked for"));
        g
    }
}
