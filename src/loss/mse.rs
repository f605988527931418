//! Mean squared error.

use super::check_same_dims;
use crate::autograd::{Merge, Tracking};
use crate::backend::Device;
use crate::dtype::Dtype;
use crate::shape::{DimsAgree, Dyn, Error, SameShape, Shape};
use crate::tensor::Tensor;

/// `mean((pred - target)²)` over all elements (PyTorch's `mse_loss` with
/// `reduction="mean"`). The prediction is taken by value and the target by
/// reference, as every loss (see the [module docs](super)). The target may
/// be tracked too (its gradient is `-2 (pred - target) / N`, recorded on
/// the merged tape); both must have the same dims (no
/// broadcasting: a `(B, 1)` prediction against a `(B,)` target is a
/// mistake that would broadcast silently). Panics on a runtime size
/// mismatch or an empty tensor; see [`try_mse_loss`].
///
/// ```
/// use typegrad::prelude::*;
/// use typegrad::loss::mse_loss;
/// let dev = Cpu::default();
/// let p = Tensor::<(u!(2), u!(2)), f64>::from_vec_static(vec![1.0, 2.0, 3.0, 4.0], &dev);
/// let t = Tensor::<(u!(2), u!(2)), f64>::from_vec_static(vec![1.0, 0.0, 3.0, 1.0], &dev);
/// let loss = mse_loss(p.clone().trace(), &t);
/// assert_eq!(loss.item(), (4.0 + 9.0) / 4.0);
/// let g = loss.backward().get(&p).unwrap(); // 2 (p - t) / 4
/// assert_eq!(g.to_vec(), vec![0.0, 1.0, 0.0, 1.5]);
/// ```
#[track_caller]
pub fn mse_loss<S, S2, E, D, T, T2, G: DimsAgree<X>, X>(
    pred: Tensor<S, E, D, T>,
    target: &Tensor<S2, E, D, T2>,
) -> Tensor<(), E, D, <T as Merge<T2>>::Output>
where
    S: Shape,
    S2: SameShape<S, G, X>,
    E: Dtype,
    D: Device<E>,
    T: Tracking<E, D> + Merge<T2>,
    T2: Tracking<E, D>,
    <T as Merge<T2>>::Output: Tracking<E, D>,
{
    try_mse_loss(pred, target).unwrap_or_else(|e| panic!("{e}"))
}

/// Fallible form of [`mse_loss`]: dims that differ at run time are an
/// [`Error::DimMismatch`]; an empty tensor is an
/// [`Error::TooFewElements`] (PyTorch returns NaN).
///
/// ```
/// use typegrad::prelude::*;
/// use typegrad::loss::try_mse_loss;
/// let dev = Cpu::default();
/// let p: Tensor<(Dyn,), f32> = Tensor::zeros((Dyn(3),), &dev);
/// let t: Tensor<(Dyn,), f32> = Tensor::zeros((Dyn(4),), &dev);
/// let e = try_mse_loss(p, &t).unwrap_err();
/// assert_eq!(e.to_string(), "mse_loss: dimension mismatch on axis 0 (target vs prediction): got 4, expected 3");
/// ```
pub fn try_mse_loss<S, S2, E, D, T, T2, G: DimsAgree<X>, X>(
    pred: Tensor<S, E, D, T>,
    target: &Tensor<S2, E, D, T2>,
) -> Result<Tensor<(), E, D, <T as Merge<T2>>::Output>, Error>
where
    S: Shape,
    S2: SameShape<S, G, X>,
    E: Dtype,
    D: Device<E>,
    T: Tracking<E, D> + Merge<T2>,
    T2: Tracking<E, D>,
    <T as Merge<T2>>::Output: Tracking<E, D>,
{
    check_same_dims(
        "mse_loss",
        "target vs prediction",
        &target.dims(),
        &pred.dims(),
    )?;
    let n = pred.numel();
    if n == 0 {
        return Err(Error::TooFewElements {
            op: "mse_loss",
            axis: None,
            got: 0,
            min: 1,
        });
    }
    // Both viewed as (N,) (free: reshapes share storage), so no shape
    // bound leaks into the signature.
    let p = pred.reshape_to((Dyn(n),));
    let t = target.clone().reshape_to((Dyn(n),));
    p.try_sub(t)?.square().try_mean()
}
