//! Op tests: values against independent references (naive loops,
//! formulas), finite-difference gradient checks in f64, and proptests over
//! random shapes and values. One test binary, one module per op family.

mod common;

mod binary;
mod index;
mod matmul;
mod movement;
mod reduce;
mod unary;
