//! Integer indexing and masks: index_select, gather, where_cond,
//! masked_fill (with broadcasting masks), comparisons, argmax/argmin.
//! Values vs naive loops over multi-indices, gradchecks w.r.t. the float
//! input, proptests over random `Dyn` shapes, indices and masks, and the
//! out-of-range / mismatch errors of the `try_` and panicking forms.

// `u!(N)` types in annotations are typenum types, which clippy counts as complex.
#![allow(clippy::type_complexity)]

use crate::common::*;
use proptest::prelude::*;
use typegrad::autograd::Tracking;
use typegrad::prelude::*;

typegrad::per_device! {
    ops_helpers!();

    type D3 = (Dyn, Dyn, Dyn);

    fn t3(d: &[usize], v: Vec<f64>) -> Tensor<D3, f64, Dev> {
        Tensor::from_vec((Dyn(d[0]), Dyn(d[1]), Dyn(d[2])), v, &dev())
    }

    fn ids(v: Vec<usize>) -> Tensor<(Dyn,), usize, Dev> {
        Tensor::from_vec((Dyn(v.len()),), v, &dev())
    }

    fn ids2(r: usize, c: usize, v: Vec<usize>) -> Tensor<(Dyn, Dyn), usize, Dev> {
        Tensor::from_vec((Dyn(r), Dyn(c)), v, &dev())
    }

    fn unravel(mut p: usize, d: &[usize]) -> Vec<usize> {
        let mut ix = vec![0; d.len()];
        for a in (0..d.len()).rev() {
            ix[a] = p % d[a];
            p /= d[a];
        }
        ix
    }

    fn ravel(ix: &[usize], d: &[usize]) -> usize {
        ix.iter().zip(d).fold(0, |acc, (&i, &n)| acc * n + i)
    }

    /// Naive index_select: out[ix] = x[ix with ix[axis] -> idx[ix[axis]]].
    fn naive_select(x: &[f64], d: &[usize], axis: usize, idx: &[usize]) -> (Vec<f64>, Vec<usize>) {
        let mut od = d.to_vec();
        od[axis] = idx.len();
        let n: usize = od.iter().product();
        let out = (0..n)
            .map(|p| {
                let mut ix = unravel(p, &od);
                ix[axis] = idx[ix[axis]];
                x[ravel(&ix, d)]
            })
            .collect();
        (out, od)
    }

    /// Naive gather: out[u] = x[u with idx[u] inserted at axis].
    fn naive_gather(x: &[f64], d: &[usize], axis: usize, idx: &[usize]) -> Vec<f64> {
        let mut od = d.to_vec();
        od.remove(axis);
        (0..idx.len())
            .map(|p| {
                let mut ix = unravel(p, &od);
                ix.insert(axis, idx[p]);
                x[ravel(&ix, d)]
            })
            .collect()
    }

    /// The mask value at output position `p` (mask right-aligned, size-1 axes broadcast).
    fn mask_at(m: &[bool], md: &[usize], d: &[usize], p: usize) -> bool {
        let ix = unravel(p, d);
        let off = d.len() - md.len();
        let mix: Vec<usize> = (0..md.len())
            .map(|i| if md[i] == 1 { 0 } else { ix[i + off] })
            .collect();
        m[ravel(&mix, md)]
    }

    fn select3<T: Tracking<f64, Dev>>(
        x: Tensor<D3, f64, Dev, T>,
        axis: usize,
        idx: &Tensor<(Dyn,), usize, Dev>,
    ) -> Tensor<D3, f64, Dev, T> {
        match axis {
            0 => x.index_select::<0, Dyn>(idx),
            1 => x.index_select::<1, Dyn>(idx),
            _ => x.index_select::<2, Dyn>(idx),
        }
    }

    fn gather3<T: Tracking<f64, Dev>>(
        x: Tensor<D3, f64, Dev, T>,
        axis: usize,
        idx: &Tensor<(Dyn, Dyn), usize, Dev>,
    ) -> Tensor<(Dyn, Dyn), f64, Dev, T> {
        match axis {
            0 => x.gather::<0>(idx),
            1 => x.gather::<1>(idx),
            _ => x.gather::<2>(idx),
        }
    }

    fn dims_without(d: &[usize], axis: usize) -> Vec<usize> {
        let mut od = d.to_vec();
        od.remove(axis);
        od
    }

    // ------------------------------------------------------------------ index_select

    #[test]
    fn index_select_is_an_embedding_lookup() {
        // (V, D) = (4, 3) table, ids with duplicates.
        let table: Vec<f64> = (0..12).map(|i| i as f64).collect();
        let x = mat(4, 3, table.clone());
        let y = x.index_select::<0, Dyn>(&ids(vec![3, 0, 3, 1, 1]));
        assert_eq!(&*y.dims(), &[5, 3]);
        let mut want = Vec::new();
        for &i in &[3, 0, 3, 1, 1] {
            want.extend_from_slice(&table[i * 3..i * 3 + 3]);
        }
        assert_eq!(y.to_vec(), want);
    }

    #[test]
    fn index_select_static_shapes_and_f32() {
        let dev = dev();
        let table =
            Tensor::<(u!(3), u!(2)), f32, Dev>::from_vec_static(vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0], &dev);
        let idx = Tensor::<(u!(4),), usize, Dev>::from_vec_static(vec![2, 2, 0, 1], &dev);
        let y: Tensor<(u!(4), u!(2)), f32, Dev> = table.clone().index_select::<0, _>(&idx);
        assert_eq!(y.to_vec(), vec![4.0, 5.0, 4.0, 5.0, 0.0, 1.0, 2.0, 3.0]);
        let cols = Tensor::<(u!(3),), usize, Dev>::from_vec_static(vec![1, 1, 0], &dev);
        let z: Tensor<(u!(3), u!(3)), f32, Dev> = table.index_select::<1, _>(&cols);
        assert_eq!(
            z.to_vec(),
            vec![1.0, 1.0, 0.0, 3.0, 3.0, 2.0, 5.0, 5.0, 4.0]
        );
    }

    #[test]
    fn index_select_every_axis_of_3d_matches_naive() {
        let d = [2, 3, 4];
        let x: Vec<f64> = cotangent(24);
        for axis in 0..3 {
            let n = d[axis];
            let idx: Vec<usize> = (0..5).map(|j| (j * 7 + 1) % n).collect();
            let y = select3(t3(&d, x.clone()), axis, &ids(idx.clone()));
            let (want, od) = naive_select(&x, &d, axis, &idx);
            assert_eq!(&*y.dims(), &od[..]);
            assert_eq!(y.to_vec(), want, "axis {axis}");
        }
    }

    #[test]
    fn index_select_empty_index_list() {
        let y = mat(3, 2, vec![1.0; 6]).index_select::<0, Dyn>(&ids(vec![]));
        assert_eq!(&*y.dims(), &[0, 2]);
        assert!(y.to_vec().is_empty());
    }

    #[test]
    fn index_select_backward_adds_duplicates() {
        let x = mat(3, 2, vec![0.0; 6]);
        let idx = ids(vec![2, 0, 2, 2]);
        let y = x.clone().trace().index_select::<0, Dyn>(&idx);
        let gy: Vec<f64> = (1..=8).map(|v| v as f64).collect();
        let g = y.backward_from(mat(4, 2, gy)).get(&x).unwrap().to_vec();
        // Row 0 <- out row 1; row 1 unused; row 2 <- out rows 0, 2, 3.
        assert_eq!(
            g,
            vec![3.0, 4.0, 0.0, 0.0, 1.0 + 5.0 + 7.0, 2.0 + 6.0 + 8.0]
        );
    }

    #[test]
    fn index_select_gradcheck_with_duplicates() {
        let d = [3, 4, 2];
        let x = t3(&d, cotangent(24));
        for (axis, &n) in d.iter().enumerate() {
            let idx = ids(vec![1, 1, 0, n - 1, 1]);
            gradcheck(&x, |x| select3(x, axis, &idx)).unwrap();
        }
    }

    #[test]
    fn index_select_out_of_range_is_an_error() {
        let x = mat(5, 2, vec![0.0; 10]);
        let err = x
            .clone()
            .try_index_select::<0, Dyn>(&ids(vec![0, 5, 9]))
            .unwrap_err();
        assert_eq!(
            err,
            Error::IndexOutOfRange {
                op: "index_select",
                axis: 0,
                index: 5,
                size: 5
            }
        );
        let err = x.try_index_select::<1, Dyn>(&ids(vec![2])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "index_select: index 2 out of range for axis 1 of size 2"
        );
        // On an empty axis every index is out of range, even with no rows to copy.
        let e = mat(0, 3, vec![]);
        let err = e.try_index_select::<0, Dyn>(&ids(vec![0])).unwrap_err();
        assert_eq!(
            err,
            Error::IndexOutOfRange {
                op: "index_select",
                axis: 0,
                index: 0,
                size: 0
            }
        );
    }

    #[test]
    #[should_panic(expected = "index_select: index 50257 out of range for axis 0 of size 100")]
    fn index_select_token_id_beyond_vocab_panics() {
        let table = mat(100, 4, vec![0.0; 400]);
        let _ = table.trace().index_select::<0, Dyn>(&ids(vec![3, 50257]));
    }

    // ------------------------------------------------------------------------ gather

    #[test]
    fn gather_picks_target_logits() {
        let logits = mat(3, 4, (0..12).map(|v| v as f64).collect());
        let t = ids(vec![3, 0, 2]);
        let y = logits.gather::<1>(&t);
        assert_eq!(y.to_vec(), vec![3.0, 4.0, 10.0]);
        let s =
            Tensor::<(u!(2), u!(3)), f32, Dev>::from_vec_static(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &dev());
        let rows = Tensor::<(u!(3),), usize, Dev>::from_vec_static(vec![1, 0, 1], &dev());
        let z: Tensor<(u!(3),), f32, Dev> = s.gather::<0>(&rows);
        assert_eq!(z.to_vec(), vec![4.0, 2.0, 6.0]);
    }

    #[test]
    fn gather_every_axis_of_3d_matches_naive() {
        let d = [2, 3, 4];
        let x = cotangent(24);
        for axis in 0..3 {
            let od = dims_without(&d, axis);
            let idx: Vec<usize> = (0..od[0] * od[1]).map(|p| (p * 5 + 2) % d[axis]).collect();
            let y = gather3(t3(&d, x.clone()), axis, &ids2(od[0], od[1], idx.clone()));
            assert_eq!(&*y.dims(), &od[..]);
            assert_eq!(y.to_vec(), naive_gather(&x, &d, axis, &idx), "axis {axis}");
        }
    }

    #[test]
    fn gather_gradcheck() {
        let d = [3, 2, 4];
        let x = t3(&d, cotangent(24));
        for axis in 0..3 {
            let od = dims_without(&d, axis);
            let idx = ids2(
                od[0],
                od[1],
                (0..od[0] * od[1]).map(|p| (p * 3 + 1) % d[axis]).collect(),
            );
            gradcheck(&x, |x| gather3(x, axis, &idx)).unwrap();
        }
    }

    #[test]
    fn gather_backward_scatters_to_picked_positions() {
        let x = mat(2, 3, vec![0.0; 6]);
        let y = x.clone().trace().gather::<1>(&ids(vec![2, 1]));
        let g = y
            .backward_from(vec1(vec![10.0, 20.0]))
            .get(&x)
            .unwrap()
            .to_vec();
        assert_eq!(g, vec![0.0, 0.0, 10.0, 0.0, 20.0, 0.0]);
    }

    #[test]
    fn gather_errors() {
        let x = mat(2, 3, vec![0.0; 6]);
        let err = x.clone().try_gather::<1>(&ids(vec![0, 3])).unwrap_err();
        assert_eq!(
            err,
            Error::IndexOutOfRange {
                op: "gather",
                axis: 1,
                index: 3,
                size: 3
            }
        );
        let err = x.try_gather::<1>(&ids(vec![0, 1, 2])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "gather: dimension mismatch on axis 0 (index vs input without the gathered axis): got 3, expected 2"
        );
    }

    #[test]
    #[should_panic(expected = "gather: index 7 out of range for axis 0 of size 2")]
    fn gather_out_of_range_panics() {
        let _ = mat(2, 3, vec![0.0; 6])
            .trace()
            .gather::<0>(&ids(vec![0, 7, 1]));
    }

    #[test]
    #[should_panic(
        expected = "gather: dimension mismatch on axis 0 (index vs input without the gathered axis): got 1, expected 2"
    )]
    fn gather_dyn_mismatch_panics() {
        let _ = mat(2, 3, vec![0.0; 6]).gather::<1>(&ids(vec![0]));
    }

    // ---------------------------------------------------------- where_cond, masked_fill

    #[test]
    fn where_cond_same_shape_values() {
        let a = mat(2, 2, vec![1.0, 2.0, 3.0, 4.0]);
        let b = mat(2, 2, vec![-1.0, -2.0, -3.0, -4.0]);
        let c = Tensor::<(Dyn, Dyn), bool, Dev>::from_vec(
            (Dyn(2), Dyn(2)),
            vec![true, false, false, true],
            &dev(),
        );
        assert_eq!(
            Tensor::where_cond(&c, a, b).to_vec(),
            vec![1.0, -2.0, -3.0, 4.0]
        );
    }

    #[test]
    fn where_cond_broadcast_cond_matches_naive() {
        // (1, 3) cond on (2, 2, 3), (2, 1, 3) cond on (2, 2, 3), (3,) cond.
        let d = [2, 2, 3];
        let (av, bv) = (cotangent(12), cotangent(20)[8..].to_vec());
        for md in [
            vec![1, 3],
            vec![2, 1, 3],
            vec![3],
            vec![2, 2, 1],
            vec![1, 1, 1],
        ] {
            let mn: usize = md.iter().product();
            let m: Vec<bool> = (0..mn).map(|i| (i * 7 + 3) % 3 != 0).collect();
            let want: Vec<f64> = (0..12)
                .map(|p| {
                    if mask_at(&m, &md, &d, p) {
                        av[p]
                    } else {
                        bv[p]
                    }
                })
                .collect();
            let got = match md.len() {
                1 => Tensor::where_cond(
                    &Tensor::<(Dyn,), bool, Dev>::from_vec((Dyn(md[0]),), m, &dev()),
                    t3(&d, av.clone()),
                    t3(&d, bv.clone()),
                ),
                2 => Tensor::where_cond(
                    &Tensor::<(Dyn, Dyn), bool, Dev>::from_vec((Dyn(md[0]), Dyn(md[1])), m, &dev()),
                    t3(&d, av.clone()),
                    t3(&d, bv.clone()),
                ),
                _ => Tensor::where_cond(
                    &Tensor::<D3, bool, Dev>::from_vec((Dyn(md[0]), Dyn(md[1]), Dyn(md[2])), m, &dev()),
                    t3(&d, av.clone()),
                    t3(&d, bv.clone()),
                ),
            };
            assert_eq!(got.to_vec(), want, "mask dims {md:?}");
        }
    }

    #[test]
    fn where_cond_gradcheck_both_sides() {
        let d = [2, 3, 2];
        let x = t3(&d, cotangent(12));
        let other = t3(&d, cotangent(30)[18..].to_vec());
        let m: Vec<bool> = (0..6).map(|i| i % 2 == 0 || i == 3).collect();
        let c = Tensor::<(Dyn, Dyn), bool, Dev>::from_vec((Dyn(3), Dyn(2)), m, &dev());
        // Tracked a, untracked b.
        gradcheck(&x, |x| Tensor::where_cond(&c, x, other.clone())).unwrap();
        // Untracked a, tracked b.
        gradcheck(&x, |x| Tensor::where_cond(&c, other.clone(), x)).unwrap();
        // Both tracked on one tape: the gradient reaches x through both sides.
        gradcheck(&x, |x| Tensor::where_cond(&c, x.clone() * x.clone(), x)).unwrap();
    }

    #[test]
    fn where_cond_routes_gradients_by_mask() {
        let a = vec1(vec![0.0; 3]);
        let b = vec1(vec![0.0; 3]);
        let c = Tensor::<(Dyn,), bool, Dev>::from_vec((Dyn(3),), vec![true, false, true], &dev());
        let tape = Tape::default();
        let y = Tensor::where_cond(&c, a.clone().trace_into(&tape), b.clone().trace_into(&tape));
        let g = y.backward_from(vec1(vec![1.0, 2.0, 3.0]));
        assert_eq!(g.get(&a).unwrap().to_vec(), vec![1.0, 0.0, 3.0]);
        assert_eq!(g.get(&b).unwrap().to_vec(), vec![0.0, 2.0, 0.0]);
        // Separate tapes merge.
        let y = Tensor::where_cond(&c, a.clone().trace(), b.clone().trace());
        let g = y.backward_from(vec1(vec![1.0, 2.0, 3.0]));
        assert_eq!(g.get(&a).unwrap().to_vec(), vec![1.0, 0.0, 3.0]);
        assert_eq!(g.get(&b).unwrap().to_vec(), vec![0.0, 2.0, 0.0]);
    }

    #[test]
    fn where_cond_errors() {
        let c = Tensor::<(Dyn,), bool, Dev>::from_vec((Dyn(3),), vec![true; 3], &dev());
        let err = Tensor::try_where_cond(&c, vec1(vec![0.0; 3]), vec1(vec![0.0; 2])).unwrap_err();
        assert_eq!(
            err,
            Error::DimMismatch {
                op: "where_cond",
                axis: 0,
                what: "b vs a",
                got: 2,
                expected: 3
            }
        );
        let err =
            Tensor::try_where_cond(&c, mat(2, 4, vec![0.0; 8]), mat(2, 4, vec![0.0; 8])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "where_cond: dimension mismatch on axis 1 (cond, broadcast to a): got 3, expected 4"
        );
    }

    #[test]
    #[should_panic(
        expected = "where_cond: dimension mismatch on axis 1 (cond, broadcast to a): got 3, expected 5"
    )]
    fn where_cond_mask_mismatch_panics() {
        let c = Tensor::<(Dyn,), bool, Dev>::from_vec((Dyn(3),), vec![true; 3], &dev());
        let _ = Tensor::where_cond(
            &c,
            mat(2, 5, vec![0.0; 10]).trace(),
            mat(2, 5, vec![0.0; 10]),
        );
    }

    #[test]
    fn masked_fill_causal_mask_on_attention_scores() {
        // (B, H, T, T) = (2, 3, 4, 4) scores, (T, T) causal mask.
        let (b, h, t) = (2, 3, 4);
        let n = b * h * t * t;
        let scores: Vec<f64> = cotangent(n);
        let causal: Vec<bool> = (0..t * t).map(|p| p % t > p / t).collect();
        let x = Tensor::<(Dyn, u!(3), Dyn, Dyn), f64, Dev>::from_vec(
            (Dyn(b), Default::default(), Dyn(t), Dyn(t)),
            scores.clone(),
            &dev(),
        );
        let m = Tensor::<(Dyn, Dyn), bool, Dev>::from_vec((Dyn(t), Dyn(t)), causal.clone(), &dev());
        let y = x.masked_fill(&m, f64::NEG_INFINITY).to_vec();
        for p in 0..n {
            let (i, j) = ((p / t) % t, p % t);
            let want = if j > i { f64::NEG_INFINITY } else { scores[p] };
            assert_eq!(y[p], want, "position {p}");
        }
    }

    #[test]
    fn masked_fill_broadcast_patterns_match_naive() {
        let d = [2, 3, 4];
        let x = cotangent(24);
        for md in [
            vec![2, 3, 4],
            vec![3, 4],
            vec![4],
            vec![2, 1, 4],
            vec![2, 3, 1],
            vec![1, 3, 1],
            vec![1],
        ] {
            let mn: usize = md.iter().product();
            let m: Vec<bool> = (0..mn).map(|i| (i * 5 + 1) % 3 == 0).collect();
            let want: Vec<f64> = (0..24)
                .map(|p| if mask_at(&m, &md, &d, p) { 9.5 } else { x[p] })
                .collect();
            let got = match md.len() {
                1 => t3(&d, x.clone()).masked_fill(
                    &Tensor::<(Dyn,), bool, Dev>::from_vec((Dyn(md[0]),), m, &dev()),
                    9.5,
                ),
                2 => t3(&d, x.clone()).masked_fill(
                    &Tensor::<(Dyn, Dyn), bool, Dev>::from_vec((Dyn(md[0]), Dyn(md[1])), m, &dev()),
                    9.5,
                ),
                _ => t3(&d, x.clone()).masked_fill(
                    &Tensor::<D3, bool, Dev>::from_vec((Dyn(md[0]), Dyn(md[1]), Dyn(md[2])), m, &dev()),
                    9.5,
                ),
            };
            assert_eq!(got.to_vec(), want, "mask dims {md:?}");
        }
    }

    #[test]
    fn masked_fill_static_mask_and_f32() {
        let dev = dev();
        let m = Tensor::<(u!(1), u!(3)), bool, Dev>::from_vec_static(vec![true, false, true], &dev);
        let x: Tensor<(Dyn, u!(3)), f32, Dev> = Tensor::ones((Dyn(2), Default::default()), &dev);
        assert_eq!(
            x.masked_fill(&m, -2.0).to_vec(),
            vec![-2.0, 1.0, -2.0, -2.0, 1.0, -2.0]
        );
    }

    #[test]
    fn masked_fill_gradcheck_and_zero_gradient_at_filled() {
        let d = [2, 3, 2];
        let x = t3(&d, cotangent(12));
        let m = Tensor::<(Dyn, Dyn), bool, Dev>::from_vec(
            (Dyn(3), Dyn(2)),
            vec![true, false, false, true, true, false],
            &dev(),
        );
        gradcheck(&x, |x| x.masked_fill(&m, 3.0)).unwrap();
        let y = x.clone().trace().masked_fill(&m, 3.0);
        let g = y
            .backward_from(t3(&d, vec![1.0; 12]))
            .get(&x)
            .unwrap()
            .to_vec();
        let want: Vec<f64> = (0..12)
            .map(|p| {
                if mask_at(&m.to_vec(), &[3, 2], &d, p) {
                    0.0
                } else {
                    1.0
                }
            })
            .collect();
        assert_eq!(g, want);
    }

    #[test]
    fn masked_fill_mask_mismatch_error() {
        let m = Tensor::<(Dyn, Dyn), bool, Dev>::from_vec((Dyn(2), Dyn(3)), vec![false; 6], &dev());
        let err = mat(4, 3, vec![0.0; 12])
            .try_masked_fill(&m, 0.0)
            .unwrap_err();
        assert_eq!(
            err,
            Error::DimMismatch {
                op: "masked_fill",
                axis: 0,
                what: "mask, broadcast to the input",
                got: 2,
                expected: 4
            }
        );
    }

    #[test]
    #[should_panic(
        expected = "masked_fill: dimension mismatch on axis 1 (mask, broadcast to the input): got 5, expected 4"
    )]
    fn masked_fill_mask_mismatch_panics() {
        let m = Tensor::<(Dyn, Dyn), bool, Dev>::from_vec((Dyn(5), Dyn(5)), vec![false; 25], &dev());
        let _ = t3(&[2, 4, 4], vec![0.0; 32]).trace().masked_fill(&m, 0.0);
    }

    // ------------------------------------------------------------------- comparisons

    type Cmp = fn(f64, f64) -> bool;

    fn cmp_refs() -> Vec<(&'static str, Cmp)> {
        vec![
            ("gt", |a, b| a > b),
            ("ge", |a, b| a >= b),
            ("lt", |a, b| a < b),
            ("le", |a, b| a <= b),
            ("eq", |a, b| a == b),
            ("ne", |a, b| a != b),
        ]
    }

    fn cmp<S: typegrad::shape::SameShape<S>, T, T2>(
        name: &str,
        a: &Tensor<S, f64, Dev, T>,
        b: &Tensor<S, f64, Dev, T2>,
    ) -> Tensor<S, bool, Dev> {
        match name {
            "gt" => a.gt(b),
            "ge" => a.ge(b),
            "lt" => a.lt(b),
            "le" => a.le(b),
            "eq" => a.eq_(b),
            _ => a.ne_(b),
        }
    }

    fn cmp_scalar<S: Shape, T>(name: &str, a: &Tensor<S, f64, Dev, T>, v: f64) -> Tensor<S, bool, Dev> {
        match name {
            "gt" => a.gt_scalar(v),
            "ge" => a.ge_scalar(v),
            "lt" => a.lt_scalar(v),
            "le" => a.le_scalar(v),
            "eq" => a.eq_scalar(v),
            _ => a.ne_scalar(v),
        }
    }

    #[test]
    fn comparisons_match_ieee_rules_including_nan() {
        let av = vec![1.0, 2.0, f64::NAN, -0.0, 3.0, f64::INFINITY];
        let bv = vec![2.0, 2.0, 1.0, 0.0, f64::NAN, f64::INFINITY];
        let (a, b) = (vec1(av.clone()), vec1(bv.clone()));
        for (name, f) in cmp_refs() {
            let want: Vec<bool> = av.iter().zip(&bv).map(|(&x, &y)| f(x, y)).collect();
            assert_eq!(cmp(name, &a, &b).to_vec(), want, "{name}");
            let want: Vec<bool> = av.iter().map(|&x| f(x, 2.0)).collect();
            assert_eq!(cmp_scalar(name, &a, 2.0).to_vec(), want, "{name}_scalar");
        }
    }

    #[test]
    fn comparisons_read_tracked_tensors_and_return_untracked_masks() {
        let x = vec1(vec![1.0, -1.0, 0.5]).trace();
        let m: Tensor<(Dyn,), bool, Dev, NoTape> = x.gt_scalar(0.0);
        assert_eq!(m.to_vec(), vec![true, false, true]);
        // The mask then gates a differentiable op on the same tracked tensor (a ReLU).
        let zeros = vec1(vec![0.0; 3]);
        let y = Tensor::where_cond(&m, x.clone(), zeros);
        let g = y
            .backward_from(vec1(vec![1.0; 3]))
            .get(&x)
            .unwrap()
            .to_vec();
        assert_eq!(g, vec![1.0, 0.0, 1.0]);
        // f32 and static shapes.
        let a = Tensor::<(u!(2),), f32, Dev>::from_vec_static(vec![1.0, 2.0], &dev());
        assert_eq!(a.le(&a).to_vec(), vec![true, true]);
    }

    #[test]
    fn comparison_dyn_mismatch_is_an_error() {
        let err = vec1(vec![0.0; 2]).try_lt(&vec1(vec![0.0; 3])).unwrap_err();
        assert_eq!(
            err,
            Error::DimMismatch {
                op: "lt",
                axis: 0,
                what: "rhs vs self",
                got: 3,
                expected: 2
            }
        );
        assert!(vec1(vec![0.0; 2]).try_eq(&vec1(vec![0.0; 2])).is_ok());
    }

    #[test]
    #[should_panic(expected = "ge: dimension mismatch on axis 1 (rhs vs self): got 4, expected 3")]
    fn comparison_dyn_mismatch_panics() {
        let _ = mat(2, 3, vec![0.0; 6]).ge(&mat(2, 4, vec![0.0; 8]));
    }

    #[test]
    fn static_and_dyn_dims_mix_with_runtime_checks() {
        let dev = dev();
        let logits =
            Tensor::<(u!(2), u!(3)), f64, Dev>::from_vec_static(vec![0.1, 0.9, 0.3, 0.7, 0.2, 0.4], &dev);
        // (Dyn,) targets for a (U2,) result: checked at run time.
        let picked: Tensor<(u!(2),), f64, Dev> = logits.clone().gather::<1>(&ids(vec![2, 0]));
        assert_eq!(picked.to_vec(), vec![0.3, 0.7]);
        let err = logits
            .clone()
            .try_gather::<1>(&ids(vec![0, 1, 2]))
            .unwrap_err();
        assert_eq!(
            err,
            Error::DimMismatch {
                op: "gather",
                axis: 0,
                what: "index vs input without the gathered axis",
                got: 3,
                expected: 2
            }
        );
        // A (Dyn, Dyn) `b` and a (Dyn, Dyn) comparison operand against a static `a`.
        let other = mat(2, 3, vec![0.5; 6]);
        let y: Tensor<(u!(2), u!(3)), f64, Dev> =
            Tensor::where_cond(&logits.gt(&other), logits.clone(), other.clone());
        assert_eq!(y.to_vec(), vec![0.5, 0.9, 0.5, 0.7, 0.5, 0.5]);
        assert!(logits.try_lt(&mat(3, 2, vec![0.0; 6])).is_err());
    }

    #[test]
    fn masks_and_indices_print_and_read() {
        let m = vec1(vec![1.0, -1.0, 2.0]).gt_scalar(0.0);
        assert_eq!(
            format!("{m:?}"),
            "Tensor[3] bool on cpu [true, false, true]"
        );
        let i = mat(2, 2, vec![0.0, 1.0, 3.0, 2.0]).argmax_axis::<1>();
        assert_eq!(format!("{i:?}"), "Tensor[2] usize on cpu [1, 0]");
        assert_eq!(mat(2, 2, vec![0.0, 1.0, 3.0, 2.0]).argmax().item(), 2);
    }

    // --------------------------------------------------------------- argmax, argmin

    fn naive_arg(x: &[f64], d: &[usize], axis: usize, largest: bool) -> Vec<usize> {
        let od = dims_without(d, axis);
        let n: usize = od.iter().product();
        (0..n)
            .map(|p| {
                let u = unravel(p, &od);
                let at = |k: usize| {
                    let mut ix = u.clone();
                    ix.insert(axis, k);
                    x[ravel(&ix, d)]
                };
                let mut best = 0;
                for k in 1..d[axis] {
                    let (v, b) = (at(k), at(best));
                    let better = !b.is_nan() && (v.is_nan() || if largest { v > b } else { v < b });
                    if better {
                        best = k;
                    }
                }
                best
            })
            .collect()
    }

    fn arg3(x: &Tensor<D3, f64, Dev>, axis: usize, largest: bool) -> Vec<usize> {
        match (axis, largest) {
            (0, true) => x.argmax_axis::<0>().to_vec(),
            (1, true) => x.argmax_axis::<1>().to_vec(),
            (_, true) => x.argmax_axis::<2>().to_vec(),
            (0, false) => x.argmin_axis::<0>().to_vec(),
            (1, false) => x.argmin_axis::<1>().to_vec(),
            (_, false) => x.argmin_axis::<2>().to_vec(),
        }
    }

    #[test]
    fn argmax_argmin_every_axis_match_naive() {
        let d = [3, 4, 5];
        let x = cotangent(60);
        let t = t3(&d, x.clone());
        for axis in 0..3 {
            for largest in [true, false] {
                assert_eq!(
                    arg3(&t, axis, largest),
                    naive_arg(&x, &d, axis, largest),
                    "axis {axis} largest {largest}"
                );
            }
        }
    }

    #[test]
    fn argmax_ties_first_and_nan_wins() {
        let x = mat(
            3,
            4,
            vec![
                1.0,
                3.0,
                3.0,
                0.0,
                f64::NAN,
                5.0,
                f64::NAN,
                9.0,
                -1.0,
                -1.0,
                -2.0,
                -2.0,
            ],
        );
        assert_eq!(x.argmax_axis::<1>().to_vec(), vec![1, 0, 0]);
        assert_eq!(x.argmin_axis::<1>().to_vec(), vec![3, 0, 2]);
        assert_eq!(x.argmax().to_vec(), vec![4]);
        let y = vec1(vec![2.0, 7.0, -3.0, 7.0]);
        assert_eq!(y.argmax().to_vec(), vec![1]);
        assert_eq!(y.argmin().to_vec(), vec![2]);
    }

    #[test]
    fn argmax_accuracy_on_static_shapes_f32() {
        let dev = dev();
        let logits =
            Tensor::<(u!(3), u!(2)), f32, Dev>::from_vec_static(vec![0.1, 0.9, 0.8, 0.2, 0.3, 0.7], &dev);
        let pred: Tensor<(u!(3),), usize, Dev> = logits.argmax_axis::<1>();
        let targets = [1usize, 0, 0];
        let correct = pred
            .to_vec()
            .iter()
            .zip(targets)
            .filter(|(p, t)| **p == *t)
            .count();
        assert_eq!(correct, 2);
        // A tracked tensor can be read too.
        let t = mat(1, 3, vec![0.0, 2.0, 1.0]).trace();
        assert_eq!(t.argmax_axis::<1>().to_vec(), vec![1]);
    }

    #[test]
    fn argmax_empty_axis_is_an_error() {
        let x = mat(2, 0, vec![]);
        let err = x.try_argmax_axis::<1>().unwrap_err();
        assert_eq!(
            err,
            Error::TooFewElements {
                op: "argmax",
                axis: Some(1),
                got: 0,
                min: 1
            }
        );
        // An empty result is fine: nothing to pick.
        assert_eq!(x.argmax_axis::<0>().to_vec(), Vec::<usize>::new());
        assert_eq!(
            vec1(vec![]).try_argmin().unwrap_err().to_string(),
            "argmin: the tensor has 0 elements, the reduction needs at least 1"
        );
    }

    #[test]
    #[should_panic(expected = "argmax: the tensor has 0 elements, the reduction needs at least 1")]
    fn argmax_of_empty_tensor_panics() {
        let _ = vec1(vec![]).argmax();
    }

    // -------------------------------------------------------------------- proptests

    fn arb_case(max: usize) -> impl Strategy<Value = (Vec<usize>, usize, Vec<f64>)> {
        (sizes(3, 1..=max), 0..3usize).prop_flat_map(|(d, axis)| {
            let n = d.iter().product();
            (Just(d), Just(axis), values(n, -3.0..3.0))
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn prop_index_select((d, axis, x) in arb_case(4), raw in proptest::collection::vec(0usize..100, 0..6)) {
            let idx: Vec<usize> = raw.iter().map(|&i| i % d[axis]).collect();
            let y = select3(t3(&d, x.clone()), axis, &ids(idx.clone()));
            let (want, od) = naive_select(&x, &d, axis, &idx);
            prop_assert_eq!(&*y.dims(), &od[..]);
            prop_assert_eq!(y.to_vec(), want);
            let xt = t3(&d, x.clone());
            let it = ids(idx);
            gradcheck(&xt, |x| select3(x, axis, &it)).map_err(TestCaseError::fail)?;
        }

        #[test]
        fn prop_index_select_out_of_range((d, axis, x) in arb_case(4), extra in 0usize..5, pos in 0usize..3) {
            let bad = d[axis] + extra;
            let mut idx = vec![0usize; 3];
            idx[pos] = bad;
            let r = match axis {
                0 => t3(&d, x).try_index_select::<0, Dyn>(&ids(idx)).map(|_| ()),
                1 => t3(&d, x).try_index_select::<1, Dyn>(&ids(idx)).map(|_| ()),
                _ => t3(&d, x).try_index_select::<2, Dyn>(&ids(idx)).map(|_| ()),
            };
            prop_assert_eq!(r, Err(Error::IndexOutOfRange { op: "index_select", axis, index: bad, size: d[axis] }));
        }

        #[test]
        fn prop_gather((d, axis, x) in arb_case(4), seed in 0usize..1000) {
            let od = dims_without(&d, axis);
            let idx: Vec<usize> = (0..od[0] * od[1]).map(|p| (p * 31 + seed) % d[axis]).collect();
            let it = ids2(od[0], od[1], idx.clone());
            let y = gather3(t3(&d, x.clone()), axis, &it);
            prop_assert_eq!(y.to_vec(), naive_gather(&x, &d, axis, &idx));
            let xt = t3(&d, x);
            gradcheck(&xt, |x| gather3(x, axis, &it)).map_err(TestCaseError::fail)?;
            // One index pushed out of range: an error naming it.
            let mut bad = idx;
            let p = seed % bad.len();
            bad[p] = d[axis] + seed % 3;
            let r = match axis {
                0 => t3(&d, vec![0.0; d.iter().product()]).try_gather::<0>(&ids2(od[0], od[1], bad.clone())).map(|_| ()),
                1 => t3(&d, vec![0.0; d.iter().product()]).try_gather::<1>(&ids2(od[0], od[1], bad.clone())).map(|_| ()),
                _ => t3(&d, vec![0.0; d.iter().product()]).try_gather::<2>(&ids2(od[0], od[1], bad.clone())).map(|_| ()),
            };
            prop_assert_eq!(r, Err(Error::IndexOutOfRange { op: "gather", axis, index: bad[p], size: d[axis] }));
        }

        #[test]
        fn prop_where_and_masked_fill_broadcast(
            (d, _axis, x) in arb_case(4),
            keep in proptest::collection::vec(any::<bool>(), 3),
            bits in proptest::collection::vec(any::<bool>(), 64),
        ) {
            // A mask of the last two axes, each kept or set to 1 (broadcast).
            let md = vec![if keep[0] { d[1] } else { 1 }, if keep[1] { d[2] } else { 1 }];
            let mn = md[0] * md[1];
            let m: Vec<bool> = bits[..mn].to_vec();
            let n = x.len();
            let other: Vec<f64> = x.iter().map(|v| 1.0 - v).collect();
            let mt = Tensor::<(Dyn, Dyn), bool, Dev>::from_vec((Dyn(md[0]), Dyn(md[1])), m.clone(), &dev());
            let want: Vec<f64> = (0..n).map(|p| if mask_at(&m, &md, &d, p) { x[p] } else { other[p] }).collect();
            prop_assert_eq!(Tensor::where_cond(&mt, t3(&d, x.clone()), t3(&d, other.clone())).to_vec(), want);
            let want: Vec<f64> = (0..n).map(|p| if mask_at(&m, &md, &d, p) { -7.0 } else { x[p] }).collect();
            prop_assert_eq!(t3(&d, x.clone()).masked_fill(&mt, -7.0).to_vec(), want);
            let xt = t3(&d, x.clone());
            let ot = t3(&d, other);
            gradcheck(&xt, |x| Tensor::where_cond(&mt, x, ot.clone())).map_err(TestCaseError::fail)?;
            gradcheck(&xt, |x| Tensor::where_cond(&mt, ot.clone(), x)).map_err(TestCaseError::fail)?;
            gradcheck(&xt, |x| x.masked_fill(&mt, -7.0)).map_err(TestCaseError::fail)?;
        }

        #[test]
        fn prop_comparisons((d, _axis, x) in arb_case(4), v in -3.0f64..3.0) {
            // Quantised so ties (==) occur.
            let a: Vec<f64> = x.iter().map(|t| t.round()).collect();
            let b: Vec<f64> = x.iter().rev().map(|t| t.round()).collect();
            let (at, bt) = (t3(&d, a.clone()), t3(&d, b.clone()));
            let v = v.round();
            for (name, f) in cmp_refs() {
                let want: Vec<bool> = a.iter().zip(&b).map(|(&p, &q)| f(p, q)).collect();
                prop_assert_eq!(cmp(name, &at, &bt).to_vec(), want);
                let want: Vec<bool> = a.iter().map(|&p| f(p, v)).collect();
                prop_assert_eq!(cmp_scalar(name, &at, v).to_vec(), want);
            }
        }

        #[test]
        fn prop_argmax_argmin((d, axis, x) in arb_case(5)) {
            // Quantised so ties occur.
            let x: Vec<f64> = x.iter().map(|t| (t * 2.0).round()).collect();
            let t = t3(&d, x.clone());
            prop_assert_eq!(arg3(&t, axis, true), naive_arg(&x, &d, axis, true));
            prop_assert_eq!(arg3(&t, axis, false), naive_arg(&x, &d, axis, false));
            let flat = naive_arg(&x, &[x.len()], 0, true);
            prop_assert_eq!(t.argmax().to_vec(), flat);
        }
    }
}
