//! [`SelfAttentionBlock`]: `x + MHA(LN(x))`.

use crate::autograd::Tracking;
use crate::backend::{Backend, Cpu, Device};
use crate::dtype::Dtype;
use crate::nn::residual::add_same;
use crate::nn::{
    Dropout, HeadsExp, HeadsGot, HeadsVerdict, LayerNorm, LayerNormChecked, Module,
    MultiheadAttention,
};
use crate::ops::attention::AttentionOptions;
use crate::shape::{Dim, Error, HeadsDoNotDivide, Shape, StaticDim};
use crate::tensor::Tensor;

/// The pre-LN self-attention block of a transformer (book fig. 5.6):
/// `y = x + dropout(MHA(ln(x)))` on an input `(..., N, Dm)`, with `H`
/// heads (`Dm % H == 0`, checked when the block is built), causal or not
/// (the attention layer's `causal` field: a decoder's block sees only
/// earlier positions). The output has the input's shape.
///
/// Parameters: `ln.weight`, `ln.bias`, and the attention layer's
/// `attn.in_proj_weight` `(3Dm, Dm)`, `attn.in_proj_bias`,
/// `attn.out_proj.weight`, `attn.out_proj.bias` (PyTorch's
/// `nn.MultiheadAttention` names, see [`MultiheadAttention`]).
///
/// ```
/// use typegrad::nn::{Module, Params, SelfAttentionBlock};
/// use typegrad::prelude::*;
/// let dev = Cpu::seeded(0);
/// let block: SelfAttentionBlock<u!(16), u!(4)> = SelfAttentionBlock::new(&dev).with_causal(true);
/// assert_eq!(block.num_params(), 2 * 16 + 4 * (16 * 16 + 16));
/// let x: Tensor<(Dyn, Dyn, u!(16))> = Tensor::randn((Dyn(2), Dyn(7), Default::default()), 0.0, 1.0, &dev);
/// let y = block.forward(x); // Tensor<(Dyn, Dyn, U16)>
/// assert_eq!(&*y.dims(), &[2, 7, 16]);
/// ```
#[derive(Clone, Debug, crate::nn::Module)]
#[module(crate = crate)]
pub struct SelfAttentionBlock<Dm: Dim, H: Dim, E: Dtype = f32, D: Backend = Cpu> {
    /// The layer norm before the attention.
    pub ln: LayerNorm<Dm, E, D>,
    /// Multi-head self-attention (its `causal` field makes the block
    /// causal, its `dropout` drops attention weights).
    pub attn: MultiheadAttention<Dm, H, Dm, Dm, E, D>,
    /// Residual dropout on the attention's output (training modes only).
    #[module(skip)]
    pub dropout: Dropout,
}

impl<Dm: StaticDim, H: StaticDim, E: Dtype, D: Backend> SelfAttentionBlock<Dm, H, E, D> {
    /// PyTorch's default initialisation, not causal, no dropout. `H` must
    /// divide `Dm` (a compile error otherwise: "heads do not divide the
    /// model dim").
    #[track_caller]
    #[rustfmt::skip]
    pub fn new(device: &D) -> Self where Dm: HeadsVerdict<H>, HeadsGot<Dm, H>: HeadsDoNotDivide<HeadsExp<Dm, H>> {
        SelfAttentionBlock {
            ln: LayerNorm::new(device),
            attn: MultiheadAttention::new(device),
            dropout: Dropout::new(0.0),
        }
    }
}

impl<Dm: Dim, H: Dim, E: Dtype, D: Backend> SelfAttentionBlock<Dm, H, E, D> {
    /// Make the attention causal (a position sees itself and the ones
    /// before it) or not.
    pub fn with_causal(mut self, causal: bool) -> Self {
        self.attn.causal = causal;
        self
    }

    /// Set the residual dropout rate and the attention-weight dropout rate
    /// (panics unless each is in `[0, 1]`).
    ///
    /// ```
    /// use typegrad::nn::SelfAttentionBlock;
    /// use typegrad::prelude::*;
    /// let b: SelfAttentionBlock<u!(8), u!(2)> = SelfAttentionBlock::new(&Cpu::default()).with_dropout(0.1, 0.2);
    /// assert_eq!((b.dropout.p, b.attn.dropout), (0.1, 0.2));
    /// ```
    #[track_caller]
    pub fn with_dropout(mut self, residual: f64, attention: f64) -> Self {
        self.dropout = Dropout::new(residual);
        self.attn = self.attn.with_dropout(attention);
        self
    }
}

impl<Dm: StaticDim, H: StaticDim, E: Dtype, D: Device<E>> SelfAttentionBlock<Dm, H, E, D> {
    /// The block with explicit [`AttentionOptions`] (a boolean mask,
    /// `kv_len`, causal: `opts` decides, the layer's `causal` field is not
    /// read). Sizes are checked at run time (an error names them).
    ///
    /// ```
    /// use typegrad::nn::{Module, SelfAttentionBlock};
    /// use typegrad::ops::attention::AttentionOptions;
    /// use typegrad::prelude::*;
    /// let dev = Cpu::seeded(3);
    /// let block: SelfAttentionBlock<u!(8), u!(2), f64> = SelfAttentionBlock::new(&dev).with_causal(true);
    /// let x: Tensor<(Dyn, u!(8)), f64> = Tensor::randn((Dyn(4), Default::default()), 0.0, 1.0, &dev);
    /// let a = block.forward_with(x.clone(), &AttentionOptions::new().causal()).unwrap();
    /// assert_eq!(a.to_vec(), block.forward(x).to_vec());
    /// ```
    pub fn forward_with<S: Shape, T: Tracking<E, D>>(
        &self,
        x: Tensor<S, E, D, T>,
        opts: &AttentionOptions<'_, D>,
    ) -> Result<Tensor<S, E, D, T>, Error> {
        let h = self.ln.try_forward_unchecked(x.clone())?;
        let h = self.attn.self_attention(h, opts)?;
        let h = self.dropout.forward(h);
        Ok(add_same(x, h))
    }

    /// Fallible forward: a `Dyn` last dim other than `Dm`, or an input of
    /// rank below 2, is an [`Error`] instead of a panic.
    ///
    /// ```
    /// use typegrad::nn::SelfAttentionBlock;
    /// use typegrad::prelude::*;
    /// let dev = Cpu::default();
    /// let block: SelfAttentionBlock<u!(4), u!(2)> = SelfAttentionBlock::new(&dev);
    /// let x: Tensor<(Dyn, Dyn)> = Tensor::zeros((Dyn(3), Dyn(6)), &dev);
    /// assert!(block.try_forward(x).is_err());
    /// ```
    pub fn try_forward<S, T: Tracking<E, D>>(
        &self,
        x: Tensor<S, E, D, T>,
    ) -> Result<Tensor<<S as LayerNormChecked<(Dm,)>>::Output, E, D, T>, Error>
    where
        S: LayerNormChecked<(Dm,)>,
    {
        let opts = AttentionOptions::new().with_causal(self.attn.causal);
        self.forward_with(x, &opts).map(S::pass)
    }
}

/// `x + MHA(ln(x))` for inputs `(..., N, Dm)`; panics on a `Dyn` size that
/// does not fit (see [`SelfAttentionBlock::try_forward`]).
impl<Dm, H, E, D, S, T> Module<Tensor<S, E, D, T>> for SelfAttentionBlock<Dm, H, E, D>
where
    Dm: StaticDim,
    H: StaticDim,
    E: Dtype,
    D: Device<E>,
    T: Tracking<E, D>,
    S: LayerNormChecked<(Dm,)>,
{
    type Output = Tensor<<S as LayerNormChecked<(Dm,)>>::Output, E, D, T>;
    #[track_caller]
    fn forward(&self, x: Tensor<S, E, D, T>) -> Self::Output {
        self.try_forward(x).unwrap_or_else(|e| panic!("{e}"))
    }
}
