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
    /// Product of the sizes (1 for a scalar). Panics if it overflows
    /// `usize`, naming the dims (see [`Dims::try_numel`]).
    ///
    /// ```should_panic
    /// let d = typegrad::shape::Dims::new(&[1 << 40, 1 << 40]);
    /// let _ = d.numel(); // element count of shape [1099511627776, 1099511627776] overflows usize
    /// ```
    #[track_caller]
    pub fn numel(&self) -> usize {
        self.try_numel("numel").unwrap_or_else(|e| panic!("{e}"))
    }

    /// Product of the sizes, checked: [`Error::NumelOverflow`] (naming `op`
    /// and the dims) if it does not fit in `usize`. A zero dim makes the
    /// product 0 whatever the others, and also every partial product that
    /// includes it, but a partial product of the others may still overflow
    /// (see [`Dims::try_numel_of`]).
    ///
    /// ```
    /// use typegrad::shape::{Dims, Error};
    /// assert_eq!(Dims::new(&[2, 3]).try_numel("zeros"), Ok(6));
    /// assert_eq!(Dims::new(&[0, usize::MAX, 2]).try_numel("zeros"), Ok(0));
    /// let e = Dims::new(&[usize::MAX, 2]).try_numel("zeros").unwrap_err();
    /// assert!(matches!(e, Error::NumelOverflow { op: "zeros", .. }));
    /// ```
    pub fn try_numel(&self, op: &'static str) -> Result<usize, Error> {
        self.try_numel_of(op, 0..self.len)
    }

    /// Checked product of the sizes of the axes in `axes` (the element
    /// count of a group of axes: a flattened dim, the rows of a matmul):
    /// [`Error::NumelOverflow`] naming `op` and the whole dims if it does
    /// not fit in `usize`.
    ///
    /// ```
    /// use typegrad::shape::Dims;
    /// let d = Dims::new(&[0, 1 << 40, 1 << 40]);
    /// assert_eq!(d.try_numel("x"), Ok(0));
    /// assert!(d.try_numel_of("flatten", 1..3).is_err()); // 2^80 elements per batch entry
    /// ```
    pub fn try_numel_of(
        &self,
        op: &'static str,
        axes: core::ops::Range<usize>,
    ) -> Result<usize, Error> {
        let d = &self[axes];
        if d.contains(&0) {
            return Ok(0);
        }
        d.iter()
            .try_fold(1usize, |acc, &n| acc.checked_mul(n))
            .ok_or(Error::NumelOverflow { op, dims: *self })
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
    /// Number of elements. Panics if the product of the dims overflows
    /// `usize` (only possible with huge `Dyn` dims), naming them.
    #[track_caller]
    fn numel(&self) -> usize {
        self.dims().numel()
    }
    /// Number of elements, checked: [`Error::NumelOverflow`] naming `op`
    /// and the dims if the product overflows `usize`.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// assert_eq!((Dyn(3), <u!(4)>::default()).try_numel("zeros"), Ok(12));
    /// let e = (Dyn(usize::MAX), Dyn(3)).try_numel("zeros").unwrap_err();
    /// assert_eq!(
    ///     e.to_string(),
    ///     format!("zeros: the element count of shape [{}, 3] overflows usize", usize::MAX)
    /// );
    /// ```
    fn try_numel(&self, op: &'static str) -> Result<usize, Error> {
        self.dims().try_numel(op)
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
