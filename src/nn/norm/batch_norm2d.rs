//! [`BatchNorm2d`]: batch normalisation of `(B, C, H, W)` images.

use super::batch_norm::{BatchNorm, BatchNormVerdict, Spatial2};
use crate::backend::Cpu;
use crate::shape::{Dim, DimVerdict, ExpOf, GotOf};

/// Batch normalisation of `(B, C, H, W)` inputs over the batch and
/// spatial axes, per channel: PyTorch's `nn.BatchNorm2d(C)`. See
/// [`BatchNorm`] for training, evaluation and the running statistics. A
/// static channel count other than `C` does not compile; a `Dyn` one is a
/// run-time error ([`BatchNorm::try_forward`]).
///
/// ```
/// use typegrad::prelude::*;
/// use typegrad::nn::{BatchNorm2d, Module};
/// let dev = Cpu::seeded(1);
/// let bn: BatchNorm2d<u!(16)> = BatchNorm2d::new(&dev);
/// let x: Tensor<(Dyn, u!(16), u!(8), u!(8))> =
///     Tensor::randn((Dyn(4), Default::default(), Default::default(), Default::default()), 0.0, 1.0, &dev);
/// let y = bn.forward(x.trace()); // same shape, batch statistics
/// assert_eq!(&*y.dims(), &[4, 16, 8, 8]);
/// ```
pub type BatchNorm2d<C, E = f32, D = Cpu> = BatchNorm<C, Spatial2, E, D>;

impl<B: Dim, K: Dim, H: Dim, W: Dim, C> BatchNormVerdict<C, Spatial2> for (B, K, H, W)
where
    K: DimVerdict<C>,
{
    type Got = GotOf<K, C>;
    type Exp = ExpOf<K, C>;
}
