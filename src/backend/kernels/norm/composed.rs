//! The provided methods of [`NormKernel`](super::NormKernel), composed from
//! the unary, binary and reduce kernels (a new backend's fallback; tested
//! against the CPU's fused loops).

use super::{BatchNormParams, LayerNormParams, NormGrads, NormWant};
use crate::backend::kernels::binary::{BinaryKernel, BinaryOp};
use crate::backend::kernels::reduce::{ReduceKernel, ReduceOp};
use crate::backend::kernels::unary::{UnaryKernel, UnaryOp};
use crate::dtype::Dtype;

/// What the composed forms need of a device.
pub(crate) trait Composable<E: Dtype>:
    UnaryKernel<E> + BinaryKernel<E> + ReduceKernel<E>
{
}
impl<E: Dtype, D: UnaryKernel<E> + BinaryKernel<E> + ReduceKernel<E>> Composable<E> for D {}

fn bn_dims(p: BatchNormParams) -> ([usize; 3], [usize; 2]) {
    ([p.batch, p.channels, p.inner], [p.channels, 1])
}

/// `op` over batch and inner axes of `(batch, channels, inner)`: one value
/// per channel.
fn per_channel<E: Dtype, D: Composable<E>>(
    dev: &D,
    op: ReduceOp,
    x: &D::Storage<E>,
    p: BatchNormParams,
) -> D::Storage<E> {
    let (dims, _) = bn_dims(p);
    let inner = dev.reduce(op, x, &dims, Some(2));
    dev.reduce(op, &inner, &[p.batch, p.channels], Some(0))
}

/// `1 / √(var + eps)`.
fn rstd<E: Dtype, D: Composable<E>>(dev: &D, var: &D::Storage<E>, eps: f64) -> D::Storage<E> {
    let v = dev.unary(UnaryOp::AddScalar(E::from_f64(eps)), var);
    dev.unary(UnaryOp::Powf(E::from_f64(-0.5)), &v)
}

pub(crate) fn batch_norm_stats<E: Dtype, D: Composable<E>>(
    dev: &D,
    p: BatchNormParams,
    x: &D::Storage<E>,
) -> (D::Storage<E>, D::Storage<E>) {
    let (dims, cdims) = bn_dims(p);
    let mean = per_channel(dev, ReduceOp::Mean, x, p);
    let d = dev.binary(BinaryOp::Sub, x, &dims, &mean, &cdims, &dims);
    let sq = dev.unary(UnaryOp::Square, &d);
    let var = per_channel(dev, ReduceOp::Mean, &sq, p);
    (mean, var)
}

/// `x̂ = (x - mean) · rstd` over `(batch, channels, inner)`.
fn bn_xhat<E: Dtype, D: Composable<E>>(
    dev: &D,
    p: BatchNormParams,
    x: &D::Storage<E>,
    mean: &D::Storage<E>,
    r: &D::Storage<E>,
) -> D::Storage<E> {
    let (dims, cdims) = bn_dims(p);
    let d = dev.binary(BinaryOp::Sub, x, &dims, mean, &cdims, &dims);
    dev.binary(BinaryOp::Mul, &d, &dims, r, &cdims, &dims)
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn batch_norm_forward<E: Dtype, D: Composable<E>>(
    dev: &D,
    p: BatchNormParams,
    eps: f64,
    x: &D::Storage<E>,
    mean: &D::Storage<E>,
    var: &D::Storage<E>,
    w: Option<&D::Storage<E>>,
    b: Option<&D::Storage<E>>,
) -> D::Storage<E> {
    let (dims, cdims) = bn_dims(p);
    let r = rstd(dev, var, eps);
    let mut y = bn_xhat(dev, p, x, mean, &r);
    if let Some(w) = w {
        y = dev.binary(BinaryOp::Mul, &y, &dims, w, &cdims, &dims);
    }
    if let Some(b) = b {
        y = dev.binary(BinaryOp::Add, &y, &dims, b, &cdims, &dims);
    }
    y
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn batch_norm_backward<E: Dtype, D: Composable<E>>(
    dev: &D,
    p: BatchNormParams,
    eps: f64,
    batch_stats: bool,
    x: &D::Storage<E>,
    mean: &D::Storage<E>,
    var: &D::Storage<E>,
    w: Option<&D::Storage<E>>,
    gy: &D::Storage<E>,
    want: NormWant,
) -> NormGrads<D::Storage<E>> {
    let (dims, cdims) = bn_dims(p);
    let c = [p.channels];
    let r = rstd(dev, var, eps);
    let xhat = bn_xhat(dev, p, x, mean, &r);
    let gyx = dev.binary(BinaryOp::Mul, gy, &dims, &xhat, &dims, &dims);
    let sum_gy = per_channel(dev, ReduceOp::Sum, gy, p);
    let sum_gyx = per_channel(dev, ReduceOp::Sum, &gyx, p);
    let gx = want.input.then(|| {
        // scale = w · rstd, per channel.
        let scale = match w {
            Some(w) => dev.binary(BinaryOp::Mul, w, &c, &r, &c, &c),
            None => r.clone(),
        };
        let g = if batch_stats {
            let m = E::from_f64(1.0 / p.per_channel() as f64);
            let mg = dev.unary(UnaryOp::MulScalar(m), &sum_gy);
            let mgx = dev.unary(UnaryOp::MulScalar(m), &sum_gyx);
            let centred = dev.binary(BinaryOp::Sub, gy, &dims, &mg, &cdims, &dims);
            let proj = dev.binary(BinaryOp::Mul, &xhat, &dims, &mgx, &cdims, &dims);
            dev.binary(BinaryOp::Sub, &centred, &dims, &proj, &dims, &dims)
        } else {
            gy.clone()
        };
        dev.binary(BinaryOp::Mul, &g, &dims, &scale, &cdims, &dims)
    });
    (
        gx,
        want.weight.then_some(sum_gyx),
        want.bias.then_some(sum_gy),
    )
}

pub(crate) fn layer_norm_forward<E: Dtype, D: Composable<E>>(
    dev: &D,
    p: LayerNormParams,
    eps: f64,
    x: &D::Storage<E>,
    w: Option<&D::Storage<E>>,
    b: Option<&D::Storage<E>>,
) -> (D::Storage<E>, D::Storage<E>, D::Storage<E>) {
    let dims = [p.rows, p.cols];
    let rdims = [p.rows, 1];
    let mean = dev.reduce(ReduceOp::Mean, x, &dims, Some(1));
    let var = dev.reduce(ReduceOp::Var { correction: 0 }, x, &dims, Some(1));
    let r = rstd(dev, &var, eps);
    let d = dev.binary(BinaryOp::Sub, x, &dims, &mean, &rdims, &dims);
    let mut y = dev.binary(BinaryOp::Mul, &d, &dims, &r, &rdims, &dims);
    if let Some(w) = w {
        y = dev.binary(BinaryOp::Mul, &y, &dims, w, &[p.cols], &dims);
    }
    if let Some(b) = b {
        y = dev.binary(BinaryOp::Add, &y, &dims, b, &[p.cols], &dims);
    }
    (y, mean, r)
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn layer_norm_backward<E: Dtype, D: Composable<E>>(
    dev: &D,
    p: LayerNormParams,
    x: &D::Storage<E>,
    mean: &D::Storage<E>,
    rstd: &D::Storage<E>,
    w: Option<&D::Storage<E>>,
    gy: &D::Storage<E>,
    want: NormWant,
) -> NormGrads<D::Storage<E>> {
    let dims = [p.rows, p.cols];
    let rdims = [p.rows, 1];
    let d = dev.binary(BinaryOp::Sub, x, &dims, mean, &rdims, &dims);
    let xhat = dev.binary(BinaryOp::Mul, &d, &dims, rstd, &rdims, &dims);
    let gyx = dev.binary(BinaryOp::Mul, gy, &dims, &xhat, &dims, &dims);
    let gx = want.input.then(|| {
        let g = match w {
            Some(w) => dev.binary(BinaryOp::Mul, gy, &dims, w, &[p.cols], &dims),
            None => gy.clone(),
        };
        let gxh = dev.binary(BinaryOp::Mul, &g, &dims, &xhat, &dims, &dims);
        let mg = dev.reduce(ReduceOp::Mean, &g, &dims, Some(1));
        let mgx = dev.reduce(ReduceOp::Mean, &gxh, &dims, Some(1));
        let centred = dev.binary(BinaryOp::Sub, &g, &dims, &mg, &rdims, &dims);
        let proj = dev.binary(BinaryOp::Mul, &xhat, &dims, &mgx, &rdims, &dims);
        let inner = dev.binary(BinaryOp::Sub, &centred, &dims, &proj, &dims, &dims);
        dev.binary(BinaryOp::Mul, &inner, &dims, rstd, &rdims, &dims)
    });
    (
        gx,
        want.weight
            .then(|| dev.reduce(ReduceOp::Sum, &gyx, &dims, Some(0))),
        want.bias
            .then(|| dev.reduce(ReduceOp::Sum, gy, &dims, Some(0))),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::kernels::norm::NormKernel;
    use crate::backend::{Backend, Cpu};
    use alloc::vec::Vec;

    fn vals(n: usize, k: f64) -> Vec<f64> {
        (0..n)
            .map(|i| ((i as f64 + k) * 0.37).sin() * 2.0 + 0.5)
            .collect()
    }

    fn close(a: &[f64], b: &[f64]) {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() <= 1e-10 * (1.0 + y.abs()), "{x} vs {y}");
        }
    }

    fn close_grads(
        a: NormGrads<crate::backend::cpu::CpuStorage<f64>>,
        b: NormGrads<crate::backend::cpu::CpuStorage<f64>>,
    ) {
        for (x, y) in [(a.0, b.0), (a.1, b.1), (a.2, b.2)] {
            assert_eq!(x.is_some(), y.is_some());
            if let (Some(x), Some(y)) = (x, y) {
                close(&x, &y);
            }
        }
    }

    /// The provided (composed) methods agree with the CPU's fused loops,
    /// with and without affine parameters, in both modes, including the
    /// sizes that take the parallel paths.
    #[test]
    fn composed_matches_fused_cpu() {
        let dev = Cpu::default();
        let all = NormWant {
            input: true,
            weight: true,
            bias: true,
        };
        let some = NormWant {
            input: false,
            weight: true,
            bias: false,
        };
        for (batch, channels, inner) in [(4, 3, 5), (7, 2, 1), (2, 5, 33), (8, 4, 1200)] {
            let p = BatchNormParams {
                batch,
                channels,
                inner,
            };
            let n = batch * channels * inner;
            let x = dev.upload(vals(n, 1.0));
            let gy = dev.upload(vals(n, 4.0));
            let w = dev.upload(vals(channels, 2.0));
            let b = dev.upload(vals(channels, 3.0));
            let (fm, fv) = dev.batch_norm_stats(p, &x);
            let (cm, cv) = batch_norm_stats(&dev, p, &x);
            close(&fm, &cm);
            close(&fv, &cv);
            for (wo, bo) in [(Some(&w), Some(&b)), (None, None)] {
                let f = dev.batch_norm_forward(p, 1e-5, &x, &fm, &fv, wo, bo);
                let c = batch_norm_forward(&dev, p, 1e-5, &x, &fm, &fv, wo, bo);
                close(&f, &c);
                for batch_stats in [true, false] {
                    for want in [all, some] {
                        let f = dev.batch_norm_backward(
                            p,
                            1e-5,
                            batch_stats,
                            &x,
                            &fm,
                            &fv,
                            wo,
                            &gy,
                            want,
                        );
                        let c = batch_norm_backward(
                            &dev,
                            p,
                            1e-5,
                            batch_stats,
                            &x,
                            &fm,
                            &fv,
                            wo,
                            &gy,
                            want,
                        );
                        close_grads(f, c);
                    }
                }
            }
        }
        for (rows, cols) in [(3, 4), (1, 7), (5, 1), (700, 64)] {
            let p = LayerNormParams { rows, cols };
            let x = dev.upload(vals(rows * cols, 1.5));
            let gy = dev.upload(vals(rows * cols, 2.5));
            let w = dev.upload(vals(cols, 3.5));
            let b = dev.upload(vals(cols, 4.5));
            for (wo, bo) in [(Some(&w), Some(&b)), (Some(&w), None), (None, None)] {
                let (fy, fm, fr) = dev.layer_norm_forward(p, 1e-5, &x, wo, bo);
                let (cy, cm, cr) = layer_norm_forward(&dev, p, 1e-5, &x, wo, bo);
                close(&fy, &cy);
                close(&fm, &cm);
                close(&fr, &cr);
                for want in [all, some] {
                    let f = dev.layer_norm_backward(p, &x, &fm, &fr, wo, &gy, want);
                    let c = layer_norm_backward(&dev, p, &x, &fm, &fr, wo, &gy, want);
                    close_grads(f, c);
                }
            }
        }
    }
}
