//! Axis-level shape transforms: pick, remove or replace one axis.
#![allow(clippy::unused_unit)] // the rank-1 RemoveAxis impls return the unit shape
//! Generated impls for every rank and axis (see the `axis_impls` list below).

use super::dim::Dim;
use super::tuple::Shape;

/// `Self` has an axis `I`; [`HasAxis::Dim`] is its dim type.
#[diagnostic::on_unimplemented(
    message = "axis {I} is out of range for this shape",
    label = "this tensor has no axis {I}",
    note = "axes count from 0; a rank-r tensor has axes 0..r-1"
)]
pub trait HasAxis<const I: usize>: Shape {
    /// The dim at axis `I`.
    type Dim: Dim;
    /// The dim value at axis `I`.
    fn axis_dim(&self) -> Self::Dim;
}

/// `Self` without axis `I` (the shape of a reduction along `I`).
#[diagnostic::on_unimplemented(
    message = "axis {I} is out of range for this shape",
    note = "axes count from 0; a rank-r tensor has axes 0..r-1"
)]
pub trait RemoveAxis<const I: usize>: HasAxis<I> {
    /// The shape with axis `I` removed.
    type Output: Shape;
    /// The shape value with axis `I` removed.
    fn remove_axis(&self) -> Self::Output;
}

/// `Self` with axis `I` replaced by dim `New` (slicing, gathering, concat).
#[diagnostic::on_unimplemented(
    message = "axis {I} is out of range for this shape",
    note = "axes count from 0; a rank-r tensor has axes 0..r-1"
)]
pub trait ReplaceAxis<const I: usize, New: Dim>: HasAxis<I> {
    /// The shape with axis `I` replaced.
    type Output: Shape;
    /// The shape value with axis `I` replaced.
    fn replace_axis(&self, d: New) -> Self::Output;
}

// Not listed as alternatives when an axis is out of range.
#[diagnostic::do_not_recommend]
impl<D0: Dim> HasAxis<0> for (D0,) {
    type Dim = D0;
    #[inline]
    fn axis_dim(&self) -> D0 {
        self.0
    }
}
// Not listed as alternatives when an axis is out of range.
#[diagnostic::do_not_recommend]
impl<D0: Dim> RemoveAxis<0> for (D0,) {
    type Output = ();
    #[inline]
    fn remove_axis(&self) -> Self::Output {
        ()
    }
}
impl<D0: Dim, New: Dim> ReplaceAxis<0, New> for (D0,) {
    type Output = (New,);
    #[inline]
    fn replace_axis(&self, d: New) -> Self::Output {
        (d,)
    }
}

// Not listed as alternatives when an axis is out of range.
#[diagnostic::do_not_recommend]
impl<D0: Dim, D1: Dim> HasAxis<0> for (D0, D1) {
    type Dim = D0;
    #[inline]
    fn axis_dim(&self) -> D0 {
        self.0
    }
}
// Not listed as alternatives when an axis is out of range.
#[diagnostic::do_not_recommend]
impl<D0: Dim, D1: Dim> RemoveAxis<0> for (D0, D1) {
    type Output = (D1,);
    #[inline]
    fn remove_axis(&self) -> Self::Output {
        (self.1,)
    }
}
impl<D0: Dim, D1: Dim, New: Dim> ReplaceAxis<0, New> for (D0, D1) {
    type Output = (New, D1);
    #[inline]
    fn replace_axis(&self, d: New) -> Self::Output {
        (d, self.1)
    }
}

// Not listed as alternatives when an axis is out of range.
#[diagnostic::do_not_recommend]
impl<D0: Dim, D1: Dim> HasAxis<1> for (D0, D1) {
    type Dim = D1;
    #[inline]
    fn axis_dim(&self) -> D1 {
        self.1
    }
}
// Not listed as alternatives when an axis is out of range.
#[diagnostic::do_not_recommend]
impl<D0: Dim, D1: Dim> RemoveAxis<1> for (D0, D1) {
    type Output = (D0,);
    #[inline]
    fn remove_axis(&self) -> Self::Output {
        (self.0,)
    }
}
impl<D0: Dim, D1: Dim, New: Dim> ReplaceAxis<1, New> for (D0, D1) {
    type Output = (D0, New);
    #[inline]
    fn replace_axis(&self, d: New) -> Self::Output {
        (self.0, d)
    }
}

// Not listed as alternatives when an axis is out of range.
#[diagnostic::do_not_recommend]
impl<D0: Dim, D1: Dim, D2: Dim> HasAxis<0> for (D0, D1, D2) {
    type Dim = D0;
    #[inline]
    fn axis_dim(&self) -> D0 {
        self.0
    }
}
// Not listed as alternatives when an axis is out of range.
#[diagnostic::do_not_recommend]
impl<D0: Dim, D1: Dim, D2: Dim> RemoveAxis<0> for (D0, D1, D2) {
    type Output = (D1, D2);
    #[inline]
    fn remove_axis(&self) -> Self::Output {
        (self.1, self.2)
    }
}
impl<D0: Dim, D1: Dim, D2: Dim, New: Dim> ReplaceAxis<0, New> for (D0, D1, D2) {
    type Output = (New, D1, D2);
    #[inline]
    fn replace_axis(&self, d: New) -> Self::Output {
        (d, self.1, self.2)
    }
}

// Not listed as alternatives when an axis is out of range.
#[diagnostic::do_not_recommend]
impl<D0: Dim, D1: Dim, D2: Dim> HasAxis<1> for (D0, D1, D2) {
    type Dim = D1;
    #[inline]
    fn axis_dim(&self) -> D1 {
        self.1
    }
}
// Not listed as alternatives when an axis is out of range.
#[diagnostic::do_not_recommend]
impl<D0: Dim, D1: Dim, D2: Dim> RemoveAxis<1> for (D0, D1, D2) {
    type Output = (D0, D2);
    #[inline]
    fn remove_axis(&self) -> Self::Output {
        (self.0, self.2)
    }
}
impl<D0: Dim, D1: Dim, D2: Dim, New: Dim> ReplaceAxis<1, New> for (D0, D1, D2) {
    type Output = (D0, New, D2);
    #[inline]
    fn replace_axis(&self, d: New) -> Self::Output {
        (self.0, d, self.2)
    }
}

// Not listed as alternatives when an axis is out of range.
#[diagnostic::do_not_recommend]
impl<D0: Dim, D1: Dim, D2: Dim> HasAxis<2> for (D0, D1, D2) {
    type Dim = D2;
    #[inline]
    fn axis_dim(&self) -> D2 {
        self.2
    }
}
// Not listed as alternatives when an axis is out of range.
#[diagnostic::do_not_recommend]
impl<D0: Dim, D1: Dim, D2: Dim> RemoveAxis<2> for (D0, D1, D2) {
    type Output = (D0, D1);
    #[inline]
    fn remove_axis(&self) -> Self::Output {
        (self.0, self.1)
    }
}
impl<D0: Dim, D1: Dim, D2: Dim, New: Dim> ReplaceAxis<2, New> for (D0, D1, D2) {
    type Output = (D0, D1, New);
    #[inline]
    fn replace_axis(&self, d: New) -> Self::Output {
        (self.0, self.1, d)
    }
}

// Not listed as alternatives when an axis is out of range.
#[diagnostic::do_not_recommend]
impl<D0: Dim, D1: Dim, D2: Dim, D3: Dim> HasAxis<0> for (D0, D1, D2, D3) {
    type Dim = D0;
    #[inline]
    fn axis_dim(&self) -> D0 {
        self.0
    }
}
// Not listed as alternatives when an axis is out of range.
#[diagnostic::do_not_recommend]
impl<D0: Dim, D1: Dim, D2: Dim, D3: Dim> RemoveAxis<0> for (D0, D1, D2, D3) {
    type Output = (D1, D2, D3);
    #[inline]
    fn remove_axis(&self) -> Self::Output {
        (self.1, self.2, self.3)
    }
}
impl<D0: Dim, D1: Dim, D2: Dim, D3: Dim, New: Dim> ReplaceAxis<0, New> for (D0, D1, D2, D3) {
    type Output = (New, D1, D2, D3);
    #[inline]
    fn replace_axis(&self, d: New) -> Self::Output {
        (d, self.1, self.2, self.3)
    }
}

// Not listed as alternatives when an axis is out of range.
#[diagnostic::do_not_recommend]
impl<D0: Dim, D1: Dim, D2: Dim, D3: Dim> HasAxis<1> for (D0, D1, D2, D3) {
    type Dim = D1;
    #[inline]
    fn axis_dim(&self) -> D1 {
        self.1
    }
}
// Not listed as alternatives when an axis is out of range.
#[diagnostic::do_not_recommend]
impl<D0: Dim, D1: Dim, D2: Dim, D3: Dim> RemoveAxis<1> for (D0, D1, D2, D3) {
    type Output = (D0, D2, D3);
    #[inline]
    fn remove_axis(&self) -> Self::Output {
        (self.0, self.2, self.3)
    }
}
impl<D0: Dim, D1: Dim, D2: Dim, D3: Dim, New: Dim> ReplaceAxis<1, New> for (D0, D1, D2, D3) {
    type Output = (D0, New, D2, D3);
    #[inline]
    fn replace_axis(&self, d: New) -> Self::Output {
        (self.0, d, self.2, self.3)
    }
}

// Not listed as alternatives when an axis is out of range.
#[diagnostic::do_not_recommend]
impl<D0: Dim, D1: Dim, D2: Dim, D3: Dim> HasAxis<2> for (D0, D1, D2, D3) {
    type Dim = D2;
    #[inline]
    fn axis_dim(&self) -> D2 {
        self.2
    }
}
// Not listed as alternatives when an axis is out of range.
#[diagnostic::do_not_recommend]
impl<D0: Dim, D1: Dim, D2: Dim, D3: Dim> RemoveAxis<2> for (D0, D1, D2, D3) {
    type Output = (D0, D1, D3);
    #[inline]
    fn remove_axis(&self) -> Self::Output {
        (self.0, self.1, self.3)
    }
}
impl<D0: Dim, D1: Dim, D2: Dim, D3: Dim, New: Dim> ReplaceAxis<2, New> for (D0, D1, D2, D3) {
    type Output = (D0, D1, New, D3);
    #[inline]
    fn replace_axis(&self, d: New) -> Self::Output {
        (self.0, self.1, d, self.3)
    }
}

// Not listed as alternatives when an axis is out of range.
#[diagnostic::do_not_recommend]
impl<D0: Dim, D1: Dim, D2: Dim, D3: Dim> HasAxis<3> for (D0, D1, D2, D3) {
    type Dim = D3;
    #[inline]
    fn axis_dim(&self) -> D3 {
        self.3
    }
}
// Not listed as alternatives when an axis is out of range.
#[diagnostic::do_not_recommend]
impl<D0: Dim, D1: Dim, D2: Dim, D3: Dim> RemoveAxis<3> for (D0, D1, D2, D3) {
    type Output = (D0, D1, D2);
    #[inline]
    fn remove_axis(&self) -> Self::Output {
        (self.0, self.1, self.2)
    }
}
impl<D0: Dim, D1: Dim, D2: Dim, D3: Dim, New: Dim> ReplaceAxis<3, New> for (D0, D1, D2, D3) {
    type Output = (D0, D1, D2, New);
    #[inline]
    fn replace_axis(&self, d: New) -> Self::Output {
        (self.0, self.1, self.2, d)
    }
}

// Not listed as alternatives when an axis is out of range.
#[diagnostic::do_not_recommend]
impl<D0: Dim, D1: Dim, D2: Dim, D3: Dim, D4: Dim> HasAxis<0> for (D0, D1, D2, D3, D4) {
    type Dim = D0;
    #[inline]
    fn axis_dim(&self) -> D0 {
        self.0
    }
}
// Not listed as alternatives when an axis is out of range.
#[diagnostic::do_not_recommend]
impl<D0: Dim, D1: Dim, D2: Dim, D3: Dim, D4: Dim> RemoveAxis<0> for (D0, D1, D2, D3, D4) {
    type Output = (D1, D2, D3, D4);
    #[inline]
    fn remove_axis(&self) -> Self::Output {
        (self.1, self.2, self.3, self.4)
    }
}
impl<D0: Dim, D1: Dim, D2: Dim, D3: Dim, D4: Dim, New: Dim> ReplaceAxis<0, New>
    for (D0, D1, D2, D3, D4)
{
    type Output = (New, D1, D2, D3, D4);
    #[inline]
    fn replace_axis(&self, d: New) -> Self::Output {
        (d, self.1, self.2, self.3, self.4)
    }
}

// Not listed as alternatives when an axis is out of range.
#[diagnostic::do_not_recommend]
impl<D0: Dim, D1: Dim, D2: Dim, D3: Dim, D4: Dim> HasAxis<1> for (D0, D1, D2, D3, D4) {
    type Dim = D1;
    #[inline]
    fn axis_dim(&self) -> D1 {
        self.1
    }
}
// Not listed as alternatives when an axis is out of range.
#[diagnostic::do_not_recommend]
impl<D0: Dim, D1: Dim, D2: Dim, D3: Dim, D4: Dim> RemoveAxis<1> for (D0, D1, D2, D3, D4) {
    type Output = (D0, D2, D3, D4);
    #[inline]
    fn remove_axis(&self) -> Self::Output {
        (self.0, self.2, self.3, self.4)
    }
}
impl<D0: Dim, D1: Dim, D2: Dim, D3: Dim, D4: Dim, New: Dim> ReplaceAxis<1, New>
    for (D0, D1, D2, D3, D4)
{
    type Output = (D0, New, D2, D3, D4);
    #[inline]
    fn replace_axis(&self, d: New) -> Self::Output {
        (self.0, d, self.2, self.3, self.4)
    }
}

// Not listed as alternatives when an axis is out of range.
#[diagnostic::do_not_recommend]
impl<D0: Dim, D1: Dim, D2: Dim, D3: Dim, D4: Dim> HasAxis<2> for (D0, D1, D2, D3, D4) {
    type Dim = D2;
    #[inline]
    fn axis_dim(&self) -> D2 {
        self.2
    }
}
// Not listed as alternatives when an axis is out of range.
#[diagnostic::do_not_recommend]
impl<D0: Dim, D1: Dim, D2: Dim, D3: Dim, D4: Dim> RemoveAxis<2> for (D0, D1, D2, D3, D4) {
    type Output = (D0, D1, D3, D4);
    #[inline]
    fn remove_axis(&self) -> Self::Output {
        (self.0, self.1, self.3, self.4)
    }
}
impl<D0: Dim, D1: Dim, D2: Dim, D3: Dim, D4: Dim, New: Dim> ReplaceAxis<2, New>
    for (D0, D1, D2, D3, D4)
{
    type Output = (D0, D1, New, D3, D4);
    #[inline]
    fn replace_axis(&self, d: New) -> Self::Output {
        (self.0, self.1, d, self.3, self.4)
    }
}

// Not listed as alternatives when an axis is out of range.
#[diagnostic::do_not_recommend]
impl<D0: Dim, D1: Dim, D2: Dim, D3: Dim, D4: Dim> HasAxis<3> for (D0, D1, D2, D3, D4) {
    type Dim = D3;
    #[inline]
    fn axis_dim(&self) -> D3 {
        self.3
    }
}
// Not listed as alternatives when an axis is out of range.
#[diagnostic::do_not_recommend]
impl<D0: Dim, D1: Dim, D2: Dim, D3: Dim, D4: Dim> RemoveAxis<3> for (D0, D1, D2, D3, D4) {
    type Output = (D0, D1, D2, D4);
    #[inline]
    fn remove_axis(&self) -> Self::Output {
        (self.0, self.1, self.2, self.4)
    }
}
impl<D0: Dim, D1: Dim, D2: Dim, D3: Dim, D4: Dim, New: Dim> ReplaceAxis<3, New>
    for (D0, D1, D2, D3, D4)
{
    type Output = (D0, D1, D2, New, D4);
    #[inline]
    fn replace_axis(&self, d: New) -> Self::Output {
        (self.0, self.1, self.2, d, self.4)
    }
}

// Not listed as alternatives when an axis is out of range.
#[diagnostic::do_not_recommend]
impl<D0: Dim, D1: Dim, D2: Dim, D3: Dim, D4: Dim> HasAxis<4> for (D0, D1, D2, D3, D4) {
    type Dim = D4;
    #[inline]
    fn axis_dim(&self) -> D4 {
        self.4
    }
}
// Not listed as alternatives when an axis is out of range.
#[diagnostic::do_not_recommend]
impl<D0: Dim, D1: Dim, D2: Dim, D3: Dim, D4: Dim> RemoveAxis<4> for (D0, D1, D2, D3, D4) {
    type Output = (D0, D1, D2, D3);
    #[inline]
    fn remove_axis(&self) -> Self::Output {
        (self.0, self.1, self.2, self.3)
    }
}
impl<D0: Dim, D1: Dim, D2: Dim, D3: Dim, D4: Dim, New: Dim> ReplaceAxis<4, New>
    for (D0, D1, D2, D3, D4)
{
    type Output = (D0, D1, D2, D3, New);
    #[inline]
    fn replace_axis(&self, d: New) -> Self::Output {
        (self.0, self.1, self.2, self.3, d)
    }
}

// Not listed as alternatives when an axis is out of range.
#[diagnostic::do_not_recommend]
impl<D0: Dim, D1: Dim, D2: Dim, D3: Dim, D4: Dim, D5: Dim> HasAxis<0> for (D0, D1, D2, D3, D4, D5) {
    type Dim = D0;
    #[inline]
    fn axis_dim(&self) -> D0 {
        self.0
    }
}
// Not listed as alternatives when an axis is out of range.
#[diagnostic::do_not_recommend]
impl<D0: Dim, D1: Dim, D2: Dim, D3: Dim, D4: Dim, D5: Dim> RemoveAxis<0>
    for (D0, D1, D2, D3, D4, D5)
{
    type Output = (D1, D2, D3, D4, D5);
    #[inline]
    fn remove_axis(&self) -> Self::Output {
        (self.1, self.2, self.3, self.4, self.5)
    }
}
impl<D0: Dim, D1: Dim, D2: Dim, D3: Dim, D4: Dim, D5: Dim, New: Dim> ReplaceAxis<0, New>
    for (D0, D1, D2, D3, D4, D5)
{
    type Output = (New, D1, D2, D3, D4, D5);
    #[inline]
    fn replace_axis(&self, d: New) -> Self::Output {
        (d, self.1, self.2, self.3, self.4, self.5)
    }
}

// Not listed as alternatives when an axis is out of range.
#[diagnostic::do_not_recommend]
impl<D0: Dim, D1: Dim, D2: Dim, D3: Dim, D4: Dim, D5: Dim> HasAxis<1> for (D0, D1, D2, D3, D4, D5) {
    type Dim = D1;
    #[inline]
    fn axis_dim(&self) -> D1 {
        self.1
    }
}
// Not listed as alternatives when an axis is out of range.
#[diagnostic::do_not_recommend]
impl<D0: Dim, D1: Dim, D2: Dim, D3: Dim, D4: Dim, D5: Dim> RemoveAxis<1>
    for (D0, D1, D2, D3, D4, D5)
{
    type Output = (D0, D2, D3, D4, D5);
    #[inline]
    fn remove_axis(&self) -> Self::Output {
        (self.0, self.2, self.3, self.4, self.5)
    }
}
impl<D0: Dim, D1: Dim, D2: Dim, D3: Dim, D4: Dim, D5: Dim, New: Dim> ReplaceAxis<1, New>
    for (D0, D1, D2, D3, D4, D5)
{
    type Output = (D0, New, D2, D3, D4, D5);
    #[inline]
    fn replace_axis(&self, d: New) -> Self::Output {
        (self.0, d, self.2, self.3, self.4, self.5)
    }
}

// Not listed as alternatives when an axis is out of range.
#[diagnostic::do_not_recommend]
impl<D0: Dim, D1: Dim, D2: Dim, D3: Dim, D4: Dim, D5: Dim> HasAxis<2> for (D0, D1, D2, D3, D4, D5) {
    type Dim = D2;
    #[inline]
    fn axis_dim(&self) -> D2 {
        self.2
    }
}
// Not listed as alternatives when an axis is out of range.
#[diagnostic::do_not_recommend]
impl<D0: Dim, D1: Dim, D2: Dim, D3: Dim, D4: Dim, D5: Dim> RemoveAxis<2>
    for (D0, D1, D2, D3, D4, D5)
{
    type Output = (D0, D1, D3, D4, D5);
    #[inline]
    fn remove_axis(&self) -> Self::Output {
        (self.0, self.1, self.3, self.4, self.5)
    }
}
impl<D0: Dim, D1: Dim, D2: Dim, D3: Dim, D4: Dim, D5: Dim, New: Dim> ReplaceAxis<2, New>
    for (D0, D1, D2, D3, D4, D5)
{
    type Output = (D0, D1, New, D3, D4, D5);
    #[inline]
    fn replace_axis(&self, d: New) -> Self::Output {
        (self.0, self.1, d, self.3, self.4, self.5)
    }
}

// Not listed as alternatives when an axis is out of range.
#[diagnostic::do_not_recommend]
impl<D0: Dim, D1: Dim, D2: Dim, D3: Dim, D4: Dim, D5: Dim> HasAxis<3> for (D0, D1, D2, D3, D4, D5) {
    type Dim = D3;
    #[inline]
    fn axis_dim(&self) -> D3 {
        self.3
    }
}
// Not listed as alternatives when an axis is out of range.
#[diagnostic::do_not_recommend]
impl<D0: Dim, D1: Dim, D2: Dim, D3: Dim, D4: Dim, D5: Dim> RemoveAxis<3>
    for (D0, D1, D2, D3, D4, D5)
{
    type Output = (D0, D1, D2, D4, D5);
    #[inline]
    fn remove_axis(&self) -> Self::Output {
        (self.0, self.1, self.2, self.4, self.5)
    }
}
impl<D0: Dim, D1: Dim, D2: Dim, D3: Dim, D4: Dim, D5: Dim, New: Dim> ReplaceAxis<3, New>
    for (D0, D1, D2, D3, D4, D5)
{
    type Output = (D0, D1, D2, New, D4, D5);
    #[inline]
    fn replace_axis(&self, d: New) -> Self::Output {
        (self.0, self.1, self.2, d, self.4, self.5)
    }
}

// Not listed as alternatives when an axis is out of range.
#[diagnostic::do_not_recommend]
impl<D0: Dim, D1: Dim, D2: Dim, D3: Dim, D4: Dim, D5: Dim> HasAxis<4> for (D0, D1, D2, D3, D4, D5) {
    type Dim = D4;
    #[inline]
    fn axis_dim(&self) -> D4 {
        self.4
    }
}
// Not listed as alternatives when an axis is out of range.
#[diagnostic::do_not_recommend]
impl<D0: Dim, D1: Dim, D2: Dim, D3: Dim, D4: Dim, D5: Dim> RemoveAxis<4>
    for (D0, D1, D2, D3, D4, D5)
{
    type Output = (D0, D1, D2, D3, D5);
    #[inline]
    fn remove_axis(&self) -> Self::Output {
        (self.0, self.1, self.2, self.3, self.5)
    }
}
impl<D0: Dim, D1: Dim, D2: Dim, D3: Dim, D4: Dim, D5: Dim, New: Dim> ReplaceAxis<4, New>
    for (D0, D1, D2, D3, D4, D5)
{
    type Output = (D0, D1, D2, D3, New, D5);
    #[inline]
    fn replace_axis(&self, d: New) -> Self::Output {
        (self.0, self.1, self.2, self.3, d, self.5)
    }
}

// Not listed as alternatives when an axis is out of range.
#[diagnostic::do_not_recommend]
impl<D0: Dim, D1: Dim, D2: Dim, D3: Dim, D4: Dim, D5: Dim> HasAxis<5> for (D0, D1, D2, D3, D4, D5) {
    type Dim = D5;
    #[inline]
    fn axis_dim(&self) -> D5 {
        self.5
    }
}
// Not listed as alternatives when an axis is out of range.
#[diagnostic::do_not_recommend]
impl<D0: Dim, D1: Dim, D2: Dim, D3: Dim, D4: Dim, D5: Dim> RemoveAxis<5>
    for (D0, D1, D2, D3, D4, D5)
{
    type Output = (D0, D1, D2, D3, D4);
    #[inline]
    fn remove_axis(&self) -> Self::Output {
        (self.0, self.1, self.2, self.3, self.4)
    }
}
impl<D0: Dim, D1: Dim, D2: Dim, D3: Dim, D4: Dim, D5: Dim, New: Dim> ReplaceAxis<5, New>
    for (D0, D1, D2, D3, D4, D5)
{
    type Output = (D0, D1, D2, D3, D4, New);
    #[inline]
    fn replace_axis(&self, d: New) -> Self::Output {
        (self.0, self.1, self.2, self.3, self.4, d)
    }
}

// ----------------------------------------------------- axes out of range

/// The rank `R` of a shape, as a type: the `Self` of [`AxisChecked`], so an
/// axis out of range is reported as `AxisChecked<3>` not implemented for
/// `Rank<2>`.
#[derive(Copy, Clone, Debug, Default)]
pub struct Rank<const R: usize>;

/// Never implemented: axis `I` of a shape of rank `R` ([`Rank`]) out of
/// range.
#[diagnostic::on_unimplemented(
    message = "axis {I} is out of range for this shape",
    label = "this tensor has no axis {I}",
    note = "axes count from 0; a rank-r tensor has axes 0..r-1"
)]
pub trait AxisInRange<const I: usize> {}

/// A shape of rank `Self` ([`Rank`]) has axis `I`, as a projection:
/// `<Rank<R> as AxisChecked<I>>::Then<S>` would be `S`; it never holds,
/// since the axes in range have impls of their own. An axis out of range
/// (below [`MAX_RANK`](super::tuple::MAX_RANK)) is named through it, so the
/// error reads "axis 3 is out of range" with no shape in typenum's binary
/// form (see [`DimsChecked`](super::DimsChecked)).
#[diagnostic::on_unimplemented(
    message = "axis {I} is out of range for this shape",
    label = "this tensor has no axis {I}",
    note = "axes count from 0; a rank-r tensor has axes 0..r-1"
)]
pub trait AxisChecked<const I: usize> {
    /// `S` itself.
    type Then<S: Shape>: Shape;
    /// `T` itself.
    type ThenDim<T: Dim>: Dim;
}
#[diagnostic::do_not_recommend]
impl<R: AxisInRange<I>, const I: usize> AxisChecked<I> for R {
    type Then<S: Shape> = S;
    type ThenDim<T: Dim> = T;
}

/// Axis `I` of `Self` is out of range: implemented for every shape and
/// axis, naming the shape's [`Rank`] for [`AxisChecked`].
pub trait AxisOutOfRange<const I: usize> {
    /// `S`, named through the check.
    type Then<S: Shape>: Shape;
    /// `T`, named through the check.
    type ThenDim<T: Dim>: Dim;
}

/// The impls for axes `$I` of a rank-`$r` shape (`$D`: its dims) that are
/// out of range: they exist so that the error goes through
/// [`AxisOutOfRange`] and names [`Rank`], and can never hold. The
/// methods are unreachable for that reason.
macro_rules! out_of_range {
    ($r:literal; $dims:tt; $($I:literal)*) => {
        out_of_range!(@rank $r; $dims);
        $( out_of_range!(@axis $I; $dims); )*
    };
    (@rank $r:literal; ($($D:ident)+)) => {
        impl<$($D: Dim,)+ const I: usize> AxisOutOfRange<I> for ($($D,)+)
        where
            Rank<$r>: AxisChecked<I>,
        {
            type Then<S: Shape> = <Rank<$r> as AxisChecked<I>>::Then<S>;
            type ThenDim<T: Dim> = <Rank<$r> as AxisChecked<I>>::ThenDim<T>;
        }
    };
    (@axis $I:literal; ($D0:ident $($D:ident)*)) => {
        #[diagnostic::do_not_recommend]
        impl<$D0: Dim $(, $D: Dim)*> HasAxis<$I> for ($D0, $($D,)*)
        where
            Self: AxisOutOfRange<$I>,
        {
            type Dim = <Self as AxisOutOfRange<$I>>::ThenDim<$D0>;
            fn axis_dim(&self) -> Self::Dim {
                unreachable!("axis out of range")
            }
        }
        #[diagnostic::do_not_recommend]
        impl<$D0: Dim $(, $D: Dim)*> RemoveAxis<$I> for ($D0, $($D,)*)
        where
            Self: AxisOutOfRange<$I>,
        {
            type Output = <Self as AxisOutOfRange<$I>>::Then<Self>;
            fn remove_axis(&self) -> Self::Output {
                unreachable!("axis out of range")
            }
        }
        #[diagnostic::do_not_recommend]
        impl<$D0: Dim $(, $D: Dim)*, New: Dim> ReplaceAxis<$I, New> for ($D0, $($D,)*)
        where
            Self: AxisOutOfRange<$I>,
        {
            type Output = <Self as AxisOutOfRange<$I>>::Then<Self>;
            fn replace_axis(&self, _d: New) -> Self::Output {
                unreachable!("axis out of range")
            }
        }
    };
}
out_of_range!(1; (D0); 1 2 3 4 5);
out_of_range!(2; (D0 D1); 2 3 4 5);
out_of_range!(3; (D0 D1 D2); 3 4 5);
out_of_range!(4; (D0 D1 D2 D3); 4 5);
out_of_range!(5; (D0 D1 D2 D3 D4); 5);
out_of_range!(6; (D0 D1 D2 D3 D4 D5););
