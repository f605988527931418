#![cfg_attr(not(feature = "std"), no_std)]
#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

extern crate alloc;
// Lets the proc-macros' `::typegrad::…` paths resolve inside this crate too.
extern crate self as typegrad;

pub mod autograd;
pub mod backend;
pub mod data;
mod dim_macros;
pub mod dtype;
pub mod io;
pub mod linalg;
pub mod loss;
pub mod models;
pub mod nn;
pub mod ops;
pub mod optim;
pub mod shape;
pub mod tensor;
#[cfg(feature = "testing")]
pub mod testing;
pub mod text;

pub use autograd::{Gradients, NoTape, Tape};
pub use backend::{Backend, Cpu, Device};
pub use dtype::Dtype;
pub use shape::{Dim, Dyn, Error, Shape};
pub use tensor::Tensor;
#[doc(hidden)]
pub use typegrad_macros as __macros;
/// Re-exported: `u!`, `shape!` and `dims!` expand to paths under `$crate::typenum`.
pub use typenum;

/// The names most programs need.
pub mod prelude {
    pub use crate::autograd::{Gradients, Mode, NoTape, Tape, Tracking};
    pub use crate::backend::{Backend, Cpu, Device};
    pub use crate::dtype::Dtype;
    pub use crate::nn::{Module, ModuleExt, Params};
    pub use crate::ops::index::GatherOp;
    pub use crate::ops::movement::{ConcatOp, NarrowOp};
    pub use crate::shape::{ConstShape, Dim, Dyn, Error, Shape};
    pub use crate::tensor::Tensor;
    pub use crate::{dims, shape, u};
}
