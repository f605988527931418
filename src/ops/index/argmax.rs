//! `argmax` / `argmin`: the index of the largest / smallest element, along
//! one axis or over the whole tensor, as `usize` tensors (for accuracy,
//! greedy decoding). Not differentiable.

use crate::backend::Device;
use crate::dtype::Dtype;
use crate::shape::{Error, RemoveAxis, Shape};
use crate::tensor::Tensor;

impl<S: Shape, E: Dtype, D: Device<E>, T> Tensor<S, E, D, T> {
    fn try_arg_axis<const I: usize>(
        &self,
        largest: bool,
    ) -> Result<Tensor<<S as RemoveAxis<I>>::Output, usize, D>, Error>
    where
        S: RemoveAxis<I>,
    {
        let idx = self
            .device
            .arg_extreme(&self.data, &self.shape.dims(), I, largest)?;
        Ok(Tensor::<_, usize, D>::from_storage(
            self.shape.remove_axis(),
            idx,
            self.device.clone(),
        ))
    }

    fn try_arg_all(&self, largest: bool) -> Result<Tensor<(), usize, D>, Error> {
        let idx = self
            .device
            .arg_extreme(&self.data, &[self.numel()], 0, largest)
            .map_err(|e| match e {
                Error::TooFewElements { op, got, min, .. } => Error::TooFewElements {
                    op,
                    axis: None,
                    got,
                    min,
                },
                e => e,
            })?;
        Ok(Tensor::<(), usize, D>::from_storage(
            (),
            idx,
            self.device.clone(),
        ))
    }

    /// The index of the largest element along axis `I` (which is removed).
    /// Ties go to the first index; NaN counts as the largest (the first NaN
    /// wins), as in PyTorch. Not differentiable.
    ///
    /// Panics if axis `I` is empty while other axes are not (see
    /// [`Tensor::try_argmax_axis`]).
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let dev = Cpu::default();
    /// let logits = Tensor::<(Dyn, u!(3)), f32>::from_vec((Dyn(2), Default::default()), vec![0.1, 0.7, 0.2, 0.9, 0.0, 0.1], &dev);
    /// let pred = logits.argmax_axis::<1>(); // Tensor<(Dyn,), usize>
    /// assert_eq!(pred.to_vec(), vec![1, 0]);
    /// let targets = Tensor::<(Dyn,), usize>::from_vec((Dyn(2),), vec![1, 2], &dev);
    /// let correct = pred.to_vec().iter().zip(targets.to_vec()).filter(|(p, t)| **p == *t).count();
    /// assert_eq!(correct, 1);
    /// ```
    #[track_caller]
    pub fn argmax_axis<const I: usize>(&self) -> Tensor<<S as RemoveAxis<I>>::Output, usize, D>
    where
        S: RemoveAxis<I>,
    {
        self.try_argmax_axis::<I>()
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Fallible form of [`Tensor::argmax_axis`]: an empty axis `I` (with a
    /// non-empty result) is an [`Error::TooFewElements`].
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let x: Tensor<(u!(2), Dyn), f32> = Tensor::zeros((Default::default(), Dyn(0)), &Cpu::default());
    /// let err = x.try_argmax_axis::<1>().unwrap_err();
    /// assert_eq!(err.to_string(), "argmax: axis 1 has size 0, the reduction needs at least 1 element(s)");
    /// ```
    pub fn try_argmax_axis<const I: usize>(
        &self,
    ) -> Result<Tensor<<S as RemoveAxis<I>>::Output, usize, D>, Error>
    where
        S: RemoveAxis<I>,
    {
        self.try_arg_axis::<I>(true)
    }

    /// The index of the smallest element along axis `I` (which is removed).
    /// Ties go to the first index; NaN counts as the smallest (the first NaN
    /// wins). Not differentiable. Panics on an empty axis (see
    /// [`Tensor::try_argmin_axis`]).
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let x = Tensor::<(u!(2), u!(2)), f64>::from_vec_static(vec![3.0, 1.0, 1.0, 3.0], &Cpu::default());
    /// assert_eq!(x.argmin_axis::<0>().to_vec(), vec![1, 0]);
    /// ```
    #[track_caller]
    pub fn argmin_axis<const I: usize>(&self) -> Tensor<<S as RemoveAxis<I>>::Output, usize, D>
    where
        S: RemoveAxis<I>,
    {
        self.try_argmin_axis::<I>()
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Fallible form of [`Tensor::argmin_axis`].
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let x: Tensor<(Dyn, u!(2)), f32> = Tensor::zeros((Dyn(0), Default::default()), &Cpu::default());
    /// assert!(x.try_argmin_axis::<0>().is_err());
    /// ```
    pub fn try_argmin_axis<const I: usize>(
        &self,
    ) -> Result<Tensor<<S as RemoveAxis<I>>::Output, usize, D>, Error>
    where
        S: RemoveAxis<I>,
    {
        self.try_arg_axis::<I>(false)
    }

    /// The flat (row-major) index of the largest element. Ties go to the
    /// first; NaN counts as the largest. Panics on an empty tensor (see
    /// [`Tensor::try_argmax`]).
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let x = Tensor::<(u!(2), u!(2)), f32>::from_vec_static(vec![0.0, 5.0, 7.0, 1.0], &Cpu::default());
    /// assert_eq!(x.argmax().item(), 2);
    /// ```
    #[track_caller]
    pub fn argmax(&self) -> Tensor<(), usize, D> {
        self.try_argmax().unwrap_or_else(|e| panic!("{e}"))
    }

    /// Fallible form of [`Tensor::argmax`]: an empty tensor is an
    /// [`Error::TooFewElements`].
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let x: Tensor<(Dyn,), f32> = Tensor::zeros((Dyn(0),), &Cpu::default());
    /// assert!(x.try_argmax().is_err());
    /// ```
    pub fn try_argmax(&self) -> Result<Tensor<(), usize, D>, Error> {
        self.try_arg_all(true)
    }

    /// The flat (row-major) index of the smallest element. Ties go to the
    /// first; NaN counts as the smallest. Panics on an empty tensor (see
    /// [`Tensor::try_argmin`]).
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let x = Tensor::<(u!(3),), f32>::from_vec_static(vec![2.0, -1.0, -1.0], &Cpu::default());
    /// assert_eq!(x.argmin().item(), 1);
    /// ```
    #[track_caller]
    pub fn argmin(&self) -> Tensor<(), usize, D> {
        self.try_argmin().unwrap_or_else(|e| panic!("{e}"))
    }

    /// Fallible form of [`Tensor::argmin`].
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let x: Tensor<(Dyn,), f32> = Tensor::zeros((Dyn(0),), &Cpu::default());
    /// assert!(x.try_argmin().is_err());
    /// ```
    pub fn try_argmin(&self) -> Result<Tensor<(), usize, D>, Error> {
        self.try_arg_all(false)
    }
}
