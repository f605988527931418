//! `max`, `min`, `max_axis`, `min_axis`: the largest or smallest element.
//!
//! The gradient is shared equally among tied extremes (like `torch.amax`):
//! for `max([1, 3, 3])` each 3 gets half of the output gradient. NaN
//! propagates: the max of a slice holding a NaN is NaN.

use super::ReduceOp;
use crate::autograd::Tracking;
use crate::backend::Device;
use crate::dtype::Dtype;
use crate::shape::{Error, RemoveAxis, Shape};
use crate::tensor::Tensor;

macro_rules! extreme {
    ($($name:ident, $try_name:ident, $axis:ident, $try_axis:ident, $op:ident, $word:literal, $v:literal, $g:literal, $va:literal;)*) => {
        impl<S: Shape, E: Dtype, D: Device<E>, T: Tracking<E, D>> Tensor<S, E, D, T> {$(
            #[doc = concat!("The ", $word, " of all elements, as a scalar tensor; ties share the gradient equally.")]
            ///
            #[doc = concat!("Panics if the tensor is empty; see [`Tensor::", stringify!($try_name), "`].")]
            ///
            /// ```
            /// use typegrad::prelude::*;
            /// let x = Tensor::<(u!(2), u!(2)), f64>::from_vec_static(vec![1.0, 4.0, -2.0, 4.0], &Cpu::default());
            #[doc = concat!("assert_eq!(x.clone().", stringify!($name), "().item(), ", $v, ");")]
            #[doc = concat!("let g = x.clone().trace().", stringify!($name), "().backward();")]
            #[doc = concat!("assert_eq!(g.get(&x).unwrap().to_vec(), vec!", $g, ");")]
            /// ```
            #[track_caller]
            pub fn $name(self) -> Tensor<(), E, D, T> {
                self.$try_name().unwrap_or_else(|e| panic!("{e}"))
            }

            #[doc = concat!("Fallible form of [`Tensor::", stringify!($name), "`]: an empty tensor is [`Error::TooFewElements`].")]
            pub fn $try_name(self) -> Result<Tensor<(), E, D, T>, Error> {
                self.try_reduce_op(stringify!($name), ReduceOp::$op, None, (), 1)
            }

            #[doc = concat!("The ", $word, " along axis `I`, which is removed from the shape; ties share the gradient equally.")]
            ///
            #[doc = concat!("An axis out of range does not compile; a `Dyn` axis of size 0 panics (see [`Tensor::", stringify!($try_axis), "`]).")]
            ///
            /// ```
            /// use typegrad::prelude::*;
            /// let x = Tensor::<(u!(2), u!(3)), f32>::from_vec_static(vec![1.0, 5.0, 2.0, -1.0, 0.0, 3.0], &Cpu::default());
            #[doc = concat!("let y: Tensor<(u!(2),), f32> = x.", stringify!($axis), "::<1>();")]
            #[doc = concat!("assert_eq!(y.to_vec(), vec!", $va, ");")]
            /// ```
            #[track_caller]
            pub fn $axis<const I: usize>(self) -> Tensor<<S as RemoveAxis<I>>::Output, E, D, T>
            where
                S: RemoveAxis<I>,
            {
                self.$try_axis::<I>().unwrap_or_else(|e| panic!("{e}"))
            }

            #[doc = concat!("Fallible form of [`Tensor::", stringify!($axis), "`]: an empty axis is [`Error::TooFewElements`].")]
            pub fn $try_axis<const I: usize>(self) -> Result<Tensor<<S as RemoveAxis<I>>::Output, E, D, T>, Error>
            where
                S: RemoveAxis<I>,
            {
                let shape = self.shape.remove_axis();
                self.try_reduce_op(stringify!($axis), ReduceOp::$op, Some(I), shape, 1)
            }
        )*}
    };
}

extreme! {
    max, try_max, max_axis, try_max_axis, Max, "maximum", "4.0", "[0.0, 0.5, 0.0, 0.5]", "[5.0, 3.0]";
    min, try_min, min_axis, try_min_axis, Min, "minimum", "-2.0", "[0.0, 0.0, 1.0, 0.0]", "[1.0, -1.0]";
}
