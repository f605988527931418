//! Conv layers: PyTorch fixtures (forward and gradients of input, weight
//! and bias, `tests/fixtures/conv_torch.py`), finite-difference gradients
//! of every parameter over random `Dyn` sizes, PyTorch's default
//! initialisation and names, unbatched inputs, runtime errors, and code
//! generic over the channels.

use proptest::prelude::*;
use std::collections::HashMap;
use typegrad::backend::Backend;
use typegrad::nn::{Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d, Module, Params};
use typegrad::prelude::*;
use typegrad::testing::{assert_close, gradcheck_module};

/// `case.key -> values` from `tests/fixtures/conv_torch.txt`.
fn fixtures() -> HashMap<String, Vec<f64>> {
    include_str!("fixtures/conv_torch.txt")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut it = l.split_whitespace();
            let key = it.next().unwrap().to_string();
            (key, it.map(|v| v.parse::<f64>().unwrap()).collect())
        })
        .collect()
}

typegrad::per_device! {
    /// Runs one fixture case through `layer` (built from the fixture's weight
    /// and bias by `make`) on an input of dims `xdims`, and compares the
    /// output and the gradients of the input, weight and bias.
    fn check_case<L, S: Shape, S2: Shape>(
        name: &str,
        xdims: &[usize],
        make: impl Fn(Vec<f64>, Vec<f64>) -> L,
    ) where
        L: Module<Tensor<S, f64, Dev, Tape<f64, Dev>>, Output = Tensor<S2, f64, Dev, Tape<f64, Dev>>>
            + Params<f64, Dev>,
    {
        let f = fixtures();
        let get = |k: &str| f[&format!("{name}.{k}")].clone();
        let dev = dev();
        let layer = make(get("weight"), get("bias"));
        let x: Tensor<S, f64, Dev> = Tensor::from_vec(S::try_from_dims(xdims).unwrap(), get("x"), &dev);
        let y = layer.forward(x.clone().trace());
        let ydims: Vec<usize> = get("ydims").iter().map(|&v| v as usize).collect();
        assert_eq!(&*y.dims(), &ydims[..], "{name}: output dims");
        assert_close!(y.to_vec(), get("y"), 1e-12, "{name}: y");
        let gy = Tensor::from_vec(y.shape(), get("gy"), &dev);
        let grads = y.backward_from(gy);
        assert_close!(
            grads.get(&x).unwrap().to_vec(),
            get("gx"),
            1e-12,
            "{name}: gx"
        );
        let mut pgrads = Vec::new();
        layer.visit_params(&mut Default::default(), &mut |path, p| {
            pgrads.push((path.name(), dev.download(grads.by_id(p.id).unwrap())))
        });
        assert_eq!(pgrads.len(), 2);
        assert_eq!(pgrads[0].0, "weight");
        assert_eq!(pgrads[1].0, "bias");
        assert_close!(pgrads[0].1, get("gweight"), 1e-12, "{name}: gweight");
        assert_close!(pgrads[1].1, get("gbias"), 1e-12, "{name}: gbias");
    }

    type U1 = u!(1);
    type U2 = u!(2);
    type U3 = u!(3);
    type U4 = u!(4);

    #[test]
    fn conv1d_matches_pytorch() {
        check_case::<_, (Dyn, U4, u!(9)), _>("conv1d", &[2, 4, 9], |w, b| {
            let dev = dev();
            Conv1d::<U4, u!(6), U3, U2, U1, U2, U2, f64, Dev>::from_tensors(
                Tensor::from_vec_static(w, &dev),
                Some(Tensor::from_vec_static(b, &dev)),
            )
        });
    }

    #[test]
    fn conv2d_matches_pytorch() {
        check_case::<_, (Dyn, U4, u!(9), u!(8)), _>("conv2d", &[2, 4, 9, 8], |w, b| {
            let dev = dev();
            Conv2d::<U4, u!(6), U3, U2, U1, U2, U2, f64, Dev>::from_tensors(
                Tensor::from_vec_static(w, &dev),
                Some(Tensor::from_vec_static(b, &dev)),
            )
        });
        check_case::<_, (Dyn, U3, u!(6), u!(5)), _>("conv2d_depthwise", &[2, 3, 6, 5], |w, b| {
            let dev = dev();
            Conv2d::<U3, U3, U3, U1, U1, U1, U3, f64, Dev>::from_tensors(
                Tensor::from_vec_static(w, &dev),
                Some(Tensor::from_vec_static(b, &dev)),
            )
        });
        check_case::<_, (Dyn, U1, u!(12), u!(12)), _>("conv2d_lenet", &[3, 1, 12, 12], |w, b| {
            let dev = dev();
            Conv2d::<U1, u!(6), u!(5), U1, u!(0), U1, U1, f64, Dev>::from_tensors(
                Tensor::from_vec_static(w, &dev),
                Some(Tensor::from_vec_static(b, &dev)),
            )
        });
    }

    #[test]
    fn conv_transpose_matches_pytorch() {
        check_case::<_, (Dyn, U4, u!(5), U4), _>("conv_transpose2d", &[2, 4, 5, 4], |w, b| {
            let dev = dev();
            ConvTranspose2d::<U4, u!(6), U3, U2, U1, U1, U2, U2, f64, Dev>::from_tensors(
                Tensor::from_vec_static(w, &dev),
                Some(Tensor::from_vec_static(b, &dev)),
            )
        });
        check_case::<_, (Dyn, U2, U3, U3), _>("conv_transpose2d_plain", &[1, 2, 3, 3], |w, b| {
            let dev = dev();
            ConvTranspose2d::<U2, U3, U2, U2, u!(0), u!(0), U1, U1, f64, Dev>::from_tensors(
                Tensor::from_vec_static(w, &dev),
                Some(Tensor::from_vec_static(b, &dev)),
            )
        });
        check_case::<_, (Dyn, U2, u!(5)), _>("conv_transpose1d", &[2, 2, 5], |w, b| {
            let dev = dev();
            ConvTranspose1d::<U2, U3, U4, U3, U1, U2, U1, U1, f64, Dev>::from_tensors(
                Tensor::from_vec_static(w, &dev),
                Some(Tensor::from_vec_static(b, &dev)),
            )
        });
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(10))]

        /// Input, weight and bias gradients of each layer kind against finite
        /// differences (f64), on random `Dyn` batch and spatial sizes.
        #[test]
        fn layers_gradcheck(b in 1usize..3, h in 5usize..8, w in 5usize..8, seed in any::<u64>()) {
            let dev = seeded(seed);
            let mut c2: Conv2d<U4, u!(6), U3, U2, U1, U2, U2, f64, Dev> = Conv2d::new(&dev);
            let x: Tensor<(Dyn, U4, Dyn, Dyn), f64, Dev> = Tensor::randn((Dyn(b), Default::default(), Dyn(h), Dyn(w)), 0.0, 1.0, &dev);
            gradcheck_module(&mut c2, &x)?;
            let mut dw: Conv2d<U4, U4, U3, U1, U1, U1, U4, f64, Dev> = Conv2d::no_bias(&dev);
            gradcheck_module(&mut dw, &x)?;
            let mut t2: ConvTranspose2d<U4, U2, U3, U2, U1, U1, U1, U2, f64, Dev> = ConvTranspose2d::new(&dev);
            gradcheck_module(&mut t2, &x)?;
            let x1: Tensor<(Dyn, U4, Dyn), f64, Dev> = Tensor::randn((Dyn(b), Default::default(), Dyn(h + w)), 0.0, 1.0, &dev);
            let mut c1: Conv1d<U4, U2, U3, U1, U2, U2, U1, f64, Dev> = Conv1d::new(&dev);
            gradcheck_module(&mut c1, &x1)?;
            let mut t1: ConvTranspose1d<U4, U3, U2, U3, U1, U2, U1, U1, f64, Dev> = ConvTranspose1d::new(&dev);
            gradcheck_module(&mut t1, &x1)?;
            // Unbatched input.
            let xu: Tensor<(U4, u!(6), u!(7)), f64, Dev> = Tensor::randn(Default::default(), 0.0, 1.0, &dev);
            gradcheck_module(&mut c2, &xu)?;
        }
    }

    /// PyTorch's default initialisation: weight and bias in `±1/√fan_in`
    /// with `fan_in = weight.size(1)·K·K`, the uniform's spread, names.
    #[test]
    fn default_init_and_names_are_pytorchs() {
        let dev = seeded(3);
        let c: Conv2d<u!(16), u!(32), U3, U1, U1, U1, U2, f64, Dev> = Conv2d::new(&dev);
        let bound = 1.0 / ((8 * 9) as f64).sqrt();
        let w = c.weight.to_vec();
        assert_eq!(&*c.weight.dims(), &[32, 8, 3, 3]);
        assert!(w.iter().all(|v| v.abs() <= bound));
        let var = w.iter().map(|v| v * v).sum::<f64>() / w.len() as f64;
        assert!(
            (var - bound * bound / 3.0).abs() < 0.1 * bound * bound / 3.0,
            "{var}"
        );
        assert!(c
            .bias
            .as_ref()
            .unwrap()
            .to_vec()
            .iter()
            .all(|v| v.abs() <= bound));
        let names: Vec<String> = c.param_names().into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["weight", "bias"]);
        assert_eq!(c.num_params(), 32 * 8 * 9 + 32);

        let t: ConvTranspose2d<u!(8), u!(4), U4, U2, u!(0), u!(0), U1, U1, f32, Dev> = ConvTranspose2d::new(&dev);
        let tb = 1.0 / ((4 * 16) as f32).sqrt();
        assert_eq!(&*t.weight.dims(), &[8, 4, 4, 4]);
        assert!(t.weight.to_vec().iter().all(|v| v.abs() <= tb));
        let n: Conv1d<U2, U3, u!(5), U1, u!(0), U1, U1, f32, Dev> = Conv1d::no_bias(&dev);
        assert_eq!(n.param_names().len(), 1);
        assert_eq!(n.num_params(), 30);
    }

    /// Batched (static or `Dyn` batch) and unbatched inputs agree, and the
    /// layers' `try_forward` names a `Dyn` channel mismatch.
    #[test]
    fn batched_unbatched_and_errors() {
        let dev = seeded(0);
        let c: Conv2d<U2, U3, U3, U2, U1, U1, U1, f32, Dev> = Conv2d::new(&dev);
        let x: Tensor<(U2, u!(7), u!(6)), f32, Dev> = Tensor::randn(Default::default(), 0.0, 1.0, &dev);
        let y: Tensor<(U3, U4, U3), f32, Dev> = c.forward(x.clone());
        let xb: Tensor<(Dyn, U2, Dyn, Dyn), f32, Dev> = Tensor::from_vec(
            (Dyn(1), Default::default(), Dyn(7), Dyn(6)),
            x.to_vec(),
            &dev,
        );
        let yb = c.forward(xb);
        assert_eq!(&*yb.dims(), &[1, 3, 4, 3]);
        assert_close!(yb.to_vec(), y.to_vec(), 1e-6);

        let bad: Tensor<(Dyn, Dyn, u!(7), u!(6)), f32, Dev> = Tensor::zeros(
            (Dyn(2), Dyn(5), Default::default(), Default::default()),
            &dev,
        );
        let e = c.try_forward(bad).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Conv2d: dimension mismatch on axis 1 (input channels vs weight in-channels × groups): got 5, expected 2"
        );
        let small: Tensor<(U2, Dyn, Dyn), f32, Dev> = Tensor::zeros((Default::default(), Dyn(9), Dyn(0)), &dev);
        let e = c.try_forward(small).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Conv2d: kernel larger than padded input on axis 2: input size 0 + 2 x padding 1 < effective kernel size 3"
        );
        let t: ConvTranspose1d<U2, U3, U3, U1, u!(0), u!(0), U1, U1, f32, Dev> = ConvTranspose1d::new(&dev);
        let e = t
            .try_forward(Tensor::<(Dyn, u!(4)), f32, Dev>::zeros(
                (Dyn(3), Default::default()),
                &dev,
            ))
            .unwrap_err();
        assert!(e.to_string().contains("got 3, expected 2"), "{e}");
    }

    /// Code generic over the channels, with the default groups, needs no
    /// bound beyond the dims' own: a struct, a constructor and a forward
    /// through a concrete instance.
    #[test]
    fn generic_block_over_channels() {
        use typegrad::shape::StaticDim;
        struct Block<C: Dim> {
            conv: Conv2d<C, C, U3, U1, U1, U1, U1, f32, Dev>,
            up: ConvTranspose2d<C, C, U2, U2, u!(0), u!(0), U1, U1, f32, Dev>,
        }
        impl<C: StaticDim> Block<C> {
            fn new(dev: &Dev) -> Self {
                Block {
                    conv: Conv2d::new(dev),
                    up: ConvTranspose2d::new(dev),
                }
            }
            fn params(&self) -> usize {
                self.conv.num_params() + self.up.num_params()
            }
        }
        let dev = dev();
        let b: Block<u!(8)> = Block::new(&dev);
        assert_eq!(b.params(), 8 * 8 * 9 + 8 + 8 * 8 * 4 + 8);
        let x: Tensor<(Dyn, u!(8), u!(5), u!(5)), f32, Dev> = Tensor::ones(
            (
                Dyn(2),
                Default::default(),
                Default::default(),
                Default::default(),
            ),
            &dev,
        );
        let y: Tensor<(Dyn, u!(8), u!(10), u!(10)), f32, Dev> = b.up.forward(b.conv.forward(x));
        assert_eq!(&*y.dims(), &[2, 8, 10, 10]);
    }

    /// A few SGD steps on a conv layer reduce a regression loss (the
    /// parameters train through their ids).
    #[test]
    fn conv_layer_trains() {
        use typegrad::optim::{Optimizer, Sgd, SgdConfig};
        let dev = seeded(1);
        let mut c: Conv2d<U1, U2, U3, U1, U1, U1, U1, f32, Dev> = Conv2d::new(&dev);
        let x: Tensor<(Dyn, U1, u!(6), u!(6)), f32, Dev> = Tensor::randn(
            (
                Dyn(4),
                Default::default(),
                Default::default(),
                Default::default(),
            ),
            0.0,
            1.0,
            &dev,
        );
        let target: Tensor<(Dyn, U2, u!(6), u!(6)), f32, Dev> = Tensor::zeros(
            (
                Dyn(4),
                Default::default(),
                Default::default(),
                Default::default(),
            ),
            &dev,
        );
        let mut opt = Sgd::new(SgdConfig {
            lr: 0.1,
            ..Default::default()
        })
        .unwrap();
        let loss0 = (c.forward(x.clone()) - target.clone())
            .square()
            .mean()
            .item();
        for _ in 0..20 {
            let loss = (c.forward(x.clone().trace_no_grad()) - target.clone())
                .square()
                .mean();
            let g = loss.backward();
            opt.step(&mut c, &g).unwrap();
        }
        let loss1 = (c.forward(x) - target).square().mean().item();
        assert!(loss1 < 0.5 * loss0, "{loss0} -> {loss1}");
    }

    /// Conv layers are fields of derived models: names, counts, and a
    /// `#[module(sequential)]` stack (conv layers are opaque to its feature
    /// chain check, and check their channels themselves).
    #[test]
    fn conv_layers_in_derived_models() {
        use typegrad::nn::ReLU;
        #[derive(Module)]
        #[module(sequential)]
        struct Stem {
            conv1: Conv2d<U1, u!(6), u!(5), U1, U2, U1, U1, f32, Dev>,
            act: ReLU,
            conv2: Conv2d<u!(6), u!(16), u!(5), U1, u!(0), U1, U1, f32, Dev>,
        }
        let dev = seeded(0);
        let m = Stem {
            conv1: Conv2d::new(&dev),
            act: ReLU,
            conv2: Conv2d::new(&dev),
        };
        let names: Vec<String> = m.param_names().into_iter().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            ["conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias"]
        );
        assert_eq!(m.num_params(), 156 + 2416);
        let x: Tensor<(Dyn, U1, u!(28), u!(28)), f32, Dev> = Tensor::ones(
            (
                Dyn(2),
                Default::default(),
                Default::default(),
                Default::default(),
            ),
            &dev,
        );
        let y: Tensor<(Dyn, u!(16), u!(24), u!(24)), f32, Dev> = m.forward(x);
        assert_eq!(&*y.dims(), &[2, 16, 24, 24]);
    }
}
