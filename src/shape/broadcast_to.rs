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

/// The dim `Self` can be broadcast to the dim `Target`: equal, or `Self` is
/// 1; any pair involving [`Dyn`] passes here and is checked at run time.
pub trait DimBroadcastsTo<Target> {}

impl DimBroadcastsTo<Dyn> for Dyn {}
impl<S: StaticDim> DimBroadcastsTo<Dyn> for S {}
impl<S: StaticDim> DimBroadcastsTo<S> for Dyn {}
impl<A: StaticDim, B: StaticDim> DimBroadcastsTo<B> for A
where
    A: IsEqual<B> + IsEqual<U1>,
    (<A as IsEqual<B>>::Output, <A as IsEqual<U1>>::Output): BroadcastToOk<A, B>,
{
}

/// Dispatch on `(A == B, A == 1)`: either passes; neither asks for the
/// never-implemented [`BroadcastToMismatch`] in decimal.
pub trait BroadcastToOk<A, B> {}
impl<A, B, X> BroadcastToOk<A, B> for (B1, X) {}
impl<A, B> BroadcastToOk<A, B> for (B0, B1) {}
impl<A: ToDecimal, B: ToDecimal> BroadcastToOk<A, B> for (B0, B0) where
    Dec<A>: BroadcastToMismatch<Dec<B>>
{
}

/// `Self` can be broadcast to the shape `Target` (rank at most the
/// target's; right-aligned; each dim equal to the target's or 1).
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
/// fn ok<A: BroadcastsTo<B>, B: Shape>() {}
/// ok::<(u!(3), u!(4)), (u!(2), u!(4))>(); // cannot broadcast dim N<_3> to N<_2>
/// ```
#[diagnostic::on_unimplemented(
    message = "shape {Self} cannot be broadcast to shape {Target}",
    label = "the shape must have at most as many axes as the target"
)]
pub trait BroadcastsTo<Target: Shape>: Shape {
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

impl BroadcastsTo<()> for () {}

impl<R0: Dim> BroadcastsTo<(R0,)> for () {}

impl<R0: Dim, R1: Dim> BroadcastsTo<(R0, R1)> for () {}

impl<R0: Dim, R1: Dim, R2: Dim> BroadcastsTo<(R0, R1, R2)> for () {}

impl<R0: Dim, R1: Dim, R2: Dim, R3: Dim> BroadcastsTo<(R0, R1, R2, R3)> for () {}

impl<R0: Dim, R1: Dim, R2: Dim, R3: Dim, R4: Dim> BroadcastsTo<(R0, R1, R2, R3, R4)> for () {}

impl<R0: Dim, R1: Dim, R2: Dim, R3: Dim, R4: Dim, R5: Dim> BroadcastsTo<(R0, R1, R2, R3, R4, R5)>
    for ()
{
}

impl<L0: Dim, R0: Dim> BroadcastsTo<(R0,)> for (L0,) where L0: DimBroadcastsTo<R0> {}

impl<L0: Dim, R0: Dim, R1: Dim> BroadcastsTo<(R0, R1)> for (L0,) where L0: DimBroadcastsTo<R1> {}

impl<L0: Dim, R0: Dim, R1: Dim, R2: Dim> BroadcastsTo<(R0, R1, R2)> for (L0,) where
    L0: DimBroadcastsTo<R2>
{
}

impl<L0: Dim, R0: Dim, R1: Dim, R2: Dim, R3: Dim> BroadcastsTo<(R0, R1, R2, R3)> for (L0,) where
    L0: DimBroadcastsTo<R3>
{
}

impl<L0: Dim, R0: Dim, R1: Dim, R2: Dim, R3: Dim, R4: Dim> BroadcastsTo<(R0, R1, R2, R3, R4)>
    for (L0,)
where
    L0: DimBroadcastsTo<R4>,
{
}

impl<L0: Dim, R0: Dim, R1: Dim, R2: Dim, R3: Dim, R4: Dim, R5: Dim>
    BroadcastsTo<(R0, R1, R2, R3, R4, R5)> for (L0,)
where
    L0: DimBroadcastsTo<R5>,
{
}

impl<L0: Dim, L1: Dim, R0: Dim, R1: Dim> BroadcastsTo<(R0, R1)> for (L0, L1)
where
    L0: DimBroadcastsTo<R0>,
    L1: DimBroadcastsTo<R1>,
{
}

impl<L0: Dim, L1: Dim, R0: Dim, R1: Dim, R2: Dim> BroadcastsTo<(R0, R1, R2)> for (L0, L1)
where
    L0: DimBroadcastsTo<R1>,
    L1: DimBroadcastsTo<R2>,
{
}

impl<L0: Dim, L1: Dim, R0: Dim, R1: Dim, R2: Dim, R3: Dim> BroadcastsTo<(R0, R1, R2, R3)>
    for (L0, L1)
where
    L0: DimBroadcastsTo<R2>,
    L1: DimBroadcastsTo<R3>,
{
}

impl<L0: Dim, L1: Dim, R0: Dim, R1: Dim, R2: Dim, R3: Dim, R4: Dim>
    BroadcastsTo<(R0, R1, R2, R3, R4)> for (L0, L1)
where
    L0: DimBroadcastsTo<R3>,
    L1: DimBroadcastsTo<R4>,
{
}

impl<L0: Dim, L1: Dim, R0: Dim, R1: Dim, R2: Dim, R3: Dim, R4: Dim, R5: Dim>
    BroadcastsTo<(R0, R1, R2, R3, R4, R5)> for (L0, L1)
where
    L0: DimBroadcastsTo<R4>,
    L1: DimBroadcastsTo<R5>,
{
}

impl<L0: Dim, L1: Dim, L2: Dim, R0: Dim, R1: Dim, R2: Dim> BroadcastsTo<(R0, R1, R2)>
    for (L0, L1, L2)
where
    L0: DimBroadcastsTo<R0>,
    L1: DimBroadcastsTo<R1>,
    L2: DimBroadcastsTo<R2>,
{
}

impl<L0: Dim, L1: Dim, L2: Dim, R0: Dim, R1: Dim, R2: Dim, R3: Dim> BroadcastsTo<(R0, R1, R2, R3)>
    for (L0, L1, L2)
where
    L0: DimBroadcastsTo<R1>,
    L1: DimBroadcastsTo<R2>,
    L2: DimBroadcastsTo<R3>,
{
}

impl<L0: Dim, L1: Dim, L2: Dim, R0: Dim, R1: Dim, R2: Dim, R3: Dim, R4: Dim>
    BroadcastsTo<(R0, R1, R2, R3, R4)> for (L0, L1, L2)
where
    L0: DimBroadcastsTo<R2>,
    L1: DimBroadcastsTo<R3>,
    L2: DimBroadcastsTo<R4>,
{
}

impl<L0: Dim, L1: Dim, L2: Dim, R0: Dim, R1: Dim, R2: Dim, R3: Dim, R4: Dim, R5: Dim>
    BroadcastsTo<(R0, R1, R2, R3, R4, R5)> for (L0, L1, L2)
where
    L0: DimBroadcastsTo<R3>,
    L1: DimBroadcastsTo<R4>,
    L2: DimBroadcastsTo<R5>,
{
}

impl<L0: Dim, L1: Dim, L2: Dim, L3: Dim, R0: Dim, R1: Dim, R2: Dim, R3: Dim>
    BroadcastsTo<(R0, R1, R2, R3)> for (L0, L1, L2, L3)
where
    L0: DimBroadcastsTo<R0>,
    L1: DimBroadcastsTo<R1>,
    L2: DimBroadcastsTo<R2>,
    L3: DimBroadcastsTo<R3>,
{
}

impl<L0: Dim, L1: Dim, L2: Dim, L3: Dim, R0: Dim, R1: Dim, R2: Dim, R3: Dim, R4: Dim>
    BroadcastsTo<(R0, R1, R2, R3, R4)> for (L0, L1, L2, L3)
where
    L0: DimBroadcastsTo<R1>,
    L1: DimBroadcastsTo<R2>,
    L2: DimBroadcastsTo<R3>,
    L3: DimBroadcastsTo<R4>,
{
}

impl<L0: Dim, L1: Dim, L2: Dim, L3: Dim, R0: Dim, R1: Dim, R2: Dim, R3: Dim, R4: Dim, R5: Dim>
    BroadcastsTo<(R0, R1, R2, R3, R4, R5)> for (L0, L1, L2, L3)
where
    L0: DimBroadcastsTo<R2>,
    L1: DimBroadcastsTo<R3>,
    L2: DimBroadcastsTo<R4>,
    L3: DimBroadcastsTo<R5>,
{
}

impl<L0: Dim, L1: Dim, L2: Dim, L3: Dim, L4: Dim, R0: Dim, R1: Dim, R2: Dim, R3: Dim, R4: Dim>
    BroadcastsTo<(R0, R1, R2, R3, R4)> for (L0, L1, L2, L3, L4)
where
    L0: DimBroadcastsTo<R0>,
    L1: DimBroadcastsTo<R1>,
    L2: DimBroadcastsTo<R2>,
    L3: DimBroadcastsTo<R3>,
    L4: DimBroadcastsTo<R4>,
{
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
    > BroadcastsTo<(R0, R1, R2, R3, R4, R5)> for (L0, L1, L2, L3, L4)
where
    L0: DimBroadcastsTo<R1>,
    L1: DimBroadcastsTo<R2>,
    L2: DimBroadcastsTo<R3>,
    L3: DimBroadcastsTo<R4>,
    L4: DimBroadcastsTo<R5>,
{
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
    > BroadcastsTo<(R0, R1, R2, R3, R4, R5)> for (L0, L1, L2, L3, L4, L5)
where
    L0: DimBroadcastsTo<R0>,
    L1: DimBroadcastsTo<R1>,
    L2: DimBroadcastsTo<R2>,
    L3: DimBroadcastsTo<R3>,
    L4: DimBroadcastsTo<R4>,
    L5: DimBroadcastsTo<R5>,
{
}
