//! Static equality of dims with a short, readable error.
//!
//! Every static equality is decided by *computing* a verdict, never by a
//! trait impl that may fail: [`DimVerdict`] runs a cheap typenum `IsEqual`
//! and yields the pair `(Agree, Agree)` when the dims agree, or, only on a
//! mismatch, both numbers in decimal (`N<_8, _0, _0>`, `N<_8, _6, _4>`).
//! The operation then states `G: DimsAgree<X>` on those two types in its
//! own where clause, and [`DimsAgree`] is implemented for `Agree` only.
//!
//! Why this shape: rustc prints one "required for `…` to implement `…`"
//! note, in typenum's binary `UInt<UInt<…>>` form, for every impl between
//! the caller's bound and the bound that fails, and lists every impl of the
//! outermost trait. A bound of the called function itself that fails
//! directly has no such chain: the error is the headline, the caller's
//! line, the digit note and a pointer to the bound, with no binary number.
//! (`#[diagnostic::do_not_recommend]` cannot do this: it reports the
//! outer, undecimalised bound instead of the failing one.)
//!
//! A pair involving [`Dyn`] always agrees here and is checked at run time.

use super::decimal::{Dec, ToDecimal, N};
use super::dim::{Dyn, StaticDim};
use super::tuple::Shape;
use typenum::{IsEqual, B0, B1};

/// The verdict "these dims agree" (both halves of the pair).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Agree;

/// `Self` and `Expected` are the two halves of a verdict: implemented only
/// for `(Agree, Agree)`; a mismatch yields two decimal numbers, for which
/// the error reads `dimension mismatch: got N<_8, _0, _0>, expected N<_8,
/// _6, _4>`.
///
/// How static checks are built: the verdict ([`DimVerdict`],
/// [`ShapeVerdict`], ...) is *computed* by projections that never fail (one
/// typenum `IsEqual`; both numbers are converted to decimal only on a
/// mismatch), and the operation states `G: DimsAgree<X>` on it in its own
/// signature. A bound of the called function that fails directly is
/// reported at the caller's line with no chain of "required for `…` to
/// implement `…`" notes, each of which would print the shapes in typenum's
/// binary `UInt<UInt<…>>` form. Generic code writes the usual bound
/// (`S: MatMul<S2>`, `S2: SameShape<S>`): the verdict parameters default to
/// [`Agree`].
#[diagnostic::on_unimplemented(
    message = "dimension mismatch: got {Self}, expected {Expected}",
    note = "static dims are printed digit by digit: N<_4, _0, _0> is 400"
)]
pub trait DimsAgree<Expected> {}

#[diagnostic::do_not_recommend]
impl DimsAgree<Agree> for Agree {}

/// The verdict on `Self` (the dim found) against `Expected`: `Got` and
/// `Exp` are both [`Agree`] when the dims are equal or either is [`Dyn`],
/// else the two numbers in decimal. Never fails to compute, so it never
/// adds a note to an error.
pub trait DimVerdict<Expected> {
    /// [`Agree`], or the dim found in decimal.
    type Got;
    /// [`Agree`], or the dim expected in decimal.
    type Exp;
}

impl DimVerdict<Dyn> for Dyn {
    type Got = Agree;
    type Exp = Agree;
}
impl<S: StaticDim> DimVerdict<Dyn> for S {
    type Got = Agree;
    type Exp = Agree;
}
impl<S: StaticDim> DimVerdict<S> for Dyn {
    type Got = Agree;
    type Exp = Agree;
}
impl<A: StaticDim, E: StaticDim> DimVerdict<E> for A
where
    A: IsEqual<E>,
    <A as IsEqual<E>>::Output: Pick<A, E>,
{
    type Got = <<A as IsEqual<E>>::Output as Pick<A, E>>::Got;
    type Exp = <<A as IsEqual<E>>::Output as Pick<A, E>>::Exp;
}

/// Dispatch on the result of `IsEqual`: `B1` agrees, `B0` converts both
/// numbers to decimal (only then, so the happy path costs one `IsEqual`).
pub trait Pick<A, E> {
    /// See [`DimVerdict::Got`].
    type Got;
    /// See [`DimVerdict::Exp`].
    type Exp;
}
impl<A, E> Pick<A, E> for B1 {
    type Got = Agree;
    type Exp = Agree;
}
impl<A: ToDecimal, E: ToDecimal> Pick<A, E> for B0 {
    type Got = Dec<A>;
    type Exp = Dec<E>;
}

/// The first disagreeing of two verdicts: `Self`/`X` is the first verdict,
/// `G2`/`X2` the second.
pub trait Then<X, G2, X2> {
    /// The first mismatch's dim found, or [`Agree`].
    type Got;
    /// The first mismatch's dim expected, or [`Agree`].
    type Exp;
}
impl<G2, X2> Then<Agree, G2, X2> for Agree {
    type Got = G2;
    type Exp = X2;
}
impl<A, B, C, D, E, F, G, H, X, G2, X2> Then<X, G2, X2> for N<A, B, C, D, E, F, G, H> {
    type Got = N<A, B, C, D, E, F, G, H>;
    type Exp = X;
}

/// The verdict's dim found: [`Agree`] or a decimal number.
pub type GotOf<A, E> = <A as DimVerdict<E>>::Got;
/// The verdict's dim expected: [`Agree`] or a decimal number.
pub type ExpOf<A, E> = <A as DimVerdict<E>>::Exp;

/// `Self` (the dim found) is compatible with `Expected`: equal if both are
/// static, anything if either is [`Dyn`] (checked at run time).
///
/// The last two parameters are the verdict ([`DimVerdict`]) and default to
/// [`Agree`], so a generic bound `K2: SameDim<K>` means "the dims agree". A
/// function that checks dims itself takes them as parameters and states
/// `G: DimsAgree<X>`, which is what reports a mismatch:
///
/// ```
/// use typegrad::prelude::*;
/// use typegrad::shape::{DimsAgree, SameDim};
/// fn ok<A: SameDim<B, G, X>, B, G: DimsAgree<X>, X>() {}
/// ok::<u!(3), u!(3), _, _>();
/// ok::<Dyn, u!(3), _, _>();
/// fn generic<A: SameDim<B>, B>() {
///     ok::<A, B, _, _>();
/// }
/// generic::<u!(4), u!(4)>();
/// ```
///
/// ```compile_fail
/// use typegrad::prelude::*;
/// use typegrad::shape::{DimsAgree, SameDim};
/// fn ok<A: SameDim<B, G, X>, B, G: DimsAgree<X>, X>() {}
/// ok::<u!(3), u!(4), _, _>(); // dimension mismatch: got N<_3>, expected N<_4>
/// ```
pub trait SameDim<Expected, G = Agree, X = Agree> {}
impl<A: DimVerdict<E>, E> SameDim<E, A::Got, A::Exp> for A {}

/// The verdict on two shapes of one rank, dim by dim ([`DimVerdict`]): the
/// first pair that disagrees, or [`Agree`].
#[diagnostic::on_unimplemented(
    message = "shape {Self} does not match shape {Expected}",
    label = "the shapes must have the same number of axes"
)]
pub trait ShapeVerdict<Expected: Shape>: Shape {
    /// [`Agree`], or the first disagreeing dim found, in decimal.
    type Got;
    /// [`Agree`], or the first disagreeing dim expected, in decimal.
    type Exp;
}

impl ShapeVerdict<()> for () {
    type Got = Agree;
    type Exp = Agree;
}

macro_rules! shape_verdict {
    ($L0:ident $R0:ident $(, $L:ident $R:ident)*) => {
        impl<$L0: DimVerdict<$R0> + super::Dim, $R0: super::Dim $(, $L: super::Dim, $R: super::Dim)*>
            ShapeVerdict<($R0, $($R,)*)> for ($L0, $($L,)*)
        where
            ($($L,)*): ShapeVerdict<($($R,)*)>,
            GotOf<$L0, $R0>: Then<
                ExpOf<$L0, $R0>,
                <($($L,)*) as ShapeVerdict<($($R,)*)>>::Got,
                <($($L,)*) as ShapeVerdict<($($R,)*)>>::Exp,
            >,
        {
            type Got = <GotOf<$L0, $R0> as Then<
                ExpOf<$L0, $R0>,
                <($($L,)*) as ShapeVerdict<($($R,)*)>>::Got,
                <($($L,)*) as ShapeVerdict<($($R,)*)>>::Exp,
            >>::Got;
            type Exp = <GotOf<$L0, $R0> as Then<
                ExpOf<$L0, $R0>,
                <($($L,)*) as ShapeVerdict<($($R,)*)>>::Got,
                <($($L,)*) as ShapeVerdict<($($R,)*)>>::Exp,
            >>::Exp;
        }
    };
}
shape_verdict!(L0 R0);
shape_verdict!(L0 R0, L1 R1);
shape_verdict!(L0 R0, L1 R1, L2 R2);
shape_verdict!(L0 R0, L1 R1, L2 R2, L3 R3);
shape_verdict!(L0 R0, L1 R1, L2 R2, L3 R3, L4 R4);
shape_verdict!(L0 R0, L1 R1, L2 R2, L3 R3, L4 R4, L5 R5);

/// `Self` (a verdict's dim found) agrees with `Expected`, as a projection:
/// `<G as DimsChecked<X>>::Then<S>` is `S` when `G: DimsAgree<X>`.
///
/// A layer's `Module` impl names its output shape through this projection
/// (and states `G: DimsChecked<X>`) rather than requiring `G: DimsAgree<X>`
/// itself: rustc then reports a mismatch while normalizing the output type
/// of the call, with no "required for `Layer<UInt<…>>` to implement
/// `Module<…>`" note in typenum's binary form.
#[diagnostic::on_unimplemented(
    message = "dimension mismatch: got {Self}, expected {Expected}",
    note = "static dims are printed digit by digit: N<_4, _0, _0> is 400"
)]
pub trait DimsChecked<Expected> {
    /// `S` itself.
    type Then<S: Shape>: Shape;
    /// The tensor itself, typed with [`DimsChecked::Then`].
    fn pass<S: Shape, E: crate::dtype::Elem, D: crate::backend::Backend, T>(
        t: crate::tensor::Tensor<S, E, D, T>,
    ) -> crate::tensor::Tensor<Self::Then<S>, E, D, T>;
}
#[diagnostic::do_not_recommend]
impl<G: DimsAgree<X>, X> DimsChecked<X> for G {
    type Then<S: Shape> = S;
    #[inline]
    fn pass<S: Shape, E: crate::dtype::Elem, D: crate::backend::Backend, T>(
        t: crate::tensor::Tensor<S, E, D, T>,
    ) -> crate::tensor::Tensor<S, E, D, T> {
        t
    }
}

/// A "checked" twin of a verdict trait for a *dim*: `<G as
/// $Checked<X>>::Then<T>` is `T` when `G: $Check<X>`. Same reason and use
/// as [`DimsChecked`], for impls whose output is a dim (broadcast, conv,
/// head split).
macro_rules! dim_checked {
    ($(#[$doc:meta])* $Checked:ident: $Check:ident<$P:ident>, $msg:literal, $label:literal) => {
        $(#[$doc])*
        #[diagnostic::on_unimplemented(
            message = $msg,
            label = $label,
            note = "static dims are printed digit by digit: N<_4, _0, _0> is 400"
        )]
        pub trait $Checked<$P> {
            /// `T` itself.
            type Then<T: $crate::shape::Dim>: $crate::shape::Dim;
        }
        #[diagnostic::do_not_recommend]
        impl<G: $Check<X>, X> $Checked<X> for G {
            type Then<T: $crate::shape::Dim> = T;
        }
    };
}
pub(crate) use dim_checked;
