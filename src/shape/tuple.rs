//! The [`Shape`] trait, implemented for tuples of up to six dims.

use super::dim::{Dim, StaticDim};
use super::error::Error;
use core::fmt::Debug;

/// The largest rank a shape can have.
pub const MAX_RANK: usize = 6;

/// The runtime sizes of a shape, without allocating.
#[derive(Copy, Clone, PartialEq, Eq, Hash)]
pub struct Dims {
    len: usize,
    d: [usize; MAX_RANK],
}

impl Dims {
    /// Dims from a slice (at most [`MAX_RANK`] long).
    ///
    /// ```
    /// let d = typegrad::shape::Dims::new(&[2, 3]);
    /// assert_eq!(d.numel(), 6);
    /// ```
    pub fn new(s: &[usize]) -> Self {
        assert!(
            s.len() <= MAX_RANK,
            "shape rank {} exceeds the maximum {MAX_RANK}",
            s.len()
        );
        let mut d = [0; MAX_RANK];
        d[..s.len()].copy_from_slice(s);
        Dims { len: s.len(), d }
    }
    /// Product of the sizes (1 for a scalar).
    pub fn numel(&self) -> usize {
        self.iter().product()
    }
}

impl core::ops::Deref for Dims {
    type Target = [usize];
    fn deref(&self) -> &[usize] {
        &self.d[..self.len]
    }
}

impl Debug for Dims {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        Debug::fmt(&**self, f)
    }
}

/// A tensor shape: a tuple of [`Dim`]s.
///
/// ```
/// use typegrad::prelude::*;
/// let s = dims!(Dyn(8), 1, 28, 28);
/// assert_eq!(&*s.dims(), &[8, 1, 28, 28]);
/// assert_eq!(s.numel(), 8 * 784);
/// ```
pub trait Shape: Copy + Debug + Send + Sync + 'static {
    /// Number of axes.
    const RANK: usize;
    /// Runtime sizes.
    fn dims(&self) -> Dims;
    /// Build from runtime sizes; static axes must match their type.
    fn try_from_dims(d: &[usize]) -> Result<Self, Error>;
    /// Number of elements.
    fn numel(&self) -> usize {
        self.dims().numel()
    }
}

/// A shape whose dims are all static: its value is its type's `Default`.
pub trait ConstShape: Shape + Default {}

macro_rules! tuple_shape {
    ($n:expr; $($D:ident $i:tt),*) => {
        impl<$($D: Dim),*> Shape for ($($D,)*) {
            const RANK: usize = $n;
            #[inline]
            fn dims(&self) -> Dims {
                Dims::new(&[$(self.$i.size()),*])
            }
            #[allow(unused_variables)]
            fn try_from_dims(d: &[usize]) -> Result<Self, Error> {
                if d.len() != $n {
                    return Err(Error::Invalid("shape: wrong number of axes"));
                }
                Ok(($(
                    $D::from_size(d[$i]).ok_or(Error::StaticDim {
                        axis: $i,
                        got: d[$i],
                        expected: $D::STATIC_SIZE.unwrap_or(d[$i]),
                    })?,
                )*))
            }
        }
        impl<$($D: StaticDim),*> ConstShape for ($($D,)*) {}
    };
}

tuple_shape!(0;);
tuple_shape!(1; D0 0);
tuple_shape!(2; D0 0, D1 1);
tuple_shape!(3; D0 0, D1 1, D2 2);
tuple_shape!(4; D0 0, D1 1, D2 2, D3 3);
tuple_shape!(5; D0 0, D1 1, D2 2, D3 3, D4 4);
tuple_shape!(6; D0 0, D1 1, D2 2, D3 3, D4 4, D5 5);
