//! Property-testing helpers for your own ops and layers (feature
//! `testing`): the tools typegrad's own test suite uses.
//!
//! - **Strategies** ([proptest](https://docs.rs/proptest)) that draw tensors
//!   of a typed shape: static dims are fixed by the type, `Dyn` dims are
//!   drawn from a range, values from another: [`tensor`], [`shapes`],
//!   [`tensor_with_shape`], plus [`sizes`] and [`values`] for runtime-rank
//!   code.
//! - **Gradient checks** against central finite differences in `f64`:
//!   [`gradcheck`] for a function of one tensor, [`gradcheck_module`] for a
//!   module, which also checks the gradient of every parameter the
//!   [`Params`](crate::nn::Params) traversal visits. Both check the full
//!   vector-Jacobian product with a fixed pseudo-random cotangent
//!   ([`cotangent`]), so every output element counts, and fail with a
//!   [`GradcheckError`] naming the tensor, the element and both values.
//! - **Closeness assertions**: [`assert_close!`](crate::assert_close) for
//!   tensors, slices and `Vec`s, and [`assert_tensor_close`], which report
//!   the first mismatching index, both values and the largest difference.
//!
//! The feature pulls in `proptest` and needs a target with `std` (proptest
//! does); it does not switch on typegrad's own `std` feature, so the
//! single-threaded no_std kernels can be tested with it too.
//!
//! ```
//! use proptest::prelude::*;
//! use typegrad::prelude::*;
//! use typegrad::testing::{gradcheck, tensor};
//!
//! proptest!(|(x in tensor::<(Dyn, u!(3)), f64>(1..5, -2.0..2.0))| {
//!     prop_assert_eq!(x.dims()[1], 3);
//!     gradcheck(&x, |x| (x.clone() * x).sum_axis::<1>())?;
//! });
//! ```

mod close;
mod device;
mod gradcheck;
mod strategy;

pub use crate::assert_close;
pub use close::{assert_tensor_close, check_close, Approx, CloseError};
pub use device::cuda_missing;
#[cfg(feature = "cuda")]
pub use device::{cuda_device, cuda_seeded};
pub use gradcheck::{
    cotangent, gradcheck, gradcheck_module, gradcheck_module_with, gradcheck_with, GradcheckError,
    Tolerance, Traced,
};
pub use strategy::{
    shapes, sizes, tensor, tensor_on, tensor_with_shape, tensor_with_shape_on, values,
};

/// Implementation details of [`assert_close!`](crate::assert_close).
#[doc(hidden)]
pub mod __private {
    pub use super::close::assert_close_impl;
}
