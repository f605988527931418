//! [`Gpt::forward_cached`]: the forward of new tokens over a [`KvCache`].

use super::{attend, Act, Gpt, KvCache, Width};
use crate::backend::Device;
use crate::dtype::Dtype;
use crate::nn::Module;
use crate::shape::{Dyn, StaticDim};
use crate::tensor::Tensor;

#[rustfmt::skip]
impl<V: StaticDim, Tmax: StaticDim, Dm: Width, H: StaticDim, Hid: Width, const L: usize, E: Dtype, D: Device<E>>
    Gpt<V, Tmax, Dm, H, Hid, L, E, D>
{
    /// The logits of `tokens (B, n)` at positions `pos..pos + n`, reading
    /// the keys and values of positions `0..pos` from `cache` and writing
    /// those of the new tokens into it in place (no copy of the cache).
    /// Panics where [`Gpt::try_forward_cached`] errs.
    pub fn forward_cached(&self, tokens: Tensor<(Dyn, Dyn), usize, D>, pos: usize, cache: &mut KvCache<E, D>) -> Tensor<(Dyn, Dyn, V), E, D> {
        self.try_forward_cached(tokens, pos, cache).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Fallible [`Gpt::forward_cached`]: `pos + n > Tmax`, `pos` past the
    /// cached length, a cache of another batch size, width or depth, or an
    /// id `>= V` is an error.
    pub fn try_forward_cached(&self, tokens: Tensor<(Dyn, Dyn), usize, D>, pos: usize, cache: &mut KvCache<E, D>) -> Result<Tensor<(Dyn, Dyn, V), E, D>, crate::shape::Error> {
        let d = tokens.dims();
        cache.check((d[0], d[1]), pos, L, Dm::USIZE)?;
        let x = self.pos_emb.try_forward_at(self.tok_emb.try_forward(tokens)?, pos)?;
        let mut x: Act<Dm, E, D, _> = x;
        for (i, b) in self.blocks.iter().enumerate() {
            let qkv = b.attn.qkv.forward(b.ln1.forward(x.clone()));
            let y: Act<Dm, E, D, _> = attend::cached(qkv, H::USIZE, pos, cache.layer_mut(i))?;
            x = x + b.attn.proj.forward(y);
            x = x.clone() + b.mlp.forward(b.ln2.forward(x));
        }
        cache.set_len(pos + x.dims()[1]);
        Ok(self.head.forward(self.ln_f.forward(x)))
    }
}
