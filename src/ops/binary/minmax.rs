//! `maximum` and `minimum`: elementwise max/min of two tensors.

use super::BinaryOp;
use crate::autograd::{Merge, Tracking};
use crate::backend::Device;
use crate::dtype::Dtype;
use crate::shape::{BroadcastShape, Error, Shape};
use crate::tensor::Tensor;

macro_rules! minmax_methods {
    ($($name:ident, $try_name:ident, $op:ident, $doc:literal;)*) => {
        impl<S: Shape, E: Dtype, D: Device<E>, T: Tracking<E, D>> Tensor<S, E, D, T> {$(
            #[doc = $doc]
            ///
            /// Broadcasts like `+`; on ties the gradient goes to `self`.
            ///
            /// ```
            /// use typegrad::prelude::*;
            /// let dev = Cpu::default();
            /// let a = Tensor::<(u!(2),), f32>::from_vec_static(vec![1.0, 5.0], &dev);
            /// let b = Tensor::<(u!(2),), f32>::from_vec_static(vec![3.0, 2.0], &dev);
            #[doc = concat!("let _ = a.", stringify!($name), "(b);")]
            /// ```
            #[track_caller]
            pub fn $name<S2: Shape, T2: Tracking<E, D>>(self, rhs: Tensor<S2, E, D, T2>) -> Tensor<S::Output, E, D, <T as Merge<T2>>::Output>
            where
                S: BroadcastShape<S2>,
                T: Merge<T2>,
                <T as Merge<T2>>::Output: Tracking<E, D>,
            {
                self.$try_name(rhs).unwrap_or_else(|e| panic!("{e}"))
            }
            #[doc = concat!("Fallible form of [`Tensor::", stringify!($name), "`].")]
            pub fn $try_name<S2: Shape, T2: Tracking<E, D>>(self, rhs: Tensor<S2, E, D, T2>) -> Result<Tensor<S::Output, E, D, <T as Merge<T2>>::Output>, Error>
            where
                S: BroadcastShape<S2>,
                T: Merge<T2>,
                <T as Merge<T2>>::Output: Tracking<E, D>,
            {
                self.try_binary_op(BinaryOp::$op, rhs)
            }
        )*}
    };
}
minmax_methods! {
    maximum, try_maximum, Maximum, "Elementwise `max(self, rhs)`.";
    minimum, try_minimum, Minimum, "Elementwise `min(self, rhs)`.";
}
