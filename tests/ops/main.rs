//! Op tests: values against independent references (naive loops,
//! formulas), finite-difference gradient checks in f64, and proptests over
//! random shapes and values. One test binary, one module per op family,
//! each instantiated per device by `typegrad::per_device!` (`unary::cpu`,
//! and `unary::cuda` with the `cuda` feature, skipped without a GPU).

/// The public `typegrad::testing` helpers (gradcheck, strategies,
/// `assert_close!`).
mod common {
    pub use typegrad::testing::*;
}

/// This suite's shorthands for dynamic-shape f64 tensors, defined in each
/// device's copy of a test module (`typegrad::per_device!`): the first line
/// of every such copy is `ops_helpers!();`.
macro_rules! ops_helpers {
    () => {
        /// A `(Dyn, Dyn)` f64 tensor on this copy's device.
        pub fn mat(r: usize, c: usize, v: Vec<f64>) -> Tensor<(Dyn, Dyn), f64, Dev> {
            Tensor::from_vec((Dyn(r), Dyn(c)), v, &dev())
        }

        /// A `(Dyn,)` f64 tensor on this copy's device.
        pub fn vec1(v: Vec<f64>) -> Tensor<(Dyn,), f64, Dev> {
            Tensor::from_vec((Dyn(v.len()),), v, &dev())
        }
    };
}

mod attention;
mod binary;
mod conv;
mod index;
mod matmul;
mod movement;
mod pool;
mod reduce;
mod trig;
mod unary;
