//! `multi_head_attention`: attention on the `(..., N, H·d)` layout of a
//! projection, heads side by side in the last axis, read in place.

use super::sdpa::{attention_core, layout, AttentionTape};
use super::{AttentionOptions, AttentionShape};
use crate::autograd::{Merge, Tracking};
use crate::backend::Device;
use crate::dtype::Dtype;
use crate::shape::{DimsAgree, Error, Shape};
use crate::tensor::Tensor;

impl<Sq: Shape, E: Dtype, D: Device<E>, Tq: Tracking<E, D>> Tensor<Sq, E, D, Tq> {
    /// Multi-head attention on projected tensors: `self` is `Q (..., Nq,
    /// H·dq)`, `k` is `(..., Nkv, H·dq)`, `v` is `(..., Nkv, H·dv)`, with
    /// head `h` in columns `h·d .. (h+1)·d` of the last axis (what a
    /// `Linear` projection gives, and what PyTorch's `view(B, N, H, d)`
    /// reads). Each head attends on its own; the output `(..., Nq, H·dv)`
    /// has the heads side by side again, ready for the output projection.
    /// The kernel reads the heads in place: no transposes, no copies.
    ///
    /// Equal to splitting the heads (`(B, N, H, d) -> (B, H, N, d)`),
    /// calling [`Tensor::scaled_dot_product_attention`] and merging them
    /// back; the scale defaults to `1/√dq` of one head. `heads` must divide
    /// both widths (a layer checks it at compile time: see
    /// `nn::MultiheadAttention`); [`AttentionOptions`] as for the plain op,
    /// the mask shared by every head.
    ///
    /// ```
    /// use typegrad::ops::attention::AttentionOptions;
    /// use typegrad::prelude::*;
    /// let dev = Cpu::seeded(0);
    /// let x: Tensor<(Dyn, Dyn, u!(8)), f32> = Tensor::randn((Dyn(2), Dyn(5), Default::default()), 0.0, 1.0, &dev);
    /// let y = x.clone().multi_head_attention(x.clone(), x, 2, &AttentionOptions::new().causal());
    /// assert_eq!(&*y.dims(), &[2, 5, 8]);
    /// ```
    #[track_caller]
    #[allow(clippy::type_complexity)]
    pub fn multi_head_attention<Sk, Sv, Tk, Tv, G: DimsAgree<X>, X>(
        self,
        k: Tensor<Sk, E, D, Tk>,
        v: Tensor<Sv, E, D, Tv>,
        heads: usize,
        opts: &AttentionOptions<'_, D>,
    ) -> Tensor<<Sq as AttentionShape<Sk, Sv, G, X>>::Output, E, D, AttentionTape<Tq, Tk, Tv>>
    where
        Sq: AttentionShape<Sk, Sv, G, X>,
        Sk: Shape,
        Sv: Shape,
        Tk: Tracking<E, D>,
        Tv: Tracking<E, D>,
        Tq: Merge<Tk>,
        <Tq as Merge<Tk>>::Output: Merge<Tv>,
        AttentionTape<Tq, Tk, Tv>: Tracking<E, D>,
    {
        self.try_multi_head_attention(k, v, heads, opts)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Fallible form of [`Tensor::multi_head_attention`]: as
    /// [`Tensor::try_scaled_dot_product_attention`], and an error when
    /// `heads` does not divide the widths.
    ///
    /// ```
    /// use typegrad::ops::attention::AttentionOptions;
    /// use typegrad::prelude::*;
    /// let dev = Cpu::default();
    /// let x: Tensor<(Dyn, u!(6)), f32> = Tensor::zeros((Dyn(3), Default::default()), &dev);
    /// let e = x.clone().try_multi_head_attention(x.clone(), x, 4, &AttentionOptions::new()).unwrap_err();
    /// assert_eq!(e.to_string(), "attention: the number of heads must divide the query/key and value widths");
    /// ```
    #[allow(clippy::type_complexity)]
    pub fn try_multi_head_attention<Sk, Sv, Tk, Tv, G: DimsAgree<X>, X>(
        self,
        k: Tensor<Sk, E, D, Tk>,
        v: Tensor<Sv, E, D, Tv>,
        heads: usize,
        opts: &AttentionOptions<'_, D>,
    ) -> Result<
        Tensor<<Sq as AttentionShape<Sk, Sv, G, X>>::Output, E, D, AttentionTape<Tq, Tk, Tv>>,
        Error,
    >
    where
        Sq: AttentionShape<Sk, Sv, G, X>,
        Sk: Shape,
        Sv: Shape,
        Tk: Tracking<E, D>,
        Tv: Tracking<E, D>,
        Tq: Merge<Tk>,
        <Tq as Merge<Tk>>::Output: Merge<Tv>,
        AttentionTape<Tq, Tk, Tv>: Tracking<E, D>,
    {
        let (out_shape, d) = self.shape.attention_dims(&k.shape, &v.shape)?;
        let dims = self.shape.dims();
        let mut pair_dims = alloc::vec::Vec::from(&dims[..dims.len() - 2]);
        pair_dims.push(heads);
        let p = layout(&pair_dims, d.batch, heads, d.nq, d.nkv, d.dqk, d.dv, opts)?;
        attention_core(self, k, v, out_shape, p, opts)
    }
}
