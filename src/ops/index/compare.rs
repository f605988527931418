//! Elementwise comparisons producing `bool` masks: `gt ge lt le eq_ ne_`
//! between tensors of one shape, and their `_scalar` forms. Not
//! differentiable: they read any tensor (tracked or not) by reference and
//! return an untracked mask.

use super::CmpOp;
use crate::backend::Device;
use crate::dtype::Dtype;
use crate::shape::{DimsAgree, Error, SameShape, Shape};
use crate::tensor::Tensor;

impl<S: Shape, E: Dtype, D: Device<E>, T> Tensor<S, E, D, T> {
    fn try_compare<S2: SameShape<S, G, X>, T2, G, X>(
        &self,
        op: CmpOp,
        name: &'static str,
        rhs: &Tensor<S2, E, D, T2>,
    ) -> Result<Tensor<S, bool, D>, Error> {
        rhs.shape
            .check_same_shape(&self.shape, name, "rhs vs self")?;
        let m = self.device.compare(op, &self.data, &rhs.data);
        Ok(Tensor::<S, bool, D>::from_storage(
            self.shape,
            m,
            self.device.clone(),
        ))
    }

    fn compare_with(&self, op: CmpOp, v: E) -> Tensor<S, bool, D> {
        let m = self.device.compare_scalar(op, &self.data, v);
        Tensor::<S, bool, D>::from_storage(self.shape, m, self.device.clone())
    }
}

macro_rules! compare_methods {
    ($($name:ident, $try_name:ident, $scalar:ident, $op:ident, $sym:literal, $ex:literal;)*) => {
        impl<S: Shape, E: Dtype, D: Device<E>, T> Tensor<S, E, D, T> {$(
            #[doc = concat!("The mask `self ", $sym, " rhs`, elementwise (IEEE rules for NaN).")]
            ///
            /// The shapes must agree ([`SameShape`]: `rhs` may have `Dyn`
            /// where `self` is static or the reverse; static dims that differ
            /// do not compile).
            ///
            /// Not differentiable: the result is an untracked `bool` tensor.
            /// A `Dyn` size mismatch panics with the axis and both sizes (see
            #[doc = concat!("[`Tensor::", stringify!($try_name), "`]).")]
            ///
            /// ```
            /// use typegrad::prelude::*;
            /// let dev = Cpu::default();
            /// let a = Tensor::<(u!(3),), f32>::from_vec_static(vec![1.0, 2.0, 3.0], &dev);
            /// let b = Tensor::<(u!(3),), f32>::from_vec_static(vec![2.0, 2.0, 2.0], &dev);
            #[doc = concat!("assert_eq!(a.", stringify!($name), "(&b).to_vec(), vec!", $ex, ");")]
            /// ```
            #[track_caller]
            pub fn $name<S2: SameShape<S, G, X>, T2, G: DimsAgree<X>, X>(&self, rhs: &Tensor<S2, E, D, T2>) -> Tensor<S, bool, D> {
                self.$try_name(rhs).unwrap_or_else(|e| panic!("{e}"))
            }

            #[doc = concat!("Fallible form of [`Tensor::", stringify!($name), "`]: a `Dyn` size mismatch is an [`Error::DimMismatch`].")]
            ///
            /// ```
            /// use typegrad::prelude::*;
            /// let dev = Cpu::default();
            /// let a: Tensor<(Dyn,), f32> = Tensor::zeros((Dyn(2),), &dev);
            /// let b: Tensor<(Dyn,), f32> = Tensor::zeros((Dyn(3),), &dev);
            #[doc = concat!("assert!(a.", stringify!($try_name), "(&b).is_err());")]
            /// ```
            pub fn $try_name<S2: SameShape<S, G, X>, T2, G: DimsAgree<X>, X>(&self, rhs: &Tensor<S2, E, D, T2>) -> Result<Tensor<S, bool, D>, Error> {
                self.try_compare(CmpOp::$op, stringify!($name), rhs)
            }

            #[doc = concat!("The mask `self ", $sym, " v`, elementwise (IEEE rules for NaN). Not differentiable.")]
            ///
            /// ```
            /// use typegrad::prelude::*;
            /// let a = Tensor::<(u!(3),), f32>::from_vec_static(vec![1.0, 2.0, 3.0], &Cpu::default());
            #[doc = concat!("assert_eq!(a.", stringify!($scalar), "(2.0).to_vec(), vec!", $ex, ");")]
            /// ```
            pub fn $scalar(&self, v: E) -> Tensor<S, bool, D> {
                self.compare_with(CmpOp::$op, v)
            }
        )*}
    };
}

compare_methods! {
    gt, try_gt, gt_scalar, Gt, ">", "[false, false, true]";
    ge, try_ge, ge_scalar, Ge, ">=", "[false, true, true]";
    lt, try_lt, lt_scalar, Lt, "<", "[true, false, false]";
    le, try_le, le_scalar, Le, "<=", "[true, true, false]";
    eq_, try_eq, eq_scalar, Eq, "==", "[false, true, false]";
    ne_, try_ne, ne_scalar, Ne, "!=", "[true, false, true]";
}
