//! Neural-network building blocks: the [`Module`] trait, parameter
//! traversal ([`Params`], derived with `#[derive(Module)]`), and layers.

mod module;
mod params;

pub use module::Module;
pub use params::{ParamMut, ParamPath, ParamRef, Params};
