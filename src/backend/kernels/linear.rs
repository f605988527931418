//! The fused linear kernel trait ([`LinearKernel`], `Y = X · Wᵀ + b` and its
//! backward) and its descriptors. Its provided methods compose the matmul,
//! binary and reduce kernels; the typed `Tensor::linear` is in
//! `ops/matmul/linear.rs`.

use super::binary::{BinaryKernel, BinaryOp};
use super::matmul::{MatmulKernel, MatmulParams};
use super::reduce::{ReduceKernel, ReduceOp};
use crate::dtype::Dtype;

/// Sizes of a linear map: `rows` rows of `inp` features to `out` features.
/// All leading dims of the input are folded into `rows`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct LinearParams {
    /// Product of the input's leading dims.
    pub rows: usize,
    /// Input features (columns of `X`, of `W`).
    pub inp: usize,
    /// Output features (rows of `W`, columns of `Y`).
    pub out: usize,
}

/// Which gradients [`LinearKernel::linear_backward`] computes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct LinearWant {
    /// The input's gradient `dX = dY · W`.
    pub input: bool,
    /// The weight's gradient `dW = dYᵀ · X`.
    pub weight: bool,
    /// The bias gradient `db = Σ_rows dY`.
    pub bias: bool,
}

/// The three gradients of [`LinearKernel::linear_backward`], each present if
/// it was asked for.
pub type LinearGrads<S> = (Option<S>, Option<S>, Option<S>);

/// Kernel of the fused linear map `Y = X · Wᵀ + b` (row-major `X`:
/// `rows × inp`, `W`: `out × inp`, `b`: `out`, `Y`: `rows × out`).
///
/// The provided methods compose the matmul, binary and reduce kernels, so a
/// new backend gets a correct implementation from `impl LinearKernel<E> for
/// MyBackend {}`; the CPU backend overrides both to fuse the bias into the
/// gemm and to sum the columns in one pass.
pub trait LinearKernel<E: Dtype>: MatmulKernel<E> + BinaryKernel<E> + ReduceKernel<E> {
    /// `Y = X · Wᵀ (+ b)`.
    fn linear(
        &self,
        p: LinearParams,
        x: &Self::Storage<E>,
        w: &Self::Storage<E>,
        b: Option<&Self::Storage<E>>,
    ) -> Self::Storage<E> {
        composed_linear(self, p, x, w, b)
    }

    /// `(dX, dW, db)` for the gradient `gy` of `Y`, the ones asked for.
    fn linear_backward(
        &self,
        p: LinearParams,
        x: &Self::Storage<E>,
        w: &Self::Storage<E>,
        gy: &Self::Storage<E>,
        want: LinearWant,
    ) -> LinearGrads<Self::Storage<E>> {
        composed_linear_backward(self, p, x, w, gy, want)
    }
}

/// [`LinearKernel::linear`] composed from the matmul and binary kernels
/// (the provided method; tested against the CPU's fused one).
fn composed_linear<E: Dtype, D: MatmulKernel<E> + BinaryKernel<E>>(
    dev: &D,
    p: LinearParams,
    x: &D::Storage<E>,
    w: &D::Storage<E>,
    b: Option<&D::Storage<E>>,
) -> D::Storage<E> {
    let y = dev.matmul(forward_params(p), x, w);
    match b {
        None => y,
        Some(b) => {
            let od = [p.rows, p.out];
            dev.binary(BinaryOp::Add, &y, &od, b, &[p.out], &od)
        }
    }
}

/// [`LinearKernel::linear_backward`] composed from the matmul and reduce
/// kernels (the provided method).
fn composed_linear_backward<E: Dtype, D: MatmulKernel<E> + ReduceKernel<E>>(
    dev: &D,
    p: LinearParams,
    x: &D::Storage<E>,
    w: &D::Storage<E>,
    gy: &D::Storage<E>,
    want: LinearWant,
) -> LinearGrads<D::Storage<E>> {
    let gx = want.input.then(|| dev.matmul(grad_input_params(p), gy, w));
    let gw = want
        .weight
        .then(|| dev.matmul(grad_weight_params(p), gy, x));
    let gb = want
        .bias
        .then(|| dev.reduce(ReduceOp::Sum, gy, &[p.rows, p.out], Some(0)));
    (gx, gw, gb)
}

/// `Y = X · Wᵀ`: `W` read transposed.
pub(crate) fn forward_params(p: LinearParams) -> MatmulParams {
    MatmulParams {
        batch: 1,
        m: p.rows,
        k: p.inp,
        n: p.out,
        a_batch_stride: 0,
        b_batch_stride: 0,
        a_t: false,
        b_t: true,
    }
}

/// `dX = dY · W` (`rows × out` times `out × inp`).
pub(crate) fn grad_input_params(p: LinearParams) -> MatmulParams {
    MatmulParams {
        batch: 1,
        m: p.rows,
        k: p.out,
        n: p.inp,
        a_batch_stride: 0,
        b_batch_stride: 0,
        a_t: false,
        b_t: false,
    }
}

/// `dW = dYᵀ · X` (`dY` read transposed; the sum over rows is the product's
/// inner dimension).
pub(crate) fn grad_weight_params(p: LinearParams) -> MatmulParams {
    MatmulParams {
        batch: 1,
        m: p.out,
        k: p.rows,
        n: p.inp,
        a_batch_stride: 0,
        b_batch_stride: 0,
        a_t: true,
        b_t: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{Backend, Cpu};
    use alloc::vec::Vec;

    /// The provided (composed) methods agree with the CPU's fused kernels,
    /// with and without bias, including zero rows.
    #[test]
    fn composed_matches_fused_cpu() {
        let dev = Cpu::seeded(0);
        for (rows, inp, out) in [(5, 3, 4), (1, 7, 2), (0, 3, 2), (33, 17, 9)] {
            let p = LinearParams { rows, inp, out };
            let vals = |n: usize, k: f64| -> Vec<f64> {
                (0..n).map(|i| ((i as f64 + k) * 0.37).sin()).collect()
            };
            let x = dev.upload(vals(rows * inp, 1.0));
            let w = dev.upload(vals(out * inp, 2.0));
            let b = dev.upload(vals(out, 3.0));
            let gy = dev.upload(vals(rows * out, 4.0));
            for bias in [None, Some(&b)] {
                let fused = dev.linear(p, &x, &w, bias);
                let composed = composed_linear(&dev, p, &x, &w, bias);
                assert_close(&fused, &composed);
            }
            let want = LinearWant {
                input: true,
                weight: true,
                bias: true,
            };
            let f = dev.linear_backward(p, &x, &w, &gy, want);
            let c = composed_linear_backward(&dev, p, &x, &w, &gy, want);
            assert_close(&f.0.unwrap(), &c.0.unwrap());
            assert_close(&f.1.unwrap(), &c.1.unwrap());
            assert_close(&f.2.unwrap(), &c.2.unwrap());
            let none = LinearWant {
                input: false,
                weight: false,
                bias: false,
            };
            let n = composed_linear_backward(&dev, p, &x, &w, &gy, none);
            assert!(n.0.is_none() && n.1.is_none() && n.2.is_none());
        }
    }

    fn assert_close(a: &[f64], b: &[f64]) {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() <= 1e-12 * (1.0 + y.abs()), "{x} vs {y}");
        }
    }
}
