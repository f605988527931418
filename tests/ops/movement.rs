//! Data movement: permute/transpose/t, reshape/reshape_to/flatten,
//! broadcast_to, narrow and concat. Values against naive index loops,
//! finite-difference gradients, proptests over random (Dyn) shapes, the
//! runtime errors and panic messages, and concat/narrow round trips.

// Static shapes written with `u!` expand to nested typenum types.
#![allow(clippy::type_complexity)]

use crate::common::*;
use proptest::prelude::*;
use typegrad::autograd::Tracking;
use typegrad::prelude::*;

typegrad::per_device! {
    ops_helpers!();

    /// Whether two buffers are one (a free reshape or broadcast). Checked
    /// on the CPU, whose storage type this suite can look into; `true`
    /// elsewhere (values are still checked there).
    fn same_buffer<S: 'static>(a: &S, b: &S) -> bool {
        use std::any::Any;
        use typegrad::backend::cpu::CpuStorage;
        fn cpu<S: 'static>(s: &S) -> Option<&CpuStorage<f64>> {
            (s as &dyn Any).downcast_ref::<CpuStorage<f64>>()
        }
        match (cpu(a), cpu(b)) {
            (Some(a), Some(b)) => CpuStorage::ptr_eq(a, b),
            _ => true,
        }
    }

    type D3 = (Dyn, Dyn, Dyn);
    type D4 = (Dyn, Dyn, Dyn, Dyn);

    /// Deterministic test values in about [-1.7, 1.7].
    fn vals(n: usize, seed: usize) -> Vec<f64> {
        cotangent(n + seed)
            .into_iter()
            .skip(seed)
            .map(|v| v * 1.7)
            .collect()
    }

    fn dyn_shape<S: Shape>(d: &[usize]) -> S {
        S::try_from_dims(d).unwrap()
    }

    fn t_dyn<S: Shape>(d: &[usize], v: Vec<f64>) -> Tensor<S, f64, Dev> {
        Tensor::from_vec(dyn_shape::<S>(d), v, &dev())
    }

    /// Row-major strides.
    fn strides(d: &[usize]) -> Vec<usize> {
        let mut s = vec![1; d.len()];
        for i in (0..d.len().saturating_sub(1)).rev() {
            s[i] = s[i + 1] * d[i + 1];
        }
        s
    }

    /// Multi-index of flat index `i` in dims `d`.
    fn unravel(mut i: usize, d: &[usize]) -> Vec<usize> {
        let mut idx = vec![0; d.len()];
        for a in (0..d.len()).rev() {
            idx[a] = i % d[a];
            i /= d[a];
        }
        idx
    }

    /// Naive permute: output axis `i` is input axis `perm[i]`.
    fn naive_permute(x: &[f64], d: &[usize], perm: &[usize]) -> Vec<f64> {
        let od: Vec<usize> = perm.iter().map(|&p| d[p]).collect();
        let s = strides(d);
        let n: usize = od.iter().product();
        (0..n)
            .map(|o| {
                let idx = unravel(o, &od);
                x[idx.iter().zip(perm).map(|(&i, &p)| i * s[p]).sum::<usize>()]
            })
            .collect()
    }

    /// Naive expand of `from` dims to `to` dims (right-aligned).
    fn naive_expand(x: &[f64], from: &[usize], to: &[usize]) -> Vec<f64> {
        let off = to.len() - from.len();
        let s = strides(from);
        let n: usize = to.iter().product();
        (0..n)
            .map(|o| {
                let idx = unravel(o, to);
                x[(0..from.len())
                    .map(|a| if from[a] == 1 { 0 } else { idx[a + off] * s[a] })
                    .sum::<usize>()]
            })
            .collect()
    }

    /// Naive narrow along `axis`.
    fn naive_narrow(x: &[f64], d: &[usize], axis: usize, start: usize, len: usize) -> Vec<f64> {
        let mut od = d.to_vec();
        od[axis] = len;
        let s = strides(d);
        let n: usize = od.iter().product();
        (0..n)
            .map(|o| {
                let mut idx = unravel(o, &od);
                idx[axis] += start;
                x[idx.iter().zip(&s).map(|(i, s)| i * s).sum::<usize>()]
            })
            .collect()
    }

    /// Naive concat along `axis`.
    fn naive_concat(a: &[f64], ad: &[usize], b: &[f64], bd: &[usize], axis: usize) -> Vec<f64> {
        let mut od = ad.to_vec();
        od[axis] += bd[axis];
        let (sa, sb) = (strides(ad), strides(bd));
        let n: usize = od.iter().product();
        (0..n)
            .map(|o| {
                let mut idx = unravel(o, &od);
                if idx[axis] < ad[axis] {
                    a[idx.iter().zip(&sa).map(|(i, s)| i * s).sum::<usize>()]
                } else {
                    idx[axis] -= ad[axis];
                    b[idx.iter().zip(&sb).map(|(i, s)| i * s).sum::<usize>()]
                }
            })
            .collect()
    }

    // ------------------------------------------------------------------ permute

    /// Every permutation of three axes, dispatched to the const-generic method.
    fn permute3<T: Tracking<f64, Dev>>(
        x: Tensor<D3, f64, Dev, T>,
        p: [usize; 3],
    ) -> Tensor<D3, f64, Dev, T> {
        match p {
            [0, 1, 2] => x.permute::<0, 1, 2>(),
            [0, 2, 1] => x.permute::<0, 2, 1>(),
            [1, 0, 2] => x.permute::<1, 0, 2>(),
            [1, 2, 0] => x.permute::<1, 2, 0>(),
            [2, 0, 1] => x.permute::<2, 0, 1>(),
            [2, 1, 0] => x.permute::<2, 1, 0>(),
            _ => unreachable!("not a permutation: {p:?}"),
        }
    }

    macro_rules! perms4 {
        ($x:expr, $p:expr; $([$a:literal, $b:literal, $c:literal, $d:literal])*) => {
            match $p {
                $([$a, $b, $c, $d] => $x.permute::<$a, $b, $c, $d>(),)*
                p => unreachable!("not a permutation: {p:?}"),
            }
        };
    }

    /// Every permutation of four axes, dispatched to the const-generic method.
    fn permute4<T: Tracking<f64, Dev>>(
        x: Tensor<D4, f64, Dev, T>,
        p: [usize; 4],
    ) -> Tensor<D4, f64, Dev, T> {
        perms4!(x, p;
            [0, 1, 2, 3] [0, 1, 3, 2] [0, 2, 1, 3] [0, 2, 3, 1] [0, 3, 1, 2] [0, 3, 2, 1]
            [1, 0, 2, 3] [1, 0, 3, 2] [1, 2, 0, 3] [1, 2, 3, 0] [1, 3, 0, 2] [1, 3, 2, 0]
            [2, 0, 1, 3] [2, 0, 3, 1] [2, 1, 0, 3] [2, 1, 3, 0] [2, 3, 0, 1] [2, 3, 1, 0]
            [3, 0, 1, 2] [3, 0, 2, 1] [3, 1, 0, 2] [3, 1, 2, 0] [3, 2, 0, 1] [3, 2, 1, 0]
        )
    }

    fn all_perms(n: usize) -> Vec<Vec<usize>> {
        if n == 0 {
            return vec![vec![]];
        }
        let mut out = Vec::new();
        for p in all_perms(n - 1) {
            for pos in 0..n {
                let mut q = p.clone();
                q.insert(pos, n - 1);
                out.push(q);
            }
        }
        out
    }

    #[test]
    fn permute_every_rank3_and_rank4_perm_matches_naive() {
        let d3 = [2, 3, 4];
        let x3 = vals(24, 1);
        for p in all_perms(3) {
            let y = permute3(t_dyn::<D3>(&d3, x3.clone()), [p[0], p[1], p[2]]);
            assert_eq!(y.to_vec(), naive_permute(&x3, &d3, &p), "perm {p:?}");
            let od: Vec<usize> = p.iter().map(|&a| d3[a]).collect();
            assert_eq!(&*y.dims(), &od[..]);
        }
        let d4 = [2, 3, 1, 5];
        let x4 = vals(30, 2);
        for p in all_perms(4) {
            let y = permute4(t_dyn::<D4>(&d4, x4.clone()), [p[0], p[1], p[2], p[3]]);
            assert_eq!(y.to_vec(), naive_permute(&x4, &d4, &p), "perm {p:?}");
        }
    }

    #[test]
    fn permute_static_ranks_2_to_6() {
        let d = dev();
        let x2 = Tensor::<(u!(2), u!(3)), f64, Dev>::from_vec_static(vals(6, 0), &d);
        let y2: Tensor<(u!(3), u!(2)), f64, Dev> = x2.permute::<1, 0>();
        assert_eq!(y2.to_vec(), naive_permute(&vals(6, 0), &[2, 3], &[1, 0]));

        let x5 = Tensor::<(u!(2), u!(3), u!(1), u!(4), u!(2)), f64, Dev>::from_vec_static(vals(48, 3), &d);
        let y5: Tensor<(u!(4), u!(2), u!(2), u!(1), u!(3)), f64, Dev> = x5.permute::<3, 0, 4, 2, 1>();
        assert_eq!(
            y5.to_vec(),
            naive_permute(&vals(48, 3), &[2, 3, 1, 4, 2], &[3, 0, 4, 2, 1])
        );

        let x6 =
            Tensor::<(u!(2), u!(1), u!(3), u!(2), u!(2), u!(3)), f64, Dev>::from_vec_static(vals(72, 4), &d);
        let y6: Tensor<(u!(3), u!(2), u!(2), u!(1), u!(3), u!(2)), f64, Dev> =
            x6.permute::<5, 3, 0, 1, 2, 4>();
        assert_eq!(
            y6.to_vec(),
            naive_permute(&vals(72, 4), &[2, 1, 3, 2, 2, 3], &[5, 3, 0, 1, 2, 4])
        );
    }

    /// Code generic over some dims: the permuted shape type follows.
    fn split_heads<B: Dim, L: Dim, T: Tracking<f64, Dev>>(
        x: Tensor<(B, L, u!(2), u!(3)), f64, Dev, T>,
    ) -> Tensor<(B, u!(2), L, u!(3)), f64, Dev, T> {
        x.permute::<0, 2, 1, 3>()
    }

    #[test]
    fn permute_in_generic_code() {
        let x: Tensor<(Dyn, u!(4), u!(2), u!(3)), f64, Dev> = Tensor::from_vec(
            (
                Dyn(2),
                Default::default(),
                Default::default(),
                Default::default(),
            ),
            vals(48, 40),
            &dev(),
        );
        let y = split_heads(x);
        assert_eq!(&*y.dims(), &[2, 2, 4, 3]);
        assert_eq!(
            y.to_vec(),
            naive_permute(&vals(48, 40), &[2, 4, 2, 3], &[0, 2, 1, 3])
        );
    }

    #[test]
    fn permute_large_tiled_and_parallel_paths() {
        // Big enough for the rayon split (>= 2^18 elements) and with sizes that
        // are not multiples of the 32-wide tiles.
        let (r, c) = (450, 613);
        let x: Vec<f64> = (0..r * c).map(|i| i as f64).collect();
        let y = mat(r, c, x.clone()).t();
        assert_eq!(y.to_vec(), naive_permute(&x, &[r, c], &[1, 0]));

        let d4 = [3, 37, 45, 53];
        let n: usize = d4.iter().product();
        let x: Vec<f64> = (0..n).map(|i| i as f64).collect();
        for p in [[2, 0, 3, 1], [0, 2, 1, 3], [3, 2, 1, 0], [1, 3, 0, 2]] {
            let y = permute4(t_dyn::<D4>(&d4, x.clone()), p);
            assert_eq!(y.to_vec(), naive_permute(&x, &d4, &p), "perm {p:?}");
        }
    }

    #[test]
    fn permute_f32() {
        let x = Tensor::<(u!(2), u!(3), u!(2)), f32, Dev>::from_vec_static(
            (0..12).map(|i| i as f32).collect(),
            &dev(),
        );
        let y = x.permute::<2, 0, 1>();
        let want: Vec<f32> = naive_permute(
            &(0..12).map(|i| i as f64).collect::<Vec<_>>(),
            &[2, 3, 2],
            &[2, 0, 1],
        )
        .iter()
        .map(|&v| v as f32)
        .collect();
        assert_eq!(y.to_vec(), want);
    }

    #[test]
    fn permute_gradcheck() {
        let x = t_dyn::<D3>(&[2, 3, 4], vals(24, 5));
        for p in all_perms(3) {
            gradcheck(&x, |x| permute3(x, [p[0], p[1], p[2]])).unwrap();
        }
        let x =
            Tensor::<(u!(2), u!(1), u!(3), u!(2), u!(2)), f64, Dev>::from_vec_static(vals(24, 6), &dev());
        gradcheck(&x, |x| x.permute::<4, 2, 0, 3, 1>()).unwrap();
    }

    #[test]
    fn transpose_and_t_match_naive() {
        let d = [2, 3, 4];
        let x = vals(24, 7);
        let y = t_dyn::<D3>(&d, x.clone()).transpose::<0, 2>();
        assert_eq!(y.to_vec(), naive_permute(&x, &d, &[2, 1, 0]));
        let y = t_dyn::<D3>(&d, x.clone()).transpose::<2, 1>();
        assert_eq!(y.to_vec(), naive_permute(&x, &d, &[0, 2, 1]));
        // Swapping an axis with itself changes nothing.
        let y = t_dyn::<D3>(&d, x.clone()).transpose::<1, 1>();
        assert_eq!(y.to_vec(), x);

        let m = Tensor::<(u!(2), Dyn), f64, Dev>::from_vec((Default::default(), Dyn(3)), vals(6, 8), &dev());
        let mt: Tensor<(Dyn, u!(2)), f64, Dev> = m.t();
        assert_eq!(mt.to_vec(), naive_permute(&vals(6, 8), &[2, 3], &[1, 0]));
        // Static shapes: the swapped dims are the types.
        let s = Tensor::<(u!(2), u!(3), u!(4)), f64, Dev>::from_vec_static(vals(24, 9), &dev());
        let _: Tensor<(u!(4), u!(3), u!(2)), f64, Dev> = s.transpose::<0, 2>();
    }

    #[test]
    fn transpose_gradcheck() {
        let x = t_dyn::<D4>(&[2, 3, 2, 2], vals(24, 10));
        gradcheck(&x, |x| x.transpose::<1, 3>()).unwrap();
        gradcheck(&x, |x| x.transpose::<2, 2>()).unwrap();
        gradcheck(&mat(3, 4, vals(12, 11)), |x| x.t()).unwrap();
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn prop_permute3(d in sizes(3, 1..=6), p in 0usize..6, seed in 0usize..100) {
            let p3 = all_perms(3)[p].clone();
            let n = d.iter().product();
            let x = vals(n, seed);
            let y = permute3(t_dyn::<D3>(&d, x.clone()), [p3[0], p3[1], p3[2]]);
            prop_assert_eq!(y.to_vec(), naive_permute(&x, &d, &p3));
        }

        #[test]
        fn prop_permute4(d in sizes(4, 1..=5), p in 0usize..24, v in values(625, -3.0..3.0)) {
            let p4 = all_perms(4)[p].clone();
            let n: usize = d.iter().product();
            let x = v[..n].to_vec();
            let y = permute4(t_dyn::<D4>(&d, x.clone()), [p4[0], p4[1], p4[2], p4[3]]);
            prop_assert_eq!(y.to_vec(), naive_permute(&x, &d, &p4));
        }

        #[test]
        fn prop_permute_gradcheck(d in sizes(3, 1..=3), p in 0usize..6, seed in 0usize..100) {
            let p3 = all_perms(3)[p].clone();
            let x = t_dyn::<D3>(&d, vals(d.iter().product(), seed));
            prop_assert!(gradcheck(&x, |x| permute3(x, [p3[0], p3[1], p3[2]])).is_ok());
        }

        #[test]
        fn prop_transpose_is_an_involution(x in tensor_on::<(Dyn, Dyn), f64, Dev>(dev(), 1..=40, -2.0..2.0)) {
            let (r, c, v) = (x.dims()[0], x.dims()[1], x.to_vec());
            prop_assert_eq!(x.clone().t().to_vec(), naive_permute(&v, &[r, c], &[1, 0]));
            prop_assert_eq!(x.t().t().to_vec(), v);
        }
    }

    // ------------------------------------------------------------------ reshape / flatten

    #[test]
    fn reshape_static_keeps_values_and_storage() {
        let x = Tensor::<(u!(2), u!(3), u!(2)), f64, Dev>::from_vec_static(vals(12, 12), &dev());
        let y: Tensor<(u!(4), u!(3)), f64, Dev> = x.clone().reshape::<(u!(4), u!(3))>();
        assert_eq!(y.to_vec(), x.to_vec());
        // Free: the buffer is shared, not copied.
        assert!(same_buffer(
            x.storage(),
            y.storage()
        ));
        let z: Tensor<(u!(12),), f64, Dev> = y.reshape();
        assert_eq!(z.to_vec(), vals(12, 12));
    }

    #[test]
    fn reshape_to_dyn_and_errors() {
        let x = t_dyn::<(Dyn, Dyn)>(&[4, 6], vals(24, 13));
        let y = x.clone().reshape_to((Dyn(2), <u!(3)>::default(), Dyn(4)));
        assert_eq!(&*y.dims(), &[2, 3, 4]);
        assert_eq!(y.to_vec(), x.to_vec());
        let e = x.clone().try_reshape_to((Dyn(5), Dyn(5))).unwrap_err();
        assert_eq!(
            e,
            Error::NumelMismatch {
                op: "reshape_to",
                got: 24,
                expected: 25
            }
        );
        assert_eq!(
            e.to_string(),
            "reshape_to: element count mismatch: got 24 elements, the shape needs 25"
        );
        // A static target dim that cannot hold the runtime size is caught as well.
        assert!(x.try_reshape_to((Dyn(3), <u!(7)>::default())).is_err());
    }

    #[test]
    #[should_panic(expected = "reshape_to: element count mismatch: got 6 elements, the shape needs 8")]
    fn reshape_to_panics_with_both_counts() {
        let _ = vec1(vals(6, 0)).reshape_to((Dyn(2), Dyn(4)));
    }

    #[test]
    fn reshape_gradcheck() {
        let x = Tensor::<(u!(2), u!(3)), f64, Dev>::from_vec_static(vals(6, 14), &dev());
        // Square after the reshape so the gradient depends on the values.
        gradcheck(&x, |x| x.reshape::<(u!(3), u!(2))>().square()).unwrap();
        let y = t_dyn::<(Dyn, Dyn)>(&[3, 4], vals(12, 15));
        gradcheck(&y, |x| x.reshape_to((Dyn(2), Dyn(6))).square()).unwrap();
    }

    #[test]
    fn reshape_intermediate_gradient_is_its_own() {
        // loss = sum(x) + sum(2·reshape(x)): the gradient of x is 3, that of the
        // reshaped tensor 2.
        let x = Tensor::<(u!(2), u!(2)), f64, Dev>::from_vec_static(vals(4, 16), &dev()).trace();
        let y = x.clone().reshape::<(u!(4),)>().retain_grad();
        let loss = x.clone().sum() + y.clone().mul_scalar(2.0).sum();
        let g = loss.backward();
        assert_eq!(g.get(&x).unwrap().to_vec(), vec![3.0; 4]);
        assert_eq!(g.get(&y).unwrap().to_vec(), vec![2.0; 4]);
    }

    #[test]
    fn flatten_types_and_values() {
        let d = dev();
        let x: Tensor<(Dyn, u!(3), u!(4), u!(5)), f64, Dev> = Tensor::from_vec(
            (
                Dyn(2),
                Default::default(),
                Default::default(),
                Default::default(),
            ),
            vals(120, 17),
            &d,
        );
        let a: Tensor<(Dyn, u!(60)), f64, Dev> = x.clone().flatten();
        let b: Tensor<(Dyn, u!(3), u!(20)), f64, Dev> = x.clone().flatten_from::<2>();
        let c: Tensor<(Dyn,), f64, Dev> = x.clone().flatten_all();
        let e: Tensor<(Dyn, u!(3), u!(4), u!(5)), f64, Dev> = x.clone().flatten_from::<3>();
        assert_eq!(&*a.dims(), &[2, 60]);
        assert_eq!(&*b.dims(), &[2, 3, 20]);
        assert_eq!(&*c.dims(), &[120]);
        for t in [a.to_vec(), b.to_vec(), c.to_vec(), e.to_vec()] {
            assert_eq!(t, x.to_vec());
        }
        // A Dyn factor makes the product Dyn; static products stay static.
        let y: Tensor<(u!(2), Dyn, u!(3)), f64, Dev> =
            Tensor::zeros((Default::default(), Dyn(5), Default::default()), &d);
        let f: Tensor<(u!(2), Dyn), f64, Dev> = y.clone().flatten();
        assert_eq!(&*f.dims(), &[2, 15]);
        let s: Tensor<(u!(6),), f64, Dev> =
            Tensor::<(u!(2), u!(3)), f64, Dev>::zeros(Default::default(), &d).flatten_all();
        assert_eq!(s.numel(), 6);
        let one: Tensor<(u!(1),), f64, Dev> = Tensor::<(), f64, Dev>::full((), 7.0, &d).flatten_all();
        assert_eq!(one.to_vec(), vec![7.0]);
    }

    #[test]
    fn flatten_gradcheck() {
        let x = t_dyn::<D3>(&[2, 2, 3], vals(12, 18));
        gradcheck(&x, |x| x.flatten().square()).unwrap();
        gradcheck(&x, |x| x.flatten_all().square()).unwrap();
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn prop_reshape_and_flatten_keep_order(d in sizes(4, 1..=4), seed in 0usize..100) {
            let n: usize = d.iter().product();
            let x = t_dyn::<D4>(&d, vals(n, seed));
            let y = x.clone().flatten();
            prop_assert_eq!(&*y.dims(), &[d[0], d[1] * d[2] * d[3]][..]);
            prop_assert_eq!(y.to_vec(), x.to_vec());
            let z = x.clone().reshape_to((Dyn(d[3]), Dyn(n / d[3])));
            prop_assert_eq!(z.to_vec(), x.to_vec());
            prop_assert!(x.clone().try_reshape_to((Dyn(n + 1),)).is_err());
            prop_assert!(gradcheck(&x, |x| x.flatten_from::<2>().square()).is_ok());
        }
    }

    // ------------------------------------------------------------------ broadcast_to

    #[test]
    fn broadcast_to_values() {
        let d = dev();
        let v = Tensor::<(u!(3),), f64, Dev>::from_vec_static(vec![1.0, 2.0, 3.0], &d);
        let y: Tensor<(Dyn, u!(3)), f64, Dev> = v.broadcast_to((Dyn(2), Default::default()));
        assert_eq!(y.to_vec(), vec![1.0, 2.0, 3.0, 1.0, 2.0, 3.0]);

        let c = Tensor::<(u!(2), u!(1)), f64, Dev>::from_vec_static(vec![1.0, 2.0], &d);
        let y: Tensor<(u!(2), u!(2), u!(3)), f64, Dev> = c.broadcast_to(Default::default());
        assert_eq!(y.to_vec(), naive_expand(&[1.0, 2.0], &[2, 1], &[2, 2, 3]));

        // Only size-1 axes added: shares the storage.
        let c = Tensor::<(u!(2), u!(3)), f64, Dev>::from_vec_static(vals(6, 19), &d);
        let y: Tensor<(u!(1), u!(2), u!(3)), f64, Dev> = c.clone().broadcast_to(Default::default());
        assert!(same_buffer(
            c.storage(),
            y.storage()
        ));

        // A scalar to anything.
        let s = Tensor::<(), f64, Dev>::full((), 4.0, &d);
        assert_eq!(s.broadcast_to((Dyn(2), Dyn(2))).to_vec(), vec![4.0; 4]);
    }

    #[test]
    fn broadcast_to_large_matches_naive() {
        let (from, to) = ([1, 300, 1, 7], [5, 300, 11, 7]);
        let x = vals(2100, 20);
        let y = t_dyn::<D4>(&from, x.clone()).broadcast_to(dyn_shape::<D4>(&to));
        assert_eq!(y.to_vec(), naive_expand(&x, &from, &to));
    }

    #[test]
    fn broadcast_to_runtime_errors() {
        let x = t_dyn::<(Dyn, Dyn)>(&[2, 1], vals(2, 0));
        let e = x.clone().try_broadcast_to((Dyn(3), Dyn(4))).unwrap_err();
        assert_eq!(
            e,
            Error::DimMismatch {
                op: "broadcast_to",
                axis: 0,
                what: "source dim must be 1 or equal to the target",
                got: 2,
                expected: 3
            }
        );
        // A static source dim against a Dyn target is checked at run time too.
        let v = Tensor::<(u!(3),), f64, Dev>::zeros(Default::default(), &dev());
        assert!(v.try_broadcast_to((Dyn(2), Dyn(4))).is_err());
    }

    #[test]
    #[should_panic(
        expected = "broadcast_to: dimension mismatch on axis 2 (source dim must be 1 or equal to the target): got 3, expected 5"
    )]
    fn broadcast_to_panics_naming_axis_and_sizes() {
        let x = t_dyn::<(Dyn, Dyn)>(&[1, 3], vals(3, 0));
        let _ = x.broadcast_to((Dyn(2), Dyn(4), Dyn(5)));
    }

    #[test]
    fn broadcast_to_gradcheck() {
        let x = t_dyn::<(Dyn, Dyn)>(&[3, 1], vals(3, 21));
        gradcheck(&x, |x| x.broadcast_to((Dyn(2), Dyn(3), Dyn(4))).square()).unwrap();
        let v = Tensor::<(u!(3),), f64, Dev>::from_vec_static(vals(3, 22), &dev());
        gradcheck(&v, |x| {
            x.broadcast_to((Dyn(4), <u!(3)>::default())).square()
        })
        .unwrap();
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn prop_broadcast_to(to in sizes(4, 1..=4), mask in proptest::collection::vec(any::<bool>(), 4), drop in 0usize..3, seed in 0usize..100) {
            // Source: the target's trailing axes with some of them set to 1.
            let from: Vec<usize> = to[drop..].iter().zip(&mask[drop..]).map(|(&t, &m)| if m { 1 } else { t }).collect();
            let n: usize = from.iter().product();
            let x = vals(n, seed);
            let y = match from.len() {
                4 => t_dyn::<D4>(&from, x.clone()).broadcast_to(dyn_shape::<D4>(&to)),
                3 => t_dyn::<D3>(&from, x.clone()).broadcast_to(dyn_shape::<D4>(&to)),
                _ => t_dyn::<(Dyn, Dyn)>(&from, x.clone()).broadcast_to(dyn_shape::<D4>(&to)),
            };
            prop_assert_eq!(y.to_vec(), naive_expand(&x, &from, &to));
            let xt = t_dyn::<D4>(&[1, 1, 1, 1][..4 - from.len()].iter().chain(&from).copied().collect::<Vec<_>>(), x);
            prop_assert!(gradcheck(&xt, |x| x.broadcast_to(dyn_shape::<D4>(&to)).square()).is_ok());
        }
    }

    // ------------------------------------------------------------------ narrow

    #[test]
    fn narrow_values_and_types() {
        let d = dev();
        let x = Tensor::<(u!(3), u!(4), u!(2)), f64, Dev>::from_vec_static(vals(24, 23), &d);
        let y: Tensor<(u!(3), Dyn, u!(2)), f64, Dev> = x.clone().narrow::<1>(1, Dyn(2));
        assert_eq!(y.to_vec(), naive_narrow(&vals(24, 23), &[3, 4, 2], 1, 1, 2));
        let z: Tensor<(u!(2), u!(4), u!(2)), f64, Dev> = x.clone().narrow::<0>(1, <u!(2)>::default());
        assert_eq!(z.to_vec(), naive_narrow(&vals(24, 23), &[3, 4, 2], 0, 1, 2));
        let w = x.clone().narrow::<2>(1, Dyn(1));
        assert_eq!(w.to_vec(), naive_narrow(&vals(24, 23), &[3, 4, 2], 2, 1, 1));
        // Empty and whole slices.
        assert_eq!(x.clone().narrow::<1>(4, Dyn(0)).numel(), 0);
        assert_eq!(x.clone().narrow::<1>(0, Dyn(4)).to_vec(), x.to_vec());
    }

    #[test]
    fn narrow_errors() {
        let x = t_dyn::<D3>(&[2, 5, 3], vals(30, 0));
        let e = x.clone().try_narrow::<1>(4, Dyn(2)).unwrap_err();
        assert_eq!(
            e,
            Error::IndexOutOfRange {
                op: "narrow",
                axis: 1,
                index: 6,
                size: 5
            }
        );
        assert!(x.clone().try_narrow::<2>(4, Dyn(0)).is_err());
        assert!(x.try_narrow::<0>(usize::MAX, Dyn(1)).is_err());
    }

    #[test]
    #[should_panic(expected = "narrow: index 4 out of range for axis 2 of size 3")]
    fn narrow_panics_naming_axis_end_and_size() {
        let x = t_dyn::<D3>(&[2, 5, 3], vals(30, 0));
        let _ = x.narrow::<2>(1, Dyn(3));
    }

    #[test]
    fn narrow_gradcheck() {
        let x = t_dyn::<D3>(&[3, 4, 2], vals(24, 24));
        gradcheck(&x, |x| x.narrow::<1>(1, Dyn(2)).square()).unwrap();
        gradcheck(&x, |x| x.narrow::<0>(2, Dyn(1)).square()).unwrap();
        gradcheck(&x, |x| x.narrow::<2>(0, Dyn(2)).square()).unwrap();
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn prop_narrow(d in sizes(3, 1..=6), axis in 0usize..3, a in 0usize..6, b in 0usize..6, seed in 0usize..100) {
            let size = d[axis];
            let start = a % (size + 1);
            let len = b % (size - start + 1);
            let n: usize = d.iter().product();
            let xv = vals(n, seed);
            let x = t_dyn::<D3>(&d, xv.clone());
            let y = match axis {
                0 => x.clone().narrow::<0>(start, Dyn(len)),
                1 => x.clone().narrow::<1>(start, Dyn(len)),
                _ => x.clone().narrow::<2>(start, Dyn(len)),
            };
            prop_assert_eq!(y.to_vec(), naive_narrow(&xv, &d, axis, start, len));
            let grad = gradcheck(&x, |x| match axis {
                0 => x.narrow::<0>(start, Dyn(len)).square(),
                1 => x.narrow::<1>(start, Dyn(len)).square(),
                _ => x.narrow::<2>(start, Dyn(len)).square(),
            });
            prop_assert!(grad.is_ok(), "{:?}", grad);
            let r = match axis {
                0 => x.clone().try_narrow::<0>(start, Dyn(size - start + 1)),
                1 => x.clone().try_narrow::<1>(start, Dyn(size - start + 1)),
                _ => x.clone().try_narrow::<2>(start, Dyn(size - start + 1)),
            };
            prop_assert_eq!(r.unwrap_err(), Error::IndexOutOfRange { op: "narrow", axis, index: size + 1, size });
        }
    }

    // ------------------------------------------------------------------ concat

    #[test]
    fn concat_values_and_types() {
        let d = dev();
        let a = Tensor::<(u!(2), u!(3)), f64, Dev>::from_vec_static(vals(6, 25), &d);
        let b = Tensor::<(u!(2), u!(2)), f64, Dev>::from_vec_static(vals(4, 26), &d);
        let c: Tensor<(u!(2), u!(5)), f64, Dev> = a.clone().concat::<1>(b.clone());
        assert_eq!(
            c.to_vec(),
            naive_concat(&vals(6, 25), &[2, 3], &vals(4, 26), &[2, 2], 1)
        );
        let e = Tensor::<(u!(1), u!(3)), f64, Dev>::from_vec_static(vals(3, 27), &d);
        let f: Tensor<(u!(3), u!(3)), f64, Dev> = a.clone().concat::<0>(e);
        assert_eq!(
            f.to_vec(),
            naive_concat(&vals(6, 25), &[2, 3], &vals(3, 27), &[1, 3], 0)
        );
        // Dyn on the concat axis gives Dyn; off it, the static side wins.
        let g = Tensor::<(Dyn, Dyn), f64, Dev>::from_vec((Dyn(4), Dyn(3)), vals(12, 28), &d);
        let h: Tensor<(Dyn, u!(3)), f64, Dev> = a.concat::<0>(g);
        assert_eq!(&*h.dims(), &[6, 3]);
    }

    #[test]
    fn concat_rank4_middle_axis_matches_naive() {
        let (ad, bd) = ([2, 3, 4, 5], [2, 6, 4, 5]);
        let (av, bv) = (vals(120, 29), vals(240, 30));
        let c = t_dyn::<D4>(&ad, av.clone()).concat::<1>(t_dyn::<D4>(&bd, bv.clone()));
        assert_eq!(c.to_vec(), naive_concat(&av, &ad, &bv, &bd, 1));
        // Large enough for the parallel path.
        let (ad, bd) = ([220, 30, 30], [220, 11, 30]);
        let (av, bv) = (vals(198000, 31), vals(72600, 32));
        let c = t_dyn::<D3>(&ad, av.clone()).concat::<1>(t_dyn::<D3>(&bd, bv.clone()));
        assert_eq!(c.to_vec(), naive_concat(&av, &ad, &bv, &bd, 1));
    }

    #[test]
    fn concat_errors() {
        let a = t_dyn::<D3>(&[2, 3, 4], vals(24, 0));
        let b = t_dyn::<D3>(&[2, 5, 4], vals(40, 0));
        let e = a.clone().try_concat::<2>(b.clone()).unwrap_err();
        assert_eq!(
            e,
            Error::DimMismatch {
                op: "concat",
                axis: 1,
                what: "right operand vs left operand",
                got: 5,
                expected: 3
            }
        );
        assert_eq!(
            e.to_string(),
            "concat: dimension mismatch on axis 1 (right operand vs left operand): got 5, expected 3"
        );
        assert!(a.try_concat::<1>(b).is_ok());
    }

    #[test]
    #[should_panic(
        expected = "concat: dimension mismatch on axis 0 (right operand vs left operand): got 3, expected 2"
    )]
    fn concat_panics_naming_axis_and_sizes() {
        let a = t_dyn::<(Dyn, Dyn)>(&[2, 3], vals(6, 0));
        let b = t_dyn::<(Dyn, Dyn)>(&[3, 3], vals(9, 0));
        let _ = a.concat::<1>(b);
    }

    #[test]
    fn concat_gradcheck_both_sides() {
        let a = t_dyn::<D3>(&[2, 3, 2], vals(12, 33));
        let b = t_dyn::<D3>(&[2, 2, 2], vals(8, 34));
        let (bb, aa) = (b.clone(), a.clone());
        gradcheck(&a, move |x| x.concat::<1>(bb.clone().trace()).square()).unwrap();
        gradcheck(&b, move |x| aa.clone().concat::<1>(x).square()).unwrap();
        // Untracked other side, and a tensor joined with itself.
        let bb = b.clone();
        gradcheck(&a, move |x| x.concat::<1>(bb.clone()).square()).unwrap();
        gradcheck(&a, |x| x.clone().concat::<0>(x).square()).unwrap();
    }

    #[test]
    fn concat_narrow_round_trip() {
        let (ad, bd) = ([3, 2, 4], [3, 5, 4]);
        let (av, bv) = (vals(24, 35), vals(60, 36));
        let c = t_dyn::<D3>(&ad, av.clone()).concat::<1>(t_dyn::<D3>(&bd, bv.clone()));
        assert_eq!(c.clone().narrow::<1>(0, Dyn(2)).to_vec(), av);
        assert_eq!(c.narrow::<1>(2, Dyn(5)).to_vec(), bv);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn prop_concat_round_trips(d in sizes(3, 1..=5), axis in 0usize..3, extra in 1usize..5, cut in 0usize..5, seed in 0usize..100) {
            let mut bd = d.clone();
            bd[axis] = extra;
            let (av, bv) = (vals(d.iter().product(), seed), vals(bd.iter().product(), seed + 7));
            let (a, b) = (t_dyn::<D3>(&d, av.clone()), t_dyn::<D3>(&bd, bv.clone()));
            let na = d[axis];
            let (c, back_a, back_b) = match axis {
                0 => { let c = a.clone().concat::<0>(b.clone()); (c.clone(), c.clone().narrow::<0>(0, Dyn(na)), c.narrow::<0>(na, Dyn(extra))) }
                1 => { let c = a.clone().concat::<1>(b.clone()); (c.clone(), c.clone().narrow::<1>(0, Dyn(na)), c.narrow::<1>(na, Dyn(extra))) }
                _ => { let c = a.clone().concat::<2>(b.clone()); (c.clone(), c.clone().narrow::<2>(0, Dyn(na)), c.narrow::<2>(na, Dyn(extra))) }
            };
            prop_assert_eq!(c.to_vec(), naive_concat(&av, &d, &bv, &bd, axis));
            prop_assert_eq!(back_a.to_vec(), av);
            prop_assert_eq!(back_b.to_vec(), bv);

            // Split anywhere along the axis, then join: the original tensor.
            let size = c.dims()[axis];
            let k = cut % (size + 1);
            let joined = match axis {
                0 => c.clone().narrow::<0>(0, Dyn(k)).concat::<0>(c.clone().narrow::<0>(k, Dyn(size - k))),
                1 => c.clone().narrow::<1>(0, Dyn(k)).concat::<1>(c.clone().narrow::<1>(k, Dyn(size - k))),
                _ => c.clone().narrow::<2>(0, Dyn(k)).concat::<2>(c.clone().narrow::<2>(k, Dyn(size - k))),
            };
            prop_assert_eq!(joined.to_vec(), c.to_vec());

            let bt = b.clone();
            let grad = gradcheck(&a, move |x| match axis {
                0 => x.concat::<0>(bt.clone().trace()).square(),
                1 => x.concat::<1>(bt.clone().trace()).square(),
                _ => x.concat::<2>(bt.clone().trace()).square(),
            });
            prop_assert!(grad.is_ok(), "{:?}", grad);
        }
    }
}
