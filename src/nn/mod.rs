//! Neural-network building blocks: the [`Module`] trait, parameter
//! traversal ([`Params`], derived with `#[derive(Module)]`), and layers.

mod activation;
mod buffer;
pub mod chain;
mod dropout;
mod ext;
pub mod init;
mod linear;
mod module;
mod params;
mod pool;
mod sequential;

pub use activation::{GELUTanh, LeakyReLU, LogSoftmax, ReLU, SiLU, Sigmoid, Softmax, Tanh, GELU};
pub use buffer::Buffer;
pub use dropout::Dropout;
pub use dropout::{Dropout1d, Dropout2d};
pub use ext::{ModuleExt, ParamsMismatch};
pub use linear::{Linear, LinearChecked};
pub use module::Module;
pub use params::{ParamKind, ParamMut, ParamPath, ParamRef, Params};
pub use pool::{AvgPool1d, AvgPool2d, GlobalAvgPool1d, GlobalAvgPool2d, MaxPool1d, MaxPool2d};
pub use sequential::{BlockChecked, StackBlock, StackShape};
/// `#[derive(Module)]`: the parameter traversal of a model struct (and with
/// `#[module(sequential)]` its `forward`); see [`Params`].
pub use typegrad_macros::Module;
