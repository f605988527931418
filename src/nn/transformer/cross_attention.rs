//! [`CrossAttentionBlock`]: `x + MHA(LN(x), memory)`.

use crate::autograd::{Merge, Tracking};
use crate::backend::{Backend, Cpu, Device};
use crate::dtype::Dtype;
use crate::nn::attention::AttentionInputsChecked;
use crate::nn::residual::add_same;
use crate::nn::{Dropout, HeadsExp, HeadsGot, HeadsVerdict, LayerNorm, Module, MultiheadAttention};
use crate::ops::attention::{AttentionOptions, AttentionTape};
use crate::shape::{Dim, Error, HeadsDoNotDivide, Shape, StaticDim};
use crate::tensor::Tensor;

/// The pre-LN cross-attention block of a transformer decoder (book fig.
/// 5.6): `y = x + dropout(MHA(ln(x), memory))`, queries from the input
/// `(..., N, Dm)`, keys and values from a memory `(..., Nmem, Dmem)` (the
/// encoder's output; `Dmem = Dm` by default), `H` heads. The output has
/// the input's shape. The memory is used as it is (an encoder ends with its
/// own layer norm).
///
/// A static memory width other than `Dmem` is a compile error at `forward`
/// ("dimension mismatch: got N<…>, expected N<…>"); a `Dyn` one a runtime
/// error. The graphs of the input and the memory are merged (either may be
/// untracked, e.g. a fixed memory).
///
/// Parameters: `ln.weight`, `ln.bias`, and `attn.*` with PyTorch's
/// `nn.MultiheadAttention` names (packed `in_proj_weight` when `Dmem ==
/// Dm`, else `q/k/v_proj_weight`).
///
/// ```
/// use typegrad::nn::{CrossAttentionBlock, Module};
/// use typegrad::prelude::*;
/// let dev = Cpu::seeded(0);
/// let block: CrossAttentionBlock<u!(16), u!(4)> = CrossAttentionBlock::new(&dev);
/// let x: Tensor<(Dyn, Dyn, u!(16))> = Tensor::randn((Dyn(2), Dyn(3), Default::default()), 0.0, 1.0, &dev);
/// let memory: Tensor<(Dyn, Dyn, u!(16))> = Tensor::randn((Dyn(2), Dyn(9), Default::default()), 0.0, 1.0, &dev);
/// let y = block.forward((x, memory)); // Tensor<(Dyn, Dyn, U16)>
/// assert_eq!(&*y.dims(), &[2, 3, 16]);
/// ```
///
/// A memory of the wrong model dim does not compile:
///
/// ```compile_fail,E0277
/// use typegrad::nn::{CrossAttentionBlock, Module};
/// use typegrad::prelude::*;
/// let dev = Cpu::default();
/// let block: CrossAttentionBlock<u!(16), u!(4)> = CrossAttentionBlock::new(&dev);
/// let x: Tensor<(Dyn, Dyn, u!(16))> = Tensor::zeros((Dyn(2), Dyn(3), Default::default()), &dev);
/// let memory: Tensor<(Dyn, Dyn, u!(12))> = Tensor::zeros((Dyn(2), Dyn(9), Default::default()), &dev);
/// let _ = block.forward((x, memory)); // dimension mismatch: got N<_1, _2>, expected N<_1, _6>
/// ```
#[derive(Clone, Debug, crate::nn::Module)]
#[module(crate = crate)]
pub struct CrossAttentionBlock<Dm: Dim, H: Dim, Dmem: Dim = Dm, E: Dtype = f32, D: Backend = Cpu> {
    /// The layer norm of the queries' input.
    pub ln: LayerNorm<Dm, E, D>,
    /// Multi-head attention, keys and values from the memory.
    pub attn: MultiheadAttention<Dm, H, Dmem, Dmem, E, D>,
    /// Residual dropout on the attention's output (training modes only).
    #[module(skip)]
    pub dropout: Dropout,
}

impl<Dm: StaticDim, H: StaticDim, Dmem: StaticDim, E: Dtype, D: Backend>
    CrossAttentionBlock<Dm, H, Dmem, E, D>
{
    /// PyTorch's default initialisation, no dropout. `H` must divide `Dm`
    /// (a compile error otherwise).
    #[track_caller]
    #[rustfmt::skip]
    pub fn new(device: &D) -> Self where Dm: HeadsVerdict<H>, HeadsGot<Dm, H>: HeadsDoNotDivide<HeadsExp<Dm, H>> {
        CrossAttentionBlock {
            ln: LayerNorm::new(device),
            attn: MultiheadAttention::new(device),
            dropout: Dropout::new(0.0),
        }
    }
}

impl<Dm: Dim, H: Dim, Dmem: Dim, E: Dtype, D: Backend> CrossAttentionBlock<Dm, H, Dmem, E, D> {
    /// Set the residual dropout rate and the attention-weight dropout rate
    /// (panics unless each is in `[0, 1]`).
    #[track_caller]
    pub fn with_dropout(mut self, residual: f64, attention: f64) -> Self {
        self.dropout = Dropout::new(residual);
        self.attn = self.attn.with_dropout(attention);
        self
    }
}

impl<Dm: StaticDim, H: StaticDim, Dmem: StaticDim, E: Dtype, D: Device<E>>
    CrossAttentionBlock<Dm, H, Dmem, E, D>
{
    /// The block with explicit [`AttentionOptions`] (a boolean mask over
    /// `(N, Nmem)`, `kv_len`); sizes are checked at run time.
    ///
    /// ```
    /// use typegrad::nn::{CrossAttentionBlock, Module};
    /// use typegrad::ops::attention::AttentionOptions;
    /// use typegrad::prelude::*;
    /// let dev = Cpu::seeded(1);
    /// let block: CrossAttentionBlock<u!(8), u!(2), u!(8), f64> = CrossAttentionBlock::new(&dev);
    /// let x: Tensor<(Dyn, u!(8)), f64> = Tensor::randn((Dyn(2), Default::default()), 0.0, 1.0, &dev);
    /// let m: Tensor<(Dyn, u!(8)), f64> = Tensor::randn((Dyn(5), Default::default()), 0.0, 1.0, &dev);
    /// let a = block.forward_with(x.clone(), m.clone(), &AttentionOptions::new()).unwrap();
    /// assert_eq!(a.to_vec(), block.forward((x, m)).to_vec());
    /// ```
    #[allow(clippy::type_complexity)]
    pub fn forward_with<S: Shape, Sm: Shape, T, Tm>(
        &self,
        x: Tensor<S, E, D, T>,
        memory: Tensor<Sm, E, D, Tm>,
        opts: &AttentionOptions<'_, D>,
    ) -> Result<Tensor<S, E, D, AttentionTape<T, Tm, Tm>>, Error>
    where
        T: Tracking<E, D> + Merge<Tm>,
        Tm: Tracking<E, D>,
        <T as Merge<Tm>>::Output: Merge<Tm>,
        AttentionTape<T, Tm, Tm>: Tracking<E, D>,
    {
        let h = self.ln.try_forward_unchecked(x.clone())?;
        let h = self.attn.cross_attention(h, memory, opts)?;
        let h = self.dropout.forward(h);
        // `h`'s tape holds the graphs of `x` and the memory (merged by the
        // attention, `x`'s first): `x` joins it for the sum.
        let (x, _) = x.split_tape();
        let x = x.put_tape(h.tape().clone());
        Ok(add_same(x, h))
    }
}

/// `x + MHA(ln(x), memory)` for `(x, memory)`; panics on a `Dyn` size that
/// does not fit (see [`CrossAttentionBlock::forward_with`]).
impl<Dm, H, Dmem, E, D, S, Sm, T, Tm> Module<(Tensor<S, E, D, T>, Tensor<Sm, E, D, Tm>)>
    for CrossAttentionBlock<Dm, H, Dmem, E, D>
where
    Dm: StaticDim,
    H: StaticDim,
    Dmem: StaticDim,
    E: Dtype,
    D: Device<E>,
    S: Shape,
    Sm: Shape,
    T: Tracking<E, D> + Merge<Tm>,
    Tm: Tracking<E, D>,
    <T as Merge<Tm>>::Output: Merge<Tm>,
    AttentionTape<T, Tm, Tm>: Tracking<E, D>,
    (S, Sm): AttentionInputsChecked<Dm, Dmem, Dmem>,
{
    type Output = Tensor<
        <(S, Sm) as AttentionInputsChecked<Dm, Dmem, Dmem>>::Output,
        E,
        D,
        AttentionTape<T, Tm, Tm>,
    >;
    #[track_caller]
    fn forward(&self, (x, memory): (Tensor<S, E, D, T>, Tensor<Sm, E, D, Tm>)) -> Self::Output {
        let y = self
            .forward_with(x, memory, &AttentionOptions::new())
            .unwrap_or_else(|e| panic!("{e}"));
        <(S, Sm) as AttentionInputsChecked<Dm, Dmem, Dmem>>::pass(y)
    }
}

/// `x + MHA(ln(x), key, value)`: keys and values from two inputs of `Dmem`
/// features (PyTorch's `(query, key, value)` form of the attention).
impl<Dm, H, Dmem, E, D, S, Sk, Sv, T, Tk, Tv>
    Module<(
        Tensor<S, E, D, T>,
        Tensor<Sk, E, D, Tk>,
        Tensor<Sv, E, D, Tv>,
    )> for CrossAttentionBlock<Dm, H, Dmem, E, D>
where
    Dm: StaticDim,
    H: StaticDim,
    Dmem: StaticDim,
    E: Dtype,
    D: Device<E>,
    S: Shape,
    Sk: Shape,
    Sv: Shape,
    T: Tracking<E, D> + Merge<Tk>,
    Tk: Tracking<E, D>,
    Tv: Tracking<E, D>,
    <T as Merge<Tk>>::Output: Merge<Tv>,
    AttentionTape<T, Tk, Tv>: Tracking<E, D>,
    (S, Sk, Sv): AttentionInputsChecked<Dm, Dmem, Dmem>,
{
    type Output = Tensor<
        <(S, Sk, Sv) as AttentionInputsChecked<Dm, Dmem, Dmem>>::Output,
        E,
        D,
        AttentionTape<T, Tk, Tv>,
    >;
    #[track_caller]
    fn forward(
        &self,
        (x, key, value): (
            Tensor<S, E, D, T>,
            Tensor<Sk, E, D, Tk>,
            Tensor<Sv, E, D, Tv>,
        ),
    ) -> Self::Output {
        let h = self
            .ln
            .try_forward_unchecked(x.clone())
            .and_then(|h| {
                self.attn
                    .forward_with(h, key, value, &AttentionOptions::new())
            })
            .unwrap_or_else(|e| panic!("{e}"));
        let h = self.dropout.forward(h);
        let (x, _) = x.split_tape();
        let x = x.put_tape(h.tape().clone());
        <(S, Sk, Sv) as AttentionInputsChecked<Dm, Dmem, Dmem>>::pass(add_same(x, h))
    }
}
