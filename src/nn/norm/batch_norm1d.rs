//! [`BatchNorm1d`]: batch normalisation of `(B, C)` and `(B, C, L)` inputs.

use super::batch_norm::{BatchNorm, BatchNormVerdict, Spatial1};
use crate::backend::Cpu;
use crate::shape::{Dim, DimVerdict, ExpOf, GotOf};

/// Batch normalisation of `(B, C)` (features) and `(B, C, L)` (sequences)
/// inputs over the batch (and length) axis, per channel: PyTorch's
/// `nn.BatchNorm1d(C)`. See [`BatchNorm`] for training, evaluation and the
/// running statistics.
///
/// ```
/// use typegrad::prelude::*;
/// use typegrad::nn::{BatchNorm1d, Module};
/// let dev = Cpu::default();
/// let bn: BatchNorm1d<u!(2), f64> = BatchNorm1d::new(&dev);
/// let x: Tensor<(Dyn, u!(2)), f64> = Tensor::from_vec((Dyn(2), Default::default()), vec![1.0, 10.0, 3.0, 30.0], &dev);
/// // Training: each column becomes (-1, 1) (up to eps).
/// let y = bn.forward(x.trace()).to_vec();
/// assert!((y[0] + 1.0).abs() < 1e-4 && (y[3] - 1.0).abs() < 1e-4);
/// ```
pub type BatchNorm1d<C, E = f32, D = Cpu> = BatchNorm<C, Spatial1, E, D>;

impl<B: Dim, K: Dim, C> BatchNormVerdict<C, Spatial1> for (B, K)
where
    K: DimVerdict<C>,
{
    type Got = GotOf<K, C>;
    type Exp = ExpOf<K, C>;
}

impl<B: Dim, K: Dim, L: Dim, C> BatchNormVerdict<C, Spatial1> for (B, K, L)
where
    K: DimVerdict<C>,
{
    type Got = GotOf<K, C>;
    type Exp = ExpOf<K, C>;
}
