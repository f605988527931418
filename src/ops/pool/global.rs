//! Global pooling: the mean (or maximum) over every spatial position,
//! `(B, C, ...) -> (B, C)`. One fused reduction over the contiguous
//! spatial block of each channel.

use crate::autograd::Tracking;
use crate::backend::Device;
use crate::dtype::Dtype;
use crate::ops::reduce::ReduceOp;
use crate::shape::{Dim, Dyn, Error, Shape};
use crate::tensor::Tensor;

/// A shape pooled over its last `N` (spatial) axes, keeping the leading
/// `(B, C)` or `(C,)`: for `N = 1`, `(B, C, L)` and `(C, L)`; for `N = 2`,
/// `(B, C, H, W)` and `(C, H, W)`.
///
/// ```
/// use typegrad::ops::pool::GlobalPoolShape;
/// use typegrad::prelude::*;
/// let s = (Dyn(8), <u!(512)>::default(), <u!(7)>::default(), <u!(7)>::default());
/// assert_eq!(&*GlobalPoolShape::<2>::global_pool_shape(&s).dims(), &[8, 512]);
/// let s = (Dyn(8), <u!(512)>::default(), <u!(7)>::default());
/// assert_eq!(&*GlobalPoolShape::<1>::global_pool_shape(&s).dims(), &[8, 512]);
/// ```
pub trait GlobalPoolShape<const N: usize>: Shape {
    /// The kept leading axes.
    type Output: Shape;
    /// The output shape.
    fn global_pool_shape(&self) -> Self::Output;
}

impl<C: Dim, L: Dim> GlobalPoolShape<1> for (C, L) {
    type Output = (C,);
    fn global_pool_shape(&self) -> (C,) {
        (self.0,)
    }
}
impl<B: Dim, C: Dim, L: Dim> GlobalPoolShape<1> for (B, C, L) {
    type Output = (B, C);
    fn global_pool_shape(&self) -> (B, C) {
        (self.0, self.1)
    }
}
impl<C: Dim, H: Dim, W: Dim> GlobalPoolShape<2> for (C, H, W) {
    type Output = (C,);
    fn global_pool_shape(&self) -> (C,) {
        (self.0,)
    }
}
impl<B: Dim, C: Dim, H: Dim, W: Dim> GlobalPoolShape<2> for (B, C, H, W) {
    type Output = (B, C);
    fn global_pool_shape(&self) -> (B, C) {
        (self.0, self.1)
    }
}

macro_rules! global_methods {
    ($n:literal, $avg:ident, $try_avg:ident, $max:ident, $try_max:ident, $ex_shape:ty, $ex_dims:expr, $ex_out:ty) => {
        impl<S: GlobalPoolShape<$n>, E: Dtype, D: Device<E>, T: Tracking<E, D>> Tensor<S, E, D, T> {
            #[doc = concat!("Global average pooling over the last ", $n, " axes: the mean over all spatial")]
            #[doc = concat!("positions of each channel, `", stringify!($ex_shape), " -> ", stringify!($ex_out), "`")]
            /// (unbatched inputs give `(C,)`). PyTorch's adaptive average
            /// pooling to size 1 followed by a flatten. One fused mean over
            /// each channel's contiguous block. Panics on an empty spatial
            /// extent (see the `try_` form).
            ///
            /// ```
            /// use typegrad::prelude::*;
            #[doc = concat!("let x: Tensor<", stringify!($ex_shape), ", f32> = Tensor::from_vec_static((0..8).map(|v| v as f32).collect(), &Cpu::default());")]
            #[doc = concat!("let y: Tensor<", stringify!($ex_out), ", f32> = x.", stringify!($avg), "();")]
            #[doc = concat!("assert_eq!(y.to_vec(), ", stringify!($ex_dims), ");")]
            /// ```
            #[track_caller]
            pub fn $avg(self) -> Tensor<<S as GlobalPoolShape<$n>>::Output, E, D, T> {
                self.$try_avg().unwrap_or_else(|e| panic!("{e}"))
            }

            /// Fallible form of the global average pool: a `Dyn` spatial
            /// axis of size 0 is an [`Error::TooFewElements`].
            pub fn $try_avg(self) -> Result<Tensor<<S as GlobalPoolShape<$n>>::Output, E, D, T>, Error> {
                global_pool::<$n, S, E, D, T>(self, stringify!($avg), ReduceOp::Mean)
            }

            #[doc = concat!("Global max pooling over the last ", $n, " axes: the maximum over all spatial")]
            /// positions of each channel (unbatched inputs give `(C,)`).
            /// Ties share the gradient equally, as [`Tensor::max_axis`]
            /// (PyTorch's `amax` over the spatial axes). Panics on an
            /// empty spatial extent (see the `try_` form).
            #[track_caller]
            pub fn $max(self) -> Tensor<<S as GlobalPoolShape<$n>>::Output, E, D, T> {
                self.$try_max().unwrap_or_else(|e| panic!("{e}"))
            }

            /// Fallible form of the global max pool: a `Dyn` spatial axis
            /// of size 0 is an [`Error::TooFewElements`].
            pub fn $try_max(self) -> Result<Tensor<<S as GlobalPoolShape<$n>>::Output, E, D, T>, Error> {
                global_pool::<$n, S, E, D, T>(self, stringify!($max), ReduceOp::Max)
            }
        }
    };
}

global_methods!(
    1,
    global_avg_pool1d,
    try_global_avg_pool1d,
    global_max_pool1d,
    try_global_max_pool1d,
    (u!(1), u!(2), u!(4)),
    vec![1.5, 5.5],
    (u!(1), u!(2))
);
global_methods!(
    2,
    global_avg_pool2d,
    try_global_avg_pool2d,
    global_max_pool2d,
    try_global_max_pool2d,
    (u!(1), u!(2), u!(2), u!(2)),
    vec![1.5, 5.5],
    (u!(1), u!(2))
);

/// View as `(channels, spatial)` and reduce the second axis.
fn global_pool<const N: usize, S: GlobalPoolShape<N>, E: Dtype, D: Device<E>, T: Tracking<E, D>>(
    x: Tensor<S, E, D, T>,
    op: &'static str,
    r: ReduceOp,
) -> Result<Tensor<S::Output, E, D, T>, Error> {
    let out = x.shape.global_pool_shape();
    let (kept, dims) = (out.dims().len(), x.shape.dims());
    let rows = dims.try_numel_of(op, 0..kept)?;
    let spatial = dims.try_numel_of(op, kept..dims.len())?;
    if spatial == 0 {
        return Err(Error::TooFewElements {
            op,
            axis: Some(kept),
            got: 0,
            min: 1,
        });
    }
    let flat = x.reshape_op((Dyn(rows), Dyn(spatial)));
    Ok(flat.reduce_op(r, Some(1), out))
}
