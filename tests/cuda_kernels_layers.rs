//! The CUDA product and layer kernels against the CPU kernels on random
//! inputs: matmul (transpose flags, strided and broadcast batches), linear,
//! convolution (stride, padding, dilation, groups, 1-D, transposed with
//! output padding), pooling (overlapping windows, padding, dilation),
//! batch and layer norm, attention (layouts, KV cache, causal, every mask
//! form, dropout, fully masked rows, shared q/k/v). f32 within 1e-4
//! relative, f64 within 1e-10. Without a GPU every test says "skipped: no
//! CUDA device" (once) and passes.
#![cfg(feature = "cuda")]

use std::sync::OnceLock;
use typegrad::backend::cuda::Cuda;
use typegrad::backend::{Backend, Cpu};
use typegrad::dtype::Dtype;
use typegrad::ops::attention::{AttentionKernel, AttentionParams, AttentionView, AttentionWant};
use typegrad::ops::conv::{ConvKernel, ConvParams, ConvWant};
use typegrad::ops::matmul::{LinearKernel, LinearParams, LinearWant, MatmulKernel, MatmulParams};
use typegrad::ops::norm::{BatchNormParams, LayerNormParams, NormKernel, NormWant};
use typegrad::ops::pool::{PoolKernel, PoolParams};

/// The GPU, or None (and one "skipped" line) without one.
fn gpu() -> Option<&'static Cuda> {
    static GPU: OnceLock<Option<Cuda>> = OnceLock::new();
    GPU.get_or_init(|| match Cuda::new(0) {
        Ok(g) => Some(g),
        Err(e) => {
            eprintln!("skipped: no CUDA device ({e})");
            None
        }
    })
    .as_ref()
}

/// `n` values in [-1, 1) from a splitmix stream.
fn rand<E: Dtype>(n: usize, seed: u64) -> Vec<E> {
    (0..n as u64)
        .map(|i| {
            let mut z = seed
                .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                .wrapping_add(i.wrapping_mul(0xBF58_476D_1CE4_E5B9));
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            E::from_f64((z >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0)
        })
        .collect()
}

/// Upload the same host data to both devices.
fn both<E: Dtype, D: Backend>(g: &D, v: &[E]) -> (<Cpu as Backend>::Storage<E>, D::Storage<E>) {
    (Cpu::default().upload(v.to_vec()), g.upload(v.to_vec()))
}

/// The GPU result equals the CPU's: 1e-4 (f32) or 1e-10 (f64) relative to
/// max(1, |cpu|); NaN and infinities must match exactly.
fn close<E: Dtype>(what: &str, gpu: &[E], cpu: &[E]) {
    assert_eq!(gpu.len(), cpu.len(), "{what}: lengths");
    let tol = if E::NAME == "f32" { 1e-4 } else { 1e-10 };
    for (i, (&a, &b)) in gpu.iter().zip(cpu).enumerate() {
        let (a, b) = (a.to_f64(), b.to_f64());
        let ok = if a.is_nan() || b.is_nan() || a.is_infinite() || b.is_infinite() {
            (a.is_nan() && b.is_nan()) || a == b
        } else {
            (a - b).abs() <= tol * b.abs().max(1.0)
        };
        assert!(ok, "{what} ({}): element {i}: cuda {a} vs cpu {b}", E::NAME);
    }
}

fn check<E: Dtype, D: Backend>(
    what: &str,
    g: &D,
    gs: &D::Storage<E>,
    cs: &<Cpu as Backend>::Storage<E>,
) {
    close(what, &g.download(gs), &Cpu::default().download(cs));
}

fn check_opt<E: Dtype, D: Backend>(
    what: &str,
    g: &D,
    gs: Option<&D::Storage<E>>,
    cs: Option<&<Cpu as Backend>::Storage<E>>,
) {
    assert_eq!(gs.is_some(), cs.is_some(), "{what}: presence");
    if let (Some(gs), Some(cs)) = (gs, cs) {
        check(what, g, gs, cs);
    }
}

// ---------------------------------------------------------------- matmul

fn matmul_cases<E: Dtype, D: MatmulKernel<E>>(g: &D)
where
    Cpu: MatmulKernel<E>,
{
    let cpu = Cpu::default();
    let mut seed = 1;
    for &(batch, m, k, n) in &[
        (1, 5, 7, 3),
        (3, 4, 6, 5),
        (2, 1, 9, 8),
        (1, 3, 0, 4),
        (2, 0, 3, 2),
    ] {
        for a_t in [false, true] {
            for b_t in [false, true] {
                for (a_shared, b_shared) in [(false, false), (true, false), (false, true)] {
                    let a_stride = if a_shared { 0 } else { m * k };
                    let b_stride = if b_shared { 0 } else { k * n };
                    let p = MatmulParams {
                        batch,
                        m,
                        k,
                        n,
                        a_batch_stride: a_stride,
                        b_batch_stride: b_stride,
                        a_t,
                        b_t,
                    };
                    let an = if a_shared { m * k } else { batch * m * k };
                    let bn = if b_shared { k * n } else { batch * k * n };
                    seed += 1;
                    let (ac, ag) = both(g, &rand::<E>(an, seed));
                    let (bc, bg) = both(g, &rand::<E>(bn, seed + 100));
                    let c = cpu.matmul(p, &ac, &bc);
                    let r = g.matmul(p, &ag, &bg);
                    check(&format!("matmul {p:?}"), g, &r, &c);
                }
            }
        }
    }
}

#[test]
fn matmul_matches_cpu() {
    let Some(g) = gpu() else { return };
    matmul_cases::<f32, _>(g);
    matmul_cases::<f64, _>(g);
}

#[test]
fn sgemm_large_matches_cpu() {
    let Some(g) = gpu() else { return };
    let (m, k, n) = (300, 257, 129);
    let p = MatmulParams {
        batch: 1,
        m,
        k,
        n,
        a_batch_stride: 0,
        b_batch_stride: 0,
        a_t: false,
        b_t: true,
    };
    let (ac, ag) = both(g, &rand::<f32>(m * k, 5));
    let (bc, bg) = both(g, &rand::<f32>(n * k, 6));
    check(
        "sgemm 300x257x129",
        g,
        &g.matmul(p, &ag, &bg),
        &Cpu::default().matmul(p, &ac, &bc),
    );
}

// ---------------------------------------------------------------- layers

fn linear_cases<E: Dtype, D: LinearKernel<E>>(g: &D)
where
    Cpu: LinearKernel<E>,
{
    let cpu = Cpu::default();
    for (i, &(rows, inp, out)) in [(6, 5, 4), (1, 3, 7), (33, 17, 9), (4, 0, 3)]
        .iter()
        .enumerate()
    {
        let p = LinearParams { rows, inp, out };
        let s = 10 * i as u64;
        let (xc, xg) = both(g, &rand::<E>(rows * inp, s + 1));
        let (wc, wg) = both(g, &rand::<E>(out * inp, s + 2));
        let (bc, bg) = both(g, &rand::<E>(out, s + 3));
        let (gyc, gyg) = both(g, &rand::<E>(rows * out, s + 4));
        check(
            &format!("linear {p:?}"),
            g,
            &g.linear(p, &xg, &wg, None),
            &cpu.linear(p, &xc, &wc, None),
        );
        check(
            &format!("linear+bias {p:?}"),
            g,
            &g.linear(p, &xg, &wg, Some(&bg)),
            &cpu.linear(p, &xc, &wc, Some(&bc)),
        );
        for want in [
            LinearWant {
                input: true,
                weight: true,
                bias: true,
            },
            LinearWant {
                input: false,
                weight: true,
                bias: false,
            },
            LinearWant {
                input: true,
                weight: false,
                bias: true,
            },
        ] {
            let (a, b, c) = g.linear_backward(p, &xg, &wg, &gyg, want);
            let (ca, cb, cc) = cpu.linear_backward(p, &xc, &wc, &gyc, want);
            check_opt(&format!("linear dx {p:?}"), g, a.as_ref(), ca.as_ref());
            check_opt(&format!("linear dw {p:?}"), g, b.as_ref(), cb.as_ref());
            check_opt(&format!("linear db {p:?}"), g, c.as_ref(), cc.as_ref());
        }
    }
}

fn norm_cases<E: Dtype, D: NormKernel<E>>(g: &D)
where
    Cpu: NormKernel<E>,
{
    let cpu = Cpu::default();
    let eps = 1e-5;
    for (i, &(batch, channels, inner)) in [(4, 3, 10), (2, 5, 1), (3, 2, 300), (1, 4, 7)]
        .iter()
        .enumerate()
    {
        let p = BatchNormParams {
            batch,
            channels,
            inner,
        };
        let n = batch * channels * inner;
        let s = 20 * i as u64;
        let xs: Vec<E> = rand::<E>(n, s + 1)
            .into_iter()
            .map(|v| v * E::from_f64(3.0) + E::from_f64(0.5))
            .collect();
        let (xc, xg) = both(g, &xs);
        let (wc, wg) = both(g, &rand::<E>(channels, s + 2));
        let (bc, bg) = both(g, &rand::<E>(channels, s + 3));
        let (gyc, gyg) = both(g, &rand::<E>(n, s + 4));
        let (mc, vc) = cpu.batch_norm_stats(p, &xc);
        let (mg, vg) = g.batch_norm_stats(p, &xg);
        check(&format!("bn mean {p:?}"), g, &mg, &mc);
        check(&format!("bn var {p:?}"), g, &vg, &vc);
        // The same statistics on both sides from here on.
        let (mg, vg) = (g.upload(cpu.download(&mc)), g.upload(cpu.download(&vc)));
        for (w, b) in [(true, true), (false, false), (true, false), (false, true)] {
            let yc =
                cpu.batch_norm_forward(p, eps, &xc, &mc, &vc, w.then_some(&wc), b.then_some(&bc));
            let yg =
                g.batch_norm_forward(p, eps, &xg, &mg, &vg, w.then_some(&wg), b.then_some(&bg));
            check(&format!("bn forward {p:?} w {w} b {b}"), g, &yg, &yc);
        }
        for batch_stats in [true, false] {
            for (w, want) in [
                (
                    true,
                    NormWant {
                        input: true,
                        weight: true,
                        bias: true,
                    },
                ),
                (
                    false,
                    NormWant {
                        input: true,
                        weight: false,
                        bias: false,
                    },
                ),
                (
                    true,
                    NormWant {
                        input: false,
                        weight: true,
                        bias: true,
                    },
                ),
            ] {
                let (a, b2, c) = g.batch_norm_backward(
                    p,
                    eps,
                    batch_stats,
                    &xg,
                    &mg,
                    &vg,
                    w.then_some(&wg),
                    &gyg,
                    want,
                );
                let (ca, cb, cc) = cpu.batch_norm_backward(
                    p,
                    eps,
                    batch_stats,
                    &xc,
                    &mc,
                    &vc,
                    w.then_some(&wc),
                    &gyc,
                    want,
                );
                let what = format!("bn backward {p:?} batch_stats {batch_stats} w {w}");
                check_opt(&format!("{what} dx"), g, a.as_ref(), ca.as_ref());
                check_opt(&format!("{what} dw"), g, b2.as_ref(), cb.as_ref());
                check_opt(&format!("{what} db"), g, c.as_ref(), cc.as_ref());
            }
        }
    }
    for (i, &(rows, cols)) in [(6, 10), (1, 300), (17, 3), (4, 1)].iter().enumerate() {
        let p = LayerNormParams { rows, cols };
        let s = 50 + 10 * i as u64;
        let (xc, xg) = both(g, &rand::<E>(rows * cols, s + 1));
        let (wc, wg) = both(g, &rand::<E>(cols, s + 2));
        let (bc, bg) = both(g, &rand::<E>(cols, s + 3));
        let (gyc, gyg) = both(g, &rand::<E>(rows * cols, s + 4));
        for (w, b) in [(true, true), (false, false), (true, false), (false, true)] {
            let (yc, mc, rc) =
                cpu.layer_norm_forward(p, eps, &xc, w.then_some(&wc), b.then_some(&bc));
            let (yg, mg, rg) =
                g.layer_norm_forward(p, eps, &xg, w.then_some(&wg), b.then_some(&bg));
            let what = format!("ln forward {p:?} w {w} b {b}");
            check(&what, g, &yg, &yc);
            check(&format!("{what} mean"), g, &mg, &mc);
            check(&format!("{what} rstd"), g, &rg, &rc);
            let (mg, rg) = (g.upload(cpu.download(&mc)), g.upload(cpu.download(&rc)));
            for want in [
                NormWant {
                    input: true,
                    weight: true,
                    bias: true,
                },
                NormWant {
                    input: true,
                    weight: false,
                    bias: false,
                },
                NormWant {
                    input: false,
                    weight: true,
                    bias: true,
                },
            ] {
                let (a, b2, c) =
                    g.layer_norm_backward(p, &xg, &mg, &rg, w.then_some(&wg), &gyg, want);
                let (ca, cb, cc) =
                    cpu.layer_norm_backward(p, &xc, &mc, &rc, w.then_some(&wc), &gyc, want);
                let what = format!("ln backward {p:?} w {w}");
                check_opt(&format!("{what} dx"), g, a.as_ref(), ca.as_ref());
                check_opt(&format!("{what} dw"), g, b2.as_ref(), cb.as_ref());
                check_opt(&format!("{what} db"), g, c.as_ref(), cc.as_ref());
            }
        }
    }
}

#[test]
fn linear_matches_cpu() {
    let Some(g) = gpu() else { return };
    linear_cases::<f32, _>(g);
    linear_cases::<f64, _>(g);
}

#[test]
fn norm_matches_cpu() {
    let Some(g) = gpu() else { return };
    norm_cases::<f32, _>(g);
    norm_cases::<f64, _>(g);
}

// ------------------------------------------------------------------ conv

/// (batch, c_in, c_out, groups, input, kernel, stride, padding, dilation,
/// output_padding)
type ConvCase = (
    usize,
    usize,
    usize,
    usize,
    [usize; 2],
    [usize; 2],
    [usize; 2],
    [usize; 2],
    [usize; 2],
    [usize; 2],
);

const CONV_CASES: &[ConvCase] = &[
    (2, 3, 4, 1, [7, 6], [3, 3], [1, 1], [0, 0], [1, 1], [0, 0]),
    (2, 3, 6, 1, [8, 8], [3, 3], [2, 2], [1, 1], [1, 1], [0, 0]),
    (1, 4, 6, 2, [9, 7], [3, 2], [2, 1], [1, 0], [2, 1], [0, 0]),
    (3, 6, 6, 6, [5, 5], [3, 3], [1, 1], [1, 1], [1, 1], [0, 0]), // depthwise
    (2, 2, 3, 1, [1, 11], [1, 3], [1, 2], [0, 1], [1, 2], [0, 0]), // 1-D
    (2, 3, 2, 1, [6, 6], [1, 1], [1, 1], [0, 0], [1, 1], [0, 0]), // 1x1
    (2, 3, 4, 1, [32, 32], [5, 5], [1, 1], [2, 2], [1, 1], [0, 0]),
    // Transposed convolutions: input = their output, with output padding.
    (2, 4, 3, 1, [8, 8], [3, 3], [2, 2], [1, 1], [1, 1], [1, 1]),
    (1, 4, 6, 2, [1, 10], [1, 4], [1, 3], [0, 1], [1, 1], [0, 2]),
];

fn conv_cases<E: Dtype, D: ConvKernel<E>>(g: &D)
where
    Cpu: ConvKernel<E>,
{
    let cpu = Cpu::default();
    for (
        i,
        &(batch, c_in, c_out, groups, input, kernel, stride, padding, dilation, output_padding),
    ) in CONV_CASES.iter().enumerate()
    {
        let p = ConvParams {
            batch,
            c_in,
            c_out,
            groups,
            input,
            kernel,
            stride,
            padding,
            dilation,
            output_padding,
        };
        let o = p.output().expect("case fits");
        let s = 30 * i as u64;
        let (xc, xg) = both(g, &rand::<E>(batch * c_in * input[0] * input[1], s + 1));
        let (wc, wg) = both(
            g,
            &rand::<E>(c_out * (c_in / groups) * kernel[0] * kernel[1], s + 2),
        );
        let (boc, bog) = both(g, &rand::<E>(c_out, s + 3));
        let (bic, big) = both(g, &rand::<E>(c_in, s + 4));
        let (gyc, gyg) = both(g, &rand::<E>(batch * c_out * o[0] * o[1], s + 5));
        check(
            &format!("conv_forward {p:?}"),
            g,
            &g.conv_forward(&p, &xg, &wg, None),
            &cpu.conv_forward(&p, &xc, &wc, None),
        );
        check(
            &format!("conv_forward+bias {p:?}"),
            g,
            &g.conv_forward(&p, &xg, &wg, Some(&bog)),
            &cpu.conv_forward(&p, &xc, &wc, Some(&boc)),
        );
        check(
            &format!("conv_input_grad {p:?}"),
            g,
            &g.conv_input_grad(&p, &wg, &gyg, None),
            &cpu.conv_input_grad(&p, &wc, &gyc, None),
        );
        check(
            &format!("conv_input_grad+bias {p:?}"),
            g,
            &g.conv_input_grad(&p, &wg, &gyg, Some(&big)),
            &cpu.conv_input_grad(&p, &wc, &gyc, Some(&bic)),
        );
        check(
            &format!("conv_weight_grad {p:?}"),
            g,
            &g.conv_weight_grad(&p, &xg, &gyg),
            &cpu.conv_weight_grad(&p, &xc, &gyc),
        );
        check(
            &format!("channel_sum {p:?}"),
            g,
            &g.channel_sum(batch, c_out, o[0] * o[1], &gyg),
            &cpu.channel_sum(batch, c_out, o[0] * o[1], &gyc),
        );
        let want = ConvWant {
            input: true,
            weight: true,
            bias: true,
        };
        let (a, b, c) = g.conv_backward(&p, &xg, &wg, &gyg, want);
        let (ca, cb, cc) = cpu.conv_backward(&p, &xc, &wc, &gyc, want);
        check_opt(
            &format!("conv_backward dx {p:?}"),
            g,
            a.as_ref(),
            ca.as_ref(),
        );
        check_opt(
            &format!("conv_backward dw {p:?}"),
            g,
            b.as_ref(),
            cb.as_ref(),
        );
        check_opt(
            &format!("conv_backward db {p:?}"),
            g,
            c.as_ref(),
            cc.as_ref(),
        );
    }
}

#[test]
fn conv_matches_cpu() {
    let Some(g) = gpu() else { return };
    conv_cases::<f32, _>(g);
    conv_cases::<f64, _>(g);
}

// ------------------------------------------------------------------ pool

/// (planes, input, kernel, stride, padding, dilation)
type PoolCase = (
    usize,
    [usize; 2],
    [usize; 2],
    [usize; 2],
    [usize; 2],
    [usize; 2],
);

const POOL_CASES: &[PoolCase] = &[
    (6, [8, 8], [2, 2], [2, 2], [0, 0], [1, 1]),
    (4, [7, 9], [3, 3], [1, 1], [1, 1], [1, 1]), // overlapping, padded
    (3, [9, 9], [3, 2], [2, 1], [1, 1], [2, 2]), // dilated
    (5, [1, 12], [1, 3], [1, 2], [0, 1], [1, 1]), // 1-D
    (2, [6, 5], [3, 3], [3, 2], [1, 0], [1, 1]),
    (2, [5, 5], [5, 5], [1, 1], [2, 2], [1, 1]), // windows larger than the padding leaves
];

fn pool_cases<E: Dtype, D: PoolKernel<E>>(g: &D)
where
    Cpu: PoolKernel<E>,
{
    let cpu = Cpu::default();
    for (i, &(planes, input, kernel, stride, padding, dilation)) in POOL_CASES.iter().enumerate() {
        let p =
            PoolParams::new(planes, input, kernel, stride, padding, dilation).expect("case fits");
        let s = 40 * i as u64;
        let (xc, xg) = both(g, &rand::<E>(p.input_len(), s + 1));
        let (gyc, gyg) = both(g, &rand::<E>(p.output_len(), s + 2));
        let (yc, ic) = cpu.max_pool(&p, &xc, true);
        let (yg, ig) = g.max_pool(&p, &xg, true);
        check(&format!("max_pool {p:?}"), g, &yg, &yc);
        let (ic, ig) = (ic.expect("indices"), ig.expect("indices"));
        assert_eq!(g.download(&ig), cpu.download(&ic), "max_pool indices {p:?}");
        let (yg2, none) = g.max_pool(&p, &xg, false);
        assert!(none.is_none());
        check(&format!("max_pool without indices {p:?}"), g, &yg2, &yc);
        check(
            &format!("max_pool_backward {p:?}"),
            g,
            &g.max_pool_backward(&p, &ig, &gyg),
            &cpu.max_pool_backward(&p, &ic, &gyc),
        );
        for pad in [true, false] {
            check(
                &format!("avg_pool {p:?} include_pad {pad}"),
                g,
                &g.avg_pool(&p, &xg, pad),
                &cpu.avg_pool(&p, &xc, pad),
            );
            check(
                &format!("avg_pool_backward {p:?} include_pad {pad}"),
                g,
                &g.avg_pool_backward(&p, &gyg, pad),
                &cpu.avg_pool_backward(&p, &gyc, pad),
            );
        }
    }
    // Ties, NaN and -inf windows pick the CPU's element.
    let p = PoolParams::new(1, [4, 4], [2, 2], [1, 1], [0, 0], [1, 1]).expect("fits");
    let mut xs = vec![E::one(); 16];
    xs[5] = E::nan();
    xs[10] = E::neg_infinity();
    xs[11] = E::neg_infinity();
    xs[14] = E::neg_infinity();
    xs[15] = E::neg_infinity();
    let (xc, xg) = both(g, &xs);
    let (yc, ic) = cpu.max_pool(&p, &xc, true);
    let (yg, ig) = g.max_pool(&p, &xg, true);
    check("max_pool ties/NaN/-inf", g, &yg, &yc);
    assert_eq!(
        g.download(&ig.expect("indices")),
        cpu.download(&ic.expect("indices")),
        "tie indices"
    );
}

#[test]
fn pool_matches_cpu() {
    let Some(g) = gpu() else { return };
    pool_cases::<f32, _>(g);
    pool_cases::<f64, _>(g);
}

// ------------------------------------------------------------- attention

/// A dense `(B, H, N, d)` view.
fn bhnd(heads: usize, n: usize, d: usize) -> AttentionView {
    AttentionView {
        offset: 0,
        batch: heads * n * d,
        head: n * d,
        row: d,
    }
}

/// The heads-in-the-last-axis view `(B, N, H·d)` at column `offset`, in
/// rows of `width` (a packed projection has `width = 3·H·d`).
fn heads_last(heads: usize, n: usize, d: usize, offset: usize, width: usize) -> AttentionView {
    let _ = heads;
    AttentionView {
        offset,
        batch: n * width,
        head: d,
        row: width,
    }
}

struct AttnCase {
    name: &'static str,
    p: AttentionParams,
    /// Elements of the q, k, v buffers and of the mask (0: no mask).
    lens: [usize; 4],
    /// Mask density in [0, 1] (fraction of allowed pairs) and whether to
    /// mask one query row entirely.
    kill_row: bool,
}

#[allow(clippy::too_many_arguments)]
fn params(
    batch: usize,
    heads: usize,
    nq: usize,
    nkv: usize,
    dqk: usize,
    dv: usize,
) -> AttentionParams {
    AttentionParams {
        batch,
        heads,
        nq,
        nkv,
        dqk,
        dv,
        q: bhnd(heads, nq, dqk),
        k: bhnd(heads, nkv, dqk),
        v: bhnd(heads, nkv, dv),
        out: bhnd(heads, nq, dv),
        scale: 1.0 / (dqk as f64).sqrt(),
        causal: false,
        mask: false,
        mask_pairs: 1,
        mask_block: 0,
        mask_row: 0,
        dropout: 0.0,
        seed: 0,
    }
}

fn attn_cases() -> Vec<AttnCase> {
    let dense = |p: AttentionParams| {
        let pairs = p.batch * p.heads;
        [
            pairs * p.nq * p.dqk,
            pairs * p.nkv * p.dqk,
            pairs * p.nkv * p.dv,
            0,
        ]
    };
    let mut out = Vec::new();
    let p = params(2, 3, 5, 5, 4, 4);
    out.push(AttnCase {
        name: "plain",
        p,
        lens: dense(p),
        kill_row: false,
    });
    let p = AttentionParams {
        causal: true,
        ..params(2, 2, 3, 7, 5, 3)
    };
    out.push(AttnCase {
        name: "causal bottom-right nq<nkv",
        p,
        lens: dense(p),
        kill_row: false,
    });
    let p = AttentionParams {
        causal: true,
        ..params(1, 2, 6, 6, 3, 3)
    };
    out.push(AttnCase {
        name: "causal square",
        p,
        lens: dense(p),
        kill_row: false,
    });
    let p = AttentionParams {
        causal: true,
        ..params(1, 1, 12, 12, 8, 8)
    };
    out.push(AttnCase {
        name: "causal 12 (the CPU's gemm path)",
        p,
        lens: dense(p),
        kill_row: false,
    });
    // A full mask per (batch, head) pair, one row killed.
    let mut p = params(2, 2, 4, 6, 3, 5);
    p.mask = true;
    p.mask_pairs = 1;
    p.mask_block = 4 * 6;
    p.mask_row = 6;
    let mut l = dense(p);
    l[3] = 4 * 4 * 6;
    out.push(AttnCase {
        name: "mask per pair",
        p,
        lens: l,
        kill_row: true,
    });
    // A key-padding mask per batch entry (shared by the heads).
    let mut p = params(2, 3, 4, 5, 4, 4);
    p.mask = true;
    p.mask_pairs = 3;
    p.mask_block = 5;
    p.mask_row = 0;
    let mut l = dense(p);
    l[3] = 2 * 5;
    out.push(AttnCase {
        name: "key padding",
        p,
        lens: l,
        kill_row: false,
    });
    // One mask for every pair, with causal.
    let mut p = params(2, 2, 5, 5, 4, 4);
    p.mask = true;
    p.causal = true;
    p.mask_pairs = 4;
    p.mask_block = 0;
    p.mask_row = 5;
    let mut l = dense(p);
    l[3] = 25;
    out.push(AttnCase {
        name: "one mask + causal",
        p,
        lens: l,
        kill_row: true,
    });
    // Dropout.
    let p = AttentionParams {
        dropout: 0.3,
        seed: 77,
        ..params(2, 2, 9, 9, 4, 6)
    };
    out.push(AttnCase {
        name: "dropout",
        p,
        lens: dense(p),
        kill_row: false,
    });
    let p = AttentionParams {
        dropout: 0.5,
        seed: 5,
        causal: true,
        scale: 0.7,
        ..params(1, 2, 4, 4, 3, 3)
    };
    out.push(AttnCase {
        name: "dropout causal scale",
        p,
        lens: dense(p),
        kill_row: false,
    });
    // Heads in the last axis (a projection's layout).
    let mut p = params(2, 3, 5, 6, 4, 2);
    p.q = heads_last(3, 5, 4, 0, 12);
    p.k = heads_last(3, 6, 4, 0, 12);
    p.v = heads_last(3, 6, 2, 0, 6);
    p.out = heads_last(3, 5, 2, 0, 6);
    out.push(AttnCase {
        name: "heads last",
        p,
        lens: [2 * 5 * 12, 2 * 6 * 12, 2 * 6 * 6, 0],
        kill_row: false,
    });
    // A KV cache of 10 rows read up to 4 (one query, decoding).
    let mut p = params(2, 2, 1, 4, 4, 4);
    p.k = bhnd(2, 10, 4);
    p.v = bhnd(2, 10, 4);
    p.causal = true;
    out.push(AttnCase {
        name: "kv cache",
        p,
        lens: [2 * 2 * 4, 2 * 2 * 10 * 4, 2 * 2 * 10 * 4, 0],
        kill_row: false,
    });
    out
}

fn attention_cases<E: Dtype, D: AttentionKernel<E>>(g: &D)
where
    Cpu: AttentionKernel<E>,
{
    let cpu = Cpu::default();
    for (i, c) in attn_cases().iter().enumerate() {
        let p = c.p;
        let s = 100 * i as u64;
        let (qc, qg) = both(g, &rand::<E>(c.lens[0], s + 1));
        let (kc, kg) = both(g, &rand::<E>(c.lens[1], s + 2));
        let (vc, vg) = both(g, &rand::<E>(c.lens[2], s + 3));
        let mask: Option<Vec<bool>> = (c.lens[3] > 0).then(|| {
            let mut m: Vec<bool> = rand::<f64>(c.lens[3], s + 4)
                .iter()
                .map(|&v| v > -0.4)
                .collect();
            if c.kill_row {
                // Query 1 of the first block sees nothing.
                let row = if p.mask_row == 0 { 0 } else { p.mask_row };
                m[row..row + p.nkv].iter_mut().for_each(|b| *b = false);
            }
            m
        });
        let mc = mask.clone().map(|m| cpu.upload(m));
        let mg = mask.map(|m| g.upload(m));
        let (oc, lc) = cpu.attention(&p, &qc, &kc, &vc, mc.as_ref());
        let (og, lg) = g.attention(&p, &qg, &kg, &vg, mg.as_ref());
        check(&format!("attention out [{}]", c.name), g, &og, &oc);
        check(&format!("attention lse [{}]", c.name), g, &lg, &lc);
        if c.kill_row {
            assert!(
                cpu.download(&lc).iter().any(|l| l.is_infinite()),
                "[{}] has a fully masked row",
                c.name
            );
        }
        let (gc, gg) = both(g, &rand::<E>(p.pairs() * p.nq * p.dv, s + 5));
        // The CPU's saved values on both sides.
        let (og, lg) = (g.upload(cpu.download(&oc)), g.upload(cpu.download(&lc)));
        for want in [
            AttentionWant {
                q: true,
                k: true,
                v: true,
            },
            AttentionWant {
                q: false,
                k: true,
                v: false,
            },
            AttentionWant {
                q: true,
                k: false,
                v: true,
            },
        ] {
            let (a, b, d) =
                g.attention_backward(&p, &qg, &kg, &vg, mg.as_ref(), &og, &lg, &gg, want);
            let (ca, cb, cd) =
                cpu.attention_backward(&p, &qc, &kc, &vc, mc.as_ref(), &oc, &lc, &gc, want);
            check_opt(
                &format!("attention dq [{}]", c.name),
                g,
                a.as_ref(),
                ca.as_ref(),
            );
            check_opt(
                &format!("attention dk [{}]", c.name),
                g,
                b.as_ref(),
                cb.as_ref(),
            );
            check_opt(
                &format!("attention dv [{}]", c.name),
                g,
                d.as_ref(),
                cd.as_ref(),
            );
        }
    }
}

/// One buffer read as Q, K and V: a packed `(B, N, 3·H·d)` projection, and
/// self-attention on one `(B, H, N, d)` tensor.
fn shared_cases<E: Dtype, D: AttentionKernel<E> + typegrad::ops::binary::BinaryKernel<E>>(g: &D)
where
    Cpu: AttentionKernel<E> + typegrad::ops::binary::BinaryKernel<E>,
{
    let cpu = Cpu::default();
    let (b, h, n, d) = (2, 2, 5, 3);
    let w = 3 * h * d;
    let mut packed = params(b, h, n, n, d, d);
    packed.q = heads_last(h, n, d, 0, w);
    packed.k = heads_last(h, n, d, h * d, w);
    packed.v = heads_last(h, n, d, 2 * h * d, w);
    let mut causal_drop = params(b, h, n, n, d, d);
    causal_drop.causal = true;
    causal_drop.dropout = 0.25;
    causal_drop.seed = 3;
    for (i, (p, len)) in [(packed, b * n * w), (causal_drop, b * h * n * d)]
        .into_iter()
        .enumerate()
    {
        let (xc, xg) = both(g, &rand::<E>(len, 900 + i as u64));
        let (oc, lc) = cpu.attention(&p, &xc, &xc, &xc, None);
        let (og, lg) = g.attention(&p, &xg, &xg, &xg, None);
        check("shared attention out", g, &og, &oc);
        check("shared attention lse", g, &lg, &lc);
        let (gc, gg) = both(g, &rand::<E>(p.pairs() * p.nq * p.dv, 950 + i as u64));
        let (og, lg) = (g.upload(cpu.download(&oc)), g.upload(cpu.download(&lc)));
        check(
            &format!("attention_backward_shared {i}"),
            g,
            &g.attention_backward_shared(&p, &xg, None, &og, &lg, &gg),
            &cpu.attention_backward_shared(&p, &xc, None, &oc, &lc, &gc),
        );
    }
}

#[test]
fn attention_matches_cpu() {
    let Some(g) = gpu() else { return };
    attention_cases::<f32, _>(g);
    attention_cases::<f64, _>(g);
}

#[test]
fn attention_shared_qkv_matches_cpu() {
    let Some(g) = gpu() else { return };
    shared_cases::<f32, _>(g);
    shared_cases::<f64, _>(g);
}

/// The cases themselves, with the CPU in the device's place: every
/// geometry is valid and every buffer has the size its kernel reads (a
/// wrong case panics here, on any machine, instead of first on a GPU).
#[test]
fn cases_are_valid_on_the_cpu() {
    let cpu = Cpu::default();
    matmul_cases::<f64, _>(&cpu);
    linear_cases::<f64, _>(&cpu);
    norm_cases::<f64, _>(&cpu);
    conv_cases::<f64, _>(&cpu);
    pool_cases::<f64, _>(&cpu);
    attention_cases::<f64, _>(&cpu);
    shared_cases::<f64, _>(&cpu);
}
