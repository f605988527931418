//! GPT (`typegrad::models::Gpt`): PyTorch fixtures (logits, loss, gradients,
//! one block), the causal property, KV-cache generation against full
//! recompute, sampling rules, errors.
//!
//! Fixtures: `tests/fixtures/gpt_torch.py`.

use proptest::prelude::*;
use typegrad::assert_close;
use typegrad::backend::Backend;
use typegrad::io::safetensors::{self, SafeTensors};
use typegrad::loss::cross_entropy;
use typegrad::models::{Block, Gpt, GptMini, Sampling};
use typegrad::nn::{Module, Params};
use typegrad::prelude::*;

typegrad::per_device! {
    /// The small GPT of the fixture: vocab 11, ctx 8, 2 layers, 2 heads, d 16,
    /// hidden 32.
    type Small = Gpt<u!(11), u!(8), u!(16), u!(2), u!(32), 2, f32, Dev>;
    /// The fixture's block: d 16, 2 heads, hidden 32.
    type SmallBlock = Block<u!(16), u!(2), u!(32), f32, Dev>;

    fn fixture(name: &str) -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name)
    }

    /// The float64 reference tensors of `gpt_torch_io.safetensors`.
    struct Io(Vec<u8>);
    impl Io {
        fn load() -> Self {
            Io(std::fs::read(fixture("gpt_torch_io.safetensors")).unwrap())
        }
        fn get(&self, name: &str) -> (Vec<f64>, Vec<usize>) {
            let st = SafeTensors::parse(&self.0).unwrap();
            let t = st.get(name).unwrap_or_else(|| panic!("no {name}"));
            (t.to_vec::<f64>().unwrap(), t.shape().to_vec())
        }
        fn f32s(&self, name: &str) -> Vec<f32> {
            self.get(name).0.into_iter().map(|v| v as f32).collect()
        }
        fn ids(&self, name: &str, dev: &Dev) -> Tensor<(Dyn, Dyn), usize, Dev> {
            let (v, s) = self.get(name);
            Tensor::from_vec(
                (Dyn(s[0]), Dyn(s[1])),
                v.into_iter().map(|x| x as usize).collect(),
                dev,
            )
        }
    }

    fn ids(rows: &[&[usize]], dev: &Dev) -> Tensor<(Dyn, Dyn), usize, Dev> {
        let flat: Vec<usize> = rows.iter().flat_map(|r| r.iter().copied()).collect();
        Tensor::from_vec((Dyn(rows.len()), Dyn(rows[0].len())), flat, dev)
    }

    fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
        assert_eq!(a.len(), b.len());
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max)
    }

    #[test]
    fn gpt_mini_has_the_peers_parameters_and_names() {
        let gpt: GptMini<f32, Dev> = GptMini::new(&seeded(0));
        assert_eq!(gpt.num_params(), 826_208);
        let names: Vec<(String, Vec<usize>)> = gpt
            .param_names()
            .into_iter()
            .map(|(n, d)| (n, d.to_vec()))
            .collect();
        assert_eq!(names.len(), 2 + 4 * 12 + 4);
        for (name, dims) in [
            ("tok_emb.weight", vec![96, 128]),
            ("pos_emb.weight", vec![64, 128]),
            ("blocks.0.ln1.weight", vec![128]),
            ("blocks.0.ln1.bias", vec![128]),
            ("blocks.0.attn.qkv.weight", vec![384, 128]),
            ("blocks.0.attn.qkv.bias", vec![384]),
            ("blocks.0.attn.proj.weight", vec![128, 128]),
            ("blocks.0.ln2.weight", vec![128]),
            ("blocks.0.mlp.0.weight", vec![512, 128]),
            ("blocks.0.mlp.2.weight", vec![128, 512]),
            ("blocks.3.mlp.2.bias", vec![128]),
            ("ln_f.weight", vec![128]),
            ("head.weight", vec![96, 128]),
            ("head.bias", vec![96]),
        ] {
            assert!(
                names.contains(&(name.to_string(), dims.clone())),
                "{name} {dims:?} missing from {names:?}"
            );
        }
    }

    #[test]
    fn small_gpt_logits_loss_and_gradients_match_pytorch() {
        let dev = seeded(0);
        let mut gpt = Small::new(&dev);
        safetensors::load(&mut gpt, fixture("gpt_torch_small.safetensors")).unwrap();
        let io = Io::load();
        let x = io.ids("small.ids", &dev);
        let y = io.ids("small.targets", &dev);
        let logits = gpt.forward(x.clone());
        assert_eq!(&*logits.dims(), &[2, 7, 11]);
        let want = io.f32s("small.logits");
        let err = max_abs_diff(&logits.to_vec(), &want);
        assert!(err <= 1e-5, "logits differ by {err}");

        let loss = cross_entropy(gpt.forward(x.traced::<f32>()), &y);
        assert_close!(vec![loss.item()], io.f32s("small.loss"), 1e-5);
        let grads = loss.backward();
        let mut checked = 0;
        gpt.visit_params(&mut Default::default(), &mut |path, p| {
            let name = path.name();
            let key = format!("small.grad.{name}");
            let st = SafeTensors::parse(&io.0).unwrap();
            if st.get(&key).is_some() {
                let got: Vec<f32> = dev.download(grads.by_id(p.id).unwrap());
                assert_close!(got, io.f32s(&key), atol = 1e-5, rtol = 1e-4);
                checked += 1;
            }
        });
        assert_eq!(checked, 10);
    }

    #[test]
    fn gpt_mini_logits_match_pytorch() {
        let dev = seeded(0);
        let mut gpt: GptMini<f32, Dev> = GptMini::new(&dev);
        safetensors::load(&mut gpt, fixture("gpt_torch_mini.safetensors")).unwrap();
        let io = Io::load();
        let logits = gpt.forward(io.ids("mini.ids", &dev));
        assert_eq!(&*logits.dims(), &[2, 64, 96]);
        let err = max_abs_diff(&logits.to_vec(), &io.f32s("mini.logits"));
        assert!(err <= 1e-5, "logits differ by {err}");
    }

    #[test]
    fn gpt_block_matches_pytorch() {
        let dev = seeded(0);
        let mut block = SmallBlock {
            ..Small::new(&dev).blocks[0].clone()
        };
        safetensors::load(&mut block, fixture("gpt_torch_block.safetensors")).unwrap();
        let io = Io::load();
        let x: Tensor<(Dyn, Dyn, u!(16)), f32, Dev> = Tensor::from_vec(
            (Dyn(2), Dyn(5), Default::default()),
            io.f32s("block.x"),
            &dev,
        );
        let r: Tensor<(Dyn, Dyn, u!(16)), f32, Dev> = Tensor::from_vec(
            (Dyn(2), Dyn(5), Default::default()),
            io.f32s("block.r"),
            &dev,
        );
        let y = block.forward(x.clone().trace());
        assert_close!(y.clone().detach(), io.f32s("block.y"), 1e-5);
        let grads = (y * r).sum().backward();
        assert_close!(
            grads.get(&x).unwrap(),
            io.f32s("block.grad_x"),
            atol = 1e-5,
            rtol = 1e-4
        );
        for (name, got) in [
            (
                "ln1.weight",
                grads
                    .get(block.ln1.weight.as_ref().unwrap())
                    .map(|g| g.to_vec()),
            ),
            (
                "attn.qkv.weight",
                grads.get(&block.attn.qkv.weight).map(|g| g.to_vec()),
            ),
            (
                "attn.proj.bias",
                grads
                    .get(block.attn.proj.bias.as_ref().unwrap())
                    .map(|g| g.to_vec()),
            ),
            (
                "mlp.0.weight",
                grads.get(&block.mlp.0.weight).map(|g| g.to_vec()),
            ),
            (
                "mlp.2.bias",
                grads
                    .get(block.mlp.2.bias.as_ref().unwrap())
                    .map(|g| g.to_vec()),
            ),
        ] {
            let key = format!("block.grad.{name}");
            assert_close!(got.unwrap(), io.f32s(&key), atol = 1e-5, rtol = 1e-4);
        }
    }

    #[test]
    fn gpt_block_gradients_match_finite_differences() {
        // f64, 5 and 9 positions: the fused attention reads q, k, v from the
        // packed projection with the row kernel (5) and the product kernels
        // (9, one gradient buffer for the three parts).
        let dev = seeded(4);
        let gpt: Gpt<u!(11), u!(16), u!(16), u!(2), u!(32), 1, f64, Dev> = Gpt::new(&dev);
        let mut block = gpt.blocks[0].clone();
        for t in [5, 9] {
            let x: Tensor<(Dyn, Dyn, u!(16)), f64, Dev> =
                Tensor::randn((Dyn(2), Dyn(t), Default::default()), 0.0, 1.0, &dev);
            typegrad::testing::gradcheck_module(&mut block, &x).unwrap();
        }
    }

    #[test]
    fn forward_cached_gives_the_full_forwards_logits() {
        let dev = seeded(3);
        let gpt = Small::new(&dev);
        let seq = [[1usize, 4, 9, 2, 10, 0, 3, 7], [5, 5, 6, 1, 8, 2, 2, 9]];
        let full = gpt.forward(ids(&[&seq[0], &seq[1]], &dev)).to_vec();
        // Prefill 3 tokens, then one at a time, then a chunk of 2.
        let mut cache = gpt.kv_cache(2);
        let mut got = [Vec::new(), Vec::new()];
        for (start, end) in [(0, 3), (3, 4), (4, 5), (5, 6), (6, 8)] {
            let chunk = ids(&[&seq[0][start..end], &seq[1][start..end]], &dev);
            let logits = gpt.forward_cached(chunk, start, &mut cache).to_vec();
            let n = (end - start) * 11;
            got[0].extend_from_slice(&logits[..n]);
            got[1].extend_from_slice(&logits[n..]);
            assert_eq!(cache.len(), end);
        }
        let got: Vec<f32> = got.concat();
        assert!(max_abs_diff(&got, &full) <= 1e-5);
        // Rewinding: position 2 again overwrites and gives the same logits.
        let again = gpt
            .forward_cached(ids(&[&seq[0][2..3], &seq[1][2..3]], &dev), 2, &mut cache)
            .to_vec();
        assert_eq!(cache.len(), 3);
        assert!(max_abs_diff(&again[..11], &full[2 * 11..3 * 11]) <= 1e-5);
    }

    #[test]
    fn forward_cached_errors_are_clear() {
        let dev = seeded(0);
        let gpt = Small::new(&dev);
        let mut cache = gpt.kv_cache(1);
        let one = ids(&[&[1]], &dev);
        let e = gpt
            .try_forward_cached(one.clone(), 1, &mut cache)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Gpt::forward_cached: position past the cached length (a gap): index 1 out of range for axis 1 of size 0"
        );
        let e = gpt
            .try_forward_cached(ids(&[&[1], &[2]], &dev), 0, &mut cache)
            .unwrap_err();
        assert!(e.to_string().contains("token batch vs cache batch"), "{e}");
        let e = gpt
            .try_forward_cached(ids(&[&[11]], &dev), 0, &mut cache)
            .unwrap_err();
        assert!(e.to_string().contains("index 11"), "{e}");
        let e = gpt
            .try_forward_cached(ids(&[&[1; 9]], &dev), 0, &mut cache)
            .unwrap_err();
        assert!(e.to_string().contains("cache capacity"), "{e}");
        assert!(cache.is_empty());
        let e = gpt
            .try_generate(&[1, 2], 8, Sampling::greedy(), 0)
            .unwrap_err();
        assert_eq!(e.to_string(), "Gpt::generate: prompt + new tokens - 1 > context (Tmax): index 9 out of range for axis 1 of size 8");
        assert_eq!(
            gpt.try_generate(&[1, 2], 7, Sampling::greedy(), 0)
                .unwrap()
                .len(),
            9
        );
        assert!(gpt.try_generate(&[], 3, Sampling::greedy(), 0).is_err());
    }

    #[test]
    fn uncached_generation_slides_past_the_context() {
        let gpt = Small::new(&seeded(1));
        let out = gpt.generate_uncached(&[3, 1], 20, Sampling::temperature(1.0), 5);
        assert_eq!(out.len(), 22);
        assert!(out.iter().all(|&t| t < 11));
        assert_eq!(&out[..2], &[3, 1]);
    }

    #[test]
    fn dropout_is_off_by_default_and_only_in_training() {
        let dev = seeded(0);
        let gpt = Small::new(&dev);
        let x = ids(&[&[1, 2, 3, 4]], &dev);
        let eval = gpt.forward(x.clone()).to_vec();
        // No dropout configured: training mode gives the same logits.
        assert_eq!(gpt.forward(x.clone().traced::<f32>()).to_vec(), eval);
        let dropped = gpt.clone().with_dropout(0.5);
        assert_eq!(dropped.forward(x.clone()).to_vec(), eval);
        assert_ne!(dropped.forward(x.traced::<f32>()).to_vec(), eval);
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

        /// With the causal mask, the logits at positions `0..=t` do not depend
        /// on the tokens after `t`.
        #[test]
        fn logits_ignore_later_tokens(
            seed in 0u64..1000,
            seq in prop::collection::vec(0usize..11, 2..=8),
            other in prop::collection::vec(0usize..11, 8),
            t in 0usize..7,
        ) {
            let dev = seeded(seed);
            let gpt = Small::new(&dev);
            let t = t % (seq.len() - 1);
            let mut changed = seq.clone();
            for (i, c) in changed.iter_mut().enumerate().skip(t + 1) {
                *c = other[i];
            }
            let a = gpt.forward(ids(&[&seq], &dev)).to_vec();
            let b = gpt.forward(ids(&[&changed], &dev)).to_vec();
            let n = (t + 1) * 11;
            prop_assert!(max_abs_diff(&a[..n], &b[..n]) <= 1e-6);
        }

        /// KV-cache generation gives the tokens of full recompute, token for
        /// token (greedy, and sampled with the same seed).
        #[test]
        fn kv_cache_generation_equals_full_recompute(
            seed in 0u64..1000,
            prompt in prop::collection::vec(0usize..11, 1..=4),
            n in 1usize..=5,
            sample_seed in 0u64..1000,
        ) {
            let gpt = Small::new(&seeded(seed));
            let greedy = gpt.generate(&prompt, n, Sampling::greedy(), 0);
            prop_assert_eq!(&greedy, &gpt.generate_uncached(&prompt, n, Sampling::greedy(), 0));
            prop_assert_eq!(greedy.len(), prompt.len() + n);
            prop_assert_eq!(&greedy[..prompt.len()], &prompt[..]);
            let s = Sampling::temperature(0.9).top_k(5);
            let cached = gpt.generate(&prompt, n, s, sample_seed);
            prop_assert_eq!(&cached, &gpt.generate_uncached(&prompt, n, s, sample_seed));
            // The same seed gives the same sample; top-k 1 and temperature 0 are greedy.
            prop_assert_eq!(&cached, &gpt.generate(&prompt, n, s, sample_seed));
            prop_assert_eq!(&greedy, &gpt.generate(&prompt, n, Sampling::temperature(1.5).top_k(1), sample_seed));
            prop_assert_eq!(&greedy, &gpt.generate(&prompt, n, Sampling::temperature(0.0), sample_seed));
        }
    }

    #[test]
    fn gpt_mini_kv_cache_generation_equals_full_recompute() {
        let gpt: GptMini<f32, Dev> = GptMini::new(&seeded(9));
        for prompt in [&[5usize][..], &[1, 2, 3, 95], &[40; 10]] {
            let n = 64 - prompt.len() + 1;
            assert_eq!(
                gpt.generate(prompt, n, Sampling::greedy(), 0),
                gpt.generate_uncached(prompt, n, Sampling::greedy(), 0)
            );
        }
    }
}

// `Sampling` works on host logits (no tensor, no device): one copy.
#[test]
fn sampling_rules() {
    let logits = [0.5f32, 3.0, 2.9, -1.0, 3.0];
    let mut rng = Sampling::rng(0);
    // Greedy takes the first maximum, as torch.argmax.
    assert_eq!(Sampling::greedy().pick(&logits, &mut rng), 1);
    assert_eq!(
        Sampling::temperature(2.0).top_k(1).pick(&logits, &mut rng),
        1
    );
    // Temperature towards 0: the arg-max (here unique).
    let l2 = [0.5f32, 3.0, 2.9, -1.0];
    assert!((0..200).all(|_| Sampling::temperature(1e-3).pick(&l2, &mut rng) == 1));
    // Top-2 of a tie-free row: only the two largest appear, both do.
    let mut seen = [0usize; 4];
    for _ in 0..2000 {
        seen[Sampling::temperature(1.0).top_k(2).pick(&l2, &mut rng)] += 1;
    }
    assert_eq!((seen[0], seen[3]), (0, 0));
    // P(1) / P(2) = e^0.1 at temperature 1.
    let ratio = seen[1] as f64 / seen[2] as f64;
    assert!((ratio - 0.1f64.exp()).abs() < 0.15, "{ratio}");
    // At temperature 1 without top-k the draw follows softmax.
    let mut counts = [0usize; 4];
    let n = 20_000;
    for _ in 0..n {
        counts[Sampling::temperature(1.0).pick(&l2, &mut rng)] += 1;
    }
    let z: f64 = l2.iter().map(|&v| (v as f64).exp()).sum();
    for (i, &c) in counts.iter().enumerate() {
        let p = (l2[i] as f64).exp() / z;
        assert!((c as f64 / n as f64 - p).abs() < 0.02, "token {i}");
    }
}
