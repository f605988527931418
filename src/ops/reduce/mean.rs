//! `mean` and `mean_axis`: the arithmetic mean of all elements, or along one
//! axis (one fused kernel: the sum scaled by `1 / N`).

use super::ReduceOp;
use crate::autograd::Tracking;
use crate::backend::Device;
use crate::dtype::Dtype;
use crate::shape::{Error, RemoveAxis, Shape};
use crate::tensor::Tensor;

impl<S: Shape, E: Dtype, D: Device<E>, T: Tracking<E, D>> Tensor<S, E, D, T> {
    /// The mean of all elements, as a scalar tensor.
    ///
    /// Panics if the tensor is empty (a `Dyn` axis of size 0); see
    /// [`Tensor::try_mean`].
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let x = Tensor::<(u!(2), u!(2)), f32>::from_vec_static(vec![1.0, 2.0, 3.0, 6.0], &Cpu::default());
    /// assert_eq!(x.mean().item(), 3.0);
    /// ```
    #[track_caller]
    pub fn mean(self) -> Tensor<(), E, D, T> {
        self.try_mean().unwrap_or_else(|e| panic!("{e}"))
    }

    /// Fallible form of [`Tensor::mean`]: an empty tensor is
    /// [`Error::TooFewElements`].
    pub fn try_mean(self) -> Result<Tensor<(), E, D, T>, Error> {
        self.try_reduce_op("mean", ReduceOp::Mean, None, (), 1)
    }

    /// The mean along axis `I`, which is removed from the shape. An axis out
    /// of range does not compile; a `Dyn` axis of size 0 panics (see
    /// [`Tensor::try_mean_axis`]).
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let x = Tensor::<(Dyn, u!(2)), f32>::from_vec((Dyn(2), Default::default()), vec![1.0, 2.0, 3.0, 6.0], &Cpu::default());
    /// let per_feature: Tensor<(u!(2),), f32> = x.mean_axis::<0>();
    /// assert_eq!(per_feature.to_vec(), vec![2.0, 4.0]);
    /// ```
    #[track_caller]
    pub fn mean_axis<const I: usize>(self) -> Tensor<<S as RemoveAxis<I>>::Output, E, D, T>
    where
        S: RemoveAxis<I>,
    {
        self.try_mean_axis::<I>().unwrap_or_else(|e| panic!("{e}"))
    }

    /// Fallible form of [`Tensor::mean_axis`]: an empty axis is
    /// [`Error::TooFewElements`].
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let x: Tensor<(Dyn, u!(2)), f32> = Tensor::zeros((Dyn(0), Default::default()), &Cpu::default());
    /// let e = x.try_mean_axis::<0>().unwrap_err();
    /// assert_eq!(e.to_string(), "mean_axis: axis 0 has size 0, the reduction needs at least 1 element(s)");
    /// ```
    pub fn try_mean_axis<const I: usize>(
        self,
    ) -> Result<Tensor<<S as RemoveAxis<I>>::Output, E, D, T>, Error>
    where
        S: RemoveAxis<I>,
    {
        let shape = self.shape.remove_axis();
        self.try_reduce_op("mean_axis", ReduceOp::Mean, Some(I), shape, 1)
    }
}
