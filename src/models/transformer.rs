//! The encoder-decoder Transformer (book §5.3, figure 5.7), pre-LN, built
//! from the blocks of [`crate::nn::transformer`].

use crate::autograd::{Merge, Tracking};
use crate::backend::{Backend, Cpu, Device};
use crate::dtype::Dtype;
use crate::nn::{
    CrossAttentionBlock, Embedding, FeedForwardBlock, HeadsExp, HeadsGot, HeadsVerdict, LayerNorm,
    Linear, Module, SelfAttentionBlock, SinusoidalPositionalEncoding,
};
use crate::ops::movement::NarrowOp;
use crate::shape::{Dim, Dyn, Error, HeadsDoNotDivide, Shape, StaticDim};
use crate::tensor::Tensor;
use alloc::vec::Vec;

/// One encoder layer: a self-attention block then a feed-forward block
/// (both pre-LN with residuals), `(B, N, Dm) -> (B, N, Dm)`. Also the layer
/// of [`super::ViT`].
///
/// ```
/// use typegrad::models::EncoderLayer;
/// use typegrad::nn::{Module, Params};
/// use typegrad::prelude::*;
/// let dev = Cpu::seeded(0);
/// let layer: EncoderLayer<u!(16), u!(4), u!(64)> = EncoderLayer::new(&dev);
/// assert_eq!(layer.num_params(), (2 * 16 + 4 * (16 * 16 + 16)) + (2 * 16 + 64 * 16 + 64 + 16 * 64 + 16));
/// let x: Tensor<(Dyn, Dyn, u!(16))> = Tensor::randn((Dyn(2), Dyn(5), Default::default()), 0.0, 1.0, &dev);
/// assert_eq!(&*layer.forward(x).dims(), &[2, 5, 16]);
/// ```
#[derive(Clone, Debug, crate::nn::Module)]
#[module(crate = crate)]
pub struct EncoderLayer<Dm: Dim, H: Dim, Hidden: Dim, E: Dtype = f32, D: Backend = Cpu> {
    /// `x + MHA(LN(x))`.
    pub self_attn: SelfAttentionBlock<Dm, H, E, D>,
    /// `x + MLP(LN(x))`.
    pub ff: FeedForwardBlock<Dm, Hidden, crate::nn::GELU, E, D>,
}

impl<Dm: StaticDim, H: StaticDim, Hidden: StaticDim, E: Dtype, D: Backend>
    EncoderLayer<Dm, H, Hidden, E, D>
{
    /// PyTorch's default initialisation, no dropout.
    #[track_caller]
    #[rustfmt::skip]
    pub fn new(device: &D) -> Self where Dm: HeadsVerdict<H>, HeadsGot<Dm, H>: HeadsDoNotDivide<HeadsExp<Dm, H>> {
        EncoderLayer { self_attn: SelfAttentionBlock::new(device), ff: FeedForwardBlock::new(device) }
    }
}

impl<Dm: StaticDim, H: StaticDim, Hidden: StaticDim, E: Dtype, D: Device<E>>
    EncoderLayer<Dm, H, Hidden, E, D>
{
    /// The layer on any shape `(..., N, Dm)`, sizes checked at run time.
    pub fn try_forward<S: Shape, T: Tracking<E, D>>(
        &self,
        x: Tensor<S, E, D, T>,
    ) -> Result<Tensor<S, E, D, T>, Error> {
        let opts =
            crate::ops::attention::AttentionOptions::new().with_causal(self.self_attn.attn.causal);
        let x = self.self_attn.forward_with(x, &opts)?;
        self.ff.forward_same(x)
    }
}

impl<Dm, H, Hidden, E, D, B, N, T> Module<Tensor<(B, N, Dm), E, D, T>>
    for EncoderLayer<Dm, H, Hidden, E, D>
where
    Dm: StaticDim,
    H: StaticDim,
    Hidden: StaticDim,
    E: Dtype,
    D: Device<E>,
    B: Dim,
    N: Dim,
    T: Tracking<E, D>,
{
    type Output = Tensor<(B, N, Dm), E, D, T>;
    #[track_caller]
    fn forward(&self, x: Tensor<(B, N, Dm), E, D, T>) -> Self::Output {
        self.try_forward(x).unwrap_or_else(|e| panic!("{e}"))
    }
}

/// One decoder layer: a causal self-attention block, a cross-attention
/// block over the encoder's output (the memory), a feed-forward block.
///
/// ```
/// use typegrad::models::DecoderLayer;
/// use typegrad::nn::Module;
/// use typegrad::prelude::*;
/// let dev = Cpu::seeded(0);
/// let layer: DecoderLayer<u!(16), u!(4), u!(64)> = DecoderLayer::new(&dev);
/// let y: Tensor<(Dyn, Dyn, u!(16))> = Tensor::randn((Dyn(2), Dyn(3), Default::default()), 0.0, 1.0, &dev);
/// let memory: Tensor<(Dyn, Dyn, u!(16))> = Tensor::randn((Dyn(2), Dyn(8), Default::default()), 0.0, 1.0, &dev);
/// assert_eq!(&*layer.forward((y, memory)).dims(), &[2, 3, 16]);
/// ```
#[derive(Clone, Debug, crate::nn::Module)]
#[module(crate = crate)]
pub struct DecoderLayer<Dm: Dim, H: Dim, Hidden: Dim, E: Dtype = f32, D: Backend = Cpu> {
    /// Causal `y + MHA(LN(y))`.
    pub self_attn: SelfAttentionBlock<Dm, H, E, D>,
    /// `y + MHA(LN(y), memory)`.
    pub cross_attn: CrossAttentionBlock<Dm, H, Dm, E, D>,
    /// `y + MLP(LN(y))`.
    pub ff: FeedForwardBlock<Dm, Hidden, crate::nn::GELU, E, D>,
}

impl<Dm: StaticDim, H: StaticDim, Hidden: StaticDim, E: Dtype, D: Backend>
    DecoderLayer<Dm, H, Hidden, E, D>
{
    /// PyTorch's default initialisation, causal self-attention, no
    /// dropout.
    #[track_caller]
    #[rustfmt::skip]
    pub fn new(device: &D) -> Self where Dm: HeadsVerdict<H>, HeadsGot<Dm, H>: HeadsDoNotDivide<HeadsExp<Dm, H>> {
        DecoderLayer {
            self_attn: SelfAttentionBlock::new(device).with_causal(true),
            cross_attn: CrossAttentionBlock::new(device),
            ff: FeedForwardBlock::new(device),
        }
    }
}

impl<Dm: StaticDim, H: StaticDim, Hidden: StaticDim, E: Dtype, D: Device<E>>
    DecoderLayer<Dm, H, Hidden, E, D>
{
    /// The layer on any shapes `(..., N, Dm)` and memory `(..., Nmem, Dm)`,
    /// sizes checked at run time.
    pub fn try_forward<S: Shape, Sm: Shape, T>(
        &self,
        y: Tensor<S, E, D, T>,
        memory: Tensor<Sm, E, D, T>,
    ) -> Result<Tensor<S, E, D, T>, Error>
    where
        T: Tracking<E, D> + Merge<T, Output = T>,
    {
        use crate::ops::attention::AttentionOptions;
        let opts = AttentionOptions::new().with_causal(self.self_attn.attn.causal);
        let y = self.self_attn.forward_with(y, &opts)?;
        let y = self
            .cross_attn
            .forward_with(y, memory, &AttentionOptions::new())?;
        self.ff.forward_same(y)
    }
}

impl<Dm, H, Hidden, E, D, B, N, Nm, T>
    Module<(Tensor<(B, N, Dm), E, D, T>, Tensor<(B, Nm, Dm), E, D, T>)>
    for DecoderLayer<Dm, H, Hidden, E, D>
where
    Dm: StaticDim,
    H: StaticDim,
    Hidden: StaticDim,
    E: Dtype,
    D: Device<E>,
    B: Dim,
    N: Dim,
    Nm: Dim,
    T: Tracking<E, D> + Merge<T, Output = T>,
{
    type Output = Tensor<(B, N, Dm), E, D, T>;
    #[track_caller]
    fn forward(
        &self,
        (y, memory): (Tensor<(B, N, Dm), E, D, T>, Tensor<(B, Nm, Dm), E, D, T>),
    ) -> Self::Output {
        self.try_forward(y, memory)
            .unwrap_or_else(|e| panic!("{e}"))
    }
}

/// The encoder-decoder Transformer of "Attention is all you need" (book
/// figure 5.7), pre-LN: source tokens from a vocabulary of `Vs`, target
/// tokens from `Vt`, model dim `Dm`, `H` heads, feed-forward width
/// `Hidden`, and a number of encoder and decoder layers chosen at run
/// time.
///
/// ```text
/// source ids (B, Ns) -> embedding + sinusoidal positions -> N x EncoderLayer -> LayerNorm = memory (B, Ns, Dm)
/// target ids (B, Nt) -> embedding + sinusoidal positions -> N x DecoderLayer(memory) -> LayerNorm -> Linear = logits (B, Nt, Vt)
/// ```
///
/// The decoder's self-attention is causal, so the logits at position `t`
/// depend on target tokens `0..=t` only: trained with teacher forcing
/// (inputs `y[..-1]`, targets `y[1..]`), it generates with
/// [`Transformer::greedy_decode`]. Token embeddings are not scaled by
/// `√Dm` (they start N(0, 1), the positional values are in `[-1, 1]`).
///
/// Parameter names: `src_emb.weight`, `tgt_emb.weight`,
/// `encoder.{i}.self_attn.*`, `encoder.{i}.ff.*`, `enc_ln.*`,
/// `decoder.{i}.self_attn.*`, `decoder.{i}.cross_attn.*`,
/// `decoder.{i}.ff.*`, `dec_ln.*`, `head.weight`, `head.bias`.
///
/// ```
/// use typegrad::models::Transformer;
/// use typegrad::nn::Module;
/// use typegrad::prelude::*;
/// let dev = Cpu::seeded(0);
/// let model: Transformer<u!(20), u!(12), u!(32), u!(4), u!(64)> = Transformer::new(2, 2, &dev);
/// let src = Tensor::<(Dyn, Dyn), usize>::from_vec((Dyn(2), Dyn(5)), vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 10], &dev);
/// let tgt = Tensor::<(Dyn, Dyn), usize>::from_vec((Dyn(2), Dyn(3)), vec![0, 1, 2, 0, 3, 4], &dev);
/// let logits = model.forward((src.clone(), tgt)); // Tensor<(Dyn, Dyn, U12)>
/// assert_eq!(&*logits.dims(), &[2, 3, 12]);
/// let out = model.greedy_decode(src, 0, 11, 4).unwrap();
/// assert_eq!(out.len(), 2);
/// assert!(out.iter().all(|s| s.len() <= 4));
/// ```
#[derive(Clone, Debug, crate::nn::Module)]
#[module(crate = crate)]
pub struct Transformer<
    Vs: Dim,
    Vt: Dim,
    Dm: Dim,
    H: Dim,
    Hidden: Dim,
    E: Dtype = f32,
    D: Backend = Cpu,
> {
    /// Source token embedding `(Vs, Dm)`.
    pub src_emb: Embedding<Vs, Dm, E, D>,
    /// Target token embedding `(Vt, Dm)`.
    pub tgt_emb: Embedding<Vt, Dm, E, D>,
    /// The fixed sinusoidal positional encoding (no parameters).
    #[module(skip)]
    pub pos: SinusoidalPositionalEncoding<Dm>,
    /// The encoder layers.
    pub encoder: Vec<EncoderLayer<Dm, H, Hidden, E, D>>,
    /// The encoder's final layer norm.
    pub enc_ln: LayerNorm<Dm, E, D>,
    /// The decoder layers.
    pub decoder: Vec<DecoderLayer<Dm, H, Hidden, E, D>>,
    /// The decoder's final layer norm.
    pub dec_ln: LayerNorm<Dm, E, D>,
    /// `Dm -> Vt` logits.
    pub head: Linear<Dm, Vt, E, D>,
}

impl<
        Vs: StaticDim,
        Vt: StaticDim,
        Dm: StaticDim,
        H: StaticDim,
        Hidden: StaticDim,
        E: Dtype,
        D: Backend,
    > Transformer<Vs, Vt, Dm, H, Hidden, E, D>
{
    /// `encoder_layers` and `decoder_layers` layers, PyTorch's default
    /// initialisation for every layer, N(0, 1) embeddings, no dropout. `H`
    /// must divide `Dm` (a compile error otherwise).
    #[track_caller]
    #[rustfmt::skip]
    pub fn new(encoder_layers: usize, decoder_layers: usize, device: &D) -> Self where Dm: HeadsVerdict<H>, HeadsGot<Dm, H>: HeadsDoNotDivide<HeadsExp<Dm, H>> {
        Transformer {
            src_emb: Embedding::new(device),
            tgt_emb: Embedding::new(device),
            pos: SinusoidalPositionalEncoding::new(),
            encoder: (0..encoder_layers).map(|_| EncoderLayer::new(device)).collect(),
            enc_ln: LayerNorm::new(device),
            decoder: (0..decoder_layers).map(|_| DecoderLayer::new(device)).collect(),
            dec_ln: LayerNorm::new(device),
            head: Linear::new(device),
        }
    }
}

impl<Vs: Dim, Vt: Dim, Dm: StaticDim, H: StaticDim, Hidden: StaticDim, E: Dtype, D: Device<E>>
    Transformer<Vs, Vt, Dm, H, Hidden, E, D>
{
    /// Embedding plus positions of ids `(B, N)`: `(B, N, Dm)`.
    fn embed<V: Dim, B: Dim, N: Dim, T: Tracking<E, D>>(
        &self,
        emb: &Embedding<V, Dm, E, D>,
        ids: Tensor<(B, N), usize, D, T>,
    ) -> Result<Tensor<(B, N, Dm), E, D, T>, Error> {
        let (b, n) = ids.shape;
        let x = emb
            .try_forward(ids)?
            .try_reshape_to((b, n, Dyn(Dm::USIZE)))?;
        let x = self.pos.try_forward_at(x, 0)?;
        x.try_reshape_to((b, n, Dm::default()))
    }

    /// The encoder: source ids `(B, Ns)` to the memory `(B, Ns, Dm)`. An
    /// id `>= Vs` is an [`Error::IndexOutOfRange`].
    pub fn encode<B: Dim, N: Dim, T: Tracking<E, D>>(
        &self,
        src: Tensor<(B, N), usize, D, T>,
    ) -> Result<Tensor<(B, N, Dm), E, D, T>, Error> {
        let mut x = self.embed(&self.src_emb, src)?;
        for layer in &self.encoder {
            x = layer.try_forward(x)?;
        }
        self.enc_ln.try_forward_unchecked(x)
    }

    /// The decoder: target ids `(B, Nt)` and the memory `(B, Ns, Dm)` to
    /// logits `(B, Nt, Vt)` (position `t` sees target tokens `0..=t`).
    pub fn decode<B: Dim, N: Dim, Nm: Dim, T>(
        &self,
        tgt: Tensor<(B, N), usize, D, T>,
        memory: Tensor<(B, Nm, Dm), E, D, T>,
    ) -> Result<Tensor<(B, N, Vt), E, D, T>, Error>
    where
        T: Tracking<E, D> + Merge<T, Output = T>,
    {
        let (b, n) = tgt.shape;
        let mut y = self.embed(&self.tgt_emb, tgt)?;
        for layer in &self.decoder {
            y = layer.try_forward(y, memory.clone())?;
        }
        let y = self.dec_ln.try_forward_unchecked(y)?;
        let rows = y.try_reshape_to((Dyn(b.size() * n.size()), Dyn(Dm::USIZE)))?;
        let logits = self.head.try_forward(rows)?;
        logits.try_reshape_to((b, n, self.head.weight.shape.0))
    }

    /// Logits `(B, Nt, Vt)` for source ids `(B, Ns)` and target ids `(B,
    /// Nt)` (teacher forcing). Errors name an out-of-range id or a batch
    /// mismatch.
    pub fn try_forward<B: Dim, Ns: Dim, Nt: Dim, T>(
        &self,
        src: Tensor<(B, Ns), usize, D, T>,
        tgt: Tensor<(B, Nt), usize, D, T>,
    ) -> Result<Tensor<(B, Nt, Vt), E, D, T>, Error>
    where
        T: Tracking<E, D> + Merge<T, Output = T>,
    {
        let memory = self.encode(src)?;
        self.decode(tgt, memory)
    }

    /// Greedy decoding (no tape): encode `src (B, Ns)` once, then from
    /// `bos` append the most likely next token until every sequence has
    /// produced `eos` or `max_len` tokens. Returns each sequence's tokens
    /// after `bos`, up to (without) its first `eos`. Without a KV cache:
    /// the decoder reruns on the whole prefix at each step (fine for short
    /// targets).
    pub fn greedy_decode<B: Dim, N: Dim>(
        &self,
        src: Tensor<(B, N), usize, D>,
        bos: usize,
        eos: usize,
        max_len: usize,
    ) -> Result<Vec<Vec<usize>>, Error> {
        let b = src.shape.0.size();
        let device = src.device.clone();
        let memory = self.encode(src)?;
        let m = memory.shape.1.size();
        let memory: Tensor<(Dyn, Dyn, Dm), E, D> =
            memory.try_reshape_to((Dyn(b), Dyn(m), Dm::default()))?;
        let mut seqs: Vec<Vec<usize>> = (0..b).map(|_| alloc::vec![bos]).collect();
        let mut done = alloc::vec![false; b];
        for _ in 0..max_len {
            if done.iter().all(|&d| d) {
                break;
            }
            let t = seqs[0].len();
            let flat: Vec<usize> = seqs.iter().flatten().copied().collect();
            let ids =
                Tensor::<(Dyn, Dyn), usize, D>::try_from_vec((Dyn(b), Dyn(t)), flat, &device)?;
            let logits = self.decode(ids, memory.clone())?;
            let last = logits
                .try_narrow::<1>(t - 1, Dyn(1))?
                .try_reshape_to((Dyn(b), self.head.weight.shape.0))?
                .argmax_axis::<1>()
                .to_vec();
            for (i, &next) in last.iter().enumerate() {
                let next = if done[i] { eos } else { next };
                done[i] |= next == eos;
                seqs[i].push(next);
            }
        }
        Ok(seqs
            .into_iter()
            .map(|s| s[1..].iter().copied().take_while(|&id| id != eos).collect())
            .collect())
    }
}

/// Logits `(B, Nt, Vt)` for `(source ids, target ids)`; panics on an
/// out-of-range id (see [`Transformer::try_forward`]).
impl<Vs, Vt, Dm, H, Hidden, E, D, B, Ns, Nt, T>
    Module<(Tensor<(B, Ns), usize, D, T>, Tensor<(B, Nt), usize, D, T>)>
    for Transformer<Vs, Vt, Dm, H, Hidden, E, D>
where
    Vs: Dim,
    Vt: Dim,
    Dm: StaticDim,
    H: StaticDim,
    Hidden: StaticDim,
    E: Dtype,
    D: Device<E>,
    B: Dim,
    Ns: Dim,
    Nt: Dim,
    T: Tracking<E, D> + Merge<T, Output = T>,
{
    type Output = Tensor<(B, Nt, Vt), E, D, T>;
    #[track_caller]
    fn forward(
        &self,
        (src, tgt): (Tensor<(B, Ns), usize, D, T>, Tensor<(B, Nt), usize, D, T>),
    ) -> Self::Output {
        self.try_forward(src, tgt).unwrap_or_else(|e| panic!("{e}"))
    }
}
