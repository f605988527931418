//! Convolutions: the CPU kernel against naive direct loops over random
//! kernel/stride/padding/dilation/groups (proptest), its backward against
//! the adjoint identities, the typed ops' values and finite-difference
//! gradients (f64) for many spec combinations, 1-D and 2-D, conv and
//! transposed conv, `Dyn` sizes and runtime errors, and translation
//! equivariance.

use crate::common::*;
use proptest::prelude::*;
use typegrad::backend::Backend;
use typegrad::ops::conv::{ConvKernel, ConvParams, ConvSpec, ConvTransposeSpec};
use typegrad::prelude::*;

typegrad::per_device! {
    ops_helpers!();
    /// Naive direct loops: `y[n, o, i, j] = b[o] + Σ x[n, c, i·s - p + ki·d, j·s - p + kj·d] · w[o, c', ki, kj]`.
    pub fn naive_conv(p: &ConvParams, x: &[f64], w: &[f64], b: Option<&[f64]>) -> Vec<f64> {
        let [oh, ow] = p.output().unwrap();
        let (cig, cog) = (p.c_in / p.groups, p.c_out / p.groups);
        let [h, wd] = p.input;
        let [kh, kw] = p.kernel;
        let mut y = vec![0.0; p.batch * p.c_out * oh * ow];
        for n in 0..p.batch {
            for o in 0..p.c_out {
                let g = o / cog;
                for i in 0..oh {
                    for j in 0..ow {
                        let mut s = b.map_or(0.0, |b| b[o]);
                        for c in 0..cig {
                            for ki in 0..kh {
                                for kj in 0..kw {
                                    let ih = (i * p.stride[0] + ki * p.dilation[0]) as isize
                                        - p.padding[0] as isize;
                                    let iw = (j * p.stride[1] + kj * p.dilation[1]) as isize
                                        - p.padding[1] as isize;
                                    if ih < 0 || iw < 0 || ih as usize >= h || iw as usize >= wd {
                                        continue;
                                    }
                                    let xi = ((n * p.c_in + g * cig + c) * h + ih as usize) * wd
                                        + iw as usize;
                                    let wi = ((o * cig + c) * kh + ki) * kw + kj;
                                    s += x[xi] * w[wi];
                                }
                            }
                        }
                        y[((n * p.c_out + o) * oh + i) * ow + j] = s;
                    }
                }
            }
        }
        y
    }

    /// Naive transposed convolution from its definition (each input pixel
    /// paints the kernel into the output): input `(n, ci, h, w)`, weight
    /// `(ci, co/g, kh, kw)`, output size from the formula.
    #[allow(clippy::too_many_arguments)]
    pub fn naive_conv_transpose(
        batch: usize,
        ci: usize,
        co: usize,
        groups: usize,
        [h, wd]: [usize; 2],
        [kh, kw]: [usize; 2],
        s: [usize; 2],
        p: [usize; 2],
        op: [usize; 2],
        d: [usize; 2],
        x: &[f64],
        w: &[f64],
        b: Option<&[f64]>,
    ) -> (Vec<f64>, [usize; 2]) {
        let oh = (h - 1) * s[0] + d[0] * (kh - 1) + op[0] + 1 - 2 * p[0];
        let ow = (wd - 1) * s[1] + d[1] * (kw - 1) + op[1] + 1 - 2 * p[1];
        let (cig, cog) = (ci / groups, co / groups);
        let mut y = vec![0.0; batch * co * oh * ow];
        for n in 0..batch {
            for o in 0..co {
                for i in 0..oh * ow {
                    y[(n * co + o) * oh * ow + i] = b.map_or(0.0, |b| b[o]);
                }
            }
            for c in 0..ci {
                let g = c / cig;
                for i in 0..h {
                    for j in 0..wd {
                        let v = x[((n * ci + c) * h + i) * wd + j];
                        for ol in 0..cog {
                            let o = g * cog + ol;
                            for ki in 0..kh {
                                for kj in 0..kw {
                                    let yi = (i * s[0] + ki * d[0]) as isize - p[0] as isize;
                                    let yj = (j * s[1] + kj * d[1]) as isize - p[1] as isize;
                                    if yi < 0 || yj < 0 || yi as usize >= oh || yj as usize >= ow {
                                        continue;
                                    }
                                    let wi = ((c * cog + ol) * kh + ki) * kw + kj;
                                    y[((n * co + o) * oh + yi as usize) * ow + yj as usize] +=
                                        v * w[wi];
                                }
                            }
                        }
                    }
                }
            }
        }
        (y, [oh, ow])
    }

    fn dot(a: &[f64], b: &[f64]) -> f64 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    fn params_strategy() -> impl Strategy<Value = ConvParams> {
        (
            (0usize..3, 1usize..4, 1usize..3, 1usize..4),
            (1usize..8, 1usize..8, 1usize..4, 1usize..4),
            (
                1usize..4,
                1usize..4,
                0usize..3,
                0usize..3,
                1usize..3,
                1usize..3,
            ),
        )
            .prop_map(
                |((batch, groups, cig, cog), (h, w, kh, kw), (sh, sw, ph, pw, dh, dw))| ConvParams {
                    batch,
                    c_in: groups * cig,
                    c_out: groups * cog,
                    groups,
                    input: [h, w],
                    kernel: [kh, kw],
                    stride: [sh, sw],
                    padding: [ph, pw],
                    dilation: [dh, dw],
                    output_padding: [0, 0],
                },
            )
            .prop_filter("the kernel must fit", |p| p.output().is_some())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// The CPU kernel's forward equals the naive loops; its input and
        /// weight gradients satisfy the adjoint identities
        /// `<conv(x, w), g> = <x, dx(g)> = <w, dw(x, g)>`; the bias gradient is
        /// the channel sum.
        #[test]
        fn kernel_matches_naive_loops(p in params_strategy(), seed in 0usize..1000) {
            let dev = dev();
            let [oh, ow] = p.output().unwrap();
            let nx = p.batch * p.c_in * p.input[0] * p.input[1];
            let nw = p.c_out * (p.c_in / p.groups) * p.kernel[0] * p.kernel[1];
            let ny = p.batch * p.c_out * oh * ow;
            let x = cotangent(nx + seed).split_off(seed);
            let w: Vec<f64> = cotangent(nw + 3).into_iter().skip(3).map(|v| v - 0.3).collect();
            let b: Vec<f64> = (0..p.c_out).map(|i| i as f64 * 0.25 - 0.5).collect();
            let gy: Vec<f64> = cotangent(ny + 7).into_iter().skip(7).collect();
            let (xs, ws, bs, gs) = (dev.upload(x.clone()), dev.upload(w.clone()), dev.upload(b.clone()), dev.upload(gy.clone()));

            let y = dev.download(&ConvKernel::<f64>::conv_forward(&dev, &p, &xs, &ws, Some(&bs)));
            assert_close!(&y, &naive_conv(&p, &x, &w, Some(&b)), 1e-12);
            let y0 = dev.download(&ConvKernel::<f64>::conv_forward(&dev, &p, &xs, &ws, None));
            assert_close!(&y0, &naive_conv(&p, &x, &w, None), 1e-12);

            let lhs = dot(&y0, &gy);
            let gx = dev.download(&ConvKernel::<f64>::conv_input_grad(&dev, &p, &ws, &gs, None));
            prop_assert!((dot(&x, &gx) - lhs).abs() <= 1e-10 * (1.0 + lhs.abs()));
            let gw = dev.download(&ConvKernel::<f64>::conv_weight_grad(&dev, &p, &xs, &gs));
            prop_assert!((dot(&w, &gw) - lhs).abs() <= 1e-10 * (1.0 + lhs.abs()));
            let gb = dev.download(&ConvKernel::<f64>::channel_sum(&dev, p.batch, p.c_out, oh * ow, &gs));
            for (o, v) in gb.iter().enumerate() {
                let want: f64 = (0..p.batch).map(|n| gy[(n * p.c_out + o) * oh * ow..][..oh * ow].iter().sum::<f64>()).sum();
                prop_assert!((v - want).abs() < 1e-10);
            }
            // With a bias, the input gradient adds b[c] per input channel.
            let bi: Vec<f64> = (0..p.c_in).map(|i| i as f64).collect();
            let gxb = dev.download(&ConvKernel::<f64>::conv_input_grad(&dev, &p, &ws, &gs, Some(&dev.upload(bi.clone()))));
            let hw = p.input[0] * p.input[1];
            for (i, (a, b0)) in gxb.iter().zip(&gx).enumerate() {
                prop_assert!((a - b0 - bi[(i / hw) % p.c_in]).abs() < 1e-10);
            }
        }
    }

    /// A large call runs the parallel paths (batch split, partial weight
    /// gradients); it must agree with the naive loops as the small ones do.
    #[test]
    fn kernel_large_batch_matches_naive() {
        let dev = dev();
        // 8·32·(16/2·9)·(32·32) = 18.9M multiply-adds: above the kernel's
        // threading threshold (2^24).
        let p = ConvParams::conv2d(8, 16, 32, 2, [32, 32], [3, 3], [1, 1], [1, 1], [1, 1]);
        let [oh, ow] = p.output().unwrap();
        let x = cotangent(8 * 16 * 32 * 32);
        let w = cotangent(32 * 8 * 9);
        let gy = cotangent(8 * 32 * oh * ow);
        let (xs, ws, gs) = (
            dev.upload(x.clone()),
            dev.upload(w.clone()),
            dev.upload(gy.clone()),
        );
        let y = dev.download(&ConvKernel::<f64>::conv_forward(&dev, &p, &xs, &ws, None));
        assert_close!(&y, &naive_conv(&p, &x, &w, None), 1e-12);
        let lhs = dot(&y, &gy);
        let gx = dev.download(&ConvKernel::<f64>::conv_input_grad(
            &dev, &p, &ws, &gs, None,
        ));
        let gw = dev.download(&ConvKernel::<f64>::conv_weight_grad(&dev, &p, &xs, &gs));
        assert!((dot(&x, &gx) - lhs).abs() < 1e-9 * lhs.abs().max(1.0));
        assert!((dot(&w, &gw) - lhs).abs() < 1e-9 * lhs.abs().max(1.0));
        // 1x1 kernels skip im2col.
        let p1 = ConvParams::conv2d(5, 6, 3, 3, [7, 9], [1, 1], [1, 1], [0, 0], [1, 1]);
        let x1 = cotangent(5 * 6 * 63);
        let w1 = cotangent(3 * 2);
        let y1 = dev.download(&ConvKernel::<f64>::conv_forward(
            &dev,
            &p1,
            &dev.upload(x1.clone()),
            &dev.upload(w1.clone()),
            None,
        ));
        assert_close!(&y1, &naive_conv(&p1, &x1, &w1, None), 1e-12);
    }

    /// Values of typed ops against the naive loops, and gradchecks of the
    /// input, for one spec combination (conv2d on `(Dyn, C, Dyn, Dyn)`).
    macro_rules! conv2d_case {
        ($name:ident, ci = $ci:literal, co = $co:literal, k = $k:literal, s = $s:literal, p = $p:literal, l = $l:literal, g = $g:literal, per = $per:literal) => {
            proptest! {
                #![proptest_config(ProptestConfig::with_cases(12))]
                #[test]
                fn $name(b in 1usize..3, h in 0usize..5, w in 0usize..5, seed in 0usize..100) {
                    let dev = dev();
                    let (h, w) = (h + ($k - 1) * $l + 1, w + ($k - 1) * $l + 1);
                    let x: Tensor<(Dyn, u!($ci), Dyn, Dyn), f64, Dev> = Tensor::from_vec(
                        (Dyn(b), Default::default(), Dyn(h), Dyn(w)),
                        cotangent(b * $ci * h * w + seed).split_off(seed),
                        &dev,
                    );
                    let wt: Tensor<(u!($co), u!($per), u!($k), u!($k)), f64, Dev> =
                        Tensor::from_vec_static(cotangent($co * ($ci / $g) * $k * $k), &dev);
                    let bias: Tensor<(u!($co),), f64, Dev> = Tensor::from_vec_static((0..$co).map(|i| i as f64 * 0.1).collect(), &dev);
                    let spec = ConvSpec::<u!($s), u!($p), u!($l), u!($g)>::new();
                    let y = x.clone().conv2d(&wt, Some(&bias), spec);
                    let p = ConvParams::conv2d(b, $ci, $co, $g, [h, w], [$k, $k], [$s, $s], [$p, $p], [$l, $l]);
                    assert_close!(&y.to_vec(), &naive_conv(&p, &x.to_vec(), &wt.to_vec(), Some(&bias.to_vec())), 1e-12);
                    prop_assert_eq!(&*y.dims(), &[b, $co, p.output().unwrap()[0], p.output().unwrap()[1]]);
                    gradcheck(&x, |x| x.conv2d(&wt, Some(&bias), spec))?;
                }
            }
        };
    }

    conv2d_case!(
        conv2d_k3_plain,
        ci = 2,
        co = 3,
        k = 3,
        s = 1,
        p = 0,
        l = 1,
        g = 1,
        per = 2
    );
    conv2d_case!(
        conv2d_k3_s2_p1,
        ci = 3,
        co = 2,
        k = 3,
        s = 2,
        p = 1,
        l = 1,
        g = 1,
        per = 3
    );
    conv2d_case!(
        conv2d_k2_dil2_p1,
        ci = 2,
        co = 2,
        k = 2,
        s = 1,
        p = 1,
        l = 2,
        g = 1,
        per = 2
    );
    conv2d_case!(
        conv2d_groups2_s3,
        ci = 4,
        co = 6,
        k = 2,
        s = 3,
        p = 1,
        l = 1,
        g = 2,
        per = 2
    );
    conv2d_case!(
        conv2d_depthwise,
        ci = 3,
        co = 3,
        k = 3,
        s = 1,
        p = 1,
        l = 1,
        g = 3,
        per = 1
    );
    conv2d_case!(
        conv2d_pointwise,
        ci = 3,
        co = 4,
        k = 1,
        s = 1,
        p = 0,
        l = 1,
        g = 1,
        per = 3
    );
    conv2d_case!(
        conv2d_k4_s2_p2_dil2_g2,
        ci = 2,
        co = 4,
        k = 4,
        s = 2,
        p = 2,
        l = 2,
        g = 2,
        per = 1
    );

    /// Transposed conv2d values against the naive definition, and the
    /// input's gradcheck, for one spec combination.
    macro_rules! conv_t2d_case {
        ($name:ident, ci = $ci:literal, co = $co:literal, k = $k:literal, s = $s:literal, p = $p:literal, op = $op:literal, l = $l:literal, g = $g:literal, per = $per:literal) => {
            proptest! {
                #![proptest_config(ProptestConfig::with_cases(12))]
                #[test]
                fn $name(b in 1usize..3, h in 1usize..5, w in 1usize..5, seed in 0usize..100) {
                    let dev = dev();
                    let x: Tensor<(Dyn, u!($ci), Dyn, Dyn), f64, Dev> = Tensor::from_vec(
                        (Dyn(b), Default::default(), Dyn(h), Dyn(w)),
                        cotangent(b * $ci * h * w + seed).split_off(seed),
                        &dev,
                    );
                    let wt: Tensor<(u!($ci), u!($per), u!($k), u!($k)), f64, Dev> =
                        Tensor::from_vec_static(cotangent($ci * ($co / $g) * $k * $k), &dev);
                    let bias: Tensor<(u!($co),), f64, Dev> = Tensor::from_vec_static((0..$co).map(|i| 0.5 - i as f64 * 0.1).collect(), &dev);
                    let spec = ConvTransposeSpec::<u!($s), u!($p), u!($op), u!($l), u!($g)>::new();
                    let Ok(y) = x.clone().try_conv_transpose2d(&wt, Some(&bias), spec) else {
                        // The padding removed the whole output: nothing to compare.
                        prop_assume!(false);
                        unreachable!()
                    };
                    let (want, [oh, ow]) = naive_conv_transpose(
                        b, $ci, $co, $g, [h, w], [$k, $k], [$s; 2], [$p; 2], [$op; 2], [$l; 2],
                        &x.to_vec(), &wt.to_vec(), Some(&bias.to_vec()),
                    );
                    prop_assert_eq!(&*y.dims(), &[b, $co, oh, ow]);
                    assert_close!(&y.to_vec(), &want, 1e-12);
                    gradcheck(&x, |x| x.conv_transpose2d(&wt, Some(&bias), spec))?;
                }
            }
        };
    }

    conv_t2d_case!(
        conv_t2d_plain,
        ci = 2,
        co = 3,
        k = 3,
        s = 1,
        p = 0,
        op = 0,
        l = 1,
        g = 1,
        per = 3
    );
    conv_t2d_case!(
        conv_t2d_s2_p1_op1,
        ci = 3,
        co = 2,
        k = 3,
        s = 2,
        p = 1,
        op = 1,
        l = 1,
        g = 1,
        per = 2
    );
    conv_t2d_case!(
        conv_t2d_dil2_g2,
        ci = 4,
        co = 2,
        k = 2,
        s = 3,
        p = 0,
        op = 2,
        l = 2,
        g = 2,
        per = 1
    );
    conv_t2d_case!(
        conv_t2d_k4_s2_p1,
        ci = 2,
        co = 2,
        k = 4,
        s = 2,
        p = 1,
        op = 0,
        l = 1,
        g = 1,
        per = 2
    );

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]

        /// conv1d equals conv2d on `(B, C, 1, N)` with a `(CO, C, 1, K)`
        /// weight (checked against the naive loops), on `Dyn` lengths, and its
        /// input gradient passes the finite-difference check.
        #[test]
        fn conv1d_matches_naive_and_gradcheck(b in 1usize..3, n in 3usize..9, seed in 0usize..100) {
            let dev = dev();
            let x: Tensor<(Dyn, u!(4), Dyn), f64, Dev> =
                Tensor::from_vec((Dyn(b), Default::default(), Dyn(n)), cotangent(b * 4 * n + seed).split_off(seed), &dev);
            let w: Tensor<(u!(6), u!(2), u!(3)), f64, Dev> = Tensor::from_vec_static(cotangent(36), &dev);
            let bias: Tensor<(u!(6),), f64, Dev> = Tensor::from_vec_static(vec![0.1, -0.2, 0.3, 0.0, 1.0, -1.0], &dev);
            let spec = ConvSpec::<u!(2), u!(1), u!(2), u!(2)>::new();
            let y = x.clone().conv1d(&w, Some(&bias), spec);
            let p = ConvParams {
                batch: b, c_in: 4, c_out: 6, groups: 2, input: [1, n], kernel: [1, 3],
                stride: [1, 2], padding: [0, 1], dilation: [1, 2], output_padding: [0, 0],
            };
            assert_close!(&y.to_vec(), &naive_conv(&p, &x.to_vec(), &w.to_vec(), Some(&bias.to_vec())), 1e-12);
            prop_assert_eq!(&*y.dims(), &[b, 6, p.output().unwrap()[1]]);
            gradcheck(&x, |x| x.conv1d(&w, Some(&bias), spec))?;

            // Transposed 1-D: the naive definition with H = 1.
            let wt: Tensor<(u!(4), u!(3), u!(3)), f64, Dev> = Tensor::from_vec_static(cotangent(36), &dev);
            let tspec = ConvTransposeSpec::<u!(2), u!(1), u!(1), u!(1), u!(2)>::new();
            let yt = x.clone().conv_transpose1d(&wt, Some(&bias), tspec);
            let (want, [_, on]) = naive_conv_transpose(b, 4, 6, 2, [1, n], [1, 3], [1, 2], [0, 1], [0, 1], [1, 1],
                &x.to_vec(), &wt.to_vec(), Some(&bias.to_vec()));
            prop_assert_eq!(&*yt.dims(), &[b, 6, on]);
            assert_close!(&yt.to_vec(), &want, 1e-12);
            gradcheck(&x, |x| x.conv_transpose1d(&wt, Some(&bias), tspec))?;
        }

        /// Shifting the input shifts the output (stride 1, no padding, away
        /// from the borders): convolution is translation-equivariant.
        #[test]
        fn conv2d_is_translation_equivariant(dy in 0usize..3, dx in 0usize..3, seed in 0usize..100) {
            let dev = dev();
            let (h, w) = (10usize, 9usize);
            let base = cotangent(2 * h * w + seed).split_off(seed);
            // x2[c, i, j] = x[c, i - dy, j - dx] (zero outside).
            let mut shifted = vec![0.0; 2 * h * w];
            for c in 0..2 {
                for i in dy..h {
                    for j in dx..w {
                        shifted[(c * h + i) * w + j] = base[(c * h + i - dy) * w + j - dx];
                    }
                }
            }
            let x1: Tensor<(u!(2), u!(10), u!(9)), f64, Dev> = Tensor::from_vec_static(base, &dev);
            let x2: Tensor<(u!(2), u!(10), u!(9)), f64, Dev> = Tensor::from_vec_static(shifted, &dev);
            let wt: Tensor<(u!(3), u!(2), u!(3), u!(3)), f64, Dev> = Tensor::from_vec_static(cotangent(54), &dev);
            let y1 = x1.conv2d(&wt, None, ConvSpec::plain()).to_vec();
            let y2 = x2.conv2d(&wt, None, ConvSpec::plain()).to_vec();
            let (oh, ow) = (8usize, 7usize);
            for o in 0..3 {
                for i in dy..oh {
                    for j in dx..ow {
                        // Output pixels whose window lies inside the shifted copy.
                        if i < dy + 2 || j < dx + 2 {
                            continue;
                        }
                        let a = y2[(o * oh + i) * ow + j];
                        let b = y1[(o * oh + i - dy) * ow + j - dx];
                        prop_assert!((a - b).abs() < 1e-12);
                    }
                }
            }
        }
    }

    /// Static sizes give static output sizes; `Dyn` and static agree.
    #[test]
    fn conv2d_static_and_dyn_shapes_agree() {
        let dev = dev();
        let xs: Tensor<(u!(2), u!(3), u!(11), u!(8)), f64, Dev> =
            Tensor::from_vec_static(cotangent(2 * 3 * 88), &dev);
        let w: Tensor<(u!(4), u!(3), u!(3), u!(3)), f64, Dev> =
            Tensor::from_vec_static(cotangent(108), &dev);
        let spec = ConvSpec::<u!(2), u!(1), u!(2)>::new();
        // (11 + 2 - 4 - 1) / 2 + 1 = 5, (8 + 2 - 4 - 1) / 2 + 1 = 3
        let ys: Tensor<(u!(2), u!(4), u!(5), u!(3)), f64, Dev> = xs.clone().conv2d(&w, None, spec);
        let xd: Tensor<(Dyn, u!(3), Dyn, Dyn), f64, Dev> = Tensor::from_vec(
            (Dyn(2), Default::default(), Dyn(11), Dyn(8)),
            xs.to_vec(),
            &dev,
        );
        let yd = xd.conv2d(&w, None, spec);
        assert_eq!(&*yd.dims(), &[2, 4, 5, 3]);
        assert_eq!(ys.to_vec(), yd.to_vec());
        // Unbatched input: the same values as a batch of one.
        let x1: Tensor<(u!(3), u!(11), u!(8)), f64, Dev> =
            Tensor::from_vec_static(xs.to_vec()[..264].to_vec(), &dev);
        let y1: Tensor<(u!(4), u!(5), u!(3)), f64, Dev> = x1.conv2d(&w, None, spec);
        assert_eq!(y1.to_vec(), ys.to_vec()[..60].to_vec());
    }

    /// Runtime errors name what is wrong: channels (Dyn), kernel larger than
    /// the padded Dyn input, bias length, transposed padding.
    #[test]
    fn conv_runtime_errors() {
        let dev = dev();
        let w: Tensor<(u!(4), u!(3), u!(3), u!(3)), f32, Dev> = Tensor::zeros(Default::default(), &dev);
        let x: Tensor<(u!(1), Dyn, u!(8), u!(8)), f32, Dev> = Tensor::zeros(
            (
                Default::default(),
                Dyn(2),
                Default::default(),
                Default::default(),
            ),
            &dev,
        );
        let e = x.try_conv2d(&w, None, ConvSpec::plain()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "conv2d: dimension mismatch on axis 1 (input channels vs weight in-channels × groups): got 2, expected 3"
        );
        let x: Tensor<(u!(1), u!(3), Dyn, Dyn), f32, Dev> = Tensor::zeros(
            (Default::default(), Default::default(), Dyn(8), Dyn(1)),
            &dev,
        );
        let e = x.try_conv2d(&w, None, ConvSpec::plain()).unwrap_err();
        assert_eq!(
            e,
            Error::KernelTooLarge {
                op: "conv2d",
                axis: 3,
                input: 1,
                padding: 0,
                kernel: 3
            }
        );
        // Padding makes it fit.
        let x: Tensor<(u!(1), u!(3), Dyn, Dyn), f32, Dev> = Tensor::zeros(
            (Default::default(), Default::default(), Dyn(8), Dyn(1)),
            &dev,
        );
        assert_eq!(
            &*x.try_conv2d(&w, None, ConvSpec::<u!(1), u!(1)>::new())
                .unwrap()
                .dims(),
            &[1, 4, 8, 1]
        );
        // Dilation 3: effective kernel 7 on a padded 6.
        let x: Tensor<(Dyn, u!(3), Dyn), f32, Dev> = Tensor::zeros((Dyn(2), Default::default(), Dyn(6)), &dev);
        let w1: Tensor<(u!(2), u!(3), u!(3)), f32, Dev> = Tensor::zeros(Default::default(), &dev);
        let e = x
            .try_conv1d(&w1, None, ConvSpec::<u!(1), u!(0), u!(3)>::new())
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "conv1d: kernel larger than padded input on axis 2: input size 6 + 2 x padding 0 < effective kernel size 7"
        );
        // Channels of a transposed conv (Dyn).
        let x: Tensor<(Dyn, Dyn, u!(4)), f32, Dev> = Tensor::zeros((Dyn(1), Dyn(5), Default::default()), &dev);
        let wt: Tensor<(u!(2), u!(3), u!(3)), f32, Dev> = Tensor::zeros(Default::default(), &dev);
        let e = x
            .try_conv_transpose1d(&wt, None, ConvTransposeSpec::plain())
            .unwrap_err();
        assert!(e.to_string().contains("got 5, expected 2"), "{e}");
        // Output padding must be below the stride.
        let x: Tensor<(u!(2), u!(4)), f32, Dev> = Tensor::zeros(Default::default(), &dev);
        let e = x
            .try_conv_transpose1d(&wt, None, ConvTransposeSpec::<u!(1), u!(0), u!(1)>::new())
            .unwrap_err();
        assert!(e.to_string().contains("output padding"), "{e}");
    }

    /// The panicking form panics with the same message.
    #[test]
    #[should_panic(expected = "kernel larger than padded input on axis 1: input size")]
    fn conv2d_dyn_kernel_too_large_panics() {
        let dev = dev();
        let w: Tensor<(u!(1), u!(1), u!(5), u!(5)), f32, Dev> = Tensor::zeros(Default::default(), &dev);
        let x: Tensor<(u!(1), Dyn, Dyn), f32, Dev> = Tensor::zeros((Default::default(), Dyn(3), Dyn(9)), &dev);
        let _ = x.conv2d(&w, None, ConvSpec::plain());
    }

    /// An empty batch gives an empty output, and its gradient is empty too.
    #[test]
    fn conv_empty_batch() {
        let dev = dev();
        let x: Tensor<(Dyn, u!(2), u!(5), u!(5)), f64, Dev> = Tensor::zeros(
            (
                Dyn(0),
                Default::default(),
                Default::default(),
                Default::default(),
            ),
            &dev,
        );
        let w: Tensor<(u!(3), u!(2), u!(3), u!(3)), f64, Dev> = Tensor::ones(Default::default(), &dev);
        let b: Tensor<(u!(3),), f64, Dev> = Tensor::ones(Default::default(), &dev);
        let y = x.clone().trace().conv2d(&w, Some(&b), ConvSpec::plain());
        assert_eq!(&*y.dims(), &[0, 3, 3, 3]);
        let g = y.sum().backward();
        assert_eq!(g.get(&w).unwrap().to_vec(), vec![0.0; 54]);
        assert_eq!(g.get(&b).unwrap().to_vec(), vec![0.0; 3]);
    }

    /// The gradients `(dx, dw)` of [`naive_conv`] for the output gradient
    /// `gy`, by the same loops: each product `x·w` sends `gy·w` to `dx` and
    /// `gy·x` to `dw`.
    fn naive_conv_grads(p: &ConvParams, x: &[f64], w: &[f64], gy: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let [oh, ow] = p.output().unwrap();
        let (cig, cog) = (p.c_in / p.groups, p.c_out / p.groups);
        let [h, wd] = p.input;
        let [kh, kw] = p.kernel;
        let mut gx = vec![0.0; x.len()];
        let mut gw = vec![0.0; w.len()];
        for n in 0..p.batch {
            for o in 0..p.c_out {
                let g = o / cog;
                for i in 0..oh {
                    for j in 0..ow {
                        let gv = gy[((n * p.c_out + o) * oh + i) * ow + j];
                        for c in 0..cig {
                            for ki in 0..kh {
                                for kj in 0..kw {
                                    let ih = (i * p.stride[0] + ki * p.dilation[0]) as isize
                                        - p.padding[0] as isize;
                                    let iw = (j * p.stride[1] + kj * p.dilation[1]) as isize
                                        - p.padding[1] as isize;
                                    if ih < 0 || iw < 0 || ih as usize >= h || iw as usize >= wd {
                                        continue;
                                    }
                                    let xi = ((n * p.c_in + g * cig + c) * h + ih as usize) * wd
                                        + iw as usize;
                                    let wi = ((o * cig + c) * kh + ki) * kw + kj;
                                    gx[xi] += gv * w[wi];
                                    gw[wi] += gv * x[xi];
                                }
                            }
                        }
                    }
                }
            }
        }
        (gx, gw)
    }

    /// The CPU kernel on `p` (forward with and without a bias, input gradient
    /// with and without a bias, weight gradient) against the naive loops and
    /// the adjoint identities.
    /// [`check_kernel_against_naive`] for every case, on each thread count.
    fn check_on_threads(threads: &[usize], cases: &[ConvParams]) {
        for &t in threads {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(t).build().unwrap();
            pool.install(|| cases.iter().for_each(check_kernel_against_naive));
        }
    }

    fn check_kernel_against_naive(p: &ConvParams) {
        let dev = dev();
        let [oh, ow] = p.output().unwrap();
        let hw = p.input[0] * p.input[1];
        let nx = p.batch * p.c_in * hw;
        let nw = p.c_out * (p.c_in / p.groups) * p.kernel[0] * p.kernel[1];
        let ny = p.batch * p.c_out * oh * ow;
        let x = cotangent(nx);
        let w: Vec<f64> = cotangent(nw + 5).split_off(5);
        let b: Vec<f64> = (0..p.c_out).map(|i| i as f64 * 0.25 - 0.5).collect();
        let gy: Vec<f64> = cotangent(ny + 11).split_off(11);
        let (xs, ws, gs) = (
            dev.upload(x.clone()),
            dev.upload(w.clone()),
            dev.upload(gy.clone()),
        );
        let y = dev.download(&ConvKernel::<f64>::conv_forward(
            &dev,
            p,
            &xs,
            &ws,
            Some(&dev.upload(b.clone())),
        ));
        assert_close!(&y, &naive_conv(p, &x, &w, Some(&b)), 1e-12);
        let y0 = dev.download(&ConvKernel::<f64>::conv_forward(&dev, p, &xs, &ws, None));
        assert_close!(&y0, &naive_conv(p, &x, &w, None), 1e-12);
        let lhs = dot(&y0, &gy);
        let gx = dev.download(&ConvKernel::<f64>::conv_input_grad(&dev, p, &ws, &gs, None));
        assert!(
            (dot(&x, &gx) - lhs).abs() < 1e-10 * lhs.abs().max(1.0),
            "{p:?}"
        );
        let gw = dev.download(&ConvKernel::<f64>::conv_weight_grad(&dev, p, &xs, &gs));
        assert!(
            (dot(&w, &gw) - lhs).abs() < 1e-10 * lhs.abs().max(1.0),
            "{p:?}"
        );
        // Elementwise, against the same loops run backwards.
        let (gx_naive, gw_naive) = naive_conv_grads(p, &x, &w, &gy);
        assert_close!(&gx, &gx_naive, 1e-12);
        // A weight gradient sums over every output pixel of the batch (4608
        // terms in the largest case): rounding of that order, in f64.
        assert_close!(&gw, &gw_naive, 1e-10);
        let bi: Vec<f64> = (0..p.c_in).map(|i| i as f64).collect();
        let gxb = dev.download(&ConvKernel::<f64>::conv_input_grad(
            &dev,
            p,
            &ws,
            &gs,
            Some(&dev.upload(bi.clone())),
        ));
        for (i, (a, b0)) in gxb.iter().zip(&gx).enumerate() {
            assert!((a - b0 - bi[(i / hw) % p.c_in]).abs() < 1e-10, "{p:?}");
        }
    }

    /// The batch-folding paths of the CPU kernel: one image per product (big
    /// feature maps, `x`/`gy` read in place, 1x1 without im2col), several
    /// images per product with a shorter last chunk, gathered 1x1 and stride-2
    /// products, a whole batch in one product; on 1, 2 and 3 threads (chunks
    /// split over threads, or gemm threading one product).
    #[test]
    fn kernel_batch_folding_matches_naive() {
        let cases = [
            // L = 24·24 >= 512 output pixels: one image per product.
            ConvParams::conv2d(3, 2, 4, 1, [28, 28], [5, 5], [1, 1], [0, 0], [1, 1]),
            // 1x1, stride 1, one image per product: the input is the columns.
            ConvParams::conv2d(3, 4, 8, 2, [24, 24], [1, 1], [1, 1], [0, 0], [1, 1]),
            // L = 100: 6 images per product (4 + 3 when split over threads).
            ConvParams::conv2d(7, 8, 16, 2, [10, 10], [3, 3], [1, 1], [1, 1], [1, 1]),
            // Folded 1x1 (gathered), stride-2 1x1 and 3x3.
            ConvParams::conv2d(9, 4, 6, 1, [5, 5], [1, 1], [1, 1], [0, 0], [1, 1]),
            ConvParams::conv2d(5, 4, 8, 1, [9, 9], [1, 1], [2, 2], [0, 0], [1, 1]),
            // L = 16: the whole batch of 17 in one product.
            ConvParams::conv2d(17, 8, 16, 1, [8, 8], [3, 3], [2, 2], [1, 1], [1, 1]),
            // Dilation and unequal strides, folded.
            ConvParams::conv2d(6, 3, 4, 1, [11, 9], [3, 2], [2, 1], [2, 1], [2, 3]),
            // 21.2M multiply-adds, one image per product: chunks split over
            // threads (above the 2^24 threshold).
            ConvParams::conv2d(8, 16, 32, 1, [24, 24], [3, 3], [1, 1], [1, 1], [1, 1]),
            // 17.7M multiply-adds in one product of 5 images, 2 groups: gemm
            // threads itself, the col2im scatter goes over the images.
            ConvParams::conv2d(5, 96, 512, 2, [8, 8], [3, 3], [2, 2], [1, 1], [1, 1]),
            // LeNet-5's layers between the batch-split (2^21) and gemm-threading
            // (2^24) thresholds: images split over threads, every product on
            // its thread (direct forward and input gradient, im2col weight
            // gradient in per-thread partial sums).
            ConvParams::conv2d(32, 1, 6, 1, [28, 28], [5, 5], [1, 1], [0, 0], [1, 1]),
            ConvParams::conv2d(16, 6, 16, 1, [12, 12], [5, 5], [1, 1], [0, 0], [1, 1]),
        ];
        check_on_threads(&[1, 2, 3], &cases);
    }

    /// Both forms of the weight-gradient product: `gWᵀ = cols · gy'ᵀ` then
    /// transposed per group (when `(K - C_out/G)·N > 2·(C_out/G)·K`, `K =
    /// C_in/G·KH·KW`, `N` = the batch's output pixels) and `gW = gy' · colsᵀ`
    /// (otherwise): transposed with one and two groups, blocks not multiples
    /// of the 16 x 16 transpose tile, one and several images per product, the
    /// per-thread partial sums (summed and transposed in one pass, one and two
    /// groups); not transposed with `K
    /// < C_out/G`, and with `K > C_out/G` but few pixels (a ResNet's last
    /// stage). On 1 and 2 threads.
    #[test]
    fn kernel_weight_grad_transposed_matches_naive() {
        let cases = [
            // K = 27 > 5, N = 2·100: transposed, both images in one product.
            ConvParams::conv2d(2, 3, 5, 1, [10, 10], [3, 3], [1, 1], [1, 1], [1, 1]),
            // Two groups of K = 18 against 3 outputs each, transposed.
            ConvParams::conv2d(3, 4, 6, 2, [9, 7], [3, 3], [1, 1], [1, 0], [1, 1]),
            // One image per product (L = 576), K = 99 > 17.
            ConvParams::conv2d(2, 11, 17, 1, [24, 24], [3, 3], [1, 1], [1, 1], [1, 1]),
            // 21.2M multiply-adds: partial sums per thread, then transposed.
            ConvParams::conv2d(8, 16, 32, 1, [24, 24], [3, 3], [1, 1], [1, 1], [1, 1]),
            // 3.3M, two groups of 10 outputs (not a multiple of the 16-row
            // tiles that sum and transpose the partials).
            ConvParams::conv2d(8, 8, 20, 2, [24, 24], [3, 3], [1, 1], [1, 1], [1, 1]),
            // K = 4 < 40: not transposed.
            ConvParams::conv2d(3, 4, 40, 1, [6, 6], [1, 1], [1, 1], [0, 0], [1, 1]),
            // K = 72 > 40 but N = 2·4: (72 - 40)·8 < 2·40·72, not transposed.
            ConvParams::conv2d(2, 8, 40, 1, [4, 4], [3, 3], [2, 2], [1, 1], [1, 1]),
        ];
        check_on_threads(&[1, 2], &cases);
    }

    /// im2col's path for stride 1 without padding (each output row one copy
    /// of a stretch of an input row, blocks of 16, 8, 4 and single elements
    /// for short rows, a plain copy past 64): rows of 1, 3, 7, 21 and 70
    /// elements, dilation, rectangular kernels, one and several images per
    /// product; `C_out` above the direct kernel's limit so the forward takes
    /// im2col too (the weight gradient always does).
    #[test]
    fn kernel_unpadded_im2col_matches_naive() {
        let cases = [
            ConvParams::conv2d(2, 3, 34, 1, [5, 3], [3, 3], [1, 1], [0, 0], [1, 1]),
            ConvParams::conv2d(2, 3, 34, 1, [6, 5], [2, 3], [1, 1], [0, 0], [1, 1]),
            ConvParams::conv2d(3, 2, 34, 1, [9, 11], [3, 3], [1, 1], [0, 0], [2, 2]),
            ConvParams::conv2d(2, 2, 36, 2, [4, 25], [2, 5], [1, 1], [0, 0], [1, 1]),
            ConvParams::conv2d(2, 2, 34, 1, [3, 72], [2, 3], [1, 1], [0, 0], [1, 1]),
        ];
        for p in &cases {
            check_kernel_against_naive(p);
        }
    }

    /// im2col's path for stride 1 with output rows as long as the input rows
    /// (one shifted copy per kernel tap, then the padding columns zeroed):
    /// padding along the height below, at and above "same", padding wider
    /// than the plane (a 1-wide input under a 5-wide kernel), dilation, and
    /// one and several images per product. `C_out` above the direct kernel's
    /// limit, so the forward takes im2col too.
    #[test]
    fn kernel_same_width_im2col_matches_naive() {
        let cases = [
            ConvParams::conv2d(2, 3, 34, 1, [5, 1], [3, 5], [1, 1], [1, 2], [1, 1]),
            ConvParams::conv2d(2, 3, 34, 1, [6, 7], [3, 3], [1, 1], [0, 1], [1, 1]),
            ConvParams::conv2d(2, 3, 34, 1, [6, 7], [2, 3], [1, 1], [2, 1], [1, 1]),
            ConvParams::conv2d(2, 2, 34, 1, [7, 8], [3, 3], [1, 1], [2, 2], [2, 2]),
            ConvParams::conv2d(3, 4, 40, 1, [9, 9], [3, 3], [1, 1], [1, 1], [1, 1]),
            ConvParams::conv2d(2, 4, 36, 2, [24, 24], [3, 3], [1, 1], [1, 1], [1, 1]),
            // A dilated tap whose every read falls in the padding (found
            // by `kernel_matches_naive_loops`: an empty copy from a
            // negative offset panicked).
            ConvParams::conv2d(1, 2, 2, 2, [1, 1], [1, 3], [1, 1], [0, 2], [1, 2]),
            ConvParams::conv2d(2, 2, 34, 1, [2, 1], [1, 3], [1, 1], [0, 2], [1, 2]),
        ];
        for p in &cases {
            check_kernel_against_naive(p);
        }
    }

    /// The direct (no im2col) kernel for few channels and stride 1: LeNet's
    /// two layers, padding, dilation, a 1x1 kernel, one-column outputs and
    /// the size limits on either side (`C_in·KH·KW` 160 and 175, `C_out` 32
    /// and 33), against the naive loops on 1 and 3 threads.
    #[test]
    fn kernel_direct_path_matches_naive() {
        let cases = [
            // LeNet-5 conv1 and conv2.
            ConvParams::conv2d(3, 1, 6, 1, [28, 28], [5, 5], [1, 1], [0, 0], [1, 1]),
            ConvParams::conv2d(2, 6, 16, 1, [12, 12], [5, 5], [1, 1], [0, 0], [1, 1]),
            // Padding, dilation, unequal sizes.
            ConvParams::conv2d(2, 3, 5, 1, [9, 7], [3, 2], [1, 1], [2, 1], [2, 3]),
            ConvParams::conv2d(1, 2, 3, 1, [5, 11], [1, 1], [1, 1], [0, 0], [1, 1]),
            // Output one column / one row wide.
            ConvParams::conv2d(2, 2, 4, 1, [6, 3], [3, 3], [1, 1], [0, 0], [1, 1]),
            ConvParams::conv2d(2, 2, 4, 1, [3, 6], [3, 3], [1, 1], [0, 0], [1, 1]),
            // At and past the limits.
            ConvParams::conv2d(2, 10, 32, 1, [6, 6], [4, 4], [1, 1], [1, 1], [1, 1]),
            ConvParams::conv2d(2, 7, 33, 1, [6, 6], [5, 5], [1, 1], [2, 2], [1, 1]),
            // Large enough to be split over threads (19.4M multiply-adds).
            ConvParams::conv2d(9, 6, 16, 1, [32, 32], [5, 5], [1, 1], [1, 1], [1, 1]),
        ];
        check_on_threads(&[1, 3], &cases);
    }

    /// The f32 direct kernel (fused multiply-adds, 16-wide blocks) on LeNet's
    /// second layer against the f64 naive loops.
    #[test]
    fn kernel_direct_path_f32() {
        let dev = dev();
        let p = ConvParams::conv2d(4, 6, 16, 1, [12, 12], [5, 5], [1, 1], [0, 0], [1, 1]);
        let x = cotangent(4 * 6 * 144);
        let w: Vec<f64> = cotangent(16 * 150 + 5).split_off(5);
        let gy = cotangent(4 * 16 * 64);
        let f = |v: &[f64]| dev.upload(v.iter().map(|&a| a as f32).collect::<Vec<f32>>());
        let y: Vec<f64> = dev
            .download(&ConvKernel::<f32>::conv_forward(
                &dev,
                &p,
                &f(&x),
                &f(&w),
                None,
            ))
            .into_iter()
            .map(f64::from)
            .collect();
        assert_close!(&y, &naive_conv(&p, &x, &w, None), 1e-4);
        let (gx_n, gw_n) = naive_conv_grads(&p, &x, &w, &gy);
        let gx: Vec<f64> = dev
            .download(&ConvKernel::<f32>::conv_input_grad(
                &dev,
                &p,
                &f(&w),
                &f(&gy),
                None,
            ))
            .into_iter()
            .map(f64::from)
            .collect();
        assert_close!(&gx, &gx_n, 1e-4);
        let gw: Vec<f64> = dev
            .download(&ConvKernel::<f32>::conv_weight_grad(
                &dev,
                &p,
                &f(&x),
                &f(&gy),
            ))
            .into_iter()
            .map(f64::from)
            .collect();
        assert_close!(&gw, &gw_n, 1e-4);
    }

    /// The Winograd F(2x2, 3x3) path (3x3, stride 1, both channel counts
    /// at least 16): ResNet-shaped layers, planes smaller than a tile, odd
    /// sizes, every padding it takes, batches folded into chunks of
    /// several images and split over threads; forward, input and weight
    /// gradients against the naive loops on 1, 2 and 3 threads.
    #[test]
    fn kernel_winograd_path_matches_naive() {
        let cases = [
            ConvParams::conv2d(3, 16, 16, 1, [16, 16], [3, 3], [1, 1], [1, 1], [1, 1]),
            // 64 tiles per image, 8 images per chunk: two chunks, over the
            // threads on 2 (per-thread partial weight gradients).
            ConvParams::conv2d(9, 16, 16, 1, [16, 16], [3, 3], [1, 1], [1, 1], [1, 1]),
            // 16640 kernels: the weight transform goes over the threads.
            ConvParams::conv2d(1, 128, 130, 1, [3, 2], [3, 3], [1, 1], [1, 1], [1, 1]),
            ConvParams::conv2d(3, 17, 19, 1, [7, 5], [3, 3], [1, 1], [1, 1], [1, 1]),
            ConvParams::conv2d(2, 20, 16, 1, [6, 4], [3, 3], [1, 1], [2, 2], [1, 1]),
            ConvParams::conv2d(5, 16, 18, 1, [3, 4], [3, 3], [1, 1], [1, 0], [1, 1]),
            ConvParams::conv2d(5, 32, 16, 1, [8, 8], [3, 3], [1, 1], [1, 1], [1, 1]),
            ConvParams::conv2d(17, 16, 24, 1, [4, 4], [3, 3], [1, 1], [1, 1], [1, 1]),
            ConvParams::conv2d(2, 16, 17, 1, [2, 2], [3, 3], [1, 1], [1, 1], [1, 1]),
            ConvParams::conv2d(2, 18, 16, 1, [1, 1], [3, 3], [1, 1], [1, 1], [1, 1]),
            ConvParams::conv2d(2, 16, 16, 1, [7, 9], [3, 3], [1, 1], [0, 0], [1, 1]),
            ConvParams::conv2d(2, 16, 16, 1, [5, 6], [3, 3], [1, 1], [2, 1], [1, 1]),
            ConvParams::conv2d(2, 16, 16, 1, [3, 3], [3, 3], [1, 1], [2, 2], [1, 1]),
        ];
        check_on_threads(&[1, 2, 3], &cases);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// The Winograd path over random shapes and values: forward and
        /// both gradients equal the naive loops.
        #[test]
        fn kernel_winograd_random_shapes(
            batch in 1usize..4,
            (ci, co) in (16usize..21, 16usize..21),
            (h, w) in (1usize..11, 1usize..11),
            (ph, pw) in (0usize..3, 0usize..3),
        ) {
            let p = ConvParams::conv2d(batch, ci, co, 1, [h, w], [3, 3], [1, 1], [ph, pw], [1, 1]);
            prop_assume!(p.output().is_some());
            check_kernel_against_naive(&p);
        }
    }

    /// The Winograd path in f32 (a ResNet stage's shape, and one with 64
    /// input channels and odd sizes): within 1e-4 of the f64 naive loops,
    /// the error of a few-hundred-term f32 sum.
    #[test]
    fn kernel_winograd_path_f32() {
        for p in [
            ConvParams::conv2d(4, 16, 32, 1, [8, 8], [3, 3], [1, 1], [1, 1], [1, 1]),
            ConvParams::conv2d(2, 64, 32, 1, [9, 10], [3, 3], [1, 1], [1, 1], [1, 1]),
        ] {
            check_winograd_f32(&p);
        }
    }

    fn check_winograd_f32(p: &ConvParams) {
        let dev = dev();
        let p = *p;
        let [oh, ow] = p.output().unwrap();
        let hw = p.input[0] * p.input[1];
        let x = cotangent(p.batch * p.c_in * hw);
        let w: Vec<f64> = cotangent(p.c_out * p.c_in * 9 + 5).split_off(5);
        let gy = cotangent(p.batch * p.c_out * oh * ow);
        let f = |v: &[f64]| dev.upload(v.iter().map(|&a| a as f32).collect::<Vec<f32>>());
        let back = |v: Vec<f32>| v.into_iter().map(f64::from).collect::<Vec<f64>>();
        let y = back(dev.download(&ConvKernel::<f32>::conv_forward(&dev, &p, &f(&x), &f(&w), None)));
        assert_close!(&y, &naive_conv(&p, &x, &w, None), 1e-4);
        let (gx_n, gw_n) = naive_conv_grads(&p, &x, &w, &gy);
        let gx = back(dev.download(&ConvKernel::<f32>::conv_input_grad(&dev, &p, &f(&w), &f(&gy), None)));
        assert_close!(&gx, &gx_n, 1e-4);
        let gw = back(dev.download(&ConvKernel::<f32>::conv_weight_grad(&dev, &p, &f(&x), &f(&gy))));
        assert_close!(&gw, &gw_n, 1e-4);
    }

    /// Finite differences through the typed op on a layer the Winograd
    /// path takes (16 channels in and out), for the input and the weight.
    #[test]
    fn conv2d_winograd_gradcheck() {
        let dev = dev();
        let x: Tensor<(Dyn, u!(16), Dyn, Dyn), f64, Dev> =
            Tensor::from_vec((Dyn(2), Default::default(), Dyn(3), Dyn(4)), cotangent(2 * 16 * 12), &dev);
        let wt: Tensor<(u!(16), u!(16), u!(3), u!(3)), f64, Dev> =
            Tensor::from_vec_static(cotangent(16 * 16 * 9 + 1).split_off(1), &dev);
        let spec = ConvSpec::<u!(1), u!(1), u!(1), u!(1)>::new();
        gradcheck(&x, |x| x.conv2d(&wt, None, spec)).unwrap();
        // The weight's gradient (recorded under its id) against central
        // differences of <y, c> for a spread of its elements.
        let c = cotangent(2 * 16 * 12 + 3).split_off(3);
        let loss = |w: &Tensor<(u!(16), u!(16), u!(3), u!(3)), f64, Dev>| -> f64 {
            x.clone().conv2d(w, None, spec).to_vec().iter().zip(&c).map(|(a, b)| a * b).sum()
        };
        let cot: Tensor<(Dyn, u!(16), Dyn, Dyn), f64, Dev> =
            Tensor::from_vec((Dyn(2), Default::default(), Dyn(3), Dyn(4)), c.clone(), &dev);
        let grads = (x.clone().trace().conv2d(&wt, None, spec) * cot).sum().backward();
        let gw = grads.get(&wt).unwrap().to_vec();
        let w0 = wt.to_vec();
        for i in (0..w0.len()).step_by(97) {
            let h = 1e-6;
            let shifted = |d: f64| {
                let mut v = w0.clone();
                v[i] += d;
                Tensor::from_vec_static(v, &dev)
            };
            let fd = (loss(&shifted(h)) - loss(&shifted(-h))) / (2.0 * h);
            assert!((fd - gw[i]).abs() <= 1e-6 * (1.0 + fd.abs()), "weight {i}: {} vs {fd}", gw[i]);
        }
    }
}
