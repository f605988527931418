//! Attention (book eq. 4.1-4.2): `softmax(Q·Kᵀ·scale + mask) · V`, fused.
//!
//! - [`Tensor::scaled_dot_product_attention`] (and the free function
//!   [`scaled_dot_product_attention`]): `Q (..., Nq, Dqk)`, `K (..., Nkv,
//!   Dqk)`, `V (..., Nkv, Dv)` to `(..., Nq, Dv)`, any leading dims.
//! - [`Tensor::multi_head_attention`]: the same on the layout a projection
//!   gives, `(..., N, H·d)` with the heads side by side in the last axis,
//!   so a multi-head layer needs no transposes around the op.
//!
//! Options ([`AttentionOptions`]): a boolean mask `(Nq, Nkv)` broadcast over
//! the leading dims and heads, or one per batch entry, per head, or per key
//! (key padding, `(B, 1, 1, Nkv)`), read in place (never materialised), a causal mask computed
//! in the kernel (query `i` sees key `j` iff `j <= i + (Nkv - Nq)`,
//! bottom-right aligned as KV-cache decoding needs), attention dropout (in
//! training modes only), the scale (default `1/√Dqk`), and `kv_len`: attend
//! only the first `kv_len` rows of `K`/`V`, which lets a preallocated KV
//! cache be passed as it is, without a copy per token.
//!
//! One fused kernel ([`AttentionKernel`]) each way. The forward saves only
//! the output and each query's log-sum-exp; the backward recomputes the
//! probabilities (as FlashAttention does), so no `Nq × Nkv` matrix is kept
//! between the passes.
//!
//! A query whose keys are all masked out gets an output of zeros and no
//! gradient (PyTorch gives NaN): a padded query must not poison a batch.

mod multi_head;
mod options;
mod sdpa;
mod shape;

pub use options::{AttentionMask, AttentionOptions};
pub(crate) use sdpa::{attention_core, layout};
pub use sdpa::{scaled_dot_product_attention, AttentionTape};
pub use shape::{AttentionDims, AttentionExp, AttentionGot, AttentionShape, AttentionVerdict};

pub use crate::backend::kernels::attention::{
    dropout_keep, dropout_threshold, AttentionGrads, AttentionKernel, AttentionParams,
    AttentionView, AttentionWant,
};
