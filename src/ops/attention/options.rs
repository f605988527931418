//! [`AttentionOptions`]: mask, causal mask, dropout, scale and `kv_len`.

use crate::backend::Backend;
use crate::shape::{Error, Shape};
use crate::tensor::Tensor;
use core::fmt;

/// A boolean mask `(..., Mq, Nkv)`, `true` where query `i` may attend key
/// `j` (PyTorch's `scaled_dot_product_attention` convention; note that
/// `nn.MultiheadAttention`'s boolean `attn_mask` and `key_padding_mask`
/// mean the opposite). Its leading dims broadcast against the call's
/// `(batch..., heads)` dims, right-aligned; `Mq` is `Nq`, or 1 for a mask
/// per key (key padding).
pub struct AttentionMask<'a, D: Backend> {
    pub(crate) data: &'a D::Storage<bool>,
    /// The mask's dims, `dims[..rank]`.
    pub(crate) dims: [usize; MAX_MASK_RANK],
    pub(crate) rank: usize,
}

/// The most axes a mask may have (leading dims, heads, queries, keys).
pub const MAX_MASK_RANK: usize = 6;

impl<D: Backend> AttentionMask<'_, D> {
    pub(crate) fn dims(&self) -> &[usize] {
        &self.dims[..self.rank]
    }
}

impl<D: Backend> Clone for AttentionMask<'_, D> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<D: Backend> Copy for AttentionMask<'_, D> {}

/// How an attention call treats its scores; built from
/// [`AttentionOptions::new`] (no mask, no dropout, scale `1/√Dqk`, every key).
///
/// - [`causal`](AttentionOptions::causal): query `i` sees key `j` iff
///   `j <= i + (Nkv - Nq)` (bottom-right aligned: equal to PyTorch's
///   `is_causal` when `Nq == Nkv`; one new query sees the whole cache).
/// - [`mask`](AttentionOptions::mask): a boolean `(Nq, Nkv)` mask, `true`
///   = may attend, broadcast over the leading dims without a copy. With
///   `causal` both apply.
/// - [`dropout`](AttentionOptions::dropout): drops attention weights with
///   probability `p` (scaling the rest by `1/(1-p)`) when the query's tape
///   is in a training mode ([`crate::autograd::Mode::is_train`]); the
///   pattern comes from the device's seeded stream.
/// - [`scale`](AttentionOptions::scale): replaces `1/√Dqk`.
/// - [`kv_len`](AttentionOptions::kv_len): only the first `kv_len` rows of
///   `K` and `V` take part (a preallocated KV cache of capacity `Tmax`
///   passed as is); the gradients of rows past it are zero.
///
/// A query with every key masked out gets zeros (and no gradient).
///
/// ```
/// use typegrad::ops::attention::AttentionOptions;
/// use typegrad::prelude::*;
/// let dev = Cpu::default();
/// let mask: Tensor<(u!(2), u!(3)), bool> =
///     Tensor::from_vec_static(vec![true, false, true, true, true, false], &dev);
/// let opts = AttentionOptions::new().mask(&mask).dropout(0.1).scale(0.5);
/// assert!(!opts.is_causal());
/// assert_eq!(opts.dropout_rate(), 0.1);
/// ```
pub struct AttentionOptions<'a, D: Backend> {
    pub(crate) mask: Option<AttentionMask<'a, D>>,
    pub(crate) causal: bool,
    pub(crate) dropout: f64,
    pub(crate) scale: Option<f64>,
    pub(crate) kv_len: Option<usize>,
}

impl<D: Backend> Clone for AttentionOptions<'_, D> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<D: Backend> Copy for AttentionOptions<'_, D> {}

impl<D: Backend> Default for AttentionOptions<'_, D> {
    fn default() -> Self {
        AttentionOptions {
            mask: None,
            causal: false,
            dropout: 0.0,
            scale: None,
            kv_len: None,
        }
    }
}

impl<D: Backend> fmt::Debug for AttentionOptions<'_, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AttentionOptions")
            .field("mask", &self.mask.as_ref().map(|m| m.dims()))
            .field("causal", &self.causal)
            .field("dropout", &self.dropout)
            .field("scale", &self.scale)
            .field("kv_len", &self.kv_len)
            .finish()
    }
}

impl<'a, D: Backend> AttentionOptions<'a, D> {
    /// No mask, no dropout, scale `1/√Dqk`, every key.
    pub fn new() -> Self {
        Self::default()
    }
    /// Add the causal mask (computed in the kernel, no tensor).
    ///
    /// ```
    /// use typegrad::ops::attention::AttentionOptions;
    /// use typegrad::prelude::*;
    /// assert!(AttentionOptions::<Cpu>::new().causal().is_causal());
    /// ```
    pub fn causal(mut self) -> Self {
        self.causal = true;
        self
    }
    /// Set the causal mask on or off.
    pub fn with_causal(mut self, causal: bool) -> Self {
        self.causal = causal;
        self
    }
    /// A boolean mask, `true` where a query may attend a key: `(Nq, Nkv)`
    /// shared by every batch entry and head, or with leading dims that
    /// broadcast against the call's `(batch..., heads)` dims, right-aligned
    /// as in PyTorch: for `Q (B, H, Nq, d)`, `(B, 1, Nq, Nkv)` is one mask
    /// per batch entry and `(B, H, Nq, Nkv)` one per head; for
    /// [`multi_head_attention`](crate::tensor::Tensor::multi_head_attention)
    /// on `(B, N, H·d)` the heads are an axis of their own, so the same
    /// shapes apply. A query axis of 1 gives one mask row for every query
    /// (`(B, 1, 1, Nkv)`: key padding). The mask is read in place, never
    /// broadcast into a copy: a mask's leading dims must equal the call's up
    /// to some axis and be 1 after it. Sizes are checked when the op runs.
    ///
    /// ```
    /// use typegrad::ops::attention::AttentionOptions;
    /// use typegrad::prelude::*;
    /// let dev = Cpu::seeded(0);
    /// let q: Tensor<(u!(2), u!(1), u!(3), u!(4))> = Tensor::randn(Default::default(), 0.0, 1.0, &dev);
    /// // Batch entry 0 has 3 real keys, entry 1 only 2 (the last is padding).
    /// let keep = Tensor::<(u!(2), u!(1), u!(1), u!(3)), bool>::from_vec_static(
    ///     vec![true, true, true, true, true, false], &dev);
    /// let opts = AttentionOptions::new().mask(&keep);
    /// let y = q.clone().scaled_dot_product_attention(q.clone(), q, &opts);
    /// assert_eq!(&*y.dims(), &[2, 1, 3, 4]);
    /// ```
    pub fn mask<S: Shape>(mut self, mask: &'a Tensor<S, bool, D>) -> Self {
        let d = mask.dims();
        let mut dims = [0; MAX_MASK_RANK];
        let rank = d.len().min(MAX_MASK_RANK + 1);
        if rank <= MAX_MASK_RANK {
            dims[..rank].copy_from_slice(&d);
        }
        // A rank the kernel cannot take is reported when the op runs.
        self.mask = Some(AttentionMask {
            data: &mask.data,
            dims,
            rank,
        });
        self
    }
    /// Attention dropout with rate `p` (applied in training modes only).
    /// A rate outside `[0, 1]` is an error when the op runs.
    pub fn dropout(mut self, p: f64) -> Self {
        self.dropout = p;
        self
    }
    /// The factor of `Q·Kᵀ` (default `1/√Dqk`).
    pub fn scale(mut self, scale: f64) -> Self {
        self.scale = Some(scale);
        self
    }
    /// Attend only the first `n` rows of `K` and `V` (a KV cache filled up
    /// to `n`); `n` must not exceed their row count.
    ///
    /// ```
    /// use typegrad::ops::attention::AttentionOptions;
    /// use typegrad::prelude::*;
    /// let dev = Cpu::default();
    /// // A cache of capacity 8 holding 3 positions; one new query.
    /// let k_cache: Tensor<(u!(1), u!(2), u!(8), u!(4)), f32> = Tensor::ones(Default::default(), &dev);
    /// let v_cache = k_cache.clone();
    /// let q: Tensor<(u!(1), u!(2), u!(1), u!(4)), f32> = Tensor::ones(Default::default(), &dev);
    /// let y = q.scaled_dot_product_attention(k_cache, v_cache, &AttentionOptions::new().kv_len(3).causal());
    /// assert_eq!(y.to_vec(), vec![1.0; 8]);
    /// ```
    pub fn kv_len(mut self, n: usize) -> Self {
        self.kv_len = Some(n);
        self
    }
    /// Whether the causal mask is on.
    pub fn is_causal(&self) -> bool {
        self.causal
    }
    /// The dropout rate.
    pub fn dropout_rate(&self) -> f64 {
        self.dropout
    }
    /// Check the rate.
    pub(crate) fn check(&self, op: &'static str) -> Result<(), Error> {
        let _ = op;
        if !(0.0..=1.0).contains(&self.dropout) {
            return Err(Error::Invalid(
                "attention: the dropout rate p must be in [0, 1]",
            ));
        }
        if self.scale.is_some_and(|s| !s.is_finite()) {
            return Err(Error::Invalid("attention: the scale must be finite"));
        }
        Ok(())
    }
}
