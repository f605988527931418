//! Shape traits of the data-movement ops: permute/transpose, flatten and
//! concat (broadcast-to uses [`BroadcastsTo`](super::BroadcastsTo)).
//!
//! Static mismatches are compile errors with messages naming the axis and
//! both numbers in decimal; anything involving [`Dyn`] is checked at run time
//! by [`ConcatShape::concat_shape`], which returns an [`Error`] naming the
//! op, the axis and both sizes.
//!
//! The per-rank impls live in `movement/generated.rs`, written by
//! `scripts/gen_movement_shapes.py`.

mod generated;

use super::axes::{HasAxis, ReplaceAxis};
use super::dim::{Dim, Dyn, StaticDim};
use super::error::{check_dim, Error};
use super::same::Agree;
use super::tuple::{Dims, Shape, MAX_RANK};

// ----------------------------------------------------------------- permute

/// A permutation of two axes, as a type: output axis `i` is input axis `A_i`.
#[derive(Copy, Clone, Debug, Default)]
pub struct Axes2<const A: usize, const B: usize>;
/// A permutation of three axes: output axis `i` is input axis `A_i`.
#[derive(Copy, Clone, Debug, Default)]
pub struct Axes3<const A: usize, const B: usize, const C: usize>;
/// A permutation of four axes: output axis `i` is input axis `A_i`.
#[derive(Copy, Clone, Debug, Default)]
pub struct Axes4<const A: usize, const B: usize, const C: usize, const D: usize>;
/// A permutation of five axes: output axis `i` is input axis `A_i`.
#[derive(Copy, Clone, Debug, Default)]
pub struct Axes5<const A: usize, const B: usize, const C: usize, const D: usize, const E: usize>;
/// A permutation of six axes: output axis `i` is input axis `A_i`.
#[derive(Copy, Clone, Debug, Default)]
pub struct Axes6<
    const A: usize,
    const B: usize,
    const C: usize,
    const D: usize,
    const E: usize,
    const F: usize,
>;

/// Axis number `I` as a type (for the distinctness check of permutations).
#[derive(Copy, Clone, Debug, Default)]
pub struct Axis<const I: usize>;

/// `Axis<I>` is a different axis from `J`. Implemented for every pair of
/// distinct axes below [`MAX_RANK`]; a permutation naming an axis twice asks
/// for the missing `Axis<J>: DistinctAxis<J>` and gets this message.
#[diagnostic::on_unimplemented(
    message = "permute: axis {J} appears twice in the permutation",
    label = "a permutation names every axis exactly once"
)]
pub trait DistinctAxis<const J: usize> {}

/// [`DistinctAxis`] as a projection: `<Axis<I> as DistinctChecked<J>>::Then<S>`
/// is `S` when `I != J`. A permuted shape is named through it, so a repeated
/// axis is reported with no note in typenum's binary form (see
/// [`DimsChecked`](super::DimsChecked)).
#[diagnostic::on_unimplemented(
    message = "permute: axis {J} appears twice in the permutation",
    label = "a permutation names every axis exactly once"
)]
pub trait DistinctChecked<const J: usize> {
    /// `S` itself.
    type Then<S: Shape>: Shape;
    /// The shape value itself.
    fn pass<S: Shape>(s: S) -> Self::Then<S>;
}
#[diagnostic::do_not_recommend]
impl<const I: usize, const J: usize> DistinctChecked<J> for Axis<I>
where
    Axis<I>: DistinctAxis<J>,
{
    type Then<S: Shape> = S;
    #[inline]
    fn pass<S: Shape>(s: S) -> S {
        s
    }
}

/// The axes of a permutation ([`Axes2`] .. [`Axes6`]) are distinct: every
/// pair is checked through [`DistinctChecked`]; `Then<S>` is `S`.
pub trait PermDistinct {
    /// `S` itself.
    type Then<S: Shape>: Shape;
    /// The shape value itself.
    fn pass<S: Shape>(s: S) -> Self::Then<S>;
}

/// `Self` permuted by `P` (one of [`Axes2`] .. [`Axes6`]): output axis `i` is
/// input axis `P_i`. Every axis must exist (else "axis N is out of range")
/// and appear once (else "axis N appears twice in the permutation").
#[diagnostic::on_unimplemented(
    message = "cannot permute shape {Self} by {P}",
    label = "the permutation must name each axis of the shape exactly once"
)]
pub trait PermuteShape<P>: Shape {
    /// The permuted shape.
    type Output: Shape;
    /// The permutation as runtime axis numbers.
    fn perm() -> Dims;
    /// The permuted shape value.
    fn permute_shape(&self) -> Self::Output;
}

/// `Self` with axes `I` and `J` swapped (transpose).
#[diagnostic::on_unimplemented(
    message = "cannot swap axes {I} and {J} of shape {Self}",
    label = "both axes must exist"
)]
pub trait SwapAxes<const I: usize, const J: usize>: Shape {
    /// The shape with the two axes swapped.
    type Output: Shape;
    /// The swapped shape value.
    fn swap_axes(&self) -> Self::Output;
}

impl<S, const I: usize, const J: usize> SwapAxes<I, J> for S
where
    S: HasAxis<I> + HasAxis<J> + ReplaceAxis<I, <S as HasAxis<J>>::Dim>,
    <S as ReplaceAxis<I, <S as HasAxis<J>>::Dim>>::Output: ReplaceAxis<J, <S as HasAxis<I>>::Dim>,
{
    type Output = <<S as ReplaceAxis<I, <S as HasAxis<J>>::Dim>>::Output as ReplaceAxis<
        J,
        <S as HasAxis<I>>::Dim,
    >>::Output;
    #[inline]
    fn swap_axes(&self) -> Self::Output {
        let a = HasAxis::<I>::axis_dim(self);
        let b = HasAxis::<J>::axis_dim(self);
        ReplaceAxis::<J, _>::replace_axis(&ReplaceAxis::<I, _>::replace_axis(self, b), a)
    }
}

// ----------------------------------------------------------------- flatten

/// `Self` with axes `I..` multiplied into one (flatten): the product of
/// static dims is static, any [`Dyn`] factor makes it `Dyn`.
/// `FlattenFrom<1>` keeps a leading batch axis, `FlattenFrom<0>` flattens all.
#[diagnostic::on_unimplemented(
    message = "cannot flatten shape {Self} from axis {I}",
    label = "axis {I} must be an axis of the shape"
)]
pub trait FlattenFrom<const I: usize>: Shape {
    /// The flattened shape.
    type Output: Shape;
}

// ----------------------------------------------------------------- concat

/// The verdict on the dims off the concat axis ([`ConcatShape`]'s last two
/// parameters) must agree: implemented for [`Agree`] only, so two static
/// dims that differ give this error, naming both in decimal.
#[diagnostic::on_unimplemented(
    message = "concat: dimension mismatch off the concat axis: left operand has {Self}, right operand has {Rhs}",
    note = "static dims are printed digit by digit: N<_4, _0, _0> is 400"
)]
pub trait ConcatMismatch<Rhs> {}
#[diagnostic::do_not_recommend]
impl ConcatMismatch<Agree> for Agree {}

/// A dim of the left operand of a concat, off the concat axis, agrees with
/// the right operand's `Rhs` on axis `AXIS`. The output keeps the static one
/// of the two; a pair involving [`Dyn`] is checked at run time.
pub trait ConcatDim<Rhs, const AXIS: usize>: Dim {
    /// The output dim.
    type Output: Dim;
}
impl<const AXIS: usize> ConcatDim<Dyn, AXIS> for Dyn {
    type Output = Dyn;
}
impl<S: StaticDim, const AXIS: usize> ConcatDim<Dyn, AXIS> for S {
    type Output = S;
}
impl<S: StaticDim, const AXIS: usize> ConcatDim<S, AXIS> for Dyn {
    type Output = S;
}
// Equality is the verdict's business (`ConcatShape`'s `G`, `X`).
impl<L: StaticDim, R: StaticDim, const AXIS: usize> ConcatDim<R, AXIS> for L {
    type Output = L;
}

/// `Self` and `Rhs` joined along axis `I`: same rank, equal dims off axis `I`
/// (static mismatch: compile error naming both dims; [`Dyn`]: checked by
/// [`ConcatShape::concat_shape`]), the sum ([`crate::shape::AddDim`]) on it.
///
/// `G` and `X` are the verdict on the dims off axis `I`
/// ([`crate::shape::ShapeVerdict`]), [`Agree`] by default, so a generic
/// bound `S: ConcatShape<S2, I>` means "they agree"; `concat` takes them as
/// parameters and requires `G: ConcatMismatch<X>` itself.
#[diagnostic::on_unimplemented(
    message = "cannot concat {Self} with {Rhs} along axis {I}",
    label = "concat needs operands of the same rank, and axis {I} must be one of their axes"
)]
pub trait ConcatShape<Rhs: Shape, const I: usize, G = Agree, X = Agree>: Shape {
    /// The joined shape.
    type Output: Shape;
    /// The joined shape value, checking the runtime dims off axis `I`.
    fn concat_shape(&self, rhs: &Rhs) -> Result<Self::Output, Error> {
        let (a, b) = (self.dims(), rhs.dims());
        let mut out = [0usize; MAX_RANK];
        for j in 0..a.len() {
            if j == I {
                out[j] = a[j].checked_add(b[j]).ok_or(Error::NumelOverflow {
                    op: "concat",
                    dims: a,
                })?;
            } else {
                check_dim("concat", j, "right operand vs left operand", b[j], a[j])?;
                out[j] = a[j];
            }
        }
        Self::Output::try_from_dims(&out[..a.len()])
    }
}
