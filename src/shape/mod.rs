//! Shapes: tuples of dims, checked by the compiler where static.
//!
//! A dim is a typenum number (write it with [`crate::u!`]) or [`Dyn`]. A shape
//! is a tuple of up to six dims. A mismatch between static dims is a compile
//! error naming both numbers in decimal; one involving [`Dyn`] is checked at
//! run time and reported as an [`Error`]. The static checks are verdicts
//! checked by the operation's own bound (see [`DimsAgree`]), so the error is
//! a headline, the caller's line and a pointer to that bound. Element counts
//! are checked arithmetic: a product of `Dyn` dims that overflows `usize`
//! is [`Error::NumelOverflow`], never a wrapped count.

mod arith;
mod axes;
mod broadcast;
mod broadcast_to;
pub mod decimal;
mod dim;
mod error;
mod movement;
mod same;
mod same_shape;
mod tuple;

pub use arith::*;
pub use axes::*;
pub use broadcast::*;
pub use broadcast_to::*;
pub use dim::{Dim, Dyn, StaticDim};
pub use error::{check_dim, Error};
pub use movement::*;
pub use same::{
    Agree, DimVerdict, DimsAgree, DimsChecked, ExpOf, GotOf, Pick, SameDim, ShapeVerdict, Then,
};
pub use same_shape::SameShape;
pub use tuple::{ConstShape, Dims, Shape, MAX_RANK};
