//! Neural-network building blocks: the [`Module`] trait, parameter
//! traversal ([`Params`], derived with `#[derive(Module)]`), and layers.

mod activation;
mod attention;
mod buffer;
pub mod chain;
mod concat_skip;
mod conv;
mod dropout;
mod embedding;
mod ext;
mod flatten;
pub mod init;
mod linear;
mod module;
pub mod norm;
mod params;
mod pool;
mod positional;
mod residual;
mod sequential;
mod summary;
mod transfer;
pub mod transformer;

pub use activation::{GELUTanh, LeakyReLU, LogSoftmax, ReLU, SiLU, Sigmoid, Softmax, Tanh, GELU};
pub use attention::{HeadsExp, HeadsGot, HeadsVerdict, MultiheadAttention};
pub use buffer::Buffer;
pub use concat_skip::{ConcatSkip, SkipChecked, SkipJoin, SkipShape};
pub use conv::{Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d};
pub use dropout::Dropout;
pub use dropout::{Dropout1d, Dropout2d};
pub use embedding::{Embedding, TokenShape};
pub use ext::{ModuleExt, ParamsMismatch};
pub use flatten::Flatten;
pub use linear::{Linear, LinearChecked};
pub use module::Module;
pub use norm::{
    BatchNorm, BatchNorm1d, BatchNorm2d, BatchNormChecked, LayerNorm, LayerNormChecked,
    LayerNormNd, Spatial1, Spatial2,
};
pub use params::{ParamKind, ParamMut, ParamPath, ParamRef, Params};
pub use pool::{AvgPool1d, AvgPool2d, GlobalAvgPool1d, GlobalAvgPool2d, MaxPool1d, MaxPool2d};
pub use positional::{
    LearnedPositionalEmbedding, PositionsChecked, PositionsVerdict, SinusoidalPositionalEncoding,
    SINUSOID_BASE,
};
pub use residual::{
    Residual, ResidualChecked, ResidualPath, ResidualProjection, ResidualShape, ShortcutChecked,
    ShortcutPath, ShortcutShape,
};
pub use sequential::{BlockChecked, StackBlock, StackShape};
pub use summary::{summary, summary_table, ModelSummary, Summary, SummaryRow, SummaryRows};
pub use transfer::DeviceTransfer;
pub use transformer::{CrossAttentionBlock, FeedForwardBlock, SelfAttentionBlock};
/// `#[derive(Module)]`: the parameter traversal of a model struct (and with
/// `#[module(sequential)]` its `forward`); see [`Params`].
pub use typegrad_macros::Module;
