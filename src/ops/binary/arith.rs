//! `+ - * /` between tensors, with broadcasting, as methods (`add`,
//! `try_add`, ...) and operators.

use super::BinaryOp;
use crate::autograd::{Merge, Tracking};
use crate::backend::Device;
use crate::dtype::Dtype;
use crate::shape::{BroadcastShape, Error, Shape};
use crate::tensor::Tensor;

macro_rules! arith {
    ($($name:ident, $try_name:ident, $op:ident, $Trait:ident, $doc:literal;)*) => {
        // Inherent twins of the operators, for method chains and `try_` forms.
        #[allow(clippy::should_implement_trait)]
        impl<S: Shape, E: Dtype, D: Device<E>, T: Tracking<E, D>> Tensor<S, E, D, T> {$(
            #[doc = $doc]
            ///
            /// Shapes broadcast as in numpy (right-aligned; equal or 1). A
            /// static mismatch does not compile; a `Dyn` mismatch panics with
            /// the axis and both sizes (see the `try_` form).
            ///
            /// ```
            /// use typegrad::prelude::*;
            /// let dev = Cpu::default();
            /// let x: Tensor<(Dyn, u!(3)), f32> = Tensor::ones((Dyn(2), Default::default()), &dev);
            /// let bias = Tensor::<(u!(3),), f32>::from_vec_static(vec![1.0, 2.0, 3.0], &dev);
            #[doc = concat!("let y = x.", stringify!($name), "(bias); // (Dyn, U3)")]
            /// assert_eq!(y.dims().to_vec(), vec![2, 3]);
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
            #[doc = concat!("Fallible form of [`Tensor::", stringify!($name), "`]: a runtime broadcast mismatch is an [`Error`].")]
            pub fn $try_name<S2: Shape, T2: Tracking<E, D>>(self, rhs: Tensor<S2, E, D, T2>) -> Result<Tensor<S::Output, E, D, <T as Merge<T2>>::Output>, Error>
            where
                S: BroadcastShape<S2>,
                T: Merge<T2>,
                <T as Merge<T2>>::Output: Tracking<E, D>,
            {
                self.try_binary_op(BinaryOp::$op, rhs)
            }
        )*}
        $(
        impl<S, S2, E, D, T, T2> core::ops::$Trait<Tensor<S2, E, D, T2>> for Tensor<S, E, D, T>
        where
            S: Shape + BroadcastShape<S2>,
            S2: Shape,
            E: Dtype,
            D: Device<E>,
            T: Tracking<E, D> + Merge<T2>,
            T2: Tracking<E, D>,
            <T as Merge<T2>>::Output: Tracking<E, D>,
        {
            type Output = Tensor<S::Output, E, D, <T as Merge<T2>>::Output>;
            #[track_caller]
            fn $name(self, rhs: Tensor<S2, E, D, T2>) -> Self::Output {
                Tensor::$name(self, rhs)
            }
        }
        )*
    };
}
arith! {
    add, try_add, Add, Add, "Elementwise `self + rhs`.";
    sub, try_sub, Sub, Sub, "Elementwise `self - rhs`.";
    mul, try_mul, Mul, Mul, "Elementwise `self · rhs`.";
    div, try_div, Div, Div, "Elementwise `self / rhs`.";
}
