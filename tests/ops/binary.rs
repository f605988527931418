//! Broadcasting binary ops: values vs a naive broadcast loop, gradients
//! (including the sums over broadcast axes), proptests, runtime errors.

use crate::common::*;
use proptest::prelude::*;
use typegrad::prelude::*;

typegrad::per_device! {
    ops_helpers!();
    type Ref = fn(f64, f64) -> f64;

    fn refs() -> Vec<(&'static str, Ref)> {
        vec![
            ("add", |a, b| a + b),
            ("sub", |a, b| a - b),
            ("mul", |a, b| a * b),
            ("div", |a, b| a / b),
            ("maximum", |a, b| a.max(b)),
            ("minimum", |a, b| a.min(b)),
        ]
    }

    fn apply<S1, S2, T1, T2>(
        name: &str,
        a: Tensor<S1, f64, Dev, T1>,
        b: Tensor<S2, f64, Dev, T2>,
    ) -> Tensor<S1::Output, f64, Dev, <T1 as typegrad::autograd::Merge<T2>>::Output>
    where
        S1: Shape + typegrad::shape::BroadcastShape<S2>,
        S2: Shape,
        T1: typegrad::autograd::Tracking<f64, Dev> + typegrad::autograd::Merge<T2>,
        T2: typegrad::autograd::Tracking<f64, Dev>,
        <T1 as typegrad::autograd::Merge<T2>>::Output: typegrad::autograd::Tracking<f64, Dev>,
    {
        match name {
            "add" => a + b,
            "sub" => a - b,
            "mul" => a * b,
            "div" => a / b,
            "maximum" => a.maximum(b),
            "minimum" => a.minimum(b),
            _ => unreachable!(),
        }
    }

    /// Naive numpy broadcast of two 3-D dim lists (already rank-aligned).
    fn naive(f: Ref, a: &[f64], ad: [usize; 3], b: &[f64], bd: [usize; 3]) -> (Vec<f64>, [usize; 3]) {
        let od = [ad[0].max(bd[0]), ad[1].max(bd[1]), ad[2].max(bd[2])];
        let mut out = Vec::new();
        for i in 0..od[0] {
            for j in 0..od[1] {
                for k in 0..od[2] {
                    let ia = (i % ad[0]) * ad[1] * ad[2] + (j % ad[1]) * ad[2] + k % ad[2];
                    let ib = (i % bd[0]) * bd[1] * bd[2] + (j % bd[1]) * bd[2] + k % bd[2];
                    out.push(f(a[ia], b[ib]));
                }
            }
        }
        (out, od)
    }

    fn t3(d: [usize; 3], v: Vec<f64>) -> Tensor<(Dyn, Dyn, Dyn), f64, Dev> {
        Tensor::from_vec((Dyn(d[0]), Dyn(d[1]), Dyn(d[2])), v, &dev())
    }

    /// Values bounded away from 0 (for div) and from each other's ties.
    fn vals(n: usize, seed: usize) -> Vec<f64> {
        // Distinct seeds give distinct streams (no ties between a and b).
        cotangent(n + 100 * seed)
            .into_iter()
            .skip(100 * seed)
            .map(|v| if v.abs() < 0.2 { v + 0.4 } else { v } * 1.7)
            .collect()
    }

    #[test]
    fn broadcast_patterns_match_naive_loops() {
        let pats: [([usize; 3], [usize; 3]); 6] = [
            ([2, 3, 4], [2, 3, 4]),
            ([2, 3, 4], [1, 1, 4]),
            ([2, 3, 4], [1, 3, 1]),
            ([2, 1, 4], [1, 3, 1]),
            ([1, 1, 1], [2, 3, 4]),
            ([2, 3, 1], [2, 1, 4]),
        ];
        for (ad, bd) in pats {
            let (av, bv) = (vals(ad.iter().product(), 0), vals(bd.iter().product(), 7));
            for (name, f) in refs() {
                let (want, od) = naive(f, &av, ad, &bv, bd);
                let y = apply(name, t3(ad, av.clone()), t3(bd, bv.clone()));
                assert_eq!(&*y.dims(), &od, "{name} {ad:?} {bd:?}");
                assert_close!(&y.to_vec(), &want, 1e-12);
            }
        }
    }

    #[test]
    fn gradients_including_broadcast_sums() {
        let pats: [([usize; 3], [usize; 3]); 4] = [
            ([2, 3, 4], [2, 3, 4]),
            ([2, 3, 4], [1, 1, 4]),
            ([2, 1, 4], [1, 3, 1]),
            ([1, 3, 1], [2, 3, 4]),
        ];
        for (ad, bd) in pats {
            let (a, b) = (
                t3(ad, vals(ad.iter().product(), 0)),
                t3(bd, vals(bd.iter().product(), 5)),
            );
            for (name, _) in refs() {
                gradcheck(&a, |a| apply(name, a, b.clone()))
                    .unwrap_or_else(|e| panic!("{name} wrt a {ad:?} {bd:?}: {e}"));
                gradcheck(&b, |b| apply(name, a.clone(), b))
                    .unwrap_or_else(|e| panic!("{name} wrt b {ad:?} {bd:?}: {e}"));
            }
        }
    }

    #[test]
    fn rank_broadcast_bias_over_rows() {
        let dev = dev();
        let x: Tensor<(Dyn, u!(3)), f64, Dev> = Tensor::from_vec(
            (Dyn(2), Default::default()),
            vec![1., 2., 3., 4., 5., 6.],
            &dev,
        );
        let b = Tensor::<(u!(3),), f64, Dev>::from_vec_static(vec![10., 20., 30.], &dev);
        assert_eq!(
            (x.clone() + b.clone()).to_vec(),
            vec![11., 22., 33., 14., 25., 36.]
        );
        // Gradient of the bias is the column sum of the cotangent.
        gradcheck(&b, |b| x.clone() + b).unwrap();
        let grads = (x.clone() + b.clone().trace())
            .backward_from(Tensor::ones((Dyn(2), Default::default()), &dev));
        assert_eq!(grads.get(&b).unwrap().to_vec(), vec![2.0, 2.0, 2.0]);
    }

    #[test]
    fn same_tensor_on_both_sides_accumulates() {
        let x = vec1(vec![1.0, -2.0, 3.0]);
        let xt = x.clone().trace();
        let grads = (xt.clone() * xt).backward_from(vec1(vec![1.0, 1.0, 1.0]));
        assert_eq!(grads.get(&x).unwrap().to_vec(), vec![2.0, -4.0, 6.0]);
    }

    /// Add and sub hand the same gradient buffer to both operands: a later
    /// accumulation into one of them must not change the other's, in either
    /// order of the backward steps.
    #[test]
    fn shared_gradient_buffers_stay_separate() {
        let (a, b) = (vec1(vec![1.0, 2.0, 3.0]), vec1(vec![-1.0, 0.5, 4.0]));
        let seed = || vec1(vec![1.0, 2.0, 3.0]);
        let tape = Tape::default();
        let (at, bt) = (a.clone().trace_into(&tape), b.clone().trace_into(&tape));
        // The add's backward runs first (it was recorded last), then a's product.
        let y = at.clone() * 3.0 + (at.clone() + bt.clone());
        let g = y.backward_from(seed());
        assert_eq!(g.get(&a).unwrap().to_vec(), vec![4.0, 8.0, 12.0]);
        assert_eq!(g.get(&b).unwrap().to_vec(), vec![1.0, 2.0, 3.0]);
        // The other order, and sub (the left side shares the buffer).
        let tape = Tape::default();
        let (at, bt) = (a.clone().trace_into(&tape), b.clone().trace_into(&tape));
        let y = (at.clone() - bt.clone()) + at * 3.0 + bt * 2.0;
        let g = y.backward_from(seed());
        assert_eq!(g.get(&a).unwrap().to_vec(), vec![4.0, 8.0, 12.0]);
        assert_eq!(g.get(&b).unwrap().to_vec(), vec![1.0, 2.0, 3.0]);
    }

    #[test]
    fn separate_tapes_merge() {
        let (a, b) = (vec1(vec![1.0, 2.0]), vec1(vec![3.0, 4.0]));
        let grads =
            (a.clone().trace().exp() * b.clone().trace().square()).backward_from(vec1(vec![1.0, 1.0]));
        assert_close!(
            &grads.get(&a).unwrap().to_vec(),
            &[1f64.exp() * 9.0, 2f64.exp() * 16.0],
            1e-12,
        );
        assert_close!(
            &grads.get(&b).unwrap().to_vec(),
            &[1f64.exp() * 6.0, 2f64.exp() * 8.0],
            1e-12,
        );
    }

    #[test]
    #[should_panic(expected = "broadcast: cannot broadcast sizes 3 and 4 on axis 1")]
    fn dyn_broadcast_mismatch_panics_with_sizes() {
        let _ = mat(2, 3, vec![0.0; 6]) + mat(2, 4, vec![0.0; 8]);
    }

    #[test]
    fn dyn_broadcast_mismatch_try_form() {
        let e = mat(2, 3, vec![0.0; 6])
            .try_add(mat(2, 4, vec![0.0; 8]))
            .unwrap_err();
        assert_eq!(
            e,
            Error::Broadcast {
                axis: 1,
                lhs: 3,
                rhs: 4
            }
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        #[test]
        fn prop_broadcast_values_and_grads(
            ad in sizes(3, 1..=3), mask in proptest::collection::vec(any::<bool>(), 3), seed in 0usize..50
        ) {
            let ad = [ad[0], ad[1], ad[2]];
            let bd = [if mask[0] { 1 } else { ad[0] }, if mask[1] { 1 } else { ad[1] }, if mask[2] { 1 } else { ad[2] }];
            let (av, bv) = (vals(ad.iter().product(), seed), vals(bd.iter().product(), seed + 3));
            for (name, f) in refs() {
                let (want, _) = naive(f, &av, ad, &bv, bd);
                let y = apply(name, t3(ad, av.clone()), t3(bd, bv.clone())).to_vec();
                prop_assert!(y.iter().zip(&want).all(|(a, b)| (a - b).abs() < 1e-12 * (1.0 + b.abs())));
                let (a, b) = (t3(ad, av.clone()), t3(bd, bv.clone()));
                if name == "maximum" || name == "minimum" {
                    continue; // ties between a and b make finite differences invalid
                }
                prop_assert!(gradcheck(&a, |a| apply(name, a, b.clone())).is_ok());
                prop_assert!(gradcheck(&b, |b| apply(name, a.clone(), b)).is_ok());
            }
        }
    }
}
