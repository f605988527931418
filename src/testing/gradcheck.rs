//! Gradient checks against central finite differences (f64).

// The error is a test-failure report, built once on the failing path; its
// size does not matter, and a `Box` would only make it harder to inspect.
#![allow(clippy::result_large_err)]

use crate::autograd::{Gradients, Tape};
use crate::backend::Device;
use crate::nn::{Module, ParamPath, Params};
use crate::shape::Shape;
use crate::tensor::Tensor;
use crate::Cpu;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// A tracked tensor (on a [`Tape`]): what the function under a
/// [`gradcheck`] receives and returns.
pub type Traced<S, E = f64, D = Cpu> = Tensor<S, E, D, Tape<E, D>>;

/// The fixed pseudo-random cotangent of length `n` that the gradient checks
/// contract the output with: deterministic values in about `[-0.85, 0.95]`,
/// none of them zero, so every output element contributes.
///
/// ```
/// let w = typegrad::testing::cotangent(4);
/// assert_eq!(w, typegrad::testing::cotangent(4));
/// assert!(w.iter().all(|v| v.abs() > 0.0 && v.abs() <= 1.0));
/// ```
pub fn cotangent(n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| libm::sin((i as f64 + 1.0) * 12.9898) * 0.9 + 0.05)
        .collect()
}

/// Step and tolerances of a gradient check. An element passes when
/// `|analytic - numeric| <= atol + rtol * |numeric|` (a NaN on either side
/// fails).
///
/// ```
/// use typegrad::testing::Tolerance;
/// let loose = Tolerance { atol: 1e-4, ..Tolerance::default() };
/// assert_eq!(loose.eps, 1e-6);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tolerance {
    /// The finite-difference step (central differences: `f(x+eps)`, `f(x-eps)`).
    pub eps: f64,
    /// Absolute tolerance.
    pub atol: f64,
    /// Relative tolerance (relative to the numeric value).
    pub rtol: f64,
}

impl Default for Tolerance {
    /// `eps = 1e-6`, `atol = 1e-5`, `rtol = 1e-5`: right for smooth
    /// functions of values of order 1 in f64.
    fn default() -> Self {
        Tolerance {
            eps: 1e-6,
            atol: 1e-5,
            rtol: 1e-5,
        }
    }
}

/// A gradient that disagrees with finite differences: which tensor, which
/// element, both values. `Display` (and `Debug`, so that `unwrap()` reads
/// well) give one readable sentence; it converts into a proptest failure, so
/// `gradcheck(..)?` works inside `proptest!`.
///
/// ```
/// use typegrad::prelude::*;
/// use typegrad::testing::gradcheck;
/// let x: Tensor<(u!(3),), f64> = Tensor::from_vec(Default::default(), vec![1.0, 2.0, 3.0], &Cpu::default());
/// // x * detach(x): the analytic gradient misses the detached factor, so
/// // it is half the numeric one.
/// let err = gradcheck(&x, |x| x.clone() * x.detach()).unwrap_err();
/// assert_eq!(err.index, 0);
/// assert!((err.numeric - 2.0 * err.analytic).abs() < 1e-6);
/// assert!(err.to_string().starts_with("gradient mismatch for the input, element 0 (index [0] of dims [3])"));
/// ```
#[derive(Clone, PartialEq)]
pub struct GradcheckError {
    /// `"the input"` or the parameter's path, e.g. `"parameter `fc.weight`"`.
    pub tensor: String,
    /// The element's index in row-major order.
    pub index: usize,
    /// The element's position per axis.
    pub position: Vec<usize>,
    /// The tensor's dims.
    pub dims: Vec<usize>,
    /// The gradient from backward (0 if none was recorded).
    pub analytic: f64,
    /// The central finite difference.
    pub numeric: f64,
    /// `true` when backward recorded no gradient at all for this tensor.
    pub missing: bool,
    /// The tolerances used.
    pub tolerance: Tolerance,
    /// The input's values when it has at most 32 elements (to reproduce).
    pub input: Option<Vec<f64>>,
}

impl fmt::Display for GradcheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = &self.tolerance;
        write!(
            f,
            "gradient mismatch for {}, element {} (index {:?} of dims {:?}): analytic {}{}, numeric {} (|diff| {:.3e}, allowed {:.3e} = atol {:e} + rtol {:e} * |numeric|, eps {:e})",
            self.tensor,
            self.index,
            self.position,
            self.dims,
            self.analytic,
            if self.missing {
                " (backward recorded no gradient for it)"
            } else {
                ""
            },
            self.numeric,
            (self.analytic - self.numeric).abs(),
            t.atol + t.rtol * self.numeric.abs(),
            t.atol,
            t.rtol,
            t.eps,
        )?;
        if let Some(x) = &self.input {
            write!(f, "; input = {x:?}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for GradcheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl core::error::Error for GradcheckError {}

impl From<GradcheckError> for proptest::test_runner::Reason {
    fn from(e: GradcheckError) -> Self {
        format!("{e}").into()
    }
}

/// Check the gradient of `f` at `x` against central finite differences,
/// with the default [`Tolerance`].
///
/// The check is on the vector-Jacobian product with the fixed cotangent `w
/// = cotangent(n)` of the output's size: the analytic side is
/// `f(x).backward_from(w)`, the numeric side differentiates
/// `sum(f(x) * w)` one input element at a time, so every output element is
/// exercised. `f` must be deterministic (no dropout). Parameters a closure
/// captures are not checked; use [`gradcheck_module`] for a layer.
///
/// ```
/// use typegrad::prelude::*;
/// use typegrad::testing::gradcheck;
/// let x: Tensor<(Dyn, u!(2)), f64> = Tensor::from_vec((Dyn(2), Default::default()), vec![0.5, -1.0, 2.0, 0.1], &Cpu::default());
/// gradcheck(&x, |x| x.tanh().softmax::<1>()).unwrap();
/// ```
pub fn gradcheck<S: Shape, S2: Shape, D: Device<f64>>(
    x: &Tensor<S, f64, D>,
    f: impl Fn(Traced<S, f64, D>) -> Traced<S2, f64, D>,
) -> Result<(), GradcheckError> {
    gradcheck_with(x, f, Tolerance::default())
}

/// [`gradcheck`] with an explicit step and tolerances.
///
/// ```
/// use typegrad::prelude::*;
/// use typegrad::testing::{gradcheck_with, Tolerance};
/// let x: Tensor<(u!(3),), f64> = Tensor::from_vec(Default::default(), vec![1.0, 2.0, 3.0], &Cpu::default());
/// let tol = Tolerance { eps: 1e-4, atol: 1e-6, rtol: 1e-6 };
/// gradcheck_with(&x, |x| x.exp(), tol).unwrap();
/// ```
pub fn gradcheck_with<S: Shape, S2: Shape, D: Device<f64>>(
    x: &Tensor<S, f64, D>,
    f: impl Fn(Traced<S, f64, D>) -> Traced<S2, f64, D>,
    tol: Tolerance,
) -> Result<(), GradcheckError> {
    let dev = x.device().clone();
    let y = f(x.clone().trace());
    let w = cotangent(y.numel());
    let ys = y.shape();
    let grads = y.backward_from(Tensor::from_vec(ys, w.clone(), &dev));
    let eval = |v: Vec<f64>| -> f64 {
        dot(
            &f(Tensor::from_vec(x.shape(), v, &dev).trace()).to_vec(),
            &w,
        )
    };
    check_input(x, &grads, &eval, tol)
}

/// Check a module's gradients against central finite differences at `x`,
/// with the default [`Tolerance`]: the input's gradient and the gradient of
/// **every parameter** the [`Params`] traversal visits (looked up by the
/// parameter's id in the [`Gradients`] of one backward pass). Buffers
/// (running statistics, [`ParamKind::Buffer`](crate::nn::ParamKind)) are
/// not trained and have no gradient: they are skipped.
///
/// As in [`gradcheck`], the output is contracted with the fixed
/// [`cotangent`]. Parameters are perturbed in place one element at a time
/// and restored exactly afterwards (same values, same ids), hence `&mut`.
/// A parameter the output depends on but for which backward recorded no
/// gradient fails, with a message saying so. The module's traced forward
/// must be deterministic (no dropout).
///
/// ```
/// use typegrad::prelude::*;
/// use typegrad::nn::Linear;
/// use typegrad::testing::gradcheck_module;
/// let dev = Cpu::seeded(0);
/// let mut layer: Linear<u!(3), u!(2), f64> = Linear::new(&dev);
/// let x: Tensor<(Dyn, u!(3)), f64> = Tensor::randn((Dyn(4), Default::default()), 0.0, 1.0, &dev);
/// gradcheck_module(&mut layer, &x).unwrap(); // input, weight and bias
/// ```
pub fn gradcheck_module<M, S: Shape, S2: Shape, D: Device<f64>>(
    module: &mut M,
    x: &Tensor<S, f64, D>,
) -> Result<(), GradcheckError>
where
    M: Module<Traced<S, f64, D>, Output = Traced<S2, f64, D>> + Params<f64, D>,
{
    gradcheck_module_with(module, x, Tolerance::default())
}

/// [`gradcheck_module`] with an explicit step and tolerances.
///
/// ```
/// use typegrad::prelude::*;
/// use typegrad::nn::Linear;
/// use typegrad::testing::{gradcheck_module_with, Tolerance};
/// let dev = Cpu::seeded(1);
/// let mut layer: Linear<u!(2), u!(2), f64> = Linear::new(&dev);
/// let x: Tensor<(u!(2),), f64> = Tensor::ones(Default::default(), &dev);
/// gradcheck_module_with(&mut layer, &x, Tolerance { atol: 1e-7, ..Default::default() }).unwrap();
/// ```
pub fn gradcheck_module_with<M, S: Shape, S2: Shape, D: Device<f64>>(
    module: &mut M,
    x: &Tensor<S, f64, D>,
    tol: Tolerance,
) -> Result<(), GradcheckError>
where
    M: Module<Traced<S, f64, D>, Output = Traced<S2, f64, D>> + Params<f64, D>,
{
    let dev = x.device().clone();
    let y = module.forward(x.clone().trace());
    let w = cotangent(y.numel());
    let ys = y.shape();
    let grads = y.backward_from(Tensor::from_vec(ys, w.clone(), &dev));

    // The input.
    {
        let m: &M = module;
        let eval = |v: Vec<f64>| -> f64 {
            dot(
                &m.forward(Tensor::from_vec(x.shape(), v, &dev).trace())
                    .to_vec(),
                &w,
            )
        };
        check_input(x, &grads, &eval, tol)?;
    }

    // Every parameter, in traversal order: (name, dims, id's gradient).
    // Buffers (running statistics) are not trained: they have no gradient.
    let mut params = Vec::new();
    module.visit_params(&mut ParamPath::default(), &mut |path, p| {
        let analytic = grads.by_id(p.id).map(|g| p.device.download(g));
        params.push((path.name(), p.dims.to_vec(), analytic, p.kind.is_buffer()));
    });
    let loss = |m: &M| -> f64 { dot(&m.forward(x.clone().trace()).to_vec(), &w) };
    for (k, (name, dims, analytic, buffer)) in params.into_iter().enumerate() {
        if buffer {
            continue;
        }
        let n: usize = dims.iter().product();
        let missing = analytic.is_none();
        let analytic = analytic.unwrap_or_else(|| alloc::vec![0.0; n]);
        for (i, &a) in analytic.iter().enumerate() {
            let mut at = |delta: f64| -> f64 {
                let old = set_param(module, k, i, delta);
                let value = loss(module);
                restore_param(module, k, old);
                value
            };
            let numeric = (at(tol.eps) - at(-tol.eps)) / (2.0 * tol.eps);
            if !passes(a, numeric, tol) {
                return Err(GradcheckError {
                    tensor: format!("parameter `{name}`"),
                    index: i,
                    position: position(i, &dims),
                    dims,
                    analytic: a,
                    numeric,
                    missing,
                    tolerance: tol,
                    input: small(x),
                });
            }
        }
    }
    Ok(())
}

/// Add `delta` to element `i` of the `k`-th parameter; returns its old buffer.
fn set_param<M: Params<f64, D>, D: Device<f64>>(
    module: &mut M,
    k: usize,
    i: usize,
    delta: f64,
) -> Option<D::Storage<f64>> {
    let mut seen = 0;
    let mut old = None;
    module.visit_params_mut(&mut ParamPath::default(), &mut |_, p| {
        if seen == k {
            let mut v = p.device.download(p.data);
            v[i] += delta;
            old = Some(core::mem::replace(p.data, p.device.upload(v)));
        }
        seen += 1;
    });
    old
}

/// Put back the buffer [`set_param`] replaced.
fn restore_param<M: Params<f64, D>, D: Device<f64>>(
    module: &mut M,
    k: usize,
    old: Option<D::Storage<f64>>,
) {
    let mut old = old;
    let mut seen = 0;
    module.visit_params_mut(&mut ParamPath::default(), &mut |_, p| {
        if seen == k {
            if let Some(o) = old.take() {
                *p.data = o;
            }
        }
        seen += 1;
    });
}

/// Compare the input's analytic gradient with central differences of `eval`.
fn check_input<S: Shape, D: Device<f64>>(
    x: &Tensor<S, f64, D>,
    grads: &Gradients<f64, D>,
    eval: &dyn Fn(Vec<f64>) -> f64,
    tol: Tolerance,
) -> Result<(), GradcheckError> {
    let got = grads.get(x);
    let missing = got.is_none();
    let analytic = got
        .map(|g| g.to_vec())
        .unwrap_or_else(|| alloc::vec![0.0; x.numel()]);
    let xv = x.to_vec();
    for i in 0..xv.len() {
        let mut p = xv.clone();
        p[i] += tol.eps;
        let mut m = xv.clone();
        m[i] -= tol.eps;
        let numeric = (eval(p) - eval(m)) / (2.0 * tol.eps);
        if !passes(analytic[i], numeric, tol) {
            let dims = x.dims().to_vec();
            return Err(GradcheckError {
                tensor: String::from("the input"),
                index: i,
                position: position(i, &dims),
                dims,
                analytic: analytic[i],
                numeric,
                missing,
                tolerance: tol,
                input: small(x),
            });
        }
    }
    Ok(())
}

/// Written so that a NaN on either side fails.
fn passes(analytic: f64, numeric: f64, tol: Tolerance) -> bool {
    (analytic - numeric).abs() <= tol.atol + tol.rtol * numeric.abs()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The per-axis position of row-major index `i` in `dims`.
pub(crate) fn position(mut i: usize, dims: &[usize]) -> Vec<usize> {
    let mut pos = alloc::vec![0; dims.len()];
    for (p, &d) in pos.iter_mut().zip(dims).rev() {
        if d > 0 {
            *p = i % d;
            i /= d;
        }
    }
    pos
}

fn small<S: Shape, D: Device<f64>>(x: &Tensor<S, f64, D>) -> Option<Vec<f64>> {
    (x.numel() <= 32).then(|| x.to_vec())
}
