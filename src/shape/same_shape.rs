//! Shape equality with readable errors: two shapes of one rank whose dims
//! agree pairwise through [`SameDim`] (static dims must be equal, pairs
//! involving [`Dyn`](super::Dyn) are checked at run time). Lets an op take an
//! operand whose shape type differs from the other's only in which dims are
//! `Dyn` (an index tensor of `(Dyn,)` for a `(U32,)` batch), and turns a
//! static mismatch into "dimension mismatch: got N<_3>, expected N<_4>"
//! instead of a type mismatch between typenum bit lists.

use super::dim::Dim;
use super::error::{check_dim, Error};
use super::same::SameDim;
use super::tuple::Shape;

/// `Self` (the shape found) matches the shape `Expected`: same rank, and
/// every pair of dims is [`SameDim`].
///
/// ```
/// use typegrad::prelude::*;
/// use typegrad::shape::SameShape;
/// fn ok<A: SameShape<B>, B: Shape>() {}
/// ok::<(Dyn, u!(3)), (u!(2), u!(3))>();
/// ok::<(), ()>();
/// ```
///
/// ```compile_fail
/// use typegrad::prelude::*;
/// use typegrad::shape::SameShape;
/// fn ok<A: SameShape<B>, B: Shape>() {}
/// ok::<(Dyn, u!(3)), (Dyn, u!(4))>(); // dimension mismatch: got N<_3>, expected N<_4>
/// ```
#[diagnostic::on_unimplemented(
    message = "shape {Self} does not match shape {Expected}",
    label = "the shapes must have the same number of axes"
)]
pub trait SameShape<Expected: Shape>: Shape {
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

impl SameShape<()> for () {}

impl<L0: Dim, R0: Dim> SameShape<(R0,)> for (L0,) where L0: SameDim<R0> {}

impl<L0: Dim, L1: Dim, R0: Dim, R1: Dim> SameShape<(R0, R1)> for (L0, L1)
where
    L0: SameDim<R0>,
    L1: SameDim<R1>,
{
}

impl<L0: Dim, L1: Dim, L2: Dim, R0: Dim, R1: Dim, R2: Dim> SameShape<(R0, R1, R2)> for (L0, L1, L2)
where
    L0: SameDim<R0>,
    L1: SameDim<R1>,
    L2: SameDim<R2>,
{
}

impl<L0: Dim, L1: Dim, L2: Dim, L3: Dim, R0: Dim, R1: Dim, R2: Dim, R3: Dim>
    SameShape<(R0, R1, R2, R3)> for (L0, L1, L2, L3)
where
    L0: SameDim<R0>,
    L1: SameDim<R1>,
    L2: SameDim<R2>,
    L3: SameDim<R3>,
{
}

impl<L0: Dim, L1: Dim, L2: Dim, L3: Dim, L4: Dim, R0: Dim, R1: Dim, R2: Dim, R3: Dim, R4: Dim>
    SameShape<(R0, R1, R2, R3, R4)> for (L0, L1, L2, L3, L4)
where
    L0: SameDim<R0>,
    L1: SameDim<R1>,
    L2: SameDim<R2>,
    L3: SameDim<R3>,
    L4: SameDim<R4>,
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
    > SameShape<(R0, R1, R2, R3, R4, R5)> for (L0, L1, L2, L3, L4, L5)
where
    L0: SameDim<R0>,
    L1: SameDim<R1>,
    L2: SameDim<R2>,
    L3: SameDim<R3>,
    L4: SameDim<R4>,
    L5: SameDim<R5>,
{
}
