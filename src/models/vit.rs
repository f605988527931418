//! The vision transformer, ViT (book §5.3, figure 5.9).

use super::EncoderLayer;
use crate::autograd::{Merge, Tracking};
use crate::backend::{Backend, Cpu, Device};
use crate::dtype::Dtype;
use crate::nn::init::Init;
use crate::nn::{
    Conv2d, HeadsExp, HeadsGot, HeadsVerdict, LayerNorm, LearnedPositionalEmbedding, Linear,
    Module, GELU,
};
use crate::ops::movement::{ConcatOp, NarrowOp};
use crate::shape::{
    AddDim, Agree, Dim, DimsChecked, Dyn, Error, HeadsDoNotDivide, MulDim, Pick, SameShape,
    ShapeVerdict, StaticDim, Then,
};
use crate::tensor::Tensor;
use alloc::vec::Vec;
use core::marker::PhantomData;
use core::ops::{Div, Rem};
use typenum::{IsEqual, Unsigned, U0, U1};

/// Never implemented: an image side that the patch size does not divide.
#[diagnostic::on_unimplemented(
    message = "image size is not a multiple of the patch size: {Self} is not a multiple of {Patch}",
    label = "a ViT's image height and width must be multiples of its patch size",
    note = "static dims are printed digit by digit: N<_4, _0, _0> is 400"
)]
pub trait PatchesDoNotDivide<Patch> {}
#[diagnostic::do_not_recommend]
impl PatchesDoNotDivide<Agree> for Agree {}

/// The patch grid of an image `(Hi, Wi)` (`Self`) cut into `P x P`
/// patches, computed by the compiler: `(Hi/P)·(Wi/P)` patches and one
/// more token for the CLS token. [`ImagePatches::Got`] and
/// [`ImagePatches::Exp`] are the verdict on the divisibility (`Agree`, or
/// the first side `P` does not divide and `P`, in decimal); a ViT's
/// constructor requires `Got: PatchesDoNotDivide<Exp>`, so an image size
/// that is not a multiple of `P` does not compile.
///
/// ```
/// use typegrad::models::ImagePatches;
/// use typegrad::prelude::*;
/// use typegrad::typenum::Unsigned;
/// type Tokens = <(u!(28), u!(28)) as ImagePatches<u!(7)>>::Tokens;
/// assert_eq!(Tokens::USIZE, 4 * 4 + 1);
/// type Count = <(u!(32), u!(16)) as ImagePatches<u!(4)>>::Count;
/// assert_eq!(Count::USIZE, 8 * 4);
/// ```
pub trait ImagePatches<P> {
    /// Patches along the height, `Hi / P`.
    type Rows: StaticDim;
    /// Patches along the width, `Wi / P`.
    type Cols: StaticDim;
    /// The patch count `(Hi/P)·(Wi/P)`.
    type Count: StaticDim;
    /// The sequence length of the encoder: the patches and the CLS token.
    type Tokens: StaticDim;
    /// `Agree`, or the first image side that `P` does not divide.
    type Got;
    /// `Agree`, or `P`.
    type Exp;
}

/// The divisibility verdict of one side.
type SideGot<X, P> = <<<X as Rem<P>>::Output as IsEqual<U0>>::Output as Pick<X, P>>::Got;
type SideExp<X, P> = <<<X as Rem<P>>::Output as IsEqual<U0>>::Output as Pick<X, P>>::Exp;

impl<Hi, Wi, P> ImagePatches<P> for (Hi, Wi)
where
    Hi: StaticDim + Rem<P> + Div<P>,
    Wi: StaticDim + Rem<P> + Div<P>,
    <Hi as Rem<P>>::Output: IsEqual<U0>,
    <Wi as Rem<P>>::Output: IsEqual<U0>,
    <<Hi as Rem<P>>::Output as IsEqual<U0>>::Output: Pick<Hi, P>,
    <<Wi as Rem<P>>::Output as IsEqual<U0>>::Output: Pick<Wi, P>,
    SideGot<Hi, P>: Then<SideExp<Hi, P>, SideGot<Wi, P>, SideExp<Wi, P>>,
    <Hi as Div<P>>::Output: StaticDim + MulDim<<Wi as Div<P>>::Output>,
    <Wi as Div<P>>::Output: StaticDim,
    <<Hi as Div<P>>::Output as MulDim<<Wi as Div<P>>::Output>>::Output: StaticDim + AddDim<U1>,
    <<<Hi as Div<P>>::Output as MulDim<<Wi as Div<P>>::Output>>::Output as AddDim<U1>>::Output:
        StaticDim,
{
    type Rows = <Hi as Div<P>>::Output;
    type Cols = <Wi as Div<P>>::Output;
    type Count = <<Hi as Div<P>>::Output as MulDim<<Wi as Div<P>>::Output>>::Output;
    type Tokens = <Self::Count as AddDim<U1>>::Output;
    type Got = <SideGot<Hi, P> as Then<SideExp<Hi, P>, SideGot<Wi, P>, SideExp<Wi, P>>>::Got;
    type Exp = <SideGot<Hi, P> as Then<SideExp<Hi, P>, SideGot<Wi, P>, SideExp<Wi, P>>>::Exp;
}

/// [`ImagePatches::Got`] of an image `(Hi, Wi)` cut into `P x P` patches.
pub type PatchGot<Hi, Wi, P> = <(Hi, Wi) as ImagePatches<P>>::Got;
/// [`ImagePatches::Exp`] of an image `(Hi, Wi)` cut into `P x P` patches.
pub type PatchExp<Hi, Wi, P> = <(Hi, Wi) as ImagePatches<P>>::Exp;

/// The encoder's sequence length of a ViT on `(Hi, Wi)` images with `P x
/// P` patches: `(Hi/P)·(Wi/P) + 1`.
pub type ViTTokens<Hi, Wi, P> = <(Hi, Wi) as ImagePatches<P>>::Tokens;

/// The MLP head on the CLS token: `Linear(Dm, Dm)`, GELU, `Linear(Dm, K)`
/// (an `nn.Sequential`: parameters `head.0.*`, `head.2.*`).
pub type ViTHead<Dm, K, E = f32, D = Cpu> = (Linear<Dm, Dm, E, D>, GELU, Linear<Dm, K, E, D>);

/// The vision transformer of Dosovitskiy et al. (book figure 5.9), pre-LN:
/// a `C x Hi x Wi` image is cut into `P x P` patches, each patch is
/// embedded linearly into `Dm` features, a learned CLS token is put in
/// front, learned positional embeddings are added, a stack of encoder
/// layers (self-attention and feed-forward blocks with `H` heads and
/// `Hidden` units) processes the `(Hi/P)·(Wi/P) + 1` tokens, a final layer
/// norm, and an MLP head maps the CLS token to `K` logits.
///
/// - **Patch embedding: a `Conv2d` with kernel = stride = `P`**
///   (torchvision's `conv_proj`). It is exactly a `Linear(C·P·P, Dm)` on
///   the flattened patches (weight `(Dm, C, P, P)` is that linear layer's
///   `(Dm, C·P·P)` weight reshaped), without a patch-extraction copy.
/// - **The patch count is computed in the type** ([`ImagePatches`],
///   [`ViTTokens`]): [`ViT::embed_patches`] returns `(B, Tokens, Dm)`.
///   An image side that is not a multiple of `P` is a compile error at the
///   constructor ("image size is not a multiple of the patch size: N<_2,
///   _8> is not a multiple of N<_5>").
/// - The number of encoder layers is chosen at run time.
///
/// Parameters: `conv_proj.weight` `(Dm, C, P, P)`, `conv_proj.bias`,
/// `class_token` `(1, 1, Dm)` (zeros), `pos_emb.weight` `(Tokens, Dm)`
/// (N(0, 0.02²), as torchvision), `blocks.{i}.self_attn.*`,
/// `blocks.{i}.ff.*`, `ln.*`, `head.0.*`, `head.2.*`.
///
/// ```
/// use typegrad::models::ViT;
/// use typegrad::nn::{Module, Params};
/// use typegrad::prelude::*;
/// let dev = Cpu::seeded(0);
/// // 1x28x28 images, 7x7 patches (16 + 1 tokens), Dm 32, 4 heads, MLP 64, 10 classes, 2 layers.
/// let vit: ViT<u!(1), u!(28), u!(28), u!(7), u!(32), u!(4), u!(64), u!(10)> = ViT::new(2, &dev);
/// let x: Tensor<(Dyn, u!(1), u!(28), u!(28))> = Tensor::randn((Dyn(3), Default::default(), Default::default(), Default::default()), 0.0, 1.0, &dev);
/// let tokens = vit.embed_patches(x.clone()); // Tensor<(Dyn, U17, U32)>
/// assert_eq!(&*tokens.dims(), &[3, 17, 32]);
/// let logits = vit.forward(x); // Tensor<(Dyn, U10)>
/// assert_eq!(&*logits.dims(), &[3, 10]);
/// ```
///
/// An image size that is not a multiple of the patch size does not
/// compile:
///
/// ```compile_fail,E0277
/// use typegrad::models::ViT;
/// use typegrad::prelude::*;
/// let vit: ViT<u!(1), u!(28), u!(28), u!(5), u!(32), u!(4), u!(64), u!(10)> = ViT::new(2, &Cpu::default());
/// ```
#[derive(Clone, Debug, crate::nn::Module)]
#[module(crate = crate)]
pub struct ViT<
    C: Dim,
    Hi: Dim,
    Wi: Dim,
    P: Dim,
    Dm: Dim,
    H: Dim,
    Hidden: Dim,
    K: Dim,
    E: Dtype = f32,
    D: Backend = Cpu,
> {
    /// Patch embedding: `C -> Dm` channels, kernel and stride `P`.
    pub conv_proj: Conv2d<C, Dm, P, P, U0, U1, U1, E, D>,
    /// The learned CLS token `(1, 1, Dm)`.
    pub class_token: Tensor<(U1, U1, Dm), E, D>,
    /// Learned positional embeddings of the CLS token and the patches.
    pub pos_emb: LearnedPositionalEmbedding<Dyn, Dm, E, D>,
    /// The encoder layers.
    pub blocks: Vec<EncoderLayer<Dm, H, Hidden, E, D>>,
    /// The final layer norm.
    pub ln: LayerNorm<Dm, E, D>,
    /// The MLP head on the CLS token.
    pub head: ViTHead<Dm, K, E, D>,
    #[module(skip)]
    image: PhantomData<(Hi, Wi)>,
}

impl<C, Hi, Wi, P, Dm, H, Hidden, K, E, D> ViT<C, Hi, Wi, P, Dm, H, Hidden, K, E, D>
where
    C: StaticDim,
    Hi: StaticDim,
    Wi: StaticDim,
    P: StaticDim,
    Dm: StaticDim,
    H: StaticDim,
    Hidden: StaticDim,
    K: StaticDim,
    E: Dtype,
    D: Backend,
{
    /// A ViT with `depth` encoder layers: PyTorch's default initialisation
    /// of the layers, a zero CLS token, positional embeddings N(0, 0.02²).
    /// `P` must divide `Hi` and `Wi`, and `H` must divide `Dm` (compile
    /// errors otherwise).
    #[track_caller]
    #[rustfmt::skip]
    pub fn new(depth: usize, device: &D) -> Self where (Hi, Wi): ImagePatches<P>, PatchGot<Hi, Wi, P>: PatchesDoNotDivide<PatchExp<Hi, Wi, P>>, Dm: HeadsVerdict<H>, HeadsGot<Dm, H>: HeadsDoNotDivide<HeadsExp<Dm, H>> {
        let tokens = <(Hi, Wi) as ImagePatches<P>>::Tokens::USIZE;
        let pos = Init::Normal { mean: 0.0, std: 0.02 }
            .try_sample::<E, D>(&[tokens, Dm::USIZE], device)
            .unwrap_or_else(|e| panic!("{e}"));
        ViT {
            conv_proj: Conv2d::new(device),
            class_token: Tensor::zeros(Default::default(), device),
            pos_emb: LearnedPositionalEmbedding::from_tensor(Tensor::<(Dyn, Dm), E, D>::from_storage(
                (Dyn(tokens), Dm::default()),
                pos,
                device.clone(),
            )),
            blocks: (0..depth).map(|_| EncoderLayer::new(device)).collect(),
            ln: LayerNorm::new(device),
            head: (Linear::new(device), GELU, Linear::new(device)),
            image: PhantomData,
        }
    }
}

impl<C, Hi, Wi, P, Dm, H, Hidden, K, E, D> ViT<C, Hi, Wi, P, Dm, H, Hidden, K, E, D>
where
    C: StaticDim,
    Hi: StaticDim,
    Wi: StaticDim,
    P: StaticDim,
    Dm: StaticDim,
    H: StaticDim,
    Hidden: StaticDim,
    K: StaticDim,
    E: Dtype,
    D: Device<E>,
{
    /// The encoder's input for images `(B, C, Hi, Wi)`: the CLS token and
    /// the `(Hi/P)·(Wi/P)` patch embeddings, plus positional embeddings,
    /// `(B, Tokens, Dm)` with `Tokens` computed in the type.
    #[track_caller]
    pub fn embed_patches<B: Dim, T>(
        &self,
        x: Tensor<(B, C, Hi, Wi), E, D, T>,
    ) -> Tensor<(B, ViTTokens<Hi, Wi, P>, Dm), E, D, T>
    where
        (Hi, Wi): ImagePatches<P>,
        T: Tracking<E, D> + Merge<T, Output = T>,
    {
        self.try_embed_patches(x).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Fallible [`ViT::embed_patches`] (a model whose `pos_emb` was
    /// replaced by a table of another length is an error).
    pub fn try_embed_patches<B: Dim, T>(
        &self,
        x: Tensor<(B, C, Hi, Wi), E, D, T>,
    ) -> Result<Tensor<(B, ViTTokens<Hi, Wi, P>, Dm), E, D, T>, Error>
    where
        (Hi, Wi): ImagePatches<P>,
        T: Tracking<E, D> + Merge<T, Output = T>,
    {
        let b = x.shape.0;
        let (n, dm) = (<(Hi, Wi) as ImagePatches<P>>::Count::USIZE, Dm::USIZE);
        let x: Tensor<(Dyn, Dyn, Dyn, Dyn), E, D, T> =
            x.try_reshape_to((Dyn(b.size()), Dyn(C::USIZE), Dyn(Hi::USIZE), Dyn(Wi::USIZE)))?;
        let patches = self.conv_proj.try_forward(x)?; // (B, Dm, Hi/P, Wi/P)
        let patches: Tensor<(Dyn, Dyn, Dyn), E, D, T> = patches
            .try_reshape_to((Dyn(b.size()), Dyn(dm), Dyn(n)))?
            .transpose::<1, 2>();
        let cls: Tensor<(Dyn, Dyn, Dyn), E, D, T> = self
            .class_token
            .tracked_like(&patches)
            .try_reshape_to((Dyn(1), Dyn(1), Dyn(dm)))?
            .try_broadcast_to((Dyn(b.size()), Dyn(1), Dyn(dm)))?;
        let tokens = cls.try_concat::<1>(patches)?;
        let tokens = self.pos_emb.try_forward_at(tokens, 0)?;
        tokens.try_reshape_to((b, Default::default(), Dm::default()))
    }

    /// Fallible forward: logits `(B, K)` for images `(B, C, Hi, Wi)`.
    pub fn try_forward<B: Dim, T>(
        &self,
        x: Tensor<(B, C, Hi, Wi), E, D, T>,
    ) -> Result<Tensor<(B, K), E, D, T>, Error>
    where
        (Hi, Wi): ImagePatches<P>,
        T: Tracking<E, D> + Merge<T, Output = T>,
    {
        let b = x.shape.0;
        let mut h = self.try_embed_patches(x)?;
        for layer in &self.blocks {
            h = layer.try_forward(h)?;
        }
        let h = self.ln.try_forward_unchecked(h)?;
        let tokens = <(Hi, Wi) as ImagePatches<P>>::Tokens::USIZE;
        let cls: Tensor<(Dyn, Dyn), E, D, T> = h
            .try_reshape_to((Dyn(b.size()), Dyn(tokens), Dyn(Dm::USIZE)))?
            .try_narrow::<1>(0, Dyn(1))?
            .try_reshape_to((Dyn(b.size()), Dyn(Dm::USIZE)))?;
        let (fc1, act, fc2) = &self.head;
        let z: Tensor<(Dyn, Dyn), E, D, T> = fc1
            .try_forward(cls)?
            .try_reshape_to((Dyn(b.size()), Dyn(Dm::USIZE)))?;
        let z = fc2.try_forward(act.forward(z))?;
        z.try_reshape_to((b, K::default()))
    }
}

/// Logits `(B, K)` for images `(B, C, Hi, Wi)` (a tracked input trains:
/// the tape's mode decides, as for every layer). The image dims are checked
/// against the model's: a static mismatch is a compile error naming both
/// sizes in decimal, a `Dyn` one a panic naming the axis (see
/// [`ViT::try_forward`]).
impl<C, Hi, Wi, P, Dm, H, Hidden, K, E, D, B, C2, H2, W2, T>
    Module<Tensor<(B, C2, H2, W2), E, D, T>> for ViT<C, Hi, Wi, P, Dm, H, Hidden, K, E, D>
where
    C: StaticDim,
    Hi: StaticDim,
    Wi: StaticDim,
    P: StaticDim,
    Dm: StaticDim,
    H: StaticDim,
    Hidden: StaticDim,
    K: StaticDim,
    E: Dtype,
    D: Device<E>,
    B: Dim,
    C2: Dim,
    H2: Dim,
    W2: Dim,
    (C2, H2, W2): ShapeVerdict<(C, Hi, Wi)>,
    ImageGot<C2, H2, W2, C, Hi, Wi>: DimsChecked<ImageExp<C2, H2, W2, C, Hi, Wi>>,
    (Hi, Wi): ImagePatches<P>,
    T: Tracking<E, D> + Merge<T, Output = T>,
{
    type Output = Tensor<(B, K), E, D, T>;
    #[track_caller]
    fn forward(&self, x: Tensor<(B, C2, H2, W2), E, D, T>) -> Self::Output {
        let (b, c, h, w) = x.shape;
        let image = (c, h, w);
        image
            .check_same_shape(&Default::default(), "ViT", "image dims (C, H, W)")
            .and_then(|()| x.try_reshape_to((b, C::default(), Hi::default(), Wi::default())))
            .and_then(|x| self.try_forward(x))
            .unwrap_or_else(|e| panic!("{e}"))
    }
}

/// The first image dim (of `(C, H, W)`) that differs from the model's, as
/// found; [`Agree`](crate::shape::Agree) when they agree.
pub type ImageGot<C2, H2, W2, C, Hi, Wi> = <(C2, H2, W2) as ShapeVerdict<(C, Hi, Wi)>>::Got;
/// The model's side of [`ImageGot`].
pub type ImageExp<C2, H2, W2, C, Hi, Wi> = <(C2, H2, W2) as ShapeVerdict<(C, Hi, Wi)>>::Exp;
