//! `sum` and `sum_axis`: the sum of all elements, or along one axis.

use super::ReduceOp;
use crate::autograd::Tracking;
use crate::backend::Device;
use crate::dtype::Dtype;
use crate::shape::{RemoveAxis, Shape};
use crate::tensor::Tensor;

impl<S: Shape, E: Dtype, D: Device<E>, T: Tracking<E, D>> Tensor<S, E, D, T> {
    /// The sum of all elements, as a scalar tensor (0 for an empty tensor).
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let x = Tensor::<(u!(2), u!(3)), f32>::from_vec_static(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &Cpu::default());
    /// let s: Tensor<(), f32> = x.sum();
    /// assert_eq!(s.item(), 21.0);
    /// ```
    pub fn sum(self) -> Tensor<(), E, D, T> {
        self.reduce_op(ReduceOp::Sum, None, ())
    }

    /// The sum along axis `I`, which is removed from the shape. An axis out
    /// of range does not compile.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let x = Tensor::<(u!(2), u!(3)), f32>::from_vec_static(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &Cpu::default());
    /// let cols: Tensor<(u!(3),), f32> = x.clone().sum_axis::<0>();
    /// let rows: Tensor<(u!(2),), f32> = x.sum_axis::<1>();
    /// assert_eq!(cols.to_vec(), vec![5.0, 7.0, 9.0]);
    /// assert_eq!(rows.to_vec(), vec![6.0, 15.0]);
    /// ```
    ///
    /// ```compile_fail
    /// use typegrad::prelude::*;
    /// let x: Tensor<(u!(2), u!(3)), f32> = Tensor::zeros(Default::default(), &Cpu::default());
    /// let _ = x.sum_axis::<2>(); // error: axis 2 is out of range for this shape
    /// ```
    pub fn sum_axis<const I: usize>(self) -> Tensor<<S as RemoveAxis<I>>::Output, E, D, T>
    where
        S: RemoveAxis<I>,
    {
        let shape = self.shape.remove_axis();
        self.reduce_op(ReduceOp::Sum, Some(I), shape)
    }
}
