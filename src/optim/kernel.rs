//! The optimizer kernel trait and its step descriptors live in the backend
//! layer ([`crate::backend::kernels::optim`]); re-exported here.

pub use crate::backend::kernels::optim::{AdamStep, OptimKernel, SgdStep};
