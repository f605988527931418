//! Matrix products: every shape case against a naive triple loop, finite-
//! difference gradients of both operands, proptests over random (Dyn)
//! sizes, and the runtime mismatch errors.

use crate::common::*;
use proptest::prelude::*;
use typegrad::autograd::{Merge, Tracking};
use typegrad::ops::matmul::MatMul;
use typegrad::prelude::*;

typegrad::per_device! {
    ops_helpers!();
    /// The layout of a case for the reference: `batch` products of
    /// `(m × k) · (k × n)`, the right operand shared by the batch if `shared`.
    #[derive(Copy, Clone, Debug)]
    struct Case {
        batch: usize,
        m: usize,
        k: usize,
        n: usize,
        shared: bool,
    }

    /// Naive triple loop over row-major buffers.
    fn naive(c: Case, a: &[f64], b: &[f64]) -> Vec<f64> {
        let Case {
            batch,
            m,
            k,
            n,
            shared,
        } = c;
        assert_eq!(a.len(), batch * m * k);
        assert_eq!(b.len(), if shared { k * n } else { batch * k * n });
        let mut out = vec![0.0; batch * m * n];
        for bi in 0..batch {
            let bo = if shared { 0 } else { bi * k * n };
            for i in 0..m {
                for j in 0..n {
                    let mut s = 0.0;
                    for q in 0..k {
                        s += a[bi * m * k + i * k + q] * b[bo + q * n + j];
                    }
                    out[bi * m * n + i * n + j] = s;
                }
            }
        }
        out
    }

    /// Deterministic test values in about [-1.7, 1.7].
    fn vals(n: usize, seed: usize) -> Vec<f64> {
        cotangent(n + seed)
            .into_iter()
            .skip(seed)
            .map(|v| v * 1.7)
            .collect()
    }

    fn mm<S1, S2, T1, T2>(
        a: Tensor<S1, f64, Dev, T1>,
        b: Tensor<S2, f64, Dev, T2>,
    ) -> Tensor<S1::Output, f64, Dev, <T1 as Merge<T2>>::Output>
    where
        S1: MatMul<S2>,
        S2: Shape,
        T1: Tracking<f64, Dev> + Merge<T2>,
        T2: Tracking<f64, Dev>,
        <T1 as Merge<T2>>::Output: Tracking<f64, Dev>,
    {
        a.matmul(b)
    }

    /// Values vs the naive loop, then gradchecks of both operands (each alone
    /// tracked), then both tracked on separate tapes merged by the product.
    fn check_case<S1, S2>(
        a: Tensor<S1, f64, Dev>,
        b: Tensor<S2, f64, Dev>,
        c: Case,
        out_dims: &[usize],
    ) -> Result<(), String>
    where
        S1: MatMul<S2>,
        S2: Shape,
    {
        let want = naive(c, &a.to_vec(), &b.to_vec());
        let y = a.clone().try_matmul(b.clone()).map_err(|e| e.to_string())?;
        if &*y.dims() != out_dims {
            return Err(format!(
                "{c:?}: output dims {:?}, want {out_dims:?}",
                &*y.dims()
            ));
        }
        let got = y.to_vec();
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            if (g - w).abs() > 1e-10 * (1.0 + w.abs()) {
                return Err(format!("{c:?}: element {i}: {g} vs naive {w}"));
            }
        }
        gradcheck(&a, |a| mm(a, b.clone())).map_err(|e| format!("{c:?} lhs: {e}"))?;
        gradcheck(&b, |b| mm(a.clone(), b)).map_err(|e| format!("{c:?} rhs: {e}"))?;

        // Both tracked (two tapes): the same gradients as one side at a time.
        let w = Tensor::from_vec(y.shape(), cotangent(y.numel()), &dev());
        let (at, bt) = (a.clone().trace(), b.clone().trace());
        let g = mm(at, bt).backward_from(w.clone());
        let ga = mm(a.clone().trace(), b.clone()).backward_from(w.clone());
        let gb = mm(a.clone(), b.clone().trace()).backward_from(w);
        if g.get(&a).unwrap().to_vec() != ga.get(&a).unwrap().to_vec() {
            return Err(format!("{c:?}: lhs gradient differs when both are tracked"));
        }
        if g.get(&b).unwrap().to_vec() != gb.get(&b).unwrap().to_vec() {
            return Err(format!("{c:?}: rhs gradient differs when both are tracked"));
        }
        // An untracked operand of a tracked product (a weight) is a leaf: it
        // gets the same gradient as when it is traced itself...
        if ga.get(&b).map(|t| t.to_vec()) != g.get(&b).map(|t| t.to_vec())
            || gb.get(&a).map(|t| t.to_vec()) != g.get(&a).map(|t| t.to_vec())
        {
            return Err(format!("{c:?}: untracked operand's gradient differs"));
        }
        // ...and an operand traced with trace_no_grad gets none.
        let w = Tensor::from_vec(y.shape(), cotangent(y.numel()), &dev());
        let gn = mm(a.clone().trace_no_grad(), b.clone()).backward_from(w);
        if gn.get(&a).is_some() || gn.get(&b).map(|t| t.to_vec()) != g.get(&b).map(|t| t.to_vec()) {
            return Err(format!("{c:?}: trace_no_grad operand got a gradient"));
        }
        Ok(())
    }

    fn t3(d: [usize; 3], v: Vec<f64>) -> Tensor<(Dyn, Dyn, Dyn), f64, Dev> {
        Tensor::from_vec((Dyn(d[0]), Dyn(d[1]), Dyn(d[2])), v, &dev())
    }
    fn t4(d: [usize; 4], v: Vec<f64>) -> Tensor<(Dyn, Dyn, Dyn, Dyn), f64, Dev> {
        Tensor::from_vec((Dyn(d[0]), Dyn(d[1]), Dyn(d[2]), Dyn(d[3])), v, &dev())
    }

    // ------------------------------------------------------------ each case

    #[test]
    fn matmul_2d_static_known_values() {
        let a =
            Tensor::<(u!(2), u!(3)), f64, Dev>::from_vec_static(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &dev());
        let b = Tensor::<(u!(3), u!(2)), f64, Dev>::from_vec_static(
            vec![7.0, 8.0, 9.0, 10.0, 11.0, 12.0],
            &dev(),
        );
        type Out = Tensor<(u!(2), u!(2)), f64, Dev>;
        let c: Out = a.matmul(b);
        assert_eq!(c.to_vec(), vec![58.0, 64.0, 139.0, 154.0]);
    }

    #[test]
    fn matmul_2d_vs_naive_and_grads() {
        let (m, k, n) = (3, 4, 5);
        let a = Tensor::<(u!(3), u!(4)), f64, Dev>::from_vec_static(vals(m * k, 0), &dev());
        let b = Tensor::<(u!(4), u!(5)), f64, Dev>::from_vec_static(vals(k * n, 3), &dev());
        check_case(
            a,
            b,
            Case {
                batch: 1,
                m,
                k,
                n,
                shared: false,
            },
            &[m, n],
        )
        .unwrap();
        check_case(
            mat(m, k, vals(m * k, 1)),
            mat(k, n, vals(k * n, 2)),
            Case {
                batch: 1,
                m,
                k,
                n,
                shared: false,
            },
            &[m, n],
        )
        .unwrap();
    }

    #[test]
    fn matmul_batched_3d_vs_naive_and_grads() {
        let (bt, m, k, n) = (3, 2, 4, 5);
        let a = Tensor::<(Dyn, u!(2), u!(4)), f64, Dev>::from_vec(
            (Dyn(bt), Default::default(), Default::default()),
            vals(bt * m * k, 0),
            &dev(),
        );
        let b = Tensor::<(Dyn, u!(4), u!(5)), f64, Dev>::from_vec(
            (Dyn(bt), Default::default(), Default::default()),
            vals(bt * k * n, 5),
            &dev(),
        );
        let c = Case {
            batch: bt,
            m,
            k,
            n,
            shared: false,
        };
        check_case(a, b, c, &[bt, m, n]).unwrap();
        check_case(
            t3([bt, m, k], vals(bt * m * k, 2)),
            t3([bt, k, n], vals(bt * k * n, 9)),
            c,
            &[bt, m, n],
        )
        .unwrap();
    }

    #[test]
    fn matmul_batch_broadcast_3d_by_2d_vs_naive_and_grads() {
        // The Linear-layer case: (B, M, K) · (K, N), the weight's gradient
        // summed over the batch.
        let (bt, m, k, n) = (4, 3, 5, 2);
        let a = Tensor::<(Dyn, u!(3), u!(5)), f64, Dev>::from_vec(
            (Dyn(bt), Default::default(), Default::default()),
            vals(bt * m * k, 0),
            &dev(),
        );
        let b = Tensor::<(u!(5), u!(2)), f64, Dev>::from_vec_static(vals(k * n, 4), &dev());
        let c = Case {
            batch: bt,
            m,
            k,
            n,
            shared: true,
        };
        check_case(a, b, c, &[bt, m, n]).unwrap();
        check_case(
            t3([bt, m, k], vals(bt * m * k, 1)),
            mat(k, n, vals(k * n, 6)),
            c,
            &[bt, m, n],
        )
        .unwrap();
    }

    #[test]
    fn matmul_attention_4d_vs_naive_and_grads() {
        let (bt, h, m, k, n) = (2, 3, 4, 2, 3);
        let a = Tensor::<(Dyn, u!(3), Dyn, u!(2)), f64, Dev>::from_vec(
            (Dyn(bt), Default::default(), Dyn(m), Default::default()),
            vals(bt * h * m * k, 0),
            &dev(),
        );
        let b = Tensor::<(Dyn, u!(3), u!(2), Dyn), f64, Dev>::from_vec(
            (Dyn(bt), Default::default(), Default::default(), Dyn(n)),
            vals(bt * h * k * n, 3),
            &dev(),
        );
        let c = Case {
            batch: bt * h,
            m,
            k,
            n,
            shared: false,
        };
        check_case(a, b, c, &[bt, h, m, n]).unwrap();
        check_case(
            t4([bt, h, m, k], vals(bt * h * m * k, 2)),
            t4([bt, h, k, n], vals(bt * h * k * n, 8)),
            c,
            &[bt, h, m, n],
        )
        .unwrap();
    }

    #[test]
    fn matmul_4d_by_2d_vs_naive_and_grads() {
        let (bt, h, m, k, n) = (2, 2, 3, 4, 3);
        let a = Tensor::<(Dyn, u!(2), Dyn, u!(4)), f64, Dev>::from_vec(
            (Dyn(bt), Default::default(), Dyn(m), Default::default()),
            vals(bt * h * m * k, 0),
            &dev(),
        );
        let b = Tensor::<(u!(4), u!(3)), f64, Dev>::from_vec_static(vals(k * n, 3), &dev());
        let c = Case {
            batch: bt * h,
            m,
            k,
            n,
            shared: true,
        };
        check_case(a, b, c, &[bt, h, m, n]).unwrap();
        check_case(
            t4([bt, h, m, k], vals(bt * h * m * k, 1)),
            mat(k, n, vals(k * n, 5)),
            c,
            &[bt, h, m, n],
        )
        .unwrap();
    }

    #[test]
    fn matmul_vector_by_matrix_vs_naive_and_grads() {
        let (k, n) = (4, 3);
        let a = Tensor::<(u!(4),), f64, Dev>::from_vec_static(vals(k, 0), &dev());
        let b = Tensor::<(u!(4), u!(3)), f64, Dev>::from_vec_static(vals(k * n, 2), &dev());
        let c = Case {
            batch: 1,
            m: 1,
            k,
            n,
            shared: false,
        };
        check_case(a, b, c, &[n]).unwrap();
        check_case(vec1(vals(k, 1)), mat(k, n, vals(k * n, 4)), c, &[n]).unwrap();
    }

    #[test]
    fn matmul_matrix_by_vector_vs_naive_and_grads() {
        let (m, k) = (3, 5);
        let a = Tensor::<(u!(3), u!(5)), f64, Dev>::from_vec_static(vals(m * k, 0), &dev());
        let b = Tensor::<(u!(5),), f64, Dev>::from_vec_static(vals(k, 2), &dev());
        let c = Case {
            batch: 1,
            m,
            k,
            n: 1,
            shared: false,
        };
        check_case(a, b, c, &[m]).unwrap();
        check_case(mat(m, k, vals(m * k, 1)), vec1(vals(k, 4)), c, &[m]).unwrap();
    }

    #[test]
    fn matmul_dot_vs_naive_and_grads() {
        let k = 6;
        let a = Tensor::<(u!(6),), f64, Dev>::from_vec_static(vals(k, 0), &dev());
        let b = Tensor::<(u!(6),), f64, Dev>::from_vec_static(vals(k, 2), &dev());
        let c = Case {
            batch: 1,
            m: 1,
            k,
            n: 1,
            shared: false,
        };
        check_case(a.clone(), b.clone(), c, &[]).unwrap();
        let want: f64 = a.to_vec().iter().zip(b.to_vec()).map(|(x, y)| x * y).sum();
        assert!((a.matmul(b).item() - want).abs() < 1e-12);
        check_case(vec1(vals(k, 1)), vec1(vals(k, 4)), c, &[]).unwrap();
    }

    #[test]
    fn matmul_f32_matches_f64() {
        let (bt, m, k, n) = (2, 3, 4, 5);
        let (av, bv) = (vals(bt * m * k, 0), vals(k * n, 1));
        let want = naive(
            Case {
                batch: bt,
                m,
                k,
                n,
                shared: true,
            },
            &av,
            &bv,
        );
        let to32 = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<_>>();
        let a = Tensor::<(Dyn, Dyn, Dyn), f32, Dev>::from_vec((Dyn(bt), Dyn(m), Dyn(k)), to32(&av), &dev());
        let b = Tensor::<(Dyn, Dyn), f32, Dev>::from_vec((Dyn(k), Dyn(n)), to32(&bv), &dev());
        let got: Vec<f64> = a.matmul(b).to_vec().into_iter().map(f64::from).collect();
        assert_close!(&got, &want, 1e-5);
    }

    #[test]
    fn matmul_same_tensor_both_sides_accumulates() {
        // y = a·a: dA = G·aᵀ + aᵀ·G.
        let a = mat(3, 3, vals(9, 0));
        gradcheck(&a, |a| a.clone().matmul(a)).unwrap();
    }

    #[test]
    fn matmul_chain_gradients() {
        // (x·w1)·w2 with x untracked: gradients flow through an intermediate.
        let x = t3([2, 3, 4], vals(24, 0));
        let w1 = mat(4, 5, vals(20, 1));
        let w2 = mat(5, 2, vals(10, 2));
        gradcheck(&w1, |w1| x.clone().matmul(w1).matmul(w2.clone())).unwrap();
        gradcheck(&w2, |w2| x.clone().matmul(w1.clone()).matmul(w2)).unwrap();
    }

    #[test]
    fn matmul_large_linear_case_vs_naive_with_gradients() {
        // Large enough for the threaded kernel paths: (8, 32, 64) · (64, 48)
        // folds to one 256×64×48 product; dB folds the batch into k.
        let (bt, m, k, n) = (8, 32, 64, 48);
        let (av, bv) = (vals(bt * m * k, 0), vals(k * n, 1));
        let c = Case {
            batch: bt,
            m,
            k,
            n,
            shared: true,
        };
        let a = t3([bt, m, k], av.clone());
        let b = mat(k, n, bv.clone());
        let y = a.clone().trace().matmul(b.clone().trace());
        assert_close!(&y.to_vec(), &naive(c, &av, &bv), 1e-12);
        let gv = cotangent(bt * m * n);
        let g = y.backward_from(t3([bt, m, n], gv.clone()));
        // dA[b] = G[b]·Bᵀ, dB = Σ_b A[b]ᵀ·G[b], by loops.
        let mut da = vec![0.0; bt * m * k];
        let mut db = vec![0.0; k * n];
        for bi in 0..bt {
            for i in 0..m {
                for j in 0..n {
                    let gij = gv[bi * m * n + i * n + j];
                    for q in 0..k {
                        da[bi * m * k + i * k + q] += gij * bv[q * n + j];
                        db[q * n + j] += av[bi * m * k + i * k + q] * gij;
                    }
                }
            }
        }
        assert_close!(&g.get(&a).unwrap().to_vec(), &da, 1e-12);
        assert_close!(&g.get(&b).unwrap().to_vec(), &db, 1e-12);

        // The batched (non-shared) form at a size that runs products in parallel.
        let (bt, m, k, n) = (40, 33, 20, 35);
        let (av, bv) = (vals(bt * m * k, 2), vals(bt * k * n, 3));
        let y = t3([bt, m, k], av.clone()).matmul(t3([bt, k, n], bv.clone()));
        assert_close!(
            &y.to_vec(),
            &naive(
                Case {
                    batch: bt,
                    m,
                    k,
                    n,
                    shared: false,
                },
                &av,
                &bv,
            ),
            1e-12,
        );
    }

    #[test]
    fn matmul_empty_inner_dim_gives_zeros() {
        let a = mat(2, 0, vec![]);
        let b = mat(0, 3, vec![]);
        let y = a.clone().trace().matmul(b.clone());
        assert_eq!(y.to_vec(), vec![0.0; 6]);
        let g = y.backward_from(mat(2, 3, vec![1.0; 6]));
        assert_eq!(g.get(&a).unwrap().to_vec(), Vec::<f64>::new());
        let y = t3([0, 2, 3], vec![]).matmul(mat(3, 4, vals(12, 0)));
        assert_eq!(&*y.dims(), &[0, 2, 4]);
    }

    // ------------------------------------------------------------ runtime errors

    #[test]
    #[should_panic(
        expected = "matmul: dimension mismatch on axis 0 (rhs rows vs lhs columns): got 4, expected 3"
    )]
    fn matmul_2d_mismatch_panics() {
        let _ = mat(2, 3, vals(6, 0)).matmul(mat(4, 5, vals(20, 0)));
    }

    #[test]
    #[should_panic(
        expected = "matmul: dimension mismatch on axis 0 (rhs rows vs lhs columns): got 4, expected 3"
    )]
    fn matmul_static_lhs_dyn_rhs_mismatch_panics() {
        let a = Tensor::<(u!(2), u!(3)), f64, Dev>::zeros(Default::default(), &dev());
        let b = Tensor::<(Dyn, u!(5)), f64, Dev>::zeros((Dyn(4), Default::default()), &dev());
        let _ = a.matmul(b);
    }

    #[test]
    #[should_panic(
        expected = "matmul: dimension mismatch on axis 0 (rhs batch vs lhs batch): got 2, expected 3"
    )]
    fn matmul_batch_mismatch_panics() {
        let _ = t3([3, 2, 4], vals(24, 0)).matmul(t3([2, 4, 5], vals(40, 0)));
    }

    #[test]
    #[should_panic(
        expected = "matmul: dimension mismatch on axis 1 (rhs rows vs lhs columns): got 5, expected 4"
    )]
    fn matmul_batched_inner_mismatch_panics() {
        let _ = t3([3, 2, 4], vals(24, 0)).matmul(t3([3, 5, 5], vals(75, 0)));
    }

    #[test]
    #[should_panic(
        expected = "matmul: dimension mismatch on axis 1 (rhs batch vs lhs batch): got 4, expected 3"
    )]
    fn matmul_4d_heads_mismatch_panics() {
        let _ = t4([2, 3, 2, 2], vals(24, 0)).matmul(t4([2, 4, 2, 2], vals(32, 0)));
    }

    #[test]
    #[should_panic(
        expected = "matmul: dimension mismatch on axis 0 (rhs length vs lhs columns): got 2, expected 3"
    )]
    fn matmul_matrix_vector_mismatch_panics() {
        let _ = mat(2, 3, vals(6, 0)).matmul(vec1(vals(2, 0)));
    }

    #[test]
    fn matmul_try_errors_name_axis_and_sizes() {
        let mismatch = |axis, what, got, expected| Error::DimMismatch {
            op: "matmul",
            axis,
            what,
            got,
            expected,
        };
        assert_eq!(
            mat(2, 3, vals(6, 0))
                .try_matmul(mat(4, 5, vals(20, 0)))
                .unwrap_err(),
            mismatch(0, "rhs rows vs lhs columns", 4, 3)
        );
        assert_eq!(
            t3([3, 2, 4], vals(24, 0))
                .try_matmul(mat(5, 2, vals(10, 0)))
                .unwrap_err(),
            mismatch(0, "rhs rows vs lhs columns", 5, 4)
        );
        assert_eq!(
            t3([3, 2, 4], vals(24, 0))
                .try_matmul(t3([2, 4, 5], vals(40, 0)))
                .unwrap_err(),
            mismatch(0, "rhs batch vs lhs batch", 2, 3)
        );
        assert_eq!(
            t4([2, 3, 2, 2], vals(24, 0))
                .try_matmul(t4([2, 3, 3, 2], vals(36, 0)))
                .unwrap_err(),
            mismatch(2, "rhs rows vs lhs columns", 3, 2)
        );
        assert_eq!(
            t4([2, 3, 2, 2], vals(24, 0))
                .try_matmul(mat(3, 2, vals(6, 0)))
                .unwrap_err(),
            mismatch(0, "rhs rows vs lhs columns", 3, 2)
        );
        assert_eq!(
            vec1(vals(3, 0))
                .try_matmul(mat(2, 2, vals(4, 0)))
                .unwrap_err(),
            mismatch(0, "rhs rows vs lhs length", 2, 3)
        );
        assert_eq!(
            vec1(vals(3, 0)).try_matmul(vec1(vals(4, 0))).unwrap_err(),
            mismatch(0, "rhs length vs lhs length", 4, 3)
        );
        let e = mat(2, 3, vals(6, 0))
            .try_matmul(vec1(vals(2, 0)))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "matmul: dimension mismatch on axis 0 (rhs length vs lhs columns): got 2, expected 3"
        );
        // Tracked operands: the error comes before anything is recorded.
        assert!(mat(2, 3, vals(6, 0))
            .trace()
            .try_matmul(mat(4, 5, vals(20, 0)).trace())
            .is_err());
    }

    // ------------------------------------------------------------ proptests

    /// (dims, lhs values, rhs values) for random sizes in `1..=max`.
    fn arb_case(
        n_dims: usize,
        max: usize,
        lhs: fn(&[usize]) -> usize,
        rhs: fn(&[usize]) -> usize,
    ) -> impl Strategy<Value = (Vec<usize>, Vec<f64>, Vec<f64>)> {
        sizes(n_dims, 1..=max).prop_flat_map(move |d| {
            let (la, lb) = (lhs(&d), rhs(&d));
            (Just(d), values(la, -2.0..2.0), values(lb, -2.0..2.0))
        })
    }

    fn prop(r: Result<(), String>) -> Result<(), TestCaseError> {
        r.map_err(TestCaseError::fail)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        #[test]
        fn prop_matmul_2d((d, av, bv) in arb_case(3, 6, |d| d[0] * d[1], |d| d[1] * d[2])) {
            let (m, k, n) = (d[0], d[1], d[2]);
            prop(check_case(mat(m, k, av), mat(k, n, bv), Case { batch: 1, m, k, n, shared: false }, &[m, n]))?;
        }

        #[test]
        fn prop_matmul_batched((d, av, bv) in arb_case(4, 4, |d| d[0] * d[1] * d[2], |d| d[0] * d[2] * d[3])) {
            let (bt, m, k, n) = (d[0], d[1], d[2], d[3]);
            let c = Case { batch: bt, m, k, n, shared: false };
            prop(check_case(t3([bt, m, k], av), t3([bt, k, n], bv), c, &[bt, m, n]))?;
        }

        #[test]
        fn prop_matmul_batch_broadcast((d, av, bv) in arb_case(4, 4, |d| d[0] * d[1] * d[2], |d| d[2] * d[3])) {
            let (bt, m, k, n) = (d[0], d[1], d[2], d[3]);
            let c = Case { batch: bt, m, k, n, shared: true };
            prop(check_case(t3([bt, m, k], av), mat(k, n, bv), c, &[bt, m, n]))?;
        }

        #[test]
        fn prop_matmul_4d((d, av, bv) in arb_case(5, 3, |d| d[0] * d[1] * d[2] * d[3], |d| d[0] * d[1] * d[3] * d[4])) {
            let (bt, h, m, k, n) = (d[0], d[1], d[2], d[3], d[4]);
            let c = Case { batch: bt * h, m, k, n, shared: false };
            prop(check_case(t4([bt, h, m, k], av), t4([bt, h, k, n], bv), c, &[bt, h, m, n]))?;
        }

        #[test]
        fn prop_matmul_4d_by_2d((d, av, bv) in arb_case(5, 3, |d| d[0] * d[1] * d[2] * d[3], |d| d[3] * d[4])) {
            let (bt, h, m, k, n) = (d[0], d[1], d[2], d[3], d[4]);
            let c = Case { batch: bt * h, m, k, n, shared: true };
            prop(check_case(t4([bt, h, m, k], av), mat(k, n, bv), c, &[bt, h, m, n]))?;
        }

        #[test]
        fn prop_matmul_vector_forms((d, av, bv) in arb_case(2, 6, |d| d[0] * d[1], |d| d[0] * d[1])) {
            // (K,)·(K, N), (M, K)·(K,) and (K,)·(K,), from one draw.
            let (x, y) = (d[0], d[1]);
            prop(check_case(vec1(av[..x].to_vec()), mat(x, y, bv.clone()), Case { batch: 1, m: 1, k: x, n: y, shared: false }, &[y]))?;
            prop(check_case(mat(y, x, av.clone()), vec1(bv[..x].to_vec()), Case { batch: 1, m: y, k: x, n: 1, shared: false }, &[y]))?;
            prop(check_case(vec1(av[..x].to_vec()), vec1(bv[..x].to_vec()), Case { batch: 1, m: 1, k: x, n: 1, shared: false }, &[]))?;
        }
    }
}
