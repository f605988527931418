//! Pooling: the kernels against naive loops over random window, stride,
//! padding and dilation (proptest), the typed methods over a table of
//! static configurations, finite-difference gradients (overlapping and
//! non-overlapping windows), linearity of average pooling, PyTorch
//! fixtures (values, argmax indices, input gradients), global pooling,
//! the parallel path, and the errors of windows that do not fit.

use crate::common::*;
use proptest::prelude::*;
use std::collections::HashMap;
use typegrad::ops::pool::{PoolKernel, PoolParams};
use typegrad::prelude::*;

typegrad::per_device! {
    ops_helpers!();

    /// A kernel's output buffer read back to the host.
    fn host<T: typegrad::dtype::Elem>(s: &<Dev as Backend>::Storage<T>) -> Vec<T> {
        dev().download(s)
    }
    // ----------------------------------------------------------------- reference

    /// Naive pooling of `p.planes` planes: every tap tested against the input
    /// bounds. Returns the output, the argmax of each window (first maximum in
    /// window order, NaN wins, the first in-bounds tap to start with: PyTorch's
    /// rule) and the divisor of each window (average pooling).
    fn naive(
        p: &PoolParams,
        x: &[f64],
        max: bool,
        include_pad: bool,
    ) -> (Vec<f64>, Vec<usize>, Vec<f64>) {
        let [h, w] = p.input;
        let [oh, ow] = p.output;
        let (mut y, mut idx, mut div) = (vec![], vec![], vec![]);
        for c in 0..p.planes {
            for i in 0..oh {
                for j in 0..ow {
                    let (mut best, mut at, mut sum, mut n) =
                        (f64::NEG_INFINITY, usize::MAX, 0.0, 0usize);
                    for a in 0..p.kernel[0] {
                        for b in 0..p.kernel[1] {
                            let r =
                                (i * p.stride[0] + a * p.dilation[0]) as isize - p.padding[0] as isize;
                            let q =
                                (j * p.stride[1] + b * p.dilation[1]) as isize - p.padding[1] as isize;
                            if r < 0 || q < 0 || r >= h as isize || q >= w as isize {
                                continue;
                            }
                            let pos = r as usize * w + q as usize;
                            let v = x[c * h * w + pos];
                            if n == 0 {
                                at = pos;
                            }
                            if v > best || v.is_nan() {
                                best = v;
                                at = pos;
                            }
                            sum += v;
                            n += 1;
                        }
                    }
                    let d = if include_pad {
                        (p.kernel[0] * p.kernel[1]) as f64
                    } else {
                        n as f64
                    };
                    y.push(if max { best } else { sum / d });
                    idx.push(at);
                    div.push(d);
                }
            }
        }
        (y, idx, div)
    }

    /// Naive input gradient for the output gradient `gy`: max sends each `gy`
    /// to its argmax, average spreads `gy / divisor` over the window's inputs.
    fn naive_backward(p: &PoolParams, x: &[f64], gy: &[f64], max: bool, include_pad: bool) -> Vec<f64> {
        let (_, idx, div) = naive(p, x, max, include_pad);
        let [h, w] = p.input;
        let [oh, ow] = p.output;
        let mut gx = vec![0.0; x.len()];
        for c in 0..p.planes {
            for i in 0..oh {
                for j in 0..ow {
                    let o = (c * oh + i) * ow + j;
                    if max {
                        // usize::MAX: a window without input elements (dilated).
                        if idx[o] != usize::MAX {
                            gx[c * h * w + idx[o]] += gy[o];
                        }
                        continue;
                    }
                    for a in 0..p.kernel[0] {
                        for b in 0..p.kernel[1] {
                            let r =
                                (i * p.stride[0] + a * p.dilation[0]) as isize - p.padding[0] as isize;
                            let q =
                                (j * p.stride[1] + b * p.dilation[1]) as isize - p.padding[1] as isize;
                            if r >= 0 && q >= 0 && r < h as isize && q < w as isize {
                                gx[c * h * w + r as usize * w + q as usize] += gy[o] / div[o];
                            }
                        }
                    }
                }
            }
        }
        gx
    }

    /// Random pooling parameters that fit (padding at most half the window).
    fn params() -> impl Strategy<Value = PoolParams> {
        (
            1usize..4,
            1usize..4,
            1usize..4,
            1usize..3,
            1usize..3,
            1usize..3,
            1usize..3,
            1usize..4,
        )
            .prop_flat_map(|(planes, kh, kw, sh, sw, dh, dw, extra)| {
                (
                    Just((planes, kh, kw, sh, sw, dh, dw)),
                    0..=kh / 2,
                    0..=kw / 2,
                    1usize..extra + 6,
                    1usize..extra + 6,
                )
            })
            .prop_filter_map(
                "window does not fit",
                |((planes, kh, kw, sh, sw, dh, dw), ph, pw, h, w)| {
                    PoolParams::new(planes, [h, w], [kh, kw], [sh, sw], [ph, pw], [dh, dw])
                },
            )
    }

    // ----------------------------------------------------------------- kernels

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Forward (values and argmax) and backward of every kernel against the
        /// naive loops, over random rectangular windows, strides, paddings and
        /// dilations (overlapping windows included).
        #[test]
        fn kernels_match_naive_loops(
            (p, x, gy) in params().prop_flat_map(|p| (
                Just(p),
                values(p.input_len(), -3.0..3.0),
                values(p.output_len(), -2.0..2.0),
            ))
        ) {
            let dev = dev();
            let xs = dev.upload::<f64>(x.clone());
            let gys = dev.upload::<f64>(gy.clone());
            let (y, idx) = dev.max_pool(&p, &xs, true);
            let (ry, ridx, _) = naive(&p, &x, true, true);
            prop_assert_eq!(&host(&y)[..], &ry[..]);
            prop_assert_eq!(&host(&idx.clone().unwrap())[..], &ridx[..]);
            let (y2, none) = dev.max_pool(&p, &xs, false);
            prop_assert!(none.is_none());
            prop_assert_eq!(&host(&y2)[..], &ry[..]);
            let gx = dev.max_pool_backward(&p, &idx.unwrap(), &gys);
            assert_close!(&host(&gx)[..], &naive_backward(&p, &x, &gy, true, true)[..], 1e-12);
            // Average pooling has no dilation (as PyTorch): every window then
            // holds an input element.
            let Some(p) = PoolParams::new(p.planes, p.input, p.kernel, p.stride, p.padding, [1, 1]) else {
                return Ok(());
            };
            let gy: Vec<f64> = (0..p.output_len()).map(|i| gy.get(i).copied().unwrap_or(0.5 - 0.1 * i as f64)).collect();
            let gys = dev.upload::<f64>(gy.clone());
            for include_pad in [true, false] {
                let y = dev.avg_pool(&p, &xs, include_pad);
                assert_close!(&host(&y)[..], &naive(&p, &x, false, include_pad).0[..], 1e-12);
                let gx = dev.avg_pool_backward(&p, &gys, include_pad);
                assert_close!(&host(&gx)[..], &naive_backward(&p, &x, &gy, false, include_pad)[..], 1e-12);
            }
        }
    }

    /// f32 kernels agree with the f64 ones.
    #[test]
    fn f32_kernels_match_f64() {
        let dev = dev();
        let p = PoolParams::new(3, [7, 9], [3, 2], [2, 1], [1, 1], [1, 2]).unwrap();
        let x: Vec<f64> = (0..p.input_len())
            .map(|i| ((i * 37 % 101) as f64 - 50.0) / 7.0)
            .collect();
        let x32 = dev.upload::<f32>(x.iter().map(|&v| v as f32).collect());
        let x64 = dev.upload::<f64>(x);
        let (a, ia) = dev.max_pool(&p, &x32, true);
        let (b, ib) = dev.max_pool(&p, &x64, true);
        assert_eq!(ia.as_ref().map(host), ib.as_ref().map(host));
        assert_close!(
            &host(&a).iter().map(|&v| v as f64).collect::<Vec<_>>()[..],
            &host(&b)[..],
            1e-6
        );
        let a = dev.avg_pool(&p, &x32, false);
        let b = dev.avg_pool(&p, &x64, false);
        assert_close!(
            &host(&a).iter().map(|&v| v as f64).collect::<Vec<_>>()[..],
            &host(&b)[..],
            1e-5
        );
    }

    /// Ties: the first maximum in window order takes the gradient; NaN
    /// propagates; an all `-inf` window points at its first input element.
    #[test]
    fn max_ties_nan_and_infinities() {
        let dev = dev();
        let p = PoolParams::new(1, [1, 4], [1, 2], [1, 1], [0, 0], [1, 1]).unwrap();
        let x = dev.upload::<f64>(vec![2.0, 2.0, f64::NAN, 1.0]);
        let (y, idx) = dev.max_pool(&p, &x, true);
        let (y, idx) = (host(&y), host(idx.as_ref().unwrap()));
        assert_eq!(idx, [0, 2, 2]);
        assert_eq!(y[0], 2.0);
        assert!(y[1].is_nan() && y[2].is_nan());
        let x = dev.upload::<f64>(vec![f64::NEG_INFINITY; 4]);
        let (y, idx) = dev.max_pool(&p, &x, true);
        let (y, idx) = (host(&y), host(idx.as_ref().unwrap()));
        assert_eq!(idx, [0, 1, 2]);
        assert!(y.iter().all(|&v| v == f64::NEG_INFINITY));
        // Typed: the gradient of a constant tensor goes to each window's first element.
        let x: Tensor<(u!(1), u!(4)), f64, Dev> = Tensor::ones(Default::default(), &dev);
        let g = x
            .clone()
            .trace()
            .max_pool1d::<u!(2), u!(1), u!(0), u!(1)>()
            .sum()
            .backward();
        assert_eq!(g.get(&x).unwrap().to_vec(), vec![1.0, 1.0, 1.0, 0.0]);
    }

    /// Large inputs take the parallel path and agree with the naive loops.
    #[test]
    fn parallel_path_matches_naive() {
        let dev = dev();
        let p = PoolParams::new(8 * 128, [32, 32], [3, 3], [2, 2], [1, 1], [1, 1]).unwrap();
        let x: Vec<f64> = (0..p.input_len())
            .map(|i| ((i * 7919 % 10007) as f64) / 100.0)
            .collect();
        let gy: Vec<f64> = (0..p.output_len())
            .map(|i| ((i % 13) as f64) - 6.0)
            .collect();
        let xs = dev.upload::<f64>(x.clone());
        let gys = dev.upload::<f64>(gy.clone());
        let (y, idx) = dev.max_pool(&p, &xs, true);
        let (ry, ridx, _) = naive(&p, &x, true, true);
        assert_eq!(&host(&y)[..], &ry[..]);
        assert_eq!(&host(&idx.clone().unwrap())[..], &ridx[..]);
        let gx = dev.max_pool_backward(&p, &idx.unwrap(), &gys);
        assert_close!(&host(&gx)[..], &naive_backward(&p, &x, &gy, true, true)[..], 1e-12);
        let y = dev.avg_pool(&p, &xs, false);
        assert_close!(&host(&y)[..], &naive(&p, &x, false, false).0[..], 1e-12);
        let gx = dev.avg_pool_backward(&p, &gys, true);
        assert_close!(
            &host(&gx)[..],
            &naive_backward(&p, &x, &gy, false, true)[..],
            1e-12
        );
    }

    // ----------------------------------------------------------------- typed ops

    /// The kernel parameters of a typed 2-D call on `(B, C, H, W)`.
    fn params2(dims: &[usize], k: usize, s: usize, p: usize, d: usize) -> Option<PoolParams> {
        PoolParams::new(
            dims[0] * dims[1],
            [dims[2], dims[3]],
            [k, k],
            [s, s],
            [p, p],
            [d, d],
        )
    }

    /// A table of static configurations `(K, S, P, L)`: call `$body` with the
    /// types of configuration `$i` bound to `K`, `S`, `P`, `L`.
    macro_rules! configs {
        ($i:expr, |$k:ident, $s:ident, $p:ident, $l:ident| $body:expr) => {
            match $i {
                0 => {
                    type $k = u!(1);
                    type $s = u!(1);
                    type $p = u!(0);
                    type $l = u!(1);
                    $body
                }
                1 => {
                    type $k = u!(2);
                    type $s = u!(2);
                    type $p = u!(0);
                    type $l = u!(1);
                    $body
                }
                2 => {
                    type $k = u!(3);
                    type $s = u!(1);
                    type $p = u!(1);
                    type $l = u!(1);
                    $body
                }
                3 => {
                    type $k = u!(3);
                    type $s = u!(2);
                    type $p = u!(1);
                    type $l = u!(1);
                    $body
                }
                4 => {
                    type $k = u!(2);
                    type $s = u!(1);
                    type $p = u!(1);
                    type $l = u!(2);
                    $body
                }
                5 => {
                    type $k = u!(3);
                    type $s = u!(3);
                    type $p = u!(0);
                    type $l = u!(2);
                    $body
                }
                6 => {
                    type $k = u!(4);
                    type $s = u!(2);
                    type $p = u!(2);
                    type $l = u!(1);
                    $body
                }
                _ => {
                    type $k = u!(5);
                    type $s = u!(3);
                    type $p = u!(2);
                    type $l = u!(1);
                    $body
                }
            }
        };
    }
    const CONFIGS: [(usize, usize, usize, usize); 8] = [
        (1, 1, 0, 1),
        (2, 2, 0, 1),
        (3, 1, 1, 1),
        (3, 2, 1, 1),
        (2, 1, 1, 2),
        (3, 3, 0, 2),
        (4, 2, 2, 1),
        (5, 3, 2, 1),
    ];

    type Img = Tensor<(Dyn, u!(2), Dyn, Dyn), f64, Dev>;
    type Seq = Tensor<(Dyn, u!(2), Dyn), f64, Dev>;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(120))]

        /// Typed 2-D max and average pooling over the configuration table
        /// against the naive loops (fits or errors exactly as the formula
        /// says); dims of the output as computed.
        #[test]
        fn typed_2d_matches_naive(
            cfg in 0usize..8,
            x in tensor_on::<(Dyn, u!(2), Dyn, Dyn), f64, Dev>(dev(), 1..8, -2.0..2.0),
            include_pad in any::<bool>(),
        ) {
            let (k, s, p, d) = CONFIGS[cfg];
            let dims = x.dims();
            let pp = params2(&dims, k, s, p, d);
            let xv = x.to_vec();
            let max = configs!(cfg, |K, S, P, L| x.clone().try_max_pool2d::<K, S, P, L>());
            let avg = configs!(cfg, |K, S, P, L| {
                let _ = core::marker::PhantomData::<L>;
                x.clone().try_avg_pool2d::<K, S, P>(include_pad)
            });
            // Average pooling has no dilation: its parameters are those of L = 1.
            let pa = params2(&dims, k, s, p, 1);
            match pp {
                None => prop_assert!(matches!(max, Err(Error::KernelTooLarge { .. })), "max: {:?}", max.as_ref().err()),
                Some(pp) => {
                    let y = max.unwrap();
                    prop_assert_eq!(&*y.dims(), &[dims[0], 2, pp.output[0], pp.output[1]]);
                    prop_assert_eq!(y.to_vec(), naive(&pp, &xv, true, true).0);
                }
            }
            match pa {
                None => prop_assert!(matches!(avg, Err(Error::KernelTooLarge { .. })), "avg: {:?}", avg.as_ref().err()),
                Some(pa) => assert_close!(avg.unwrap().to_vec(), naive(&pa, &xv, false, include_pad).0, 1e-12),
            }
        }

        /// Typed 1-D pooling is 2-D pooling of height 1.
        #[test]
        fn typed_1d_matches_naive(
            cfg in 0usize..8,
            x in tensor_on::<(Dyn, u!(2), Dyn), f64, Dev>(dev(), 1..12, -2.0..2.0),
            include_pad in any::<bool>(),
        ) {
            let (k, s, p, d) = CONFIGS[cfg];
            let dims = x.dims();
            let pp = PoolParams::new(dims[0] * 2, [1, dims[2]], [1, k], [1, s], [0, p], [1, d]);
            let pa = PoolParams::new(dims[0] * 2, [1, dims[2]], [1, k], [1, s], [0, p], [1, 1]);
            let xv = x.to_vec();
            let max = configs!(cfg, |K, S, P, L| x.clone().try_max_pool1d::<K, S, P, L>());
            let avg = configs!(cfg, |K, S, P, L| {
                let _ = core::marker::PhantomData::<L>;
                x.clone().try_avg_pool1d::<K, S, P>(include_pad)
            });
            match pp {
                None => prop_assert!(max.is_err()),
                Some(pp) => prop_assert_eq!(max.unwrap().to_vec(), naive(&pp, &xv, true, true).0),
            }
            match pa {
                None => prop_assert!(avg.is_err()),
                Some(pa) => assert_close!(avg.unwrap().to_vec(), naive(&pa, &xv, false, include_pad).0, 1e-12),
            }
        }

        /// Gradients against finite differences over the table (max pooling on
        /// distinct values, so no window has a tie within the step).
        #[test]
        fn typed_gradcheck(
            cfg in 0usize..8,
            (dims, perm) in sizes(4, 1..6).prop_flat_map(|d| {
                let n = d[0] * 2 * (d[2] + 3) * (d[3] + 3);
                (Just(d), Just((0..n).collect::<Vec<usize>>()).prop_shuffle())
            }),
            include_pad in any::<bool>(),
        ) {
            let (h, w) = (dims[2] + 3, dims[3] + 3);
            let shape = (Dyn(dims[0]), Default::default(), Dyn(h), Dyn(w));
            let v: Vec<f64> = perm.iter().map(|&i| i as f64 * 0.05 - 1.0).collect();
            let x: Img = Tensor::from_vec(shape, v, &dev());
            let (k, s, p, d) = CONFIGS[cfg];
            prop_assume!(params2(&x.dims(), k, s, p, d).is_some());
            configs!(cfg, |K, S, P, L| gradcheck(&x, |x| x.max_pool2d::<K, S, P, L>()))?;
            configs!(cfg, |K, S, P, L| {
                let _ = core::marker::PhantomData::<L>;
                gradcheck(&x, |x| x.avg_pool2d::<K, S, P>(include_pad))
            })?;
        }

        /// Average pooling is linear: pool(a x + b y) = a pool(x) + b pool(y).
        #[test]
        fn avg_pool_is_linear(
            cfg in 0usize..8,
            (x, y) in shapes::<(Dyn, u!(2), Dyn, Dyn)>(5..9).prop_flat_map(|s| (
                tensor_with_shape_on::<_, f64, Dev, _>(dev(), s, -3.0..3.0),
                tensor_with_shape_on::<_, f64, Dev, _>(dev(), s, -3.0..3.0),
            )),
            a in -2.0f64..2.0,
            b in -2.0f64..2.0,
            include_pad in any::<bool>(),
        ) {
            let pool = |t: Img| configs!(cfg, |K, S, P, L| {
                let _ = core::marker::PhantomData::<L>;
                t.avg_pool2d::<K, S, P>(include_pad)
            });
            let lhs = pool(x.clone().mul_scalar(a) + y.clone().mul_scalar(b));
            let rhs = pool(x).mul_scalar(a) + pool(y).mul_scalar(b);
            assert_close!(lhs, rhs, 1e-12);
        }
    }

    /// Overlapping and non-overlapping windows, 1-D and 2-D, unbatched too:
    /// explicit finite-difference checks outside the proptest table.
    #[test]
    fn gradcheck_named_cases() {
        let dev = dev();
        let v = |n: usize| -> Vec<f64> { (0..n).map(|i| ((i * 7 + 3) % n) as f64 * 0.1).collect() };
        let x: Tensor<(u!(2), u!(3), u!(7), u!(7)), f64, Dev> =
            Tensor::from_vec(Default::default(), v(294), &dev);
        gradcheck(&x, |x| x.max_pool2d::<u!(2), u!(2), u!(0), u!(1)>()).unwrap();
        gradcheck(&x, |x| x.max_pool2d::<u!(3), u!(1), u!(1), u!(1)>()).unwrap();
        gradcheck(&x, |x| x.max_pool2d::<u!(3), u!(2), u!(1), u!(2)>()).unwrap();
        gradcheck(&x, |x| x.avg_pool2d::<u!(3), u!(1), u!(1)>(false)).unwrap();
        gradcheck(&x, |x| x.avg_pool2d::<u!(2), u!(2), u!(1)>(true)).unwrap();
        gradcheck(&x, |x| x.global_avg_pool2d()).unwrap();
        gradcheck(&x, |x| x.global_max_pool2d()).unwrap();
        let s: Tensor<(u!(3), u!(11)), f64, Dev> = Tensor::from_vec(Default::default(), v(33), &dev);
        gradcheck(&s, |x| x.max_pool1d::<u!(4), u!(1), u!(2), u!(1)>()).unwrap();
        gradcheck(&s, |x| x.max_pool1d::<u!(3), u!(2), u!(1), u!(3)>()).unwrap();
        gradcheck(&s, |x| x.avg_pool1d::<u!(4), u!(3), u!(2)>(false)).unwrap();
        gradcheck(&s, |x| x.global_avg_pool1d()).unwrap();
    }

    /// Static sizes give static output types: the LeNet and ResNet-stem
    /// pools, batched and unbatched, with the values of the batched form.
    #[test]
    fn static_output_types() {
        let dev = seeded(0);
        let x: Tensor<(Dyn, u!(6), u!(28), u!(28)), f32, Dev> = Tensor::randn(
            (
                Dyn(2),
                Default::default(),
                Default::default(),
                Default::default(),
            ),
            0.0,
            1.0,
            &dev,
        );
        let y: Tensor<(Dyn, u!(6), u!(14), u!(14)), f32, Dev> =
            x.clone().max_pool2d::<u!(2), u!(2), u!(0), u!(1)>();
        let z: Tensor<(Dyn, u!(6), u!(14), u!(14)), f32, Dev> =
            x.clone().avg_pool2d::<u!(2), u!(2), u!(0)>(true);
        assert_eq!(y.numel(), 2 * 6 * 14 * 14);
        assert_eq!(z.numel(), 2 * 6 * 14 * 14);
        let stem: Tensor<(u!(64), u!(112), u!(112)), f32, Dev> = Tensor::zeros(Default::default(), &dev);
        let _: Tensor<(u!(64), u!(56), u!(56)), f32, Dev> = stem.max_pool2d::<u!(3), u!(2), u!(1), u!(1)>();
        // Unbatched equals each batch entry.
        let first: Tensor<(u!(6), u!(28), u!(28)), f32, Dev> =
            Tensor::from_vec(Default::default(), x.to_vec()[..6 * 28 * 28].to_vec(), &dev);
        assert_eq!(
            first.max_pool2d::<u!(2), u!(2), u!(0), u!(1)>().to_vec(),
            y.to_vec()[..6 * 14 * 14].to_vec()
        );
    }

    /// Runtime errors: a window larger than a padded `Dyn` input names the op,
    /// the axis and the sizes; padding over half the window is refused.
    #[test]
    fn errors() {
        let dev = dev();
        let x: Img = Tensor::zeros((Dyn(1), Default::default(), Dyn(5), Dyn(2)), &dev);
        let e = x
            .clone()
            .try_max_pool2d::<u!(3), u!(1), u!(0), u!(1)>()
            .unwrap_err();
        assert_eq!(
            e,
            Error::KernelTooLarge {
                op: "max_pool2d",
                axis: 3,
                input: 2,
                padding: 0,
                kernel: 3
            }
        );
        let e = x
            .clone()
            .try_max_pool2d::<u!(2), u!(1), u!(0), u!(3)>()
            .unwrap_err();
        assert!(
            matches!(
                e,
                Error::KernelTooLarge {
                    axis: 3,
                    kernel: 4,
                    ..
                }
            ),
            "{e}"
        );
        let e = x
            .clone()
            .try_avg_pool2d::<u!(2), u!(1), u!(2)>(true)
            .unwrap_err();
        assert!(
            e.to_string().contains("padding must be at most half"),
            "{e}"
        );
        let s: Seq = Tensor::zeros((Dyn(1), Default::default(), Dyn(0)), &dev);
        assert!(matches!(
            s.clone().try_global_avg_pool1d(),
            Err(Error::TooFewElements { axis: Some(2), .. })
        ));
        // An empty length is refused even where a padded window would fit.
        let e = s.try_avg_pool1d::<u!(2), u!(1), u!(1)>(false).unwrap_err();
        assert!(
            matches!(
                e,
                Error::TooFewElements {
                    op: "avg_pool1d",
                    axis: Some(2),
                    ..
                }
            ),
            "{e}"
        );
        let r = std::panic::catch_unwind(|| x.max_pool2d::<u!(3), u!(1), u!(0), u!(1)>());
        assert!(r.is_err());
    }

    /// Global pooling against the mean and maximum of each channel.
    #[test]
    fn global_pooling() {
        let dev = dev();
        let v: Vec<f64> = (0..2 * 3 * 4 * 5).map(|i| ((i * 13) % 17) as f64).collect();
        let x: Tensor<(Dyn, u!(3), Dyn, Dyn), f64, Dev> = Tensor::from_vec(
            (Dyn(2), Default::default(), Dyn(4), Dyn(5)),
            v.clone(),
            &dev,
        );
        let mean: Vec<f64> = v.chunks(20).map(|c| c.iter().sum::<f64>() / 20.0).collect();
        let max: Vec<f64> = v
            .chunks(20)
            .map(|c| c.iter().cloned().fold(f64::MIN, f64::max))
            .collect();
        let y: Tensor<(Dyn, u!(3)), f64, Dev> = x.clone().global_avg_pool2d();
        assert_close!(y.to_vec(), mean.clone(), 1e-12);
        assert_eq!(x.clone().global_max_pool2d().to_vec(), max);
        let s: Tensor<(Dyn, u!(3), Dyn), f64, Dev> =
            Tensor::from_vec((Dyn(2), Default::default(), Dyn(20)), v, &dev);
        assert_close!(s.clone().global_avg_pool1d().to_vec(), mean, 1e-12);
        assert_eq!(s.global_max_pool1d().to_vec(), max);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        /// Global pooling over random shapes and values: each plane's mean and
        /// maximum, and finite-difference gradients of both (values are
        /// distinct, so the maximum has no ties).
        #[test]
        fn global_pooling_random(b in 1usize..4, c in 1usize..4, h in 1usize..6, w in 1usize..6, seed in 0u64..1000) {
            let dev = dev();
            let n = h * w;
            let v: Vec<f64> = (0..b * c * n)
                .map(|i| ((i as u64 * 7919 + seed * 104_729) % 10_007) as f64 / 1000.0 + i as f64 * 1e-3)
                .collect();
            let x: Tensor<(Dyn, Dyn, Dyn, Dyn), f64, Dev> =
                Tensor::from_vec((Dyn(b), Dyn(c), Dyn(h), Dyn(w)), v.clone(), &dev);
            let mean: Vec<f64> = v.chunks(n).map(|p| p.iter().sum::<f64>() / n as f64).collect();
            let max: Vec<f64> = v.chunks(n).map(|p| p.iter().cloned().fold(f64::MIN, f64::max)).collect();
            prop_assert!(x.clone().global_avg_pool2d().to_vec().iter().zip(&mean).all(|(a, e)| (a - e).abs() < 1e-12));
            prop_assert_eq!(x.clone().global_max_pool2d().to_vec(), max);
            gradcheck(&x, |x| x.global_avg_pool2d()).unwrap();
            gradcheck(&x, |x| x.global_max_pool2d()).unwrap();
        }
    }

    // ----------------------------------------------------------------- PyTorch

    /// `case.key -> values` from `tests/fixtures/pool_torch.txt`.
    fn fixtures() -> HashMap<String, Vec<f64>> {
        include_str!("../fixtures/pool_torch.txt")
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let mut it = l.split_whitespace();
                let key = it.next().unwrap().to_string();
                (key, it.map(|v| v.parse::<f64>().unwrap()).collect())
            })
            .collect()
    }

    /// Output, input gradient (for the cotangent `w`) and argmax indices of a
    /// typed call on the fixture's input, dispatched on its options.
    fn run_case(f: &HashMap<String, Vec<f64>>, name: &str) -> (Vec<f64>, Vec<f64>, Option<Vec<usize>>) {
        let get = |k: &str| {
            f.get(&format!("{name}.{k}"))
                .unwrap_or_else(|| panic!("fixture {name}.{k}"))
        };
        let dims: Vec<usize> = get("dims").iter().map(|&v| v as usize).collect();
        let o: Vec<usize> = get("opts").iter().map(|&v| v as usize).collect();
        let kind = get("kind")[0] as usize;
        let (x, w) = (get("x").clone(), get("w").clone());
        let dev = dev();
        let include_pad = o[4] == 1;
        macro_rules! go {
            ($shape:ty, $call:expr) => {{
                let t: Tensor<$shape, f64, Dev> =
                    Tensor::from_vec(<$shape>::try_from_dims(&dims).unwrap(), x.clone(), &dev);
                let y = $call(t.clone().trace());
                let yv = y.to_vec();
                let ys = y.shape();
                let g = y.backward_from(Tensor::from_vec(ys, w.clone(), &dev));
                (yv, g.get(&t).unwrap().to_vec())
            }};
        }
        macro_rules! dispatch {
            ($shape:ty, $method:ident, max) => {
                match (o[0], o[1], o[2], o[3]) {
                    (2, 2, 0, 1) => go!($shape, |t: Traced<$shape, f64, Dev>| t
                        .$method::<u!(2), u!(2), u!(0), u!(1)>()),
                    (3, 1, 1, 1) => go!($shape, |t: Traced<$shape, f64, Dev>| t
                        .$method::<u!(3), u!(1), u!(1), u!(1)>()),
                    (3, 2, 1, 1) => go!($shape, |t: Traced<$shape, f64, Dev>| t
                        .$method::<u!(3), u!(2), u!(1), u!(1)>()),
                    (3, 2, 1, 2) => go!($shape, |t: Traced<$shape, f64, Dev>| t
                        .$method::<u!(3), u!(2), u!(1), u!(2)>()),
                    (2, 1, 1, 1) => go!($shape, |t: Traced<$shape, f64, Dev>| t
                        .$method::<u!(2), u!(1), u!(1), u!(1)>()),
                    (4, 1, 2, 1) => go!($shape, |t: Traced<$shape, f64, Dev>| t
                        .$method::<u!(4), u!(1), u!(2), u!(1)>()),
                    (3, 2, 1, 3) => go!($shape, |t: Traced<$shape, f64, Dev>| t
                        .$method::<u!(3), u!(2), u!(1), u!(3)>()),
                    other => panic!("{name}: no typed configuration for {other:?}"),
                }
            };
            ($shape:ty, $method:ident, avg) => {
                match (o[0], o[1], o[2]) {
                    (2, 2, 0) => go!($shape, |t: Traced<$shape, f64, Dev>| t
                        .$method::<u!(2), u!(2), u!(0)>(include_pad)),
                    (3, 1, 1) => go!($shape, |t: Traced<$shape, f64, Dev>| t
                        .$method::<u!(3), u!(1), u!(1)>(include_pad)),
                    (4, 3, 2) => go!($shape, |t: Traced<$shape, f64, Dev>| t
                        .$method::<u!(4), u!(3), u!(2)>(include_pad)),
                    (2, 1, 1) => go!($shape, |t: Traced<$shape, f64, Dev>| t
                        .$method::<u!(2), u!(1), u!(1)>(include_pad)),
                    (3, 3, 0) => go!($shape, |t: Traced<$shape, f64, Dev>| t
                        .$method::<u!(3), u!(3), u!(0)>(include_pad)),
                    (4, 2, 2) => go!($shape, |t: Traced<$shape, f64, Dev>| t
                        .$method::<u!(4), u!(2), u!(2)>(include_pad)),
                    other => panic!("{name}: no typed configuration for {other:?}"),
                }
            };
        }
        let (y, g) = match (kind, dims.len()) {
            (0, 3) => dispatch!((Dyn, Dyn, Dyn), max_pool1d, max),
            (0, 2) => dispatch!((Dyn, Dyn), max_pool1d, max),
            (1, 4) => dispatch!((Dyn, Dyn, Dyn, Dyn), max_pool2d, max),
            (1, 3) => dispatch!((Dyn, Dyn, Dyn), max_pool2d, max),
            (2, 3) => dispatch!((Dyn, Dyn, Dyn), avg_pool1d, avg),
            (2, 2) => dispatch!((Dyn, Dyn), avg_pool1d, avg),
            (3, 4) => dispatch!((Dyn, Dyn, Dyn, Dyn), avg_pool2d, avg),
            (3, 3) => dispatch!((Dyn, Dyn, Dyn), avg_pool2d, avg),
            other => panic!("{name}: unknown kind/rank {other:?}"),
        };
        // PyTorch's indices, from the kernel with the fixture's parameters.
        let idx = (kind < 2).then(|| {
            let sp = if kind == 0 { 1 } else { 2 };
            let r = dims.len();
            let planes: usize = dims[..r - sp].iter().product();
            let mut input = [1usize; 2];
            input[2 - sp..].copy_from_slice(&dims[r - sp..]);
            let one = |v: usize| if sp == 1 { [1, v] } else { [v, v] };
            let pad = if sp == 1 { [0, o[2]] } else { [o[2], o[2]] };
            let p = PoolParams::new(planes, input, one(o[0]), one(o[1]), pad, one(o[3])).unwrap();
            let xs = dev.upload::<f64>(x.clone());
            host(&dev.max_pool(&p, &xs, true).1.unwrap())
        });
        (y, g, idx)
    }

    /// Every fixture case: output, argmax indices (ties included) and input
    /// gradient equal PyTorch's.
    #[test]
    fn matches_pytorch() {
        let f = fixtures();
        let mut names: Vec<&str> = f.keys().filter_map(|k| k.strip_suffix(".kind")).collect();
        names.sort();
        assert_eq!(names.len(), 19, "fixture cases");
        for name in names {
            let (y, g, idx) = run_case(&f, name);
            assert_close!(y, f[&format!("{name}.y")].clone(), 1e-12, "{name}: output");
            assert_close!(
                g,
                f[&format!("{name}.grad")].clone(),
                1e-12,
                "{name}: input gradient"
            );
            if let Some(idx) = idx {
                let want: Vec<usize> = f[&format!("{name}.indices")]
                    .iter()
                    .map(|&v| v as usize)
                    .collect();
                assert_eq!(idx, want, "{name}: argmax indices");
            }
        }
    }

    /// The fast path for windows inside the input (no padding, dilation 1,
    /// LeNet's 2x2/2 among them) agrees with the naive loops, with ties, NaN
    /// and `-inf` windows, for several window and stride combinations.
    #[test]
    fn inside_windows_fast_path_matches_naive() {
        let dev = dev();
        for (k, s, h, w) in [
            ([2, 2], [2, 2], 24, 24),
            ([2, 2], [2, 2], 7, 9),
            ([2, 2], [1, 1], 5, 6),
            ([3, 3], [3, 3], 9, 10),
            ([3, 2], [1, 2], 6, 7),
            ([1, 1], [1, 1], 3, 4),
        ] {
            let p = PoolParams::new(5, [h, w], k, s, [0, 0], [1, 1]).unwrap();
            let mut x: Vec<f64> = (0..p.input_len())
                .map(|i| ((i * 7919 % 23) as f64) / 4.0 - 2.0)
                .collect();
            // Ties (equal values repeat), NaN in one window, an all -inf plane.
            x[3] = f64::NAN;
            let ip = h * w;
            for v in &mut x[2 * ip..3 * ip] {
                *v = f64::NEG_INFINITY;
            }
            let gy: Vec<f64> = (0..p.output_len()).map(|i| (i % 5) as f64 - 2.0).collect();
            let xs = dev.upload::<f64>(x.clone());
            let (y, idx) = dev.max_pool(&p, &xs, true);
            let (ry, ridx, _) = naive(&p, &x, true, true);
            let same = |a: &[f64], b: &[f64]| {
                a.iter()
                    .zip(b)
                    .all(|(u, v)| u == v || (u.is_nan() && v.is_nan()))
            };
            assert!(same(&host(&y), &ry), "k={k:?} s={s:?}");
            assert_eq!(&host(&idx.clone().unwrap())[..], &ridx[..], "k={k:?} s={s:?}");
            let (y2, _) = dev.max_pool(&p, &xs, false);
            assert!(same(&host(&y2), &ry));
            let gx = dev.max_pool_backward(&p, &idx.unwrap(), &dev.upload(gy.clone()));
            assert_close!(&host(&gx)[..], &naive_backward(&p, &x, &gy, true, true)[..], 1e-12);
        }
    }

    /// The 2x2, stride-2 kernel (LeNet's pooling, its own vectorised path)
    /// against the naive loops in f64 and f32: odd sizes (a last row and column
    /// outside every window), values from a small set (ties in every position
    /// of the window), NaN at each of the four window positions (alone and two
    /// in one window: the later one's position wins), `-inf` windows, and
    /// enough planes for the parallel path.
    #[test]
    fn max_2x2_stride_2_path_matches_naive() {
        let dev = dev();
        for (planes, h, w) in [
            (3, 2, 2),
            (4, 5, 7),
            (6, 24, 24),
            (2, 9, 33),
            (1024, 16, 17),
        ] {
            let p = PoolParams::new(planes, [h, w], [2, 2], [2, 2], [0, 0], [1, 1]).unwrap();
            let mut x: Vec<f64> = (0..p.input_len())
                .map(|i| ((i * 7919 % 5) as f64) - 2.0)
                .collect();
            // NaN at (0,0), (0,1), (1,0), (1,1) of plane 0's first windows, two
            // NaNs in the window at column 2 when it exists, -inf in plane 1's.
            for (k, off) in [0, 1, w, w + 1].into_iter().enumerate() {
                if 2 * k + 1 < w {
                    x[2 * k + off] = f64::NAN; // window k, its tap k
                }
            }
            if w >= 6 {
                x[4] = f64::NAN;
                x[w + 5] = f64::NAN;
            }
            for v in &mut x[h * w..h * w + 2 * w] {
                *v = f64::NEG_INFINITY;
            }
            let gy: Vec<f64> = (0..p.output_len()).map(|i| (i % 7) as f64 - 3.0).collect();
            let (ry, ridx, _) = naive(&p, &x, true, true);
            let same = |a: &[f64], b: &[f64]| {
                a.len() == b.len()
                    && a.iter()
                        .zip(b)
                        .all(|(u, v)| u == v || (u.is_nan() && v.is_nan()))
            };
            let xs = dev.upload::<f64>(x.clone());
            let (y, idx) = dev.max_pool(&p, &xs, true);
            assert!(same(&host(&y), &ry), "f64 {planes}x{h}x{w}");
            assert_eq!(&host(&idx.clone().unwrap())[..], &ridx[..], "f64 {planes}x{h}x{w}");
            assert!(same(&host(&dev.max_pool(&p, &xs, false).0), &ry));
            let gx = dev.max_pool_backward(&p, &idx.unwrap(), &dev.upload(gy.clone()));
            assert_close!(&host(&gx)[..], &naive_backward(&p, &x, &gy, true, true)[..], 1e-12);
            // f32: the values are exact in f32, so the same answers.
            let x32 = dev.upload::<f32>(x.iter().map(|&v| v as f32).collect());
            let (y32, idx32) = dev.max_pool(&p, &x32, true);
            let y32: Vec<f64> = host(&y32).iter().map(|&v| v as f64).collect();
            assert!(same(&y32, &ry), "f32 {planes}x{h}x{w}");
            assert_eq!(&host(&idx32.unwrap())[..], &ridx[..], "f32 {planes}x{h}x{w}");
            let y32n = dev.max_pool(&p, &x32, false).0;
            let y32n: Vec<f64> = host(&y32n)
                .iter()
                .map(|&v| v as f64)
                .collect();
            assert!(same(&y32n, &ry));
        }
    }
}
