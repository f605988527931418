//! Shared test helpers: finite-difference gradient checks (f64) and
//! proptest strategies for random shapes and values.

#![allow(dead_code)]

use proptest::prelude::*;
use typegrad::prelude::*;

/// A tracked f64 CPU tensor.
pub type Tr<S> = Tensor<S, f64, Cpu, Tape<f64, Cpu>>;

/// Fixed pseudo-random cotangent values in [-1, 1] (deterministic).
pub fn cotangent(n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| ((i as f64 + 1.0) * 12.9898).sin() * 0.9 + 0.05)
        .collect()
}

/// Check the gradient of `f` at `x` against central finite differences.
///
/// The check is on the vector-Jacobian product with a fixed cotangent `w`
/// (`d/dx sum(f(x) · w)`), so every output element is exercised.
/// Tolerance: |analytic - numeric| <= atol + rtol · |numeric|.
pub fn gradcheck<S: Shape, S2: Shape>(
    x: &Tensor<S, f64>,
    f: impl Fn(Tr<S>) -> Tr<S2>,
) -> Result<(), String> {
    gradcheck_tol(x, f, 1e-6, 1e-5, 1e-5)
}

/// [`gradcheck`] with explicit step and tolerances.
pub fn gradcheck_tol<S: Shape, S2: Shape>(
    x: &Tensor<S, f64>,
    f: impl Fn(Tr<S>) -> Tr<S2>,
    eps: f64,
    atol: f64,
    rtol: f64,
) -> Result<(), String> {
    let dev = x.device().clone();
    let y = f(x.clone().trace());
    let w = cotangent(y.numel());
    let wt = Tensor::from_vec(y.shape(), w.clone(), &dev);
    let grads = y.backward_from(wt);
    let analytic = grads.get_or_zeros(x).to_vec();
    let xv = x.to_vec();
    let eval = |v: Vec<f64>| -> f64 {
        let xp = Tensor::from_vec(x.shape(), v, &dev);
        let out = f(xp.trace()).to_vec();
        out.iter().zip(&w).map(|(a, b)| a * b).sum()
    };
    for i in 0..xv.len() {
        let mut p = xv.clone();
        p[i] += eps;
        let mut m = xv.clone();
        m[i] -= eps;
        let numeric = (eval(p) - eval(m)) / (2.0 * eps);
        let a = analytic[i];
        // Written so that a NaN on either side fails the check.
        let ok = (a - numeric).abs() <= atol + rtol * numeric.abs();
        if !ok {
            return Err(format!(
                "gradient mismatch at element {i} of {:?}: analytic {a}, numeric {numeric} (x = {:?})",
                &*x.dims(),
                xv
            ));
        }
    }
    Ok(())
}

/// Random dims: `rank` sizes in `1..=max`.
pub fn arb_dims(rank: usize, max: usize) -> impl Strategy<Value = Vec<usize>> {
    proptest::collection::vec(1..=max, rank)
}

/// `n` values in `[-range, range]`.
pub fn arb_values(n: usize, range: f64) -> impl Strategy<Value = Vec<f64>> {
    proptest::collection::vec(-range..range, n)
}

/// Random (rows, cols, values) for a 2-D tensor.
pub fn arb_matrix(max: usize, range: f64) -> impl Strategy<Value = (usize, usize, Vec<f64>)> {
    (1..=max, 1..=max).prop_flat_map(move |(r, c)| (Just(r), Just(c), arb_values(r * c, range)))
}

/// A `(Dyn, Dyn)` f64 tensor.
pub fn mat(r: usize, c: usize, v: Vec<f64>) -> Tensor<(Dyn, Dyn), f64> {
    Tensor::from_vec((Dyn(r), Dyn(c)), v, &Cpu::default())
}

/// A `(Dyn,)` f64 tensor.
pub fn vec1(v: Vec<f64>) -> Tensor<(Dyn,), f64> {
    Tensor::from_vec((Dyn(v.len()),), v.clone(), &Cpu::default())
}

/// Assert two slices are elementwise close.
#[track_caller]
pub fn assert_close(a: &[f64], b: &[f64], tol: f64) {
    assert_eq!(
        a.len(),
        b.len(),
        "length mismatch: {} vs {}",
        a.len(),
        b.len()
    );
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= tol * (1.0 + y.abs()),
            "element {i}: {x} vs {y} (tol {tol})\n left: {a:?}\nright: {b:?}"
        );
    }
}
