//! Construction: PyTorch's initialisation, dropout, the cache.

use super::{Block, CausalSelfAttention, Gpt, KvCache, Mlp, Width};
use crate::backend::Backend;
use crate::dtype::Dtype;
use crate::nn::{Dropout, Embedding, LayerNorm, LearnedPositionalEmbedding, Linear, GELU};
use crate::shape::StaticDim;
use core::marker::PhantomData;

#[rustfmt::skip]
impl<V: StaticDim, Tmax: StaticDim, Dm: Width, H: StaticDim, Hid: Width, const L: usize, E: Dtype, D: Backend>
    Gpt<V, Tmax, Dm, H, Hid, L, E, D>
{
    /// PyTorch's default initialisation (`nn.Embedding` N(0, 1), `nn.Linear`
    /// uniform, LayerNorm ones and zeros), no dropout. `H` must divide `Dm`
    /// (a compile error otherwise).
    pub fn new(device: &D) -> Self where Dm: crate::nn::HeadsVerdict<H>, crate::nn::HeadsGot<Dm, H>: crate::shape::HeadsDoNotDivide<crate::nn::HeadsExp<Dm, H>> {
        let block = || Block {
            ln1: LayerNorm::new(device),
            attn: CausalSelfAttention { qkv: Linear::new(device), proj: Linear::new(device), attn_dropout: 0.0, resid_drop: Dropout::new(0.0), heads: PhantomData },
            ln2: LayerNorm::new(device),
            mlp: Mlp(Linear::new(device), GELU, Linear::new(device), Dropout::new(0.0)),
        };
        Gpt { tok_emb: Embedding::new(device), pos_emb: LearnedPositionalEmbedding::new(device), drop: Dropout::new(0.0),
              blocks: core::array::from_fn(|_| block()), ln_f: LayerNorm::new(device), head: Linear::new(device) }
    }

    /// The same model with dropout `p` on the embeddings, the attention
    /// weights and both residual branches (nanoGPT's placement). Panics
    /// unless `0 <= p <= 1`.
    pub fn with_dropout(mut self, p: f64) -> Self {
        self.drop = Dropout::new(p);
        for b in &mut self.blocks {
            (b.attn.attn_dropout, b.attn.resid_drop, b.mlp.3) = (p, Dropout::new(p), Dropout::new(p));
        }
        self
    }

    /// The context length `Tmax`.
    pub fn context(&self) -> usize { Tmax::USIZE }

    /// A KV cache for `batch` sequences of up to `Tmax` tokens.
    pub fn kv_cache(&self, batch: usize) -> KvCache<E, D> {
        KvCache::new(L, batch, Tmax::USIZE, Dm::USIZE, H::USIZE, self.head.weight.device())
    }
}
