//! Loss tests: values against plain f64 loops written here and hand-derived
//! numbers, PyTorch fixtures (`tests/fixtures/loss_torch.py`), gradients
//! against finite differences, and proptests of the invariants.

use proptest::prelude::*;
use std::collections::HashMap;
use typegrad::loss::{
    binary_cross_entropy_with_logits, cross_entropy, mse_loss, perplexity, triplet_margin_loss,
    try_binary_cross_entropy_with_logits, try_cross_entropy, try_mse_loss, try_triplet_margin_loss,
    CrossEntropy,
};
use typegrad::prelude::*;
use typegrad::testing::{assert_close, gradcheck, Traced};

typegrad::per_device! {
    // ------------------------------------------------------------ references

    /// Cross-entropy with label smoothing and an ignored index, PyTorch's
    /// definition, in plain f64 loops: (mean loss, d loss / d logits).
    fn ref_ce(
        x: &[f64],
        c: usize,
        targets: &[usize],
        eps: f64,
        ignore: Option<usize>,
    ) -> (f64, Vec<f64>) {
        let rows = targets.len();
        let counted = targets.iter().filter(|&&t| Some(t) != ignore).count();
        let mut total = 0.0;
        let mut grad = vec![0.0; x.len()];
        for r in 0..rows {
            let t = targets[r];
            if Some(t) == ignore {
                continue;
            }
            let row = &x[r * c..(r + 1) * c];
            let m = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let lse = m + row.iter().map(|v| (v - m).exp()).sum::<f64>().ln();
            let mut l = 0.0;
            for k in 0..c {
                let q = if k == t { 1.0 - eps } else { 0.0 } + eps / c as f64;
                l += q * (lse - row[k]);
                grad[r * c + k] = ((row[k] - lse).exp() - q) / counted as f64;
            }
            total += l;
        }
        let mean = if counted == 0 {
            0.0
        } else {
            total / counted as f64
        };
        (mean, grad)
    }

    fn sigmoid(x: f64) -> f64 {
        1.0 / (1.0 + (-x).exp())
    }

    /// The textbook BCE: `-y ln σ(x) - (1 - y) ln(1 - σ(x))`, mean.
    fn ref_bce_naive(x: &[f64], y: &[f64]) -> f64 {
        let s: f64 = x
            .iter()
            .zip(y)
            .map(|(&x, &y)| -y * sigmoid(x).ln() - (1.0 - y) * (1.0 - sigmoid(x)).ln())
            .sum();
        s / x.len() as f64
    }

    /// Triplet margin loss in loops (`‖a - p + 1e-6‖` as PyTorch).
    fn ref_triplet(a: &[f64], p: &[f64], n: &[f64], f: usize, margin: f64) -> f64 {
        let rows = a.len() / f;
        let dist = |x: &[f64], y: &[f64]| -> f64 {
            x.iter()
                .zip(y)
                .map(|(u, v)| (u - v + 1e-6).powi(2))
                .sum::<f64>()
                .sqrt()
        };
        let mut s = 0.0;
        for r in 0..rows {
            let rg = r * f..(r + 1) * f;
            let d = dist(&a[rg.clone()], &p[rg.clone()]) - dist(&a[rg.clone()], &n[rg]) + margin;
            s += d.max(0.0);
        }
        s / rows as f64
    }


    fn logits2(r: usize, c: usize, v: Vec<f64>) -> Tensor<(Dyn, Dyn), f64, Dev> {
        Tensor::from_vec((Dyn(r), Dyn(c)), v, &dev())
    }

    fn idx1(v: Vec<usize>) -> Tensor<(Dyn,), usize, Dev> {
        Tensor::from_vec((Dyn(v.len()),), v, &dev())
    }

    /// Deterministic values in about [-3, 3].
    fn values(n: usize, seed: f64) -> Vec<f64> {
        (0..n)
            .map(|i| ((i as f64 + seed) * 1.618_034).sin() * 3.0)
            .collect()
    }

    // ------------------------------------------------------------ cross-entropy

    #[test]
    fn ce_hand_value() {
        // ln(e + e² + e³) - 3 = ln(1 + e⁻¹ + e⁻²).
        let expected = (1.0 + (-1.0f64).exp() + (-2.0f64).exp()).ln();
        assert!((expected - 0.407_605_964_444_380_9).abs() < 1e-15);
        let l = cross_entropy(logits2(1, 3, vec![1.0, 2.0, 3.0]), &idx1(vec![2])).item();
        assert!((l - expected).abs() < 1e-15, "{l}");
        let x32 = Tensor::<(u!(1), u!(3)), f32, Dev>::from_vec_static(vec![1.0, 2.0, 3.0], &dev());
        let t32 = Tensor::<(u!(1),), usize, Dev>::from_vec_static(vec![2], &dev());
        let l32 = cross_entropy(x32, &t32).item();
        assert!((l32 as f64 - expected).abs() < 1e-6, "{l32}");
    }

    #[test]
    fn ce_label_smoothing_hand_value() {
        // Logits (1, 2, 3), target 2, ε = 0.1: lse = 3 + ln(1 + e⁻¹ + e⁻²);
        // ℓ = 0.9 (lse - 3) + 0.1/3 · Σ_c (lse - x_c) = 0.9 (lse - 3) + 0.1/3 (3 lse - 6).
        let lse = 3.0 + (1.0 + (-1.0f64).exp() + (-2.0f64).exp()).ln();
        let expected = 0.9 * (lse - 3.0) + 0.1 / 3.0 * (3.0 * lse - 6.0);
        assert!((expected - 0.507_605_964_444_380_9).abs() < 1e-12);
        let ce = CrossEntropy {
            label_smoothing: 0.1,
            ignore_index: None,
        };
        let l = ce
            .loss(logits2(1, 3, vec![1.0, 2.0, 3.0]), &idx1(vec![2]))
            .item();
        assert!((l - expected).abs() < 1e-14, "{l} vs {expected}");
        // ε = 1: the target is uniform, the label does not matter.
        let ce1 = CrossEntropy {
            label_smoothing: 1.0,
            ignore_index: None,
        };
        let a = ce1
            .loss(logits2(1, 3, vec![1.0, 2.0, 3.0]), &idx1(vec![0]))
            .item();
        let b = ce1
            .loss(logits2(1, 3, vec![1.0, 2.0, 3.0]), &idx1(vec![2]))
            .item();
        assert!((a - b).abs() < 1e-15 && (a - (lse - 2.0)).abs() < 1e-14);
    }

    #[test]
    fn ce_matches_reference_loops() {
        let cases: &[(usize, usize, f64, Option<usize>)] = &[
            (1, 1, 0.0, None),
            (3, 4, 0.0, None),
            (5, 7, 0.3, None),
            (6, 3, 0.0, Some(1)),
            (8, 5, 0.2, Some(4)),
            (4, 2, 0.5, Some(100)), // an ignore index that is not a class
            (33, 17, 0.05, Some(0)),
        ];
        for (k, &(rows, c, eps, ignore)) in cases.iter().enumerate() {
            let x = values(rows * c, k as f64);
            let t: Vec<usize> = (0..rows).map(|r| (r * 7 + k) % c).collect();
            let (want, want_g) = ref_ce(&x, c, &t, eps, ignore);
            let ce = CrossEntropy {
                label_smoothing: eps,
                ignore_index: ignore,
            };
            let xt = logits2(rows, c, x.clone());
            let loss = ce.loss(xt.clone().trace(), &idx1(t.clone()));
            assert!(
                (loss.item() - want).abs() < 1e-12,
                "case {k}: {} vs {want}",
                loss.item()
            );
            let g = loss.backward().get(&xt).unwrap().to_vec();
            assert_close!(&g, &want_g, 1e-12);
        }
    }

    #[test]
    fn ce_ignore_index_counts_only_kept_rows() {
        // Rows 0 and 2 ignored: the mean is over rows 1 and 3 alone.
        let x = values(4 * 3, 0.5);
        let t = vec![1, 0, 1, 2];
        let ce = CrossEntropy {
            label_smoothing: 0.0,
            ignore_index: Some(1),
        };
        let xt = logits2(4, 3, x.clone());
        let loss = ce.loss(xt.clone().trace(), &idx1(t));
        let only = cross_entropy(
            logits2(2, 3, [&x[3..6], &x[9..12]].concat()),
            &idx1(vec![0, 2]),
        );
        assert!((loss.item() - only.item()).abs() < 1e-15);
        let g = loss.backward().get(&xt).unwrap().to_vec();
        assert_eq!(&g[0..3], &[0.0; 3]);
        assert_eq!(&g[6..9], &[0.0; 3]);
        assert!(g[3..6].iter().any(|&v| v != 0.0));
    }

    #[test]
    fn ce_all_ignored_is_zero_with_zero_gradient() {
        // Documented choice: 0 loss, 0 gradient (PyTorch gives NaN).
        let xt = logits2(3, 4, values(12, 1.0));
        let ce = CrossEntropy {
            label_smoothing: 0.1,
            ignore_index: Some(9),
        };
        let loss = ce.loss(xt.clone().trace(), &idx1(vec![9, 9, 9]));
        assert_eq!(loss.item(), 0.0);
        assert_eq!(loss.backward().get(&xt).unwrap().to_vec(), vec![0.0; 12]);
        // An empty batch, likewise.
        let empty = logits2(0, 4, vec![]);
        let loss = cross_entropy(empty.clone().trace(), &idx1(vec![]));
        assert_eq!(loss.item(), 0.0);
        assert!(loss.backward().get(&empty).unwrap().to_vec().is_empty());
    }

    #[test]
    fn ce_stable_at_1e4_f32() {
        let dev = dev();
        let x = vec![1e4f32, -1e4, 0.0, -1e4, 1e4, 1e4, 5e3, -5e3, 1e4];
        let xt = Tensor::<(Dyn, u!(3)), f32, Dev>::from_vec((Dyn(3), Default::default()), x.clone(), &dev);
        let t = idx1(vec![1, 0, 1]);
        for eps in [0.0, 0.1] {
            let ce = CrossEntropy {
                label_smoothing: eps,
                ignore_index: None,
            };
            let loss = ce.loss(xt.clone().trace(), &t);
            let xf: Vec<f64> = x.iter().map(|&v| v as f64).collect();
            let (want, want_g) = ref_ce(&xf, 3, &[1, 0, 1], eps, None);
            let l = loss.item();
            assert!(l.is_finite());
            assert!(
                ((l as f64) - want).abs() <= 1e-6 * want.abs().max(1.0),
                "{l} vs {want}"
            );
            let g = loss.backward().get(&xt).unwrap().to_vec();
            assert!(g.iter().all(|v| v.is_finite()));
            let g: Vec<f64> = g.iter().map(|&v| v as f64).collect();
            assert_close!(&g, &want_g, 1e-6);
        }
    }

    #[test]
    fn ce_three_dims_equals_flattened() {
        let (b, t, c) = (2, 3, 5);
        let x = values(b * t * c, 2.0);
        let tg = vec![0, 4, 2, 9, 1, 3];
        let ce = CrossEntropy {
            label_smoothing: 0.15,
            ignore_index: Some(9),
        };
        let x3: Tensor<(Dyn, Dyn, u!(5)), f64, Dev> =
            Tensor::from_vec((Dyn(b), Dyn(t), Default::default()), x.clone(), &dev());
        let t2: Tensor<(Dyn, Dyn), usize, Dev> = Tensor::from_vec((Dyn(b), Dyn(t)), tg.clone(), &dev());
        let l3 = ce.loss(x3.clone().trace(), &t2);
        let (want, want_g) = ref_ce(&x, c, &tg, 0.15, Some(9));
        assert!((l3.item() - want).abs() < 1e-13);
        let flat = ce.loss(logits2(b * t, c, x), &idx1(tg)).item();
        assert_eq!(l3.item(), flat);
        let g = l3.backward().get(&x3).unwrap();
        assert_eq!(&*g.dims(), &[2, 3, 5]);
        assert_close!(&g.to_vec(), &want_g, 1e-13);
    }

    #[test]
    fn ce_unbatched_logits() {
        let x = Tensor::<(u!(3),), f64, Dev>::from_vec_static(vec![1.0, 2.0, 3.0], &dev());
        let t = Tensor::<(), usize, Dev>::from_vec((), vec![2], &dev());
        let l = cross_entropy(x, &t).item();
        assert!((l - 0.407_605_964_444_380_9).abs() < 1e-15);
    }

    #[test]
    fn ce_target_out_of_range_is_a_clear_error() {
        let xt: Tensor<(Dyn, u!(10)), f32, Dev> = Tensor::zeros((Dyn(3), Default::default()), &dev());
        let e = try_cross_entropy(xt.clone(), &idx1(vec![0, 10, 3])).unwrap_err();
        assert_eq!(
            e,
            Error::IndexOutOfRange {
                op: "cross_entropy target",
                axis: 1,
                index: 10,
                size: 10
            }
        );
        assert_eq!(
            e.to_string(),
            "cross_entropy target: index 10 out of range for axis 1 of size 10"
        );
        // The class axis is named by its number in a (B, T, C) tensor too.
        let x3: Tensor<(Dyn, Dyn, Dyn), f64, Dev> = Tensor::zeros((Dyn(1), Dyn(2), Dyn(4)), &dev());
        let t2: Tensor<(Dyn, Dyn), usize, Dev> = Tensor::from_vec((Dyn(1), Dyn(2)), vec![1, 77], &dev());
        let e = try_cross_entropy(x3, &t2).unwrap_err().to_string();
        assert_eq!(
            e,
            "cross_entropy target: index 77 out of range for axis 2 of size 4"
        );
    }

    #[test]
    #[should_panic(expected = "cross_entropy target: index 12 out of range for axis 1 of size 5")]
    fn ce_target_out_of_range_panics_with_the_message() {
        let _ = cross_entropy(logits2(2, 5, vec![0.0; 10]), &idx1(vec![1, 12]));
    }

    #[test]
    fn ce_bad_options_and_shapes_are_errors() {
        for eps in [-0.1, 1.5, f64::NAN] {
            let ce = CrossEntropy {
                label_smoothing: eps,
                ignore_index: None,
            };
            let e = ce
                .try_loss(logits2(1, 2, vec![0.0; 2]), &idx1(vec![0]))
                .unwrap_err();
            assert_eq!(
                e.to_string(),
                "cross_entropy: label_smoothing must be in [0, 1]"
            );
        }
        let e = try_cross_entropy(logits2(3, 2, vec![0.0; 6]), &idx1(vec![0, 1])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "cross_entropy: dimension mismatch on axis 0 (targets vs logits without the class axis): got 2, expected 3"
        );
    }

    #[test]
    fn ce_equals_log_softmax_gather() {
        // The composition it replaces: -mean(log_softmax(x)[t]).
        let x = values(6 * 4, 3.0);
        let t = vec![3, 0, 1, 1, 2, 0];
        let fused = cross_entropy(logits2(6, 4, x.clone()), &idx1(t.clone())).item();
        let composed = -logits2(6, 4, x)
            .log_softmax::<1>()
            .gather::<1>(&idx1(t))
            .mean()
            .item();
        assert!((fused - composed).abs() < 1e-14);
    }

    #[test]
    fn ce_gradcheck() {
        let t = idx1(vec![2, 0, 3, 1, 2]);
        let x = logits2(5, 4, values(20, 4.0));
        for (eps, ignore) in [(0.0, None), (0.2, None), (0.1, Some(2)), (0.0, Some(0))] {
            let ce = CrossEntropy {
                label_smoothing: eps,
                ignore_index: ignore,
            };
            gradcheck(&x, |x| ce.loss(x, &t)).unwrap();
        }
        // Through a model: the gradient reaches a weight via matmul.
        let w = logits2(3, 4, values(12, 5.0));
        let inp = logits2(5, 3, values(15, 6.0));
        gradcheck(&w, |w: Traced<(Dyn, Dyn), f64, Dev>| {
            cross_entropy(inp.clone().matmul(w), &t)
        })
        .unwrap();
    }

    #[test]
    fn ce_matches_pytorch() {
        let fx = fixtures();
        for name in [
            "ce_plain",
            "ce_smooth",
            "ce_ignore",
            "ce_smooth_ignore",
            "ce_3d",
        ] {
            let get = |k: &str| fx[&format!("{name}.{k}")].clone();
            let dims: Vec<usize> = get("dims").iter().map(|&v| v as usize).collect();
            let c = *dims.last().unwrap();
            let rows: usize = dims[..dims.len() - 1].iter().product();
            let t: Vec<usize> = get("targets").iter().map(|&v| v as usize).collect();
            let ce = CrossEntropy {
                label_smoothing: get("smoothing")[0],
                ignore_index: get("ignore").first().map(|&v| v as usize),
            };
            let x = logits2(rows, c, get("x"));
            let loss = ce.loss(x.clone().trace(), &idx1(t));
            assert!(
                (loss.item() - get("loss")[0]).abs() < 1e-12,
                "{name}: {} vs torch {}",
                loss.item(),
                get("loss")[0]
            );
            let g = loss.backward().get(&x).unwrap().to_vec();
            assert_close!(&g, &get("grad"), 1e-12);
        }
        // f32 logits of magnitude 1e4.
        let get = |k: &str| fx[&format!("ce_big_f32.{k}")].clone();
        let x: Vec<f32> = get("x").iter().map(|&v| v as f32).collect();
        let xt = Tensor::<(Dyn, Dyn), f32, Dev>::from_vec((Dyn(3), Dyn(4)), x, &dev());
        let t: Vec<usize> = get("targets").iter().map(|&v| v as usize).collect();
        let ce = CrossEntropy {
            label_smoothing: 0.1,
            ignore_index: None,
        };
        let loss = ce.loss(xt.clone().trace(), &idx1(t));
        let want = get("loss")[0];
        assert!(
            ((loss.item() as f64) - want).abs() <= 1e-6 * want,
            "{} vs {want}",
            loss.item()
        );
        let g: Vec<f64> = loss
            .backward()
            .get(&xt)
            .unwrap()
            .to_vec()
            .iter()
            .map(|&v| v as f64)
            .collect();
        assert_close!(&g, &get("grad"), 1e-6);
    }

    // ------------------------------------------------------------ BCE

    #[test]
    fn bce_matches_naive_formula_and_hand_values() {
        let x = values(12, 7.0);
        let y: Vec<f64> = (0..12).map(|i| (i % 5) as f64 / 4.0).collect();
        let xt = logits2(3, 4, x.clone());
        let l = binary_cross_entropy_with_logits(xt, &logits2(3, 4, y.clone())).item();
        assert!((l - ref_bce_naive(&x, &y)).abs() < 1e-14);
        // x = 0: ln 2 whatever y.
        let z = binary_cross_entropy_with_logits(
            logits2(1, 2, vec![0.0; 2]),
            &logits2(1, 2, vec![0.0, 1.0]),
        );
        assert!((z.item() - std::f64::consts::LN_2).abs() < 1e-15);
    }

    #[test]
    fn bce_stable_at_1e4() {
        let dev = dev();
        let x = Tensor::<(u!(4),), f32, Dev>::from_vec_static(vec![1e4, -1e4, 1e4, -1e4], &dev);
        let y = Tensor::<(u!(4),), f32, Dev>::from_vec_static(vec![1.0, 0.0, 0.0, 1.0], &dev);
        // Right answers cost 0, wrong ones 1e4.
        let loss = binary_cross_entropy_with_logits(x.clone().trace(), &y);
        assert_eq!(loss.item(), 1e4 / 2.0);
        let g = loss.backward().get(&x).unwrap().to_vec();
        assert_eq!(g, vec![0.0, 0.0, 0.25, -0.25]);
    }

    #[test]
    fn bce_gradient_at_zero_is_half_minus_target() {
        let x = logits2(1, 3, vec![0.0; 3]);
        let y = logits2(1, 3, vec![0.0, 0.5, 1.0]);
        let loss = binary_cross_entropy_with_logits(x.clone().trace(), &y);
        let g = loss.backward().get(&x).unwrap().to_vec();
        assert_close!(&g, &[0.5 / 3.0, 0.0, -0.5 / 3.0], 1e-15);
    }

    #[test]
    fn bce_gradcheck_logits_and_targets() {
        let x = logits2(3, 4, values(12, 8.0));
        let y = logits2(3, 4, (0..12).map(|i| (i as f64 * 0.37).fract()).collect());
        gradcheck(&x, |x| binary_cross_entropy_with_logits(x, &y)).unwrap();
        gradcheck(&y, |y| binary_cross_entropy_with_logits(x.clone(), &y)).unwrap();
    }

    #[test]
    fn bce_matches_pytorch() {
        let fx = fixtures();
        let x = logits2(3, 4, fx["bce.x"].clone());
        let y = logits2(3, 4, fx["bce.y"].clone());
        let loss = binary_cross_entropy_with_logits(x.clone().trace(), &y.clone().trace());
        assert!((loss.item() - fx["bce.loss"][0]).abs() < 1e-14);
        let grads = loss.backward();
        assert_close!(&grads.get(&x).unwrap().to_vec(), &fx["bce.grad_x"], 1e-13);
        assert_close!(&grads.get(&y).unwrap().to_vec(), &fx["bce.grad_y"], 1e-13);
    }

    #[test]
    fn bce_errors() {
        let e = try_binary_cross_entropy_with_logits(
            logits2(2, 3, vec![0.0; 6]),
            &logits2(3, 2, vec![0.0; 6]),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "binary_cross_entropy_with_logits: dimension mismatch on axis 0 (targets vs logits): got 3, expected 2"
        );
    }

    #[test]
    fn bce_large_input_is_deterministic_and_accurate() {
        // Past the parallel threshold: blocks summed in a fixed order.
        let n = 300_000;
        let x: Vec<f64> = (0..n).map(|i| ((i as f64) * 0.001).sin() * 4.0).collect();
        let y: Vec<f64> = (0..n).map(|i| (i % 3) as f64 / 2.0).collect();
        let xt = Tensor::<(Dyn,), f64, Dev>::from_vec((Dyn(n),), x.clone(), &dev());
        let yt = Tensor::<(Dyn,), f64, Dev>::from_vec((Dyn(n),), y.clone(), &dev());
        let a = binary_cross_entropy_with_logits(xt.clone(), &yt).item();
        let b = binary_cross_entropy_with_logits(xt, &yt).item();
        assert_eq!(a, b);
        assert!((a - ref_bce_naive(&x, &y)).abs() < 1e-12);
    }

    // ------------------------------------------------------------ MSE

    #[test]
    fn mse_values_gradients_and_tracked_target() {
        let p = logits2(2, 3, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let t = logits2(2, 3, vec![1.5, 2.0, 1.0, 4.0, 8.0, 6.0]);
        // (0.25 + 0 + 4 + 0 + 9 + 0) / 6
        let loss = mse_loss(p.clone().trace(), &t.clone().trace());
        assert!((loss.item() - 13.25 / 6.0).abs() < 1e-15);
        let grads = loss.backward();
        let gp = grads.get(&p).unwrap().to_vec();
        let gt = grads.get(&t).unwrap().to_vec();
        let want: Vec<f64> = [-0.5, 0.0, 2.0, 0.0, -3.0, 0.0]
            .iter()
            .map(|d| 2.0 * d / 6.0)
            .collect();
        assert_close!(&gp, &want, 1e-15);
        assert_close!(&gt, &want.iter().map(|v| -v).collect::<Vec<_>>(), 1e-15);
        gradcheck(&p, |p| mse_loss(p, &t)).unwrap();
        gradcheck(&t, |t| mse_loss(p.clone(), &t)).unwrap();
    }

    #[test]
    fn mse_matches_pytorch_and_rejects_mismatches() {
        let fx = fixtures();
        let x = logits2(2, 3, fx["mse.x"].clone());
        let y = logits2(2, 3, fx["mse.y"].clone());
        let loss = mse_loss(x.clone().trace(), &y.clone().trace());
        assert!((loss.item() - fx["mse.loss"][0]).abs() < 1e-14);
        let g = loss.backward();
        assert_close!(&g.get(&x).unwrap().to_vec(), &fx["mse.grad_x"], 1e-14);
        assert_close!(&g.get(&y).unwrap().to_vec(), &fx["mse.grad_y"], 1e-14);
        // A (3,) prediction against (3, 1) would broadcast in numpy; here the
        // shapes are different types with different ranks, so only same-rank
        // runtime mismatches remain, and they are errors.
        let e = try_mse_loss(logits2(3, 1, vec![0.0; 3]), &logits2(1, 3, vec![0.0; 3])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "mse_loss: dimension mismatch on axis 0 (target vs prediction): got 1, expected 3"
        );
        let e = try_mse_loss(logits2(0, 3, vec![]), &logits2(0, 3, vec![])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "mse_loss: the tensor has 0 elements, the reduction needs at least 1"
        );
    }

    // ------------------------------------------------------------ triplet

    #[test]
    fn triplet_hand_value() {
        // a = 0; p at distance 5 (3-4-5), n at distance 1: max(0, 5 - 1 + 0.5) = 4.5.
        let a = logits2(1, 2, vec![0.0, 0.0]);
        let p = logits2(1, 2, vec![3.0, 4.0]);
        let n = logits2(1, 2, vec![1.0, 0.0]);
        let l = triplet_margin_loss(a, p, n, 0.5).item();
        // With ε = 1e-6 inside: ‖(3, 4) + ε‖ - ‖(1, 0) + ε‖ (signs: a - p = (-3, -4)).
        let want = ((-3.0f64 + 1e-6).powi(2) + (-4.0f64 + 1e-6).powi(2)).sqrt()
            - ((-1.0f64 + 1e-6).powi(2) + (1e-6f64).powi(2)).sqrt()
            + 0.5;
        assert!((l - want).abs() < 1e-14 && (l - 4.5).abs() < 1e-5, "{l}");
    }

    #[test]
    fn triplet_matches_reference_and_pytorch() {
        let (b, f) = (7, 4);
        let (a, p, n) = (values(b * f, 1.0), values(b * f, 2.0), values(b * f, 3.0));
        let l = triplet_margin_loss(
            logits2(b, f, a.clone()),
            logits2(b, f, p.clone()),
            logits2(b, f, n.clone()),
            1.0,
        )
        .item();
        assert!((l - ref_triplet(&a, &p, &n, f, 1.0)).abs() < 1e-14);

        let fx = fixtures();
        let [a, p, n] = ["a", "p", "n"].map(|k| logits2(5, 3, fx[&format!("triplet.{k}")].clone()));
        let tape = Tape::default();
        let loss = triplet_margin_loss(
            a.clone().trace_into(&tape),
            p.clone().trace_into(&tape),
            n.clone().trace_into(&tape),
            fx["triplet.margin"][0],
        );
        assert!((loss.item() - fx["triplet.loss"][0]).abs() < 1e-14);
        let g = loss.backward();
        assert_close!(&g.get(&a).unwrap().to_vec(), &fx["triplet.grad_a"], 1e-12);
        assert_close!(&g.get(&p).unwrap().to_vec(), &fx["triplet.grad_p"], 1e-12);
        assert_close!(&g.get(&n).unwrap().to_vec(), &fx["triplet.grad_n"], 1e-12);
    }

    #[test]
    fn triplet_gradcheck_and_errors() {
        let (a, p, n) = (
            logits2(4, 3, values(12, 1.5)),
            logits2(4, 3, values(12, 2.5)),
            logits2(4, 3, values(12, 3.5)),
        );
        // Away from the hinge (checked), so the loss is smooth around the point.
        let per: Vec<f64> = (0..4)
            .map(|r| {
                ref_triplet(
                    &a.to_vec()[r * 3..r * 3 + 3],
                    &p.to_vec()[r * 3..r * 3 + 3],
                    &n.to_vec()[r * 3..r * 3 + 3],
                    3,
                    0.3,
                )
            })
            .collect();
        assert!(per.iter().all(|&v| v > 1e-3 || v == 0.0));
        let pt = p.clone();
        let nt = n.clone();
        gradcheck(&a, |a: Traced<(Dyn, Dyn), f64, Dev>| {
            let tape = a.tape().clone();
            triplet_margin_loss(
                a,
                pt.clone().trace_into(&tape),
                nt.clone().trace_into(&tape),
                0.3,
            )
        })
        .unwrap();
        let e = try_triplet_margin_loss(
            logits2(0, 3, vec![]),
            logits2(0, 3, vec![]),
            logits2(0, 3, vec![]),
            1.0,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "triplet_margin_loss: the tensor has 0 elements, the reduction needs at least 1"
        );
    }

    // ------------------------------------------------------------ perplexity

    #[test]
    fn perplexity_values() {
        assert_eq!(perplexity(0.0f64), 1.0);
        assert!((perplexity(10f64.ln()) - 10.0).abs() < 1e-12);
        // A uniform model over V classes has perplexity V.
        let v = 37;
        let logits = logits2(6, v, vec![0.25; 6 * v]);
        let t = idx1(vec![0, 5, 36, 2, 2, 9]);
        assert!((perplexity(cross_entropy(logits, &t).item()) - v as f64).abs() < 1e-10);
    }

    // ------------------------------------------------------------ proptests

    fn arb_ce() -> impl Strategy<Value = (usize, usize, Vec<f64>, Vec<usize>, f64, Option<usize>)> {
        (1usize..8, 1usize..9).prop_flat_map(|(rows, c)| {
            (
                Just(rows),
                Just(c),
                proptest::collection::vec(-20.0..20.0f64, rows * c),
                proptest::collection::vec(0..c, rows),
                prop_oneof![Just(0.0), 0.0..=1.0f64],
                prop_oneof![Just(None), (0..c).prop_map(Some)],
            )
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]

        #[test]
        fn prop_ce_nonnegative_and_matches_reference((rows, c, x, t, eps, ignore) in arb_ce()) {
            let ce = CrossEntropy { label_smoothing: eps, ignore_index: ignore };
            let xt = logits2(rows, c, x.clone());
            let loss = ce.loss(xt.clone().trace(), &idx1(t.clone()));
            let l = loss.item();
            let (want, want_g) = ref_ce(&x, c, &t, eps, ignore);
            prop_assert!(l >= 0.0, "negative loss {l}");
            prop_assert!((l - want).abs() <= 1e-12 * (1.0 + want.abs()), "{l} vs {want}");
            let g = loss.backward().get(&xt).unwrap().to_vec();
            for (a, b) in g.iter().zip(&want_g) {
                prop_assert!((a - b).abs() <= 1e-12, "{a} vs {b}");
            }
            // Each row's gradient sums to 0 (softmax and q both sum to 1).
            for r in 0..rows {
                let s: f64 = g[r * c..(r + 1) * c].iter().sum();
                prop_assert!(s.abs() < 1e-12);
            }
        }

        #[test]
        fn prop_ce_is_minus_log_softmax_at_target((rows, c, x, t, _eps, _ig) in arb_ce()) {
            let l = cross_entropy(logits2(rows, c, x.clone()), &idx1(t.clone())).item();
            let lp = logits2(rows, c, x).log_softmax::<1>().to_vec();
            let want = -(0..rows).map(|r| lp[r * c + t[r]]).sum::<f64>() / rows as f64;
            prop_assert!((l - want).abs() <= 1e-12 * (1.0 + want.abs()));
        }

        #[test]
        fn prop_ce_stable_at_1e4_f32(
            (rows, c, x, t, eps, ignore) in arb_ce(),
        ) {
            // Scale to ±1e4 in f32: finite, and as accurate as f32 allows.
            let x32: Vec<f32> = x.iter().map(|v| (v * 500.0) as f32).collect();
            let xt = Tensor::<(Dyn, Dyn), f32, Dev>::from_vec((Dyn(rows), Dyn(c)), x32.clone(), &dev());
            let ce = CrossEntropy { label_smoothing: eps, ignore_index: ignore };
            let loss = ce.loss(xt.clone().trace(), &idx1(t.clone()));
            let l = loss.item() as f64;
            let xf: Vec<f64> = x32.iter().map(|&v| v as f64).collect();
            let (want, _) = ref_ce(&xf, c, &t, eps, ignore);
            prop_assert!(l.is_finite());
            prop_assert!((l - want).abs() <= 2e-6 * (1.0 + want.abs()) + 1e-3, "{l} vs {want}");
            let g = loss.backward().get(&xt).unwrap().to_vec();
            prop_assert!(g.iter().all(|v| v.is_finite()));
        }

        #[test]
        fn prop_bce_matches_naive_and_is_stable(
            x in proptest::collection::vec(-15.0..15.0f64, 1..40),
            seed in 0u32..1000,
        ) {
            let n = x.len();
            let y: Vec<f64> = (0..n).map(|i| ((i as u32 * 31 + seed) % 101) as f64 / 100.0).collect();
            let xt = Tensor::<(Dyn,), f64, Dev>::from_vec((Dyn(n),), x.clone(), &dev());
            let yt = Tensor::<(Dyn,), f64, Dev>::from_vec((Dyn(n),), y.clone(), &dev());
            let l = binary_cross_entropy_with_logits(xt.clone().trace(), &yt);
            let want = ref_bce_naive(&x, &y);
            prop_assert!((l.item() - want).abs() <= 1e-10 * (1.0 + want.abs()), "{} vs {want}", l.item());
            let g = l.backward().get(&xt).unwrap().to_vec();
            for i in 0..n {
                prop_assert!((g[i] - (sigmoid(x[i]) - y[i]) / n as f64).abs() < 1e-15);
            }
            // Scaled to ±1e4 (in f32, where the naive form overflows): finite,
            // and equal to max(x,0) - x·y up to the vanishing log term.
            let big: Vec<f32> = x.iter().map(|v| (v * 700.0) as f32).collect();
            let y32: Vec<f32> = y.iter().map(|&v| v as f32).collect();
            let bt = Tensor::<(Dyn,), f32, Dev>::from_vec((Dyn(n),), big.clone(), &dev());
            let b = binary_cross_entropy_with_logits(bt, &Tensor::<(Dyn,), f32, Dev>::from_vec((Dyn(n),), y32.clone(), &dev())).item() as f64;
            let want: f64 = big.iter().zip(&y32).map(|(&x, &y)| {
                let (x, y) = (x as f64, y as f64);
                x.max(0.0) - x * y + (-x.abs()).exp().ln_1p()
            }).sum::<f64>() / n as f64;
            prop_assert!(b.is_finite());
            prop_assert!((b - want).abs() <= 1e-5 * (1.0 + want.abs()), "{b} vs {want}");
        }

        #[test]
        fn prop_triplet_matches_reference(
            (b, f) in (1usize..6, 1usize..6),
            seed in 0.0..100.0f64,
            margin in 0.0..2.0f64,
        ) {
            let (a, p, n) = (values(b * f, seed), values(b * f, seed + 0.3), values(b * f, seed + 0.7));
            let l = triplet_margin_loss(logits2(b, f, a.clone()), logits2(b, f, p.clone()), logits2(b, f, n.clone()), margin).item();
            let want = ref_triplet(&a, &p, &n, f, margin);
            prop_assert!(l >= 0.0);
            prop_assert!((l - want).abs() <= 1e-12 * (1.0 + want));
        }
    }

    // ------------------------------------------------------------ fixtures

    /// `case.key -> values` from `tests/fixtures/loss_torch.txt`.
    fn fixtures() -> HashMap<String, Vec<f64>> {
        include_str!("fixtures/loss_torch.txt")
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|l| {
                let mut it = l.split_whitespace();
                let key = it.next().unwrap().to_string();
                let vals = it.map(|v| v.parse::<f64>().unwrap()).collect();
                (key, vals)
            })
            .collect()
    }
}
