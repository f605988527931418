//! Normalisation layers: BatchNorm1d/2d and LayerNorm against naive loops
//! (f64) and PyTorch fixtures (`tests/fixtures/norm_torch.py`), gradient
//! checks in training and evaluation, random shapes, the batch-norm
//! invariant (mean 0, variance 1 per channel), the four mode cases,
//! run-time errors, and checkpoints in PyTorch's format both ways.

use proptest::prelude::*;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use typegrad::autograd::Mode;
use typegrad::io::safetensors::{self, SafeDtype, SafeTensors};
use typegrad::nn::{
    BatchNorm, BatchNorm1d, BatchNorm2d, BatchNormChecked, LayerNorm, LayerNormNd, Module,
    ModuleExt, ParamMut, ParamPath, ParamRef, Params,
};
use typegrad::optim::{Optimizer, Sgd, SgdConfig};
use typegrad::prelude::*;
use typegrad::shape::StaticDim;
use typegrad::testing::{assert_close, gradcheck_module, tensor_on, Traced};

type U1 = u!(1);
type U2 = u!(2);
type U3 = u!(3);
type U4 = u!(4);
type U5 = u!(5);
type U6 = u!(6);

fn vals(n: usize, k: f64, scale: f64, shift: f64) -> Vec<f64> {
    (0..n)
        .map(|i| ((i as f64 + 1.0) * k).sin() * scale + shift)
        .collect()
}

// ------------------------------------------------------------ references

/// Naive batch norm over `(batch, channels, inner)`: with `stats = None`
/// the batch's mean and biased variance (returned with the output), else
/// the given ones.
fn naive_bn(
    x: &[f64],
    dims: &[usize],
    w: &[f64],
    b: &[f64],
    eps: f64,
    stats: Option<(&[f64], &[f64])>,
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let (n, c) = (dims[0], dims[1]);
    let inner: usize = dims[2..].iter().product();
    let at = |i: usize, ch: usize, l: usize| (i * c + ch) * inner + l;
    let mut mean = vec![0.0; c];
    let mut var = vec![0.0; c];
    for ch in 0..c {
        if let Some((m, v)) = stats {
            mean[ch] = m[ch];
            var[ch] = v[ch];
            continue;
        }
        let mut s = 0.0;
        for i in 0..n {
            for l in 0..inner {
                s += x[at(i, ch, l)];
            }
        }
        let m = s / (n * inner) as f64;
        let mut q = 0.0;
        for i in 0..n {
            for l in 0..inner {
                q += (x[at(i, ch, l)] - m).powi(2);
            }
        }
        mean[ch] = m;
        var[ch] = q / (n * inner) as f64;
    }
    let mut y = vec![0.0; x.len()];
    for i in 0..n {
        for ch in 0..c {
            for l in 0..inner {
                let k = at(i, ch, l);
                y[k] = (x[k] - mean[ch]) / (var[ch] + eps).sqrt() * w[ch] + b[ch];
            }
        }
    }
    (y, mean, var)
}

/// Naive layer norm of rows of `cols` values.
fn naive_ln(x: &[f64], cols: usize, w: &[f64], b: &[f64], eps: f64) -> Vec<f64> {
    let mut y = vec![0.0; x.len()];
    for (xr, yr) in x.chunks(cols).zip(y.chunks_mut(cols)) {
        let m = xr.iter().sum::<f64>() / cols as f64;
        let v = xr.iter().map(|a| (a - m).powi(2)).sum::<f64>() / cols as f64;
        for j in 0..cols {
            yr[j] = (xr[j] - m) / (v + eps).sqrt() * w[j] + b[j];
        }
    }
    y
}

/// `case.key -> values` from `tests/fixtures/norm_torch.txt`.
fn fixtures() -> HashMap<String, Vec<f64>> {
    include_str!("fixtures/norm_torch.txt")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut it = l.split_whitespace();
            let key = it.next().unwrap().to_string();
            (key, it.map(|v| v.parse::<f64>().unwrap()).collect())
        })
        .collect()
}

fn fx<'a>(f: &'a HashMap<String, Vec<f64>>, case: &str, key: &str) -> &'a [f64] {
    f.get(&format!("{case}.{key}"))
        .unwrap_or_else(|| panic!("fixture {case}.{key} missing"))
}

typegrad::per_device! {
    // ------------------------------------------------------- naive formulas

    fn check_bn_naive<C: StaticDim, K, S>(bn: &BatchNorm<C, K, f64, Dev>, shape: S)
    where
        S: BatchNormChecked<C, K, Output = S>,
    {
        let x = Tensor::<S, f64, Dev>::from_vec(shape, vals(shape.numel(), 0.37, 2.0, 0.5), &dev());
        let dims = x.dims();
        let w = bn.weight.as_ref().unwrap().to_vec();
        let b = bn.bias.as_ref().unwrap().to_vec();
        // Training: batch statistics.
        let (want, _, _) = naive_bn(&x.to_vec(), &dims, &w, &b, 1e-5, None);
        assert_close!(bn.forward(x.clone().trace()).to_vec(), want, 1e-12);
        // Evaluation: the running statistics.
        let (rm, rv) = (bn.running_mean.to_vec(), bn.running_var.to_vec());
        let (want, _, _) = naive_bn(&x.to_vec(), &dims, &w, &b, 1e-5, Some((&rm, &rv)));
        assert_close!(bn.forward(x).to_vec(), want, 1e-12);
    }

    fn bn_with_values<C: StaticDim, K>(k: f64) -> BatchNorm<C, K, f64, Dev> {
        let mut bn = BatchNorm::<C, K, f64, Dev>::new(&dev());
        let c = C::default().size();
        bn.weight = Some(Tensor::from_vec(
            Default::default(),
            vals(c, k, 0.5, 1.0),
            &dev(),
        ));
        bn.bias = Some(Tensor::from_vec(
            Default::default(),
            vals(c, k + 0.3, 1.0, 0.0),
            &dev(),
        ));
        bn.running_mean = typegrad::nn::Buffer::new(Tensor::from_vec(
            Default::default(),
            vals(c, k + 0.7, 1.0, 0.0),
            &dev(),
        ));
        bn.running_var = typegrad::nn::Buffer::new(Tensor::from_vec(
            Default::default(),
            vals(c, k + 0.9, 0.5, 1.5),
            &dev(),
        ));
        bn
    }

    #[test]
    fn batch_norm_matches_the_formula_in_training_and_evaluation() {
        let bn1: BatchNorm1d<U3, f64, Dev> = bn_with_values(0.4);
        check_bn_naive(&bn1, (Dyn(5), U3::default()));
        check_bn_naive(&bn1, (Dyn(4), U3::default(), Dyn(7)));
        check_bn_naive(&bn1, (U2::default(), Dyn(3), U5::default()));
        let bn2: BatchNorm2d<U4, f64, Dev> = bn_with_values(0.9);
        check_bn_naive(&bn2, (Dyn(3), U4::default(), Dyn(5), Dyn(6)));
        check_bn_naive(&bn2, (Dyn(2), Dyn(4), U3::default(), U2::default()));
        // Large enough for the parallel CPU paths (channels on threads;
        // at least 2^18 elements, the CPU's parallel threshold).
        let bn3: BatchNorm2d<U4, f64, Dev> = bn_with_values(1.3);
        check_bn_naive(&bn3, (Dyn(64), U4::default(), Dyn(32), Dyn(32)));
        // f32 against the same formula.
        let bn: BatchNorm2d<U3, f32, Dev> = BatchNorm2d::new(&dev());
        let x: Tensor<(Dyn, U3, Dyn, Dyn), f32, Dev> = Tensor::from_vec(
            (Dyn(2), U3::default(), Dyn(3), Dyn(4)),
            vals(72, 0.61, 3.0, 1.0)
                .into_iter()
                .map(|v| v as f32)
                .collect(),
            &dev(),
        );
        let x64: Vec<f64> = x.to_vec().iter().map(|&v| v as f64).collect();
        let (want, _, _) = naive_bn(&x64, &x.dims(), &[1.0; 3], &[0.0; 3], 1e-5, None);
        let got: Vec<f64> = bn
            .forward(x.trace())
            .to_vec()
            .iter()
            .map(|&v| v as f64)
            .collect();
        assert_close!(got, want, 1e-5);
    }

    #[test]
    fn layer_norm_matches_the_formula() {
        let mut ln: LayerNorm<U6, f64, Dev> = LayerNorm::new(&dev());
        ln.weight = Some(Tensor::from_vec(
            Default::default(),
            vals(6, 0.3, 0.5, 1.0),
            &dev(),
        ));
        ln.bias = Some(Tensor::from_vec(
            Default::default(),
            vals(6, 0.8, 1.0, 0.0),
            &dev(),
        ));
        let x: Tensor<(Dyn, Dyn, U6), f64, Dev> = Tensor::from_vec(
            (Dyn(3), Dyn(4), U6::default()),
            vals(72, 0.41, 3.0, 2.0),
            &dev(),
        );
        let want = naive_ln(
            &x.to_vec(),
            6,
            &ln.weight.as_ref().unwrap().to_vec(),
            &ln.bias.as_ref().unwrap().to_vec(),
            1e-5,
        );
        assert_close!(ln.forward(x.clone()).to_vec(), want, 1e-12);
        // Training and evaluation are the same.
        assert_close!(
            ln.forward(x.clone().trace().with_mode(Mode::Train))
                .to_vec(),
            want,
            1e-12
        );
        // No affine: weight 1, bias 0.
        let plain: LayerNorm<U6, f64, Dev> = LayerNorm::no_affine(&dev());
        let want = naive_ln(&x.to_vec(), 6, &[1.0; 6], &[0.0; 6], 1e-5);
        assert_close!(plain.forward(x).to_vec(), want, 1e-12);
        // Large enough for the parallel CPU path (chunks of rows).
        let big: LayerNorm<U6, f64, Dev> = LayerNorm::new(&dev());
        let x: Tensor<(Dyn, U6), f64, Dev> = Tensor::from_vec(
            (Dyn(44000), U6::default()),
            vals(264000, 0.013, 3.0, 2.0),
            &dev(),
        );
        let want = naive_ln(&x.to_vec(), 6, &[1.0; 6], &[0.0; 6], 1e-5);
        assert_close!(big.forward(x).to_vec(), want, 1e-12);
    }

    // ------------------------------------------------------- PyTorch fixtures

    /// One BatchNorm fixture case: every training step's output and gradients
    /// (the statistics applied after each), the running statistics after the
    /// steps, and evaluation's output and gradients.
    fn bn_fixture<C: StaticDim, K, S>(case: &str, momentum: Option<f64>)
    where
        S: BatchNormChecked<C, K, Output = S>,
    {
        let f = fixtures();
        let mut bn = BatchNorm::<C, K, f64, Dev>::new(&dev()).with_momentum(momentum);
        bn.weight = Some(Tensor::from_vec(
            Default::default(),
            fx(&f, case, "weight").to_vec(),
            &dev(),
        ));
        bn.bias = Some(Tensor::from_vec(
            Default::default(),
            fx(&f, case, "bias").to_vec(),
            &dev(),
        ));
        let dims: Vec<usize> = fx(&f, case, "dims").iter().map(|&d| d as usize).collect();
        let shape = S::try_from_dims(&dims).unwrap();
        let t = |v: &[f64]| Tensor::<S, f64, Dev>::from_vec(shape, v.to_vec(), &dev());
        let steps = fx(&f, case, "steps")[0] as usize;
        let check = |bn: &BatchNorm<C, K, f64, Dev>, prefix: &str, mode: Mode| {
            let x = t(fx(&f, case, &format!("{prefix}.x")));
            let r = t(fx(&f, case, &format!("{prefix}.r")));
            let y = bn.forward(x.clone().trace().with_mode(mode));
            assert_close!(
                y.to_vec(),
                fx(&f, case, &format!("{prefix}.y")),
                1e-10,
                "{case} {prefix} y"
            );
            let grads = y.backward_from(r);
            let g = |name: &str| fx(&f, case, &format!("{prefix}.{name}")).to_vec();
            assert_close!(
                grads.get(&x).unwrap().to_vec(),
                g("gx"),
                1e-9,
                "{case} {prefix} gx"
            );
            let gw = grads.get(bn.weight.as_ref().unwrap()).unwrap().to_vec();
            let gb = grads.get(bn.bias.as_ref().unwrap()).unwrap().to_vec();
            assert_close!(gw, g("gw"), 1e-9, "{case} {prefix} gw");
            assert_close!(gb, g("gb"), 1e-9, "{case} {prefix} gb");
            grads
        };
        for s in 0..steps {
            let grads = check(&bn, &format!("step{s}"), Mode::Train);
            assert_eq!(bn.apply_stat_updates(&grads), 3);
        }
        assert_close!(
            bn.running_mean.to_vec(),
            fx(&f, case, "running_mean"),
            1e-12,
            "{case} running_mean"
        );
        assert_close!(
            bn.running_var.to_vec(),
            fx(&f, case, "running_var"),
            1e-12,
            "{case} running_var"
        );
        assert_eq!(
            bn.num_batches_tracked.item(),
            fx(&f, case, "num_batches_tracked")[0]
        );
        let grads = check(&bn, "eval", Mode::Eval);
        assert_eq!(grads.num_stat_updates(), 0);
    }

    #[test]
    fn batch_norm_1d_matches_pytorch() {
        bn_fixture::<U3, _, (Dyn, U3)>("bn1d_flat", Some(0.1));
        bn_fixture::<U3, _, (Dyn, U3, U5)>("bn1d_seq", None);
    }

    #[test]
    fn batch_norm_2d_matches_pytorch() {
        bn_fixture::<U2, _, (Dyn, U2, U4, U5)>("bn2d", Some(0.1));
        bn_fixture::<U2, _, (Dyn, U2, Dyn, Dyn)>("bn2d_cma", None);
    }

    fn ln_fixture<N: typegrad::shape::ConstShape, S: Shape>(case: &str)
    where
        LayerNormNd<N, f64, Dev>: Module<Traced<S, f64, Dev>, Output = Traced<S, f64, Dev>>,
    {
        let f = fixtures();
        let mut ln: LayerNormNd<N, f64, Dev> = LayerNormNd::new(&dev());
        ln.weight = Some(Tensor::from_vec(
            N::default(),
            fx(&f, case, "weight").to_vec(),
            &dev(),
        ));
        ln.bias = Some(Tensor::from_vec(
            N::default(),
            fx(&f, case, "bias").to_vec(),
            &dev(),
        ));
        let dims: Vec<usize> = fx(&f, case, "dims").iter().map(|&d| d as usize).collect();
        let shape = S::try_from_dims(&dims).unwrap();
        let x = Tensor::<S, f64, Dev>::from_vec(shape, fx(&f, case, "x").to_vec(), &dev());
        let r = Tensor::<S, f64, Dev>::from_vec(shape, fx(&f, case, "r").to_vec(), &dev());
        let y = ln.forward(x.clone().trace());
        assert_close!(y.to_vec(), fx(&f, case, "y"), 1e-10, "{case} y");
        let grads = y.backward_from(r);
        assert_close!(
            grads.get(&x).unwrap().to_vec(),
            fx(&f, case, "gx"),
            1e-9,
            "{case} gx"
        );
        let gw = grads.get(ln.weight.as_ref().unwrap()).unwrap().to_vec();
        assert_close!(gw, fx(&f, case, "gw"), 1e-9, "{case} gw");
        let gb = grads.get(ln.bias.as_ref().unwrap()).unwrap().to_vec();
        assert_close!(gb, fx(&f, case, "gb"), 1e-9, "{case} gb");
    }

    #[test]
    fn layer_norm_matches_pytorch() {
        ln_fixture::<(U6,), (Dyn, U3, U6)>("ln_last");
        ln_fixture::<(U3, U4, U4), (Dyn, U3, U4, U4)>("ln_chw");
    }

    /// LayerNorm written from primitives (`mean_axis`, `var_axis`,
    /// broadcasting ops) for `rows` rows of `C` features: the fused layer
    /// gives the same values and gradients (input, weight, bias).
    macro_rules! ln_vs_primitives {
        ($C:ty, $rows:expr) => {{
            let c = <$C>::default().size();
            let n: usize = $rows;
            let mut ln: LayerNorm<$C, f64, Dev> = LayerNorm::new(&dev());
            ln.weight = Some(Tensor::from_vec(
                Default::default(),
                vals(c, 0.3, 0.5, 1.0),
                &dev(),
            ));
            ln.bias = Some(Tensor::from_vec(
                Default::default(),
                vals(c, 0.8, 1.0, 0.0),
                &dev(),
            ));
            let x: Tensor<(Dyn, $C), f64, Dev> = Tensor::from_vec(
                (Dyn(n), Default::default()),
                vals(n * c, 0.53, 2.0, 1.0),
                &dev(),
            );
            let r: Tensor<(Dyn, $C), f64, Dev> = Tensor::from_vec(
                (Dyn(n), Default::default()),
                vals(n * c, 0.71, 1.0, 0.0),
                &dev(),
            );
            let composed = |x: Traced<(Dyn, $C), f64, Dev>| {
                let col = (Dyn(n), U1::default());
                let mean = x.clone().mean_axis::<1>().reshape_to(col);
                let var = x.clone().var_axis::<1>().reshape_to(col);
                let xhat = (x - mean) / (var + 1e-5).sqrt();
                xhat * ln.weight.clone().unwrap() + ln.bias.clone().unwrap()
            };
            let yc = composed(x.clone().trace());
            let yf = ln.forward(x.clone().trace());
            assert_close!(yf.to_vec(), yc.to_vec(), 1e-12);
            let gc = (yc * r.clone()).sum().backward();
            let gf = (yf * r).sum().backward();
            let w = ln.weight.as_ref().unwrap();
            let b = ln.bias.as_ref().unwrap();
            assert_close!(
                gf.get(&x).unwrap().to_vec(),
                gc.get(&x).unwrap().to_vec(),
                1e-11
            );
            assert_close!(
                gf.get(w).unwrap().to_vec(),
                gc.get(w).unwrap().to_vec(),
                1e-9
            );
            assert_close!(
                gf.get(b).unwrap().to_vec(),
                gc.get(b).unwrap().to_vec(),
                1e-9
            );
        }};
    }

    #[test]
    fn layer_norm_equals_its_composition_from_primitives() {
        ln_vs_primitives!(U5, 4);
        // Parallel CPU paths (chunks of rows, weight gradients summed per chunk).
        ln_vs_primitives!(u!(64), 4100);
    }

    // ------------------------------------------------------- gradient checks

    /// A layer evaluated in [`Mode::Eval`] even on a traced input (for the
    /// gradient check of evaluation).
    struct Eval<M>(M);

    impl<M: Module<Traced<S, f64, Dev>, Output = Traced<S2, f64, Dev>>, S: Shape, S2: Shape> Module<Traced<S, f64, Dev>> for Eval<M> {
        type Output = Traced<S2, f64, Dev>;
        fn forward(&self, x: Traced<S, f64, Dev>) -> Traced<S2, f64, Dev> {
            self.0.forward(x.with_mode(Mode::Eval))
        }
    }

    impl<M: Params<f64, Dev>> Params<f64, Dev> for Eval<M> {
        fn visit_params(
            &self,
            p: &mut ParamPath,
            f: &mut dyn FnMut(&ParamPath, ParamRef<'_, f64, Dev>),
        ) {
            self.0.visit_params(p, f)
        }
        fn visit_params_mut(
            &mut self,
            p: &mut ParamPath,
            f: &mut dyn FnMut(&ParamPath, ParamMut<'_, f64, Dev>),
        ) {
            self.0.visit_params_mut(p, f)
        }
    }

    #[test]
    fn batch_norm_gradients_equal_finite_differences_in_training_and_evaluation() {
        let x: Tensor<(Dyn, U3), f64, Dev> =
            Tensor::from_vec((Dyn(5), U3::default()), vals(15, 0.77, 1.5, 0.3), &dev());
        let mut bn: BatchNorm1d<U3, f64, Dev> = bn_with_values(0.2);
        gradcheck_module(&mut bn, &x).unwrap();
        gradcheck_module(&mut Eval(bn), &x).unwrap();
        let x: Tensor<(Dyn, U3, Dyn), f64, Dev> = Tensor::from_vec(
            (Dyn(2), U3::default(), Dyn(4)),
            vals(24, 0.29, 1.5, 0.3),
            &dev(),
        );
        let mut bn: BatchNorm1d<U3, f64, Dev> = bn_with_values(0.6);
        gradcheck_module(&mut bn, &x).unwrap();
        let x: Tensor<(Dyn, U2, Dyn, Dyn), f64, Dev> = Tensor::from_vec(
            (Dyn(2), U2::default(), Dyn(3), Dyn(2)),
            vals(24, 0.43, 2.0, -0.5),
            &dev(),
        );
        let mut bn: BatchNorm2d<U2, f64, Dev> = bn_with_values(0.5);
        gradcheck_module(&mut bn, &x).unwrap();
        gradcheck_module(&mut Eval(bn), &x).unwrap();
        let mut plain: BatchNorm2d<U2, f64, Dev> = BatchNorm2d::no_affine(&dev());
        gradcheck_module(&mut plain, &x).unwrap();
    }

    #[test]
    fn layer_norm_gradients_equal_finite_differences() {
        let mut ln: LayerNorm<U4, f64, Dev> = LayerNorm::new(&dev());
        ln.weight = Some(Tensor::from_vec(
            Default::default(),
            vals(4, 0.3, 0.5, 1.0),
            &dev(),
        ));
        ln.bias = Some(Tensor::from_vec(
            Default::default(),
            vals(4, 0.9, 1.0, 0.0),
            &dev(),
        ));
        let x: Tensor<(Dyn, U3, U4), f64, Dev> = Tensor::from_vec(
            (Dyn(2), U3::default(), U4::default()),
            vals(24, 0.61, 2.0, 0.5),
            &dev(),
        );
        gradcheck_module(&mut ln, &x).unwrap();
        gradcheck_module(&mut Eval(ln), &x).unwrap();
        let mut ln2: LayerNormNd<(U2, U3), f64, Dev> = LayerNormNd::new(&dev());
        ln2.weight = Some(Tensor::from_vec(
            Default::default(),
            vals(6, 0.4, 0.5, 1.0),
            &dev(),
        ));
        let x: Tensor<(Dyn, U2, U3), f64, Dev> = Tensor::from_vec(
            (Dyn(3), U2::default(), U3::default()),
            vals(18, 0.83, 2.0, 0.5),
            &dev(),
        );
        gradcheck_module(&mut ln2, &x).unwrap();
        let mut nob: LayerNorm<U3, f64, Dev> = LayerNorm::no_bias(&dev());
        gradcheck_module(&mut nob, &x).unwrap();
    }

    // ------------------------------------------------------- random shapes

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// Random batch and spatial sizes and values: batch norm 2d equals the
        /// formula in both modes, its gradients equal finite differences, and
        /// in training each channel of `(y - b) / w` has mean 0 and (biased)
        /// variance 1 up to eps.
        #[test]
        fn batch_norm_random_shapes(
            x in tensor_on::<(Dyn, U3, Dyn, Dyn), f64, Dev>(dev(), 1..5, -3.0..3.0),
            k in 0.1f64..2.0,
        ) {
            let dims = x.dims();
            prop_assume!(dims[0] * dims[2] * dims[3] > 1);
            let mut bn: BatchNorm2d<U3, f64, Dev> = bn_with_values(k);
            check_bn_naive(&bn, x.shape());
            gradcheck_module(&mut bn, &x).unwrap();
            gradcheck_module(&mut Eval(bn.clone()), &x).unwrap();
        }

        /// Random leading sizes and values: layer norm equals the formula and
        /// its gradients equal finite differences.
        #[test]
        fn layer_norm_random_shapes(
            x in tensor_on::<(Dyn, Dyn, U5), f64, Dev>(dev(), 1..5, -3.0..3.0),
            k in 0.1f64..2.0,
        ) {
            let mut ln: LayerNorm<U5, f64, Dev> = LayerNorm::new(&dev());
            ln.weight = Some(Tensor::from_vec(Default::default(), vals(5, k, 0.5, 1.0), &dev()));
            ln.bias = Some(Tensor::from_vec(Default::default(), vals(5, k + 0.5, 1.0, 0.0), &dev()));
            let want = naive_ln(&x.to_vec(), 5, &ln.weight.as_ref().unwrap().to_vec(), &ln.bias.as_ref().unwrap().to_vec(), 1e-5);
            prop_assert!(typegrad::testing::check_close(&ln.forward(x.clone()).to_vec(), &want, 1e-10, 1e-10).is_ok());
            gradcheck_module(&mut ln, &x).unwrap();
        }

        /// Batch norm's training output has per-channel mean 0 and biased
        /// variance 1 (weight 1, bias 0), whatever the input's scale.
        #[test]
        fn batch_norm_training_output_is_standardised(
            x in tensor_on::<(Dyn, U4, Dyn), f64, Dev>(dev(), 2..7, -50.0..50.0),
        ) {
            let bn: BatchNorm1d<U4, f64, Dev> = BatchNorm1d::new(&dev()).with_eps(0.0);
            let dims = x.dims();
            let xs = x.to_vec();
            // A constant channel has no variance to normalise by.
            let spread = (0..4).all(|c| {
                let v: Vec<f64> = (0..dims[0]).flat_map(|n| (0..dims[2]).map(move |l| (n, l))).map(|(n, l)| xs[(n * 4 + c) * dims[2] + l]).collect();
                v.iter().cloned().fold(f64::MIN, f64::max) - v.iter().cloned().fold(f64::MAX, f64::min) > 1e-3
            });
            prop_assume!(spread);
            let y = bn.forward(x.trace()).to_vec();
            let (_, mean, var) = naive_bn(&y, &dims, &[1.0; 4], &[0.0; 4], 0.0, None);
            for c in 0..4 {
                prop_assert!(mean[c].abs() < 1e-9, "channel {} mean {}", c, mean[c]);
                prop_assert!((var[c] - 1.0).abs() < 1e-9, "channel {} var {}", c, var[c]);
            }
        }
    }

    // ------------------------------------------------------- modes

    fn sgd() -> Sgd<f64, Dev> {
        Sgd::new(SgdConfig {
            lr: 0.1,
            ..Default::default()
        })
        .unwrap()
    }

    fn batch(n: usize, k: f64) -> Tensor<(Dyn, U3, U2, U2), f64, Dev> {
        Tensor::from_vec(
            (Dyn(n), U3::default(), U2::default(), U2::default()),
            vals(n * 12, k, 2.0, 1.5),
            &dev(),
        )
    }

    /// Mode case 1: training updates the running statistics through the
    /// optimizer's step (momentum 0.1, unbiased variance), and trains the
    /// affine parameters.
    #[test]
    fn training_updates_running_statistics_through_the_step() {
        let mut bn: BatchNorm2d<U3, f64, Dev> = BatchNorm2d::new(&dev());
        let x = batch(4, 0.7);
        let y = bn.forward(x.clone().trace());
        assert_eq!(y.mode(), Mode::Train);
        let grads = y.square().mean().backward();
        assert_eq!(grads.num_stat_updates(), 3);
        assert_eq!(bn.running_mean.to_vec(), vec![0.0; 3]); // nothing yet
        let w_before = bn.weight.as_ref().unwrap().to_vec();
        sgd().step(&mut bn, &grads).unwrap();
        let (_, mean, var) = naive_bn(&x.to_vec(), &x.dims(), &[1.0; 3], &[0.0; 3], 1e-5, None);
        let m = 16.0;
        let want_mean: Vec<f64> = mean.iter().map(|v| 0.1 * v).collect();
        let want_var: Vec<f64> = var.iter().map(|v| 0.9 + 0.1 * v * m / (m - 1.0)).collect();
        assert_close!(bn.running_mean.to_vec(), want_mean, 1e-12);
        assert_close!(bn.running_var.to_vec(), want_var, 1e-12);
        assert_eq!(bn.num_batches_tracked.item(), 1.0);
        assert_ne!(bn.weight.as_ref().unwrap().to_vec(), w_before);
    }

    /// Cumulative average (`momentum: None`): two batches recorded in one
    /// graph and applied by one step weigh exactly as two separate steps
    /// (PyTorch's `1 / num_batches_tracked`, read at application).
    #[test]
    fn cumulative_average_counts_batches_in_recording_order() {
        let one: BatchNorm2d<U3, f64, Dev> = BatchNorm2d::new(&dev()).with_momentum(None);
        let (a, b) = (batch(3, 0.3), batch(5, 1.1));
        let mut sep = one.clone();
        for x in [&a, &b] {
            let g = sep.forward(x.clone().trace()).sum().backward();
            sep.apply_stat_updates(&g);
        }
        let mut joint = one.clone();
        let g = (joint.forward(a.clone().trace()).sum() + joint.forward(b.clone().trace()).sum())
            .backward();
        assert_eq!(joint.apply_stat_updates(&g), 6);
        assert_close!(
            joint.running_mean.to_vec(),
            sep.running_mean.to_vec(),
            1e-12
        );
        assert_close!(joint.running_var.to_vec(), sep.running_var.to_vec(), 1e-12);
        // The cumulative average of two batches is their plain average.
        let (_, ma, _) = naive_bn(&a.to_vec(), &a.dims(), &[1.0; 3], &[0.0; 3], 0.0, None);
        let (_, mb, _) = naive_bn(&b.to_vec(), &b.dims(), &[1.0; 3], &[0.0; 3], 0.0, None);
        let want: Vec<f64> = ma.iter().zip(&mb).map(|(x, y)| (x + y) / 2.0).collect();
        assert_close!(joint.running_mean.to_vec(), want, 1e-12);
        assert_eq!(joint.num_batches_tracked.item(), 2.0);
    }

    /// Mode case 2: `TrainKeepStats` normalises with the batch's statistics
    /// (the same output as training) and records no update.
    #[test]
    fn train_keep_stats_uses_batch_statistics_without_updating() {
        let mut bn: BatchNorm2d<U3, f64, Dev> = bn_with_values(0.5);
        let x = batch(4, 0.9);
        let kept = bn.forward(x.clone().trace().with_mode(Mode::TrainKeepStats));
        let trained = bn.forward(x.clone().trace());
        assert_eq!(kept.to_vec(), trained.to_vec());
        let before = (bn.running_mean.to_vec(), bn.running_var.to_vec());
        let grads = kept.square().mean().backward();
        assert_eq!(grads.num_stat_updates(), 0);
        sgd().step(&mut bn, &grads).unwrap();
        assert_eq!((bn.running_mean.to_vec(), bn.running_var.to_vec()), before);
        assert_eq!(bn.num_batches_tracked.item(), 0.0);
    }

    /// Mode case 3: evaluation uses the running statistics and still gives
    /// the input's gradient (`gy · w / √(running_var + eps)`).
    #[test]
    fn evaluation_uses_running_statistics_and_gives_input_gradients() {
        let bn: BatchNorm2d<U3, f64, Dev> = bn_with_values(0.8);
        let x = batch(2, 0.4);
        let y = bn.forward(x.clone().trace().with_mode(Mode::Eval));
        let (w, rm, rv) = (
            bn.weight.as_ref().unwrap().to_vec(),
            bn.running_mean.to_vec(),
            bn.running_var.to_vec(),
        );
        let (want, _, _) = naive_bn(
            &x.to_vec(),
            &x.dims(),
            &w,
            &bn.bias.as_ref().unwrap().to_vec(),
            1e-5,
            Some((&rm, &rv)),
        );
        assert_close!(y.to_vec(), want, 1e-12);
        let grads = y.sum().backward();
        let gx: Vec<f64> = (0..24)
            .map(|i| w[(i / 4) % 3] / (rv[(i / 4) % 3] + 1e-5).sqrt())
            .collect();
        assert_close!(grads.get(&x).unwrap().to_vec(), gx, 1e-12);
        assert_eq!(grads.num_stat_updates(), 0);
    }

    /// Mode case 4: an untracked forward is evaluation (no flag to forget),
    /// and gives what an explicit `Mode::Eval` gives.
    #[test]
    fn an_untracked_forward_is_evaluation() {
        let bn: BatchNorm1d<U3, f64, Dev> = bn_with_values(0.3);
        let x: Tensor<(Dyn, U3), f64, Dev> =
            Tensor::from_vec((Dyn(4), U3::default()), vals(12, 0.9, 2.0, 1.0), &dev());
        let untracked = bn.forward(x.clone());
        let explicit = bn.forward(x.clone().trace().with_mode(Mode::Eval));
        assert_eq!(untracked.to_vec(), explicit.to_vec());
        assert_ne!(untracked.to_vec(), bn.forward(x.clone().trace()).to_vec());
        // A single sample is fine in evaluation.
        let one: Tensor<(Dyn, U3), f64, Dev> =
            Tensor::from_vec((Dyn(1), U3::default()), vec![1.0, 2.0, 3.0], &dev());
        assert_eq!(bn.forward(one).to_vec().len(), 3);
    }

    // ------------------------------------------------------- run-time errors

    #[test]
    fn a_dyn_channel_count_that_does_not_match_is_an_error() {
        let bn: BatchNorm2d<U3, f32, Dev> = BatchNorm2d::new(&dev());
        let x: Tensor<(Dyn, Dyn, Dyn, Dyn), f32, Dev> = Tensor::zeros((Dyn(2), Dyn(4), Dyn(3), Dyn(3)), &dev());
        assert_eq!(
            bn.try_forward(x.clone()).unwrap_err().to_string(),
            "batch_norm: dimension mismatch on axis 1 (input channels vs num_features): got 4, expected 3"
        );
        let r = std::panic::catch_unwind(|| bn.forward(x));
        assert!(r.is_err());
        let ln: LayerNormNd<(U3, U2), f32, Dev> = LayerNormNd::new(&dev());
        let x: Tensor<(Dyn, Dyn, Dyn), f32, Dev> = Tensor::zeros((Dyn(2), Dyn(3), Dyn(5)), &dev());
        assert_eq!(
            ln.try_forward(x).unwrap_err().to_string(),
            "layer_norm: dimension mismatch on axis 2 (input vs normalized_shape): got 5, expected 2"
        );
    }

    #[test]
    fn training_on_one_value_per_channel_is_an_error_not_nan() {
        let bn: BatchNorm1d<U3, f32, Dev> = BatchNorm1d::new(&dev());
        let x: Tensor<(Dyn, U3), f32, Dev> = Tensor::ones((Dyn(1), U3::default()), &dev());
        let e = bn.try_forward(x.clone().trace()).unwrap_err();
        assert!(
            e.to_string()
                .contains("expected more than 1 value per channel when training"),
            "{e}"
        );
        assert!(bn
            .try_forward(x.clone().trace().with_mode(Mode::TrainKeepStats))
            .is_err());
        let r = std::panic::catch_unwind(|| bn.forward(x.clone().trace()).to_vec());
        assert!(r.is_err());
        // (1, C, L) with L > 1 has several values per channel: fine.
        let seq: Tensor<(Dyn, U3, U2), f32, Dev> = Tensor::from_vec(
            (Dyn(1), U3::default(), U2::default()),
            vec![1.0, 2.0, 3.0, 5.0, 0.0, 1.0],
            &dev(),
        );
        assert!(bn
            .forward(seq.trace())
            .to_vec()
            .iter()
            .all(|v| v.is_finite()));
    }

    // ------------------------------------------------------- checkpoints

    fn fixture_path(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name)
    }

    /// PyTorch's BatchNorm2d state_dict (with its int64 `num_batches_tracked`
    /// scalar) loads, and the layer then gives PyTorch's evaluation output.
    #[test]
    fn a_pytorch_batch_norm_checkpoint_loads() {
        let f = fixtures();
        let mut bn: BatchNorm2d<U3, f32, Dev> = BatchNorm2d::new(&dev());
        safetensors::load(&mut bn, fixture_path("torch_bn2d.safetensors")).unwrap();
        let f32s = |v: Vec<f32>| v.into_iter().map(f64::from).collect::<Vec<f64>>();
        assert_close!(
            f32s(bn.running_mean.to_vec()),
            fx(&f, "bn2d_ckpt", "running_mean"),
            0.0
        );
        assert_close!(
            f32s(bn.running_var.to_vec()),
            fx(&f, "bn2d_ckpt", "running_var"),
            0.0
        );
        assert_close!(
            f32s(bn.weight.as_ref().unwrap().to_vec()),
            fx(&f, "bn2d_ckpt", "weight"),
            0.0
        );
        assert_eq!(bn.num_batches_tracked.item(), 2.0);
        let x: Tensor<(Dyn, U3, U5, U5), f32, Dev> = Tensor::from_vec(
            (Dyn(2), U3::default(), U5::default(), U5::default()),
            fx(&f, "bn2d_ckpt", "x").iter().map(|&v| v as f32).collect(),
            &dev(),
        );
        assert_close!(f32s(bn.forward(x).to_vec()), fx(&f, "bn2d_ckpt", "y"), 1e-5);
    }

    /// BatchNorm's tensors as plain parameters (the counter saved as F32).
    #[derive(typegrad::nn::Module)]
    struct PlainBn {
        weight: Tensor<(U3,), f32, Dev>,
        bias: Tensor<(U3,), f32, Dev>,
        running_mean: Tensor<(U3,), f32, Dev>,
        running_var: Tensor<(U3,), f32, Dev>,
        num_batches_tracked: Tensor<(), f32, Dev>,
    }

    /// A typegrad-written BatchNorm checkpoint has PyTorch's names, dtypes and
    /// shapes (`num_batches_tracked`: I64, shape `()`), loads back, and (when
    /// the PyTorch venv exists) loads into `nn.BatchNorm2d` with `strict=True`.
    #[test]
    fn a_typegrad_batch_norm_checkpoint_is_pytorch_format() {
        let mut bn: BatchNorm2d<U3, f32, Dev> = BatchNorm2d::new(&dev());
        for k in [0.3, 0.9, 1.7] {
            let x: Tensor<(Dyn, U3, U2, U2), f32, Dev> = Tensor::from_vec(
                (Dyn(2), U3::default(), U2::default(), U2::default()),
                vals(24, k, 2.0, 1.0)
                    .into_iter()
                    .map(|v| v as f32)
                    .collect(),
                &dev(),
            );
            let g = bn.forward(x.trace()).sum().backward();
            bn.apply_stat_updates(&g);
        }
        let bytes = safetensors::to_bytes(&bn).unwrap();
        let file = SafeTensors::parse(&bytes).unwrap();
        let nbt = file.get("num_batches_tracked").unwrap();
        assert_eq!((nbt.dtype(), nbt.shape()), (SafeDtype::I64, &[][..]));
        assert_eq!(nbt.data(), &3i64.to_le_bytes());
        for name in ["weight", "bias", "running_mean", "running_var"] {
            let t = file.get(name).unwrap();
            assert_eq!((t.dtype(), t.shape()), (SafeDtype::F32, &[3][..]), "{name}");
        }
        assert_eq!(file.tensors().len(), 5);
        // Round trip.
        let mut back: BatchNorm2d<U3, f32, Dev> = BatchNorm2d::new(&dev());
        safetensors::load_from_bytes(&mut back, &bytes).unwrap();
        assert_eq!(back.running_var.to_vec(), bn.running_var.to_vec());
        assert_eq!(back.num_batches_tracked.item(), 3.0);
        // A counter stored as F32 is refused, naming the tensor.
        let plain = PlainBn {
            weight: Tensor::ones(Default::default(), &dev()),
            bias: Tensor::zeros(Default::default(), &dev()),
            running_mean: Tensor::zeros(Default::default(), &dev()),
            running_var: Tensor::ones(Default::default(), &dev()),
            num_batches_tracked: Tensor::zeros((), &dev()),
        };
        let wrong = safetensors::to_bytes(&plain).unwrap();
        let e = safetensors::load_from_bytes(&mut back, &wrong).unwrap_err();
        assert_eq!(
            e.to_string(),
            "safetensors: tensor `num_batches_tracked` has dtype F32 in the file, the model needs I64"
        );

        let python = std::env::var("HOME")
            .map(|h| PathBuf::from(h).join(".cache/peers-venv/bin/python"))
            .ok()
            .filter(|p| p.exists());
        let Some(python) = python else {
            eprintln!(
                "skipped: no PyTorch venv at ~/.cache/peers-venv (the Rust-side format checks ran)"
            );
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bn.safetensors");
        safetensors::save(&bn, &path).unwrap();
        let script = r#"
import sys, torch
from safetensors.torch import load_file
sd = load_file(sys.argv[1])
assert sd["num_batches_tracked"].dtype == torch.int64 and sd["num_batches_tracked"].shape == ()
bn = torch.nn.BatchNorm2d(3)
bn.load_state_dict(sd, strict=True)
print(" ".join(repr(float(v)) for v in bn.running_var.tolist()), int(bn.num_batches_tracked))
"#;
        let out = std::process::Command::new(python)
            .arg("-c")
            .arg(script)
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        let v: Vec<f64> = text
            .split_whitespace()
            .map(|s| s.parse().unwrap())
            .collect();
        let rv: Vec<f64> = bn.running_var.to_vec().into_iter().map(f64::from).collect();
        assert_close!(v[..3].to_vec(), rv, 0.0);
        assert_eq!(v[3], 3.0);
    }
}
