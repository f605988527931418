//! [`Flatten`]: keep the batch axis, multiply the others into one.

use super::{Module, ParamMut, ParamPath, ParamRef, Params};
use crate::autograd::Tracking;
use crate::backend::{Backend, Device};
use crate::dtype::Dtype;
use crate::shape::{Error, FlattenFrom, Shape};
use crate::tensor::Tensor;

/// PyTorch's `nn.Flatten()` (`start_dim = 1`): `(B, C, H, W)` becomes
/// `(B, C·H·W)` and `(B, C, L)` becomes `(B, C·L)`, the input of a linear
/// layer after convolutions. The product is computed in the type: static
/// when every factor is, `Dyn` when any is (its size then comes from the
/// input at run time). No data is copied; the backward passes the gradient
/// through. No parameters.
///
/// ```
/// use typegrad::prelude::*;
/// use typegrad::nn::{Flatten, Module};
/// let dev = Cpu::default();
/// let x: Tensor<(Dyn, u!(16), u!(5), u!(5))> =
///     Tensor::zeros((Dyn(8), Default::default(), Default::default(), Default::default()), &dev);
/// let y: Tensor<(Dyn, u!(400))> = Flatten.forward(x);
/// assert_eq!(&*y.dims(), &[8, 400]);
///
/// // A Dyn factor makes the product Dyn.
/// let x: Tensor<(u!(2), u!(3), Dyn)> = Tensor::zeros((Default::default(), Default::default(), Dyn(4)), &dev);
/// let y: Tensor<(u!(2), Dyn)> = Flatten.forward(x);
/// assert_eq!(&*y.dims(), &[2, 12]);
/// ```
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Flatten;

impl Flatten {
    /// Fallible forward: a product of `Dyn` dims that overflows `usize` is
    /// an [`Error::NumelOverflow`] instead of a panic.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::nn::Flatten;
    /// let x: Tensor<(Dyn, u!(4), u!(2))> = Tensor::ones((Dyn(3), Default::default(), Default::default()), &Cpu::default());
    /// assert_eq!(&*Flatten.try_forward(x).unwrap().dims(), &[3, 8]);
    /// ```
    pub fn try_forward<S, E, D, T>(
        &self,
        x: Tensor<S, E, D, T>,
    ) -> Result<Tensor<<S as FlattenFrom<1>>::Output, E, D, T>, Error>
    where
        S: FlattenFrom<1>,
        E: Dtype,
        D: Device<E>,
        T: Tracking<E, D>,
    {
        // Checked first: `flatten` panics on an overflowing product.
        let d = x.dims();
        d.try_numel_of("flatten", 1..d.len())?;
        Ok(x.flatten())
    }
}

impl<S, E, D, T> Module<Tensor<S, E, D, T>> for Flatten
where
    S: FlattenFrom<1>,
    E: Dtype,
    D: Device<E>,
    T: Tracking<E, D>,
{
    type Output = Tensor<<S as FlattenFrom<1>>::Output, E, D, T>;
    /// `(B, …) -> (B, product of the rest)`; panics if a product of `Dyn`
    /// dims overflows `usize` (see [`Flatten::try_forward`]).
    #[track_caller]
    fn forward(&self, x: Tensor<S, E, D, T>) -> Self::Output {
        self.try_forward(x).unwrap_or_else(|e| panic!("{e}"))
    }
}

/// No parameters.
impl<E: Dtype, D: Backend> Params<E, D> for Flatten {
    fn visit_params(&self, _: &mut ParamPath, _: &mut dyn FnMut(&ParamPath, ParamRef<'_, E, D>)) {}
    fn visit_params_mut(
        &mut self,
        _: &mut ParamPath,
        _: &mut dyn FnMut(&ParamPath, ParamMut<'_, E, D>),
    ) {
    }
}

/// The shape of `Flatten`'s output for an input shape (used by the model
/// summary): the input's runtime dims with axes `1..` multiplied.
pub(crate) fn flatten_shape<S: FlattenFrom<1>>(s: S) -> Result<S::Output, Error> {
    let d = s.dims();
    let mut out = [0usize; crate::shape::MAX_RANK];
    out[0] = d[0];
    out[1] = d.try_numel_of("flatten", 1..d.len())?;
    // `FlattenFrom<1>` exists for ranks 2 and up: the output has two axes.
    S::Output::try_from_dims(&out[..2])
}

/// The last axis becomes a product of several: opaque to the chain checks
/// (the next `Linear` checks its input itself).
impl super::chain::FeatureMap for Flatten {
    type Kind = super::chain::Opaque;
}
