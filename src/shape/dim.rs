//! Dimensions: a typenum number (static, checked by the compiler) or [`Dyn`]
//! (a size known only at run time, checked when the op runs).

use core::fmt::Debug;
use typenum::{Bit, UInt, UTerm, Unsigned};

/// One axis of a shape: its size, static or dynamic.
///
/// ```
/// use typegrad::prelude::*;
/// assert_eq!(<u!(784)>::default().size(), 784);
/// assert_eq!(Dyn(8).size(), 8);
/// ```
pub trait Dim: Copy + Debug + Send + Sync + 'static {
    /// The size fixed by the type, `None` for [`Dyn`].
    const STATIC_SIZE: Option<usize>;
    /// The size of this axis.
    fn size(&self) -> usize;
    /// Build the dim for a runtime size; `None` if a static dim has another size.
    fn from_size(n: usize) -> Option<Self>;
}

/// A dim whose size is part of its type (a typenum unsigned number).
pub trait StaticDim: Dim + Default + Unsigned {}

/// A size known only at run time (batch size, sequence length).
///
/// Shapes mixing `Dyn` with static dims are checked at run time where the
/// `Dyn` axis meets another: the panicking form names both sizes and the axis,
/// the `try_` form returns [`crate::Error`].
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Dyn(pub usize);

impl Dim for Dyn {
    const STATIC_SIZE: Option<usize> = None;
    #[inline]
    fn size(&self) -> usize {
        self.0
    }
    #[inline]
    fn from_size(n: usize) -> Option<Self> {
        Some(Dyn(n))
    }
}

impl<
        U: Unsigned + Default + Copy + Debug + Send + Sync + 'static,
        B: Bit + Default + Copy + Debug + Send + Sync + 'static,
    > Dim for UInt<U, B>
{
    const STATIC_SIZE: Option<usize> = Some(<Self as Unsigned>::USIZE);
    #[inline]
    fn size(&self) -> usize {
        <Self as Unsigned>::USIZE
    }
    #[inline]
    fn from_size(n: usize) -> Option<Self> {
        (n == <Self as Unsigned>::USIZE).then(Self::default)
    }
}

impl Dim for UTerm {
    const STATIC_SIZE: Option<usize> = Some(0);
    #[inline]
    fn size(&self) -> usize {
        0
    }
    #[inline]
    fn from_size(n: usize) -> Option<Self> {
        (n == 0).then_some(UTerm)
    }
}

impl<
        U: Unsigned + Default + Copy + Debug + Send + Sync + 'static,
        B: Bit + Default + Copy + Debug + Send + Sync + 'static,
    > StaticDim for UInt<U, B>
{
}
impl StaticDim for UTerm {}
