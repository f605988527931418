//! Triplet margin loss (metric learning: an anchor should be nearer to a
//! positive example than to a negative one by a margin).

use super::{check_same_dims, LastAxis};
use crate::autograd::{Merge, Tracking};
use crate::backend::Device;
use crate::dtype::Dtype;
use crate::shape::{Dyn, Error, Shape};
use crate::tensor::Tensor;

/// PyTorch's `eps` in `pairwise_distance`: added to the difference before
/// the norm, so the gradient exists when two embeddings coincide.
const EPS: f64 = 1e-6;

/// `mean(max(0, d(a, p) - d(a, n) + margin))` over the triples, with the
/// Euclidean distance over the last axis `d(x, y) = ‖x - y + ε‖₂`,
/// `ε = 1e-6` (PyTorch's `triplet_margin_loss` with `p = 2`, `swap =
/// false`, `reduction = "mean"`). Embeddings have shape `(.., F)`: `(F,)`
/// for one triple, `(B, F)` for a batch; all three have the same shape and
/// the same tape type. At `d(a, p) - d(a, n) + margin = 0` the gradient is
/// taken from the active side, as PyTorch's `clamp_min`. Panics on a
/// runtime size mismatch or an empty batch; see [`try_triplet_margin_loss`].
///
/// ```
/// use typegrad::prelude::*;
/// use typegrad::loss::triplet_margin_loss;
/// let dev = Cpu::default();
/// let a = Tensor::<(Dyn, u!(2)), f64>::from_vec((Dyn(2), Default::default()), vec![0.0, 0.0, 0.0, 0.0], &dev);
/// let p = Tensor::<(Dyn, u!(2)), f64>::from_vec((Dyn(2), Default::default()), vec![3.0, 4.0, 1.0, 0.0], &dev);
/// let n = Tensor::<(Dyn, u!(2)), f64>::from_vec((Dyn(2), Default::default()), vec![1.0, 0.0, 3.0, 4.0], &dev);
/// // Triple 0: max(0, 5 - 1 + 1) = 5; triple 1: max(0, 1 - 5 + 1) = 0.
/// let loss = triplet_margin_loss(a, p, n, 1.0).item();
/// assert!((loss - 2.5).abs() < 1e-5);
/// ```
#[track_caller]
pub fn triplet_margin_loss<S, E, D, T>(
    anchor: Tensor<S, E, D, T>,
    positive: Tensor<S, E, D, T>,
    negative: Tensor<S, E, D, T>,
    margin: f64,
) -> Tensor<(), E, D, T>
where
    S: LastAxis,
    E: Dtype,
    D: Device<E>,
    T: Tracking<E, D> + Merge<T, Output = T>,
{
    try_triplet_margin_loss(anchor, positive, negative, margin).unwrap_or_else(|e| panic!("{e}"))
}

/// Fallible form of [`triplet_margin_loss`]: dims that differ at run time
/// are an [`Error::DimMismatch`], an empty batch an
/// [`Error::TooFewElements`].
///
/// ```
/// use typegrad::prelude::*;
/// use typegrad::loss::try_triplet_margin_loss;
/// let dev = Cpu::default();
/// let a: Tensor<(Dyn, Dyn), f32> = Tensor::zeros((Dyn(2), Dyn(3)), &dev);
/// let n: Tensor<(Dyn, Dyn), f32> = Tensor::zeros((Dyn(2), Dyn(4)), &dev);
/// let e = try_triplet_margin_loss(a.clone(), a, n, 1.0).unwrap_err();
/// assert_eq!(e.to_string(), "triplet_margin_loss: dimension mismatch on axis 1 (negative vs anchor): got 4, expected 3");
/// ```
pub fn try_triplet_margin_loss<S, E, D, T>(
    anchor: Tensor<S, E, D, T>,
    positive: Tensor<S, E, D, T>,
    negative: Tensor<S, E, D, T>,
    margin: f64,
) -> Result<Tensor<(), E, D, T>, Error>
where
    S: LastAxis,
    E: Dtype,
    D: Device<E>,
    T: Tracking<E, D> + Merge<T, Output = T>,
{
    const OP: &str = "triplet_margin_loss";
    let dims = anchor.dims();
    check_same_dims(OP, "positive vs anchor", &positive.dims(), &dims)?;
    check_same_dims(OP, "negative vs anchor", &negative.dims(), &dims)?;
    let (rest, f) = anchor.shape().split_last();
    let rows = rest.numel();
    if rows == 0 {
        return Err(Error::TooFewElements {
            op: OP,
            axis: None,
            got: 0,
            min: 1,
        });
    }
    // Viewed as (rows, F) (free), so no shape bound leaks into the signature.
    let sh = (Dyn(rows), Dyn(f));
    let a = anchor.reshape_to(sh);
    let d_ap = distance(a.clone(), positive.reshape_to(sh))?;
    let d_an = distance(a, negative.reshape_to(sh))?;
    d_ap.try_sub(d_an)?
        .add_scalar(E::from_f64(margin))
        .clamp(E::zero(), E::infinity())
        .try_mean()
}

/// `‖x - y + ε‖₂` along the last axis.
fn distance<E, D, T>(
    x: Tensor<(Dyn, Dyn), E, D, T>,
    y: Tensor<(Dyn, Dyn), E, D, T>,
) -> Result<Tensor<(Dyn,), E, D, T>, Error>
where
    E: Dtype,
    D: Device<E>,
    T: Tracking<E, D> + Merge<T, Output = T>,
{
    Ok(x.try_sub(y)?
        .add_scalar(E::from_f64(EPS))
        .square()
        .sum_axis::<1>()
        .sqrt())
}
