//! Op tests: values against independent references (naive loops,
//! formulas), finite-difference gradient checks in f64, and proptests over
//! random shapes and values. One test binary, one module per op family.

/// The public `typegrad::testing` helpers (gradcheck, strategies,
/// `assert_close!`), plus two shorthands for this suite's dynamic-shape
/// f64 tensors.
mod common {
    use typegrad::prelude::*;
    pub use typegrad::testing::*;

    /// A `(Dyn, Dyn)` f64 tensor.
    pub fn mat(r: usize, c: usize, v: Vec<f64>) -> Tensor<(Dyn, Dyn), f64> {
        Tensor::from_vec((Dyn(r), Dyn(c)), v, &Cpu::default())
    }

    /// A `(Dyn,)` f64 tensor.
    pub fn vec1(v: Vec<f64>) -> Tensor<(Dyn,), f64> {
        Tensor::from_vec((Dyn(v.len()),), v, &Cpu::default())
    }
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
