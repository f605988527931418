//! The transformer blocks, the encoder-decoder Transformer and the ViT:
//! outputs, input gradients and every parameter's gradient against PyTorch
//! (tests/fixtures/transformer_torch.py), parameter counts and names,
//! shapes, causality, finite-difference gradients in f64, errors.

use std::collections::HashMap;
use std::path::PathBuf;
use typegrad::autograd::Mode;
use typegrad::backend::Backend;
use typegrad::io::safetensors::{self, SafeTensors};
use typegrad::models::{DecoderLayer, EncoderLayer, Transformer, ViT, ViTTokens};
use typegrad::nn::{
    CrossAttentionBlock, FeedForwardBlock, Module, ParamKind, ParamPath, Params, SelfAttentionBlock,
};
use typegrad::prelude::*;
use typegrad::testing::{assert_close, gradcheck_module};
use typegrad::typenum::Unsigned;

fn fixture(name: &str) -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

type Fx = HashMap<String, (Vec<usize>, Vec<f32>)>;

fn torch() -> Fx {
    let bytes = std::fs::read(fixture("transformer_torch_io.safetensors")).unwrap();
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

fn get<'a>(fx: &'a Fx, key: &str) -> &'a (Vec<usize>, Vec<f32>) {
    fx.get(key)
        .unwrap_or_else(|| panic!("fixture has no {key}"))
}

typegrad::per_device! {
    type X<F> = Tensor<(Dyn, Dyn, F), f32, Dev>;
    type U16 = u!(16);

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

    /// Every parameter gradient of `m` against PyTorch's `grad.<case>.<name>`.
    fn check_param_grads<M: Params<f32, Dev>>(m: &M, g: &Gradients<f32, Dev>, fx: &Fx, case: &str) {
        let dev = dev();
        let mut n = 0;
        m.visit_params(&mut ParamPath::default(), &mut |path, p| {
            if p.kind != ParamKind::Param {
                return;
            }
            let key = format!("grad.{case}.{}", path.name());
            let got = g
                .by_id(p.id)
                .unwrap_or_else(|| panic!("no gradient for {}", path.name()));
            close(dev.download(got), &get(fx, &key).1, &key);
            n += 1;
        });
        assert!(n > 0);
    }

    /// A cotangent-weighted sum, so gradients match PyTorch's `sum(out * w)`.
    fn weighted<S: Shape>(
        y: Tensor<S, f32, Dev, Tape<f32, Dev>>,
        w: &[f32],
    ) -> Tensor<(), f32, Dev, Tape<f32, Dev>> {
        let n = y.dims().iter().product::<usize>();
        let w: Tensor<(Dyn,), f32, Dev> = Tensor::from_vec((Dyn(n),), w.to_vec(), &dev());
        (y.reshape_to((Dyn(n),)) * w).sum()
    }

    #[derive(Module)]
    struct Blocks {
        ff: FeedForwardBlock<U16, u!(32), typegrad::nn::GELU, f32, Dev>,
        sa: SelfAttentionBlock<U16, u!(4), f32, Dev>,
        ca: CrossAttentionBlock<U16, u!(4), U16, f32, Dev>,
    }

    fn blocks() -> Blocks {
        let dev = dev();
        let mut b = Blocks {
            ff: FeedForwardBlock::new(&dev),
            sa: SelfAttentionBlock::new(&dev),
            ca: CrossAttentionBlock::new(&dev),
        };
        safetensors::load(&mut b, fixture("transformer_blocks_torch.safetensors")).unwrap();
        b
    }

    #[test]
    fn feed_forward_block_matches_pytorch() {
        let (fx, b) = (torch(), blocks());
        let x = x3::<U16>(get(&fx, "ff.x")).trace();
        let y = b.ff.forward(x.clone());
        close(y.to_vec(), &get(&fx, "ff.out").1, "ff.out");
        let g = weighted(y, &get(&fx, "ff.w").1).backward();
        close(g.get(&x).unwrap().to_vec(), &get(&fx, "ff.gx").1, "ff.gx");
        check_param_grads(&b.ff, &g, &fx, "ff");
    }

    #[test]
    fn self_attention_block_matches_pytorch() {
        let (fx, mut b) = (torch(), blocks());
        for (case, causal) in [("sa", false), ("sa_causal", true)] {
            b.sa.attn.causal = causal;
            let x = x3::<U16>(get(&fx, &format!("{case}.x"))).trace();
            let y = b.sa.forward(x.clone());
            close(y.to_vec(), &get(&fx, &format!("{case}.out")).1, case);
            let g = weighted(y, &get(&fx, &format!("{case}.w")).1).backward();
            close(
                g.get(&x).unwrap().to_vec(),
                &get(&fx, &format!("{case}.gx")).1,
                case,
            );
            check_param_grads(&b.sa, &g, &fx, case);
        }
    }

    #[test]
    fn cross_attention_block_matches_pytorch() {
        let (fx, b) = (torch(), blocks());
        let x = x3::<U16>(get(&fx, "ca.x")).trace();
        let mem = x3::<U16>(get(&fx, "ca.memory")).trace();
        let y = b.ca.forward((x.clone(), mem.clone()));
        close(y.to_vec(), &get(&fx, "ca.out").1, "ca.out");
        let g = weighted(y, &get(&fx, "ca.w").1).backward();
        close(g.get(&x).unwrap().to_vec(), &get(&fx, "ca.gx").1, "ca.gx");
        close(
            g.get(&mem).unwrap().to_vec(),
            &get(&fx, "ca.gmemory").1,
            "ca.gmemory",
        );
        check_param_grads(&b.ca, &g, &fx, "ca");
    }

    #[test]
    fn block_parameter_names_are_pytorchs() {
        let names: Vec<String> = blocks().param_names().into_iter().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            [
                "ff.ln.weight",
                "ff.ln.bias",
                "ff.fc1.weight",
                "ff.fc1.bias",
                "ff.fc2.weight",
                "ff.fc2.bias",
                "sa.ln.weight",
                "sa.ln.bias",
                "sa.attn.in_proj_weight",
                "sa.attn.in_proj_bias",
                "sa.attn.out_proj.weight",
                "sa.attn.out_proj.bias",
                "ca.ln.weight",
                "ca.ln.bias",
                "ca.attn.in_proj_weight",
                "ca.attn.in_proj_bias",
                "ca.attn.out_proj.weight",
                "ca.attn.out_proj.bias",
            ]
        );
    }

    /// Finite differences in f64 for every parameter and the input.
    #[test]
    fn blocks_gradcheck_f64() {
        let dev = seeded(5);
        let x: Tensor<(Dyn, Dyn, u!(8)), f64, Dev> =
            Tensor::randn((Dyn(2), Dyn(3), Default::default()), 0.0, 1.0, &dev);
        let mut ff: FeedForwardBlock<u!(8), u!(12), typegrad::nn::GELU, f64, Dev> =
            FeedForwardBlock::new(&dev);
        gradcheck_module(&mut ff, &x).unwrap();
        let mut sa: SelfAttentionBlock<u!(8), u!(2), f64, Dev> =
            SelfAttentionBlock::new(&dev).with_causal(true);
        gradcheck_module(&mut sa, &x).unwrap();
        let mut ca: CrossAttentionBlock<u!(8), u!(2), u!(8), f64, Dev> = CrossAttentionBlock::new(&dev);
        // The memory as a fixed input; its gradient is checked against PyTorch above.
        let mem: Tensor<(Dyn, Dyn, u!(8)), f64, Dev> =
            Tensor::randn((Dyn(2), Dyn(4), Default::default()), 0.0, 1.0, &dev);
        struct WithMemory<'a>(
            &'a mut CrossAttentionBlock<u!(8), u!(2), u!(8), f64, Dev>,
            Tensor<(Dyn, Dyn, u!(8)), f64, Dev>,
        );
        impl Params<f64, Dev> for WithMemory<'_> {
            fn visit_params(
                &self,
                p: &mut ParamPath,
                f: &mut dyn FnMut(&ParamPath, typegrad::nn::ParamRef<'_, f64, Dev>),
            ) {
                self.0.visit_params(p, f)
            }
            fn visit_params_mut(
                &mut self,
                p: &mut ParamPath,
                f: &mut dyn FnMut(&ParamPath, typegrad::nn::ParamMut<'_, f64, Dev>),
            ) {
                self.0.visit_params_mut(p, f)
            }
        }
        impl Module<Tensor<(Dyn, Dyn, u!(8)), f64, Dev, Tape<f64, Dev>>> for WithMemory<'_> {
            type Output = Tensor<(Dyn, Dyn, u!(8)), f64, Dev, Tape<f64, Dev>>;
            fn forward(&self, x: Tensor<(Dyn, Dyn, u!(8)), f64, Dev, Tape<f64, Dev>>) -> Self::Output {
                let m = self.1.clone().trace_into(x.tape());
                self.0.forward((x, m))
            }
        }
        gradcheck_module(&mut WithMemory(&mut ca, mem), &x).unwrap();
    }

    type SmallTransformer = Transformer<u!(11), u!(7), U16, u!(4), u!(32), f32, Dev>;

    fn small_transformer() -> SmallTransformer {
        let mut m = SmallTransformer::new(2, 2, &seeded(1));
        safetensors::load(&mut m, fixture("transformer_torch.safetensors")).unwrap();
        m
    }

    fn ids(t: &(Vec<usize>, Vec<f32>)) -> Tensor<(Dyn, Dyn), usize, Dev> {
        Tensor::from_vec(
            (Dyn(t.0[0]), Dyn(t.0[1])),
            t.1.iter().map(|&v| v as usize).collect(),
            &dev(),
        )
    }

    #[test]
    fn transformer_matches_pytorch() {
        let (fx, m) = (torch(), small_transformer());
        assert_eq!(m.num_params(), get(&fx, "tr.num_params").1[0] as usize);
        let (src, tgt) = (ids(get(&fx, "tr.src")), ids(get(&fx, "tr.tgt")));
        // Evaluation (untracked) and training (traced) give PyTorch's logits.
        let logits = m.forward((src.clone(), tgt.clone()));
        assert_eq!(&*logits.dims(), &[2, 4, 7]);
        close(logits.to_vec(), &get(&fx, "tr.out").1, "tr.out");
        let src = src.traced::<f32>();
        let tgt = tgt.with_tape(src.tape().clone());
        let y = m.forward((src, tgt));
        close(y.to_vec(), &get(&fx, "tr.out").1, "tr.out traced");
        let g = weighted(y, &get(&fx, "tr.w").1).backward();
        check_param_grads(&m, &g, &fx, "tr");
    }

    #[test]
    fn transformer_parameter_names() {
        let m = small_transformer();
        let names: Vec<String> = m.param_names().into_iter().map(|(n, _)| n).collect();
        assert_eq!(names[..2], ["src_emb.weight", "tgt_emb.weight"]);
        assert!(names.contains(&"encoder.1.ff.fc2.bias".to_string()));
        assert!(names.contains(&"decoder.0.cross_attn.attn.in_proj_weight".to_string()));
        assert_eq!(
            names[names.len() - 4..],
            ["dec_ln.weight", "dec_ln.bias", "head.weight", "head.bias"]
        );
        // Counted by hand: embeddings, 2 encoder + 2 decoder layers, 2 norms, head.
        let (dm, hidden) = (16, 32);
        let attn = 2 * dm + 4 * (dm * dm + dm);
        let ff = 2 * dm + (hidden * dm + hidden) + (dm * hidden + dm);
        assert_eq!(
            m.num_params(),
            11 * dm + 7 * dm + 2 * (attn + ff) + 2 * (2 * attn + ff) + 2 * 2 * dm + (7 * dm + 7)
        );
    }

    /// The decoder is causal: the logits at position t do not depend on
    /// target tokens after t (and do depend on the source).
    #[test]
    fn transformer_decoder_is_causal() {
        let m = small_transformer();
        let dev = dev();
        let src = Tensor::<(Dyn, Dyn), usize, Dev>::from_vec((Dyn(1), Dyn(4)), vec![1, 2, 3, 4], &dev);
        let a = Tensor::<(Dyn, Dyn), usize, Dev>::from_vec((Dyn(1), Dyn(5)), vec![0, 1, 2, 3, 4], &dev);
        let b = Tensor::<(Dyn, Dyn), usize, Dev>::from_vec((Dyn(1), Dyn(5)), vec![0, 1, 6, 5, 5], &dev);
        let (la, lb) = (
            m.forward((src.clone(), a)).to_vec(),
            m.forward((src, b)).to_vec(),
        );
        assert_eq!(la[..2 * 7], lb[..2 * 7]); // positions 0 and 1: identical
        assert_ne!(la[2 * 7..3 * 7], lb[2 * 7..3 * 7]);
        let src2 = Tensor::<(Dyn, Dyn), usize, Dev>::from_vec((Dyn(1), Dyn(4)), vec![1, 2, 3, 5], &dev);
        let a = Tensor::<(Dyn, Dyn), usize, Dev>::from_vec((Dyn(1), Dyn(1)), vec![0], &dev);
        assert_ne!(m.forward((src2, a)).to_vec(), la[..7]);
    }

    /// Greedy decoding equals the argmax of a full forward over the decoded
    /// prefix, step by step, and stops at `eos`.
    #[test]
    fn greedy_decode_follows_the_argmax() {
        let m = small_transformer();
        let dev = dev();
        let src = Tensor::<(Dyn, Dyn), usize, Dev>::from_vec((Dyn(2), Dyn(3)), vec![1, 2, 3, 9, 8, 7], &dev);
        let out = m.greedy_decode(src.clone(), 0, 6, 5).unwrap();
        assert_eq!(out.len(), 2);
        for (b, seq) in out.iter().enumerate() {
            assert!(seq.len() <= 5 && !seq.contains(&6));
            let row = src.to_vec()[3 * b..3 * b + 3].to_vec();
            let s = Tensor::<(Dyn, Dyn), usize, Dev>::from_vec((Dyn(1), Dyn(3)), row, &dev);
            let mut prefix = vec![0];
            for step in 0..=seq.len().min(4) {
                let t = Tensor::<(Dyn, Dyn), usize, Dev>::from_vec(
                    (Dyn(1), Dyn(prefix.len())),
                    prefix.clone(),
                    &dev,
                );
                let logits = m.forward((s.clone(), t)).to_vec();
                let last = &logits[(prefix.len() - 1) * 7..prefix.len() * 7];
                let best = (0..7).max_by(|&i, &j| last[i].total_cmp(&last[j])).unwrap();
                match seq.get(step) {
                    Some(&tok) => assert_eq!(tok, best, "batch {b}, step {step}"),
                    None => assert!(best == 6 || step == 5, "stopped early at {step}"),
                }
                prefix.push(best);
            }
        }
    }

    #[test]
    fn transformer_errors_name_the_id() {
        let m = small_transformer();
        let dev = dev();
        let src = Tensor::<(Dyn, Dyn), usize, Dev>::from_vec((Dyn(1), Dyn(2)), vec![1, 11], &dev);
        let tgt = Tensor::<(Dyn, Dyn), usize, Dev>::from_vec((Dyn(1), Dyn(1)), vec![0], &dev);
        let e = m.try_forward(src, tgt).unwrap_err().to_string();
        assert!(e.contains("index 11") && e.contains("size 11"), "{e}");
    }

    #[test]
    fn encoder_and_decoder_layers_keep_shapes() {
        let dev = seeded(2);
        let enc: EncoderLayer<U16, u!(4), u!(32), f32, Dev> = EncoderLayer::new(&dev);
        let dec: DecoderLayer<U16, u!(4), u!(32), f32, Dev> = DecoderLayer::new(&dev);
        let x: Tensor<(u!(2), u!(3), U16), f32, Dev> = Tensor::randn(Default::default(), 0.0, 1.0, &dev);
        let mem: Tensor<(u!(2), u!(9), U16), f32, Dev> = Tensor::randn(Default::default(), 0.0, 1.0, &dev);
        let y: Tensor<(u!(2), u!(3), U16), f32, Dev> = dec.forward((enc.forward(x), mem));
        assert!(y.to_vec().iter().all(|v| v.is_finite()));
        assert!(dec.self_attn.attn.causal && !enc.self_attn.attn.causal);
    }

    type SmallViT = ViT<u!(1), u!(8), u!(12), u!(4), U16, u!(4), u!(24), u!(5), f32, Dev>;

    fn small_vit() -> SmallViT {
        let mut m = SmallViT::new(2, &seeded(3));
        safetensors::load(&mut m, fixture("vit_torch.safetensors")).unwrap();
        m
    }

    #[test]
    fn vit_matches_pytorch() {
        let (fx, m) = (torch(), small_vit());
        let t = get(&fx, "vit.x");
        let x: Tensor<(Dyn, u!(1), u!(8), u!(12)), f32, Dev> = Tensor::from_vec(
            (
                Dyn(t.0[0]),
                Default::default(),
                Default::default(),
                Default::default(),
            ),
            t.1.clone(),
            &dev(),
        );
        close(
            m.forward(x.clone()).to_vec(),
            &get(&fx, "vit.out").1,
            "vit.out",
        );
        let xt = x.clone().trace();
        let y = m.forward(xt.clone());
        assert_eq!(&*y.dims(), &[3, 5]);
        let g = weighted(y, &get(&fx, "vit.w").1).backward();
        close(
            g.get(&xt).unwrap().to_vec(),
            &get(&fx, "vit.gx").1,
            "vit.gx",
        );
        check_param_grads(&m, &g, &fx, "vit");
        // Evaluation mode on a tape gives the same logits.
        let ye = m.forward(x.trace().with_mode(Mode::Eval));
        close(ye.to_vec(), &get(&fx, "vit.out").1, "vit.out eval");
    }

    #[test]
    fn vit_parameter_count_and_names() {
        let (fx, m) = (torch(), small_vit());
        assert_eq!(m.num_params(), get(&fx, "vit.num_params").1[0] as usize);
        // By hand: conv 16·1·4·4 + 16, CLS 16, positions 7·16, 2 layers, LN, head.
        let (dm, hidden) = (16, 24);
        let layer =
            (2 * dm + 4 * (dm * dm + dm)) + (2 * dm + (hidden * dm + hidden) + (dm * hidden + dm));
        assert_eq!(
            m.num_params(),
            (16 * 16 + 16) + dm + 7 * dm + 2 * layer + 2 * dm + (dm * dm + dm) + (5 * dm + 5)
        );
        let names: Vec<String> = m.param_names().into_iter().map(|(n, _)| n).collect();
        assert_eq!(
            names[..4],
            [
                "conv_proj.weight",
                "conv_proj.bias",
                "class_token",
                "pos_emb.weight"
            ]
        );
        assert_eq!(
            names[names.len() - 4..],
            [
                "head.0.weight",
                "head.0.bias",
                "head.2.weight",
                "head.2.bias"
            ]
        );
    }

    #[test]
    fn vit_patch_count_is_in_the_type() {
        assert_eq!(<ViTTokens<u!(8), u!(12), u!(4)>>::USIZE, 2 * 3 + 1);
        assert_eq!(<ViTTokens<u!(28), u!(28), u!(7)>>::USIZE, 17);
        assert_eq!(<ViTTokens<u!(224), u!(224), u!(16)>>::USIZE, 197);
        let m = small_vit();
        let x: Tensor<(u!(2), u!(1), u!(8), u!(12)), f32, Dev> =
            Tensor::ones(Default::default(), &dev());
        let tokens: Tensor<(u!(2), u!(7), U16), f32, Dev> = m.embed_patches(x);
        // The CLS row is the token plus its position; every image is the same.
        let v = tokens.to_vec();
        assert_eq!(v[..7 * 16], v[7 * 16..]);
        let cls: Vec<f32> = m
            .class_token
            .to_vec()
            .iter()
            .zip(m.pos_emb.weight.to_vec())
            .map(|(c, p)| c + p)
            .collect();
        close(v[..16].to_vec(), &cls, "CLS token");
    }

    /// Patches are independent: changing one pixel changes only the token of
    /// its patch (row-major patch order, after the CLS token).
    #[test]
    fn vit_patch_embedding_is_local() {
        let m = small_vit();
        let dev = dev();
        let mut data = vec![0.0f32; 8 * 12];
        let a: Tensor<(u!(1), u!(1), u!(8), u!(12)), f32, Dev> = Tensor::from_vec_static(data.clone(), &dev);
        data[5 * 12 + 9] = 1.0; // row 5 -> patch row 1, column 9 -> patch column 2: patch 5
        let b: Tensor<(u!(1), u!(1), u!(8), u!(12)), f32, Dev> = Tensor::from_vec_static(data, &dev);
        let (ta, tb) = (m.embed_patches(a).to_vec(), m.embed_patches(b).to_vec());
        for tok in 0..7 {
            let same = ta[tok * 16..(tok + 1) * 16] == tb[tok * 16..(tok + 1) * 16];
            assert_eq!(same, tok != 6, "token {tok}"); // token 6 = CLS + patch 5
        }
    }

    #[test]
    fn vit_gradcheck_f64() {
        let dev = seeded(4);
        let mut m: ViT<u!(1), u!(4), u!(4), u!(2), u!(4), u!(2), u!(6), u!(3), f64, Dev> = ViT::new(1, &dev);
        let x: Tensor<(Dyn, u!(1), u!(4), u!(4)), f64, Dev> = Tensor::randn(
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
        gradcheck_module(&mut m, &x).unwrap();
    }

    /// `(x, key, value)` with key = value = memory is `(x, memory)`; an
    /// untracked memory still trains the key/value projections.
    #[test]
    fn cross_attention_block_three_inputs_and_fixed_memory() {
        let b = blocks();
        let dev = seeded(6);
        let x: X<U16> = Tensor::randn((Dyn(2), Dyn(3), Default::default()), 0.0, 1.0, &dev);
        let m: X<U16> = Tensor::randn((Dyn(2), Dyn(4), Default::default()), 0.0, 1.0, &dev);
        let two = b.ca.forward((x.clone(), m.clone())).to_vec();
        let three = b.ca.forward((x.clone(), m.clone(), m.clone())).to_vec();
        assert_close!(two, three, 1e-6);
        let g = b.ca.forward((x.trace(), m)).sum().backward();
        assert!(g.get(b.ca.attn.in_proj_weight().unwrap()).is_some());
    }

    /// Images with `Dyn` dims are checked when the ViT runs: a size that is not
    /// the model's is a panic naming the axis and both sizes, and the right
    /// sizes run like the static type.
    #[test]
    fn vit_checks_dyn_image_dims() {
        let m = small_vit();
        let dev = dev();
        let ok: Tensor<(Dyn, Dyn, Dyn, Dyn), f32, Dev> = Tensor::ones((Dyn(2), Dyn(1), Dyn(8), Dyn(12)), &dev);
        let stat: Tensor<(u!(2), u!(1), u!(8), u!(12)), f32, Dev> = Tensor::ones(Default::default(), &dev);
        assert_eq!(m.forward(ok).to_vec(), m.forward(stat).to_vec());
        let wrong: Tensor<(Dyn, Dyn, Dyn, Dyn), f32, Dev> = Tensor::ones((Dyn(2), Dyn(1), Dyn(8), Dyn(16)), &dev);
        let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| m.forward(wrong)))
            .expect_err("a 8x16 image into a ViT for 8x12");
        let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(
            msg.contains("ViT") && msg.contains("16") && msg.contains("12"),
            "{msg}"
        );
    }
}
