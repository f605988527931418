//! Static equality of dims with a readable error.
//!
//! Every static equality goes through [`SameDim`]: a cheap typenum `IsEqual`
//! first; only on a mismatch are both numbers converted to decimal and a
//! never-implemented trait carrying `#[diagnostic::on_unimplemented]` is
//! required, so the error reads `dimension mismatch: got N<_4, _0, _0>,
//! expected N<_2, _5, _6>` and shows in `cargo check` and rust-analyzer.
//! A pair involving [`Dyn`] always passes here and is checked at run time.

use super::decimal::{Dec, ToDecimal};
use super::dim::{Dyn, StaticDim};
use typenum::{IsEqual, B0, B1};

/// Never implemented: the error reported when two static dims differ.
#[diagnostic::on_unimplemented(
    message = "dimension mismatch: got {Self}, expected {Expected}",
    label = "the dims of this operation do not agree",
    note = "static dims are printed digit by digit: N<_4, _0, _0> is 400"
)]
pub trait DimMismatch<Expected> {}

/// `Self` (the dim found) is compatible with `Expected`: equal if both are
/// static, anything if either is [`Dyn`] (checked at run time).
pub trait SameDim<Expected> {}

impl SameDim<Dyn> for Dyn {}
impl<S: StaticDim> SameDim<Dyn> for S {}
impl<S: StaticDim> SameDim<S> for Dyn {}
impl<A: StaticDim, E: StaticDim> SameDim<E> for A
where
    A: IsEqual<E>,
    <A as IsEqual<E>>::Output: StaticSame<A, E>,
{
}

/// Dispatch on the result of `IsEqual`: `B1` passes, `B0` asks for the
/// never-implemented [`DimMismatch`] in decimal.
pub trait StaticSame<A, E> {}
impl<A, E> StaticSame<A, E> for B1 {}
impl<A: ToDecimal, E: ToDecimal> StaticSame<A, E> for B0 where Dec<A>: DimMismatch<Dec<E>> {}
