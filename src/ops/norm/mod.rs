//! Normalisation: the fused batch-norm and layer-norm ops behind
//! [`crate::nn::BatchNorm1d`], [`crate::nn::BatchNorm2d`] and
//! [`crate::nn::LayerNorm`], and their kernel trait [`NormKernel`].
//!
//! Kernels see runtime sizes only. Batch norm views its input as
//! `(batch, channels, inner)` (`inner` the product of the spatial dims, 1
//! for `(B, C)`) and normalises each channel over `batch · inner` values;
//! layer norm views its input as `(rows, cols)` and normalises each row.

mod batch_norm;
mod layer_norm;

pub(crate) use batch_norm::{batch_norm, BatchStats};
pub(crate) use layer_norm::layer_norm;

pub use crate::backend::kernels::norm::{
    BatchNormParams, LayerNormParams, NormGrads, NormKernel, NormWant,
};
