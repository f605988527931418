//! Numpy-style broadcasting of shapes, checked at compile time where static.
//!
//! Shapes are aligned on the right; each pair of dims must be equal or one of
//! them 1. Missing leading axes count as 1.

use super::decimal::{Dec, ToDecimal};
use super::dim::{Dim, Dyn, StaticDim};
use super::error::Error;
use super::same::Agree;
use super::tuple::{Dims, Shape, MAX_RANK};
use typenum::{IsEqual, B0, B1, U1};

/// Never implemented: the error for two static dims that cannot broadcast.
#[diagnostic::on_unimplemented(
    message = "broadcast mismatch: cannot broadcast {Self} with {Other}",
    label = "dims must be equal or one of them 1",
    note = "static dims are printed digit by digit: N<_4, _0, _0> is 400"
)]
pub trait BroadcastMismatch<Other> {}
#[diagnostic::do_not_recommend]
impl BroadcastMismatch<Agree> for Agree {}

super::same::dim_checked! {
    /// [`BroadcastMismatch`] as a projection (see [`super::DimsChecked`]):
    /// the broadcast of two static dims is named through it, so a mismatch
    /// is reported with no note in typenum's binary form.
    BroadcastChecked: BroadcastMismatch<Other>,
    "broadcast mismatch: cannot broadcast {Self} with {Other}",
    "dims must be equal or one of them 1"
}

/// The broadcast of two dims.
pub trait BroadcastDim<Rhs> {
    /// The resulting dim.
    type Output: Dim;
}

// Not offered as an alternative in errors about static dims.
#[diagnostic::do_not_recommend]
impl BroadcastDim<Dyn> for Dyn {
    type Output = Dyn;
}
// Dyn against static S: S, unless S is 1 (then the Dyn side decides).
// Not offered as an alternative in errors about static dims.
#[diagnostic::do_not_recommend]
impl<S: StaticDim> BroadcastDim<S> for Dyn
where
    S: IsEqual<U1>,
    <S as IsEqual<U1>>::Output: PickDyn<S>,
{
    type Output = <<S as IsEqual<U1>>::Output as PickDyn<S>>::Output;
}
// Not offered as an alternative in errors about static dims.
#[diagnostic::do_not_recommend]
impl<S: StaticDim> BroadcastDim<Dyn> for S
where
    S: IsEqual<U1>,
    <S as IsEqual<U1>>::Output: PickDyn<S>,
{
    type Output = <<S as IsEqual<U1>>::Output as PickDyn<S>>::Output;
}
impl<A: StaticDim, B: StaticDim> BroadcastDim<B> for A
where
    A: IsEqual<B> + IsEqual<U1>,
    B: IsEqual<U1>,
    (
        <A as IsEqual<B>>::Output,
        <A as IsEqual<U1>>::Output,
        <B as IsEqual<U1>>::Output,
    ): PickStatic<A, B>,
    // The check itself, through a projection rather than a bound of this
    // impl, so that the error has no note in typenum's binary form (see
    // `super::same::DimsChecked`).
    <(
        <A as IsEqual<B>>::Output,
        <A as IsEqual<U1>>::Output,
        <B as IsEqual<U1>>::Output,
    ) as PickStatic<A, B>>::Got: BroadcastChecked<
        <(
            <A as IsEqual<B>>::Output,
            <A as IsEqual<U1>>::Output,
            <B as IsEqual<U1>>::Output,
        ) as PickStatic<A, B>>::Exp,
    >,
{
    type Output = <<(
        <A as IsEqual<B>>::Output,
        <A as IsEqual<U1>>::Output,
        <B as IsEqual<U1>>::Output,
    ) as PickStatic<A, B>>::Got as BroadcastChecked<
        <(
            <A as IsEqual<B>>::Output,
            <A as IsEqual<U1>>::Output,
            <B as IsEqual<U1>>::Output,
        ) as PickStatic<A, B>>::Exp,
    >>::Then<
        <(
            <A as IsEqual<B>>::Output,
            <A as IsEqual<U1>>::Output,
            <B as IsEqual<U1>>::Output,
        ) as PickStatic<A, B>>::Output,
    >;
}

/// `B1` (the static dim is 1): [`Dyn`]; `B0`: the static dim.
pub trait PickDyn<S> {
    /// The chosen dim.
    type Output: Dim;
}
impl<S> PickDyn<S> for B1 {
    type Output = Dyn;
}
impl<S: Dim> PickDyn<S> for B0 {
    type Output = S;
}

/// Selection on (A == B, A == 1, B == 1): the broadcast dim, and the
/// verdict (`Got`, `Exp`: [`Agree`], or both dims in decimal when neither
/// is 1 and they differ).
pub trait PickStatic<A, B> {
    /// The chosen dim.
    type Output: Dim;
    /// [`Agree`], or the left dim in decimal.
    type Got;
    /// [`Agree`], or the right dim in decimal.
    type Exp;
}
impl<A: Dim, B, X, Y> PickStatic<A, B> for (B1, X, Y) {
    type Output = A;
    type Got = Agree;
    type Exp = Agree;
}
impl<A, B: Dim, Y> PickStatic<A, B> for (B0, B1, Y) {
    type Output = B;
    type Got = Agree;
    type Exp = Agree;
}
impl<A: Dim, B> PickStatic<A, B> for (B0, B0, B1) {
    type Output = A;
    type Got = Agree;
    type Exp = Agree;
}
impl<A: ToDecimal, B: ToDecimal + Dim> PickStatic<A, B> for (B0, B0, B0) {
    // Never used: `BroadcastDim` also requires the verdict to agree.
    type Output = B;
    type Got = Dec<A>;
    type Exp = Dec<B>;
}

/// The broadcast of two shapes.
pub trait BroadcastShape<Rhs: Shape>: Shape {
    /// The resulting shape.
    type Output: Shape;
    /// The resulting shape value, checking runtime dims.
    fn broadcast_shape(&self, rhs: &Rhs) -> Result<Self::Output, Error> {
        let d = broadcast_dims(&self.dims(), &rhs.dims())?;
        Self::Output::try_from_dims(&d)
    }
}

/// Runtime broadcast of two dim lists (right-aligned).
pub fn broadcast_dims(a: &[usize], b: &[usize]) -> Result<Dims, Error> {
    let r = a.len().max(b.len());
    let mut out = [0usize; MAX_RANK];
    for i in 0..r {
        let x = if i + a.len() >= r {
            a[i + a.len() - r]
        } else {
            1
        };
        let y = if i + b.len() >= r {
            b[i + b.len() - r]
        } else {
            1
        };
        out[i] = if x == y || y == 1 {
            x
        } else if x == 1 {
            y
        } else {
            return Err(Error::Broadcast {
                axis: i,
                lhs: x,
                rhs: y,
            });
        };
    }
    Ok(Dims::new(&out[..r]))
}

impl BroadcastShape<()> for () {
    type Output = ();
}

impl<R0: Dim> BroadcastShape<(R0,)> for () {
    type Output = (R0,);
}

impl<R0: Dim, R1: Dim> BroadcastShape<(R0, R1)> for () {
    type Output = (R0, R1);
}

impl<R0: Dim, R1: Dim, R2: Dim> BroadcastShape<(R0, R1, R2)> for () {
    type Output = (R0, R1, R2);
}

impl<R0: Dim, R1: Dim, R2: Dim, R3: Dim> BroadcastShape<(R0, R1, R2, R3)> for () {
    type Output = (R0, R1, R2, R3);
}

impl<R0: Dim, R1: Dim, R2: Dim, R3: Dim, R4: Dim> BroadcastShape<(R0, R1, R2, R3, R4)> for () {
    type Output = (R0, R1, R2, R3, R4);
}

impl<R0: Dim, R1: Dim, R2: Dim, R3: Dim, R4: Dim, R5: Dim> BroadcastShape<(R0, R1, R2, R3, R4, R5)>
    for ()
{
    type Output = (R0, R1, R2, R3, R4, R5);
}

impl<L0: Dim> BroadcastShape<()> for (L0,) {
    type Output = (L0,);
}

impl<L0: Dim, R0: Dim> BroadcastShape<(R0,)> for (L0,)
where
    L0: BroadcastDim<R0>,
{
    type Output = (<L0 as BroadcastDim<R0>>::Output,);
}

impl<L0: Dim, R0: Dim, R1: Dim> BroadcastShape<(R0, R1)> for (L0,)
where
    L0: BroadcastDim<R1>,
{
    type Output = (R0, <L0 as BroadcastDim<R1>>::Output);
}

impl<L0: Dim, R0: Dim, R1: Dim, R2: Dim> BroadcastShape<(R0, R1, R2)> for (L0,)
where
    L0: BroadcastDim<R2>,
{
    type Output = (R0, R1, <L0 as BroadcastDim<R2>>::Output);
}

impl<L0: Dim, R0: Dim, R1: Dim, R2: Dim, R3: Dim> BroadcastShape<(R0, R1, R2, R3)> for (L0,)
where
    L0: BroadcastDim<R3>,
{
    type Output = (R0, R1, R2, <L0 as BroadcastDim<R3>>::Output);
}

impl<L0: Dim, R0: Dim, R1: Dim, R2: Dim, R3: Dim, R4: Dim> BroadcastShape<(R0, R1, R2, R3, R4)>
    for (L0,)
where
    L0: BroadcastDim<R4>,
{
    type Output = (R0, R1, R2, R3, <L0 as BroadcastDim<R4>>::Output);
}

impl<L0: Dim, R0: Dim, R1: Dim, R2: Dim, R3: Dim, R4: Dim, R5: Dim>
    BroadcastShape<(R0, R1, R2, R3, R4, R5)> for (L0,)
where
    L0: BroadcastDim<R5>,
{
    type Output = (R0, R1, R2, R3, R4, <L0 as BroadcastDim<R5>>::Output);
}

impl<L0: Dim, L1: Dim> BroadcastShape<()> for (L0, L1) {
    type Output = (L0, L1);
}

impl<L0: Dim, L1: Dim, R0: Dim> BroadcastShape<(R0,)> for (L0, L1)
where
    L1: BroadcastDim<R0>,
{
    type Output = (L0, <L1 as BroadcastDim<R0>>::Output);
}

impl<L0: Dim, L1: Dim, R0: Dim, R1: Dim> BroadcastShape<(R0, R1)> for (L0, L1)
where
    L0: BroadcastDim<R0>,
    L1: BroadcastDim<R1>,
{
    type Output = (
        <L0 as BroadcastDim<R0>>::Output,
        <L1 as BroadcastDim<R1>>::Output,
    );
}

impl<L0: Dim, L1: Dim, R0: Dim, R1: Dim, R2: Dim> BroadcastShape<(R0, R1, R2)> for (L0, L1)
where
    L0: BroadcastDim<R1>,
    L1: BroadcastDim<R2>,
{
    type Output = (
        R0,
        <L0 as BroadcastDim<R1>>::Output,
        <L1 as BroadcastDim<R2>>::Output,
    );
}

impl<L0: Dim, L1: Dim, R0: Dim, R1: Dim, R2: Dim, R3: Dim> BroadcastShape<(R0, R1, R2, R3)>
    for (L0, L1)
where
    L0: BroadcastDim<R2>,
    L1: BroadcastDim<R3>,
{
    type Output = (
        R0,
        R1,
        <L0 as BroadcastDim<R2>>::Output,
        <L1 as BroadcastDim<R3>>::Output,
    );
}

impl<L0: Dim, L1: Dim, R0: Dim, R1: Dim, R2: Dim, R3: Dim, R4: Dim>
    BroadcastShape<(R0, R1, R2, R3, R4)> for (L0, L1)
where
    L0: BroadcastDim<R3>,
    L1: BroadcastDim<R4>,
{
    type Output = (
        R0,
        R1,
        R2,
        <L0 as BroadcastDim<R3>>::Output,
        <L1 as BroadcastDim<R4>>::Output,
    );
}

impl<L0: Dim, L1: Dim, R0: Dim, R1: Dim, R2: Dim, R3: Dim, R4: Dim, R5: Dim>
    BroadcastShape<(R0, R1, R2, R3, R4, R5)> for (L0, L1)
where
    L0: BroadcastDim<R4>,
    L1: BroadcastDim<R5>,
{
    type Output = (
        R0,
        R1,
        R2,
        R3,
        <L0 as BroadcastDim<R4>>::Output,
        <L1 as BroadcastDim<R5>>::Output,
    );
}

impl<L0: Dim, L1: Dim, L2: Dim> BroadcastShape<()> for (L0, L1, L2) {
    type Output = (L0, L1, L2);
}

impl<L0: Dim, L1: Dim, L2: Dim, R0: Dim> BroadcastShape<(R0,)> for (L0, L1, L2)
where
    L2: BroadcastDim<R0>,
{
    type Output = (L0, L1, <L2 as BroadcastDim<R0>>::Output);
}

impl<L0: Dim, L1: Dim, L2: Dim, R0: Dim, R1: Dim> BroadcastShape<(R0, R1)> for (L0, L1, L2)
where
    L1: BroadcastDim<R0>,
    L2: BroadcastDim<R1>,
{
    type Output = (
        L0,
        <L1 as BroadcastDim<R0>>::Output,
        <L2 as BroadcastDim<R1>>::Output,
    );
}

impl<L0: Dim, L1: Dim, L2: Dim, R0: Dim, R1: Dim, R2: Dim> BroadcastShape<(R0, R1, R2)>
    for (L0, L1, L2)
where
    L0: BroadcastDim<R0>,
    L1: BroadcastDim<R1>,
    L2: BroadcastDim<R2>,
{
    type Output = (
        <L0 as BroadcastDim<R0>>::Output,
        <L1 as BroadcastDim<R1>>::Output,
        <L2 as BroadcastDim<R2>>::Output,
    );
}

impl<L0: Dim, L1: Dim, L2: Dim, R0: Dim, R1: Dim, R2: Dim, R3: Dim> BroadcastShape<(R0, R1, R2, R3)>
    for (L0, L1, L2)
where
    L0: BroadcastDim<R1>,
    L1: BroadcastDim<R2>,
    L2: BroadcastDim<R3>,
{
    type Output = (
        R0,
        <L0 as BroadcastDim<R1>>::Output,
        <L1 as BroadcastDim<R2>>::Output,
        <L2 as BroadcastDim<R3>>::Output,
    );
}

impl<L0: Dim, L1: Dim, L2: Dim, R0: Dim, R1: Dim, R2: Dim, R3: Dim, R4: Dim>
    BroadcastShape<(R0, R1, R2, R3, R4)> for (L0, L1, L2)
where
    L0: BroadcastDim<R2>,
    L1: BroadcastDim<R3>,
    L2: BroadcastDim<R4>,
{
    type Output = (
        R0,
        R1,
        <L0 as BroadcastDim<R2>>::Output,
        <L1 as BroadcastDim<R3>>::Output,
        <L2 as BroadcastDim<R4>>::Output,
    );
}

impl<L0: Dim, L1: Dim, L2: Dim, R0: Dim, R1: Dim, R2: Dim, R3: Dim, R4: Dim, R5: Dim>
    BroadcastShape<(R0, R1, R2, R3, R4, R5)> for (L0, L1, L2)
where
    L0: BroadcastDim<R3>,
    L1: BroadcastDim<R4>,
    L2: BroadcastDim<R5>,
{
    type Output = (
        R0,
        R1,
        R2,
        <L0 as BroadcastDim<R3>>::Output,
        <L1 as BroadcastDim<R4>>::Output,
        <L2 as BroadcastDim<R5>>::Output,
    );
}

impl<L0: Dim, L1: Dim, L2: Dim, L3: Dim> BroadcastShape<()> for (L0, L1, L2, L3) {
    type Output = (L0, L1, L2, L3);
}

impl<L0: Dim, L1: Dim, L2: Dim, L3: Dim, R0: Dim> BroadcastShape<(R0,)> for (L0, L1, L2, L3)
where
    L3: BroadcastDim<R0>,
{
    type Output = (L0, L1, L2, <L3 as BroadcastDim<R0>>::Output);
}

impl<L0: Dim, L1: Dim, L2: Dim, L3: Dim, R0: Dim, R1: Dim> BroadcastShape<(R0, R1)>
    for (L0, L1, L2, L3)
where
    L2: BroadcastDim<R0>,
    L3: BroadcastDim<R1>,
{
    type Output = (
        L0,
        L1,
        <L2 as BroadcastDim<R0>>::Output,
        <L3 as BroadcastDim<R1>>::Output,
    );
}

impl<L0: Dim, L1: Dim, L2: Dim, L3: Dim, R0: Dim, R1: Dim, R2: Dim> BroadcastShape<(R0, R1, R2)>
    for (L0, L1, L2, L3)
where
    L1: BroadcastDim<R0>,
    L2: BroadcastDim<R1>,
    L3: BroadcastDim<R2>,
{
    type Output = (
        L0,
        <L1 as BroadcastDim<R0>>::Output,
        <L2 as BroadcastDim<R1>>::Output,
        <L3 as BroadcastDim<R2>>::Output,
    );
}

impl<L0: Dim, L1: Dim, L2: Dim, L3: Dim, R0: Dim, R1: Dim, R2: Dim, R3: Dim>
    BroadcastShape<(R0, R1, R2, R3)> for (L0, L1, L2, L3)
where
    L0: BroadcastDim<R0>,
    L1: BroadcastDim<R1>,
    L2: BroadcastDim<R2>,
    L3: BroadcastDim<R3>,
{
    type Output = (
        <L0 as BroadcastDim<R0>>::Output,
        <L1 as BroadcastDim<R1>>::Output,
        <L2 as BroadcastDim<R2>>::Output,
        <L3 as BroadcastDim<R3>>::Output,
    );
}

impl<L0: Dim, L1: Dim, L2: Dim, L3: Dim, R0: Dim, R1: Dim, R2: Dim, R3: Dim, R4: Dim>
    BroadcastShape<(R0, R1, R2, R3, R4)> for (L0, L1, L2, L3)
where
    L0: BroadcastDim<R1>,
    L1: BroadcastDim<R2>,
    L2: BroadcastDim<R3>,
    L3: BroadcastDim<R4>,
{
    type Output = (
        R0,
        <L0 as BroadcastDim<R1>>::Output,
        <L1 as BroadcastDim<R2>>::Output,
        <L2 as BroadcastDim<R3>>::Output,
        <L3 as BroadcastDim<R4>>::Output,
    );
}

impl<L0: Dim, L1: Dim, L2: Dim, L3: Dim, R0: Dim, R1: Dim, R2: Dim, R3: Dim, R4: Dim, R5: Dim>
    BroadcastShape<(R0, R1, R2, R3, R4, R5)> for (L0, L1, L2, L3)
where
    L0: BroadcastDim<R2>,
    L1: BroadcastDim<R3>,
    L2: BroadcastDim<R4>,
    L3: BroadcastDim<R5>,
{
    type Output = (
        R0,
        R1,
        <L0 as BroadcastDim<R2>>::Output,
        <L1 as BroadcastDim<R3>>::Output,
        <L2 as BroadcastDim<R4>>::Output,
        <L3 as BroadcastDim<R5>>::Output,
    );
}

impl<L0: Dim, L1: Dim, L2: Dim, L3: Dim, L4: Dim> BroadcastShape<()> for (L0, L1, L2, L3, L4) {
    type Output = (L0, L1, L2, L3, L4);
}

impl<L0: Dim, L1: Dim, L2: Dim, L3: Dim, L4: Dim, R0: Dim> BroadcastShape<(R0,)>
    for (L0, L1, L2, L3, L4)
where
    L4: BroadcastDim<R0>,
{
    type Output = (L0, L1, L2, L3, <L4 as BroadcastDim<R0>>::Output);
}

impl<L0: Dim, L1: Dim, L2: Dim, L3: Dim, L4: Dim, R0: Dim, R1: Dim> BroadcastShape<(R0, R1)>
    for (L0, L1, L2, L3, L4)
where
    L3: BroadcastDim<R0>,
    L4: BroadcastDim<R1>,
{
    type Output = (
        L0,
        L1,
        L2,
        <L3 as BroadcastDim<R0>>::Output,
        <L4 as BroadcastDim<R1>>::Output,
    );
}

impl<L0: Dim, L1: Dim, L2: Dim, L3: Dim, L4: Dim, R0: Dim, R1: Dim, R2: Dim>
    BroadcastShape<(R0, R1, R2)> for (L0, L1, L2, L3, L4)
where
    L2: BroadcastDim<R0>,
    L3: BroadcastDim<R1>,
    L4: BroadcastDim<R2>,
{
    type Output = (
        L0,
        L1,
        <L2 as BroadcastDim<R0>>::Output,
        <L3 as BroadcastDim<R1>>::Output,
        <L4 as BroadcastDim<R2>>::Output,
    );
}

impl<L0: Dim, L1: Dim, L2: Dim, L3: Dim, L4: Dim, R0: Dim, R1: Dim, R2: Dim, R3: Dim>
    BroadcastShape<(R0, R1, R2, R3)> for (L0, L1, L2, L3, L4)
where
    L1: BroadcastDim<R0>,
    L2: BroadcastDim<R1>,
    L3: BroadcastDim<R2>,
    L4: BroadcastDim<R3>,
{
    type Output = (
        L0,
        <L1 as BroadcastDim<R0>>::Output,
        <L2 as BroadcastDim<R1>>::Output,
        <L3 as BroadcastDim<R2>>::Output,
        <L4 as BroadcastDim<R3>>::Output,
    );
}

impl<L0: Dim, L1: Dim, L2: Dim, L3: Dim, L4: Dim, R0: Dim, R1: Dim, R2: Dim, R3: Dim, R4: Dim>
    BroadcastShape<(R0, R1, R2, R3, R4)> for (L0, L1, L2, L3, L4)
where
    L0: BroadcastDim<R0>,
    L1: BroadcastDim<R1>,
    L2: BroadcastDim<R2>,
    L3: BroadcastDim<R3>,
    L4: BroadcastDim<R4>,
{
    type Output = (
        <L0 as BroadcastDim<R0>>::Output,
        <L1 as BroadcastDim<R1>>::Output,
        <L2 as BroadcastDim<R2>>::Output,
        <L3 as BroadcastDim<R3>>::Output,
        <L4 as BroadcastDim<R4>>::Output,
    );
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
    > BroadcastShape<(R0, R1, R2, R3, R4, R5)> for (L0, L1, L2, L3, L4)
where
    L0: BroadcastDim<R1>,
    L1: BroadcastDim<R2>,
    L2: BroadcastDim<R3>,
    L3: BroadcastDim<R4>,
    L4: BroadcastDim<R5>,
{
    type Output = (
        R0,
        <L0 as BroadcastDim<R1>>::Output,
        <L1 as BroadcastDim<R2>>::Output,
        <L2 as BroadcastDim<R3>>::Output,
        <L3 as BroadcastDim<R4>>::Output,
        <L4 as BroadcastDim<R5>>::Output,
    );
}

impl<L0: Dim, L1: Dim, L2: Dim, L3: Dim, L4: Dim, L5: Dim> BroadcastShape<()>
    for (L0, L1, L2, L3, L4, L5)
{
    type Output = (L0, L1, L2, L3, L4, L5);
}

impl<L0: Dim, L1: Dim, L2: Dim, L3: Dim, L4: Dim, L5: Dim, R0: Dim> BroadcastShape<(R0,)>
    for (L0, L1, L2, L3, L4, L5)
where
    L5: BroadcastDim<R0>,
{
    type Output = (L0, L1, L2, L3, L4, <L5 as BroadcastDim<R0>>::Output);
}

impl<L0: Dim, L1: Dim, L2: Dim, L3: Dim, L4: Dim, L5: Dim, R0: Dim, R1: Dim>
    BroadcastShape<(R0, R1)> for (L0, L1, L2, L3, L4, L5)
where
    L4: BroadcastDim<R0>,
    L5: BroadcastDim<R1>,
{
    type Output = (
        L0,
        L1,
        L2,
        L3,
        <L4 as BroadcastDim<R0>>::Output,
        <L5 as BroadcastDim<R1>>::Output,
    );
}

impl<L0: Dim, L1: Dim, L2: Dim, L3: Dim, L4: Dim, L5: Dim, R0: Dim, R1: Dim, R2: Dim>
    BroadcastShape<(R0, R1, R2)> for (L0, L1, L2, L3, L4, L5)
where
    L3: BroadcastDim<R0>,
    L4: BroadcastDim<R1>,
    L5: BroadcastDim<R2>,
{
    type Output = (
        L0,
        L1,
        L2,
        <L3 as BroadcastDim<R0>>::Output,
        <L4 as BroadcastDim<R1>>::Output,
        <L5 as BroadcastDim<R2>>::Output,
    );
}

impl<L0: Dim, L1: Dim, L2: Dim, L3: Dim, L4: Dim, L5: Dim, R0: Dim, R1: Dim, R2: Dim, R3: Dim>
    BroadcastShape<(R0, R1, R2, R3)> for (L0, L1, L2, L3, L4, L5)
where
    L2: BroadcastDim<R0>,
    L3: BroadcastDim<R1>,
    L4: BroadcastDim<R2>,
    L5: BroadcastDim<R3>,
{
    type Output = (
        L0,
        L1,
        <L2 as BroadcastDim<R0>>::Output,
        <L3 as BroadcastDim<R1>>::Output,
        <L4 as BroadcastDim<R2>>::Output,
        <L5 as BroadcastDim<R3>>::Output,
    );
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
    > BroadcastShape<(R0, R1, R2, R3, R4)> for (L0, L1, L2, L3, L4, L5)
where
    L1: BroadcastDim<R0>,
    L2: BroadcastDim<R1>,
    L3: BroadcastDim<R2>,
    L4: BroadcastDim<R3>,
    L5: BroadcastDim<R4>,
{
    type Output = (
        L0,
        <L1 as BroadcastDim<R0>>::Output,
        <L2 as BroadcastDim<R1>>::Output,
        <L3 as BroadcastDim<R2>>::Output,
        <L4 as BroadcastDim<R3>>::Output,
        <L5 as BroadcastDim<R4>>::Output,
    );
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
    > BroadcastShape<(R0, R1, R2, R3, R4, R5)> for (L0, L1, L2, L3, L4, L5)
where
    L0: BroadcastDim<R0>,
    L1: BroadcastDim<R1>,
    L2: BroadcastDim<R2>,
    L3: BroadcastDim<R3>,
    L4: BroadcastDim<R4>,
    L5: BroadcastDim<R5>,
{
    type Output = (
        <L0 as BroadcastDim<R0>>::Output,
        <L1 as BroadcastDim<R1>>::Output,
        <L2 as BroadcastDim<R2>>::Output,
        <L3 as BroadcastDim<R3>>::Output,
        <L4 as BroadcastDim<R4>>::Output,
        <L5 as BroadcastDim<R5>>::Output,
    );
}
