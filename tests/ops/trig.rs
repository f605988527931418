//! `sin` and `cos`: values against std's f64 maths over several periods,
//! finite-difference gradients, and proptests over random shapes and values.

use crate::common::*;
use proptest::prelude::*;
use typegrad::prelude::*;

typegrad::per_device! {
    ops_helpers!();
    type Op = fn(Traced<(Dyn, Dyn), f64, Dev>) -> Traced<(Dyn, Dyn), f64, Dev>;

    fn cases() -> Vec<(&'static str, Op, fn(f64) -> f64, fn(f64) -> f64)> {
        vec![
            ("sin", |x| x.sin(), f64::sin, f64::cos),
            ("cos", |x| x.cos(), f64::cos, |x| -x.sin()),
        ]
    }

    #[test]
    fn values_and_derivatives_match_std() {
        // Several periods, both signs.
        let v: Vec<f64> = (0..40).map(|i| -10.0 + 0.5 * i as f64 + 0.013).collect();
        let x = mat(5, 8, v.clone());
        for (name, op, f, df) in cases() {
            let xt = x.clone().trace();
            let y = op(xt);
            for (i, (a, &b)) in y.to_vec().iter().zip(&v).enumerate() {
                assert!((a - f(b)).abs() < 1e-14, "{name}[{i}]: {a} vs {}", f(b));
            }
            let grads = y.sum().backward();
            let g = grads.get(&x).unwrap().to_vec();
            for (i, (a, &b)) in g.iter().zip(&v).enumerate() {
                assert!((a - df(b)).abs() < 1e-14, "{name}'[{i}]: {a} vs {}", df(b));
            }
        }
    }

    #[test]
    fn f32_agrees_with_f64() {
        let dev = dev();
        let v = vec![-3.0f32, -0.5, 0.0, 1.0, 2.5, 100.0];
        let x = Tensor::<(u!(6),), f32, Dev>::from_vec_static(v.clone(), &dev);
        let s = x.clone().sin().to_vec();
        let c = x.cos().to_vec();
        for (i, &t) in v.iter().enumerate() {
            assert!((s[i] as f64 - (t as f64).sin()).abs() < 1e-6, "sin({t})");
            assert!((c[i] as f64 - (t as f64).cos()).abs() < 1e-6, "cos({t})");
        }
    }

    #[test]
    fn gradients_match_finite_differences() {
        let raw: Vec<f64> = cotangent(12).iter().map(|v| v * 4.0).collect();
        for (name, op, _, _) in cases() {
            gradcheck(&mat(3, 4, raw.clone()), op).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        // Composed: sin² + cos² = 1 has a zero gradient.
        let x = mat(2, 3, raw[..6].to_vec());
        let grads = (x.clone().trace().sin().square() + x.clone().trace().cos().square())
            .sum()
            .backward();
        assert!(grads
            .get(&x)
            .unwrap()
            .to_vec()
            .iter()
            .all(|g| g.abs() < 1e-12));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        #[test]
        fn prop_trig_values_and_grads(x in tensor_on::<(Dyn, Dyn), f64, Dev>(dev(), 1..=5, -7.0..7.0)) {
            for (name, op, f, _) in cases() {
                let y = op(x.clone().trace()).to_vec();
                for (a, b) in y.iter().zip(x.to_vec().iter().map(|&v| f(v))) {
                    prop_assert!((a - b).abs() < 1e-14, "{} value {} vs {}", name, a, b);
                }
                if let Err(e) = gradcheck(&x, op) {
                    return Err(TestCaseError::fail(format!("{name}: {e}")));
                }
            }
        }
    }
}
