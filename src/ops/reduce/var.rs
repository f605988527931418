//! Variance: `var` / `var_axis` (population, divide by `N`) and
//! `var_unbiased` / `var_axis_unbiased` (Bessel's correction, divide by
//! `N - 1`).
//!
//! **Semantics.** The plain forms are the *population* variance
//! `Σ (x - mean)² / N`: what layer norm and batch norm normalise by, and
//! numpy's default (`ddof=0`), `torch.var(x, unbiased=False)`. Note that
//! `torch.var`'s own default is the unbiased estimate; use the `_unbiased`
//! forms for it (e.g. batch norm's running variance).
//!
//! Each is one fused kernel (two passes over the data: mean, then squared
//! deviations, so no catastrophic cancellation) with its own backward
//! `gx = 2 (x - mean) / (N - correction) · gy`.

use super::ReduceOp;
use crate::autograd::Tracking;
use crate::backend::Device;
use crate::dtype::Dtype;
use crate::shape::{Error, RemoveAxis, Shape};
use crate::tensor::Tensor;

const POPULATION: ReduceOp = ReduceOp::Var { correction: 0 };
const UNBIASED: ReduceOp = ReduceOp::Var { correction: 1 };

impl<S: Shape, E: Dtype, D: Device<E>, T: Tracking<E, D>> Tensor<S, E, D, T> {
    /// The population variance of all elements, `Σ (x - mean)² / N`.
    ///
    /// Panics if the tensor is empty; see [`Tensor::try_var`].
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let x = Tensor::<(u!(4),), f64>::from_vec_static(vec![1.0, 2.0, 3.0, 6.0], &Cpu::default());
    /// assert_eq!(x.clone().var().item(), 3.5); // mean 3: (4 + 1 + 0 + 9) / 4
    /// assert!((x.var_unbiased().item() - 14.0 / 3.0).abs() < 1e-12);
    /// ```
    #[track_caller]
    pub fn var(self) -> Tensor<(), E, D, T> {
        self.try_var().unwrap_or_else(|e| panic!("{e}"))
    }

    /// Fallible form of [`Tensor::var`]: an empty tensor is
    /// [`Error::TooFewElements`].
    pub fn try_var(self) -> Result<Tensor<(), E, D, T>, Error> {
        self.try_reduce_op("var", POPULATION, None, (), 1)
    }

    /// The unbiased variance of all elements, `Σ (x - mean)² / (N - 1)`
    /// (`torch.var`'s default).
    ///
    /// Panics with fewer than two elements; see [`Tensor::try_var_unbiased`].
    #[track_caller]
    pub fn var_unbiased(self) -> Tensor<(), E, D, T> {
        self.try_var_unbiased().unwrap_or_else(|e| panic!("{e}"))
    }

    /// Fallible form of [`Tensor::var_unbiased`]: fewer than two elements is
    /// [`Error::TooFewElements`].
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let x = Tensor::<(u!(1),), f32>::from_vec_static(vec![1.0], &Cpu::default());
    /// assert!(x.try_var_unbiased().is_err());
    /// ```
    pub fn try_var_unbiased(self) -> Result<Tensor<(), E, D, T>, Error> {
        self.try_reduce_op("var_unbiased", UNBIASED, None, (), 2)
    }

    /// The population variance along axis `I` (divide by the axis size),
    /// which is removed from the shape: the statistic layer norm uses.
    ///
    /// An axis out of range does not compile; a `Dyn` axis of size 0 panics
    /// (see [`Tensor::try_var_axis`]).
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let x = Tensor::<(u!(2), u!(2)), f32>::from_vec_static(vec![1.0, 3.0, 5.0, 5.0], &Cpu::default());
    /// let per_row: Tensor<(u!(2),), f32> = x.var_axis::<1>();
    /// assert_eq!(per_row.to_vec(), vec![1.0, 0.0]);
    /// ```
    #[track_caller]
    pub fn var_axis<const I: usize>(self) -> Tensor<<S as RemoveAxis<I>>::Output, E, D, T>
    where
        S: RemoveAxis<I>,
    {
        self.try_var_axis::<I>().unwrap_or_else(|e| panic!("{e}"))
    }

    /// Fallible form of [`Tensor::var_axis`]: an empty axis is
    /// [`Error::TooFewElements`].
    pub fn try_var_axis<const I: usize>(
        self,
    ) -> Result<Tensor<<S as RemoveAxis<I>>::Output, E, D, T>, Error>
    where
        S: RemoveAxis<I>,
    {
        let shape = self.shape.remove_axis();
        self.try_reduce_op("var_axis", POPULATION, Some(I), shape, 1)
    }

    /// The unbiased variance along axis `I` (divide by the axis size minus
    /// one), which is removed from the shape.
    ///
    /// An axis out of range does not compile; a `Dyn` axis of size below 2
    /// panics (see [`Tensor::try_var_axis_unbiased`]).
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let x = Tensor::<(u!(2), u!(2)), f32>::from_vec_static(vec![1.0, 3.0, 5.0, 5.0], &Cpu::default());
    /// assert_eq!(x.var_axis_unbiased::<1>().to_vec(), vec![2.0, 0.0]);
    /// ```
    #[track_caller]
    pub fn var_axis_unbiased<const I: usize>(self) -> Tensor<<S as RemoveAxis<I>>::Output, E, D, T>
    where
        S: RemoveAxis<I>,
    {
        self.try_var_axis_unbiased::<I>()
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Fallible form of [`Tensor::var_axis_unbiased`]: an axis of size below
    /// 2 is [`Error::TooFewElements`].
    pub fn try_var_axis_unbiased<const I: usize>(
        self,
    ) -> Result<Tensor<<S as RemoveAxis<I>>::Output, E, D, T>, Error>
    where
        S: RemoveAxis<I>,
    {
        let shape = self.shape.remove_axis();
        self.try_reduce_op("var_axis_unbiased", UNBIASED, Some(I), shape, 2)
    }
}
