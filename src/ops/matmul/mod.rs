//! Matrix products: 2-D, batched, batch-broadcast, and vector forms.
//!
//! [`Tensor::matmul`](crate::tensor::Tensor::matmul) checks the shapes
//! through [`MatMul`] (static dims at compile time, `Dyn` dims at run time)
//! and runs one [`MatmulKernel`] call forward; its backward runs at most two
//! more (`dA = dC · Bᵀ`, `dB = Aᵀ · dC`), reading the transposes through the
//! kernel's transpose flags rather than copying them.

mod linear;
mod product;
mod shape;

pub use linear::{
    LinearExp, LinearGot, LinearGrads, LinearKernel, LinearParams, LinearShape, LinearVerdict,
    LinearWant,
};
pub use shape::MatMul;

pub use crate::backend::kernels::matmul::{MatmulKernel, MatmulParams};
