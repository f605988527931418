//! Attention: the fused op against a naive f64 reference (matmul, mask,
//! softmax, matmul) over random shapes and masks, finite-difference
//! gradients of Q, K and V, dropout statistics and modes, the book's
//! permutation properties, the multi-head layout, `kv_len`, and errors.

use crate::common::*;
use proptest::prelude::*;
use typegrad::autograd::Mode;
use typegrad::ops::attention::AttentionOptions;
use typegrad::prelude::*;

typegrad::per_device! {
    ops_helpers!();
    type T4 = Tensor<(Dyn, Dyn, Dyn, Dyn), f64, Dev>;

    fn t4(d: [usize; 4], v: Vec<f64>) -> T4 {
        Tensor::from_vec((Dyn(d[0]), Dyn(d[1]), Dyn(d[2]), Dyn(d[3])), v, &dev())
    }

    /// Deterministic values in about [-2, 2].
    fn vals(n: usize, seed: usize) -> Vec<f64> {
        (0..n)
            .map(|i| 2.0 * ((i * 7 + seed * 13) as f64 * 0.618).sin())
            .collect()
    }

    /// Which mask a case uses.
    #[derive(Copy, Clone, Debug)]
    enum MaskKind {
        None,
        Bool,
        Causal,
        Both,
    }

    /// A boolean mask `(nq, nkv)` with some rows fully masked when `nq > 2`.
    fn bool_mask(nq: usize, nkv: usize, seed: usize) -> Vec<bool> {
        (0..nq * nkv)
            .map(|i| !((i * 5 + seed).is_multiple_of(3) || (nq > 2 && i / nkv == 1)))
            .collect()
    }

    /// The naive reference for `pairs` independent heads: dense `Q (nq × d)`,
    /// `K (nkv × d)`, `V (nkv × dv)` per pair, only the first `len` keys.
    #[allow(clippy::too_many_arguments)]
    fn naive(
        pairs: usize,
        nq: usize,
        nkv: usize,
        len: usize,
        d: usize,
        dv: usize,
        q: &[f64],
        k: &[f64],
        v: &[f64],
        allowed: &dyn Fn(usize, usize) -> bool,
        scale: f64,
    ) -> Vec<f64> {
        let mut out = vec![0.0; pairs * nq * dv];
        for p in 0..pairs {
            for i in 0..nq {
                let s: Vec<f64> = (0..len)
                    .map(|j| {
                        if !allowed(i, j) {
                            return f64::NEG_INFINITY;
                        }
                        let dot: f64 = (0..d)
                            .map(|c| q[(p * nq + i) * d + c] * k[(p * nkv + j) * d + c])
                            .sum();
                        dot * scale
                    })
                    .collect();
                let m = s.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                if m == f64::NEG_INFINITY {
                    continue; // every key masked: zeros
                }
                let e: Vec<f64> = s.iter().map(|x| (x - m).exp()).collect();
                let z: f64 = e.iter().sum();
                for c in 0..dv {
                    out[(p * nq + i) * dv + c] =
                        (0..len).map(|j| e[j] / z * v[(p * nkv + j) * dv + c]).sum();
                }
            }
        }
        out
    }

    /// The mask predicate of a case (`len` keys attended).
    fn predicate(
        kind: MaskKind,
        nq: usize,
        len: usize,
        mask: &[bool],
    ) -> impl Fn(usize, usize) -> bool + '_ {
        move |i, j| {
            let causal = j + nq <= i + len;
            let boolean = mask[i * len + j];
            match kind {
                MaskKind::None => true,
                MaskKind::Bool => boolean,
                MaskKind::Causal => causal,
                MaskKind::Both => boolean && causal,
            }
        }
    }

    fn options<'a>(kind: MaskKind, mask: &'a Tensor<(Dyn, Dyn), bool, Dev>) -> AttentionOptions<'a, Dev> {
        match kind {
            MaskKind::None => AttentionOptions::new(),
            MaskKind::Bool => AttentionOptions::new().mask(mask),
            MaskKind::Causal => AttentionOptions::new().causal(),
            MaskKind::Both => AttentionOptions::new().mask(mask).causal(),
        }
    }

    /// One case: forward against the reference and gradcheck of Q, K, V.
    #[allow(clippy::too_many_arguments)]
    fn check_case(
        b: usize,
        h: usize,
        nq: usize,
        nkv: usize,
        d: usize,
        dv: usize,
        kind: MaskKind,
        seed: usize,
    ) -> Result<(), String> {
        let q = t4([b, h, nq, d], vals(b * h * nq * d, seed));
        let k = t4([b, h, nkv, d], vals(b * h * nkv * d, seed + 1));
        let v = t4([b, h, nkv, dv], vals(b * h * nkv * dv, seed + 2));
        let mv = bool_mask(nq, nkv, seed);
        let mask = Tensor::<(Dyn, Dyn), bool, Dev>::from_vec((Dyn(nq), Dyn(nkv)), mv.clone(), &dev());
        let opts = options(kind, &mask);
        let y = q
            .clone()
            .scaled_dot_product_attention(k.clone(), v.clone(), &opts);
        assert_eq!(&*y.dims(), &[b, h, nq, dv]);
        let scale = 1.0 / (d as f64).sqrt();
        let allowed = predicate(kind, nq, nkv, &mv);
        let want = naive(
            b * h,
            nq,
            nkv,
            nkv,
            d,
            dv,
            &q.to_vec(),
            &k.to_vec(),
            &v.to_vec(),
            &allowed,
            scale,
        );
        check_close(&y.to_vec(), &want, 1e-12, 1e-12).map_err(|e| format!("{kind:?} forward: {e}"))?;
        gradcheck(&q, |q| {
            q.scaled_dot_product_attention(k.clone(), v.clone(), &opts)
        })
        .map_err(|e| format!("{kind:?} dQ: {e}"))?;
        gradcheck(&k, |k| {
            q.clone().scaled_dot_product_attention(k, v.clone(), &opts)
        })
        .map_err(|e| format!("{kind:?} dK: {e}"))?;
        gradcheck(&v, |v| {
            q.clone().scaled_dot_product_attention(k.clone(), v, &opts)
        })
        .map_err(|e| format!("{kind:?} dV: {e}"))?;
        Ok(())
    }

    const KINDS: [MaskKind; 4] = [
        MaskKind::None,
        MaskKind::Bool,
        MaskKind::Causal,
        MaskKind::Both,
    ];

    #[test]
    fn attention_matches_naive_with_every_mask() {
        for kind in KINDS {
            // Nq == Nkv, Nq < Nkv (decoding against a longer context), Nq > Nkv.
            check_case(2, 3, 4, 4, 5, 3, kind, 0).unwrap();
            check_case(1, 2, 2, 5, 3, 4, kind, 1).unwrap();
            check_case(1, 1, 1, 6, 4, 2, kind, 2).unwrap();
            check_case(2, 1, 5, 3, 2, 2, kind, 3).unwrap();
            // Fewer than 4 queries read the keys row by row (16-lane dot
            // products): key widths of whole lanes and with a tail.
            check_case(1, 2, 1, 9, 37, 20, kind, 4).unwrap();
            check_case(2, 1, 3, 7, 16, 5, kind, 5).unwrap();
        }
    }

    #[test]
    fn causal_is_bottom_right_aligned() {
        // One query against 5 keys sees all of them; 2 queries: the first sees
        // keys 0..=3, the second all 5.
        let (nq, nkv) = (2, 5);
        let q = t4([1, 1, nq, 1], vec![0.0; nq]);
        let k = t4([1, 1, nkv, 1], vec![0.0; nkv]);
        let v = t4([1, 1, nkv, 1], vec![1.0, 2.0, 3.0, 4.0, 5.0]);
        let y = q.scaled_dot_product_attention(k, v, &AttentionOptions::new().causal());
        assert_close!(y.to_vec(), vec![2.5, 3.0], 1e-12);
    }

    #[test]
    fn fully_masked_rows_give_zeros_and_no_gradient() {
        let (nq, nkv, d) = (3, 4, 2);
        let mv = vec![
            true, false, true, false, //
            false, false, false, false, // row 1: every key masked
            false, true, true, true,
        ];
        let mask = Tensor::<(Dyn, Dyn), bool, Dev>::from_vec((Dyn(nq), Dyn(nkv)), mv, &dev());
        let q = t4([1, 1, nq, d], vals(nq * d, 4));
        let k = t4([1, 1, nkv, d], vals(nkv * d, 5));
        let v = t4([1, 1, nkv, d], vals(nkv * d, 6));
        let opts = AttentionOptions::new().mask(&mask);
        let y = q
            .clone()
            .trace()
            .scaled_dot_product_attention(k.clone(), v.clone(), &opts);
        let yv = y.to_vec();
        assert!(yv.iter().all(|x| x.is_finite()));
        assert_eq!(&yv[2..4], &[0.0, 0.0]);
        let g = y.sum().backward();
        assert_eq!(&g.get(&q).unwrap().to_vec()[2..4], &[0.0, 0.0]);
        // No keys at all: every row is masked.
        let k0 = t4([1, 1, 0, d], vec![]);
        let v0 = t4([1, 1, 0, d], vec![]);
        let y0 = q.scaled_dot_product_attention(k0, v0, &AttentionOptions::new());
        assert_eq!(y0.to_vec(), vec![0.0; nq * d]);
    }

    #[test]
    fn rank_2_and_static_shapes() {
        let dev = dev();
        let q = Tensor::<(u!(3), u!(4)), f64, Dev>::from_vec_static(vals(12, 7), &dev);
        let k = Tensor::<(Dyn, u!(4)), f64, Dev>::from_vec((Dyn(5), Default::default()), vals(20, 8), &dev);
        let v = Tensor::<(Dyn, u!(2)), f64, Dev>::from_vec((Dyn(5), Default::default()), vals(10, 9), &dev);
        let y: Tensor<(u!(3), u!(2)), f64, Dev> = q.clone().scaled_dot_product_attention(
            k.clone(),
            v.clone(),
            &AttentionOptions::new().scale(0.3),
        );
        let want = naive(
            1,
            3,
            5,
            5,
            4,
            2,
            &q.to_vec(),
            &k.to_vec(),
            &v.to_vec(),
            &|_, _| true,
            0.3,
        );
        assert_close!(y.to_vec(), want, 1e-12);
        // The free function is the same op.
        let y2 = typegrad::ops::attention::scaled_dot_product_attention(
            q,
            k,
            v,
            &AttentionOptions::new().scale(0.3),
        );
        assert_eq!(y2.to_vec(), y.to_vec());
    }

    #[test]
    fn multi_head_layout_equals_split_heads() {
        multi_head_case(2, 3, 4, 2, 3, 2);
        // Many queries: the product kernels (attention_gemm.rs).
        multi_head_case(2, 9, 10, 2, 3, 2);
    }

    fn multi_head_case(b: usize, nq: usize, nkv: usize, h: usize, d: usize, dv: usize) {
        // (B, N, H·d) with heads side by side == split, attend, merge.
        let dev = dev();
        let q = Tensor::<(Dyn, Dyn, Dyn), f64, Dev>::from_vec(
            (Dyn(b), Dyn(nq), Dyn(h * d)),
            vals(b * nq * h * d, 10),
            &dev,
        );
        let k = Tensor::<(Dyn, Dyn, Dyn), f64, Dev>::from_vec(
            (Dyn(b), Dyn(nkv), Dyn(h * d)),
            vals(b * nkv * h * d, 11),
            &dev,
        );
        let v = Tensor::<(Dyn, Dyn, Dyn), f64, Dev>::from_vec(
            (Dyn(b), Dyn(nkv), Dyn(h * dv)),
            vals(b * nkv * h * dv, 12),
            &dev,
        );
        for kind in KINDS {
            let mv = bool_mask(nq, nkv, 3);
            let mask = Tensor::<(Dyn, Dyn), bool, Dev>::from_vec((Dyn(nq), Dyn(nkv)), mv.clone(), &dev);
            let opts = options(kind, &mask);
            let y = q
                .clone()
                .multi_head_attention(k.clone(), v.clone(), h, &opts);
            assert_eq!(&*y.dims(), &[b, nq, h * dv]);
            // Split heads by hand: (B, N, H, d) -> pairs (B·H) of (N, d).
            let split = |x: &[f64], n: usize, w: usize| -> Vec<f64> {
                let mut o = vec![0.0; x.len()];
                for bi in 0..b {
                    for hi in 0..h {
                        for i in 0..n {
                            for c in 0..w {
                                o[((bi * h + hi) * n + i) * w + c] =
                                    x[(bi * n + i) * h * w + hi * w + c];
                            }
                        }
                    }
                }
                o
            };
            let r = naive(
                b * h,
                nq,
                nkv,
                nkv,
                d,
                dv,
                &split(&q.to_vec(), nq, d),
                &split(&k.to_vec(), nkv, d),
                &split(&v.to_vec(), nkv, dv),
                &predicate(kind, nq, nkv, &mv),
                1.0 / (d as f64).sqrt(),
            );
            assert_close!(split(&y.to_vec(), nq, dv), r, 1e-12, "{kind:?}");
            gradcheck(&q, |q| {
                q.multi_head_attention(k.clone(), v.clone(), h, &opts)
            })
            .unwrap();
            gradcheck(&k, |k| {
                q.clone().multi_head_attention(k, v.clone(), h, &opts)
            })
            .unwrap();
            gradcheck(&v, |v| {
                q.clone().multi_head_attention(k.clone(), v, h, &opts)
            })
            .unwrap();
        }
    }

    #[test]
    fn self_attention_on_one_tensor_sums_the_three_gradients() {
        let x =
            Tensor::<(Dyn, Dyn, Dyn), f64, Dev>::from_vec((Dyn(2), Dyn(3), Dyn(4)), vals(24, 13), &dev());
        gradcheck(&x, |x| {
            x.clone()
                .multi_head_attention(x.clone(), x, 2, &AttentionOptions::new().causal())
        })
        .unwrap();
        // Many queries: the product kernels add the three parts into one
        // buffer (here all three read the same elements).
        let x =
            Tensor::<(Dyn, Dyn, Dyn), f64, Dev>::from_vec((Dyn(2), Dyn(9), Dyn(4)), vals(72, 13), &dev());
        for opts in [AttentionOptions::new().causal(), AttentionOptions::new()] {
            gradcheck(&x, |x| {
                x.clone().multi_head_attention(x.clone(), x, 2, &opts)
            })
            .unwrap();
            gradcheck(&x, |x| {
                x.clone().scaled_dot_product_attention(x.clone(), x, &opts)
            })
            .unwrap();
        }
    }

    #[test]
    fn kv_len_reads_a_prefix_of_a_cache_in_place() {
        // A cache of capacity 6 filled to 4; 2 new queries, causal.
        kv_len_case(2, 2, 6, 4, 3);
        // 9 new queries after 3 cached (the product kernels).
        kv_len_case(2, 9, 14, 12, 3);
    }

    fn kv_len_case(h: usize, nq: usize, cap: usize, len: usize, d: usize) {
        let q = t4([1, h, nq, d], vals(h * nq * d, 14));
        let kc = t4([1, h, cap, d], vals(h * cap * d, 15));
        let vc = t4([1, h, cap, d], vals(h * cap * d, 16));
        let opts = AttentionOptions::new().kv_len(len).causal();
        let y = q
            .clone()
            .scaled_dot_product_attention(kc.clone(), vc.clone(), &opts);
        // The same as attending copies of the first `len` rows.
        let prefix = |x: &T4| -> T4 {
            let v = x.to_vec();
            let mut o = Vec::new();
            for hi in 0..h {
                o.extend_from_slice(&v[hi * cap * d..][..len * d]);
            }
            t4([1, h, len, d], o)
        };
        let y2 = q.clone().scaled_dot_product_attention(
            prefix(&kc),
            prefix(&vc),
            &AttentionOptions::new().causal(),
        );
        assert_eq!(y.to_vec(), y2.to_vec());
        // Gradients reach exactly the rows read.
        let g = q
            .scaled_dot_product_attention(kc.clone().trace(), vc.clone(), &opts)
            .sum()
            .backward();
        let gk = g.get(&kc).unwrap().to_vec();
        for hi in 0..h {
            assert!(gk[(hi * cap + len) * d..(hi + 1) * cap * d]
                .iter()
                .all(|&x| x == 0.0));
            assert!(gk[hi * cap * d..(hi * cap + len) * d]
                .iter()
                .any(|&x| x != 0.0));
        }
        gradcheck(&kc, |kc| {
            let q = t4([1, h, nq, d], vals(h * nq * d, 14));
            q.scaled_dot_product_attention(kc, vc.clone(), &opts)
        })
        .unwrap();
    }

    #[test]
    fn permuting_keys_and_values_together_leaves_the_output_unchanged() {
        let (nq, nkv, d) = (4, 5, 3);
        let q = t4([1, 1, nq, d], vals(nq * d, 17));
        let (kv, vv) = (vals(nkv * d, 18), vals(nkv * d, 19));
        let perm = [3, 0, 4, 1, 2];
        let permute = |x: &[f64]| -> Vec<f64> {
            perm.iter()
                .flat_map(|&j| x[j * d..][..d].to_vec())
                .collect()
        };
        let opts = AttentionOptions::new();
        let y = q.clone().scaled_dot_product_attention(
            t4([1, 1, nkv, d], kv.clone()),
            t4([1, 1, nkv, d], vv.clone()),
            &opts,
        );
        let yp = q.scaled_dot_product_attention(
            t4([1, 1, nkv, d], permute(&kv)),
            t4([1, 1, nkv, d], permute(&vv)),
            &opts,
        );
        assert_close!(yp.to_vec(), y.to_vec(), 1e-12);
    }

    #[test]
    fn permuting_queries_permutes_the_output() {
        let (nq, nkv, d) = (4, 5, 3);
        let qv = vals(nq * d, 20);
        let k = t4([1, 1, nkv, d], vals(nkv * d, 21));
        let v = t4([1, 1, nkv, d], vals(nkv * d, 22));
        let perm = [2, 0, 3, 1];
        let permute = |x: &[f64]| -> Vec<f64> {
            perm.iter()
                .flat_map(|&i| x[i * d..][..d].to_vec())
                .collect()
        };
        let opts = AttentionOptions::new();
        let y = t4([1, 1, nq, d], qv.clone()).scaled_dot_product_attention(k.clone(), v.clone(), &opts);
        let yp = t4([1, 1, nq, d], permute(&qv)).scaled_dot_product_attention(k, v, &opts);
        assert_close!(yp.to_vec(), permute(&y.to_vec()), 1e-12);
    }

    #[test]
    fn dropout_drops_weights_in_training_only() {
        // One query, equal scores over n keys, V = identity: the output row is
        // the (dropped, rescaled) weights themselves.
        let (n, p) = (4000, 0.3);
        let dev = seeded(5);
        let q = Tensor::<(Dyn, Dyn), f64, Dev>::from_vec((Dyn(1), Dyn(1)), vec![0.0], &dev);
        let k = Tensor::<(Dyn, Dyn), f64, Dev>::from_vec((Dyn(n), Dyn(1)), vec![0.0; n], &dev);
        let mut eye = vec![0.0; n * n];
        for j in 0..n {
            eye[j * n + j] = 1.0;
        }
        let v = Tensor::<(Dyn, Dyn), f64, Dev>::from_vec((Dyn(n), Dyn(n)), eye, &dev);
        let opts = AttentionOptions::new().dropout(p);
        // Untracked and Eval: no dropout.
        let y = q
            .clone()
            .scaled_dot_product_attention(k.clone(), v.clone(), &opts)
            .to_vec();
        assert!(y.iter().all(|&w| (w - 1.0 / n as f64).abs() < 1e-15));
        let ye = q
            .clone()
            .trace()
            .with_mode(Mode::Eval)
            .scaled_dot_product_attention(k.clone(), v.clone(), &opts);
        assert_eq!(ye.to_vec(), y);
        // Train: each weight is 0 or 1/(n(1-p)); the dropped fraction is p.
        let yt = q
            .clone()
            .trace()
            .scaled_dot_product_attention(k.clone(), v.clone(), &opts);
        let w = yt.to_vec();
        let kept = 1.0 / (n as f64 * (1.0 - p));
        assert!(w.iter().all(|&x| x == 0.0 || (x - kept).abs() < 1e-15));
        let dropped = w.iter().filter(|&&x| x == 0.0).count() as f64 / n as f64;
        assert!((dropped - p).abs() < 0.03, "dropped fraction {dropped}");
        // The expectation is kept: the weights still sum to about 1.
        assert!((w.iter().sum::<f64>() - 1.0).abs() < 0.05);
        // TrainKeepStats drops too, with a fresh pattern per call.
        let yk = q
            .clone()
            .trace()
            .with_mode(Mode::TrainKeepStats)
            .scaled_dot_product_attention(k.clone(), v.clone(), &opts);
        assert_ne!(yk.to_vec(), w);
        // The backward uses the same pattern: dV_j = w_j · dY (dY = 1 here).
        let vt = v.clone();
        let yt = q.trace().scaled_dot_product_attention(k, vt, &opts);
        let w = yt.to_vec();
        let g = yt.sum().backward();
        let gv = g.get(&v).unwrap().to_vec();
        for j in 0..n {
            let row = &gv[j * n..][..n];
            assert!(row.iter().all(|&x| (x - w[j]).abs() < 1e-15), "row {j}");
        }
    }

    #[test]
    fn dropout_gradient_of_q_and_k_uses_the_forward_pattern() {
        dropout_gradient_case(3, 5, 2);
        // The product kernels.
        dropout_gradient_case(9, 11, 2);
    }

    fn dropout_gradient_case(nq: usize, nkv: usize, d: usize) {
        // With a fixed seed the pattern is a function of the device's stream:
        // two devices seeded alike give the same forward; the analytic gradients
        // match finite differences taken with the same pattern (a fresh device
        // of the same seed for every evaluation).
        let x0 = [vals(nq * d, 23), vals(nkv * d, 24), vals(nkv * d, 25)];
        let run = |x: &[Vec<f64>; 3]| -> (Vec<f64>, [Vec<f64>; 3]) {
            let dev = seeded(9);
            let q = Tensor::<(Dyn, Dyn), f64, Dev>::from_vec((Dyn(nq), Dyn(d)), x[0].clone(), &dev);
            let k = Tensor::<(Dyn, Dyn), f64, Dev>::from_vec((Dyn(nkv), Dyn(d)), x[1].clone(), &dev);
            let v = Tensor::<(Dyn, Dyn), f64, Dev>::from_vec((Dyn(nkv), Dyn(d)), x[2].clone(), &dev);
            let y = q.clone().trace().scaled_dot_product_attention(
                k.clone(),
                v.clone(),
                &AttentionOptions::new().dropout(0.4),
            );
            let out = y.to_vec();
            let g = y.sum().backward();
            let grads = [&q, &k, &v].map(|t| g.get(t).unwrap().to_vec());
            (out, grads)
        };
        let (y0, g) = run(&x0);
        assert_eq!(run(&x0).0, y0);
        let eps = 1e-6;
        for (which, gw) in g.iter().enumerate() {
            for e in 0..x0[which].len() {
                let mut a = x0.clone();
                a[which][e] += eps;
                let mut b = x0.clone();
                b[which][e] -= eps;
                let num = (run(&a).0.iter().sum::<f64>() - run(&b).0.iter().sum::<f64>()) / (2.0 * eps);
                assert!(
                    (num - gw[e]).abs() < 1e-6,
                    "operand {which} element {e}: {num} vs {}",
                    gw[e]
                );
            }
        }
    }

    #[test]
    fn large_case_runs_the_threaded_path_and_matches_naive() {
        // GPT-mini's shape: B=16, H=4, T=64, d=32 (past the thread threshold).
        let (b, h, n, d) = (16, 4, 64, 32);
        let q = t4([b, h, n, d], vals(b * h * n * d, 26));
        let k = t4([b, h, n, d], vals(b * h * n * d, 27));
        let v = t4([b, h, n, d], vals(b * h * n * d, 28));
        let opts = AttentionOptions::new().causal();
        let y = q
            .clone()
            .trace()
            .scaled_dot_product_attention(k.clone(), v.clone(), &opts);
        let want = naive(
            b * h,
            n,
            n,
            n,
            d,
            d,
            &q.to_vec(),
            &k.to_vec(),
            &v.to_vec(),
            &|i, j| j <= i,
            1.0 / (d as f64).sqrt(),
        );
        assert_close!(y.to_vec(), want, 1e-10);
        // Gradients equal those of a small case run pair by pair (serial path).
        let w = Tensor::from_vec(y.shape(), cotangent(y.numel()), &dev());
        let g = y.backward_from(w.clone());
        let gq = g.get(&q).unwrap().to_vec();
        let pair = 37;
        let sl = |x: &T4| t4([1, 1, n, d], x.to_vec()[pair * n * d..][..n * d].to_vec());
        let (q1, k1, v1) = (sl(&q), sl(&k), sl(&v));
        let y1 = q1
            .clone()
            .trace()
            .scaled_dot_product_attention(k1, v1, &opts);
        let w1 = t4([1, 1, n, d], w.to_vec()[pair * n * d..][..n * d].to_vec());
        let g1 = y1.backward_from(w1);
        assert_close!(
            gq[pair * n * d..][..n * d].to_vec(),
            g1.get(&q1).unwrap().to_vec(),
            1e-12
        );
    }

    #[test]
    fn f32_matches_f64() {
        let (b, h, n, d) = (2, 2, 7, 5);
        let dev = dev();
        let mk = |s: usize| {
            Tensor::<(Dyn, Dyn, Dyn, Dyn), f32, Dev>::from_vec(
                (Dyn(b), Dyn(h), Dyn(n), Dyn(d)),
                vals(b * h * n * d, s).iter().map(|&x| x as f32).collect(),
                &dev,
            )
        };
        let y = mk(1).scaled_dot_product_attention(mk(2), mk(3), &AttentionOptions::new().causal());
        let y64 = t4([b, h, n, d], vals(b * h * n * d, 1)).scaled_dot_product_attention(
            t4([b, h, n, d], vals(b * h * n * d, 2)),
            t4([b, h, n, d], vals(b * h * n * d, 3)),
            &AttentionOptions::new().causal(),
        );
        let y: Vec<f64> = y.to_vec().iter().map(|&x| x as f64).collect();
        assert_close!(y, y64.to_vec(), 1e-5);
    }

    #[test]
    fn errors_name_what_is_wrong() {
        let dev = dev();
        let q = t4([1, 2, 3, 4], vec![0.0; 24]);
        let k = t4([1, 2, 5, 4], vec![0.0; 40]);
        let v = t4([1, 2, 5, 2], vec![0.0; 20]);
        let bad_k = t4([1, 3, 5, 4], vec![0.0; 60]);
        let e = q
            .clone()
            .try_scaled_dot_product_attention(bad_k, v.clone(), &AttentionOptions::new())
            .unwrap_err();
        assert_eq!(e.to_string(), "attention: dimension mismatch on axis 1 (key leading dim vs query leading dim): got 3, expected 2");
        let bad_w = t4([1, 2, 5, 3], vec![0.0; 30]);
        let e = q
            .clone()
            .try_scaled_dot_product_attention(bad_w, v.clone(), &AttentionOptions::new())
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "attention: dimension mismatch on axis 3 (key width vs query width): got 3, expected 4"
        );
        let mask = Tensor::<(Dyn, Dyn), bool, Dev>::from_vec((Dyn(3), Dyn(4)), vec![true; 12], &dev);
        let e = q
            .clone()
            .try_scaled_dot_product_attention(
                k.clone(),
                v.clone(),
                &AttentionOptions::new().mask(&mask),
            )
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "attention: dimension mismatch on axis 1 (mask columns vs keys): got 4, expected 5"
        );
        // With kv_len = 4 the same mask fits.
        let ok = q.clone().try_scaled_dot_product_attention(
            k.clone(),
            v.clone(),
            &AttentionOptions::new().mask(&mask).kv_len(4),
        );
        assert!(ok.is_ok());
        let e = q
            .clone()
            .try_scaled_dot_product_attention(k.clone(), v.clone(), &AttentionOptions::new().kv_len(6))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "attention: index 6 out of range for axis 0 of size 5"
        );
        let e = q
            .clone()
            .try_scaled_dot_product_attention(
                k.clone(),
                v.clone(),
                &AttentionOptions::new().dropout(1.5),
            )
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "attention: the dropout rate p must be in [0, 1]"
        );
        let e = q
            .try_scaled_dot_product_attention(k, v, &AttentionOptions::new().scale(f64::NAN))
            .unwrap_err();
        assert_eq!(e.to_string(), "attention: the scale must be finite");
    }

    #[test]
    #[should_panic(
        expected = "attention: dimension mismatch on axis 2 (value rows vs key rows): got 4, expected 5"
    )]
    fn panicking_form_names_the_mismatch() {
        let q = t4([1, 1, 3, 2], vec![0.0; 6]);
        let k = t4([1, 1, 5, 2], vec![0.0; 10]);
        let v = t4([1, 1, 4, 2], vec![0.0; 8]);
        let _ = q.scaled_dot_product_attention(k, v, &AttentionOptions::new());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn prop_attention_vs_naive_with_gradients(
            b in 1usize..3, h in 1usize..3, nq in 1usize..5, nkv in 1usize..5,
            d in 1usize..4, dv in 1usize..4, kind in 0usize..4, seed in 0usize..100,
        ) {
            check_case(b, h, nq, nkv, d, dv, KINDS[kind], seed).map_err(TestCaseError::fail)?;
        }

        /// Pairs of 8 queries or more run through the product kernels
        /// (attention_gemm.rs): the same checks, fewer keys than queries
        /// included (causal rows with no key give zeros).
        #[test]
        fn prop_product_kernels_vs_naive_with_gradients(
            h in 1usize..3, nq in 8usize..12, nkv in 1usize..13,
            d in 1usize..4, dv in 1usize..4, kind in 0usize..4, seed in 0usize..100,
        ) {
            check_case(1, h, nq, nkv, d, dv, KINDS[kind], seed).map_err(TestCaseError::fail)?;
        }

        #[test]
        fn prop_values_from_strategies(
            q in tensor_on::<(Dyn, u!(3)), f64, Dev>(dev(), 1..5, -3.0..3.0),
            kv in tensor_on::<(Dyn, u!(3)), f64, Dev>(dev(), 1..5, -3.0..3.0),
        ) {
            // Q from one strategy, K = V from another: random values, causal.
            let opts = AttentionOptions::new().causal();
            let y = q.clone().scaled_dot_product_attention(kv.clone(), kv.clone(), &opts);
            let (nq, nkv) = (q.dims()[0], kv.dims()[0]);
            let want = naive(1, nq, nkv, nkv, 3, 3, &q.to_vec(), &kv.to_vec(), &kv.to_vec(), &|i, j| j + nq <= i + nkv, 1.0 / 3f64.sqrt());
            prop_assert!(check_close(&y.to_vec(), &want, 1e-12, 1e-12).is_ok());
            gradcheck(&kv, |kv| q.clone().scaled_dot_product_attention(kv.clone(), kv, &opts))?;
        }
    }

    /// The tensors PyTorch wrote (`tests/fixtures/attention_torch.py`).
    fn torch_fixture() -> std::collections::HashMap<String, (Vec<usize>, Vec<f32>)> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/attention_torch.safetensors");
        let bytes = std::fs::read(path).unwrap();
        let file = typegrad::io::safetensors::SafeTensors::parse(&bytes).unwrap();
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

    type F4 = Tensor<(Dyn, Dyn, Dyn, Dyn), f32, Dev>;

    fn f4(t: &(Vec<usize>, Vec<f32>)) -> F4 {
        let d = &t.0;
        Tensor::from_vec(
            (Dyn(d[0]), Dyn(d[1]), Dyn(d[2]), Dyn(d[3])),
            t.1.clone(),
            &dev(),
        )
    }

    #[test]
    fn matches_pytorch_scaled_dot_product_attention() {
        let fx = torch_fixture();
        for case in [
            "sdpa_bool.",
            "sdpa_causal.",
            "sdpa_causal_br.",
            "sdpa_batch_mask.",
            "sdpa_head_mask.",
        ] {
            let get = |n: &str| &fx[&format!("{case}{n}")];
            let (q, k, v) = (f4(get("q")), f4(get("k")), f4(get("v")));
            // The causal cases use the kernel's causal mask alone (PyTorch's
            // bottom-right case was made with an explicit tril mask).
            let causal = case.starts_with("sdpa_causal");
            let mask_vals = fx.get(&format!("{case}mask")).filter(|_| !causal);
            // Every mask as 4-d: `(Nq, Nkv)` becomes the shared `(1, 1, Nq, Nkv)`.
            let mask = mask_vals.map(|(d, m)| {
                let d4 = if d.len() == 2 {
                    [1, 1, d[0], d[1]]
                } else {
                    [d[0], d[1], d[2], d[3]]
                };
                Tensor::<(Dyn, Dyn, Dyn, Dyn), bool, Dev>::from_vec(
                    (Dyn(d4[0]), Dyn(d4[1]), Dyn(d4[2]), Dyn(d4[3])),
                    m.iter().map(|&x| x != 0.0).collect(),
                    &dev(),
                )
            });
            let opts = match &mask {
                Some(m) => AttentionOptions::new().mask(m),
                None => AttentionOptions::new(),
            };
            let opts = opts.with_causal(causal);
            let y = q.clone().trace().scaled_dot_product_attention(
                k.clone().trace(),
                v.clone().trace(),
                &opts,
            );
            assert_close!(
                y.to_vec(),
                get("out").1,
                atol = 1e-5,
                rtol = 1e-5,
                "{case} out"
            );
            let g = y.backward_from(f4(get("w")));
            assert_close!(
                g.get(&q).unwrap().to_vec(),
                get("gq").1,
                atol = 1e-5,
                rtol = 1e-5,
                "{case} gq"
            );
            assert_close!(
                g.get(&k).unwrap().to_vec(),
                get("gk").1,
                atol = 1e-5,
                rtol = 1e-5,
                "{case} gk"
            );
            assert_close!(
                g.get(&v).unwrap().to_vec(),
                get("gv").1,
                atol = 1e-5,
                rtol = 1e-5,
                "{case} gv"
            );
        }
    }

    /// Timing at GPT-mini's size (not a check): `cargo test --release --test
    /// ops attention_gpt_mini_timing -- --ignored --nocapture`.
    #[test]
    #[ignore = "timing only; run in release with --ignored --nocapture"]
    fn attention_gpt_mini_timing() {
        use std::time::Instant;
        let median = |mut v: Vec<f64>| {
            v.sort_by(|a, b| a.partial_cmp(b).unwrap());
            v[v.len() / 2]
        };
        let dev = seeded(0);
        let (b, h, t, d) = (16, 4, 64, 32);
        let mk = || -> Tensor<(Dyn, Dyn, Dyn, Dyn), f32, Dev> {
            Tensor::randn((Dyn(b), Dyn(h), Dyn(t), Dyn(d)), 0.0, 1.0, &dev)
        };
        let (q, k, v) = (mk(), mk(), mk());
        let opts = AttentionOptions::new().causal();
        let mut fwd = Vec::new();
        let mut step = Vec::new();
        for _ in 0..60 {
            let t0 = Instant::now();
            let y = q
                .clone()
                .scaled_dot_product_attention(k.clone(), v.clone(), &opts);
            fwd.push(t0.elapsed().as_secs_f64() * 1e6);
            std::hint::black_box(y);
            let t0 = Instant::now();
            let y = q.clone().trace().scaled_dot_product_attention(
                k.clone().trace(),
                v.clone().trace(),
                &opts,
            );
            let g = y.sum().backward();
            step.push(t0.elapsed().as_secs_f64() * 1e6);
            std::hint::black_box(g);
        }
        // Decoding: one query against a cache of capacity 64 filled to 64.
        let qd: Tensor<(Dyn, Dyn, Dyn, Dyn), f32, Dev> =
            Tensor::randn((Dyn(1), Dyn(h), Dyn(1), Dyn(d)), 0.0, 1.0, &dev);
        let kc: Tensor<(Dyn, Dyn, Dyn, Dyn), f32, Dev> =
            Tensor::randn((Dyn(1), Dyn(h), Dyn(64), Dyn(d)), 0.0, 1.0, &dev);
        let mut dec = Vec::new();
        for i in 0..2000 {
            let o = AttentionOptions::new().causal().kv_len(1 + i % 64);
            let t0 = Instant::now();
            let y = qd
                .clone()
                .scaled_dot_product_attention(kc.clone(), kc.clone(), &o);
            dec.push(t0.elapsed().as_secs_f64() * 1e6);
            std::hint::black_box(y);
        }
        println!(
            "attention B={b} H={h} T={t} d={d} causal f32, RAYON_NUM_THREADS={:?}: forward {:.0} us, forward+backward {:.0} us; decode (1 query, cache 1..64) {:.2} us/call",
            std::env::var("RAYON_NUM_THREADS").ok(),
            median(fwd),
            median(step),
            median(dec)
        );
    }

    /// Masks with leading dims: one per batch entry `(B, 1, Nq, Nkv)`, one per
    /// head `(B, H, Nq, Nkv)`, key padding `(B, 1, 1, Nkv)`, and the shared
    /// forms `(Nq, Nkv)` / `(1, 1, Nq, Nkv)`, each against the naive reference
    /// run pair by pair with that pair's mask, with finite-difference
    /// gradients; on the row kernel (few queries) and the product kernel (many),
    /// with and without the causal mask.
    #[test]
    fn masks_with_leading_dims_match_naive_per_pair() {
        let (b, h, d, dv) = (2, 3, 4, 3);
        for (nq, nkv) in [(3, 5), (9, 10)] {
            let q = t4([b, h, nq, d], vals(b * h * nq * d, 1));
            let k = t4([b, h, nkv, d], vals(b * h * nkv * d, 2));
            let v = t4([b, h, nkv, dv], vals(b * h * nkv * dv, 3));
            // (mask dims, which mask block a pair (bi, hi) reads, rows per block)
            let forms: [([usize; 4], fn(usize, usize) -> usize, bool); 5] = [
                ([b, 1, nq, nkv], |bi, _| bi, true),
                ([b, h, nq, nkv], |bi, hi| bi * 3 + hi, true),
                ([b, 1, 1, nkv], |bi, _| bi, false),
                ([1, 1, nq, nkv], |_, _| 0, true),
                ([1, 1, 1, nkv], |_, _| 0, false),
            ];
            for (dims, block_of, per_query) in forms {
                let n: usize = dims.iter().product();
                // Each block differs; key padding masks the tail of entry 1.
                let mv: Vec<bool> = (0..n)
                    .map(|i| {
                        let j = i % nkv;
                        if per_query {
                            !(i * 7 + i / (nq * nkv)).is_multiple_of(4)
                        } else {
                            j < nkv - 2 * (i / nkv)
                        }
                    })
                    .collect();
                let mask = Tensor::<(Dyn, Dyn, Dyn, Dyn), bool, Dev>::from_vec(
                    (Dyn(dims[0]), Dyn(dims[1]), Dyn(dims[2]), Dyn(dims[3])),
                    mv.clone(),
                    &dev(),
                );
                for causal in [false, true] {
                    let opts = AttentionOptions::new().mask(&mask).with_causal(causal);
                    let y = q
                        .clone()
                        .scaled_dot_product_attention(k.clone(), v.clone(), &opts)
                        .to_vec();
                    let (qv, kv, vv) = (q.to_vec(), k.to_vec(), v.to_vec());
                    for bi in 0..b {
                        for hi in 0..h {
                            let pair = bi * h + hi;
                            let blk = block_of(bi, hi) * if per_query { nq * nkv } else { nkv };
                            let allowed = |i: usize, j: usize| {
                                let row = if per_query { i * nkv } else { 0 };
                                mv[blk + row + j] && (!causal || j + nq <= i + nkv)
                            };
                            let want = naive(
                                1,
                                nq,
                                nkv,
                                nkv,
                                d,
                                dv,
                                &qv[pair * nq * d..][..nq * d],
                                &kv[pair * nkv * d..][..nkv * d],
                                &vv[pair * nkv * dv..][..nkv * dv],
                                &allowed,
                                1.0 / (d as f64).sqrt(),
                            );
                            check_close(&y[pair * nq * dv..][..nq * dv], &want, 1e-12, 1e-12)
                                .unwrap_or_else(|e| {
                                    panic!("mask {dims:?} causal {causal} pair {pair}: {e}")
                                });
                        }
                    }
                    gradcheck(&q, |q| {
                        q.scaled_dot_product_attention(k.clone(), v.clone(), &opts)
                    })
                    .unwrap_or_else(|e| panic!("mask {dims:?} dQ: {e}"));
                    gradcheck(&k, |k| {
                        q.clone().scaled_dot_product_attention(k, v.clone(), &opts)
                    })
                    .unwrap_or_else(|e| panic!("mask {dims:?} dK: {e}"));
                    gradcheck(&v, |v| {
                        q.clone().scaled_dot_product_attention(k.clone(), v, &opts)
                    })
                    .unwrap_or_else(|e| panic!("mask {dims:?} dV: {e}"));
                }
            }
        }
    }

    /// The multi-head layout `(B, N, H·d)` takes the same mask shapes, with the
    /// heads as their own axis: a key-padding mask `(B, 1, 1, Nkv)` gives what
    /// the split-heads op gives with it.
    #[test]
    fn multi_head_layout_takes_batched_masks() {
        let (b, h, nq, nkv, d) = (2, 2, 9, 6, 3);
        type T3 = Tensor<(Dyn, Dyn, Dyn), f64, Dev>;
        let t3 = |n: usize, seed: usize| -> T3 {
            Tensor::from_vec(
                (Dyn(b), Dyn(n), Dyn(h * d)),
                vals(b * n * h * d, seed),
                &dev(),
            )
        };
        let (q, k, v) = (t3(nq, 4), t3(nkv, 5), t3(nkv, 6));
        let keep: Vec<bool> = (0..b * nkv)
            .map(|i| i % nkv < nkv - 3 * (i / nkv))
            .collect();
        let mask = Tensor::<(Dyn, Dyn, Dyn, Dyn), bool, Dev>::from_vec(
            (Dyn(b), Dyn(1), Dyn(1), Dyn(nkv)),
            keep,
            &dev(),
        );
        let opts = AttentionOptions::new().mask(&mask);
        let y = q
            .clone()
            .multi_head_attention(k.clone(), v.clone(), h, &opts)
            .to_vec();
        // Split the heads: (B, N, H, d) -> (B, H, N, d).
        let split = |t: &T3, n: usize| -> T4 {
            let x = t.to_vec();
            let mut o = vec![0.0; x.len()];
            for bi in 0..b {
                for i in 0..n {
                    for hi in 0..h {
                        for c in 0..d {
                            o[((bi * h + hi) * n + i) * d + c] = x[((bi * n + i) * h + hi) * d + c];
                        }
                    }
                }
            }
            t4([b, h, n, d], o)
        };
        let ys = split(&q, nq)
            .scaled_dot_product_attention(split(&k, nkv), split(&v, nkv), &opts)
            .to_vec();
        for bi in 0..b {
            for i in 0..nq {
                for hi in 0..h {
                    for c in 0..d {
                        let a = y[((bi * nq + i) * h + hi) * d + c];
                        let e = ys[((bi * h + hi) * nq + i) * d + c];
                        assert!((a - e).abs() < 1e-12, "b {bi} i {i} h {hi}: {a} vs {e}");
                    }
                }
            }
        }
    }

    /// Masks that cannot be read in place, or do not fit, are errors naming
    /// what is wrong.
    #[test]
    fn batched_mask_errors_name_what_is_wrong() {
        let (b, h, nq, nkv, d) = (2, 3, 4, 5, 2);
        let q = t4([b, h, nq, d], vals(b * h * nq * d, 1));
        let k = t4([b, h, nkv, d], vals(b * h * nkv * d, 2));
        let run = |dims: Vec<usize>| -> String {
            let n: usize = dims.iter().product();
            let attend = |opts: &AttentionOptions<'_, Dev>| {
                q.clone()
                    .try_scaled_dot_product_attention(k.clone(), k.clone(), opts)
                    .map(|_| String::new())
                    .unwrap_or_else(|e| e.to_string())
            };
            if let [a, b2, c, d2] = dims[..] {
                let mask = Tensor::<(Dyn, Dyn, Dyn, Dyn), bool, Dev>::from_vec(
                    (Dyn(a), Dyn(b2), Dyn(c), Dyn(d2)),
                    vec![true; n],
                    &dev(),
                );
                attend(&AttentionOptions::new().mask(&mask))
            } else {
                let mask = Tensor::<(Dyn, Dyn, Dyn, Dyn, Dyn), bool, Dev>::from_vec(
                    (
                        Dyn(dims[0]),
                        Dyn(dims[1]),
                        Dyn(dims[2]),
                        Dyn(dims[3]),
                        Dyn(dims[4]),
                    ),
                    vec![true; n],
                    &dev(),
                );
                attend(&AttentionOptions::new().mask(&mask))
            }
        };
        // One mask per head shared over the batch: not readable in place.
        let e = run(vec![1, h, nq, nkv]);
        assert!(e.contains("equal the call's"), "{e}");
        // More leading dims than the call has.
        let e = run(vec![2, b, h, nq, nkv]);
        assert!(e.contains("2 to 6 axes"), "{e}");
        // Wrong key count and wrong query count.
        let e = run(vec![b, 1, nq, nkv + 1]);
        assert!(e.contains("mask columns vs keys"), "{e}");
        let e = run(vec![b, 1, nq + 1, nkv]);
        assert!(e.contains("mask rows vs queries"), "{e}");
        // The good forms pass.
        assert_eq!(run(vec![b, 1, 1, nkv]), "");
        assert_eq!(run(vec![b, h, nq, nkv]), "");
    }
}
