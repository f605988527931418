//! Reductions and softmax: values against naive loops over every axis of
//! rank-1..4 tensors, finite-difference gradients (along each axis and over
//! the whole tensor), proptests over random shapes and values, stability for
//! logits of ±1e4, tie-sharing max/min gradients, the `sum_to` kernel (the
//! backward of broadcasting), the parallel paths on large inputs, and the
//! errors of empty reductions.

use crate::common::*;
use proptest::prelude::*;
use typegrad::ops::reduce::ReduceKernel;
use typegrad::prelude::*;
use typegrad::shape::RemoveAxis;

typegrad::per_device! {
    ops_helpers!();
    // ----------------------------------------------------------------- references

    /// Row-major strides.
    fn strides(d: &[usize]) -> Vec<usize> {
        let mut s = vec![1; d.len()];
        for i in (0..d.len().saturating_sub(1)).rev() {
            s[i] = s[i + 1] * d[i + 1];
        }
        s
    }

    /// For each output position of a reduction along `axis` (row-major over the
    /// remaining dims), the flat input positions along the axis.
    fn lanes(d: &[usize], axis: usize) -> Vec<Vec<usize>> {
        let st = strides(d);
        let rest: Vec<usize> = (0..d.len()).filter(|&k| k != axis).collect();
        let nout: usize = rest.iter().map(|&k| d[k]).product();
        (0..nout)
            .map(|o| {
                let mut idx = vec![0; d.len()];
                let mut rem = o;
                for &k in rest.iter().rev() {
                    idx[k] = rem % d[k];
                    rem /= d[k];
                }
                (0..d[axis])
                    .map(|j| {
                        idx[axis] = j;
                        idx.iter().zip(&st).map(|(i, s)| i * s).sum()
                    })
                    .collect()
            })
            .collect()
    }

    fn r_sum(v: &[f64]) -> f64 {
        v.iter().sum()
    }
    fn r_mean(v: &[f64]) -> f64 {
        r_sum(v) / v.len() as f64
    }
    fn r_max(v: &[f64]) -> f64 {
        v.iter().cloned().fold(f64::NEG_INFINITY, f64::max)
    }
    fn r_min(v: &[f64]) -> f64 {
        v.iter().cloned().fold(f64::INFINITY, f64::min)
    }
    fn r_var(v: &[f64]) -> f64 {
        let m = r_mean(v);
        v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len() as f64
    }
    fn r_var_unbiased(v: &[f64]) -> f64 {
        r_var(v) * v.len() as f64 / (v.len() as f64 - 1.0)
    }
    /// The textbook formula (inputs are small, so no shift is needed).
    fn r_lse(v: &[f64]) -> f64 {
        v.iter().map(|x| x.exp()).sum::<f64>().ln()
    }
    fn r_softmax(v: &[f64]) -> Vec<f64> {
        let s: f64 = v.iter().map(|x| x.exp()).sum();
        v.iter().map(|x| x.exp() / s).collect()
    }
    fn r_log_softmax(v: &[f64]) -> Vec<f64> {
        r_softmax(v).iter().map(|p| p.ln()).collect()
    }

    type Reducer = fn(&[f64]) -> f64;

    const REDUCERS: [(&str, Reducer); 7] = [
        ("sum", r_sum),
        ("mean", r_mean),
        ("max", r_max),
        ("min", r_min),
        ("var", r_var),
        ("var_unbiased", r_var_unbiased),
        ("logsumexp", r_lse),
    ];

    /// Reference for reducing `v` (dims `d`) along `axis`.
    fn naive_reduce(f: Reducer, v: &[f64], d: &[usize], axis: usize) -> Vec<f64> {
        lanes(d, axis)
            .iter()
            .map(|l| f(&l.iter().map(|&p| v[p]).collect::<Vec<_>>()))
            .collect()
    }

    /// Reference for a shape-keeping op (softmax) along `axis`.
    fn naive_keep(f: fn(&[f64]) -> Vec<f64>, v: &[f64], d: &[usize], axis: usize) -> Vec<f64> {
        let mut out = vec![0.0; v.len()];
        for l in lanes(d, axis) {
            let r = f(&l.iter().map(|&p| v[p]).collect::<Vec<_>>());
            for (&p, y) in l.iter().zip(r) {
                out[p] = y;
            }
        }
        out
    }

    // ----------------------------------------------------------------- typed ops per axis

    /// Every axis op along axis `I`: (name, values). `var_unbiased` only when
    /// the axis has at least two elements.
    fn axis_ops<const I: usize, S: RemoveAxis<I>>(x: &Tensor<S, f64, Dev>) -> Vec<(&'static str, Vec<f64>)> {
        let n = x.dims()[I];
        let mut r = vec![
            ("sum", x.clone().sum_axis::<I>().to_vec()),
            ("mean", x.clone().mean_axis::<I>().to_vec()),
            ("max", x.clone().max_axis::<I>().to_vec()),
            ("min", x.clone().min_axis::<I>().to_vec()),
            ("var", x.clone().var_axis::<I>().to_vec()),
            ("logsumexp", x.clone().logsumexp_axis::<I>().to_vec()),
            ("softmax", x.clone().softmax::<I>().to_vec()),
            ("log_softmax", x.clone().log_softmax::<I>().to_vec()),
        ];
        if n >= 2 {
            r.push(("var_unbiased", x.clone().var_axis_unbiased::<I>().to_vec()));
        }
        r
    }

    /// Whole-tensor ops: (name, value).
    fn whole_ops<S: Shape>(x: &Tensor<S, f64, Dev>) -> Vec<(&'static str, f64)> {
        let mut r = vec![
            ("sum", x.clone().sum().item()),
            ("mean", x.clone().mean().item()),
            ("max", x.clone().max().item()),
            ("min", x.clone().min().item()),
            ("var", x.clone().var().item()),
            ("logsumexp", x.clone().logsumexp().item()),
        ];
        if x.numel() >= 2 {
            r.push(("var_unbiased", x.clone().var_unbiased().item()));
        }
        r
    }

    /// Check every axis op along axis `I` against the naive references.
    fn check_axis<const I: usize, S: RemoveAxis<I>>(
        x: &Tensor<S, f64, Dev>,
        tol: f64,
    ) -> Result<(), String> {
        let (v, d) = (x.to_vec(), x.dims().to_vec());
        for (name, got) in axis_ops::<I, S>(x) {
            let want = match name {
                "softmax" => naive_keep(r_softmax, &v, &d, I),
                "log_softmax" => naive_keep(r_log_softmax, &v, &d, I),
                _ => naive_reduce(REDUCERS.iter().find(|r| r.0 == name).unwrap().1, &v, &d, I),
            };
            if got.len() != want.len()
                || got
                    .iter()
                    .zip(&want)
                    .any(|(a, b)| (a - b).abs() > tol * (1.0 + b.abs()))
            {
                return Err(format!(
                    "{name} along axis {I} of {d:?}: got {got:?}, want {want:?} (x = {v:?})"
                ));
            }
        }
        Ok(())
    }

    fn check_whole<S: Shape>(x: &Tensor<S, f64, Dev>, tol: f64) -> Result<(), String> {
        let v = x.to_vec();
        for (name, got) in whole_ops(x) {
            let want = REDUCERS.iter().find(|r| r.0 == name).unwrap().1(&v);
            if (got - want).abs() > tol * (1.0 + want.abs()) {
                return Err(format!(
                    "whole {name} of {:?}: got {got}, want {want}",
                    &*x.dims()
                ));
            }
        }
        Ok(())
    }

    /// Gradcheck every axis op along axis `I`.
    fn grad_axis<const I: usize, S: RemoveAxis<I>>(x: &Tensor<S, f64, Dev>) -> Result<(), String> {
        let tag = |name: &'static str| move |e: GradcheckError| format!("{name} along axis {I}: {e}");
        gradcheck(x, |t| t.sum_axis::<I>()).map_err(tag("sum"))?;
        gradcheck(x, |t| t.mean_axis::<I>()).map_err(tag("mean"))?;
        gradcheck(x, |t| t.max_axis::<I>()).map_err(tag("max"))?;
        gradcheck(x, |t| t.min_axis::<I>()).map_err(tag("min"))?;
        gradcheck(x, |t| t.var_axis::<I>()).map_err(tag("var"))?;
        gradcheck(x, |t| t.logsumexp_axis::<I>()).map_err(tag("logsumexp"))?;
        gradcheck(x, |t| t.softmax::<I>()).map_err(tag("softmax"))?;
        gradcheck(x, |t| t.log_softmax::<I>()).map_err(tag("log_softmax"))?;
        if x.dims()[I] >= 2 {
            gradcheck(x, |t| t.var_axis_unbiased::<I>()).map_err(tag("var_unbiased"))?;
        }
        Ok(())
    }

    fn grad_whole<S: Shape>(x: &Tensor<S, f64, Dev>) -> Result<(), String> {
        let tag = |name: &'static str| move |e: GradcheckError| format!("whole {name}: {e}");
        gradcheck(x, |t| t.sum()).map_err(tag("sum"))?;
        gradcheck(x, |t| t.mean()).map_err(tag("mean"))?;
        gradcheck(x, |t| t.max()).map_err(tag("max"))?;
        gradcheck(x, |t| t.min()).map_err(tag("min"))?;
        gradcheck(x, |t| t.var()).map_err(tag("var"))?;
        gradcheck(x, |t| t.logsumexp()).map_err(tag("logsumexp"))?;
        if x.numel() >= 2 {
            gradcheck(x, |t| t.var_unbiased()).map_err(tag("var_unbiased"))?;
        }
        Ok(())
    }

    /// Run `$f::<axis>(&x)` for every axis of a `Dyn` tensor of rank 1..4 built
    /// from `d` and `v`, and `$w(&x)` once.
    macro_rules! every_axis {
        ($d:expr, $v:expr, $f:ident, $w:ident $(, $arg:expr)?) => {{
            let (d, v): (&[usize], Vec<f64>) = ($d, $v);
            let dev = dev();
            match d.len() {
                1 => {
                    let x = Tensor::<(Dyn,), f64, Dev>::from_vec((Dyn(d[0]),), v, &dev);
                    $f::<0, _>(&x $(, $arg)?)?;
                    $w(&x $(, $arg)?)
                }
                2 => {
                    let x = Tensor::<(Dyn, Dyn), f64, Dev>::from_vec((Dyn(d[0]), Dyn(d[1])), v, &dev);
                    $f::<0, _>(&x $(, $arg)?)?;
                    $f::<1, _>(&x $(, $arg)?)?;
                    $w(&x $(, $arg)?)
                }
                3 => {
                    let x = Tensor::<(Dyn, Dyn, Dyn), f64, Dev>::from_vec((Dyn(d[0]), Dyn(d[1]), Dyn(d[2])), v, &dev);
                    $f::<0, _>(&x $(, $arg)?)?;
                    $f::<1, _>(&x $(, $arg)?)?;
                    $f::<2, _>(&x $(, $arg)?)?;
                    $w(&x $(, $arg)?)
                }
                4 => {
                    let x = Tensor::<(Dyn, Dyn, Dyn, Dyn), f64, Dev>::from_vec((Dyn(d[0]), Dyn(d[1]), Dyn(d[2]), Dyn(d[3])), v, &dev);
                    $f::<0, _>(&x $(, $arg)?)?;
                    $f::<1, _>(&x $(, $arg)?)?;
                    $f::<2, _>(&x $(, $arg)?)?;
                    $f::<3, _>(&x $(, $arg)?)?;
                    $w(&x $(, $arg)?)
                }
                r => panic!("rank {r} not covered"),
            }
        }};
    }

    fn check_values(d: &[usize], v: Vec<f64>) -> Result<(), String> {
        every_axis!(d, v, check_axis, check_whole, 1e-10)
    }

    fn check_grads(d: &[usize], v: Vec<f64>) -> Result<(), String> {
        every_axis!(d, v, grad_axis, grad_whole)
    }

    /// `n` distinct values (gaps >= 0.25, so max/min are unique and finite
    /// differences never cross a tie), in a scrambled order: `k -> (k·p + seed)
    /// mod n` with `p` coprime to `n` is a permutation.
    fn distinct(n: usize, seed: usize) -> Vec<f64> {
        let gcd = |mut a: usize, mut b: usize| {
            while b != 0 {
                (a, b) = (b, a % b);
            }
            a
        };
        let p = (5..).find(|&p| gcd(p, n) == 1).unwrap();
        let jitter = cotangent(n);
        (0..n)
            .map(|k| ((k * p + seed) % n) as f64 * 0.29 - n as f64 * 0.13 + jitter[k] * 0.02)
            .collect()
    }

    // ----------------------------------------------------------------- values

    #[test]
    fn values_match_naive_loops_for_every_axis_of_rank_1_to_4() {
        let shapes: [&[usize]; 8] = [
            &[5],
            &[1],
            &[3, 4],
            &[4, 1],
            &[2, 3, 4],
            &[3, 1, 2],
            &[2, 3, 2, 3],
            &[1, 2, 1, 3],
        ];
        for (k, d) in shapes.iter().enumerate() {
            let n: usize = d.iter().product();
            let v: Vec<f64> = cotangent(n + k).iter().skip(k).map(|x| x * 2.5).collect();
            check_values(d, v).unwrap();
        }
    }

    #[test]
    fn static_shapes_reduce_to_the_right_types() {
        let dev = dev();
        // The annotations are the point: each reduction removes exactly its axis.
        type T234 = Tensor<(u!(2), u!(3), u!(4)), f32, Dev>;
        type T34 = Tensor<(u!(3), u!(4)), f32, Dev>;
        type T24 = Tensor<(u!(2), u!(4)), f32, Dev>;
        type T23 = Tensor<(u!(2), u!(3)), f32, Dev>;
        let x: T234 = Tensor::from_vec_static((0..24).map(|i| i as f32).collect(), &dev);
        let a: T34 = x.clone().sum_axis::<0>();
        let b: T24 = x.clone().max_axis::<1>();
        let c: T23 = x.clone().mean_axis::<2>();
        let s: T234 = x.clone().softmax::<1>();
        assert_eq!(a.to_vec()[0], 12.0);
        assert_eq!(b.to_vec()[..4], [8.0, 9.0, 10.0, 11.0]);
        assert_eq!(c.to_vec()[0], 1.5);
        assert_eq!(s.dims().to_vec(), vec![2, 3, 4]);
        assert_eq!(x.sum().item(), 276.0);
    }

    #[test]
    fn scalar_tensor_reductions_are_identities() {
        let x = Tensor::<(), f64, Dev>::from_vec((), vec![2.5], &dev());
        assert_eq!(x.clone().sum().item(), 2.5);
        assert_eq!(x.clone().mean().item(), 2.5);
        assert_eq!(x.clone().max().item(), 2.5);
        assert_eq!(x.clone().var().item(), 0.0);
        assert!((x.clone().logsumexp().item() - 2.5).abs() < 1e-15);
        let g = x.clone().trace().max().backward();
        assert_eq!(g.get(&x).unwrap().to_vec(), vec![1.0]);
    }

    #[test]
    fn f32_agrees_with_f64() {
        let dev = dev();
        let v: Vec<f64> = cotangent(60).iter().map(|x| x * 4.0).collect();
        let x64 = Tensor::<(Dyn, u!(5), u!(4)), f64, Dev>::from_vec(
            (Dyn(3), Default::default(), Default::default()),
            v.clone(),
            &dev,
        );
        let x32 = Tensor::<(Dyn, u!(5), u!(4)), f32, Dev>::from_vec(
            (Dyn(3), Default::default(), Default::default()),
            v.iter().map(|&x| x as f32).collect(),
            &dev,
        );
        let pairs = [
            (
                x64.clone().var_axis::<1>().to_vec(),
                x32.clone().var_axis::<1>().to_vec(),
            ),
            (
                x64.clone().logsumexp_axis::<2>().to_vec(),
                x32.clone().logsumexp_axis::<2>().to_vec(),
            ),
            (
                x64.clone().softmax::<0>().to_vec(),
                x32.clone().softmax::<0>().to_vec(),
            ),
            (
                vec![x64.clone().mean().item()],
                vec![x32.clone().mean().item()],
            ),
        ];
        for (a, b) in pairs {
            let b: Vec<f64> = b.iter().map(|&x| x as f64).collect();
            assert_close!(&b, &a, 1e-5);
        }
    }

    #[test]
    fn variance_semantics_population_and_unbiased() {
        let x = vec1(vec![2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]);
        assert_eq!(x.clone().var().item(), 4.0); // textbook example: population sd 2
        assert!((x.clone().var_unbiased().item() - 32.0 / 7.0).abs() < 1e-12);
        // Two passes: no cancellation for a large offset.
        let y = vec1(vec![1e9 + 1.0, 1e9 + 2.0, 1e9 + 3.0]);
        assert!((y.var().item() - 2.0 / 3.0).abs() < 1e-6);
    }

    #[test]
    fn max_propagates_nan() {
        let x = vec1(vec![1.0, f64::NAN, 3.0]);
        assert!(x.clone().max().item().is_nan());
        assert!(x.min().item().is_nan());
    }

    // ----------------------------------------------------------------- gradients

    #[test]
    fn gradients_match_finite_differences_for_every_axis() {
        let shapes: [&[usize]; 6] = [
            &[4],
            &[3, 4],
            &[2, 1],
            &[2, 3, 2],
            &[2, 2, 1, 3],
            &[1, 3, 2, 2],
        ];
        for (k, d) in shapes.iter().enumerate() {
            let n: usize = d.iter().product();
            check_grads(d, distinct(n, k)).unwrap();
        }
    }

    #[test]
    fn max_and_min_share_the_gradient_among_ties() {
        let x = vec1(vec![1.0, 3.0, 3.0, -2.0, 3.0]);
        let g = x.clone().trace().max().backward().get(&x).unwrap().to_vec();
        assert_close!(&g, &[0.0, 1.0 / 3.0, 1.0 / 3.0, 0.0, 1.0 / 3.0], 1e-15);
        let y = mat(2, 3, vec![5.0, -1.0, -1.0, 2.0, 2.0, 0.0]);
        let w = Tensor::<(Dyn,), f64, Dev>::from_vec((Dyn(2),), vec![1.0, 10.0], &dev());
        let gy = y
            .clone()
            .trace()
            .min_axis::<1>()
            .backward_from(w.clone())
            .get(&y)
            .unwrap()
            .to_vec();
        assert_close!(&gy, &[0.0, 0.5, 0.5, 0.0, 0.0, 10.0], 1e-15);
        let gx = y.clone().trace().max_axis::<0>();
        let gx = gx
            .backward_from(Tensor::from_vec(
                (Dyn(3),),
                vec![1.0, 2.0, 4.0],
                &dev(),
            ))
            .get(&y)
            .unwrap();
        assert_close!(&gx.to_vec(), &[1.0, 0.0, 0.0, 0.0, 2.0, 4.0], 1e-15);
        // All equal: everyone gets 1/n.
        let z = Tensor::<(u!(2), u!(2)), f64, Dev>::from_vec_static(vec![7.0; 4], &dev());
        let gz = z.clone().trace().max().backward().get(&z).unwrap().to_vec();
        assert_eq!(gz, vec![0.25; 4]);
    }

    #[test]
    fn composed_loss_gradient() {
        // d/dx of mean(softmax(x) * c) through two reductions.
        let x = mat(3, 4, distinct(12, 3));
        gradcheck(&x, |t| {
            let c =
                Tensor::<(Dyn, Dyn), f64, Dev>::from_vec((Dyn(3), Dyn(4)), cotangent(12), &dev());
            (t.softmax::<1>() * c).sum_axis::<1>().logsumexp()
        })
        .unwrap();
    }

    // ----------------------------------------------------------------- stability

    #[test]
    fn softmax_family_is_finite_and_correct_for_huge_logits() {
        let dev = dev();
        let v = vec![1e4, -1e4, 0.0, 1e4 - 1.0, -1e4, 1e4, 1e4, 1e4];
        // f64: the references use the shifted formula with the row max 1e4.
        let x = Tensor::<(u!(2), u!(4)), f64, Dev>::from_vec_static(v.clone(), &dev);
        let lse = x.clone().logsumexp_axis::<1>().to_vec();
        let e1 = 1.0 + (-1f64).exp();
        assert_close!(&lse, &[1e4 + e1.ln(), 1e4 + 3f64.ln()], 1e-14);
        let p = x.clone().softmax::<1>().to_vec();
        assert_close!(
            &p,
            &[
                1.0 / e1,
                0.0,
                0.0,
                (-1f64).exp() / e1,
                0.0,
                1.0 / 3.0,
                1.0 / 3.0,
                1.0 / 3.0,
            ],
            1e-14,
        );
        let lp = x.clone().log_softmax::<1>().to_vec();
        let want = [
            -e1.ln(),
            -2e4 - e1.ln(),
            -1e4 - e1.ln(),
            -1.0 - e1.ln(),
            -2e4 - 3f64.ln(),
            -3f64.ln(),
            -3f64.ln(),
            -3f64.ln(),
        ];
        assert_close!(&lp, &want, 1e-14);
        assert!(
            (x.clone().logsumexp().item() - (1e4 + (1.0 + (-1f64).exp() + 3.0).ln())).abs() < 1e-10
        );
        // Gradients stay finite too.
        let g = x
            .clone()
            .trace()
            .log_softmax::<1>()
            .sum()
            .backward()
            .get(&x)
            .unwrap()
            .to_vec();
        assert!(g.iter().all(|v| v.is_finite()), "{g:?}");
        let g = x
            .clone()
            .trace()
            .logsumexp()
            .backward()
            .get(&x)
            .unwrap()
            .to_vec();
        assert!(
            g.iter().all(|v| v.is_finite()) && (g.iter().sum::<f64>() - 1.0).abs() < 1e-12,
            "{g:?}"
        );
        // f32, along the first axis (the strided kernel path).
        let x32 = Tensor::<(u!(4), u!(2)), f32, Dev>::from_vec_static(
            vec![1e4, -1e4, -1e4, 1e4, 0.0, 1e4, 1e4, 0.0],
            &dev,
        );
        for v in [
            x32.clone().softmax::<0>().to_vec(),
            x32.clone().log_softmax::<0>().to_vec(),
            x32.clone().logsumexp_axis::<0>().to_vec(),
        ] {
            assert!(v.iter().all(|v| v.is_finite()), "{v:?}");
        }
        // Columns [1e4, -1e4, 0, 1e4] and [-1e4, 1e4, 1e4, 0]: two tied maxima each.
        assert_eq!(
            x32.clone().softmax::<0>().to_vec(),
            vec![0.5, 0.0, 0.0, 0.5, 0.0, 0.5, 0.5, 0.0]
        );
        let l = x32.logsumexp_axis::<0>().to_vec();
        assert!(
            l.iter().all(|&l| (l - (1e4 + 2f32.ln())).abs() < 1e-3),
            "{l:?}"
        );
    }

    #[test]
    fn logsumexp_of_all_neg_infinity_is_neg_infinity_without_nan_gradient() {
        let x = vec1(vec![f64::NEG_INFINITY; 3]);
        assert_eq!(x.clone().logsumexp().item(), f64::NEG_INFINITY);
        let g = x
            .clone()
            .trace()
            .logsumexp()
            .backward()
            .get(&x)
            .unwrap()
            .to_vec();
        assert_eq!(g, vec![0.0; 3]);
        let m = Tensor::<(Dyn, Dyn), f64, Dev>::from_vec(
            (Dyn(2), Dyn(2)),
            vec![f64::NEG_INFINITY, 0.0, f64::NEG_INFINITY, 0.0],
            &dev(),
        );
        assert_eq!(
            m.logsumexp_axis::<0>().to_vec(),
            vec![f64::NEG_INFINITY, 2f64.ln()]
        );
    }

    // ----------------------------------------------------------------- sum_to

    /// Naive `sum_to`: every input element added into its broadcast source.
    fn naive_sum_to(x: &[f64], from: &[usize], to: &[usize]) -> Vec<f64> {
        let off = from.len() - to.len();
        let st = strides(to);
        let mut out = vec![0.0; to.iter().product()];
        let mut idx = vec![0usize; from.len()];
        for &v in x {
            let p: usize = (0..to.len())
                .map(|k| if to[k] == 1 { 0 } else { idx[k + off] } * st[k])
                .sum();
            out[p] += v;
            for k in (0..from.len()).rev() {
                idx[k] += 1;
                if idx[k] < from[k] {
                    break;
                }
                idx[k] = 0;
            }
        }
        out
    }

    #[test]
    fn sum_to_matches_naive_for_broadcast_patterns() {
        let cases: [(&[usize], &[usize]); 9] = [
            (&[4, 3], &[3]),
            (&[4, 3], &[4, 1]),
            (&[4, 3], &[1, 1]),
            (&[4, 3], &[]),
            (&[2, 3, 4], &[3, 1]),
            (&[2, 3, 4], &[2, 1, 4]),
            (&[2, 3, 4, 5], &[3, 1, 5]),
            (&[2, 1, 4, 5], &[1, 1, 5]),
            (&[2, 3], &[2, 3]),
        ];
        let dev = dev();
        for (from, to) in cases {
            let n: usize = from.iter().product();
            let x = cotangent(n);
            let got = dev.sum_to(&dev.upload(x.clone()), from, to);
            assert_close!(&dev.download(&got), &naive_sum_to(&x, from, to), 1e-12);
        }
    }

    #[test]
    fn broadcast_binary_gradients_sum_over_broadcast_axes() {
        let dev = dev();
        let x =
            Tensor::<(Dyn, u!(3)), f64, Dev>::from_vec((Dyn(4), Default::default()), cotangent(12), &dev);
        let b = Tensor::<(u!(3),), f64, Dev>::from_vec_static(vec![0.5, -1.0, 2.0], &dev);
        let g = (x.clone().trace() * b.clone().trace()).sum().backward();
        let gb = g.get(&b).unwrap().to_vec();
        assert_close!(&gb, &naive_sum_to(&x.to_vec(), &[4, 3], &[3]), 1e-12);
        gradcheck(&b, |t| x.clone() * t).unwrap();
    }

    // ----------------------------------------------------------------- large inputs (parallel paths)

    #[test]
    fn large_inputs_use_the_parallel_paths_correctly() {
        let dev = dev();
        // Whole-tensor sum of 1e6 f32: pairwise summation stays accurate.
        let ones = Tensor::<(Dyn,), f32, Dev>::full((Dyn(1_000_000),), 0.1, &dev);
        let s = ones.sum().item() as f64;
        assert!((s - 1e5).abs() < 1.0, "sum of 1e6 x 0.1f32 = {s}");

        // Bias-gradient shape: (rows, features) summed over rows.
        let (r, c) = (12000, 24);
        let v: Vec<f64> = (0..r * c)
            .map(|i| ((i * 37 % 101) as f64) * 0.01 - 0.5)
            .collect();
        let x = mat(r, c, v.clone());
        assert_close!(
            &x.clone().sum_axis::<0>().to_vec(),
            &naive_reduce(r_sum, &v, &[r, c], 0),
            1e-10,
        );
        assert_close!(
            &x.clone().var_axis::<0>().to_vec(),
            &naive_reduce(r_var, &v, &[r, c], 0),
            1e-10,
        );
        assert_close!(
            &x.clone().max_axis::<1>().to_vec(),
            &naive_reduce(r_max, &v, &[r, c], 1),
            0.0,
        );
        assert_close!(
            &x.clone().logsumexp_axis::<1>().to_vec(),
            &naive_reduce(r_lse, &v, &[r, c], 1),
            1e-12,
        );
        assert_close!(
            &x.clone().softmax::<1>().to_vec(),
            &naive_keep(r_softmax, &v, &[r, c], 1),
            1e-12,
        );
        assert_close!(
            &x.clone().log_softmax::<0>().to_vec(),
            &naive_keep(r_log_softmax, &v, &[r, c], 0),
            1e-10,
        );
        assert_close!(&[x.clone().mean().item()], &[r_mean(&v)], 1e-12);
        assert_close!(&[x.clone().var().item()], &[r_var(&v)], 1e-12);
        assert_close!(&[x.clone().logsumexp().item()], &[r_lse(&v)], 1e-12);
        let big = dev.download(&dev.sum_to(&dev.upload(v.clone()), &[r, c], &[c]));
        assert_close!(&big, &naive_sum_to(&v, &[r, c], &[c]), 1e-10);

        // Backward over many elements: max of whole tensor (many ties) and softmax.
        let g = x.clone().trace().max().backward().get(&x).unwrap().to_vec();
        let top = r_max(&v);
        let ties = v.iter().filter(|&&a| a == top).count() as f64;
        assert!(
            g.iter().all(|&a| a == 0.0 || a == 1.0 / ties)
                && (g.iter().sum::<f64>() - 1.0).abs() < 1e-9
        );
        let w = cotangent(r * c);
        let gs = x
            .clone()
            .trace()
            .softmax::<1>()
            .backward_from(mat(r, c, w.clone()))
            .get(&x)
            .unwrap()
            .to_vec();
        let y = naive_keep(r_softmax, &v, &[r, c], 1);
        for row in 0..r {
            let rg = row * c..(row + 1) * c;
            let dot: f64 = y[rg.clone()]
                .iter()
                .zip(&w[rg.clone()])
                .map(|(a, b)| a * b)
                .sum();
            for k in rg {
                assert!((gs[k] - y[k] * (w[k] - dot)).abs() < 1e-12);
            }
        }
    }

    // ----------------------------------------------------------------- errors

    #[test]
    fn empty_reductions_are_errors_or_identities() {
        let dev = dev();
        let e = Tensor::<(Dyn, u!(3)), f64, Dev>::zeros((Dyn(0), Default::default()), &dev);
        assert_eq!(e.clone().sum().item(), 0.0);
        assert_eq!(e.clone().sum_axis::<0>().to_vec(), vec![0.0; 3]);
        assert_eq!(e.clone().logsumexp().item(), f64::NEG_INFINITY);
        assert_eq!(e.clone().softmax::<0>().to_vec(), Vec::<f64>::new());
        assert_eq!(e.clone().max_axis::<1>().to_vec(), Vec::<f64>::new()); // nothing to reduce into
        let err = e.clone().try_max_axis::<0>().unwrap_err();
        assert_eq!(
            err,
            Error::TooFewElements {
                op: "max_axis",
                axis: Some(0),
                got: 0,
                min: 1
            }
        );
        assert_eq!(
            err.to_string(),
            "max_axis: axis 0 has size 0, the reduction needs at least 1 element(s)"
        );
        assert!(e.clone().try_min_axis::<0>().is_err());
        assert!(e.clone().try_mean_axis::<0>().is_err());
        assert!(e.clone().try_var_axis::<0>().is_err());
        assert_eq!(
            e.clone().try_mean().unwrap_err().to_string(),
            "mean: the tensor has 0 elements, the reduction needs at least 1"
        );
        assert!(
            e.clone().try_max().is_err()
                && e.clone().try_min().is_err()
                && e.clone().try_var().is_err()
        );
        let one = vec1(vec![3.0]);
        assert_eq!(
            one.clone().try_var_unbiased().unwrap_err(),
            Error::TooFewElements {
                op: "var_unbiased",
                axis: None,
                got: 1,
                min: 2
            }
        );
        assert!(one.clone().try_var_axis_unbiased::<0>().is_err());
        assert_eq!(one.clone().try_var().unwrap().item(), 0.0);
        let two = vec1(vec![3.0, 5.0]);
        assert_eq!(
            two.try_var_axis_unbiased::<0>().unwrap().to_vec(),
            vec![2.0]
        );
    }

    #[test]
    #[should_panic(expected = "max_axis: axis 1 has size 0, the reduction needs at least 1 element(s)")]
    fn max_axis_of_empty_axis_panics() {
        let _ = Tensor::<(u!(2), Dyn), f32, Dev>::zeros((Default::default(), Dyn(0)), &dev())
            .max_axis::<1>();
    }

    #[test]
    #[should_panic(expected = "min: the tensor has 0 elements, the reduction needs at least 1")]
    fn min_of_empty_panics() {
        let _ = vec1(vec![]).min();
    }

    #[test]
    #[should_panic(expected = "mean_axis: axis 0 has size 0")]
    fn mean_axis_of_empty_axis_panics() {
        let _ = mat(0, 2, vec![]).mean_axis::<0>();
    }

    #[test]
    #[should_panic(
        expected = "var_axis_unbiased: axis 1 has size 1, the reduction needs at least 2 element(s)"
    )]
    fn unbiased_variance_of_one_element_panics() {
        let _ = mat(3, 1, vec![1.0, 2.0, 3.0]).var_axis_unbiased::<1>();
    }

    #[test]
    #[should_panic(expected = "var: the tensor has 0 elements")]
    fn var_of_empty_panics() {
        let _ = vec1(vec![]).var();
    }

    // ----------------------------------------------------------------- proptests

    /// Random rank 1..=4, dims 1..=max, and values.
    fn arb_tensor(max: usize, range: f64) -> impl Strategy<Value = (Vec<usize>, Vec<f64>)> {
        (1usize..=4)
            .prop_flat_map(move |r| sizes(r, 1..=max))
            .prop_flat_map(move |d| {
                let n = d.iter().product();
                (Just(d), values(n, -range..range))
            })
    }

    /// Random rank and dims with distinct shuffled values (gaps >= 0.1).
    fn arb_distinct(max: usize) -> impl Strategy<Value = (Vec<usize>, Vec<f64>)> {
        (1usize..=4)
            .prop_flat_map(move |r| sizes(r, 1..=max))
            .prop_flat_map(|d| {
                let n: usize = d.iter().product();
                let base: Vec<f64> = (0..n).map(|i| i as f64 * 0.2 - n as f64 * 0.1).collect();
                (Just(d), Just(base).prop_shuffle(), values(n, -0.05..0.05))
                    .prop_map(|(d, b, j)| (d, b.iter().zip(j).map(|(a, e)| a + e).collect()))
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn prop_values_match_naive((d, v) in arb_tensor(5, 3.0)) {
            check_values(&d, v).map_err(TestCaseError::fail)?;
        }

        #[test]
        fn prop_softmax_rows_sum_to_one_and_shift_invariant(x in tensor_on::<(Dyn, Dyn), f64, Dev>(dev(), 1..=6, -50.0..50.0), shift in -1e3f64..1e3) {
            let (r, c, v) = (x.dims()[0], x.dims()[1], x.to_vec());
            let p = x.clone().softmax::<1>().to_vec();
            for row in p.chunks(c) {
                prop_assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-12);
                prop_assert!(row.iter().all(|&q| (0.0..=1.0).contains(&q)));
            }
            let q = mat(r, c, v.iter().map(|a| a + shift).collect()).softmax::<1>().to_vec();
            assert_close!(&p, &q, 1e-9);
            // log_softmax = ln softmax, and its exponentials sum to 1 along axis 0.
            let lp = x.clone().log_softmax::<1>().to_vec();
            for (a, b) in lp.iter().zip(&p) {
                prop_assert!(b.ln() == f64::NEG_INFINITY || (a - b.ln()).abs() < 1e-9 * (1.0 + a.abs()));
            }
            let l0 = x.log_softmax::<0>().to_vec();
            for j in 0..c {
                let s: f64 = (0..r).map(|i| l0[i * c + j].exp()).sum();
                prop_assert!((s - 1.0).abs() < 1e-12);
            }
        }

        #[test]
        fn prop_sum_to_matches_naive((d, v) in arb_tensor(4, 2.0), mask in proptest::collection::vec(any::<bool>(), 4), drop in 0usize..4) {
            // `to`: some trailing dims of `d` (after dropping leading axes), with
            // a random subset set to 1.
            let drop = drop.min(d.len());
            let to: Vec<usize> = d[drop..].iter().zip(&mask).map(|(&n, &m)| if m { 1 } else { n }).collect();
            let got = dev().download(&dev().sum_to(&dev().upload(v.clone()), &d, &to));
            assert_close!(&got, &naive_sum_to(&v, &d, &to), 1e-12);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn prop_gradients_match_finite_differences((d, v) in arb_distinct(3)) {
            check_grads(&d, v).map_err(TestCaseError::fail)?;
        }
    }
}
