//! Token embeddings and positional encodings: values against naive loops,
//! the paper's formula in f64 and PyTorch fixtures
//! (`tests/fixtures/embedding_torch.py`); gradients against scatter-add
//! loops and finite differences; proptests over shapes; token ids on a
//! tape (mode, gradients, no cost untracked); loading a PyTorch GPT's
//! `tok_emb`/`pos_emb` state_dict.

use proptest::prelude::*;
use std::collections::HashMap;
use std::path::Path;
use typegrad::io::safetensors;
use typegrad::loss::cross_entropy;
use typegrad::nn::{
    Dropout, Embedding, LearnedPositionalEmbedding, Module, SinusoidalPositionalEncoding,
};
use typegrad::optim::{Optimizer, Sgd, SgdConfig};
use typegrad::prelude::*;
use typegrad::testing::{assert_close, cotangent, gradcheck, gradcheck_module};

type U5 = u!(5);
type U6 = u!(6);
type U7 = u!(7);

fn fixtures() -> HashMap<String, Vec<f64>> {
    include_str!("fixtures/embedding_torch.txt")
        .lines()
        .map(|l| {
            let mut it = l.split(' ');
            let k = it.next().unwrap().to_string();
            (k, it.map(|v| v.parse().unwrap()).collect())
        })
        .collect()
}

fn fx<'a>(f: &'a HashMap<String, Vec<f64>>, key: &str) -> &'a [f64] {
    f.get(key)
        .unwrap_or_else(|| panic!("fixture {key} missing"))
}

fn ids_of(v: &[f64]) -> Vec<usize> {
    v.iter().map(|&x| x as usize).collect()
}

/// Rows of `w` (`v x dm`, row-major) picked by `ids`.
fn naive_lookup(w: &[f64], dm: usize, ids: &[usize]) -> Vec<f64> {
    ids.iter()
        .flat_map(|&i| w[i * dm..(i + 1) * dm].to_vec())
        .collect()
}

/// `gy` rows added into zeros of the table: the weight gradient.
fn naive_scatter(v: usize, dm: usize, ids: &[usize], gy: &[f64]) -> Vec<f64> {
    let mut g = vec![0.0; v * dm];
    for (j, &i) in ids.iter().enumerate() {
        for k in 0..dm {
            g[i * dm + k] += gy[j * dm + k];
        }
    }
    g
}

typegrad::per_device! {
    // ------------------------------------------------------------ embedding

    #[test]
    fn embedding_matches_pytorch_forward_and_weight_gradient() {
        let f = fixtures();
        let dev = dev();
        let w = Tensor::<(U7, U5), f64, Dev>::from_vec_static(fx(&f, "emb.weight").to_vec(), &dev);
        let emb = Embedding::from_tensor(w);
        let ids =
            Tensor::<(Dyn, Dyn), usize, Dev>::from_vec((Dyn(3), Dyn(4)), ids_of(fx(&f, "emb.ids")), &dev);
        let r = Tensor::<(Dyn, Dyn, U5), f64, Dev>::from_vec(
            (Dyn(3), Dyn(4), U5::default()),
            fx(&f, "emb.r").to_vec(),
            &dev,
        );
        let y = emb.forward(ids.traced());
        assert_close!(y.to_vec(), fx(&f, "emb.y"), 0.0);
        let grads = (y * r).sum().backward();
        assert_close!(
            grads.get(&emb.weight).unwrap().to_vec(),
            fx(&f, "emb.grad_weight"),
            1e-14
        );
    }

    #[test]
    fn embedding_matches_naive_loop_for_every_rank() {
        let dev = seeded(3);
        let emb: Embedding<U7, U5, f64, Dev> = Embedding::new(&dev);
        let w = emb.weight.to_vec();
        // Rank 0: one id gives one vector.
        let one = Tensor::<(), usize, Dev>::from_vec((), vec![4], &dev);
        let y: Tensor<(U5,), f64, Dev> = emb.forward(one);
        assert_eq!(y.to_vec(), naive_lookup(&w, 5, &[4]));
        // (T,) static, (B, T) static, (B, T) Dyn, (A, B, T) mixed.
        let ids1 = Tensor::<(u!(3),), usize, Dev>::from_vec_static(vec![6, 0, 6], &dev);
        let y1: Tensor<(u!(3), U5), f64, Dev> = emb.forward(ids1);
        assert_eq!(y1.to_vec(), naive_lookup(&w, 5, &[6, 0, 6]));
        let v2 = vec![1, 2, 3, 4, 5, 6];
        let ids2 = Tensor::<(u!(2), u!(3)), usize, Dev>::from_vec_static(v2.clone(), &dev);
        let y2: Tensor<(u!(2), u!(3), U5), f64, Dev> = emb.forward(ids2);
        assert_eq!(y2.to_vec(), naive_lookup(&w, 5, &v2));
        let ids3 = Tensor::<(Dyn, Dyn), usize, Dev>::from_vec((Dyn(3), Dyn(2)), v2.clone(), &dev);
        let y3: Tensor<(Dyn, Dyn, U5), f64, Dev> = emb.forward(ids3);
        assert_eq!(&*y3.dims(), &[3, 2, 5]);
        assert_eq!(y3.to_vec(), naive_lookup(&w, 5, &v2));
        let v4: Vec<usize> = (0..24).map(|i| i * 5 % 7).collect();
        let ids4 = Tensor::<(u!(2), Dyn, u!(4)), usize, Dev>::from_vec(
            (Default::default(), Dyn(3), Default::default()),
            v4.clone(),
            &dev,
        );
        let y4: Tensor<(u!(2), Dyn, u!(4), U5), f64, Dev> = emb.forward(ids4);
        assert_eq!(y4.to_vec(), naive_lookup(&w, 5, &v4));
        // Empty: no tokens, no rows.
        let none = Tensor::<(Dyn, Dyn), usize, Dev>::from_vec((Dyn(2), Dyn(0)), vec![], &dev);
        assert_eq!(&*emb.forward(none).dims(), &[2, 0, 5]);
    }

    #[test]
    fn repeated_ids_accumulate_in_the_weight_gradient() {
        let dev = seeded(4);
        let emb: Embedding<U7, U5, f64, Dev> = Embedding::new(&dev);
        let ids = vec![3, 3, 3, 0, 6, 3, 0, 1];
        let t = Tensor::<(Dyn, Dyn), usize, Dev>::from_vec((Dyn(2), Dyn(4)), ids.clone(), &dev);
        let y = emb.forward(t.traced());
        let gy = cotangent(y.numel());
        let grads = y.backward_from(Tensor::from_vec(
            (Dyn(2), Dyn(4), U5::default()),
            gy.clone(),
            &dev,
        ));
        assert_close!(
            grads.get(&emb.weight).unwrap().to_vec(),
            naive_scatter(7, 5, &ids, &gy),
            1e-15
        );
    }

    /// Central finite differences on every weight entry, through
    /// `Embedding::from_tensor` (the layer itself, not a closure over the op).
    fn check_weight_grad_fd(v: usize, dm: usize, w: &[f64], b: usize, t: usize, ids: &[usize]) {
        let dev = dev();
        let table = |w: Vec<f64>| {
            Embedding::from_tensor(Tensor::<(Dyn, Dyn), f64, Dev>::from_vec(
                (Dyn(v), Dyn(dm)),
                w,
                &dev,
            ))
        };
        let id_t = || Tensor::<(Dyn, Dyn), usize, Dev>::from_vec((Dyn(b), Dyn(t)), ids.to_vec(), &dev);
        let cot = cotangent(b * t * dm);
        let loss = |w: Vec<f64>| -> f64 {
            table(w)
                .forward(id_t())
                .to_vec()
                .iter()
                .zip(&cot)
                .map(|(a, c)| a * c)
                .sum()
        };
        let emb = table(w.to_vec());
        let y = emb.forward(id_t().traced());
        let grads = y.backward_from(Tensor::from_vec(
            (Dyn(b), Dyn(t), Dyn(dm)),
            cot.clone(),
            &dev,
        ));
        let analytic = grads
            .get(&emb.weight)
            .map(|g| g.to_vec())
            .unwrap_or(vec![0.0; v * dm]);
        let eps = 1e-6;
        for i in 0..v * dm {
            let (mut up, mut down) = (w.to_vec(), w.to_vec());
            up[i] += eps;
            down[i] -= eps;
            let numeric = (loss(up) - loss(down)) / (2.0 * eps);
            assert!(
                (numeric - analytic[i]).abs() < 1e-7 * (1.0 + numeric.abs()),
                "weight[{i}]: numeric {numeric} vs analytic {}",
                analytic[i]
            );
        }
    }

    #[test]
    fn weight_gradient_matches_finite_differences() {
        let w: Vec<f64> = cotangent(24).iter().map(|x| x * 2.0).collect();
        check_weight_grad_fd(6, 4, &w, 2, 3, &[5, 0, 5, 2, 2, 1]);
    }

    #[test]
    fn an_out_of_range_id_names_the_id_and_the_vocabulary() {
        let dev = dev();
        let emb: Embedding<U7, U5, f32, Dev> = Embedding::new(&dev);
        let ids = Tensor::<(Dyn, Dyn), usize, Dev>::from_vec((Dyn(1), Dyn(3)), vec![0, 7, 100], &dev);
        let err = emb.try_forward(ids.clone().traced::<f32>()).unwrap_err();
        assert_eq!(
            err,
            Error::IndexOutOfRange {
                op: "Embedding: token id >= vocabulary size",
                axis: 0,
                index: 7,
                size: 7
            }
        );
        let panic = std::panic::catch_unwind(|| emb.forward(ids)).unwrap_err();
        let msg = panic.downcast_ref::<String>().unwrap();
        assert_eq!(
            msg,
            "Embedding: token id >= vocabulary size: index 7 out of range for axis 0 of size 7"
        );
    }

    #[test]
    fn token_ids_carry_the_tape_and_its_mode() {
        let dev = seeded(5);
        let emb: Embedding<U7, u!(64), f64, Dev> = Embedding::new(&dev);
        let ids = Tensor::<(Dyn, Dyn), usize, Dev>::from_vec((Dyn(2), Dyn(3)), vec![1, 2, 3, 4, 5, 6], &dev);
        let drop = Dropout::new(0.5);
        // Untracked: evaluation, and the output is untracked (a type question).
        let y: Tensor<(Dyn, Dyn, u!(64)), f64, Dev, NoTape> = emb.forward(ids.clone());
        assert_eq!(y.mode(), Mode::Eval);
        assert_eq!(drop.forward(y.clone()).to_vec(), y.to_vec());
        // traced(): training; dropout drops.
        let yt = emb.forward(ids.clone().traced());
        assert_eq!(yt.mode(), Mode::Train);
        let dropped = drop.forward(yt).to_vec();
        assert!(dropped.iter().filter(|&&v| v == 0.0).count() > 100);
        // Evaluation with gradients: a tape in Mode::Eval.
        let ye = emb.forward(
            ids.clone()
                .with_tape(Tape::<f64, Dev>::default().with_mode(Mode::Eval)),
        );
        assert_eq!(ye.mode(), Mode::Eval);
        let z = drop.forward(ye.clone());
        assert_eq!(z.to_vec(), y.to_vec());
        assert!(z.sum().backward().get(&emb.weight).is_some());
        // On another tensor's tape: both graphs are one.
        let x: Tensor<(Dyn, Dyn, u!(64)), f64, Dev> =
            Tensor::ones((Dyn(2), Dyn(3), Default::default()), &dev);
        let xt = x.clone().trace();
        let joined = emb.forward(ids.with_tape(xt.tape().clone())) * xt;
        let grads = joined.sum().backward();
        assert_close!(grads.get(&x).unwrap().to_vec(), y.to_vec(), 0.0);
        assert!(grads.get(&emb.weight).is_some());
    }

    /// A GPT's input layers (nanoGPT's names), loaded from PyTorch.
    #[derive(typegrad::nn::Module)]
    struct GptInputs {
        tok_emb: Embedding<u!(11), U6, f32, Dev>,
        pos_emb: LearnedPositionalEmbedding<u!(8), U6, f32, Dev>,
    }

    impl<T: Tracking<f32, Dev>> Module<(Tensor<(Dyn, Dyn), usize, Dev, T>, usize)> for GptInputs {
        type Output = Tensor<(Dyn, Dyn, U6), f32, Dev, T>;
        fn forward(&self, (ids, offset): (Tensor<(Dyn, Dyn), usize, Dev, T>, usize)) -> Self::Output {
            self.pos_emb.forward_at(self.tok_emb.forward(ids), offset)
        }
    }

    #[test]
    fn a_pytorch_gpt_state_dict_with_tok_emb_and_pos_emb_loads() {
        let f = fixtures();
        let dev = seeded(0);
        let mut m = GptInputs {
            tok_emb: Embedding::new(&dev),
            pos_emb: LearnedPositionalEmbedding::new(&dev),
        };
        let names: Vec<String> = m.param_names().into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["tok_emb.weight", "pos_emb.weight"]);
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/embedding_torch.safetensors");
        safetensors::load(&mut m, path).unwrap();
        let all = ids_of(fx(&f, "gpt.ids"));
        let ids = Tensor::<(Dyn, Dyn), usize, Dev>::from_vec((Dyn(2), Dyn(5)), all.clone(), &dev);
        let y = m.forward((ids, 0));
        let f64s = |v: Vec<f32>| v.into_iter().map(f64::from).collect::<Vec<f64>>();
        assert_close!(f64s(y.to_vec()), fx(&f, "gpt.y"), 1e-6);
        // The last two tokens at positions 3 and 4 (KV-cache decoding).
        let tail: Vec<usize> = [&all[3..5], &all[8..10]].concat();
        let ids = Tensor::<(Dyn, Dyn), usize, Dev>::from_vec((Dyn(2), Dyn(2)), tail, &dev);
        assert_close!(
            f64s(m.forward((ids, 3)).to_vec()),
            fx(&f, "gpt.y_offset3"),
            1e-6
        );
    }

    #[test]
    fn a_training_step_reaches_both_tables() {
        let dev = seeded(1);
        let mut m = GptInputs {
            tok_emb: Embedding::new(&dev),
            pos_emb: LearnedPositionalEmbedding::new(&dev),
        };
        let ids = Tensor::<(Dyn, Dyn), usize, Dev>::from_vec((Dyn(2), Dyn(3)), vec![1, 2, 3, 4, 5, 3], &dev);
        let targets =
            Tensor::<(Dyn, Dyn), usize, Dev>::from_vec((Dyn(2), Dyn(3)), vec![0, 1, 2, 3, 4, 5], &dev);
        let before = (m.tok_emb.weight.to_vec(), m.pos_emb.weight.to_vec());
        let loss = cross_entropy(m.forward((ids.traced(), 0)), &targets);
        let grads = loss.backward();
        assert!(grads.params_without_grad(&m).is_empty());
        let mut opt = Sgd::new(SgdConfig {
            lr: 0.1,
            ..Default::default()
        })
        .unwrap();
        opt.step(&mut m, &grads).unwrap();
        let tok = m.tok_emb.weight.to_vec();
        // Rows of tokens seen change, the others do not.
        assert_ne!(tok[6..12], before.0[6..12]);
        assert_eq!(tok[0..6], before.0[0..6]);
        assert_eq!(tok[60..66], before.0[60..66]);
        let pos = m.pos_emb.weight.to_vec();
        assert_ne!(pos[..18], before.1[..18]);
        assert_eq!(pos[18..], before.1[18..]);
    }

    // ------------------------------------------------ positional encodings

    /// The paper's formula, computed independently in f64.
    fn sinusoid(t: usize, j: usize, dm: usize) -> f64 {
        let i = (j / 2) as f64;
        let angle = t as f64 / 10_000f64.powf(2.0 * i / dm as f64);
        if j.is_multiple_of(2) {
            angle.sin()
        } else {
            angle.cos()
        }
    }

    #[test]
    fn sinusoidal_encoding_matches_the_formula_in_f64() {
        let dev = dev();
        // (B, T, Dm) with Dyn batch and sequence, an odd width, an offset.
        let (b, t) = (2, 7);
        let x: Tensor<(Dyn, Dyn, U5), f64, Dev> =
            Tensor::from_vec((Dyn(b), Dyn(t), U5::default()), cotangent(b * t * 5), &dev);
        let pe: SinusoidalPositionalEncoding<U5> = SinusoidalPositionalEncoding::new();
        for offset in [0, 3, 1000] {
            let y = pe.forward_at(x.clone(), offset).to_vec();
            let xv = x.to_vec();
            for bi in 0..b {
                for ti in 0..t {
                    for j in 0..5 {
                        let k = (bi * t + ti) * 5 + j;
                        let want = xv[k] + sinusoid(offset + ti, j, 5);
                        assert!(
                            (y[k] - want).abs() < 1e-13,
                            "b{bi} t{ti} j{j}: {} vs {want}",
                            y[k]
                        );
                    }
                }
            }
        }
        // A wide table: the slowest wavelengths too; f32 within rounding.
        let wide: SinusoidalPositionalEncoding<u!(512)> = SinusoidalPositionalEncoding::new();
        let tab = wide.table::<f32, _>(0, 64, &dev).to_vec();
        for tt in 0..64 {
            for j in 0..512 {
                let want = sinusoid(tt, j, 512);
                assert!((tab[tt * 512 + j] as f64 - want).abs() < 1e-6, "t{tt} j{j}");
            }
        }
        // (T, Dm) unbatched, static.
        let x2: Tensor<(u!(3), u!(4)), f32, Dev> = Tensor::zeros(Default::default(), &dev);
        let y2 = pe_of::<u!(4)>().forward(x2).to_vec();
        for tt in 0..3 {
            for j in 0..4 {
                assert!((y2[tt * 4 + j] as f64 - sinusoid(tt, j, 4)).abs() < 1e-6);
            }
        }
    }

    fn pe_of<Dm: typegrad::shape::StaticDim>() -> SinusoidalPositionalEncoding<Dm> {
        SinusoidalPositionalEncoding::new()
    }

    #[test]
    fn sinusoidal_encoding_passes_gradients_and_checks_width() {
        let x: Tensor<(Dyn, Dyn, U6), f64, Dev> = Tensor::from_vec(
            (Dyn(2), Dyn(3), U6::default()),
            cotangent(36),
            &dev(),
        );
        gradcheck(&x, |x| pe_of::<U6>().forward_at(x, 2).square()).unwrap();
        let bad: Tensor<(Dyn, Dyn), f64, Dev> = Tensor::zeros((Dyn(2), Dyn(5)), &dev());
        assert_eq!(
            pe_of::<U6>().try_forward_at(bad, 0).unwrap_err(),
            Error::DimMismatch {
                op: "SinusoidalPositionalEncoding",
                axis: 1,
                what: "input features vs Dm",
                got: 5,
                expected: 6
            }
        );
    }

    #[test]
    fn learned_positions_match_naive_addition_and_finite_differences() {
        let dev = seeded(9);
        let mut pos: LearnedPositionalEmbedding<u!(8), U5, f64, Dev> = LearnedPositionalEmbedding::new(&dev);
        let w = pos.weight.to_vec();
        let x: Tensor<(Dyn, Dyn, U5), f64, Dev> =
            Tensor::from_vec((Dyn(3), Dyn(4), U5::default()), cotangent(60), &dev);
        for offset in [0, 2, 4] {
            let y = pos.forward_at(x.clone(), offset).to_vec();
            for (k, (&yv, &xv)) in y.iter().zip(&x.to_vec()).enumerate() {
                let (t, j) = ((k / 5) % 4, k % 5);
                assert_eq!(yv, xv + w[(offset + t) * 5 + j]);
            }
        }
        // Input and table gradients against finite differences.
        gradcheck_module(&mut pos, &x).unwrap();
        // Offset: the table's gradient lands on rows offset.. only.
        let y = pos.forward_at(x.clone().trace(), 4);
        let gy = cotangent(60);
        let grads = y.backward_from(Tensor::from_vec(x.shape(), gy.clone(), &dev));
        let g = grads.get(&pos.weight).unwrap().to_vec();
        for t in 0..8 {
            for j in 0..5 {
                let want: f64 = if (4..8).contains(&t) {
                    (0..3).map(|b| gy[(b * 4 + t - 4) * 5 + j]).sum()
                } else {
                    0.0
                };
                assert!((g[t * 5 + j] - want).abs() < 1e-14, "row {t}");
            }
        }
        assert_eq!(grads.get(&x).unwrap().to_vec(), gy);
    }

    #[test]
    fn positions_past_tmax_name_both() {
        let dev = dev();
        let pos: LearnedPositionalEmbedding<u!(8), U5, f32, Dev> = LearnedPositionalEmbedding::new(&dev);
        let x: Tensor<(Dyn, Dyn, U5), f32, Dev> = Tensor::zeros((Dyn(1), Dyn(3), U5::default()), &dev);
        assert!(pos.try_forward_at(x.clone(), 5).is_ok()); // 5 + 3 = 8: the last rows
        let err = pos.try_forward_at(x.clone(), 6).unwrap_err();
        assert_eq!(
            err.to_string(),
            "LearnedPositionalEmbedding: offset + sequence length > Tmax: index 9 out of range for axis 0 of size 8"
        );
        assert!(pos.try_forward_at(x.clone(), usize::MAX).is_err());
        let long: Tensor<(Dyn, Dyn, U5), f32, Dev> = Tensor::zeros((Dyn(1), Dyn(9), U5::default()), &dev);
        let panic = std::panic::catch_unwind(|| pos.forward(long)).unwrap_err();
        assert!(panic
            .downcast_ref::<String>()
            .unwrap()
            .contains("index 9 out of range for axis 0 of size 8"));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        #[test]
        fn prop_embedding_forward_backward(
            v in 1usize..9, dm in 1usize..6, b in 0usize..4, t in 1usize..6, seed in 0u64..1000
        ) {
            let dev = seeded(seed);
            let w: Tensor<(Dyn, Dyn), f64, Dev> = Tensor::randn((Dyn(v), Dyn(dm)), 0.0, 1.0, &dev);
            let ids: Vec<usize> = (0..b * t).map(|i| (i * 7 + seed as usize) % v).collect();
            let emb = Embedding::from_tensor(w.clone());
            let idt = Tensor::<(Dyn, Dyn), usize, Dev>::from_vec((Dyn(b), Dyn(t)), ids.clone(), &dev);
            let y = emb.forward(idt.traced());
            prop_assert_eq!(y.to_vec(), naive_lookup(&w.to_vec(), dm, &ids));
            let gy = cotangent(b * t * dm);
            let grads = y.backward_from(Tensor::from_vec((Dyn(b), Dyn(t), Dyn(dm)), gy.clone(), &dev));
            let want = naive_scatter(v, dm, &ids, &gy);
            let got = grads.get(&emb.weight).map(|g| g.to_vec()).unwrap_or(vec![0.0; v * dm]);
            for (a, e) in got.iter().zip(&want) {
                prop_assert!((a - e).abs() < 1e-12);
            }
            if b * t > 0 && v * dm <= 24 {
                check_weight_grad_fd(v, dm, &w.to_vec(), b, t, &ids);
            }
        }

        #[test]
        fn prop_positional_shapes(b in 1usize..4, t in 1usize..7, offset in 0usize..5, seed in 0u64..1000) {
            let dev = seeded(seed);
            let x: Tensor<(Dyn, Dyn, U6), f64, Dev> = Tensor::randn((Dyn(b), Dyn(t), U6::default()), 0.0, 1.0, &dev);
            let y = pe_of::<U6>().forward_at(x.clone(), offset).to_vec();
            for (k, (&yv, &xv)) in y.iter().zip(&x.to_vec()).enumerate() {
                prop_assert!((yv - xv - sinusoid(offset + (k / 6) % t, k % 6, 6)).abs() < 1e-13);
            }
            let mut pos: LearnedPositionalEmbedding<u!(12), U6, f64, Dev> = LearnedPositionalEmbedding::new(&dev);
            let res = gradcheck(&x, |x| pos.forward_at(x, offset).tanh());
            prop_assert!(res.is_ok(), "{:?}", res);
            gradcheck_module(&mut pos, &x).unwrap();
        }
    }
}
