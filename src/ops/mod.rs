//! Operations, one folder per family and (where ops differ in more than a
//! formula) one file per op. Each family defines its kernel trait (runtime
//! sizes, generic over dtype only); the typed public methods on [`Tensor`]
//! check shapes, call the kernel, and record the backward on the tape.
//!
//! [`Tensor`]: crate::tensor::Tensor

pub mod attention;
pub mod binary;
pub mod conv;
pub mod index;
pub mod matmul;
pub mod movement;
pub mod norm;
pub mod pool;
pub mod reduce;
pub mod unary;
