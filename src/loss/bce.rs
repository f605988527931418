//! Binary cross-entropy on logits, fused (one kernel forward, one backward).

use super::check_same_dims;
use crate::autograd::{Merge, Tracking};
use crate::backend::Device;
use crate::dtype::Dtype;
use crate::shape::{DimsAgree, Error, SameShape, Shape};
use crate::tensor::{op_result, Tensor};

/// The mean binary cross-entropy of `logits` against `targets` in `[0, 1]`
/// (same shape; logits by value, targets by reference, as every loss),
/// PyTorch's `binary_cross_entropy_with_logits`: per element
///
/// `ℓ = -y·ln σ(x) - (1 - y)·ln(1 - σ(x)) = max(x, 0) - x·y + ln(1 + e^{-|x|})`,
///
/// evaluated in the second form, which never overflows (`x = ±1e4` gives
/// `0` or `1e4`, not NaN). Gradients: `(σ(x) - y) / N` for the logits
/// (`½ - y` at `x = 0`, exactly) and `-x / N` for the targets when they are
/// tracked. Panics on a runtime size mismatch or an empty tensor; see
/// [`try_binary_cross_entropy_with_logits`].
///
/// ```
/// use typegrad::prelude::*;
/// use typegrad::loss::binary_cross_entropy_with_logits;
/// let dev = Cpu::default();
/// let x = Tensor::<(u!(3),), f64>::from_vec_static(vec![0.0, 1e4, -1e4], &dev);
/// let y = Tensor::<(u!(3),), f64>::from_vec_static(vec![1.0, 1.0, 1.0], &dev);
/// let loss = binary_cross_entropy_with_logits(x.clone().trace(), &y);
/// assert!((loss.item() - (2f64.ln() + 0.0 + 1e4) / 3.0).abs() < 1e-9);
/// let g = loss.backward().get(&x).unwrap().to_vec(); // (σ(x) - 1) / 3
/// assert!((g[0] + 0.5 / 3.0).abs() < 1e-15 && g[1] == 0.0 && (g[2] + 1.0 / 3.0).abs() < 1e-15);
/// ```
#[track_caller]
pub fn binary_cross_entropy_with_logits<S, S2, E, D, T, T2, G: DimsAgree<X>, X>(
    logits: Tensor<S, E, D, T>,
    targets: &Tensor<S2, E, D, T2>,
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
    try_binary_cross_entropy_with_logits(logits, targets).unwrap_or_else(|e| panic!("{e}"))
}

/// Fallible form of [`binary_cross_entropy_with_logits`]: dims that differ
/// at run time are an [`Error::DimMismatch`], an empty tensor an
/// [`Error::TooFewElements`] (PyTorch returns NaN).
///
/// ```
/// use typegrad::prelude::*;
/// use typegrad::loss::try_binary_cross_entropy_with_logits;
/// let dev = Cpu::default();
/// let x: Tensor<(Dyn,), f32> = Tensor::zeros((Dyn(0),), &dev);
/// let e = try_binary_cross_entropy_with_logits(x.clone(), &x).unwrap_err();
/// assert_eq!(e.to_string(), "binary_cross_entropy_with_logits: the tensor has 0 elements, the reduction needs at least 1");
/// ```
pub fn try_binary_cross_entropy_with_logits<S, S2, E, D, T, T2, G: DimsAgree<X>, X>(
    logits: Tensor<S, E, D, T>,
    targets: &Tensor<S2, E, D, T2>,
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
    const OP: &str = "binary_cross_entropy_with_logits";
    check_same_dims(OP, "targets vs logits", &targets.dims(), &logits.dims())?;
    if logits.numel() == 0 {
        return Err(Error::TooFewElements {
            op: OP,
            axis: None,
            got: 0,
            min: 1,
        });
    }
    let loss = logits.device.bce_with_logits(&logits.data, &targets.data);
    let want = (T::TRACKED, T2::TRACKED);
    let (x, tx) = logits.split_tape();
    let (y, ty) = targets.clone().split_tape();
    let dev = x.device.clone();
    Ok(op_result(
        (),
        loss,
        dev.clone(),
        tx.merge(ty),
        move |g, gy| {
            let (gx, gt) = dev.bce_with_logits_backward(&x.data, &y.data, gy, want);
            if let Some(gx) = gx {
                g.accumulate(x.id, gx);
            }
            if let Some(gt) = gt {
                g.accumulate(y.id, gt);
            }
        },
    ))
}
