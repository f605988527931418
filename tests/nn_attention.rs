//! `MultiheadAttention`: PyTorch's `nn.MultiheadAttention` outputs and
//! gradients (self, causal, packed cross, cross with kdim/vdim) from
//! checkpoints loaded by name, finite-difference gradients of every
//! parameter in f64, dropout modes, shapes and errors.

use std::collections::HashMap;
use std::path::PathBuf;
use typegrad::autograd::Mode;
use typegrad::io::safetensors::{self, SafeTensors};
use typegrad::nn::{Module, MultiheadAttention};
use typegrad::ops::attention::AttentionOptions;
use typegrad::prelude::*;
use typegrad::shape::StaticDim;
use typegrad::testing::{assert_close, gradcheck_module};

fn fixture(name: &str) -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

type Fx = HashMap<String, (Vec<usize>, Vec<f32>)>;

fn torch() -> Fx {
    let bytes = std::fs::read(fixture("attention_torch.safetensors")).unwrap();
    let file = SafeTensors::parse(&bytes).unwrap();
    file.tensors()
        .iter()
        .map(|t| {
            (
                t.name().to_string(),
                (t.shape().to_vec(), t.to_vec::<f32>().unwrap()),
            )
        })
        .collect()
}

typegrad::per_device! {
    type X<F> = Tensor<(Dyn, Dyn, F), f32, Dev>;

    fn x3<F: Dim + Default>(t: &(Vec<usize>, Vec<f32>)) -> X<F> {
        Tensor::from_vec(
            (Dyn(t.0[0]), Dyn(t.0[1]), F::default()),
            t.1.clone(),
            &dev(),
        )
    }

    fn close(got: Vec<f32>, want: &[f32], what: &str) {
        assert_close!(got, want.to_vec(), atol = 1e-5, rtol = 1e-5, "{what}");
    }

    type SelfMha = MultiheadAttention<u!(16), u!(4), u!(16), u!(16), f32, Dev>;

    fn self_mha() -> SelfMha {
        let mut m = SelfMha::new(&dev());
        safetensors::load(&mut m, fixture("attention_torch_mha_self.safetensors")).unwrap();
        m
    }

    /// Every parameter's gradient against PyTorch's, by PyTorch name.
    fn check_param_grads<M: StaticDim, H: StaticDim, Mk: StaticDim, Mv: StaticDim>(
        m: &MultiheadAttention<M, H, Mk, Mv, f32, Dev>,
        g: &Gradients<f32, Dev>,
        fx: &Fx,
        case: &str,
    ) {
        let mut grads: Vec<(&str, Option<Vec<f32>>)> = vec![
            (
                "out_proj.weight",
                g.get(&m.out_proj.weight).map(|t| t.to_vec()),
            ),
            (
                "out_proj.bias",
                g.get(m.out_proj.bias.as_ref().unwrap()).map(|t| t.to_vec()),
            ),
            (
                "in_proj_bias",
                g.get(m.in_proj_bias().unwrap()).map(|t| t.to_vec()),
            ),
        ];
        match m.in_proj_weight() {
            Some(w) => grads.push(("in_proj_weight", g.get(w).map(|t| t.to_vec()))),
            None => {
                grads.push((
                    "q_proj_weight",
                    g.get(m.q_proj_weight().unwrap()).map(|t| t.to_vec()),
                ));
                grads.push((
                    "k_proj_weight",
                    g.get(m.k_proj_weight().unwrap()).map(|t| t.to_vec()),
                ));
                grads.push((
                    "v_proj_weight",
                    g.get(m.v_proj_weight().unwrap()).map(|t| t.to_vec()),
                ));
            }
        }
        for (name, got) in grads {
            let key = format!("{case}.grad.{name}");
            let want = &fx.get(&key).unwrap_or_else(|| panic!("no {key}")).1;
            close(
                got.unwrap_or_else(|| panic!("no gradient for {name}")),
                want,
                &key,
            );
        }
    }

    #[test]
    fn parameter_names_are_pytorchs() {
        let names = |v: Vec<(String, typegrad::shape::Dims)>| {
            v.into_iter()
                .map(|(n, d)| format!("{n}{:?}", d.to_vec()))
                .collect::<Vec<_>>()
        };
        let m = SelfMha::new(&dev());
        assert_eq!(
            names(m.param_names()),
            [
                "in_proj_weight[48, 16]",
                "in_proj_bias[48]",
                "out_proj.weight[16, 16]",
                "out_proj.bias[16]"
            ]
        );
        let c: MultiheadAttention<u!(16), u!(4), u!(6), u!(10), f32, Dev> =
            MultiheadAttention::no_bias(&dev());
        assert_eq!(
            names(c.param_names()),
            [
                "q_proj_weight[16, 16]",
                "k_proj_weight[16, 6]",
                "v_proj_weight[16, 10]",
                "out_proj.weight[16, 16]"
            ]
        );
        // PyTorch's initialisation: zero biases, Xavier bound on the packed matrix.
        assert!(m.in_proj_bias().unwrap().to_vec().iter().all(|&b| b == 0.0));
        assert!(m
            .out_proj
            .bias
            .as_ref()
            .unwrap()
            .to_vec()
            .iter()
            .all(|&b| b == 0.0));
        let a = (6.0f32 / (48.0 + 16.0)).sqrt();
        let w = m.in_proj_weight().unwrap().to_vec();
        assert!(w.iter().all(|x| x.abs() <= a) && w.iter().any(|x| x.abs() > 0.5 * a));
    }

    #[test]
    fn self_attention_matches_pytorch() {
        let fx = torch();
        let m = self_mha();
        let x = x3::<u!(16)>(&fx["mha_self.x"]);
        let y = m.forward(x.clone().trace());
        close(y.to_vec(), &fx["mha_self.out"].1, "out");
        let g = y.backward_from(x3(&fx["mha_self.w"]));
        close(g.get(&x).unwrap().to_vec(), &fx["mha_self.gx"].1, "gx");
        check_param_grads(&m, &g, &fx, "mha_self");
        // Untracked: the same values.
        close(
            m.forward(x).to_vec(),
            &fx["mha_self.out"].1,
            "untracked out",
        );
    }

    /// PyTorch's `key_padding_mask` (true = padding) is typegrad's mask
    /// `(B, 1, 1, Nkv)` negated (true = a real key), read in place per batch
    /// entry.
    #[test]
    fn key_padding_mask_matches_pytorch() {
        let fx = torch();
        let m = self_mha();
        let x = x3::<u!(16)>(&fx["mha_pad.x"]);
        let (kd, kv) = &fx["mha_pad.keep"];
        let keep = Tensor::<(Dyn, Dyn, Dyn, Dyn), bool, Dev>::from_vec(
            (Dyn(kd[0]), Dyn(1), Dyn(1), Dyn(kd[1])),
            kv.iter().map(|&v| v != 0.0).collect(),
            &dev(),
        );
        let opts = AttentionOptions::new().mask(&keep);
        let xt = x.clone().trace();
        let y = m.forward_with(xt.clone(), xt.clone(), xt, &opts).unwrap();
        close(y.to_vec(), &fx["mha_pad.out"].1, "out");
        let g = y.backward_from(x3(&fx["mha_pad.w"]));
        close(g.get(&x).unwrap().to_vec(), &fx["mha_pad.gx"].1, "gx");
        check_param_grads(&m, &g, &fx, "mha_pad");
    }

    #[test]
    fn causal_self_attention_matches_pytorch() {
        let fx = torch();
        let m = self_mha().with_causal(true);
        let x = x3::<u!(16)>(&fx["mha_causal.x"]);
        let y = m.forward(x.clone().trace());
        close(y.to_vec(), &fx["mha_causal.out"].1, "out");
        let g = y.backward_from(x3(&fx["mha_causal.w"]));
        close(g.get(&x).unwrap().to_vec(), &fx["mha_causal.gx"].1, "gx");
        check_param_grads(&m, &g, &fx, "mha_causal");
    }

    #[test]
    fn packed_cross_attention_matches_pytorch() {
        let fx = torch();
        let m = self_mha();
        let x = x3::<u!(16)>(&fx["mha_pair.x"]);
        let mem = x3::<u!(16)>(&fx["mha_pair.memory"]);
        let y = m.forward((x.clone().trace(), mem.clone().trace()));
        close(y.to_vec(), &fx["mha_pair.out"].1, "out");
        let g = y.backward_from(x3(&fx["mha_pair.w"]));
        close(g.get(&x).unwrap().to_vec(), &fx["mha_pair.gx"].1, "gx");
        close(
            g.get(&mem).unwrap().to_vec(),
            &fx["mha_pair.gmemory"].1,
            "gmemory",
        );
        check_param_grads(&m, &g, &fx, "mha_pair");
    }

    #[test]
    fn cross_attention_with_kdim_and_vdim_matches_pytorch() {
        let fx = torch();
        let mut m: MultiheadAttention<u!(16), u!(4), u!(6), u!(10), f32, Dev> =
            MultiheadAttention::new(&dev());
        safetensors::load(&mut m, fixture("attention_torch_mha_cross.safetensors")).unwrap();
        let x = x3::<u!(16)>(&fx["mha_cross.x"]);
        let key = x3::<u!(6)>(&fx["mha_cross.key"]);
        let value = x3::<u!(10)>(&fx["mha_cross.value"]);
        let y = m.forward((
            x.clone().trace(),
            key.clone().trace(),
            value.clone().trace(),
        ));
        close(y.to_vec(), &fx["mha_cross.out"].1, "out");
        let g = y.backward_from(x3(&fx["mha_cross.w"]));
        close(g.get(&x).unwrap().to_vec(), &fx["mha_cross.gx"].1, "gx");
        close(
            g.get(&key).unwrap().to_vec(),
            &fx["mha_cross.gkey"].1,
            "gkey",
        );
        close(
            g.get(&value).unwrap().to_vec(),
            &fx["mha_cross.gvalue"].1,
            "gvalue",
        );
        check_param_grads(&m, &g, &fx, "mha_cross");
    }

    #[test]
    fn gradients_of_every_parameter_against_finite_differences() {
        let dev = seeded(3);
        let x: Tensor<(Dyn, Dyn, u!(8)), f64, Dev> =
            Tensor::randn((Dyn(2), Dyn(3), Default::default()), 0.0, 1.0, &dev);
        let mut m: MultiheadAttention<u!(8), u!(2), u!(8), u!(8), f64, Dev> =
            MultiheadAttention::new(&dev).with_causal(true);
        gradcheck_module(&mut m, &x).unwrap();
        // Separate projections (kdim = vdim = 5), memory untracked in the
        // closure: parameters and the query's gradient.
        let mem: Tensor<(Dyn, Dyn, u!(5)), f64, Dev> =
            Tensor::randn((Dyn(2), Dyn(4), Default::default()), 0.0, 1.0, &dev);
        struct Cross {
            m: MultiheadAttention<u!(8), u!(2), u!(5), u!(5), f64, Dev>,
            mem: Tensor<(Dyn, Dyn, u!(5)), f64, Dev>,
        }
        impl Params<f64, Dev> for Cross {
            fn visit_params(
                &self,
                p: &mut typegrad::nn::ParamPath,
                f: &mut dyn FnMut(&typegrad::nn::ParamPath, typegrad::nn::ParamRef<'_, f64, Dev>),
            ) {
                self.m.visit_params(p, f)
            }
            fn visit_params_mut(
                &mut self,
                p: &mut typegrad::nn::ParamPath,
                f: &mut dyn FnMut(&typegrad::nn::ParamPath, typegrad::nn::ParamMut<'_, f64, Dev>),
            ) {
                self.m.visit_params_mut(p, f)
            }
        }
        impl<T: Tracking<f64, Dev>> Module<Tensor<(Dyn, Dyn, u!(8)), f64, Dev, T>> for Cross {
            type Output = Tensor<(Dyn, Dyn, u!(8)), f64, Dev, T>;
            fn forward(&self, x: Tensor<(Dyn, Dyn, u!(8)), f64, Dev, T>) -> Self::Output {
                self.m.forward((x, self.mem.clone()))
            }
        }
        let mut c = Cross {
            m: MultiheadAttention::new(&dev),
            mem,
        };
        gradcheck_module(&mut c, &x).unwrap();
    }

    #[test]
    fn unbatched_inputs_and_forward_with_masks() {
        let dev = seeded(4);
        let m: MultiheadAttention<u!(8), u!(2), u!(8), u!(8), f64, Dev> = MultiheadAttention::new(&dev);
        let x: Tensor<(u!(3), u!(8)), f64, Dev> = Tensor::randn(Default::default(), 0.0, 1.0, &dev);
        // (N, M) equals a batch of one.
        let y = m.forward(x.clone());
        let xb: Tensor<(u!(1), u!(3), u!(8)), f64, Dev> = x.clone().reshape_to(Default::default());
        assert_close!(m.forward(xb).to_vec(), y.to_vec(), 1e-12);
        // A boolean mask equal to the causal one gives the causal result.
        let tril: Tensor<(u!(3), u!(3)), bool, Dev> =
            Tensor::from_vec_static((0..9).map(|i| i % 3 <= i / 3).collect(), &dev);
        let a = m
            .forward_with(
                x.clone(),
                x.clone(),
                x.clone(),
                &AttentionOptions::new().mask(&tril),
            )
            .unwrap();
        let b = m.clone().with_causal(true).forward(x.clone());
        assert_close!(a.to_vec(), b.to_vec(), 1e-12);
        // A mask of the wrong size is an error naming it.
        let bad: Tensor<(u!(2), u!(3)), bool, Dev> = Tensor::from_vec_static(vec![true; 6], &dev);
        let e = m
            .forward_with(x.clone(), x.clone(), x, &AttentionOptions::new().mask(&bad))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "attention: dimension mismatch on axis 0 (mask rows vs queries): got 2, expected 3"
        );
        // A Dyn model dim that does not fit.
        let xd: Tensor<(Dyn, Dyn), f64, Dev> = Tensor::zeros((Dyn(3), Dyn(7)), &dev);
        let e = m.self_attention(xd, &AttentionOptions::new()).unwrap_err();
        assert_eq!(e.to_string(), "multihead_attention: dimension mismatch on axis 1 (query features vs embed_dim): got 7, expected 8");
    }

    #[test]
    fn dropout_follows_the_mode() {
        let dev = seeded(5);
        let m: MultiheadAttention<u!(8), u!(2), u!(8), u!(8), f32, Dev> = MultiheadAttention::new(&dev).with_dropout(0.5);
        let x: Tensor<(Dyn, Dyn, u!(8)), f32, Dev> =
            Tensor::randn((Dyn(2), Dyn(6), Default::default()), 0.0, 1.0, &dev);
        let eval = m.forward(x.clone()).to_vec();
        let no_drop = m.clone().with_dropout(0.0);
        assert_eq!(eval, no_drop.forward(x.clone()).to_vec());
        assert_eq!(
            eval,
            m.forward(x.clone().trace().with_mode(Mode::Eval)).to_vec()
        );
        let a = m.forward(x.clone().trace()).to_vec();
        let b = m.forward(x.clone().trace()).to_vec();
        assert_ne!(a, eval);
        assert_ne!(a, b);
        // Training still trains every parameter.
        let g = m.forward(x.trace_no_grad()).sum().backward();
        assert!(g.get(m.in_proj_weight().unwrap()).is_some());
        assert!(g.get(&m.out_proj.weight).is_some());
    }
}
