//! GPT (book fig. 5.8): a decoder-only Transformer language model, with a
//! KV cache for generation. The model is `GPTMini` of the PyTorch peer
//! (`benches/peers/torch_bench.py`), parameter names included, so its
//! `state_dict` saved as safetensors loads 1:1.
//!
//! Activations are `(B, T, Dm)` with `B` and `T` known at run time.

mod attend;
mod build;
mod cache;
mod cached;
mod generate;

pub use cache::KvCache;
pub use generate::Sampling;

use crate::autograd::Tracking;
use crate::backend::{Backend, Cpu, Device};
use crate::dtype::Dtype;
use crate::nn::{Dropout, Embedding, LayerNorm, LearnedPositionalEmbedding, Linear, Module, GELU};
use crate::shape::{Agree, BroadcastDim, DimVerdict, Dyn, MulDim, Prod, StaticDim};
use crate::tensor::Tensor;
use core::marker::PhantomData;
use typenum::{U128, U3, U4, U512, U64, U96};

/// A static feature width the model's layers can check against itself
/// (every `typenum` number is one); [`Triple`] of it is the fused q, k, v
/// width.
#[rustfmt::skip]
pub trait Width: StaticDim + DimVerdict<Self, Got = Agree, Exp = Agree> + BroadcastDim<Self, Output = Self> + MulDim<U3, Output: StaticDim> {}
#[rustfmt::skip]
impl<W: StaticDim + DimVerdict<W, Got = Agree, Exp = Agree> + BroadcastDim<W, Output = W> + MulDim<U3, Output: StaticDim>> Width for W {}
/// `3·Dm`: q, k and v side by side.
pub type Triple<Dm> = Prod<Dm, U3>;
/// Activations `(B, T, Dm)` on tape `T`.
pub type Act<Dm, E, D, T> = Tensor<(Dyn, Dyn, Dm), E, D, T>;

/// Causal multi-head self-attention: one fused `Linear(Dm, 3·Dm)` gives q,
/// k, v side by side; the fused attention op reads each head in place.
#[derive(Clone, Debug, crate::nn::Module)]
#[module(crate = crate)]
pub struct CausalSelfAttention<Dm: Width, H: StaticDim, E: Dtype = f32, D: Backend = Cpu> {
    /// `qkv.weight (3·Dm, Dm)`: rows `0..Dm` make q, then k, then v.
    pub qkv: Linear<Dm, Triple<Dm>, E, D>,
    /// `proj.weight (Dm, Dm)`: the heads merged back.
    pub proj: Linear<Dm, Dm, E, D>,
    /// Attention-weight dropout rate (training modes only).
    #[module(skip)]
    pub attn_dropout: f64,
    /// Dropout on the output (the residual branch).
    pub resid_drop: Dropout,
    #[module(skip)]
    heads: PhantomData<H>,
}

/// The feed-forward block, PyTorch's `Sequential(Linear, GELU, Linear)`
/// (names `mlp.0`, `mlp.2`), then residual dropout.
#[derive(Clone, Debug, crate::nn::Module)]
#[module(crate = crate)]
pub struct Mlp<Dm: Width, Hidden: Width, E: Dtype = f32, D: Backend = Cpu>(
    pub Linear<Dm, Hidden, E, D>,
    pub GELU,
    pub Linear<Hidden, Dm, E, D>,
    pub Dropout,
);

/// A pre-LN block: `x + attn(ln1(x))`, then `x + mlp(ln2(x))`.
#[derive(Clone, Debug, crate::nn::Module)]
#[module(crate = crate)]
pub struct Block<Dm: Width, H: StaticDim, Hidden: Width, E: Dtype = f32, D: Backend = Cpu> {
    /// LayerNorm before attention.
    pub ln1: LayerNorm<Dm, E, D>,
    /// Causal self-attention.
    pub attn: CausalSelfAttention<Dm, H, E, D>,
    /// LayerNorm before the MLP.
    pub ln2: LayerNorm<Dm, E, D>,
    /// The MLP.
    pub mlp: Mlp<Dm, Hidden, E, D>,
}

/// GPT with vocabulary `V`, context `Tmax`, model width `Dm`, `H` heads,
/// MLP width `Hidden` and `L` blocks: learned positions, pre-LN blocks, a
/// final LayerNorm and an untied head with bias. Dropout (embedding,
/// attention, residual) is off unless [`Gpt::with_dropout`].
///
/// ```
/// use typegrad::models::GptMini;
/// use typegrad::nn::{Module, Params};
/// use typegrad::prelude::*;
/// let dev = Cpu::seeded(0);
/// let gpt: GptMini = GptMini::new(&dev);
/// assert_eq!(gpt.num_params(), 826_208);
/// let ids = Tensor::<(Dyn, Dyn), usize>::from_vec((Dyn(2), Dyn(5)), vec![1; 10], &dev);
/// let logits = gpt.forward(ids); // Tensor<(Dyn, Dyn, U96)>
/// assert_eq!(&*logits.dims(), &[2, 5, 96]);
/// ```
#[derive(Clone, Debug, crate::nn::Module)]
#[module(crate = crate)]
#[rustfmt::skip]
pub struct Gpt<V: StaticDim, Tmax: StaticDim, Dm: Width, H: StaticDim, Hidden: Width, const L: usize, E: Dtype = f32, D: Backend = Cpu> {
    /// Token embedding `(V, Dm)`.
    pub tok_emb: Embedding<V, Dm, E, D>,
    /// Learned positions `(Tmax, Dm)`.
    pub pos_emb: LearnedPositionalEmbedding<Tmax, Dm, E, D>,
    /// Dropout on the embeddings.
    pub drop: Dropout,
    /// The blocks, `blocks.0` to `blocks.{L-1}`.
    pub blocks: [Block<Dm, H, Hidden, E, D>; L],
    /// Final LayerNorm.
    pub ln_f: LayerNorm<Dm, E, D>,
    /// Logits, `Linear(Dm, V)` with bias.
    pub head: Linear<Dm, V, E, D>,
}

/// The peer's GPT-mini: vocabulary 96, context 64, 4 layers of 4 heads,
/// width 128, MLP 512; 826,208 parameters.
pub type GptMini<E = f32, D = Cpu> = Gpt<U96, U64, U128, U4, U512, 4, E, D>;

impl<Dm: Width, H: StaticDim, E: Dtype, D: Device<E>, T: Tracking<E, D>> Module<Act<Dm, E, D, T>>
    for CausalSelfAttention<Dm, H, E, D>
{
    type Output = Act<Dm, E, D, T>;
    fn forward(&self, x: Act<Dm, E, D, T>) -> Self::Output {
        let qkv = self.qkv.forward(x); // (B, T, 3·Dm)
        let y: Act<Dm, E, D, T> = attend::causal(qkv, H::USIZE, self.attn_dropout);
        self.resid_drop.forward(self.proj.forward(y))
    }
}

impl<Dm: Width, Hid: Width, E: Dtype, D: Device<E>, T: Tracking<E, D>> Module<Act<Dm, E, D, T>>
    for Mlp<Dm, Hid, E, D>
{
    type Output = Act<Dm, E, D, T>;
    fn forward(&self, x: Act<Dm, E, D, T>) -> Self::Output {
        self.3
            .forward(self.2.forward(self.1.forward(self.0.forward(x))))
    }
}

impl<Dm: Width, H: StaticDim, Hid: Width, E: Dtype, D: Device<E>, T: Tracking<E, D>>
    Module<Act<Dm, E, D, T>> for Block<Dm, H, Hid, E, D>
{
    type Output = Act<Dm, E, D, T>;
    fn forward(&self, x: Act<Dm, E, D, T>) -> Self::Output {
        let x = x.clone() + self.attn.forward(self.ln1.forward(x));
        x.clone() + self.mlp.forward(self.ln2.forward(x))
    }
}

#[rustfmt::skip]
impl<V: StaticDim, Tmax: StaticDim, Dm: Width, H: StaticDim, Hid: Width, const L: usize, E: Dtype, D: Device<E>, T: Tracking<E, D>>
    Module<Tensor<(Dyn, Dyn), usize, D, T>> for Gpt<V, Tmax, Dm, H, Hid, L, E, D>
{
    type Output = Tensor<(Dyn, Dyn, V), E, D, T>;
    /// Token ids `(B, T)`, `T <= Tmax`, to logits `(B, T, V)`.
    fn forward(&self, ids: Tensor<(Dyn, Dyn), usize, D, T>) -> Self::Output {
        let x = self.drop.forward(self.pos_emb.forward_at(self.tok_emb.forward(ids), 0));
        let x = self.blocks.iter().fold(x, |x, b| b.forward(x));
        self.head.forward(self.ln_f.forward(x))
    }
}
