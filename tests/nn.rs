//! Layer tests: Linear against naive loops and finite differences, the
//! activation modules, Dropout's statistics and its train/eval mechanism,
//! and the initialisation rules' empirical moments against their formulas.

use proptest::prelude::*;
use typegrad::nn::init::{fans, FanMode, Init, Nonlinearity};
use typegrad::nn::{
    Dropout, GELUTanh, LeakyReLU, Linear, LogSoftmax, Module, ParamPath, Params, ReLU, SiLU,
    Sigmoid, Softmax, Tanh, GELU,
};
use typegrad::prelude::*;
use typegrad::testing::{assert_close, cotangent, gradcheck, gradcheck_module, Traced};

typegrad::per_device! {
    type U2 = u!(2);
    type U3 = u!(3);
    type U4 = u!(4);
    type U5 = u!(5);

    /// `y[r, o] = Σ_i x[r, i] · w[o, i] + b[o]`, in f64.
    fn naive_linear(x: &[f64], w: &[f64], b: Option<&[f64]>, inp: usize, out: usize) -> Vec<f64> {
        let rows = x.len() / inp;
        let mut y = vec![0.0; rows * out];
        for r in 0..rows {
            for o in 0..out {
                let mut s = b.map_or(0.0, |b| b[o]);
                for i in 0..inp {
                    s += x[r * inp + i] * w[o * inp + i];
                }
                y[r * out + o] = s;
            }
        }
        y
    }

    fn vals(n: usize, k: f64) -> Vec<f64> {
        (0..n).map(|i| ((i as f64 + 1.0) * k).sin() * 1.5).collect()
    }

    /// A (4 -> 3) layer, f64, with fixed weights.
    fn layer64(bias: bool) -> Linear<U4, U3, f64, Dev> {
        let dev = dev();
        let w = Tensor::from_vec(Default::default(), vals(12, 0.7), &dev);
        let b = bias.then(|| Tensor::from_vec(Default::default(), vals(3, 1.3), &dev));
        Linear::from_tensors(w, b)
    }

    fn check_forward<S: Shape, S2: Shape>(
        layer: &Linear<U4, U3, f64, Dev>,
        x: Tensor<S, f64, Dev>,
        expect_dims: &[usize],
    ) where
        Linear<U4, U3, f64, Dev>: Module<Tensor<S, f64, Dev>, Output = Tensor<S2, f64, Dev>>,
    {
        let want = naive_linear(
            &x.to_vec(),
            &layer.weight.to_vec(),
            layer.bias.as_ref().map(|b| b.to_vec()).as_deref(),
            4,
            3,
        );
        let y = layer.forward(x.clone());
        assert_eq!(&*y.dims(), expect_dims);
        assert_close!(&y.to_vec(), &want, 1e-12, "linear forward");
    }

    #[test]
    fn linear_forward_matches_naive_each_rank_f64() {
        let dev = dev();
        for bias in [true, false] {
            let l = layer64(bias);
            let x1: Tensor<(U4,), f64, Dev> = Tensor::from_vec(Default::default(), vals(4, 0.3), &dev);
            check_forward(&l, x1, &[3]);
            let x2: Tensor<(Dyn, U4), f64, Dev> =
                Tensor::from_vec((Dyn(5), U4::default()), vals(20, 0.3), &dev);
            check_forward(&l, x2, &[5, 3]);
            let x3: Tensor<(U2, Dyn, U4), f64, Dev> =
                Tensor::from_vec((U2::default(), Dyn(3), U4::default()), vals(24, 0.3), &dev);
            check_forward(&l, x3, &[2, 3, 3]);
            let x4: Tensor<(Dyn, U2, Dyn, U4), f64, Dev> = Tensor::from_vec(
                (Dyn(2), U2::default(), Dyn(3), U4::default()),
                vals(48, 0.3),
                &dev,
            );
            check_forward(&l, x4, &[2, 2, 3, 3]);
            // All-static rank 3, and a Dyn feature axis checked at run time.
            let x5: Tensor<(U2, U5, U4), f64, Dev> = Tensor::from_vec_static(vals(40, 0.2), &dev);
            check_forward(&l, x5, &[2, 5, 3]);
            let x6: Tensor<(U2, Dyn), f64, Dev> =
                Tensor::from_vec((U2::default(), Dyn(4)), vals(8, 0.2), &dev);
            check_forward(&l, x6, &[2, 3]);
        }
    }

    #[test]
    fn linear_forward_matches_naive_f32() {
        let dev = dev();
        for bias in [true, false] {
            let w: Tensor<(U3, U4), f32, Dev> = Tensor::from_vec(
                Default::default(),
                vals(12, 0.7).iter().map(|&v| v as f32).collect(),
                &dev,
            );
            let b = bias.then(|| {
                Tensor::<(U3,), f32, Dev>::from_vec(Default::default(), vec![0.5, -1.0, 2.0], &dev)
            });
            let l = Linear::from_tensors(w, b);
            let xv: Vec<f32> = vals(4 * 6, 0.4).iter().map(|&v| v as f32).collect();
            let x: Tensor<(Dyn, U2, U3, U4), f32, Dev> = Tensor::from_vec(
                (Dyn(1), U2::default(), U3::default(), U4::default()),
                xv.clone(),
                &dev,
            );
            let y = l.forward(x.clone());
            let y1 = l.forward(Tensor::<(U4,), f32, Dev>::from_vec(
                Default::default(),
                xv[..4].to_vec(),
                &dev,
            ));
            let to64 = |v: Vec<f32>| v.into_iter().map(|x| x as f64).collect::<Vec<_>>();
            let want = naive_linear(
                &to64(xv),
                &to64(l.weight.to_vec()),
                l.bias.as_ref().map(|b| to64(b.to_vec())).as_deref(),
                4,
                3,
            );
            assert_close!(&to64(y.to_vec()), &want, 1e-5, "f32 linear");
            assert_close!(&to64(y1.to_vec()), &want[..3], 1e-5, "f32 linear rank 1");
            // A tracked input computes the same values.
            assert_eq!(l.forward(x.trace()).to_vec(), y.to_vec());
        }
    }

    #[test]
    fn linear_dyn_feature_mismatch_is_an_error() {
        let dev = dev();
        let l = layer64(true);
        let x: Tensor<(U2, Dyn), f64, Dev> = Tensor::zeros((U2::default(), Dyn(5)), &dev);
        let e = l.try_forward(x.clone()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "linear: dimension mismatch on axis 1 (input features vs weight columns): got 5, expected 4"
        );
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| l.forward(x)));
        assert!(r.is_err());
    }

    /// Input, weight and bias gradients of a layer applied to `x` of any rank,
    /// against finite differences (`gradcheck_module` finds the parameters
    /// through the `Params` traversal and their gradients by id).
    fn check_grads<S: Shape, S2: Shape>(x: Tensor<S, f64, Dev>, bias: bool)
    where
        Linear<U4, U3, f64, Dev>: Module<Traced<S, f64, Dev>, Output = Traced<S2, f64, Dev>>,
    {
        let mut l = layer64(bias);
        gradcheck_module(&mut l, &x).unwrap();
        if !bias {
            let y = l.forward(x.clone().trace());
            let w = Tensor::from_vec(y.shape(), cotangent(y.numel()), &dev());
            assert_eq!(y.backward_from(w).len(), 2); // x and W (the output's gradient is freed once consumed)
        }
    }

    #[test]
    fn linear_gradients_match_finite_differences_each_rank() {
        let dev = dev();
        for bias in [true, false] {
            check_grads(
                Tensor::<(U4,), f64, Dev>::from_vec(Default::default(), vals(4, 0.3), &dev),
                bias,
            );
            check_grads(
                Tensor::<(Dyn, U4), f64, Dev>::from_vec((Dyn(3), U4::default()), vals(12, 0.3), &dev),
                bias,
            );
            check_grads(
                Tensor::<(U2, Dyn, U4), f64, Dev>::from_vec(
                    (U2::default(), Dyn(2), U4::default()),
                    vals(16, 0.3),
                    &dev,
                ),
                bias,
            );
            check_grads(
                Tensor::<(Dyn, U2, U2, U4), f64, Dev>::from_vec(
                    (Dyn(2), U2::default(), U2::default(), U4::default()),
                    vals(32, 0.3),
                    &dev,
                ),
                bias,
            );
        }
    }

    #[test]
    fn linear_used_twice_accumulates_parameter_gradients() {
        // y = L(L(x)) with the same square layer twice: d/dW adds both uses.
        #[derive(Module)]
        struct Twice {
            l: Linear<U3, U3, f64, Dev>,
        }
        impl Module<Traced<(U2, U3), f64, Dev>> for Twice {
            type Output = Traced<(U2, U3), f64, Dev>;
            fn forward(&self, x: Traced<(U2, U3), f64, Dev>) -> Self::Output {
                self.l.forward(self.l.forward(x))
            }
        }
        let mut m = Twice {
            l: Linear::new(&seeded(9)),
        };
        let x: Tensor<(U2, U3), f64, Dev> = Tensor::from_vec_static(vals(6, 0.5), &dev());
        gradcheck_module(&mut m, &x).unwrap();
    }

    #[test]
    fn linear_in_a_training_step_reduces_the_loss() {
        // Fit y = 2·x0 - x1 + 0.5 by gradient descent through Params.
        let dev = seeded(1);
        let mut l: Linear<U2, u!(1), f64, Dev> = Linear::new(&dev);
        let x: Tensor<(Dyn, U2), f64, Dev> = Tensor::randn((Dyn(64), U2::default()), 0.0, 1.0, &dev);
        let xv = x.to_vec();
        let t: Vec<f64> = xv.chunks(2).map(|r| 2.0 * r[0] - r[1] + 0.5).collect();
        let target: Tensor<(Dyn, u!(1)), f64, Dev> =
            Tensor::from_vec((Dyn(64), Default::default()), t, &dev);
        let mut first = None;
        let mut last = 0.0;
        for _ in 0..200 {
            let loss = (l.forward(x.clone().trace()) - target.clone())
                .square()
                .mean();
            last = loss.item();
            first.get_or_insert(last);
            let grads = loss.backward();
            let gw = grads.get(&l.weight).unwrap().to_vec();
            let gb = grads.get(l.bias.as_ref().unwrap()).unwrap().to_vec();
            let mut k = 0;
            l.visit_params_mut(&mut ParamPath::default(), &mut |_, p| {
                let g = if k == 0 { &gw } else { &gb };
                let v: Vec<f64> = p
                    .device
                    .download(p.data)
                    .iter()
                    .zip(g)
                    .map(|(a, b)| a - 0.1 * b)
                    .collect();
                *p.data = p.device.upload(v);
                k += 1;
            });
        }
        assert!(
            last < 1e-6 && last < first.unwrap(),
            "loss {first:?} -> {last}"
        );
        assert_close!(&l.weight.to_vec(), &[2.0, -1.0], 1e-3, "fitted weight");
        assert_close!(
            &l.bias.as_ref().unwrap().to_vec(),
            &[0.5],
            1e-3,
            "fitted bias"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        /// Random batch sizes (including empty batches): forward vs the naive
        /// loop, and dX = dY·W, dW = dYᵀ·X, db = Σ dY vs naive sums.
        #[test]
        fn linear_random_batches(b0 in 0usize..6, b1 in 1usize..5, seed in any::<u64>(), bias in any::<bool>()) {
            let dev = seeded(seed);
            let mut l: Linear<U5, U3, f64, Dev> = Linear::new(&dev);
            if !bias {
                l.bias = None;
            }
            let x: Tensor<(Dyn, Dyn, U5), f64, Dev> = Tensor::randn((Dyn(b0), Dyn(b1), U5::default()), 0.0, 1.0, &dev);
            let (xv, wv) = (x.to_vec(), l.weight.to_vec());
            let bv = l.bias.as_ref().map(|b| b.to_vec());
            let y = l.forward(x.clone().trace());
            prop_assert_eq!(&*y.dims(), &[b0, b1, 3]);
            let want = naive_linear(&xv, &wv, bv.as_deref(), 5, 3);
            let yv = y.to_vec();
            for (g, w) in yv.iter().zip(&want) {
                prop_assert!((g - w).abs() < 1e-12);
            }
            let gy = cotangent(y.numel());
            let ys = y.shape();
        let grads = y.backward_from(Tensor::from_vec(ys, gy.clone(), &dev));
            let rows = b0 * b1;
            let (mut gx, mut gw, mut gb) = (vec![0.0; rows * 5], vec![0.0; 15], vec![0.0; 3]);
            for r in 0..rows {
                for o in 0..3 {
                    let g = gy[r * 3 + o];
                    gb[o] += g;
                    for i in 0..5 {
                        gx[r * 5 + i] += g * wv[o * 5 + i];
                        gw[o * 5 + i] += g * xv[r * 5 + i];
                    }
                }
            }
            let close = |a: Vec<f64>, b: &[f64]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-12);
            prop_assert!(close(grads.get_or_zeros(&x).to_vec(), &gx));
            prop_assert!(close(grads.get(&l.weight).unwrap().to_vec(), &gw));
            if let Some(b) = &l.bias {
                prop_assert!(close(grads.get(b).unwrap().to_vec(), &gb));
            }
        }
    }

    #[test]
    fn linear_param_names_and_counts() {
        let dev = dev();
        let l: Linear<u!(784), u!(256), f32, Dev> = Linear::new(&dev);
        let names = l.param_names();
        assert_eq!(names.len(), 2);
        assert_eq!(names[0].0, "weight");
        assert_eq!(&*names[0].1, &[256, 784]);
        assert_eq!(names[1].0, "bias");
        assert_eq!(&*names[1].1, &[256]);
        assert_eq!(l.num_params(), 784 * 256 + 256);

        let nb: Linear<U4, U3, f32, Dev> = Linear::no_bias(&dev);
        let names = nb.param_names();
        assert_eq!(names.len(), 1);
        assert_eq!(names[0].0, "weight");
        assert_eq!(nb.num_params(), 12);

        // In a sequential tuple, activations and dropout hold nothing.
        let mlp = (
            Linear::<u!(784), u!(256), f32, Dev>::new(&dev),
            ReLU,
            Dropout::new(0.2),
            Linear::<u!(256), u!(10), f32, Dev>::no_bias(&dev),
            Softmax,
        );
        let names: Vec<String> = mlp.param_names().into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["0.weight", "0.bias", "3.weight"]);
        assert_eq!(mlp.num_params(), 784 * 256 + 256 + 256 * 10);
    }

    #[test]
    fn activations_match_formulas_and_gradients() {
        let dev = dev();
        let xv = vec![-2.5, -1.0, -0.3, 0.2, 0.7, 1.9];
        let x: Tensor<(U2, u!(3)), f64, Dev> = Tensor::from_vec_static(xv.clone(), &dev);
        let sig = |v: f64| 1.0 / (1.0 + (-v).exp());
        let erf_cdf = |v: f64| 0.5 * (1.0 + erf_series(v / 2f64.sqrt()));
        let cases: Vec<(&str, Vec<f64>, Vec<f64>)> = vec![
            (
                "relu",
                ReLU.forward(x.clone()).to_vec(),
                xv.iter().map(|&v| v.max(0.0)).collect(),
            ),
            (
                "tanh",
                Tanh.forward(x.clone()).to_vec(),
                xv.iter().map(|&v| v.tanh()).collect(),
            ),
            (
                "sigmoid",
                Sigmoid.forward(x.clone()).to_vec(),
                xv.iter().map(|&v| sig(v)).collect(),
            ),
            (
                "silu",
                SiLU.forward(x.clone()).to_vec(),
                xv.iter().map(|&v| v * sig(v)).collect(),
            ),
            (
                "leaky",
                LeakyReLU(0.2).forward(x.clone()).to_vec(),
                xv.iter()
                    .map(|&v| if v > 0.0 { v } else { 0.2 * v })
                    .collect(),
            ),
            (
                "gelu",
                GELU.forward(x.clone()).to_vec(),
                xv.iter().map(|&v| v * erf_cdf(v)).collect(),
            ),
            (
                "gelu_tanh",
                GELUTanh.forward(x.clone()).to_vec(),
                xv.iter()
                    .map(|&v| {
                        0.5 * v
                            * (1.0
                                + ((2.0 / std::f64::consts::PI).sqrt() * (v + 0.044715 * v * v * v))
                                    .tanh())
                    })
                    .collect(),
            ),
        ];
        for (name, got, want) in cases {
            assert_close!(&got, &want, 1e-12, "{}", name);
        }
        // Softmax / log-softmax over the last axis: rows of the formula.
        let sm = Softmax.forward(x.clone()).to_vec();
        let lsm = LogSoftmax.forward(x.clone()).to_vec();
        for r in 0..2 {
            let row = &xv[r * 3..r * 3 + 3];
            let z: f64 = row.iter().map(|v| v.exp()).sum();
            for c in 0..3 {
                assert!((sm[r * 3 + c] - row[c].exp() / z).abs() < 1e-14);
                assert!((lsm[r * 3 + c] - (row[c] - z.ln())).abs() < 1e-14);
            }
        }
        // Gradients through the modules (tracked inputs).
        gradcheck(&x, |t| Tanh.forward(t)).unwrap();
        gradcheck(&x, |t| Sigmoid.forward(t)).unwrap();
        gradcheck(&x, |t| SiLU.forward(t)).unwrap();
        gradcheck(&x, |t| GELU.forward(t)).unwrap();
        gradcheck(&x, |t| GELUTanh.forward(t)).unwrap();
        gradcheck(&x, |t| LeakyReLU(0.1).forward(t)).unwrap();
        gradcheck(&x, |t| ReLU.forward(t)).unwrap();
        gradcheck(&x, |t| Softmax.forward(t)).unwrap();
        gradcheck(&x, |t| LogSoftmax.forward(t)).unwrap();
        let p: usize = Params::<f64, Dev>::num_params(&ReLU) + Params::<f64, Dev>::num_params(&Softmax);
        assert_eq!(p, 0);
    }

    /// An independent erf: its Taylor series (accurate to rounding for |x| < 3).
    fn erf_series(x: f64) -> f64 {
        let mut sum = 0.0;
        let mut term = x;
        for n in 0..200 {
            sum += term / (2 * n + 1) as f64;
            term *= -x * x / (n + 1) as f64;
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    }

    #[test]
    fn softmax_module_rows_sum_to_one_each_rank() {
        let dev = seeded(4);
        let x1: Tensor<(u!(7),), f64, Dev> = Tensor::randn(Default::default(), 0.0, 3.0, &dev);
        let x3: Tensor<(U2, Dyn, U5), f64, Dev> =
            Tensor::randn((U2::default(), Dyn(3), U5::default()), 0.0, 3.0, &dev);
        let x5: Tensor<(U2, U2, U2, U2, U3), f64, Dev> = Tensor::randn(Default::default(), 0.0, 3.0, &dev);
        let sums = |v: Vec<f64>, n: usize| {
            v.chunks(n)
                .map(|c| c.iter().sum::<f64>())
                .collect::<Vec<_>>()
        };
        for s in sums(Softmax.forward(x1).to_vec(), 7) {
            assert!((s - 1.0).abs() < 1e-12);
        }
        for s in sums(Softmax.forward(x3).to_vec(), 5) {
            assert!((s - 1.0).abs() < 1e-12);
        }
        for s in sums(Softmax.forward(x5).to_vec(), 3) {
            assert!((s - 1.0).abs() < 1e-12);
        }
    }

    #[test]
    fn dropout_is_identity_when_untracked() {
        let dev = seeded(0);
        let x: Tensor<(Dyn, U5), f32, Dev> = Tensor::randn((Dyn(40), U5::default()), 0.0, 1.0, &dev);
        for p in [0.0, 0.3, 0.9, 1.0] {
            let y = Dropout::new(p).forward(x.clone());
            assert_eq!(y.to_vec(), x.to_vec());
            assert_eq!(y.id(), x.id());
        }
        // A detached (evaluation) copy of a tracked tensor is not dropped.
        let t = x.clone().trace();
        assert_eq!(Dropout::new(0.5).forward(t.detach()).to_vec(), x.to_vec());
    }

    #[test]
    fn dropout_zero_fraction_and_scale() {
        let dev = seeded(11);
        let n = 200_000;
        let x: Tensor<(Dyn,), f64, Dev> = Tensor::ones((Dyn(n),), &dev);
        for p in [0.1, 0.3, 0.5, 0.8] {
            let y = Dropout::new(p).forward(x.clone().trace()).to_vec();
            let zeros = y.iter().filter(|&&v| v == 0.0).count() as f64;
            let scale = 1.0 / (1.0 - p);
            assert!(
                y.iter().all(|&v| v == 0.0 || v == scale),
                "p = {p}: values 0 or {scale}"
            );
            // Binomial count: mean n·p, std √(n·p·(1-p)); allow 5 std.
            let sd = (n as f64 * p * (1.0 - p)).sqrt();
            assert!(
                (zeros - n as f64 * p).abs() < 5.0 * sd,
                "p = {p}: {zeros} zeros of {n}"
            );
        }
        // p = 0 keeps everything, p = 1 zeroes everything (and its gradient).
        assert_eq!(
            Dropout::new(0.0).forward(x.clone().trace()).to_vec(),
            x.to_vec()
        );
        let t = x.clone().trace();
        let y = Dropout::new(1.0).forward(t);
        assert!(y.to_vec().iter().all(|&v| v == 0.0));
        assert!(y
            .sum()
            .backward()
            .get(&x)
            .unwrap()
            .to_vec()
            .iter()
            .all(|&g| g == 0.0));
    }

    #[test]
    fn dropout_keeps_the_expectation() {
        let dev = seeded(5);
        let p = 0.3;
        let xv = vec![1.0, -2.0, 0.5, 3.0, -0.25, 4.0, 2.0, -1.5];
        let x: Tensor<(u!(8),), f64, Dev> = Tensor::from_vec_static(xv.clone(), &dev);
        let k = 4000;
        let mut mean = [0.0; 8];
        let drop = Dropout::new(p);
        for _ in 0..k {
            for (m, v) in mean
                .iter_mut()
                .zip(drop.forward(x.clone().trace()).to_vec())
            {
                *m += v / k as f64;
            }
        }
        // One sample has variance x²·p/(1-p); the mean of k has std
        // |x|·√(p/((1-p)·k)). Allow 5 std.
        for (m, x) in mean.iter().zip(&xv) {
            let sd = x.abs() * (p / ((1.0 - p) * k as f64)).sqrt();
            assert!((m - x).abs() < 5.0 * sd, "mean {m} vs {x} (sd {sd})");
        }
    }

    #[test]
    fn dropout_gradient_uses_the_same_mask() {
        let dev = seeded(2);
        let x: Tensor<(Dyn, U4), f64, Dev> = Tensor::rand_uniform((Dyn(50), U4::default()), 1.0, 2.0, &dev);
        let y = Dropout::new(0.4).forward(x.clone().trace());
        let yv = y.to_vec();
        let w = cotangent(y.numel());
        let ys = y.shape();
        let g = y.backward_from(Tensor::from_vec(ys, w.clone(), &dev));
        let gx = g.get(&x).unwrap().to_vec();
        for (i, ((gi, yi), xi)) in gx.iter().zip(&yv).zip(x.to_vec()).enumerate() {
            // mask_i = y_i / x_i (x_i > 0), and dx_i = w_i · mask_i.
            let want = w[i] * yi / xi;
            assert!((gi - want).abs() < 1e-12, "element {i}: {gi} vs {want}");
        }
        // Downstream of an op: still the same mask.
        let z = Dropout::new(0.4).forward(x.clone().trace().square());
        let zv = z.to_vec();
        let gz = z.sum().backward().get(&x).unwrap().to_vec();
        for ((g, z), x) in gz.iter().zip(&zv).zip(x.to_vec()) {
            let mask = z / (x * x);
            assert!((g - 2.0 * x * mask).abs() < 1e-12);
        }
    }

    #[test]
    fn dropout_reproducible_from_seed() {
        let run = |seed: u64| {
            let dev = seeded(seed);
            let x: Tensor<(u!(64),), f32, Dev> = Tensor::ones(Default::default(), &dev);
            Dropout::new(0.5).forward(x.trace()).to_vec()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
    }

    #[test]
    fn dropout_rejects_bad_rates() {
        for p in [-0.1, 1.01, f64::NAN] {
            assert_eq!(
                Dropout::try_new(p).unwrap_err().to_string(),
                "dropout: the rate p must be in [0, 1]"
            );
        }
        let bad = Dropout { p: 2.0 };
        let x: Tensor<(U2,), f32, Dev> = Tensor::ones(Default::default(), &dev());
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            bad.forward(x.trace()).to_vec()
        }));
        assert!(r.is_err());
    }

    /// Sample mean and variance (about 0 for the variance: E[x²] - mean²).
    fn moments(v: &[f64]) -> (f64, f64) {
        let n = v.len() as f64;
        let m = v.iter().sum::<f64>() / n;
        let var = v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / n;
        (m, var)
    }

    /// Check a uniform `U(-a, a)` sample: bounds, mean and variance `a²/3`
    /// within 5 standard errors (Var x² = 4a⁴/45 for the uniform).
    fn check_uniform(v: &[f64], a: f64) {
        let n = v.len() as f64;
        assert!(v.iter().all(|x| x.abs() <= a), "bound {a}");
        assert!(
            v.iter().any(|x| x.abs() > 0.99 * a),
            "reaches the bound {a}"
        );
        let (m, var) = moments(v);
        assert!(m.abs() < 5.0 * a / (3.0 * n).sqrt(), "mean {m}");
        let want = a * a / 3.0;
        let se = (4.0 / 45.0f64).sqrt() * a * a / n.sqrt();
        assert!(
            (var - want).abs() < 5.0 * se,
            "variance {var} vs {want} (se {se})"
        );
    }

    /// Check a normal `N(0, σ²)` sample: mean and variance within 5 standard
    /// errors (Var x² = 2σ⁴).
    fn check_normal(v: &[f64], sd: f64) {
        let n = v.len() as f64;
        let (m, var) = moments(v);
        assert!(m.abs() < 5.0 * sd / n.sqrt(), "mean {m}");
        let want = sd * sd;
        let se = 2f64.sqrt() * want / n.sqrt();
        assert!((var - want).abs() < 5.0 * se, "variance {var} vs {want}");
    }

    #[test]
    fn fans_follow_pytorch() {
        assert_eq!(fans(&[256, 784]).unwrap(), (784, 256));
        assert_eq!(fans(&[64, 3, 7, 7]).unwrap(), (3 * 49, 64 * 49));
        assert_eq!(fans(&[8, 4, 3]).unwrap(), (12, 24));
        assert!(fans(&[]).is_err());
        let e = fans(&[5]).unwrap_err().to_string();
        assert!(e.contains("fewer than 2 dimensions"), "{e}");
    }

    #[test]
    fn init_moments_match_formulas() {
        let dev = seeded(123);
        // Glorot uniform on (O, I) = (256, 512): Var = 2 / (fan_in + fan_out).
        let w: Tensor<(u!(256), u!(512)), f64, Dev> =
            Init::XavierUniform { gain: 1.0 }.tensor(Default::default(), &dev);
        check_uniform(&w.to_vec(), (6.0f64 / 768.0).sqrt());
        let (_, var) = moments(&w.to_vec());
        assert!((var - 2.0 / 768.0).abs() < 0.02 * 2.0 / 768.0);
        // With a gain (tanh).
        let g = Nonlinearity::Tanh.gain();
        let w: Tensor<(u!(256), u!(512)), f64, Dev> =
            Init::XavierUniform { gain: g }.tensor(Default::default(), &dev);
        check_uniform(&w.to_vec(), g * (6.0f64 / 768.0).sqrt());
        // Glorot normal.
        let w: Tensor<(u!(256), u!(512)), f64, Dev> =
            Init::XavierNormal { gain: 1.0 }.tensor(Default::default(), &dev);
        check_normal(&w.to_vec(), (2.0f64 / 768.0).sqrt());
        // Kaiming uniform, fan in and fan out, on a conv weight (64, 16, 3, 3):
        // fan_in = 144, fan_out = 576.
        let relu = Nonlinearity::Relu.gain();
        for (mode, fan) in [(FanMode::FanIn, 144.0), (FanMode::FanOut, 576.0)] {
            let v: Vec<f64> = dev.download(
                &Init::KaimingUniform { gain: relu, mode }
                    .try_sample::<f64, _>(&[64, 16, 3, 3], &dev)
                    .unwrap(),
            );
            assert_eq!(v.len(), 64 * 144);
            check_uniform(&v, relu * (3.0f64 / fan).sqrt());
            // Var = gain² / fan = 2 / fan (He).
            let (_, var) = moments(&v);
            assert!((var - 2.0 / fan).abs() < 0.05 * 2.0 / fan);
            let v: Vec<f64> = dev.download(
                &Init::KaimingNormal { gain: relu, mode }
                    .try_sample::<f64, _>(&[64, 16, 3, 3], &dev)
                    .unwrap(),
            );
            check_normal(&v, relu / fan.sqrt());
        }
        // Plain uniform / normal / constant, f32.
        let u: Tensor<(Dyn,), f32, Dev> = Init::Uniform { lo: 1.0, hi: 3.0 }.tensor((Dyn(100_000),), &dev);
        let uv: Vec<f64> = u.to_vec().into_iter().map(|x| x as f64 - 2.0).collect();
        check_uniform(&uv, 1.0);
        let nrm: Tensor<(Dyn,), f32, Dev> = Init::Normal {
            mean: 0.0,
            std: 0.5,
        }
        .tensor((Dyn(100_000),), &dev);
        check_normal(
            &nrm.to_vec()
                .into_iter()
                .map(|x| x as f64)
                .collect::<Vec<_>>(),
            0.5,
        );
        let c: Tensor<(U3,), f32, Dev> = Init::Constant(0.25).tensor(Default::default(), &dev);
        assert_eq!(c.to_vec(), vec![0.25; 3]);
        // Scales reported by `scale`.
        assert_eq!(
            Init::KaimingNormal {
                gain: 1.0,
                mode: FanMode::FanOut
            }
            .scale(&[4, 9])
            .unwrap(),
            Some(0.5)
        );
        assert_eq!(Init::Constant(1.0).scale(&[4, 9]).unwrap(), None);
    }

    #[test]
    fn init_errors_name_the_problem() {
        let dev = dev();
        let e = Init::XavierUniform { gain: 1.0 }
            .try_tensor::<(U4,), f32, _>(Default::default(), &dev)
            .unwrap_err()
            .to_string();
        assert!(e.contains("fewer than 2 dimensions"), "{e}");
        let e = Init::Uniform { lo: 1.0, hi: 0.0 }
            .try_tensor::<(U4,), f32, _>(Default::default(), &dev)
            .unwrap_err()
            .to_string();
        assert!(e.contains("lo <= hi"), "{e}");
        let e = Init::Normal {
            mean: 0.0,
            std: -1.0,
        }
        .try_tensor::<(U4,), f32, _>(Default::default(), &dev)
        .unwrap_err()
        .to_string();
        assert!(e.contains("std >= 0"), "{e}");
        // A zero gain is a zero tensor, not an error.
        let z: Tensor<(U2, U2), f32, Dev> =
            Init::XavierUniform { gain: 0.0 }.tensor(Default::default(), &dev);
        assert_eq!(z.to_vec(), vec![0.0; 4]);
    }

    #[test]
    fn linear_default_init_is_pytorchs() {
        let dev = seeded(99);
        let l: Linear<u!(400), u!(300), f64, Dev> = Linear::new(&dev);
        // Kaiming uniform with a = √5 is U(-1/√fan_in, 1/√fan_in).
        let bound = 1.0 / 400f64.sqrt();
        check_uniform(&l.weight.to_vec(), bound);
        let b = l.bias.as_ref().unwrap().to_vec();
        assert!(b.iter().all(|x| x.abs() <= bound));
        let (m, var) = moments(&b);
        let n = b.len() as f64;
        assert!(m.abs() < 5.0 * bound / (3.0 * n).sqrt());
        assert!(
            (var - bound * bound / 3.0).abs() < 5.0 * (4.0 / 45.0f64).sqrt() * bound * bound / n.sqrt()
        );
        // Reproducible from the seed, different for another seed.
        let a: Linear<u!(8), u!(4), f32, Dev> = Linear::new(&seeded(3));
        let b: Linear<u!(8), u!(4), f32, Dev> = Linear::new(&seeded(3));
        let c: Linear<u!(8), u!(4), f32, Dev> = Linear::new(&seeded(4));
        assert_eq!(a.weight.to_vec(), b.weight.to_vec());
        assert_eq!(
            a.bias.as_ref().unwrap().to_vec(),
            b.bias.as_ref().unwrap().to_vec()
        );
        assert_ne!(a.weight.to_vec(), c.weight.to_vec());
        // The weight and bias are drawn independently.
        assert_ne!(
            a.weight.to_vec()[..4],
            a.bias.as_ref().unwrap().to_vec()[..]
        );
    }

    #[test]
    fn reset_params_keeps_ids_and_redraws() {
        let dev = seeded(6);
        let mut l: Linear<u!(32), u!(16), f64, Dev> = Linear::new(&dev);
        let (wid, bid) = (l.weight.id(), l.bias.as_ref().unwrap().id());
        let (w0, b0) = (l.weight.to_vec(), l.bias.as_ref().unwrap().to_vec());
        // Gradients computed before the reset still look up by the same ids.
        let x: Tensor<(U2, u!(32)), f64, Dev> = Tensor::ones(Default::default(), &dev);
        let grads = l.forward(x.trace()).sum().backward();
        l.reset_params();
        assert_eq!(l.weight.id(), wid);
        assert_eq!(l.bias.as_ref().unwrap().id(), bid);
        assert_ne!(l.weight.to_vec(), w0);
        assert_ne!(l.bias.as_ref().unwrap().to_vec(), b0);
        assert!(grads.get(&l.weight).is_some());
        assert!(l
            .weight
            .to_vec()
            .iter()
            .all(|w| w.abs() <= 1.0 / 32f64.sqrt()));
    }
}
