//! One-sided broadcasting: a shape that can be broadcast *to* a given target
//! shape (numpy rules, right-aligned: each dim equals the target's or is 1;
//! missing leading axes count as 1). The target is unchanged, unlike
//! [`BroadcastShape`](super::BroadcastShape), which computes a common shape
//! of two. Used by masks (a causal `(T, T)` mask applied to `(B, H, T, T)`
//! scores); static mismatches are compile errors naming both numbers, dims
//! involving [`Dyn`] are checked at run time by [`check_broadcast_to`].

use super::decimal::{Dec, ToDecimal};
use super::dim::{Dim, Dyn, StaticDim};
use super::error::Error;
use super::same::{Agree, Then};
use super::tuple::Shape;
use typenum::{IsEqual, B0, B1, U1};

/// Never implemented: the error for a static dim that cannot be broadcast to
/// the static dim of the target.
#[diagnostic::on_unimplemented(
    message = "cannot broadcast dim {Self} to {Target}",
    label = "a broadcast dim must equal the target dim or be 1",
    note = "static dims are printed digit by digit: N<_4, _0, _0> is 400"
)]
pub trait BroadcastToMismatch<Target> {}

#[diagnostic::do_not_recommend]
impl BroadcastToMismatch<Agree> for Agree {}

/// The verdict on broadcasting the dim `Self` to the dim `Target`: `Got`
/// and `Exp` are [`Agree`] when they are equal, `Self` is 1, or either is
/// [`Dyn`] (checked at run time); else both dims in decimal. Never fails to
/// compute, so it adds no note to an error (see [`DimsAgree`](super::DimsAgree)).
pub trait DimBroadcastsTo<Target> {
    /// [`Agree`], or the dim found in decimal.
    type Got;
    /// [`Agree`], or the target dim in decimal.
    type Exp;
}

impl DimBroadcastsTo<Dyn> for Dyn {
    type Got = Agree;
    type Exp = Agree;
}
impl<S: StaticDim> DimBroadcastsTo<Dyn> for S {
    type Got = Agree;
    type Exp = Agree;
}
impl<S: StaticDim> DimBroadcastsTo<S> for Dyn {
    type Got = Agree;
    type Exp = Agree;
}
impl<A: StaticDim, B: StaticDim> DimBroadcastsTo<B> for A
where
    A: IsEqual<B> + IsEqual<U1>,
    (<A as IsEqual<B>>::Output, <A as IsEqual<U1>>::Output): BroadcastToOk<A, B>,
{
    type Got =
        <(<A as IsEqual<B>>::Output, <A as IsEqual<U1>>::Output) as BroadcastToOk<A, B>>::Got;
    type Exp =
        <(<A as IsEqual<B>>::Output, <A as IsEqual<U1>>::Output) as BroadcastToOk<A, B>>::Exp;
}

/// Dispatch on `(A == B, A == 1)`: either agrees; neither gives both dims
/// in decimal.
pub trait BroadcastToOk<A, B> {
    /// [`Agree`], or `A` in decimal.
    type Got;
    /// [`Agree`], or `B` in decimal.
    type Exp;
}
impl<A, B, X> BroadcastToOk<A, B> for (B1, X) {
    type Got = Agree;
    type Exp = Agree;
}
impl<A, B> BroadcastToOk<A, B> for (B0, B1) {
    type Got = Agree;
    type Exp = Agree;
}
impl<A: ToDecimal, B: ToDecimal> BroadcastToOk<A, B> for (B0, B0) {
    type Got = Dec<A>;
    type Exp = Dec<B>;
}

/// The verdict on a list of `(dim, target dim)` pairs, as nested pairs
/// `((A, B), rest)`: the first that cannot broadcast, or [`Agree`].
pub trait PairsBroadcast {
    /// [`Agree`], or the first failing dim in decimal.
    type Got;
    /// [`Agree`], or its target dim in decimal.
    type Exp;
}
impl PairsBroadcast for () {
    type Got = Agree;
    type Exp = Agree;
}
impl<A: DimBroadcastsTo<B>, B, Rest: PairsBroadcast> PairsBroadcast for ((A, B), Rest)
where
    A::Got: Then<A::Exp, Rest::Got, Rest::Exp>,
{
    type Got = <A::Got as Then<A::Exp, Rest::Got, Rest::Exp>>::Got;
    type Exp = <A::Got as Then<A::Exp, Rest::Got, Rest::Exp>>::Exp;
}

/// The verdict on broadcasting the shape `Self` to `Target` (right-aligned):
/// what [`BroadcastsTo`]'s last two parameters are.
#[diagnostic::on_unimplemented(
    message = "shape {Self} cannot be broadcast to shape {Target}",
    label = "the shape must have at most as many axes as the target"
)]
pub trait BroadcastVerdict<Target: Shape>: Shape {
    /// [`Agree`], or the first dim that cannot broadcast, in decimal.
    type Got;
    /// [`Agree`], or its target dim, in decimal.
    type Exp;
}

/// `Self` can be broadcast to the shape `Target` (rank at most the
/// target's; right-aligned; each dim equal to the target's or 1).
///
/// The last two parameters are the verdict ([`BroadcastVerdict`]),
/// [`Agree`] by default, so a generic bound `A: BroadcastsTo<B>` means "A
/// broadcasts to B". An op takes them as parameters and states
/// `G: BroadcastToMismatch<X>` itself, so that a mismatch is reported at
/// that bound in decimal, with no chain of notes (see [`DimsAgree`](super::DimsAgree)).
///
/// ```
/// use typegrad::prelude::*;
/// use typegrad::shape::BroadcastsTo;
/// fn ok<A: BroadcastsTo<B>, B: Shape>() {}
/// ok::<(u!(4), u!(4)), (Dyn, u!(2), u!(4), u!(4))>();
/// ok::<(u!(1), u!(4)), (u!(3), u!(4))>();
/// ok::<(Dyn, Dyn), (u!(2), Dyn, Dyn)>();
/// ```
///
/// ```compile_fail
/// use typegrad::prelude::*;
/// use typegrad::shape::BroadcastsTo;
/// use typegrad::shape::BroadcastToMismatch;
/// fn ok<A: BroadcastsTo<B, G, X>, B: Shape, G: BroadcastToMismatch<X>, X>() {}
/// ok::<(u!(3), u!(4)), (u!(2), u!(4)), _, _>(); // cannot broadcast dim N<_3> to N<_2>
/// ```
#[diagnostic::on_unimplemented(
    message = "shape {Self} cannot be broadcast to shape {Target}",
    label = "the shape must have at most as many axes as the target"
)]
pub trait BroadcastsTo<Target: Shape, G = Agree, X = Agree>: Shape {
    /// Check the runtime sizes (needed where either side has [`Dyn`] dims).
    fn check_broadcast_to(
        &self,
        target: &Target,
        op: &'static str,
        what: &'static str,
    ) -> Result<(), Error> {
        check_broadcast_to(op, what, &self.dims(), &target.dims())
    }
}

/// Runtime check that `from` broadcasts to `to` (right-aligned; each dim
/// equal or 1). On failure: [`Error::DimMismatch`] naming the axis of `to`,
/// the size found in `from` and the size of `to`.
pub fn check_broadcast_to(
    op: &'static str,
    what: &'static str,
    from: &[usize],
    to: &[usize],
) -> Result<(), Error> {
    if from.len() > to.len() {
        return Err(Error::Invalid(
            "broadcast: the source shape has more axes than the target",
        ));
    }
    let off = to.len() - from.len();
    for (i, &f) in from.iter().enumerate() {
        let t = to[i + off];
        if f != t && f != 1 {
            return Err(Error::DimMismatch {
                op,
                axis: i + off,
                what,
                got: f,
                expected: t,
            });
        }
    }
    Ok(())
}

impl<L: BroadcastVerdict<R>, R: Shape> BroadcastsTo<R, L::Got, L::Exp> for L {}

impl BroadcastVerdict<()> for ()
where
    (): PairsBroadcast,
{
    type Got = <() as PairsBroadcast>::Got;
    type Exp = <() as PairsBroadcast>::Exp;
}

impl<R0: Dim> BroadcastVerdict<(R0,)> for ()
where
    (): PairsBroadcast,
{
    type Got = <() as PairsBroadcast>::Got;
    type Exp = <() as PairsBroadcast>::Exp;
}

impl<R0: Dim, R1: Dim> BroadcastVerdict<(R0, R1)> for ()
where
    (): PairsBroadcast,
{
    type Got = <() as PairsBroadcast>::Got;
    type Exp = <() as PairsBroadcast>::Exp;
}

impl<R0: Dim, R1: Dim, R2: Dim> BroadcastVerdict<(R0, R1, R2)> for ()
where
    (): PairsBroadcast,
{
    type Got = <() as PairsBroadcast>::Got;
    type Exp = <() as PairsBroadcast>::Exp;
}

impl<R0: Dim, R1: Dim, R2: Dim, R3: Dim> BroadcastVerdict<(R0, R1, R2, R3)> for ()
where
    (): PairsBroadcast,
{
    type Got = <() as PairsBroadcast>::Got;
    type Exp = <() as PairsBroadcast>::Exp;
}

impl<R0: Dim, R1: Dim, R2: Dim, R3: Dim, R4: Dim> BroadcastVerdict<(R0, R1, R2, R3, R4)> for ()
where
    (): PairsBroadcast,
{
    type Got = <() as PairsBroadcast>::Got;
    type Exp = <() as PairsBroadcast>::Exp;
}

impl<R0: Dim, R1: Dim, R2: Dim, R3: Dim, R4: Dim, R5: Dim>
    BroadcastVerdict<(R0, R1, R2, R3, R4, R5)> for ()
where
    (): PairsBroadcast,
{
    type Got = <() as PairsBroadcast>::Got;
    type Exp = <() as PairsBroadcast>::Exp;
}

impl<L0: Dim, R0: Dim> BroadcastVerdict<(R0,)> for (L0,)
where
    ((L0, R0), ()): PairsBroadcast,
{
    type Got = <((L0, R0), ()) as PairsBroadcast>::Got;
    type Exp = <((L0, R0), ()) as PairsBroadcast>::Exp;
}

impl<L0: Dim, R0: Dim, R1: Dim> BroadcastVerdict<(R0, R1)> for (L0,)
where
    ((L0, R1), ()): PairsBroadcast,
{
    type Got = <((L0, R1), ()) as PairsBroadcast>::Got;
    type Exp = <((L0, R1), ()) as PairsBroadcast>::Exp;
}

impl<L0: Dim, R0: Dim, R1: Dim, R2: Dim> BroadcastVerdict<(R0, R1, R2)> for (L0,)
where
    ((L0, R2), ()): PairsBroadcast,
{
    type Got = <((L0, R2), ()) as PairsBroadcast>::Got;
    type Exp = <((L0, R2), ()) as PairsBroadcast>::Exp;
}

impl<L0: Dim, R0: Dim, R1: Dim, R2: Dim, R3: Dim> BroadcastVerdict<(R0, R1, R2, R3)> for (L0,)
where
    ((L0, R3), ()): PairsBroadcast,
{
    type Got = <((L0, R3), ()) as PairsBroadcast>::Got;
    type Exp = <((L0, R3), ()) as PairsBroadcast>::Exp;
}

impl<L0: Dim, R0: Dim, R1: Dim, R2: Dim, R3: Dim, R4: Dim> BroadcastVerdict<(R0, R1, R2, R3, R4)>
    for (L0,)
where
    ((L0, R4), ()): PairsBroadcast,
{
    type Got = <((L0, R4), ()) as PairsBroadcast>::Got;
    type Exp = <((L0, R4), ()) as PairsBroadcast>::Exp;
}

impl<L0: Dim, R0: Dim, R1: Dim, R2: Dim, R3: Dim, R4: Dim, R5: Dim>
    BroadcastVerdict<(R0, R1, R2, R3, R4, R5)> for (L0,)
where
    ((L0, R5), ()): PairsBroadcast,
{
    type Got = <((L0, R5), ()) as PairsBroadcast>::Got;
    type Exp = <((L0, R5), ()) as PairsBroadcast>::Exp;
}

impl<L0: Dim, L1: Dim, R0: Dim, R1: Dim> BroadcastVerdict<(R0, R1)> for (L0, L1)
where
    ((L0, R0), ((L1, R1), ())): PairsBroadcast,
{
    type Got = <((L0, R0), ((L1, R1), ())) as PairsBroadcast>::Got;
    type Exp = <((L0, R0), ((L1, R1), ())) as PairsBroadcast>::Exp;
}

impl<L0: Dim, L1: Dim, R0: Dim, R1: Dim, R2: Dim> BroadcastVerdict<(R0, R1, R2)> for (L0, L1)
where
    ((L0, R1), ((L1, R2), ())): PairsBroadcast,
{
    type Got = <((L0, R1), ((L1, R2), ())) as PairsBroadcast>::Got;
    type Exp = <((L0, R1), ((L1, R2), ())) as PairsBroadcast>::Exp;
}

impl<L0: Dim, L1: Dim, R0: Dim, R1: Dim, R2: Dim, R3: Dim> BroadcastVerdict<(R0, R1, R2, R3)>
    for (L0, L1)
where
    ((L0, R2), ((L1, R3), ())): PairsBroadcast,
{
    type Got = <((L0, R2), ((L1, R3), ())) as PairsBroadcast>::Got;
    type Exp = <((L0, R2), ((L1, R3), ())) as PairsBroadcast>::Exp;
}

impl<L0: Dim, L1: Dim, R0: Dim, R1: Dim, R2: Dim, R3: Dim, R4: Dim>
    BroadcastVerdict<(R0, R1, R2, R3, R4)> for (L0, L1)
where
    ((L0, R3), ((L1, R4), ())): PairsBroadcast,
{
    type Got = <((L0, R3), ((L1, R4), ())) as PairsBroadcast>::Got;
    type Exp = <((L0, R3), ((L1, R4), ())) as PairsBroadcast>::Exp;
}

impl<L0: Dim, L1: Dim, R0: Dim, R1: Dim, R2: Dim, R3: Dim, R4: Dim, R5: Dim>
    BroadcastVerdict<(R0, R1, R2, R3, R4, R5)> for (L0, L1)
where
    ((L0, R4), ((L1, R5), ())): PairsBroadcast,
{
    type Got = <((L0, R4), ((L1, R5), ())) as PairsBroadcast>::Got;
    type Exp = <((L0, R4), ((L1, R5), ())) as PairsBroadcast>::Exp;
}

impl<L0: Dim, L1: Dim, L2: Dim, R0: Dim, R1: Dim, R2: Dim> BroadcastVerdict<(R0, R1, R2)>
    for (L0, L1, L2)
where
    ((L0, R0), ((L1, R1), ((L2, R2), ()))): PairsBroadcast,
{
    type Got = <((L0, R0), ((L1, R1), ((L2, R2), ()))) as PairsBroadcast>::Got;
    type Exp = <((L0, R0), ((L1, R1), ((L2, R2), ()))) as PairsBroadcast>::Exp;
}

impl<L0: Dim, L1: Dim, L2: Dim, R0: Dim, R1: Dim, R2: Dim, R3: Dim>
    BroadcastVerdict<(R0, R1, R2, R3)> for (L0, L1, L2)
where
    ((L0, R1), ((L1, R2), ((L2, R3), ()))): PairsBroadcast,
{
    type Got = <((L0, R1), ((L1, R2), ((L2, R3), ()))) as PairsBroadcast>::Got;
    type Exp = <((L0, R1), ((L1, R2), ((L2, R3), ()))) as PairsBroadcast>::Exp;
}

impl<L0: Dim, L1: Dim, L2: Dim, R0: Dim, R1: Dim, R2: Dim, R3: Dim, R4: Dim>
    BroadcastVerdict<(R0, R1, R2, R3, R4)> for (L0, L1, L2)
where
    ((L0, R2), ((L1, R3), ((L2, R4), ()))): PairsBroadcast,
{
    type Got = <((L0, R2), ((L1, R3), ((L2, R4), ()))) as PairsBroadcast>::Got;
    type Exp = <((L0, R2), ((L1, R3), ((L2, R4), ()))) as PairsBroadcast>::Exp;
}

impl<L0: Dim, L1: Dim, L2: Dim, R0: Dim, R1: Dim, R2: Dim, R3: Dim, R4: Dim, R5: Dim>
    BroadcastVerdict<(R0, R1, R2, R3, R4, R5)> for (L0, L1, L2)
where
    ((L0, R3), ((L1, R4), ((L2, R5), ()))): PairsBroadcast,
{
    type Got = <((L0, R3), ((L1, R4), ((L2, R5), ()))) as PairsBroadcast>::Got;
    type Exp = <((L0, R3), ((L1, R4), ((L2, R5), ()))) as PairsBroadcast>::Exp;
}

impl<L0: Dim, L1: Dim, L2: Dim, L3: Dim, R0: Dim, R1: Dim, R2: Dim, R3: Dim>
    BroadcastVerdict<(R0, R1, R2, R3)> for (L0, L1, L2, L3)
where
    ((L0, R0), ((L1, R1), ((L2, R2), ((L3, R3), ())))): PairsBroadcast,
{
    type Got = <((L0, R0), ((L1, R1), ((L2, R2), ((L3, R3), ())))) as PairsBroadcast>::Got;
    type Exp = <((L0, R0), ((L1, R1), ((L2, R2), ((L3, R3), ())))) as PairsBroadcast>::Exp;
}

impl<L0: Dim, L1: Dim, L2: Dim, L3: Dim, R0: Dim, R1: Dim, R2: Dim, R3: Dim, R4: Dim>
    BroadcastVerdict<(R0, R1, R2, R3, R4)> for (L0, L1, L2, L3)
where
    ((L0, R1), ((L1, R2), ((L2, R3), ((L3, R4), ())))): PairsBroadcast,
{
    type Got = <((L0, R1), ((L1, R2), ((L2, R3), ((L3, R4), ())))) as PairsBroadcast>::Got;
    type Exp = <((L0, R1), ((L1, R2), ((L2, R3), ((L3, R4), ())))) as PairsBroadcast>::Exp;
}

impl<L0: Dim, L1: Dim, L2: Dim, L3: Dim, R0: Dim, R1: Dim, R2: Dim, R3: Dim, R4: Dim, R5: Dim>
    BroadcastVerdict<(R0, R1, R2, R3, R4, R5)> for (L0, L1, L2, L3)
where
    ((L0, R2), ((L1, R3), ((L2, R4), ((L3, R5), ())))): PairsBroadcast,
{
    type Got = <((L0, R2), ((L1, R3), ((L2, R4), ((L3, R5), ())))) as PairsBroadcast>::Got;
    type Exp = <((L0, R2), ((L1, R3), ((L2, R4), ((L3, R5), ())))) as PairsBroadcast>::Exp;
}

impl<L0: Dim, L1: Dim, L2: Dim, L3: Dim, L4: Dim, R0: Dim, R1: Dim, R2: Dim, R3: Dim, R4: Dim>
    BroadcastVerdict<(R0, R1, R2, R3, R4)> for (L0, L1, L2, L3, L4)
where
    ((L0, R0), ((L1, R1), ((L2, R2), ((L3, R3), ((L4, R4), ()))))): PairsBroadcast,
{
    type Got =
        <((L0, R0), ((L1, R1), ((L2, R2), ((L3, R3), ((L4, R4), ()))))) as PairsBroadcast>::Got;
    type Exp =
        <((L0, R0), ((L1, R1), ((L2, R2), ((L3, R3), ((L4, R4), ()))))) as PairsBroadcast>::Exp;
}

impl<
        L0: Dim,
        L1: Dim,
        L2: Dim,
        L3: Dim,
        L4: Dim,
        R0: Dim,
        R1: Dim,
        R2: Dim,
        R3: Dim,
        R4: Dim,
        R5: Dim,
    > BroadcastVerdict<(R0, R1, R2, R3, R4, R5)> for (L0, L1, L2, L3, L4)
where
    ((L0, R1), ((L1, R2), ((L2, R3), ((L3, R4), ((L4, R5), ()))))): PairsBroadcast,
{
    type Got =
        <((L0, R1), ((L1, R2), ((L2, R3), ((L3, R4), ((L4, R5), ()))))) as PairsBroadcast>::Got;
    type Exp =
        <((L0, R1), ((L1, R2), ((L2, R3), ((L3, R4), ((L4, R5), ()))))) as PairsBroadcast>::Exp;
}

impl<
        L0: Dim,
        L1: Dim,
        L2: Dim,
        L3: Dim,
        L4: Dim,
        L5: Dim,
        R0: Dim,
        R1: Dim,
        R2: Dim,
        R3: Dim,
        R4: Dim,
        R5: Dim,
    > BroadcastVerdict<(R0, R1, R2, R3, R4, R5)> for (L0, L1, L2, L3, L4, L5)
where
    (
        (L0, R0),
        ((L1, R1), ((L2, R2), ((L3, R3), ((L4, R4), ((L5, R5), ()))))),
    ): PairsBroadcast,
{
    type Got = <(
        (L0, R0),
        ((L1, R1), ((L2, R2), ((L3, R3), ((L4, R4), ((L5, R5), ()))))),
    ) as PairsBroadcast>::Got;
    type Exp = <(
        (L0, R0),
        ((L1, R1), ((L2, R2), ((L3, R3), ((L4, R4), ((L5, R5), ()))))),
    ) as PairsBroadcast>::Exp;
}
