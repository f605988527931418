//! Typed output shapes of 1-D and 2-D pooling: the spatial dims go through
//! [`ConvOutDim`], the others are kept.

use crate::shape::{ConvOut, ConvOutDim, Dim, Shape};

/// `Self` (`(C, L)` or `(B, C, L)`) pooled along its last axis with window
/// `K`, stride `S`, padding `P` and dilation `L`: the last dim becomes
/// [`ConvOutDim<L_in, K, S, P, L>`](ConvOutDim). A window larger than a
/// static padded input is a compile error ("kernel larger than padded
/// input").
///
/// ```
/// use typegrad::ops::pool::Pool1dShape;
/// use typegrad::prelude::*;
/// type Out = <(Dyn, u!(4), u!(10)) as Pool1dShape<u!(3), u!(2), u!(1), u!(1)>>::Output;
/// let out: Out = (Dyn(2), Default::default(), Default::default());
/// assert_eq!(&*out.dims(), &[2, 4, 5]);
/// ```
pub trait Pool1dShape<K, S, P, L>: Shape {
    /// The pooled shape.
    type Output: Shape;
}

impl<C: Dim, N: Dim, K, S, P, L> Pool1dShape<K, S, P, L> for (C, N)
where
    N: ConvOut<K, S, P, L>,
{
    type Output = (C, ConvOutDim<N, K, S, P, L>);
}

impl<B: Dim, C: Dim, N: Dim, K, S, P, L> Pool1dShape<K, S, P, L> for (B, C, N)
where
    N: ConvOut<K, S, P, L>,
{
    type Output = (B, C, ConvOutDim<N, K, S, P, L>);
}

/// `Self` (`(C, H, W)` or `(B, C, H, W)`) pooled along its last two axes
/// with the square window `K`, stride `S`, padding `P` and dilation `L`:
/// `H` and `W` become [`ConvOutDim`]s. A window larger than a static padded
/// input is a compile error ("kernel larger than padded input").
///
/// ```
/// use typegrad::ops::pool::Pool2dShape;
/// use typegrad::prelude::*;
/// type Out = <(u!(3), u!(28), u!(28)) as Pool2dShape<u!(2), u!(2), u!(0), u!(1)>>::Output;
/// assert_eq!(&*Out::default().dims(), &[3, 14, 14]);
/// ```
pub trait Pool2dShape<K, S, P, L>: Shape {
    /// The pooled shape.
    type Output: Shape;
}

impl<C: Dim, H: Dim, W: Dim, K, S, P, L> Pool2dShape<K, S, P, L> for (C, H, W)
where
    H: ConvOut<K, S, P, L>,
    W: ConvOut<K, S, P, L>,
{
    type Output = (C, ConvOutDim<H, K, S, P, L>, ConvOutDim<W, K, S, P, L>);
}

impl<B: Dim, C: Dim, H: Dim, W: Dim, K, S, P, L> Pool2dShape<K, S, P, L> for (B, C, H, W)
where
    H: ConvOut<K, S, P, L>,
    W: ConvOut<K, S, P, L>,
{
    type Output = (B, C, ConvOutDim<H, K, S, P, L>, ConvOutDim<W, K, S, P, L>);
}
