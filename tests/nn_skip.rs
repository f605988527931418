//! Skip connections (`Residual`, `ResidualProjection`, `ConcatSkip`) and
//! `Flatten`: values against hand computation with naive loops, gradients
//! against finite differences (f64, input and every parameter), parameter
//! names, runtime (`Dyn`) errors, and property tests over random sizes and
//! values.

use proptest::prelude::*;
use typegrad::nn::{
    ConcatSkip, Flatten, Linear, Module, Params, ReLU, Residual, ResidualProjection, Tanh,
};
use typegrad::prelude::*;
use typegrad::testing::tensor_on;
use typegrad::testing::{assert_close, gradcheck, gradcheck_module, Traced};

typegrad::per_device! {
    type U2 = u!(2);
    type U3 = u!(3);
    type U4 = u!(4);

    fn vals(n: usize, k: f64) -> Vec<f64> {
        (0..n).map(|i| ((i as f64 + 1.0) * k).sin() * 1.5).collect()
    }

    /// A linear layer with fixed, distinct weights (f64).
    fn linear<I: typegrad::shape::StaticDim, O: typegrad::shape::StaticDim>(
        k: f64,
        bias: bool,
    ) -> Linear<I, O, f64, Dev> {
        let dev = dev();
        let (i, o) = (I::default().size(), O::default().size());
        let w = Tensor::from_vec(Default::default(), vals(o * i, k), &dev);
        let b = bias.then(|| Tensor::from_vec(Default::default(), vals(o, k + 0.3), &dev));
        Linear::from_tensors(w, b)
    }

    /// `y[r, o] = Σ_i x[r, i] w[o, i] + b[o]`.
    fn naive_linear(x: &[f64], l: &Linear<impl Dim, impl Dim, f64, Dev>) -> Vec<f64> {
        let w = l.weight.to_vec();
        let b = l.bias.as_ref().map(|b| b.to_vec());
        let (o_n, i_n) = (l.weight.dims()[0], l.weight.dims()[1]);
        let rows = x.len() / i_n;
        let mut y = vec![0.0; rows * o_n];
        for r in 0..rows {
            for o in 0..o_n {
                let mut s = b.as_ref().map_or(0.0, |b| b[o]);
                for i in 0..i_n {
                    s += x[r * i_n + i] * w[o * i_n + i];
                }
                y[r * o_n + o] = s;
            }
        }
        y
    }

    fn x_batch(n: usize) -> Tensor<(Dyn, U3), f64, Dev> {
        Tensor::from_vec(
            (Dyn(n), Default::default()),
            vals(3 * n, 0.9),
            &dev(),
        )
    }

    // ------------------------------------------------------------- Residual

    #[test]
    fn residual_adds_the_input_to_the_inner_path() {
        let fc = linear::<U3, U3>(0.7, true);
        let x = x_batch(4);
        let fx: Vec<f64> = naive_linear(&x.to_vec(), &fc)
            .into_iter()
            .map(|v| v.max(0.0))
            .collect();
        let want: Vec<f64> = x.to_vec().iter().zip(&fx).map(|(a, b)| a + b).collect();
        let block = Residual((fc, ReLU));
        let y: Tensor<(Dyn, U3), f64, Dev> = block.forward(x.clone());
        assert_close!(y.to_vec(), want, 1e-12);
        // The same through a tracked input (training), and `try_forward`.
        assert_close!(block.forward(x.clone().trace()).to_vec(), want, 1e-12);
        assert_close!(block.try_forward(x).unwrap().to_vec(), want, 1e-12);
    }

    #[test]
    fn residual_gradients_flow_through_both_paths() {
        let mut block = Residual((linear::<U3, U3>(0.7, true), Tanh));
        gradcheck_module(&mut block, &x_batch(3)).unwrap();
        // With a zero inner path, dL/dx is exactly the cotangent: the identity
        // branch carries it alone.
        let mut zero = linear::<U3, U3>(0.7, false);
        zero.weight = Tensor::zeros(Default::default(), &dev());
        let block = Residual(zero);
        let x = x_batch(2).trace();
        let g_out = Tensor::from_vec(x.shape(), vals(6, 2.1), &dev());
        let grads = block.forward(x.clone()).backward_from(g_out.clone());
        assert_close!(grads.get(&x).unwrap().to_vec(), g_out.to_vec(), 1e-15);
        // The weight's gradient is recorded under the layer's own id.
        assert!(grads.get(&block.0.weight).is_some());
    }

    #[test]
    fn residual_parameters_keep_their_own_names() {
        #[derive(Module)]
        #[module(sequential)]
        struct Net {
            res: Residual<(Linear<U3, U3, f64, Dev>, ReLU)>,
            head: Linear<U3, U2, f64, Dev>,
        }
        let net = Net {
            res: Residual((linear(0.1, true), ReLU)),
            head: linear(0.2, false),
        };
        let names: Vec<String> = net.param_names().into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["res.0.weight", "res.0.bias", "head.weight"]);
        let y = net.forward(x_batch(2));
        assert_eq!(&*y.dims(), &[2, 2]);
    }

    /// Changes a `Dyn` size: keeps the first `n` columns.
    struct Take(usize);
    impl<T: Tracking<f64, Dev>> Module<Tensor<(Dyn, Dyn), f64, Dev, T>> for Take {
        type Output = Tensor<(Dyn, Dyn), f64, Dev, T>;
        fn forward(&self, x: Tensor<(Dyn, Dyn), f64, Dev, T>) -> Self::Output {
            x.narrow::<1>(0, Dyn(self.0))
        }
    }

    fn dyn_x() -> Tensor<(Dyn, Dyn), f64, Dev> {
        Tensor::from_vec((Dyn(2), Dyn(4)), vals(8, 0.5), &dev())
    }

    #[test]
    fn residual_dyn_mismatch_is_an_error_naming_the_axis() {
        let e = Residual(Take(3)).try_forward(dyn_x()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "residual: dimension mismatch on axis 1 (residual path output vs input): got 3, expected 4"
        );
        // A path that keeps the size passes.
        let y = Residual(Take(4)).forward(dyn_x());
        let want: Vec<f64> = dyn_x().to_vec().iter().map(|v| 2.0 * v).collect();
        assert_close!(y.to_vec(), want, 1e-15);
    }

    #[test]
    #[should_panic(expected = "residual: dimension mismatch on axis 1")]
    fn residual_dyn_mismatch_panics_in_forward() {
        let _ = Residual(Take(1)).forward(dyn_x());
    }

    // --------------------------------------------------- ResidualProjection

    #[test]
    fn projection_adds_both_paths() {
        let f = linear::<U3, U4>(0.4, true);
        let p = linear::<U3, U4>(1.1, false);
        let x = x_batch(3);
        let want: Vec<f64> = naive_linear(&x.to_vec(), &f)
            .iter()
            .zip(naive_linear(&x.to_vec(), &p))
            .map(|(a, b)| a.max(0.0) + b)
            .collect();
        let block = ResidualProjection {
            residual: (f, ReLU),
            downsample: p,
        };
        let y: Tensor<(Dyn, U4), f64, Dev> = block.forward(x.clone());
        assert_close!(y.to_vec(), want, 1e-12);
        assert_close!(block.try_forward(x).unwrap().to_vec(), want, 1e-12);
    }

    #[test]
    fn projection_gradients_match_finite_differences() {
        let mut block = ResidualProjection {
            residual: (
                linear::<U3, U4>(0.4, true),
                Tanh,
                linear::<U4, U4>(0.8, true),
            ),
            downsample: linear::<U3, U4>(1.1, false),
        };
        gradcheck_module(&mut block, &x_batch(3)).unwrap();
    }

    #[test]
    fn projection_names_follow_torchvision() {
        /// A residual path named like torchvision's BasicBlock (linear layers
        /// standing in for the convolutions).
        #[derive(Module)]
        #[module(sequential)]
        struct Main {
            conv1: Linear<U3, U4, f64, Dev>,
            relu: ReLU,
            conv2: Linear<U4, U4, f64, Dev>,
        }
        let block = ResidualProjection {
            residual: Main {
                conv1: linear(0.1, false),
                relu: ReLU,
                conv2: linear(0.2, false),
            },
            downsample: (linear::<U3, U4>(0.3, false),),
        };
        let names: Vec<String> = block.param_names().into_iter().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            ["conv1.weight", "conv2.weight", "downsample.0.weight"]
        );
    }

    #[test]
    fn projection_dyn_mismatch_is_an_error() {
        let block = ResidualProjection {
            residual: Take(3),
            downsample: Take(2),
        };
        let e = block.try_forward(dyn_x()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "shortcut: dimension mismatch on axis 1 (downsample output vs residual path output): got 2, expected 3"
        );
        let ok = ResidualProjection {
            residual: Take(2),
            downsample: Take(2),
        };
        assert_eq!(&*ok.forward(dyn_x()).dims(), &[2, 2]);
    }

    // ----------------------------------------------------------- ConcatSkip

    /// Mixes `C1` channels into `C2` at every position of a `(B, C, L)`
    /// tensor: `y[b, o, l] = Σ_c w[o, c] x[b, c, l]` (a 1x1 convolution).
    #[derive(Module)]
    struct Mix<C1: Dim, C2: Dim> {
        w: Linear<C1, C2, f64, Dev>,
    }
    impl<C1: Dim, C2: Dim, B: Dim, L: Dim, T: Tracking<f64, Dev>>
        Module<Tensor<(B, C1, L), f64, Dev, T>> for Mix<C1, C2>
    where
        Linear<C1, C2, f64, Dev>:
            Module<Tensor<(B, L, C1), f64, Dev, T>, Output = Tensor<(B, L, C2), f64, Dev, T>>,
    {
        type Output = Tensor<(B, C2, L), f64, Dev, T>;
        fn forward(&self, x: Tensor<(B, C1, L), f64, Dev, T>) -> Self::Output {
            // (B, L, C1) -> (B, L, C2), back to (B, C2, L)
            self.w.forward(x.transpose::<1, 2>()).transpose::<1, 2>()
        }
    }

    fn naive_mix(x: &[f64], w: &[f64], b: usize, c1: usize, c2: usize, l: usize) -> Vec<f64> {
        let mut y = vec![0.0; b * c2 * l];
        for bi in 0..b {
            for o in 0..c2 {
                for p in 0..l {
                    y[(bi * c2 + o) * l + p] = (0..c1)
                        .map(|c| w[o * c1 + c] * x[(bi * c1 + c) * l + p])
                        .sum();
                }
            }
        }
        y
    }

    fn naive_cat1(a: &[f64], b: &[f64], n: usize, ca: usize, cb: usize, l: usize) -> Vec<f64> {
        let mut y = Vec::with_capacity(a.len() + b.len());
        for i in 0..n {
            y.extend_from_slice(&a[i * ca * l..(i + 1) * ca * l]);
            y.extend_from_slice(&b[i * cb * l..(i + 1) * cb * l]);
        }
        y
    }

    fn mix(k: f64) -> Mix<U3, U2> {
        Mix {
            w: linear(k, false),
        }
    }

    #[test]
    fn concat_skip_joins_input_and_inner_path_on_channels() {
        let x: Tensor<(Dyn, U3, u!(5)), f64, Dev> = Tensor::from_vec(
            (Dyn(2), Default::default(), Default::default()),
            vals(30, 0.3),
            &dev(),
        );
        let m = mix(0.6);
        let inner = naive_mix(&x.to_vec(), &m.w.weight.to_vec(), 2, 3, 2, 5);
        let want = naive_cat1(&x.to_vec(), &inner, 2, 3, 2, 5);
        let skip = ConcatSkip(m);
        let y: Tensor<(Dyn, u!(5), u!(5)), f64, Dev> = skip.forward(x.clone());
        assert_close!(y.to_vec(), want, 1e-12);
        assert_close!(skip.try_forward(x).unwrap().to_vec(), want, 1e-12);
        assert_eq!(skip.param_names()[0].0, "w.weight");
    }

    #[test]
    fn concat_skip_gradients_match_finite_differences() {
        let mut skip = ConcatSkip((mix(0.6), Tanh));
        let x: Tensor<(Dyn, U3, u!(4)), f64, Dev> = Tensor::from_vec(
            (Dyn(2), Default::default(), Default::default()),
            vals(24, 0.3),
            &dev(),
        );
        gradcheck_module(&mut skip, &x).unwrap();
        // Nested: a U-Net of two levels (an inner skip inside the outer one).
        let mut unet = ConcatSkip((
            mix(0.2),
            ConcatSkip(Mix::<U2, U2> {
                w: linear(0.9, false),
            }),
        ));
        let y = unet.forward(x.clone());
        assert_eq!(&*y.dims(), &[2, 3 + 2 + 2, 4]);
        gradcheck_module(&mut unet, &x).unwrap();
    }

    /// Halves a `Dyn` length.
    struct Half;
    impl<T: Tracking<f64, Dev>> Module<Tensor<(Dyn, Dyn, Dyn), f64, Dev, T>> for Half {
        type Output = Tensor<(Dyn, Dyn, Dyn), f64, Dev, T>;
        fn forward(&self, x: Tensor<(Dyn, Dyn, Dyn), f64, Dev, T>) -> Self::Output {
            let n = x.dims()[2];
            x.narrow::<2>(0, Dyn(n / 2))
        }
    }

    #[test]
    fn concat_skip_dyn_mismatch_is_an_error() {
        let x: Tensor<(Dyn, Dyn, Dyn), f64, Dev> =
            Tensor::from_vec((Dyn(1), Dyn(2), Dyn(6)), vals(12, 0.4), &dev());
        let e = ConcatSkip(Half).try_forward(x.clone()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "concat: dimension mismatch on axis 2 (right operand vs left operand): got 3, expected 6"
        );
        let r = std::panic::catch_unwind(|| ConcatSkip(Half).forward(x));
        assert!(r.is_err());
    }

    // -------------------------------------------------------------- Flatten

    #[test]
    fn flatten_keeps_the_batch_and_the_data_order() {
        let dev = dev();
        let x: Tensor<(Dyn, U2, U3, U4), f64, Dev> = Tensor::from_vec(
            (
                Dyn(2),
                Default::default(),
                Default::default(),
                Default::default(),
            ),
            vals(48, 0.1),
            &dev,
        );
        let y: Tensor<(Dyn, u!(24)), f64, Dev> = Flatten.forward(x.clone());
        assert_eq!(&*y.dims(), &[2, 24]);
        assert_eq!(y.to_vec(), x.to_vec());
        // (B, C, L) -> (B, C·L); a Dyn factor makes the product Dyn.
        let x: Tensor<(U2, Dyn, U3), f64, Dev> = Tensor::from_vec(
            (Default::default(), Dyn(5), Default::default()),
            vals(30, 0.2),
            &dev,
        );
        let y: Tensor<(U2, Dyn), f64, Dev> = Flatten.forward(x.clone());
        assert_eq!((&*y.dims(), y.to_vec()), (&[2, 15][..], x.to_vec()));
        assert_eq!(Params::<f64, Dev>::num_params(&Flatten), 0);
    }

    #[test]
    fn flatten_overflow_is_an_error() {
        // A zero batch holds no element, but the per-item count overflows.
        let x: Tensor<(Dyn, Dyn, Dyn), f64, Dev> =
            Tensor::zeros((Dyn(0), Dyn(1 << 40), Dyn(1 << 40)), &dev());
        let e = Flatten.try_forward(x).unwrap_err();
        assert!(e.to_string().contains("flatten"), "{e}");
    }

    #[test]
    fn flatten_then_linear_gradients() {
        let x: Tensor<(Dyn, U2, U2), f64, Dev> = Tensor::from_vec(
            (Dyn(3), Default::default(), Default::default()),
            vals(12, 0.7),
            &dev(),
        );
        let mut model = (Flatten, linear::<U4, U3>(0.5, true));
        gradcheck_module(&mut model, &x).unwrap();
        gradcheck(&x, |x: Traced<(Dyn, U2, U2), f64, Dev>| Flatten.forward(x).square()).unwrap();
    }

    // ------------------------------------------------------------ properties

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        /// `Residual(F)(x) = x + F(x)` for random batches and values, and the
        /// gradients through both paths.
        #[test]
        fn residual_is_x_plus_f_of_x(x in tensor_on::<(Dyn, U3), f64, Dev>(dev(), 1..5, -2.0..2.0), k in 0.1f64..2.0) {
            let block = Residual((linear::<U3, U3>(k, true), Tanh));
            let fx = block.0.forward(x.clone()).to_vec();
            let want: Vec<f64> = x.to_vec().iter().zip(&fx).map(|(a, b)| a + b).collect();
            prop_assert!(block.forward(x.clone()).to_vec().iter().zip(&want).all(|(a, b)| (a - b).abs() < 1e-12));
            let mut block = block;
            gradcheck_module(&mut block, &x)?;
        }

        /// `ResidualProjection` is the sum of its paths; gradients of both.
        #[test]
        fn projection_is_the_sum_of_paths(x in tensor_on::<(Dyn, U3), f64, Dev>(dev(), 1..4, -2.0..2.0), k in 0.1f64..2.0) {
            let mut block = ResidualProjection {
                residual: (linear::<U3, U2>(k, true), Tanh),
                downsample: linear::<U3, U2>(k + 0.5, false),
            };
            let a = block.residual.forward(x.clone()).to_vec();
            let b = block.downsample.forward(x.clone()).to_vec();
            let y = block.forward(x.clone()).to_vec();
            for i in 0..y.len() {
                prop_assert!((y[i] - a[i] - b[i]).abs() < 1e-12);
            }
            gradcheck_module(&mut block, &x)?;
        }

        /// `ConcatSkip`: the first `C` channels are the input, the rest the
        /// inner path's output; gradients through both.
        #[test]
        fn concat_skip_channels(x in tensor_on::<(Dyn, U3, Dyn), f64, Dev>(dev(), 1..4, -2.0..2.0), k in 0.1f64..2.0) {
            let mut skip = ConcatSkip(mix(k));
            let d = x.dims();
            let (b, l) = (d[0], d[2]);
            let inner = naive_mix(&x.to_vec(), &skip.0.w.weight.to_vec(), b, 3, 2, l);
            let y = skip.forward(x.clone());
            prop_assert_eq!(&*y.dims(), &[b, 5, l][..]);
            let want = naive_cat1(&x.to_vec(), &inner, b, 3, 2, l);
            prop_assert!(y.to_vec().iter().zip(&want).all(|(a, b)| (a - b).abs() < 1e-12));
            gradcheck_module(&mut skip, &x)?;
        }

        /// `Flatten` moves no data and passes the gradient through.
        #[test]
        fn flatten_is_a_view(x in tensor_on::<(Dyn, U2, Dyn, U3), f64, Dev>(dev(), 1..4, -2.0..2.0)) {
            let d = x.dims();
            let y = Flatten.forward(x.clone());
            prop_assert_eq!(&*y.dims(), &[d[0], 2 * d[2] * 3][..]);
            prop_assert_eq!(y.to_vec(), x.to_vec());
            gradcheck(&x, |x| Flatten.forward(x).tanh())?;
        }
    }

    /// Wrappers inside a `#[module(sequential)]` struct generic over a size:
    /// the chain checks go through `Residual` (it keeps the size) and treat
    /// `Flatten` and `ResidualProjection` as opaque.
    #[test]
    fn wrappers_in_a_size_generic_sequential_struct() {
        #[derive(Module)]
        #[module(sequential)]
        struct Net<H: Dim> {
            flat: Flatten,
            fc: Linear<u!(6), H, f64, Dev>,
            res: Residual<(Linear<H, H, f64, Dev>, Tanh)>,
            proj: ResidualProjection<Linear<H, U2, f64, Dev>, Linear<H, U2, f64, Dev>>,
            head: Linear<U2, U2, f64, Dev>,
        }
        let net: Net<U4> = Net {
            flat: Flatten,
            fc: linear(0.1, true),
            res: Residual((linear(0.2, true), Tanh)),
            proj: ResidualProjection {
                residual: linear(0.3, true),
                downsample: linear(0.4, false),
            },
            head: linear(0.5, true),
        };
        let x: Tensor<(Dyn, U2, U3), f64, Dev> = Tensor::from_vec(
            (Dyn(2), Default::default(), Default::default()),
            vals(12, 0.3),
            &dev(),
        );
        let y: Tensor<(Dyn, U2), f64, Dev> = net.forward(x.clone());
        // The same by hand, layer by layer.
        let h = net.fc.forward(Flatten.forward(x));
        let h = h.clone() + net.res.0 .0.forward(h).tanh();
        let h = net.proj.residual.forward(h.clone()) + net.proj.downsample.forward(h);
        assert_close!(y.to_vec(), net.head.forward(h).to_vec(), 1e-12);
    }
}
