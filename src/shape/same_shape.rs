//! Shape equality with readable errors: two shapes of one rank whose dims
//! agree pairwise (static dims must be equal, pairs involving
//! [`Dyn`](super::Dyn) are checked at run time). Lets an op take an operand
//! whose shape type differs from the other's only in which dims are `Dyn`
//! (an index tensor of `(Dyn,)` for a `(U32,)` batch), and turns a static
//! mismatch into "dimension mismatch: got N<_3>, expected N<_4>" instead of
//! a type mismatch between typenum bit lists.
//!
//! The last two parameters of [`SameShape`] are the verdict
//! ([`ShapeVerdict`](super::ShapeVerdict)), [`Agree`] by default: a generic
//! bound `S2: SameShape<S>` means "the shapes agree". An op takes them as
//! parameters and states `G: DimsAgree<X>` in its own where clause, so a
//! mismatch is reported at that bound, in decimal, with no chain of notes
//! (see [`DimsAgree`](super::DimsAgree)).

use super::error::{check_dim, Error};
use super::same::{Agree, ShapeVerdict};
use super::tuple::Shape;

/// `Self` (the shape found) matches the shape `Expected`: same rank, and
/// every pair of dims agrees.
///
/// ```
/// use typegrad::prelude::*;
/// use typegrad::shape::{DimsAgree, SameShape};
/// fn ok<A: SameShape<B, G, X>, B: Shape, G: DimsAgree<X>, X>() {}
/// ok::<(Dyn, u!(3)), (u!(2), u!(3)), _, _>();
/// ok::<(), (), _, _>();
/// fn generic<A: SameShape<B>, B: Shape>() {
///     ok::<A, B, _, _>();
/// }
/// generic::<(u!(2),), (Dyn,)>();
/// ```
///
/// ```compile_fail
/// use typegrad::prelude::*;
/// use typegrad::shape::{DimsAgree, SameShape};
/// fn ok<A: SameShape<B, G, X>, B: Shape, G: DimsAgree<X>, X>() {}
/// ok::<(Dyn, u!(3)), (Dyn, u!(4)), _, _>(); // dimension mismatch: got N<_3>, expected N<_4>
/// ```
#[diagnostic::on_unimplemented(
    message = "shape {Self} does not match shape {Expected}",
    label = "the shapes must have the same number of axes"
)]
pub trait SameShape<Expected: Shape, G = Agree, X = Agree>: Shape {
    /// Check the runtime sizes (needed where either side has `Dyn` dims): on
    /// a mismatch, [`Error::DimMismatch`] naming `op`, the axis, `what` and
    /// both sizes (`got` from `self`).
    fn check_same_shape(
        &self,
        expected: &Expected,
        op: &'static str,
        what: &'static str,
    ) -> Result<(), Error> {
        for (axis, (&got, &exp)) in self.dims().iter().zip(expected.dims().iter()).enumerate() {
            check_dim(op, axis, what, got, exp)?;
        }
        Ok(())
    }
}

impl<L: ShapeVerdict<R>, R: Shape> SameShape<R, L::Got, L::Exp> for L {}
