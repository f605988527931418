//! Unary ops: values vs std's f64 maths, finite-difference gradients,
//! proptests over random shapes and values.

use crate::common::*;
use proptest::prelude::*;
use typegrad::prelude::*;

typegrad::per_device! {
    ops_helpers!();
    type Op = fn(Traced<(Dyn, Dyn), f64, Dev>) -> Traced<(Dyn, Dyn), f64, Dev>;
    type Reference = fn(f64) -> f64;

    fn erf(x: f64) -> f64 {
        // Independent reference: Abramowitz-Stegun 7.1.26 is too coarse, so
        // integrate exp(-t^2) with composite Simpson (error ~1e-13 here).
        let n = 2000;
        let h = x / n as f64;
        let mut s = 1.0 + (-x * x).exp();
        for i in 1..n {
            let t = i as f64 * h;
            s += if i % 2 == 1 { 4.0 } else { 2.0 } * (-t * t).exp();
        }
        s * h / 3.0 * 2.0 / std::f64::consts::PI.sqrt()
    }

    fn sigmoid(x: f64) -> f64 {
        1.0 / (1.0 + (-x).exp())
    }

    /// (name, op, reference, domain: positive-only?)
    fn cases() -> Vec<(&'static str, Op, Reference, bool)> {
        vec![
            ("neg", |x| x.neg(), |x| -x, false),
            ("exp", |x| x.exp(), |x| x.exp(), false),
            ("ln", |x| x.ln(), |x| x.ln(), true),
            ("sqrt", |x| x.sqrt(), |x| x.sqrt(), true),
            ("square", |x| x.square(), |x| x * x, false),
            ("abs", |x| x.abs(), |x| x.abs(), false),
            ("powf", |x| x.powf(1.7), |x| x.powf(1.7), true),
            ("tanh", |x| x.tanh(), |x| x.tanh(), false),
            ("sigmoid", |x| x.sigmoid(), sigmoid, false),
            ("relu", |x| x.relu(), |x| x.max(0.0), false),
            (
                "leaky_relu",
                |x| x.leaky_relu(0.1),
                |x| if x > 0.0 { x } else { 0.1 * x },
                false,
            ),
            (
                "gelu",
                |x| x.gelu(),
                |x| 0.5 * x * (1.0 + erf(x / 2f64.sqrt())),
                false,
            ),
            (
                "gelu_tanh",
                |x| x.gelu_tanh(),
                |x| {
                    0.5 * x
                        * (1.0
                            + ((2.0 / std::f64::consts::PI).sqrt() * (x + 0.044715 * x.powi(3))).tanh())
                },
                false,
            ),
            ("silu", |x| x.silu(), |x| x * sigmoid(x), false),
            (
                "clamp",
                |x| x.clamp(-0.5, 0.7),
                |x| x.clamp(-0.5, 0.7),
                false,
            ),
            ("add_scalar", |x| x + 2.5, |x| x + 2.5, false),
            ("sub_scalar", |x| x - 2.5, |x| x - 2.5, false),
            ("mul_scalar", |x| x * -1.5, |x| x * -1.5, false),
            ("div_scalar", |x| x / 4.0, |x| x / 4.0, false),
        ]
    }

    /// Inputs away from kinks (|x| >= 0.05, not near clamp bounds) so finite
    /// differences are valid.
    fn input(r: usize, c: usize, positive: bool, raw: &[f64]) -> Tensor<(Dyn, Dyn), f64, Dev> {
        let v = raw
            .iter()
            .map(|&x| {
                let mut x = if x.abs() < 0.05 {
                    x.signum() * 0.05 + x
                } else {
                    x
                };
                if (x + 0.5).abs() < 0.01 || (x - 0.7).abs() < 0.01 {
                    x += 0.03;
                }
                if positive {
                    x.abs() + 0.1
                } else {
                    x
                }
            })
            .collect();
        mat(r, c, v)
    }

    #[test]
    fn values_match_reference() {
        let raw: Vec<f64> = cotangent(24).iter().map(|v| v * 3.0).collect();
        for (name, op, reference, positive) in cases() {
            let x = input(4, 6, positive, &raw);
            let y = op(x.clone().trace()).to_vec();
            let want: Vec<f64> = x.to_vec().iter().map(|&v| reference(v)).collect();
            for (i, (a, b)) in y.iter().zip(&want).enumerate() {
                assert!(
                    (a - b).abs() < 1e-10 * (1.0 + b.abs()),
                    "{name}[{i}]: {a} vs {b}"
                );
            }
        }
    }

    #[test]
    fn gradients_match_finite_differences() {
        let raw: Vec<f64> = cotangent(12).iter().map(|v| v * 2.0).collect();
        for (name, op, _, positive) in cases() {
            let x = input(3, 4, positive, &raw);
            gradcheck(&x, op).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }

    #[test]
    fn untracked_ops_work_and_f32_agrees() {
        let dev = dev();
        let x = Tensor::<(u!(3),), f32, Dev>::from_vec_static(vec![-1.0, 0.5, 2.0], &dev);
        let y = x.clone().exp().to_vec();
        assert_eq!(y, vec![(-1f32).exp(), 0.5f32.exp(), 2f32.exp()]);
        let g = x.gelu().to_vec();
        assert!((g[2] - 1.954_499_7).abs() < 1e-6);
    }

    #[test]
    fn sigmoid_and_silu_are_stable_for_huge_inputs() {
        let x = vec1(vec![-1e4, 1e4, -800.0, 800.0]);
        let s = x.clone().sigmoid().to_vec();
        assert_eq!(s, vec![0.0, 1.0, 0.0, 1.0]);
        assert!(x.silu().to_vec().iter().all(|v| v.is_finite()));
    }

    #[test]
    #[should_panic(expected = "clamp: lo (2) must not exceed hi (1)")]
    fn clamp_rejects_inverted_bounds() {
        let _ = vec1(vec![1.0]).clamp(2.0, 1.0);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        #[test]
        fn prop_unary_grads(x in tensor_on::<(Dyn, Dyn), f64, Dev>(dev(), 1..=4, -2.0..2.0)) {
            let (r, c, v) = (x.dims()[0], x.dims()[1], x.to_vec());
            for (name, op, reference, positive) in cases() {
                let x = input(r, c, positive, &v);
                let y = op(x.clone().trace()).to_vec();
                for (a, b) in y.iter().zip(x.to_vec().iter().map(|&v| reference(v))) {
                    prop_assert!((a - b).abs() < 1e-9 * (1.0 + b.abs()), "{} value {} vs {}", name, a, b);
                }
                if let Err(e) = gradcheck(&x, op) {
                    return Err(TestCaseError::fail(format!("{name}: {e}")));
                }
            }
        }
    }

    #[test]
    fn gelu_f32_matches_f64_in_value_and_gradient_tails_included() {
        // The f32 CPU kernel computes Φ through erfc (no erf call, no 1 + erf
        // cancellation): relative accuracy holds far into both tails.
        let dev = dev();
        let xs: Vec<f32> = (-1300..=1300).map(|i| i as f32 * 0.01).collect();
        let n = xs.len();
        let x = Tensor::<(Dyn,), f32, Dev>::from_vec((Dyn(n),), xs.clone(), &dev);
        let y = x.clone().trace().gelu();
        let got = y.to_vec();
        let grad = y.sum().backward().get(&x).unwrap().to_vec();
        for (i, &v) in xs.iter().enumerate() {
            let v = v as f64;
            let cdf = 0.5 * (1.0 + erf(v / 2f64.sqrt()));
            let pdf = (-v * v / 2.0).exp() / (2.0 * std::f64::consts::PI).sqrt();
            // Reference from erfc for the lower tail (1 + erf cancels there).
            let cdf = if v < -3.0 { lower_tail(v) } else { cdf };
            let (want, dwant) = (v * cdf, cdf + v * pdf);
            let tol = 2e-6 * (1.0 + v * v);
            assert!(
                (got[i] as f64 - want).abs() <= tol * want.abs() + 1e-30,
                "gelu({v}) = {} vs {want}",
                got[i]
            );
            assert!(
                (grad[i] as f64 - dwant).abs() <= tol * dwant.abs() + 2e-7,
                "gelu'({v}) = {} vs {dwant}",
                grad[i]
            );
        }
    }

    /// `Φ(x)` for `x < -3` by its continued fraction, evaluated backwards.
    fn lower_tail(x: f64) -> f64 {
        // Φ(x) = φ(x) / (|x| + 1/(|x| + 2/(|x| + 3/(|x| + ...)))).
        let a = x.abs();
        let mut cf = 0.0;
        for k in (1..200).rev() {
            cf = k as f64 / (a + cf);
        }
        (-a * a / 2.0).exp() / (2.0 * std::f64::consts::PI).sqrt() / (a + cf)
    }
}
