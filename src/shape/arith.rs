//! Dim arithmetic at the type level: conv/pool output size, flatten
//! (product), head split, concat (sum), reshape (equal element counts).
//! Static operands compute a static result; any [`Dyn`] operand gives [`Dyn`]
//! and the op computes the size at run time.

use super::dim::{Dim, Dyn, StaticDim};
use super::same::{Agree, DimVerdict, ExpOf, GotOf, Pick};
use core::ops::{Add, Div, Mul, Rem, Shr, Sub};
use typenum::{IsEqual, IsGreaterOrEqual, B0, B1, U0, U1, U2};

/// Never implemented: a kernel that does not fit in the padded input.
#[diagnostic::on_unimplemented(
    message = "kernel larger than padded input: padded input size {Self}, effective kernel size {Kernel}",
    label = "the kernel (with dilation) must fit in the input plus padding",
    note = "static dims are printed digit by digit: N<_4, _0, _0> is 400"
)]
pub trait KernelLargerThanInput<Kernel> {}
#[diagnostic::do_not_recommend]
impl KernelLargerThanInput<Agree> for Agree {}

super::same::dim_checked! {
    /// [`KernelLargerThanInput`] as a projection (see
    /// [`super::DimsChecked`]): a conv/pool output dim is named through it.
    KernelChecked: KernelLargerThanInput<Kernel>,
    "kernel larger than padded input: padded input size {Self}, effective kernel size {Kernel}",
    "the kernel (with dilation) must fit in the input plus padding"
}

/// Never implemented: a model dim that the number of heads does not divide.
#[diagnostic::on_unimplemented(
    message = "heads do not divide the model dim: {Self} is not a multiple of {Heads}",
    label = "the model dim must be a multiple of the number of heads",
    note = "static dims are printed digit by digit: N<_4, _0, _0> is 400"
)]
pub trait HeadsDoNotDivide<Heads> {}
#[diagnostic::do_not_recommend]
impl HeadsDoNotDivide<Agree> for Agree {}

super::same::dim_checked! {
    /// [`HeadsDoNotDivide`] as a projection (see [`super::DimsChecked`]):
    /// the per-head dim is named through it.
    HeadsChecked: HeadsDoNotDivide<Heads>,
    "heads do not divide the model dim: {Self} is not a multiple of {Heads}",
    "the model dim must be a multiple of the number of heads"
}

/// Never implemented: a reshape that changes the number of elements.
#[diagnostic::on_unimplemented(
    message = "reshape changes the element count: got {Self} elements, expected {Expected}",
    note = "static dims are printed digit by digit: N<_4, _0, _0> is 400"
)]
pub trait NumelMismatch<Expected> {}
#[diagnostic::do_not_recommend]
impl NumelMismatch<Agree> for Agree {}

// ----------------------------------------------------------------- sum, product

/// Sum of two dims (concat along an axis).
pub trait AddDim<Rhs>: Dim {
    /// The sum.
    type Output: Dim;
}
impl AddDim<Dyn> for Dyn {
    type Output = Dyn;
}
impl<S: StaticDim> AddDim<S> for Dyn {
    type Output = Dyn;
}
impl<S: StaticDim> AddDim<Dyn> for S {
    type Output = Dyn;
}
impl<A: StaticDim + Add<B>, B: StaticDim> AddDim<B> for A
where
    <A as Add<B>>::Output: StaticDim,
{
    type Output = <A as Add<B>>::Output;
}

/// Product of two dims (flatten).
pub trait MulDim<Rhs>: Dim {
    /// The product.
    type Output: Dim;
}
impl MulDim<Dyn> for Dyn {
    type Output = Dyn;
}
impl<S: StaticDim> MulDim<S> for Dyn {
    type Output = Dyn;
}
impl<S: StaticDim> MulDim<Dyn> for S {
    type Output = Dyn;
}
impl<A: StaticDim + Mul<B>, B: StaticDim> MulDim<B> for A
where
    <A as Mul<B>>::Output: StaticDim,
{
    type Output = <A as Mul<B>>::Output;
}

/// `Self * Rhs` as a dim.
pub type Prod<A, B> = <A as MulDim<B>>::Output;
/// `Self + Rhs` as a dim.
pub type Sum<A, B> = <A as AddDim<B>>::Output;

// ----------------------------------------------------------------- conv / pool

/// Output size of a convolution or pooling window along one axis:
/// `(H + 2P - D(K-1) - 1) / S + 1`, with kernel `K`, stride `S`, padding `P`
/// and dilation `D` (all static). A kernel larger than the padded input is a
/// compile error for a static `H` and a runtime error for [`Dyn`].
pub trait ConvOut<K, S, P, D>: Dim {
    /// The output dim.
    type Output: Dim;
}

/// The output dim of a conv/pool window: see [`ConvOut`].
pub type ConvOutDim<H, K, S, P, D> = <H as ConvOut<K, S, P, D>>::Output;

/// Runtime form of [`ConvOut`]: `None` when the kernel does not fit (or
/// is empty, or the sizes overflow `usize`).
///
/// ```
/// use typegrad::shape::conv_out_size;
/// assert_eq!(conv_out_size(28, 5, 1, 0, 1), Some(24));
/// assert_eq!(conv_out_size(3, 7, 1, 1, 1), None);
/// assert_eq!(conv_out_size(usize::MAX, 3, 1, 1, 1), None);
/// ```
pub fn conv_out_size(h: usize, k: usize, s: usize, p: usize, d: usize) -> Option<usize> {
    let padded = h.checked_add(p.checked_mul(2)?)?;
    let eff = d.checked_mul(k.checked_sub(1)?)?.checked_add(1)?;
    (s > 0 && padded >= eff).then(|| (padded - eff) / s + 1)
}

// Not offered as an alternative in errors about a static dim.
#[diagnostic::do_not_recommend]
impl<K, S, P, D> ConvOut<K, S, P, D> for Dyn {
    type Output = Dyn;
}

type Padded<H, P> = <<H as Add<P>>::Output as Add<P>>::Output;
type Effective<K, D> = <<D as Mul<<K as Sub<U1>>::Output>>::Output as Add<U1>>::Output;

impl<H: StaticDim, K, S, P, D> ConvOut<K, S, P, D> for H
where
    K: Sub<U1>,
    D: Mul<<K as Sub<U1>>::Output>,
    <D as Mul<<K as Sub<U1>>::Output>>::Output: Add<U1>,
    H: Add<P>,
    <H as Add<P>>::Output: Add<P>,
    Padded<H, P>: IsGreaterOrEqual<Effective<K, D>>,
    <Padded<H, P> as IsGreaterOrEqual<Effective<K, D>>>::Output:
        ConvFits<Padded<H, P>, Effective<K, D>, S> + Pick<Padded<H, P>, Effective<K, D>>,
    // The check itself, through a projection rather than a bound of this
    // impl, so that the error has no note in typenum's binary form (see
    // `super::same::DimsChecked`).
    FitsGot<H, K, P, D>: KernelChecked<FitsExp<H, K, P, D>>,
{
    type Output = <FitsGot<H, K, P, D> as KernelChecked<FitsExp<H, K, P, D>>>::Then<
        <<Padded<H, P> as IsGreaterOrEqual<Effective<K, D>>>::Output as ConvFits<
            Padded<H, P>,
            Effective<K, D>,
            S,
        >>::Output,
    >;
}

/// Dispatch on `padded >= effective kernel`.
pub trait ConvFits<Padded, Eff, S> {
    /// The output dim.
    type Output: Dim;
}
impl<Padded, Eff, S> ConvFits<Padded, Eff, S> for B1
where
    Padded: Sub<Eff>,
    <Padded as Sub<Eff>>::Output: StrideDiv<S>,
    <<Padded as Sub<Eff>>::Output as StrideDiv<S>>::Output: Add<U1>,
    <<<Padded as Sub<Eff>>::Output as StrideDiv<S>>::Output as Add<U1>>::Output: StaticDim,
{
    type Output = <<<Padded as Sub<Eff>>::Output as StrideDiv<S>>::Output as Add<U1>>::Output;
}
impl<Padded, Eff, S> ConvFits<Padded, Eff, S> for B0 {
    // Never used: `ConvOut` also requires the verdict to agree. A static
    // placeholder keeps the one real error from cascading into
    // `Dyn: Default` noise.
    type Output = typenum::U0;
}

/// The verdict on a kernel fitting: [`Agree`], or the padded input size
/// in decimal.
type FitsGot<H, K, P, D> = <<Padded<H, P> as IsGreaterOrEqual<Effective<K, D>>>::Output as Pick<
    Padded<H, P>,
    Effective<K, D>,
>>::Got;
/// The verdict on a kernel fitting: [`Agree`], or the effective kernel
/// size in decimal.
type FitsExp<H, K, P, D> = <<Padded<H, P> as IsGreaterOrEqual<Effective<K, D>>>::Output as Pick<
    Padded<H, P>,
    Effective<K, D>,
>>::Exp;

// ----------------------------------------------------------------- transposed conv

/// Never implemented: a transposed convolution whose padding removes its
/// whole output.
#[diagnostic::on_unimplemented(
    message = "transposed conv padding too large: the unpadded output has size {Self}, the padding removes {Removed}",
    label = "`(H-1)S + L(K-1) + OP + 1` must exceed twice the padding",
    note = "static dims are printed digit by digit: N<_4, _0, _0> is 400"
)]
pub trait PaddingRemovesOutput<Removed> {}
#[diagnostic::do_not_recommend]
impl PaddingRemovesOutput<Agree> for Agree {}

super::same::dim_checked! {
    /// [`PaddingRemovesOutput`] as a projection (see
    /// [`super::DimsChecked`]): a transposed conv output dim is named
    /// through it.
    PaddingChecked: PaddingRemovesOutput<Removed>,
    "transposed conv padding too large: the unpadded output has size {Self}, the padding removes {Removed}",
    "`(H-1)S + L(K-1) + OP + 1` must exceed twice the padding"
}

/// Output size of a transposed convolution along one axis:
/// `(H - 1)S - 2P + L(K - 1) + OP + 1`, with kernel `K`, stride `S`,
/// padding `P`, output padding `OP` and dilation `L` (all static). It is
/// the input size of the convolution whose gradient the transposed
/// convolution is. Padding that removes the whole output is a compile
/// error for a static `H` and a runtime error for [`Dyn`].
pub trait ConvTransposeOut<K, S, P, OP, L>: Dim {
    /// The output dim.
    type Output: Dim;
}

/// The output dim of a transposed conv: see [`ConvTransposeOut`].
pub type ConvTransposeOutDim<H, K, S, P, OP, L> = <H as ConvTransposeOut<K, S, P, OP, L>>::Output;

/// Runtime form of [`ConvTransposeOut`]: `None` when the padding removes
/// the whole output, the input or kernel is empty, the stride is 0, or the
/// sizes overflow `usize`.
///
/// ```
/// use typegrad::shape::conv_transpose_out_size;
/// assert_eq!(conv_transpose_out_size(12, 5, 2, 1, 1, 1), Some(26));
/// assert_eq!(conv_transpose_out_size(1, 1, 1, 1, 0, 1), None);
/// ```
pub fn conv_transpose_out_size(
    h: usize,
    k: usize,
    s: usize,
    p: usize,
    op: usize,
    l: usize,
) -> Option<usize> {
    if s == 0 {
        return None;
    }
    let full = h
        .checked_sub(1)?
        .checked_mul(s)?
        .checked_add(l.checked_mul(k.checked_sub(1)?)?)?
        .checked_add(op)?
        .checked_add(1)?;
    full.checked_sub(p.checked_mul(2)?).filter(|&o| o > 0)
}

// Not offered as an alternative in errors about a static dim.
#[diagnostic::do_not_recommend]
impl<K, S, P, OP, L> ConvTransposeOut<K, S, P, OP, L> for Dyn {
    type Output = Dyn;
}

/// `(H-1)S + L(K-1) + OP + 1`: the transposed conv's output before padding.
type TFull<H, K, S, OP, L> = <<<<<H as Sub<U1>>::Output as Mul<S>>::Output as Add<
    <L as Mul<<K as Sub<U1>>::Output>>::Output,
>>::Output as Add<OP>>::Output as Add<U1>>::Output;
/// `2P`.
type Twice<P> = <P as Add<P>>::Output;
/// `TFull > 2P`, as a typenum bit.
type TFits<H, K, S, P, OP, L> = <TFull<H, K, S, OP, L> as typenum::IsGreater<Twice<P>>>::Output;

impl<H: StaticDim, K, S, P, OP, L> ConvTransposeOut<K, S, P, OP, L> for H
where
    H: Sub<U1>,
    <H as Sub<U1>>::Output: Mul<S>,
    K: Sub<U1>,
    L: Mul<<K as Sub<U1>>::Output>,
    <<H as Sub<U1>>::Output as Mul<S>>::Output: Add<<L as Mul<<K as Sub<U1>>::Output>>::Output>,
    <<<H as Sub<U1>>::Output as Mul<S>>::Output as Add<
        <L as Mul<<K as Sub<U1>>::Output>>::Output,
    >>::Output: Add<OP>,
    <<<<H as Sub<U1>>::Output as Mul<S>>::Output as Add<
        <L as Mul<<K as Sub<U1>>::Output>>::Output,
    >>::Output as Add<OP>>::Output: Add<U1>,
    P: Add<P>,
    TFull<H, K, S, OP, L>: typenum::IsGreater<Twice<P>>,
    TFits<H, K, S, P, OP, L>:
        TransposeFits<TFull<H, K, S, OP, L>, Twice<P>> + Pick<TFull<H, K, S, OP, L>, Twice<P>>,
    // The check itself, through a projection (see `ConvOut`).
    <TFits<H, K, S, P, OP, L> as Pick<TFull<H, K, S, OP, L>, Twice<P>>>::Got:
        PaddingChecked<<TFits<H, K, S, P, OP, L> as Pick<TFull<H, K, S, OP, L>, Twice<P>>>::Exp>,
{
    type Output = <<TFits<H, K, S, P, OP, L> as Pick<TFull<H, K, S, OP, L>, Twice<P>>>::Got as PaddingChecked<
        <TFits<H, K, S, P, OP, L> as Pick<TFull<H, K, S, OP, L>, Twice<P>>>::Exp,
    >>::Then<<TFits<H, K, S, P, OP, L> as TransposeFits<TFull<H, K, S, OP, L>, Twice<P>>>::Output>;
}

/// Dispatch on `full > 2P` for [`ConvTransposeOut`].
pub trait TransposeFits<Full, TwiceP> {
    /// The output dim.
    type Output: Dim;
}
impl<Full: Sub<TwiceP>, TwiceP> TransposeFits<Full, TwiceP> for B1
where
    <Full as Sub<TwiceP>>::Output: StaticDim,
{
    type Output = <Full as Sub<TwiceP>>::Output;
}
impl<Full, TwiceP> TransposeFits<Full, TwiceP> for B0 {
    // Never used: the verdict must also agree (see `ConvFits`).
    type Output = typenum::U0;
}

/// `Self / S`, with fast paths for strides 1 and 2 (typenum's general
/// division costs ~50 ms of compile time per distinct size).
pub trait StrideDiv<S> {
    /// The quotient.
    type Output;
}
impl<X, S> StrideDiv<S> for X
where
    S: IsEqual<U1> + IsEqual<U2>,
    (<S as IsEqual<U1>>::Output, <S as IsEqual<U2>>::Output): DivSelect<X, S>,
{
    type Output =
        <(<S as IsEqual<U1>>::Output, <S as IsEqual<U2>>::Output) as DivSelect<X, S>>::Output;
}
/// Dispatch for [`StrideDiv`] on (S == 1, S == 2).
pub trait DivSelect<X, S> {
    /// The quotient.
    type Output;
}
impl<X, S> DivSelect<X, S> for (B1, B0) {
    type Output = X;
}
impl<X: Shr<U1>, S> DivSelect<X, S> for (B0, B1) {
    type Output = <X as Shr<U1>>::Output;
}
impl<X: Div<S>, S> DivSelect<X, S> for (B0, B0) {
    type Output = <X as Div<S>>::Output;
}

// ----------------------------------------------------------------- heads

/// Head split: `Self / H`, requiring `Self % H == 0`.
pub trait HeadSplit<H>: Dim {
    /// The per-head dim.
    type Output: Dim;
}
/// The per-head dim of model dim `D` split over `H` heads.
pub type HeadDim<D, H> = <D as HeadSplit<H>>::Output;

// Not offered as an alternative in errors about a static dim.
#[diagnostic::do_not_recommend]
impl<H> HeadSplit<H> for Dyn {
    type Output = Dyn;
}
impl<D: StaticDim, H> HeadSplit<H> for D
where
    D: Rem<H>,
    <D as Rem<H>>::Output: IsEqual<U0>,
    <<D as Rem<H>>::Output as IsEqual<U0>>::Output: Divides<D, H> + Pick<D, H>,
    // The check itself, through a projection (see `ConvOut`).
    <<<D as Rem<H>>::Output as IsEqual<U0>>::Output as Pick<D, H>>::Got:
        HeadsChecked<<<<D as Rem<H>>::Output as IsEqual<U0>>::Output as Pick<D, H>>::Exp>,
{
    type Output =
        <<<<D as Rem<H>>::Output as IsEqual<U0>>::Output as Pick<D, H>>::Got as HeadsChecked<
            <<<D as Rem<H>>::Output as IsEqual<U0>>::Output as Pick<D, H>>::Exp,
        >>::Then<<<<D as Rem<H>>::Output as IsEqual<U0>>::Output as Divides<D, H>>::Output>;
}
/// Dispatch on `D % H == 0`.
pub trait Divides<D, H> {
    /// The quotient.
    type Output: Dim;
}
impl<D: Div<H>, H> Divides<D, H> for B1
where
    <D as Div<H>>::Output: StaticDim,
{
    type Output = <D as Div<H>>::Output;
}
impl<D, H> Divides<D, H> for B0 {
    // Never used: `HeadSplit` also requires the verdict to agree. A static
    // placeholder keeps the one real error from cascading into
    // `Dyn: Default` noise.
    type Output = typenum::U0;
}

// ----------------------------------------------------------------- groups

/// Never implemented: a channel count that the number of groups of a
/// convolution does not divide.
#[diagnostic::on_unimplemented(
    message = "groups do not divide the channels: {Self} channels are not a multiple of {Groups} groups",
    label = "the input and output channels must be multiples of the groups",
    note = "static dims are printed digit by digit: N<_4, _0, _0> is 400"
)]
pub trait GroupsDoNotDivide<Groups> {}
#[diagnostic::do_not_recommend]
impl GroupsDoNotDivide<Agree> for Agree {}

/// Channels per group, `Self / G` rounded down (a static dim for a static
/// `Self`, [`Dyn`] for `Dyn`). Whether `G` divides `Self` is a separate
/// verdict, [`GroupVerdict`], checked by the constructors and ops that take
/// groups (a bound of a method fails with a short message, a bound of a
/// struct with a chain of notes in typenum's binary form).
pub trait GroupDiv<G>: Dim {
    /// The channels of one group.
    type Output: Dim;
}
/// The channels per group of `C` channels in `G` groups.
pub type PerGroup<C, G> = <C as GroupDiv<G>>::Output;

// Not offered as an alternative in errors about a static dim.
#[diagnostic::do_not_recommend]
impl<G> GroupDiv<G> for Dyn {
    type Output = Dyn;
}
impl<C: StaticDim + Div<G>, G> GroupDiv<G> for C
where
    <C as Div<G>>::Output: StaticDim,
{
    type Output = <C as Div<G>>::Output;
}

/// The verdict on `G` dividing `Self` (static channels): both halves
/// [`Agree`] when it does (or `Self` is [`Dyn`], checked at run time), else
/// `Self` and `G` in decimal, for [`GroupsDoNotDivide`].
pub trait GroupVerdict<G>: Dim {
    /// [`Agree`], or the channels in decimal.
    type Got;
    /// [`Agree`], or the groups in decimal.
    type Exp;
}
impl<G> GroupVerdict<G> for Dyn {
    type Got = Agree;
    type Exp = Agree;
}
impl<C: StaticDim, G> GroupVerdict<G> for C
where
    C: Rem<G>,
    <C as Rem<G>>::Output: IsEqual<U0>,
    <<C as Rem<G>>::Output as IsEqual<U0>>::Output: Pick<C, G>,
{
    type Got = <<<C as Rem<G>>::Output as IsEqual<U0>>::Output as Pick<C, G>>::Got;
    type Exp = <<<C as Rem<G>>::Output as IsEqual<U0>>::Output as Pick<C, G>>::Exp;
}

// ----------------------------------------------------------------- numel

/// Element count of an all-static shape, as a type.
pub trait StaticNumel {
    /// The product of the dims.
    type Numel;
}
macro_rules! static_numel {
    ($($D:ident)*) => {
        impl<$($D: StaticDim),*> StaticNumel for ($($D,)*)
        where
            typenum::U1: NumelProduct<($($D,)*)>,
        {
            type Numel = <typenum::U1 as NumelProduct<($($D,)*)>>::Output;
        }
    };
}
/// Left fold of a product over a tuple of dims.
pub trait NumelProduct<T> {
    /// The product.
    type Output;
}
impl<Acc> NumelProduct<()> for Acc {
    type Output = Acc;
}
macro_rules! numel_product {
    ($H:ident $($T:ident)*) => {
        impl<Acc: Mul<$H>, $H, $($T),*> NumelProduct<($H, $($T,)*)> for Acc
        where
            <Acc as Mul<$H>>::Output: NumelProduct<($($T,)*)>,
        {
            type Output = <<Acc as Mul<$H>>::Output as NumelProduct<($($T,)*)>>::Output;
        }
    };
}
numel_product!(A);
numel_product!(A B);
numel_product!(A B C);
numel_product!(A B C D);
numel_product!(A B C D E);
numel_product!(A B C D E F);
static_numel!();
static_numel!(A);
static_numel!(A B);
static_numel!(A B C);
static_numel!(A B C D);
static_numel!(A B C D E);
static_numel!(A B C D E F);

/// `Self` (a static element count) equals `Expected`, for generic code.
/// Operations state the check themselves, on the verdict
/// (`NumelGot<S, S2>: NumelMismatch<NumelExp<S, S2>>`), so that a mismatch
/// is reported without a chain of notes (see [`DimsAgree`](super::DimsAgree)).
pub trait SameNumel<Expected> {}
impl<A: DimVerdict<E>, E> SameNumel<E> for A where GotOf<A, E>: NumelMismatch<ExpOf<A, E>> {}

/// The verdict on the element counts of two static shapes: [`Agree`], or
/// the count of `S` in decimal.
pub type NumelGot<S, S2> = GotOf<<S as StaticNumel>::Numel, <S2 as StaticNumel>::Numel>;
/// The verdict on the element counts of two static shapes: [`Agree`], or
/// the count of `S2` in decimal.
pub type NumelExp<S, S2> = ExpOf<<S as StaticNumel>::Numel, <S2 as StaticNumel>::Numel>;
