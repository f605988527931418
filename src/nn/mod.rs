//! Neural-network building blocks: the [`Module`] trait, parameter
//! traversal ([`Params`], derived with `#[derive(Module)]`), and layers.

mod activation;
mod buffer;
pub mod chain;
mod conv;
mod dropout;
mod ext;
pub mod init;
mod linear;
mod module;
mod params;
mod sequential;

pub use activation::{GELUTanh, LeakyReLU, LogSoftmax, ReLU, SiLU, Sigmoid, Softmax, Tanh, GELU};
pub use buffer::Buffer;
pub use conv::{Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d};
pub use dropout::Dropout;
pub use ext::{ModuleExt, ParamsMismatch};
pub use linear::{Linear, LinearChecked};
pub use module::Module;
pub use params::{ParamKind, ParamMut, ParamPath, ParamRef, Params};
pub use sequential::{BlockChecked, StackBlock, StackShape};
/// `#[derive(Module)]`: the parameter traversal of a model struct (and with
/// `#[module(sequential)]` its `forward`); see [`Params`].
pub use typegrad_macros::Module;
