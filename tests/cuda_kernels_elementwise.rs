//! Every CUDA kernel of the elementwise, reduction, index, movement,
//! optimizer and random families against the CPU kernel (the spec) on random
//! inputs: several shapes, broadcasting, odd sizes, permuted layouts, ties
//! and NaNs where the CPU defines them. `f32` within 1e-5 relative, `f64`
//! within 1e-12 (plus an absolute floor scaled to the length of a sum).
//! Without a GPU every test says "skipped: no CUDA device" once and passes.
#![cfg(feature = "cuda")]

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::sync::OnceLock;
use typegrad::backend::cuda::Cuda;
use typegrad::backend::random::{
    philox_block, philox_keep, philox_normal, philox_uniform, RandomKernel, Stream,
};
use typegrad::backend::{Backend, Cpu, Device};
use typegrad::dtype::Dtype;
use typegrad::ops::binary::{BinaryKernel, BinaryOp};
use typegrad::ops::index::{CmpOp, IndexKernel};
use typegrad::ops::movement::{MovementKernel, RowCopy, RowLayout};
use typegrad::ops::reduce::{CrossEntropySpec, ReduceKernel, ReduceOp};
use typegrad::ops::unary::{Saved, UnaryKernel, UnaryOp};
use typegrad::optim::{AdamStep, OptimKernel, SgdStep};

/// One device for the whole file (its kernels compile once).
static GPU: OnceLock<Option<Cuda>> = OnceLock::new();

/// The GPU, or `None` after printing the skip line once.
fn gpu() -> Option<Cuda> {
    GPU.get_or_init(|| match Cuda::new(0) {
        Ok(g) => Some(g),
        Err(e) => {
            eprintln!("skipped: no CUDA device ({e})");
            None
        }
    })
    .clone()
}

/// The kernel traits under test (the CUDA device implements these, not yet
/// all of `Device<E>`).
trait Dev<E: Dtype>:
    Backend
    + UnaryKernel<E>
    + BinaryKernel<E>
    + ReduceKernel<E>
    + IndexKernel<E>
    + MovementKernel<E>
    + OptimKernel<E>
{
}
impl<E: Dtype, G> Dev<E> for G where
    G: Backend
        + UnaryKernel<E>
        + BinaryKernel<E>
        + ReduceKernel<E>
        + IndexKernel<E>
        + MovementKernel<E>
        + OptimKernel<E>
{
}

macro_rules! both {
    ($name:ident, $body:ident) => {
        #[test]
        fn $name() {
            let Some(g) = gpu() else { return };
            $body::<f32, Cuda>(&g);
            $body::<f64, Cuda>(&g);
        }
    };
}

fn is_f32<E: Dtype>() -> bool {
    E::NAME == "f32"
}

/// Relative tolerance of the element type.
fn rtol<E: Dtype>() -> f64 {
    if is_f32::<E>() {
        1e-5
    } else {
        1e-12
    }
}

fn data<E: Dtype>(n: usize, seed: u64, lo: f64, hi: f64) -> Vec<E> {
    let mut r = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|_| E::from_f64(r.random_range(lo..hi)))
        .collect()
}

/// Values on a grid of 0.5 (ties for max/min/compare).
fn grid<E: Dtype>(n: usize, seed: u64) -> Vec<E> {
    let mut r = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|_| E::from_f64(r.random_range(-4i32..4) as f64 * 0.5))
        .collect()
}

fn idx(n: usize, below: usize, seed: u64) -> Vec<usize> {
    let mut r = StdRng::seed_from_u64(seed);
    (0..n).map(|_| r.random_range(0..below)).collect()
}

/// GPU and CPU copies of `v`.
fn up<E: Dtype, G: Backend>(
    g: &G,
    v: &[E],
) -> (G::Storage<E>, typegrad::backend::cpu::CpuStorage<E>) {
    (g.upload(v.to_vec()), Cpu::default().upload(v.to_vec()))
}

/// `|gpu - cpu| <= rtol·|cpu| + atol` elementwise (NaN matches NaN).
#[track_caller]
fn close_abs<E: Dtype>(what: &str, gpu: &[E], cpu: &[E], atol: f64) {
    assert_eq!(gpu.len(), cpu.len(), "{what}: lengths differ");
    let rt = rtol::<E>();
    for (i, (&a, &b)) in gpu.iter().zip(cpu).enumerate() {
        let (a, b) = (a.to_f64(), b.to_f64());
        if a.is_nan() && b.is_nan() || a == b {
            continue;
        }
        assert!(
            (a - b).abs() <= rt * b.abs() + atol,
            "{what} ({}): element {i}: cuda {a} vs cpu {b}",
            E::NAME
        );
    }
}

#[track_caller]
fn close<E: Dtype>(what: &str, gpu: &[E], cpu: &[E]) {
    close_abs(what, gpu, cpu, rtol::<E>() * 0.1)
}

fn unary_ops<E: Dtype>() -> Vec<(UnaryOp<E>, bool)> {
    let c = E::from_f64;
    // (op, needs positive input)
    vec![
        (UnaryOp::Neg, false),
        (UnaryOp::Exp, false),
        (UnaryOp::Ln, true),
        (UnaryOp::Sqrt, true),
        (UnaryOp::Square, false),
        (UnaryOp::Abs, false),
        (UnaryOp::Powf(c(2.5)), true),
        (UnaryOp::Powf(c(0.0)), true),
        (UnaryOp::Powf(c(-1.5)), true),
        (UnaryOp::Tanh, false),
        (UnaryOp::Sigmoid, false),
        (UnaryOp::Relu, false),
        (UnaryOp::LeakyRelu(c(0.1)), false),
        (UnaryOp::GeluErf, false),
        (UnaryOp::GeluTanh, false),
        (UnaryOp::Silu, false),
        (UnaryOp::Clamp(c(-0.5), c(1.0)), false),
        (UnaryOp::AddScalar(c(0.75)), false),
        (UnaryOp::MulScalar(c(-1.25)), false),
        (UnaryOp::Sin, false),
        (UnaryOp::Cos, false),
    ]
}

fn unary_case<E: Dtype, G: Dev<E>>(g: &G)
where
    Cpu: Device<E>,
{
    let cpu = Cpu::default();
    for (k, &n) in [1usize, 257, 10_007].iter().enumerate() {
        for (op, positive) in unary_ops::<E>() {
            let x = if positive {
                data::<E>(n, k as u64, 0.1, 3.0)
            } else {
                data::<E>(n, k as u64, -4.0, 4.0)
            };
            let gy = data::<E>(n, 100 + k as u64, -1.0, 1.0);
            let (xg, xc) = up(g, &x);
            let (gyg, gyc) = up(g, &gy);
            let yg = g.unary(op, &xg);
            let yc = cpu.unary(op, &xc);
            close(&format!("unary {op:?} n={n}"), &g.download(&yg), &yc);
            let (sg, sc) = match op.saves() {
                Saved::Input => (xg.clone(), xc.clone()),
                Saved::Output => (yg.clone(), yc.clone()),
                Saved::Nothing => (gyg.clone(), gyc.clone()),
            };
            let gg = g.unary_backward(op, &sg, &gyg);
            let gc = cpu.unary_backward(op, &sc, &gyc);
            close(
                &format!("unary_backward {op:?} n={n}"),
                &g.download(&gg),
                &gc,
            );
        }
    }
}
both!(unary_matches_cpu, unary_case);

/// (a dims, b dims, out dims).
fn binary_shapes() -> Vec<(Vec<usize>, Vec<usize>, Vec<usize>)> {
    vec![
        (vec![2, 3, 4], vec![2, 3, 4], vec![2, 3, 4]),
        (vec![2, 3, 4], vec![4], vec![2, 3, 4]),
        (vec![4], vec![2, 3, 4], vec![2, 3, 4]),
        (vec![2, 1, 4], vec![3, 1], vec![2, 3, 4]),
        (vec![5], vec![1], vec![5]),
        (vec![1], vec![3, 5], vec![3, 5]),
        (vec![7, 1, 5], vec![1, 6, 1], vec![7, 6, 5]),
        (
            vec![2, 1, 3, 1, 2, 1],
            vec![1, 4, 1, 3, 1, 5],
            vec![2, 4, 3, 3, 2, 5],
        ),
        (vec![1031], vec![1031], vec![1031]),
    ]
}

fn binary_case<E: Dtype, G: Dev<E>>(g: &G)
where
    Cpu: Device<E>,
{
    let cpu = Cpu::default();
    let ops = [
        BinaryOp::Add,
        BinaryOp::Sub,
        BinaryOp::Mul,
        BinaryOp::Div,
        BinaryOp::Maximum,
        BinaryOp::Minimum,
    ];
    for (k, (ad, bd, od)) in binary_shapes().into_iter().enumerate() {
        let (na, nb, no): (usize, usize, usize) = (
            ad.iter().product(),
            bd.iter().product(),
            od.iter().product(),
        );
        for quant in [false, true] {
            let (a, mut b) = if quant {
                (grid::<E>(na, k as u64), grid::<E>(nb, 50 + k as u64))
            } else {
                (
                    data::<E>(na, k as u64, -2.0, 2.0),
                    data::<E>(nb, 50 + k as u64, -2.0, 2.0),
                )
            };
            // Keep divisors away from 0.
            for v in b.iter_mut() {
                if v.to_f64().abs() < 0.25 {
                    *v = E::from_f64(0.75);
                }
            }
            let gy = data::<E>(no, 99 + k as u64, -1.0, 1.0);
            let ((ag, ac), (bg, bc), (gyg, gyc)) = (up(g, &a), up(g, &b), up(g, &gy));
            for op in ops {
                let what = format!("binary {op:?} {ad:?} {bd:?} quant={quant}");
                let yg = g.binary(op, &ag, &ad, &bg, &bd, &od);
                let yc = cpu.binary(op, &ac, &ad, &bc, &bd, &od);
                close(&what, &g.download(&yg), &yc);
                for want in [(true, true), (true, false), (false, true)] {
                    let keep = op.reads_operands();
                    let (ga, gb) = g.binary_backward(
                        op,
                        keep.then_some(&ag),
                        &ad,
                        keep.then_some(&bg),
                        &bd,
                        &od,
                        &gyg,
                        want,
                    );
                    let (ca, cb) = cpu.binary_backward(
                        op,
                        keep.then_some(&ac),
                        &ad,
                        keep.then_some(&bc),
                        &bd,
                        &od,
                        &gyc,
                        want,
                    );
                    assert_eq!((ga.is_some(), gb.is_some()), want, "{what}: sides returned");
                    let atol = rtol::<E>() * (no as f64).sqrt() * 4.0;
                    if let (Some(x), Some(y)) = (&ga, &ca) {
                        close_abs(&format!("{what} grad a {want:?}"), &g.download(x), y, atol);
                    }
                    if let (Some(x), Some(y)) = (&gb, &cb) {
                        close_abs(&format!("{what} grad b {want:?}"), &g.download(x), y, atol);
                    }
                }
            }
        }
    }
}
both!(binary_matches_cpu, binary_case);

fn add_assign_case<E: Dtype, G: Dev<E>>(g: &G)
where
    Cpu: Device<E>,
{
    let cpu = Cpu::default();
    let (a, b) = (data::<E>(1000, 1, -1.0, 1.0), data::<E>(1000, 2, -1.0, 1.0));
    let ((mut ag, mut ac), (bg, bc)) = (up(g, &a), up(g, &b));
    let shared = ag.clone();
    g.add_assign(&mut ag, &bg);
    cpu.add_assign(&mut ac, &bc);
    close("add_assign", &g.download(&ag), &ac);
    // The other handle of a shared buffer does not see the update.
    assert_eq!(g.download(&shared), a);
    // Accumulating a buffer into itself.
    let mut self_g = bg.clone();
    g.add_assign(&mut self_g, &bg);
    let twice: Vec<E> = b.iter().map(|&v| v + v).collect();
    assert_eq!(g.download(&self_g), twice);
}
both!(add_assign_matches_cpu, add_assign_case);

fn reduce_ops() -> Vec<ReduceOp> {
    vec![
        ReduceOp::Sum,
        ReduceOp::Mean,
        ReduceOp::Max,
        ReduceOp::Min,
        ReduceOp::Var { correction: 0 },
        ReduceOp::Var { correction: 1 },
        ReduceOp::LogSumExp,
    ]
}

fn reduce_case<E: Dtype, G: Dev<E>>(g: &G)
where
    Cpu: Device<E>,
{
    let cpu = Cpu::default();
    let cases: Vec<(Vec<usize>, Vec<Option<usize>>)> = vec![
        (vec![3, 5, 7], vec![None, Some(0), Some(1), Some(2)]),
        (vec![10_001], vec![None, Some(0)]),
        (vec![4, 3000], vec![Some(1), Some(0)]),
        // Many outputs with inner > 1: one thread per output.
        (vec![64, 9, 70], vec![Some(1), Some(0)]),
        (vec![2, 1, 3, 1, 2, 3], vec![Some(1), Some(4), Some(5)]),
    ];
    for (k, (dims, axes)) in cases.into_iter().enumerate() {
        let n: usize = dims.iter().product();
        for quant in [false, true] {
            let x = if quant {
                grid::<E>(n, k as u64)
            } else {
                data::<E>(n, k as u64, -3.0, 3.0)
            };
            let (xg, xc) = up(g, &x);
            for &axis in &axes {
                let red = axis.map_or(n, |a| dims[a]);
                let atol = rtol::<E>() * (red as f64).sqrt() * 8.0;
                for op in reduce_ops() {
                    let what = format!("reduce {op:?} {dims:?} axis {axis:?} quant={quant}");
                    let yg = g.reduce(op, &xg, &dims, axis);
                    let yc = cpu.reduce(op, &xc, &dims, axis);
                    close_abs(&what, &g.download(&yg), &yc, atol);
                    let m = yc.len();
                    let gy = data::<E>(m, 7 + k as u64, -1.0, 1.0);
                    let (gyg, gyc) = up(g, &gy);
                    // Each device's backward gets its own forward output (ties
                    // of max/min compare against it).
                    let gg = g.reduce_backward(op, &xg, &yg, &gyg, &dims, axis);
                    let gc = cpu.reduce_backward(op, &xc, &yc, &gyc, &dims, axis);
                    close_abs(&format!("{what} backward"), &g.download(&gg), &gc, atol);
                }
            }
        }
    }
    // NaN propagates through max/min and logsumexp.
    let mut x = data::<E>(12, 3, -1.0, 1.0);
    x[5] = E::nan();
    let (xg, xc) = up(g, &x);
    for op in [
        ReduceOp::Max,
        ReduceOp::Min,
        ReduceOp::LogSumExp,
        ReduceOp::Sum,
    ] {
        close(
            &format!("{op:?} with NaN"),
            &g.download(&g.reduce(op, &xg, &[3, 4], Some(1))),
            &cpu.reduce(op, &xc, &[3, 4], Some(1)),
        );
    }
    // An all -inf row: logsumexp is -inf and its gradient 0.
    let x = vec![E::neg_infinity(); 4];
    let (xg, xc) = up(g, &x);
    let (yg, yc) = (
        g.reduce(ReduceOp::LogSumExp, &xg, &[2, 2], Some(1)),
        cpu.reduce(ReduceOp::LogSumExp, &xc, &[2, 2], Some(1)),
    );
    assert_eq!(g.download(&yg), yc.to_vec());
    let (gyg, gyc) = up(g, &[E::one(), E::one()]);
    assert_eq!(
        g.download(&g.reduce_backward(ReduceOp::LogSumExp, &xg, &yg, &gyg, &[2, 2], Some(1))),
        cpu.reduce_backward(ReduceOp::LogSumExp, &xc, &yc, &gyc, &[2, 2], Some(1))
            .to_vec()
    );
}
both!(reduce_matches_cpu, reduce_case);

fn sum_to_case<E: Dtype, G: Dev<E>>(g: &G)
where
    Cpu: Device<E>,
{
    let cpu = Cpu::default();
    let cases: Vec<(Vec<usize>, Vec<usize>)> = vec![
        (vec![2, 3, 4], vec![3, 4]),
        (vec![2, 3, 4], vec![3, 1]),
        (vec![2, 3, 4], vec![1]),
        (vec![2, 3, 4], vec![2, 1, 4]),
        (vec![5, 1, 6], vec![6]),
        (vec![2, 3, 4], vec![2, 3, 4]),
        (vec![512, 384], vec![384]),
        (vec![3, 4, 5, 6], vec![4, 1, 6]),
    ];
    for (k, (from, to)) in cases.into_iter().enumerate() {
        let n: usize = from.iter().product();
        let x = data::<E>(n, k as u64, -2.0, 2.0);
        let (xg, xc) = up(g, &x);
        let atol = rtol::<E>() * (n as f64).sqrt() * 8.0;
        close_abs(
            &format!("sum_to {from:?} -> {to:?}"),
            &g.download(&g.sum_to(&xg, &from, &to)),
            &cpu.sum_to(&xc, &from, &to),
            atol,
        );
    }
}
both!(sum_to_matches_cpu, sum_to_case);

fn softmax_case<E: Dtype, G: Dev<E>>(g: &G)
where
    Cpu: Device<E>,
{
    let cpu = Cpu::default();
    let cases: Vec<(Vec<usize>, usize)> = vec![
        (vec![4, 10], 1),
        (vec![3, 5, 7], 0),
        (vec![3, 5, 7], 1),
        (vec![3, 5, 7], 2),
        (vec![2, 1000], 1),
        (vec![1, 1], 1),
        (vec![2, 3, 4, 5], 2),
    ];
    for (k, (dims, axis)) in cases.into_iter().enumerate() {
        let n: usize = dims.iter().product();
        let x = data::<E>(n, k as u64, -20.0, 20.0);
        let gy = data::<E>(n, 40 + k as u64, -1.0, 1.0);
        let ((xg, xc), (gyg, gyc)) = (up(g, &x), up(g, &gy));
        for log in [false, true] {
            let what = format!("softmax {dims:?} axis {axis} log={log}");
            let yg = g.softmax(&xg, &dims, axis, log);
            let yc = cpu.softmax(&xc, &dims, axis, log);
            close_abs(&what, &g.download(&yg), &yc, rtol::<E>() * 0.1);
            let atol = rtol::<E>() * (dims[axis] as f64).sqrt() * 4.0;
            close_abs(
                &format!("{what} backward"),
                &g.download(&g.softmax_backward(&yg, &gyg, &dims, axis, log)),
                &cpu.softmax_backward(&yc, &gyc, &dims, axis, log),
                atol,
            );
        }
    }
}
both!(softmax_matches_cpu, softmax_case);

fn cross_entropy_case<E: Dtype, G: Dev<E>>(g: &G)
where
    Cpu: Device<E>,
{
    let cpu = Cpu::default();
    for (k, &(rows, classes)) in [(37usize, 11usize), (1, 3), (300, 1000)].iter().enumerate() {
        let scale = if k == 1 { 1e4 } else { 5.0 };
        let x = data::<E>(rows * classes, k as u64, -scale, scale);
        let t = idx(rows, classes, 9 + k as u64);
        // The same targets with row 1 set to an index that is only valid as
        // the ignored one.
        let mut t_ign = t.clone();
        if rows > 2 {
            t_ign[1] = 999_999;
        }
        let xg_xc = up(g, &x);
        let (xg, xc) = (&xg_xc.0, &xg_xc.1);
        for (smoothing, ignore, tv) in [
            (0.0, None, &t),
            (0.1, Some(999_999), &t_ign),
            (0.0, Some(999_999), &t_ign),
            (0.3, Some(t[0]), &t),
        ] {
            let (tg, tc) = (g.upload(tv.clone()), cpu.upload(tv.clone()));
            let spec = CrossEntropySpec {
                rows,
                classes,
                label_smoothing: smoothing,
                ignore_index: ignore,
                class_axis: 1,
            };
            let what = format!("cross_entropy {rows}x{classes} eps={smoothing} ignore={ignore:?}");
            let (lg, sg) = g.cross_entropy(xg, &tg, spec).unwrap();
            let (lc, sc) = cpu.cross_entropy(xc, &tc, spec).unwrap();
            let atol = rtol::<E>() * (classes as f64).sqrt() * 8.0 * scale;
            close_abs(&what, &g.download(&lg), &lc, atol);
            close_abs(&format!("{what} stats"), &g.download(&sg), &sc, atol);
            let (gyg, gyc) = up(g, &[E::from_f64(0.7)]);
            close_abs(
                &format!("{what} backward"),
                &g.download(&g.cross_entropy_backward(xg, &sg, &tg, &gyg, spec)),
                &cpu.cross_entropy_backward(xc, &sc, &tc, &gyc, spec),
                rtol::<E>() * 0.1,
            );
        }
        // A target out of range is the same error on both devices.
        let spec = CrossEntropySpec {
            rows,
            classes,
            label_smoothing: 0.0,
            ignore_index: None,
            class_axis: 1,
        };
        let mut bad = t.clone();
        bad[rows - 1] = classes + 3;
        if rows > 2 {
            bad[1] = 0;
        }
        let eg = g
            .cross_entropy(xg, &g.upload(bad.clone()), spec)
            .unwrap_err();
        let ec = cpu.cross_entropy(xc, &cpu.upload(bad), spec).unwrap_err();
        assert_eq!(eg, ec);
    }
}
both!(cross_entropy_matches_cpu, cross_entropy_case);

fn bce_case<E: Dtype, G: Dev<E>>(g: &G)
where
    Cpu: Device<E>,
{
    let cpu = Cpu::default();
    for (k, &n) in [1usize, 1000, 5003].iter().enumerate() {
        let x = data::<E>(n, k as u64, -30.0, 30.0);
        let y = data::<E>(n, 5 + k as u64, 0.0, 1.0);
        let ((xg, xc), (yg, yc)) = (up(g, &x), up(g, &y));
        let atol = rtol::<E>() * (n as f64).sqrt() * 8.0;
        close_abs(
            &format!("bce n={n}"),
            &g.download(&g.bce_with_logits(&xg, &yg)),
            &cpu.bce_with_logits(&xc, &yc),
            atol,
        );
        let (gyg, gyc) = up(g, &[E::from_f64(-1.3)]);
        for want in [(true, true), (true, false), (false, true)] {
            let (a, b) = g.bce_with_logits_backward(&xg, &yg, &gyg, want);
            let (c, d) = cpu.bce_with_logits_backward(&xc, &yc, &gyc, want);
            assert_eq!((a.is_some(), b.is_some()), want);
            if let (Some(a), Some(c)) = (a, c) {
                close(&format!("bce backward x n={n}"), &g.download(&a), &c);
            }
            if let (Some(b), Some(d)) = (b, d) {
                close(&format!("bce backward y n={n}"), &g.download(&b), &d);
            }
        }
    }
}
both!(bce_matches_cpu, bce_case);

fn index_case<E: Dtype, G: Dev<E>>(g: &G)
where
    Cpu: Device<E>,
{
    let cpu = Cpu::default();
    // index_select and its backward (duplicates accumulate), on every axis.
    let dims = vec![3usize, 5, 4];
    let n: usize = dims.iter().product();
    let x = data::<E>(n, 1, -2.0, 2.0);
    let (xg, xc) = up(g, &x);
    for axis in 0..3 {
        let ids = idx(7, dims[axis], 3 + axis as u64);
        let (ig, ic) = (g.upload(ids.clone()), cpu.upload(ids.clone()));
        let yg = g.index_select(&xg, &dims, axis, &ig).unwrap();
        let yc = cpu.index_select(&xc, &dims, axis, &ic).unwrap();
        assert_eq!(g.download(&yg), yc.to_vec(), "index_select axis {axis}");
        let gy = data::<E>(yc.len(), 11, -1.0, 1.0);
        let (gyg, gyc) = up(g, &gy);
        close(
            &format!("index_select_backward axis {axis}"),
            &g.download(&g.index_select_backward(&gyg, &dims, axis, &ig)),
            &cpu.index_select_backward(&gyc, &dims, axis, &ic),
        );
        // gather: one index per position of dims without `axis`.
        let m = n / dims[axis];
        let gids = idx(m, dims[axis], 20 + axis as u64);
        let (gig, gic) = (g.upload(gids.clone()), cpu.upload(gids.clone()));
        let yg = g.gather(&xg, &dims, axis, &gig).unwrap();
        let yc = cpu.gather(&xc, &dims, axis, &gic).unwrap();
        assert_eq!(g.download(&yg), yc.to_vec(), "gather axis {axis}");
        let gy = data::<E>(m, 12, -1.0, 1.0);
        let (gyg, gyc) = up(g, &gy);
        close(
            &format!("gather_backward axis {axis}"),
            &g.download(&g.gather_backward(&gyg, &dims, axis, &gig)),
            &cpu.gather_backward(&gyc, &dims, axis, &gic),
        );
        // An index out of range: the same error.
        let mut bad = ids.clone();
        bad[4] = dims[axis] + 2;
        bad[6] = dims[axis] + 9;
        assert_eq!(
            g.index_select(&xg, &dims, axis, &g.upload(bad.clone()))
                .unwrap_err(),
            cpu.index_select(&xc, &dims, axis, &cpu.upload(bad))
                .unwrap_err()
        );
        let mut bad = gids.clone();
        bad[m - 1] = dims[axis];
        assert_eq!(
            g.gather(&xg, &dims, axis, &g.upload(bad.clone()))
                .unwrap_err(),
            cpu.gather(&xc, &dims, axis, &cpu.upload(bad)).unwrap_err()
        );
    }
    // Embedding-sized lookup with many duplicates.
    let (v, d) = (50usize, 64usize);
    let table = data::<E>(v * d, 30, -1.0, 1.0);
    let (tg, tc) = up(g, &table);
    let ids = idx(4000, v, 31);
    let (ig, ic) = (g.upload(ids.clone()), cpu.upload(ids));
    let gy = data::<E>(4000 * d, 32, -1.0, 1.0);
    let (gyg, gyc) = up(g, &gy);
    assert_eq!(
        g.download(&g.index_select(&tg, &[v, d], 0, &ig).unwrap()),
        cpu.index_select(&tc, &[v, d], 0, &ic).unwrap().to_vec()
    );
    close_abs(
        "embedding backward",
        &g.download(&g.index_select_backward(&gyg, &[v, d], 0, &ig)),
        &cpu.index_select_backward(&gyc, &[v, d], 0, &ic),
        rtol::<E>() * 100.0,
    );
}
both!(index_select_and_gather_match_cpu, index_case);

fn mask_case<E: Dtype, G: Dev<E>>(g: &G)
where
    Cpu: Device<E>,
{
    let cpu = Cpu::default();
    let cases: Vec<(Vec<usize>, Vec<usize>)> = vec![
        (vec![2, 3, 4, 4], vec![2, 3, 4, 4]),
        (vec![2, 3, 4, 4], vec![4, 4]),
        (vec![2, 3, 4, 5], vec![3, 1, 5]),
        (vec![2, 3, 4, 5], vec![1]),
        (vec![2, 3, 4, 5], vec![2, 1, 1, 1]),
        (vec![7], vec![7]),
    ];
    for (k, (dims, md)) in cases.into_iter().enumerate() {
        let n: usize = dims.iter().product();
        let nm: usize = md.iter().product();
        let mut r = StdRng::seed_from_u64(k as u64);
        let mask: Vec<bool> = (0..nm).map(|_| r.random_bool(0.4)).collect();
        let (mg, mc) = (g.upload(mask.clone()), cpu.upload(mask));
        let (a, b) = (data::<E>(n, 1, -2.0, 2.0), data::<E>(n, 2, -2.0, 2.0));
        let ((ag, ac), (bg, bc)) = (up(g, &a), up(g, &b));
        let what = format!("{dims:?} mask {md:?}");
        assert_eq!(
            g.download(&g.where_cond(&mg, &md, &ag, &bg, &dims)),
            cpu.where_cond(&mc, &md, &ac, &bc, &dims).to_vec(),
            "where {what}"
        );
        for want in [(true, true), (true, false), (false, true)] {
            let (x, y) = g.where_backward(&mg, &md, &ag, &dims, want);
            let (u, v) = cpu.where_backward(&mc, &md, &ac, &dims, want);
            assert_eq!((x.is_some(), y.is_some()), want);
            assert_eq!(
                x.map(|s| g.download(&s)),
                u.map(|s| s.to_vec()),
                "where_backward a {what}"
            );
            assert_eq!(
                y.map(|s| g.download(&s)),
                v.map(|s| s.to_vec()),
                "where_backward b {what}"
            );
        }
        let fill = E::from_f64(-1e9);
        assert_eq!(
            g.download(&g.masked_fill(&ag, &dims, &mg, &md, fill)),
            cpu.masked_fill(&ac, &dims, &mc, &md, fill).to_vec(),
            "masked_fill {what}"
        );
    }
}
both!(where_and_masked_fill_match_cpu, mask_case);

fn compare_case<E: Dtype, G: Dev<E>>(g: &G)
where
    Cpu: Device<E>,
{
    let cpu = Cpu::default();
    let mut a = grid::<E>(1001, 1);
    let b = grid::<E>(1001, 2);
    a[3] = E::nan();
    let ((ag, ac), (bg, bc)) = (up(g, &a), up(g, &b));
    for op in [
        CmpOp::Eq,
        CmpOp::Ne,
        CmpOp::Lt,
        CmpOp::Le,
        CmpOp::Gt,
        CmpOp::Ge,
    ] {
        assert_eq!(
            g.download(&g.compare(op, &ag, &bg)),
            cpu.compare(op, &ac, &bc).to_vec(),
            "compare {op:?}"
        );
        for v in [E::from_f64(0.5), E::nan()] {
            assert_eq!(
                g.download(&g.compare_scalar(op, &ag, v)),
                cpu.compare_scalar(op, &ac, v).to_vec(),
                "compare_scalar {op:?} {v}"
            );
        }
    }
    // argmax/argmin: ties go to the first, a NaN wins.
    for (k, (dims, nan_at)) in [
        (vec![6usize, 7, 5], None),
        (vec![6, 7, 5], Some(40)),
        (vec![1000], None),
        (vec![3, 1], None),
    ]
    .into_iter()
    .enumerate()
    {
        let n: usize = dims.iter().product();
        let mut x = grid::<E>(n, 10 + k as u64);
        if let Some(i) = nan_at {
            x[i] = E::nan();
        }
        let (xg, xc) = up(g, &x);
        for axis in 0..dims.len() {
            for largest in [true, false] {
                assert_eq!(
                    g.download(&g.arg_extreme(&xg, &dims, axis, largest).unwrap()),
                    cpu.arg_extreme(&xc, &dims, axis, largest).unwrap().to_vec(),
                    "arg_extreme {dims:?} axis {axis} largest={largest}"
                );
            }
        }
    }
}
both!(compare_and_arg_extreme_match_cpu, compare_case);

fn movement_case<E: Dtype, G: Dev<E>>(g: &G)
where
    Cpu: Device<E>,
{
    let cpu = Cpu::default();
    let perms: Vec<(Vec<usize>, Vec<usize>)> = vec![
        (vec![3, 4], vec![1, 0]),
        (vec![2, 3, 4], vec![2, 0, 1]),
        (vec![2, 3, 4, 5], vec![0, 2, 1, 3]),
        (vec![2, 3, 1, 5, 2], vec![4, 3, 2, 1, 0]),
        (vec![65, 130], vec![1, 0]),
        (vec![2, 3, 2, 3, 2, 3], vec![5, 1, 3, 0, 2, 4]),
    ];
    for (k, (dims, perm)) in perms.into_iter().enumerate() {
        let x = data::<E>(dims.iter().product(), k as u64, -1.0, 1.0);
        let (xg, xc) = up(g, &x);
        assert_eq!(
            g.download(&g.permute(&xg, &dims, &perm)),
            cpu.permute(&xc, &dims, &perm).to_vec(),
            "permute {dims:?} {perm:?}"
        );
    }
    for (k, (from, to)) in [
        (vec![4usize], vec![3usize, 4]),
        (vec![3, 1], vec![2, 3, 5]),
        (vec![1], vec![7]),
        (vec![2, 1, 3], vec![2, 4, 3]),
    ]
    .into_iter()
    .enumerate()
    {
        let x = data::<E>(from.iter().product(), k as u64, -1.0, 1.0);
        let (xg, xc) = up(g, &x);
        assert_eq!(
            g.download(&g.expand(&xg, &from, &to)),
            cpu.expand(&xc, &from, &to).to_vec(),
            "expand {from:?} {to:?}"
        );
    }
    let dims = vec![3usize, 7, 5];
    let x = data::<E>(105, 9, -1.0, 1.0);
    let (xg, xc) = up(g, &x);
    for (axis, start, len) in [(0usize, 1usize, 2usize), (1, 0, 7), (1, 2, 3), (2, 4, 1)] {
        assert_eq!(
            g.download(&g.narrow(&xg, &dims, axis, start, len)),
            cpu.narrow(&xc, &dims, axis, start, len).to_vec(),
            "narrow {axis} {start} {len}"
        );
        let mut gd = dims.clone();
        gd[axis] = len;
        let gy = data::<E>(gd.iter().product(), 10, -1.0, 1.0);
        let (gyg, gyc) = up(g, &gy);
        assert_eq!(
            g.download(&g.narrow_backward(&gyg, &dims, axis, start, len)),
            cpu.narrow_backward(&gyc, &dims, axis, start, len).to_vec(),
            "narrow_backward {axis} {start} {len}"
        );
    }
    for (ad, bd, axis) in [
        (vec![2usize, 3, 4], vec![2usize, 5, 4], 1usize),
        (vec![3, 4], vec![1, 4], 0),
        (vec![2, 3], vec![2, 6], 1),
        (vec![5], vec![3], 0),
    ] {
        let (a, b) = (
            data::<E>(ad.iter().product(), 1, -1.0, 1.0),
            data::<E>(bd.iter().product(), 2, -1.0, 1.0),
        );
        let ((ag, ac), (bg, bc)) = (up(g, &a), up(g, &b));
        assert_eq!(
            g.download(&g.concat(&ag, &ad, &bg, &bd, axis)),
            cpu.concat(&ac, &ad, &bc, &bd, axis).to_vec(),
            "concat {ad:?} {bd:?} {axis}"
        );
    }
    // copy_rows_into: a KV-cache-like append into a shared destination.
    let c = RowCopy {
        groups: 3,
        rows: 2,
        width: 4,
        from: RowLayout {
            offset: 1,
            group: 9,
            row: 4,
        },
        to: RowLayout {
            offset: 5,
            group: 20,
            row: 6,
        },
    };
    let src = data::<E>(40, 3, -1.0, 1.0);
    let dst = data::<E>(70, 4, -1.0, 1.0);
    let ((sg, sc), (mut dg, mut dc)) = (up(g, &src), up(g, &dst));
    let keep = dg.clone();
    g.copy_rows_into(&mut dg, &sg, &c);
    cpu.copy_rows_into(&mut dc, &sc, &c);
    assert_eq!(g.download(&dg), dc.to_vec(), "copy_rows_into");
    assert_eq!(
        g.download(&keep),
        dst,
        "copy_rows_into wrote through a shared handle"
    );
}
both!(movement_matches_cpu, movement_case);

fn optim_case<E: Dtype, G: Dev<E>>(g: &G)
where
    Cpu: Device<E>,
{
    let cpu = Cpu::default();
    let n = 3001;
    let c = E::from_f64;
    let (p, gr, buf) = (
        data::<E>(n, 1, -1.0, 1.0),
        data::<E>(n, 2, -1.0, 1.0),
        data::<E>(n, 3, -1.0, 1.0),
    );
    for (momentum, nesterov, first, wd) in [
        (0.0, false, true, 0.0),
        (0.0, false, true, 0.01),
        (0.9, false, true, 0.0),
        (0.9, false, false, 0.01),
        (0.9, true, false, 0.0),
    ] {
        let cfg = SgdStep {
            lr: c(0.1),
            momentum: c(momentum),
            dampening: c(0.1),
            nesterov,
            weight_decay: c(wd),
            first,
        };
        let ((mut pg, mut pc), (gg, gc)) = (up(g, &p), up(g, &gr));
        let shared = pg.clone();
        if momentum == 0.0 {
            g.sgd_update(&mut pg, &gg, None, &cfg);
            cpu.sgd_update(&mut pc, &gc, None, &cfg);
        } else {
            let (mut bg, mut bc) = up(g, &buf);
            g.sgd_update(&mut pg, &gg, Some(&mut bg), &cfg);
            cpu.sgd_update(&mut pc, &gc, Some(&mut bc), &cfg);
            close(
                &format!("sgd momentum buffer {cfg:?}"),
                &g.download(&bg),
                &bc,
            );
        }
        close(&format!("sgd {cfg:?}"), &g.download(&pg), &pc);
        assert_eq!(g.download(&shared), p, "sgd wrote through a shared handle");
    }
    for decoupled in [false, true] {
        let (b1, b2) = (0.9f64, 0.999f64);
        let t = 3;
        let cfg = AdamStep {
            lr: c(1e-2),
            beta1: c(b1),
            beta2: c(b2),
            eps: c(1e-8),
            weight_decay: c(0.05),
            decoupled,
            step_size: c(1e-2 / (1.0 - b1.powi(t))),
            bias_correction2_sqrt: c((1.0 - b2.powi(t)).sqrt()),
        };
        let m0 = data::<E>(n, 5, -0.1, 0.1);
        let v0: Vec<E> = data::<E>(n, 6, 0.0, 0.01);
        let ((mut pg, mut pc), (gg, gc), (mut mg, mut mc), (mut vg, mut vc)) =
            (up(g, &p), up(g, &gr), up(g, &m0), up(g, &v0));
        g.adam_update(&mut pg, &gg, &mut mg, &mut vg, &cfg);
        cpu.adam_update(&mut pc, &gc, &mut mc, &mut vc, &cfg);
        close(
            &format!("adam p decoupled={decoupled}"),
            &g.download(&pg),
            &pc,
        );
        close(
            &format!("adam m decoupled={decoupled}"),
            &g.download(&mg),
            &mc,
        );
        close(
            &format!("adam v decoupled={decoupled}"),
            &g.download(&vg),
            &vc,
        );
    }
    for len in [1usize, 1000, 300_001] {
        let x = data::<E>(len, 8, -2.0, 2.0);
        let (xg, xc) = up(g, &x);
        let (a, b) = (g.sum_squares(&xg), cpu.sum_squares(&xc));
        assert!(
            (a - b).abs() <= 1e-12 * b.abs(),
            "sum_squares n={len}: {a} vs {b}"
        );
        let (mut sg, mut sc) = (xg.clone(), xc.clone());
        g.scale_assign(&mut sg, c(-0.3));
        cpu.scale_assign(&mut sc, c(-0.3));
        assert_eq!(g.download(&sg), sc.to_vec(), "scale_assign");
        assert_eq!(
            g.download(&xg),
            x,
            "scale_assign wrote through a shared handle"
        );
    }
}
both!(optim_matches_cpu, optim_case);

#[test]
fn philox_kernel_equals_the_host_function() {
    let Some(g) = gpu() else { return };
    for (seed, stream) in [
        (0u64, Stream::Uniform),
        (0xDEAD_BEEF_0123_4567, Stream::Normal),
        (u64::MAX, Stream::Dropout),
    ] {
        let n = 4099;
        let raw = g.download(&g.philox_raw(n, seed, stream));
        for i in 0..n {
            let b = philox_block(seed, stream, i as u64);
            let want = [
                u64::from(b[0]) | (u64::from(b[1]) << 32),
                u64::from(b[2]) | (u64::from(b[3]) << 32),
            ];
            assert_eq!(
                [raw[2 * i] as u64, raw[2 * i + 1] as u64],
                want,
                "block {i} of seed {seed:#x}"
            );
        }
    }
}

fn random_case<E: Dtype>(g: &Cuda)
where
    Cpu: Device<E>,
{
    let n = 200_003usize;
    let seed = 12345u64;
    // Uniform: element by element as the host function (then converted).
    let (lo, hi) = (-2.0, 3.0);
    let u = g.download(&RandomKernel::<E>::uniform(g, n, lo, hi, seed));
    for (i, &v) in u.iter().enumerate() {
        let want = E::from_f64(philox_uniform(seed, i as u64, lo, hi));
        let (vf, hf) = (v.to_f64(), E::from_f64(hi).to_f64());
        assert!(
            vf >= lo && vf < hi,
            "uniform {i}: {vf} outside [{lo}, {hi})"
        );
        if want.to_f64() < hf {
            assert_eq!(v, want, "uniform element {i}");
        }
    }
    moments("uniform", &u, 0.5, 25.0 / 12.0);
    // Normal: the host function up to the last bits of log/cos.
    let z = g.download(&RandomKernel::<E>::normal(g, n, 1.5, 2.0, seed));
    for (i, &v) in z.iter().enumerate().step_by(7) {
        let want = philox_normal(seed, i as u64, 1.5, 2.0);
        let tol = if is_f32::<E>() {
            1e-6 * (1.0 + want.abs())
        } else {
            1e-13 * (1.0 + want.abs())
        };
        assert!(
            (v.to_f64() - want).abs() <= tol,
            "normal element {i}: {v} vs {want}"
        );
    }
    moments("normal", &z, 1.5, 4.0);
    // Dropout: bit for bit.
    for p in [0.0, 0.1, 0.5, 1.0] {
        let m = g.download(&RandomKernel::<E>::dropout_mask(g, n, p, seed));
        let keep = if p < 1.0 {
            E::from_f64(1.0 / (1.0 - p))
        } else {
            E::zero()
        };
        for (i, &v) in m.iter().enumerate() {
            let want = if philox_keep(seed, i as u64, p) {
                keep
            } else {
                E::zero()
            };
            assert_eq!(v, want, "dropout p={p} element {i}");
        }
        let kept = m.iter().filter(|&&v| v != E::zero()).count() as f64 / n as f64;
        if p < 1.0 {
            assert!(
                (kept - (1.0 - p)).abs() < 0.005,
                "dropout p={p}: kept {kept}"
            );
        }
    }
    // The same seed gives the same numbers; another seed others.
    assert_eq!(
        g.download(&RandomKernel::<E>::normal(g, 100, 0.0, 1.0, 7)),
        g.download(&RandomKernel::<E>::normal(g, 100, 0.0, 1.0, 7))
    );
    assert_ne!(
        g.download(&RandomKernel::<E>::normal(g, 100, 0.0, 1.0, 7)),
        g.download(&RandomKernel::<E>::normal(g, 100, 0.0, 1.0, 8))
    );
}
#[test]
fn random_kernels_equal_the_host_functions() {
    let Some(g) = gpu() else { return };
    random_case::<f32>(&g);
    random_case::<f64>(&g);
}

/// Sample mean and variance within 5 standard errors.
#[track_caller]
fn moments<E: Dtype>(what: &str, x: &[E], mean: f64, var: f64) {
    let n = x.len() as f64;
    let m = x.iter().map(|&v| Dtype::to_f64(v)).sum::<f64>() / n;
    let v = x
        .iter()
        .map(|&v| (Dtype::to_f64(v) - m).powi(2))
        .sum::<f64>()
        / (n - 1.0);
    assert!(
        (m - mean).abs() < 5.0 * (var / n).sqrt(),
        "{what}: mean {m}, expected {mean}"
    );
    assert!(
        (v - var).abs() < 5.0 * var * (2.0 / n).sqrt() * 1.5,
        "{what}: variance {v}, expected {var}"
    );
}

/// Empty buffers (a `Dyn` axis of size 0) as the CPU handles them: kept in
/// a test of their own, since a zero-byte device allocation is the driver's
/// business (`cuMemAlloc` rejects 0 bytes) and a failure here points there.
fn empty_case<E: Dtype, G: Dev<E>>(g: &G)
where
    Cpu: Device<E>,
{
    let cpu = Cpu::default();
    let x = data::<E>(15, 1, -1.0, 1.0);
    let (xg, xc) = up(g, &x);
    let dims = [3usize, 5];
    assert_eq!(
        g.download(&g.narrow(&xg, &dims, 1, 2, 0)),
        cpu.narrow(&xc, &dims, 1, 2, 0).to_vec()
    );
    let (eg, ec) = up(g, &[] as &[E]);
    assert_eq!(
        g.download(&g.narrow_backward(&eg, &dims, 1, 2, 0)),
        cpu.narrow_backward(&ec, &dims, 1, 2, 0).to_vec()
    );
    assert!(g.download(&g.unary(UnaryOp::Exp, &eg)).is_empty());
    let sum = g.reduce(ReduceOp::Sum, &eg, &[3, 0], Some(1));
    assert_eq!(
        g.download(&sum),
        cpu.reduce(ReduceOp::Sum, &ec, &[3, 0], Some(1)).to_vec()
    );
    assert_eq!(g.sum_squares(&eg), 0.0);
}
both!(empty_buffers_match_cpu, empty_case);

/// The comparisons themselves, run with the CPU in the place of the GPU
/// (so they run, and must pass, on a machine without one): a check of this
/// file's cases and tolerances, not of a kernel.
#[test]
fn the_cases_pass_with_the_cpu_against_itself() {
    macro_rules! run {
        ($($f:ident),*) => {$(
            $f::<f32, Cpu>(&Cpu::default());
            $f::<f64, Cpu>(&Cpu::default());
        )*};
    }
    run!(
        unary_case,
        binary_case,
        add_assign_case,
        reduce_case,
        sum_to_case,
        softmax_case,
        cross_entropy_case,
        bce_case,
        index_case,
        mask_case,
        compare_case,
        movement_case,
        optim_case,
        empty_case
    );
}
