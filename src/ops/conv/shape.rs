//! Which shapes a convolution takes and gives: the input channel check
//! (a verdict, as for `Linear`), the spatial output sizes (computed by the
//! type system for static sizes, at run time for `Dyn`), and groups.

use super::ConvGeometry;
use crate::autograd::Tracking;
use crate::backend::Device;
use crate::dtype::Dtype;
use crate::shape::{
    Agree, ConvOut, ConvOutDim, ConvTransposeOut, ConvTransposeOutDim, Dim, DimVerdict,
    DimsChecked, Error, ExpOf, GotOf, GroupDiv, GroupVerdict, PerGroup, Shape, Then,
};
use crate::tensor::Tensor;
use core::marker::PhantomData;
use typenum::{Bit, UInt, Unsigned, U1};

/// Marker: the input has one spatial axis, `(B, C, L)` or `(C, L)`.
pub struct Spatial1;
/// Marker: the input has two spatial axes, `(B, C, H, W)` or `(C, H, W)`.
pub struct Spatial2;

/// How one spatial axis of a convolution maps: `Fwd` (a convolution:
/// [`ConvOutDim`]) or `Transposed` (a transposed one:
/// [`ConvTransposeOutDim`]).
pub trait WindowOut<H: Dim> {
    /// The output dim for an input dim `H`.
    type Out: Dim;
}

/// The window of a convolution with kernel `K`, stride `S`, padding `P`,
/// dilation `L`.
pub struct Fwd<K, S, P, L>(PhantomData<(K, S, P, L)>);
/// The window of a transposed convolution with kernel `K`, stride `S`,
/// padding `P`, output padding `OP`, dilation `L`.
pub struct Transposed<K, S, P, OP, L>(PhantomData<(K, S, P, OP, L)>);

impl<H: ConvOut<K, S, P, L>, K, S, P, L> WindowOut<H> for Fwd<K, S, P, L> {
    type Out = ConvOutDim<H, K, S, P, L>;
}
impl<H: ConvTransposeOut<K, S, P, OP, L>, K, S, P, OP, L> WindowOut<H>
    for Transposed<K, S, P, OP, L>
{
    type Out = ConvTransposeOutDim<H, K, S, P, OP, L>;
}

/// `Self` (an input shape) goes through a convolution of `CI` input and
/// `CO` output channels whose spatial axes map by `M` ([`Fwd`] or
/// [`Transposed`]); `R` says whether the input has one or two spatial axes
/// ([`Spatial1`], [`Spatial2`]). Implemented for `(B, C, L)`, `(C, L)`
/// (1-D) and `(B, C, H, W)`, `(C, H, W)` (2-D), with any dims.
///
/// `G` and `X` are the verdict on the input channels `C` against `CI`
/// ([`DimVerdict`]), [`Agree`] by default, so `S: ConvInput<CI, CO, M, R>`
/// in generic code means "the channels agree".
pub trait ConvInput<CI: Dim, CO: Dim, M, R, G = Agree, X = Agree>: Shape {
    /// The output shape.
    type Output: Shape;
    /// `(batch, channels, [H, W])` at run time (`H = 1` for 1-D, batch 1
    /// for an unbatched input).
    fn conv_input(&self) -> (usize, usize, [usize; 2]);
    /// The output shape for `co` channels and the spatial sizes `out`
    /// (computed at run time; a static dim is checked against it).
    fn conv_output(&self, co: usize, out: [usize; 2]) -> Result<Self::Output, Error>;
}

/// The verdict on the channel axis of `Self` against `CI` (see
/// [`ConvInput`]).
pub trait ChannelVerdict<CI: Dim, R>: Shape {
    /// [`Agree`], or the channels found, in decimal.
    type Got;
    /// [`Agree`], or the channels expected, in decimal.
    type Exp;
}

fn dim<T: Dim>(n: usize, axis: usize) -> Result<T, Error> {
    T::from_size(n).ok_or(Error::StaticDim {
        axis,
        got: n,
        expected: T::STATIC_SIZE.unwrap_or(n),
    })
}

macro_rules! conv_input {
    ($R:ty; ($($B:ident)?), $C:ident, [$($Sp:ident),+]; $batch:expr, $c:tt, $spatial:expr; $out:expr) => {
        impl<$($B: Dim,)? $C: Dim, $($Sp: Dim,)+ CI: Dim> ChannelVerdict<CI, $R> for ($($B,)? $C, $($Sp,)+)
        where
            $C: DimVerdict<CI>,
        {
            type Got = GotOf<$C, CI>;
            type Exp = ExpOf<$C, CI>;
        }

        impl<$($B: Dim,)? $C: Dim, $($Sp: Dim,)+ CI: Dim, CO: Dim, M> ConvInput<CI, CO, M, $R, GotOf<$C, CI>, ExpOf<$C, CI>>
            for ($($B,)? $C, $($Sp,)+)
        where
            $C: DimVerdict<CI>,
            $(M: WindowOut<$Sp>,)+
        {
            type Output = ($($B,)? CO, $(<M as WindowOut<$Sp>>::Out,)+);
            #[allow(clippy::redundant_closure_call)]
            fn conv_input(&self) -> (usize, usize, [usize; 2]) {
                let s = self;
                ($batch(s), s.$c.size(), $spatial(s))
            }
            #[allow(clippy::redundant_closure_call)]
            fn conv_output(&self, co: usize, out: [usize; 2]) -> Result<Self::Output, Error> {
                $out(self, co, out)
            }
        }
    };
}

conv_input!(Spatial2; (B), C, [H, W]; |s: &Self| s.0.size(), 1, |s: &Self| [s.2.size(), s.3.size()];
    |s: &Self, co, o: [usize; 2]| Ok((s.0, dim(co, 1)?, dim(o[0], 2)?, dim(o[1], 3)?)));
conv_input!(Spatial2; (), C, [H, W]; |_: &Self| 1, 0, |s: &Self| [s.1.size(), s.2.size()];
    |_: &Self, co, o: [usize; 2]| Ok((dim(co, 0)?, dim(o[0], 1)?, dim(o[1], 2)?)));
conv_input!(Spatial1; (B), C, [W]; |s: &Self| s.0.size(), 1, |s: &Self| [1, s.2.size()];
    |s: &Self, co, o: [usize; 2]| Ok((s.0, dim(co, 1)?, dim(o[1], 2)?)));
conv_input!(Spatial1; (), C, [W]; |_: &Self| 1, 0, |s: &Self| [1, s.1.size()];
    |_: &Self, co, o: [usize; 2]| Ok((dim(co, 0)?, dim(o[1], 1)?)));

/// The number of groups `Self` of a convolution from `CI` to `CO`
/// channels, with the channels per group ([`Groups::InPer`],
/// [`Groups::OutPer`]). For one group (the default) they are `CI` and
/// `CO` themselves, with no bound, so code generic over the channels needs
/// none. For two groups or more they are the quotients, and
/// [`Groups::Got`]/[`Groups::Exp`] are the verdict on both divisions: the
/// layers' constructors and the conv ops require it to agree (a compile
/// error "groups do not divide the channels" naming both numbers), and a
/// `Dyn` channel count is checked at run time.
pub trait Groups<CI: Dim, CO: Dim>: Unsigned {
    /// Input channels per group (a conv weight's second dim).
    type InPer: Dim;
    /// Output channels per group (a transposed conv weight's second dim).
    type OutPer: Dim;
    /// [`Agree`], or the first channel count the groups do not divide.
    type Got;
    /// [`Agree`], or the groups.
    type Exp;
}
impl<CI: Dim, CO: Dim> Groups<CI, CO> for U1 {
    type InPer = CI;
    type OutPer = CO;
    type Got = Agree;
    type Exp = Agree;
}
impl<U: Unsigned, B: Bit, Bb: Bit, CI, CO> Groups<CI, CO> for UInt<UInt<U, B>, Bb>
where
    CI: GroupDiv<Self> + GroupVerdict<Self>,
    CO: GroupDiv<Self> + GroupVerdict<Self>,
    <CI as GroupVerdict<Self>>::Got: Then<
        <CI as GroupVerdict<Self>>::Exp,
        <CO as GroupVerdict<Self>>::Got,
        <CO as GroupVerdict<Self>>::Exp,
    >,
{
    type InPer = PerGroup<CI, Self>;
    type OutPer = PerGroup<CO, Self>;
    type Got = <<CI as GroupVerdict<Self>>::Got as Then<
        <CI as GroupVerdict<Self>>::Exp,
        <CO as GroupVerdict<Self>>::Got,
        <CO as GroupVerdict<Self>>::Exp,
    >>::Got;
    type Exp = <<CI as GroupVerdict<Self>>::Got as Then<
        <CI as GroupVerdict<Self>>::Exp,
        <CO as GroupVerdict<Self>>::Got,
        <CO as GroupVerdict<Self>>::Exp,
    >>::Exp;
}

/// `Self` is an input shape of a conv layer from `CI` to `CO` channels
/// whose spatial axes map by `M` ([`Fwd`], [`Transposed`]), `R` spatial
/// axes ([`Spatial1`], [`Spatial2`]); [`ConvChecked::Output`] is its output
/// shape. The bound of the conv layers' `Module` impls. The channel check
/// is named through the output type ([`crate::shape::DimsChecked`]), so a
/// mismatch is reported at the `forward` call in decimal.
pub trait ConvChecked<CI: Dim, CO: Dim, M, R>: Shape {
    /// The output shape.
    type Output: Shape;
    /// The layer's forward (see [`ConvGeometry`]).
    fn run<E: Dtype, D: Device<E>, T: Tracking<E, D>, W: Shape, Cb: Dim>(
        x: Tensor<Self, E, D, T>,
        weight: &Tensor<W, E, D>,
        bias: Option<&Tensor<(Cb,), E, D>>,
        geo: ConvGeometry,
    ) -> Result<Tensor<Self::Output, E, D, T>, Error>;
}

impl<CI: Dim, CO: Dim, M, R, S> ConvChecked<CI, CO, M, R> for S
where
    S: ChannelVerdict<CI, R>
        + ConvInput<
            CI,
            CO,
            M,
            R,
            <S as ChannelVerdict<CI, R>>::Got,
            <S as ChannelVerdict<CI, R>>::Exp,
        >,
    <S as ChannelVerdict<CI, R>>::Got: DimsChecked<<S as ChannelVerdict<CI, R>>::Exp>,
{
    type Output = <<S as ChannelVerdict<CI, R>>::Got as DimsChecked<
        <S as ChannelVerdict<CI, R>>::Exp,
    >>::Then<
        <S as ConvInput<
            CI,
            CO,
            M,
            R,
            <S as ChannelVerdict<CI, R>>::Got,
            <S as ChannelVerdict<CI, R>>::Exp,
        >>::Output,
    >;
    fn run<E: Dtype, D: Device<E>, T: Tracking<E, D>, W: Shape, Cb: Dim>(
        x: Tensor<Self, E, D, T>,
        weight: &Tensor<W, E, D>,
        bias: Option<&Tensor<(Cb,), E, D>>,
        geo: ConvGeometry,
    ) -> Result<Tensor<Self::Output, E, D, T>, Error> {
        let y = super::convolution::conv_any::<
            S,
            CI,
            CO,
            M,
            R,
            <S as ChannelVerdict<CI, R>>::Got,
            <S as ChannelVerdict<CI, R>>::Exp,
            W,
            Cb,
            E,
            D,
            T,
        >(x, weight, bias, geo)?;
        Ok(<<S as ChannelVerdict<CI, R>>::Got as DimsChecked<
            <S as ChannelVerdict<CI, R>>::Exp,
        >>::pass(y))
    }
}
