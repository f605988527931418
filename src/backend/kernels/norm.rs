//! The normalisation kernel trait ([`NormKernel`]: batch and layer norm)
//! and its descriptors. Its provided methods compose the unary, binary and
//! reduce kernels (`norm/composed.rs`); the typed ops are in `ops/norm/`.

mod composed;

use super::binary::BinaryKernel;
use super::reduce::ReduceKernel;
use super::unary::UnaryKernel;
use crate::dtype::Dtype;

/// Sizes of a batch-norm input viewed as `(batch, channels, inner)`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct BatchNormParams {
    /// The first dim.
    pub batch: usize,
    /// The second dim: one statistic per channel.
    pub channels: usize,
    /// The product of the dims after the channels (1 for `(B, C)`).
    pub inner: usize,
}

impl BatchNormParams {
    /// Values per channel, `batch · inner`.
    ///
    /// ```
    /// use typegrad::backend::kernels::norm::BatchNormParams;
    /// assert_eq!(BatchNormParams { batch: 4, channels: 3, inner: 10 }.per_channel(), 40);
    /// ```
    pub fn per_channel(&self) -> usize {
        self.batch * self.inner
    }
}

/// Sizes of a layer-norm input viewed as `(rows, cols)`: each row is
/// normalised over its `cols` values.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct LayerNormParams {
    /// The product of the leading (not normalised) dims.
    pub rows: usize,
    /// The product of the normalised trailing dims.
    pub cols: usize,
}

/// Which gradients a normalisation backward computes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct NormWant {
    /// The input's gradient.
    pub input: bool,
    /// The weight's (scale's) gradient.
    pub weight: bool,
    /// The bias's (shift's) gradient.
    pub bias: bool,
}

/// `(input, weight, bias)` gradients of a normalisation backward, each
/// present if it was asked for.
pub type NormGrads<S> = (Option<S>, Option<S>, Option<S>);

/// Kernels of batch and layer normalisation (runtime sizes, generic over
/// the dtype only). `x̂ = (x - mean) / √(var + eps)`, `y = x̂ · w + b`, the
/// variance biased (divided by the count), as PyTorch normalises.
///
/// The provided methods compose the unary, binary and reduce kernels, so a
/// new backend gets a correct implementation from `impl NormKernel<E> for
/// MyBackend {}`; the CPU backend overrides every one with fused loops (one
/// or two passes for the statistics, one for the normalisation, two for
/// the backward).
pub trait NormKernel<E: Dtype>: UnaryKernel<E> + BinaryKernel<E> + ReduceKernel<E> {
    /// The per-channel mean and biased variance of `x`, `channels` values
    /// each.
    fn batch_norm_stats(
        &self,
        p: BatchNormParams,
        x: &Self::Storage<E>,
    ) -> (Self::Storage<E>, Self::Storage<E>) {
        composed::batch_norm_stats(self, p, x)
    }

    /// `y = (x - mean[c]) / √(var[c] + eps) · w[c] + b[c]` (no `w`: 1, no
    /// `b`: 0), with the batch's or the running statistics.
    #[allow(clippy::too_many_arguments)]
    fn batch_norm_forward(
        &self,
        p: BatchNormParams,
        eps: f64,
        x: &Self::Storage<E>,
        mean: &Self::Storage<E>,
        var: &Self::Storage<E>,
        w: Option<&Self::Storage<E>>,
        b: Option<&Self::Storage<E>>,
    ) -> Self::Storage<E> {
        composed::batch_norm_forward(self, p, eps, x, mean, var, w, b)
    }

    /// The gradients for `gy`. With `batch_stats` the mean and variance are
    /// the batch's own (training), so the input gradient is the closed form
    /// `(w/σ)(gy - mean(gy) - x̂·mean(gy·x̂))`; without, they are constants
    /// (evaluation) and it is `gy · w/σ`. `gw = Σ gy·x̂`, `gb = Σ gy` per
    /// channel either way.
    #[allow(clippy::too_many_arguments)]
    fn batch_norm_backward(
        &self,
        p: BatchNormParams,
        eps: f64,
        batch_stats: bool,
        x: &Self::Storage<E>,
        mean: &Self::Storage<E>,
        var: &Self::Storage<E>,
        w: Option<&Self::Storage<E>>,
        gy: &Self::Storage<E>,
        want: NormWant,
    ) -> NormGrads<Self::Storage<E>> {
        composed::batch_norm_backward(self, p, eps, batch_stats, x, mean, var, w, gy, want)
    }

    /// Layer norm of each row: `(y, mean, rstd)`, the last two `rows`
    /// values each (`rstd = 1/√(var + eps)`), kept for the backward.
    fn layer_norm_forward(
        &self,
        p: LayerNormParams,
        eps: f64,
        x: &Self::Storage<E>,
        w: Option<&Self::Storage<E>>,
        b: Option<&Self::Storage<E>>,
    ) -> (Self::Storage<E>, Self::Storage<E>, Self::Storage<E>) {
        composed::layer_norm_forward(self, p, eps, x, w, b)
    }

    /// The gradients of layer norm for `gy`: with `g = gy · w`,
    /// `gx = rstd (g - mean(g) - x̂·mean(g·x̂))` per row, `gw = Σ_rows gy·x̂`,
    /// `gb = Σ_rows gy`.
    #[allow(clippy::too_many_arguments)]
    fn layer_norm_backward(
        &self,
        p: LayerNormParams,
        x: &Self::Storage<E>,
        mean: &Self::Storage<E>,
        rstd: &Self::Storage<E>,
        w: Option<&Self::Storage<E>>,
        gy: &Self::Storage<E>,
        want: NormWant,
    ) -> NormGrads<Self::Storage<E>> {
        composed::layer_norm_backward(self, p, x, mean, rstd, w, gy, want)
    }
}
