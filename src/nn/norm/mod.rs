//! Normalisation layers: [`BatchNorm1d`], [`BatchNorm2d`] (one
//! [`BatchNorm`] type, PyTorch's semantics and state-dict names) and
//! [`LayerNorm`] / [`LayerNormNd`].

mod batch_norm;
mod batch_norm1d;
mod batch_norm2d;
mod layer_norm;

pub use batch_norm::{BatchNorm, BatchNormChecked, BatchNormVerdict, Spatial1, Spatial2};
pub use batch_norm1d::BatchNorm1d;
pub use batch_norm2d::BatchNorm2d;
pub use layer_norm::{LayerNorm, LayerNormChecked, LayerNormNd, LayerNormVerdict};
