//! Pooling layers: [`MaxPool1d`], [`MaxPool2d`], [`AvgPool1d`],
//! [`AvgPool2d`], [`GlobalAvgPool1d`], [`GlobalAvgPool2d`]. Their window is
//! part of the type (zero-sized, or one `bool`), they hold no parameters,
//! and their forward is the tensor method of the same name (see
//! [`crate::ops::pool`]), generic over the tape.

use super::chain::{FeatureMap, Opaque};
use super::{Module, ParamMut, ParamPath, ParamRef, Params, Summary, SummaryRows};
use crate::autograd::Tracking;
use crate::backend::{Backend, Device};
use crate::dtype::Dtype;
use crate::ops::pool::{GlobalPoolShape, Pool1dShape, Pool2dShape};
use crate::shape::{Error, Shape};
use crate::tensor::Tensor;
use core::fmt;
use core::marker::PhantomData;
use typenum::{Unsigned, U0, U1};

/// No parameters; opaque to the feature-chain checks (pooling changes the
/// last axis by a size the chain check does not track).
macro_rules! no_params {
    ($name:ident < $($g:ident),* >) => {
        impl<$($g,)* E: Dtype, D: Backend> Params<E, D> for $name<$($g),*> {
            fn visit_params(&self, _: &mut ParamPath, _: &mut dyn FnMut(&ParamPath, ParamRef<'_, E, D>)) {}
            fn visit_params_mut(&mut self, _: &mut ParamPath, _: &mut dyn FnMut(&ParamPath, ParamMut<'_, E, D>)) {}
        }
        impl<$($g),*> FeatureMap for $name<$($g),*> {
            type Kind = Opaque;
        }
    };
}

/// `Clone`, `Copy`, `Debug`, `PartialEq` without bounds on the marker
/// type parameters.
macro_rules! marker_impls {
    ($name:ident < $($g:ident),* >) => {
        impl<$($g),*> Clone for $name<$($g),*> {
            fn clone(&self) -> Self {
                *self
            }
        }
        impl<$($g),*> Copy for $name<$($g),*> {}
        impl<$($g),*> PartialEq for $name<$($g),*> {
            fn eq(&self, other: &Self) -> bool {
                self.count_include_pad() == other.count_include_pad()
            }
        }
        impl<$($g: Unsigned),*> fmt::Debug for $name<$($g),*> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}(", stringify!($name))?;
                let names = ["kernel_size", "stride", "padding", "dilation"];
                let values = [$($g::USIZE),*];
                for (i, (n, v)) in names.iter().zip(values).enumerate() {
                    write!(f, "{}{n}={v}", if i > 0 { ", " } else { "" })?;
                }
                if let Some(c) = self.count_include_pad() {
                    write!(f, ", count_include_pad={c}")?;
                }
                write!(f, ")")
            }
        }
    };
}

macro_rules! max_pool {
    ($(#[$doc:meta])* $name:ident, $method:ident, $shape:ident) => {
        $(#[$doc])*
        pub struct $name<K, S = K, P = U0, L = U1>(PhantomData<fn() -> (K, S, P, L)>);

        impl<K, S, P, L> $name<K, S, P, L> {
            /// The layer (it has no state).
            pub const fn new() -> Self {
                $name(PhantomData)
            }
            fn count_include_pad(&self) -> Option<bool> {
                None
            }
        }
        impl<K, S, P, L> Default for $name<K, S, P, L> {
            fn default() -> Self {
                Self::new()
            }
        }
        marker_impls!($name<K, S, P, L>);
        no_params!($name<K, S, P, L>);

        impl<K, S, P, L, Sh, E, D, T> Module<Tensor<Sh, E, D, T>> for $name<K, S, P, L>
        where
            K: Unsigned,
            S: Unsigned,
            P: Unsigned,
            L: Unsigned,
            Sh: $shape<K, S, P, L>,
            E: Dtype,
            D: Device<E>,
            T: Tracking<E, D>,
        {
            type Output = Tensor<<Sh as $shape<K, S, P, L>>::Output, E, D, T>;
            fn forward(&self, x: Tensor<Sh, E, D, T>) -> Self::Output {
                x.$method::<K, S, P, L>()
            }
        }

        /// One row: the pooled shape by the forward's own rule and checks.
        impl<K, S, P, L, Sh, E, D> Summary<Sh, E, D> for $name<K, S, P, L>
        where
            K: Unsigned,
            S: Unsigned,
            P: Unsigned,
            L: Unsigned,
            Sh: $shape<K, S, P, L>,
            E: Dtype,
            D: Backend,
        {
            type Output = <Sh as $shape<K, S, P, L>>::Output;
            fn summarize(&self, input: Sh, rows: &mut SummaryRows) -> Result<Self::Output, Error> {
                pooled_row::<K, S, P, L, _>(stringify!($method), &input.dims(), rows)
            }
        }
    };
}

max_pool!(
    /// 1-D max pooling (PyTorch's `nn.MaxPool1d(K, S, P, L)`) of `(B, C, L)`
    /// or `(C, L)`: window `K`, stride `S` (default `K`), padding `P`
    /// (default 0, at most `K / 2`), dilation `L` (default 1). See
    /// [`Tensor::max_pool1d`].
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::nn::MaxPool1d;
    /// let x = Tensor::<(u!(1), u!(1), u!(6)), f32>::from_vec_static(vec![1., 4., 2., 0., 3., 5.], &Cpu::default());
    /// let y: Tensor<(u!(1), u!(1), u!(3)), f32> = MaxPool1d::<u!(2)>::new().forward(x);
    /// assert_eq!(y.to_vec(), vec![4., 2., 5.]);
    /// ```
    MaxPool1d,
    max_pool1d,
    Pool1dShape
);

max_pool!(
    /// 2-D max pooling (PyTorch's `nn.MaxPool2d(K, S, P, L)`) of
    /// `(B, C, H, W)` or `(C, H, W)` with a square window `K`, stride `S`
    /// (default `K`), padding `P` (default 0, at most `K / 2`), dilation
    /// `L` (default 1). See [`Tensor::max_pool2d`]. A window larger than a
    /// static padded input does not compile.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::nn::MaxPool2d;
    /// let x: Tensor<(Dyn, u!(6), u!(28), u!(28)), f32> = Tensor::zeros((Dyn(2), Default::default(), Default::default(), Default::default()), &Cpu::default());
    /// let y: Tensor<(Dyn, u!(6), u!(14), u!(14)), f32> = MaxPool2d::<u!(2)>::default().forward(x);
    /// // Overlapping windows, as in AlexNet and the ResNet stem:
    /// let z: Tensor<(Dyn, u!(6), u!(7), u!(7)), f32> = MaxPool2d::<u!(3), u!(2), u!(1)>::new().forward(y);
    /// ```
    MaxPool2d,
    max_pool2d,
    Pool2dShape
);

macro_rules! avg_pool {
    ($(#[$doc:meta])* $name:ident, $method:ident, $shape:ident) => {
        $(#[$doc])*
        pub struct $name<K, S = K, P = U0> {
            /// Divide each window by its full size (`true`, PyTorch's
            /// default) or by the number of input elements in it.
            pub count_include_pad: bool,
            _window: PhantomData<fn() -> (K, S, P)>,
        }

        impl<K, S, P> $name<K, S, P> {
            /// The layer with `count_include_pad = true` (PyTorch's default).
            pub const fn new() -> Self {
                Self::with_count_include_pad(true)
            }
            /// The layer with the given `count_include_pad`.
            pub const fn with_count_include_pad(count_include_pad: bool) -> Self {
                $name {
                    count_include_pad,
                    _window: PhantomData,
                }
            }
            fn count_include_pad(&self) -> Option<bool> {
                Some(self.count_include_pad)
            }
        }
        impl<K, S, P> Default for $name<K, S, P> {
            /// `count_include_pad = true`, as PyTorch.
            fn default() -> Self {
                Self::new()
            }
        }
        marker_impls!($name<K, S, P>);
        no_params!($name<K, S, P>);

        impl<K, S, P, Sh, E, D, T> Module<Tensor<Sh, E, D, T>> for $name<K, S, P>
        where
            K: Unsigned,
            S: Unsigned,
            P: Unsigned,
            Sh: $shape<K, S, P, U1>,
            E: Dtype,
            D: Device<E>,
            T: Tracking<E, D>,
        {
            type Output = Tensor<<Sh as $shape<K, S, P, U1>>::Output, E, D, T>;
            fn forward(&self, x: Tensor<Sh, E, D, T>) -> Self::Output {
                x.$method::<K, S, P>(self.count_include_pad)
            }
        }

        /// One row: the pooled shape by the forward's own rule and checks.
        impl<K, S, P, Sh, E, D> Summary<Sh, E, D> for $name<K, S, P>
        where
            K: Unsigned,
            S: Unsigned,
            P: Unsigned,
            Sh: $shape<K, S, P, U1>,
            E: Dtype,
            D: Backend,
        {
            type Output = <Sh as $shape<K, S, P, U1>>::Output;
            fn summarize(&self, input: Sh, rows: &mut SummaryRows) -> Result<Self::Output, Error> {
                pooled_row::<K, S, P, U1, _>(stringify!($method), &input.dims(), rows)
            }
        }
    };
}

avg_pool!(
    /// 1-D average pooling (PyTorch's `nn.AvgPool1d(K, S, P,
    /// count_include_pad=...)`) of `(B, C, L)` or `(C, L)`: window `K`,
    /// stride `S` (default `K`), zero padding `P` (default 0, at most
    /// `K / 2`). See [`Tensor::avg_pool1d`].
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::nn::AvgPool1d;
    /// let x = Tensor::<(u!(1), u!(4)), f64>::from_vec_static(vec![1., 3., 5., 7.], &Cpu::default());
    /// let pool = AvgPool1d::<u!(2), u!(2), u!(1)>::with_count_include_pad(false);
    /// assert_eq!(pool.forward(x).to_vec(), vec![1., 4., 7.]);
    /// ```
    AvgPool1d,
    avg_pool1d,
    Pool1dShape
);

avg_pool!(
    /// 2-D average pooling (PyTorch's `nn.AvgPool2d(K, S, P,
    /// count_include_pad=...)`) of `(B, C, H, W)` or `(C, H, W)` with a
    /// square window `K`, stride `S` (default `K`), zero padding `P`
    /// (default 0, at most `K / 2`). See [`Tensor::avg_pool2d`].
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::nn::AvgPool2d;
    /// let x = Tensor::<(u!(1), u!(2), u!(2)), f32>::from_vec_static(vec![1., 2., 3., 4.], &Cpu::default());
    /// let y: Tensor<(u!(1), u!(1), u!(1)), f32> = AvgPool2d::<u!(2)>::default().forward(x);
    /// assert_eq!(y.to_vec(), vec![2.5]);
    /// ```
    AvgPool2d,
    avg_pool2d,
    Pool2dShape
);

macro_rules! global_pool {
    ($(#[$doc:meta])* $name:ident, $method:ident, $n:literal) => {
        $(#[$doc])*
        #[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
        pub struct $name;

        impl<E: Dtype, D: Backend> Params<E, D> for $name {
            fn visit_params(&self, _: &mut ParamPath, _: &mut dyn FnMut(&ParamPath, ParamRef<'_, E, D>)) {}
            fn visit_params_mut(&mut self, _: &mut ParamPath, _: &mut dyn FnMut(&ParamPath, ParamMut<'_, E, D>)) {}
        }
        impl FeatureMap for $name {
            type Kind = Opaque;
        }

        impl<Sh: GlobalPoolShape<$n>, E: Dtype, D: Device<E>, T: Tracking<E, D>> Module<Tensor<Sh, E, D, T>> for $name {
            type Output = Tensor<<Sh as GlobalPoolShape<$n>>::Output, E, D, T>;
            fn forward(&self, x: Tensor<Sh, E, D, T>) -> Self::Output {
                x.$method()
            }
        }

        /// One row: the kept leading axes.
        impl<Sh: GlobalPoolShape<$n>, E: Dtype, D: Backend> Summary<Sh, E, D> for $name {
            type Output = <Sh as GlobalPoolShape<$n>>::Output;
            fn summarize(&self, input: Sh, rows: &mut SummaryRows) -> Result<Self::Output, Error> {
                Ok(rows.row(0, input.global_pool_shape()))
            }
        }
    };
}

global_pool!(
    /// Global average pooling over the length: `(B, C, L) -> (B, C)`, `(C,
    /// L) -> (C,)` ([`Tensor::global_avg_pool1d`]; PyTorch's
    /// `nn.AdaptiveAvgPool1d(1)` followed by a flatten).
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::nn::GlobalAvgPool1d;
    /// let x = Tensor::<(u!(2), u!(2)), f32>::from_vec_static(vec![1., 3., 5., 9.], &Cpu::default());
    /// assert_eq!(GlobalAvgPool1d.forward(x).to_vec(), vec![2., 7.]);
    /// ```
    GlobalAvgPool1d,
    global_avg_pool1d,
    1
);

global_pool!(
    /// Global average pooling over height and width: `(B, C, H, W) -> (B,
    /// C)`, `(C, H, W) -> (C,)` ([`Tensor::global_avg_pool2d`]; PyTorch's
    /// `nn.AdaptiveAvgPool2d(1)` followed by a flatten, as at the end of a
    /// ResNet).
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::nn::GlobalAvgPool2d;
    /// let x: Tensor<(Dyn, u!(512), u!(7), u!(7)), f32> = Tensor::ones((Dyn(2), Default::default(), Default::default(), Default::default()), &Cpu::default());
    /// let y: Tensor<(Dyn, u!(512)), f32> = GlobalAvgPool2d.forward(x);
    /// assert_eq!(y.to_vec(), vec![1.0; 1024]);
    /// ```
    GlobalAvgPool2d,
    global_avg_pool2d,
    2
);

/// The summary row of a pooling layer: the output dims computed and
/// checked as the forward does (`geometry`), converted to the typed shape.
fn pooled_row<K: Unsigned, S: Unsigned, P: Unsigned, L: Unsigned, Out: Shape>(
    op: &'static str,
    dims: &crate::shape::Dims,
    rows: &mut SummaryRows,
) -> Result<Out, Error> {
    let spatial = if op.ends_with("1d") { 1 } else { 2 };
    let w = crate::ops::pool::Window {
        kernel: K::USIZE,
        stride: S::USIZE,
        padding: P::USIZE,
        dilation: L::USIZE,
    };
    let (_, out) = crate::ops::pool::geometry(op, dims, spatial, w)?;
    rows.row_from_dims(0, &out)
}
