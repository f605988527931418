//! Tests of the public `typegrad::testing` helpers themselves: the
//! gradient checks must catch wrong and missing gradients (of inputs and of
//! parameters) with messages that name the element and both values, the
//! closeness assertions must fail with readable messages, and the
//! strategies must respect the typed shape and shrink.

use proptest::prelude::*;
use proptest::test_runner::{TestError, TestRunner};
use typegrad::nn::{Linear, Params};
use typegrad::prelude::*;
use typegrad::testing::*;

type U1 = u!(1);
type U2 = u!(2);
type U3 = u!(3);

fn x23() -> Tensor<(Dyn, U3), f64> {
    let v = vec![0.3, -1.2, 0.7, 1.5, -0.4, 0.9];
    Tensor::from_vec((Dyn(2), U3::default()), v, &Cpu::default())
}

fn panic_message(f: impl FnOnce() + std::panic::UnwindSafe) -> String {
    let e = std::panic::catch_unwind(f).expect_err("should panic");
    e.downcast_ref::<String>()
        .cloned()
        .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap()
}

// ------------------------------------------------------------- gradcheck

#[test]
fn gradcheck_passes_correct_gradients() {
    let x = x23();
    gradcheck(&x, |x| x.tanh().softmax::<1>()).unwrap();
    gradcheck(&x, |x| (x.clone() * x).sum_axis::<0>()).unwrap();
}

#[test]
fn gradcheck_reports_a_wrong_input_gradient() {
    // d/dx (x * detach(x)) is x analytically here, 2x numerically.
    let x = x23();
    let e = gradcheck(&x, |x| x.clone() * x.detach()).unwrap_err();
    assert_eq!(e.tensor, "the input");
    assert_eq!(
        (e.index, e.position.clone(), e.dims.clone()),
        (0, vec![0, 0], vec![2, 3])
    );
    let w0 = cotangent(6)[0];
    assert!((e.analytic - 0.3 * w0).abs() < 1e-12, "{e}");
    assert!((e.numeric - 0.6 * w0).abs() < 1e-6, "{e}");
    assert!(!e.missing);
    let msg = e.to_string();
    for part in [
        "the input, element 0 (index [0, 0] of dims [2, 3])",
        "analytic",
        "numeric",
        "input = [0.3, -1.2",
    ] {
        assert!(msg.contains(part), "{msg}");
    }
    // `unwrap` prints the same sentence.
    assert_eq!(format!("{e:?}"), msg);
}

#[test]
fn gradcheck_tolerance_is_applied() {
    let x = x23();
    // Analytic gradient w, numeric (1 + 1e-3) w: fails by default, passes
    // with rtol 2e-3.
    let f = |x: Traced<(Dyn, U3)>| x.clone() + x.detach() * 1e-3;
    assert!(gradcheck(&x, f).is_err());
    gradcheck_with(
        &x,
        f,
        Tolerance {
            atol: 0.0,
            rtol: 2e-3,
            ..Tolerance::default()
        },
    )
    .unwrap();
    // exp: relative error of a finite difference with a huge step.
    let coarse = Tolerance {
        eps: 0.5,
        ..Tolerance::default()
    };
    assert!(gradcheck_with(&x, |x| x.exp(), coarse).is_err());
    let loose = Tolerance {
        eps: 0.5,
        atol: 0.5,
        rtol: 0.1,
    };
    assert!(gradcheck_with(&x, |x| x.exp(), loose).is_ok());
}

#[test]
fn gradcheck_error_fails_a_proptest_case() {
    let mut runner = TestRunner::new(ProptestConfig::with_cases(4));
    let r = runner.run(&tensor::<(U2,), f64>(1, 0.5..1.0), |x| {
        gradcheck(&x, |x| x.clone() * x.detach())?;
        Ok(())
    });
    match r {
        Err(TestError::Fail(reason, _)) => {
            assert!(
                reason.message().contains("gradient mismatch for the input"),
                "{reason}"
            )
        }
        other => panic!("expected a failure, got {other:?}"),
    }
}

// ------------------------------------------------------- gradcheck_module

/// A layer whose output is scaled by the sum of its weights, read as a
/// plain number: backward misses that dependence, so the weight's gradient
/// is wrong while the input's is right.
#[derive(Module)]
struct Scaled {
    fc: Linear<U3, U2, f64>,
}

impl Module<Traced<(Dyn, U3)>> for Scaled {
    type Output = Traced<(Dyn, U2)>;
    fn forward(&self, x: Traced<(Dyn, U3)>) -> Self::Output {
        let s: f64 = self.fc.weight.to_vec().iter().sum();
        self.fc.forward(x) * s
    }
}

/// A layer adding a parameter read as a plain number: backward records no
/// gradient for it at all.
#[derive(Module)]
struct Shift {
    fc: Linear<U3, U2, f64>,
    shift: Tensor<(U1,), f64>,
}

impl Module<Traced<(Dyn, U3)>> for Shift {
    type Output = Traced<(Dyn, U2)>;
    fn forward(&self, x: Traced<(Dyn, U3)>) -> Self::Output {
        self.fc.forward(x) + self.shift.to_vec()[0]
    }
}

#[test]
fn gradcheck_module_checks_input_and_parameters_of_linear() {
    let dev = Cpu::seeded(3);
    let mut l: Linear<U3, U2, f64> = Linear::new(&dev);
    gradcheck_module(&mut l, &x23()).unwrap();
    let mut no_bias = Linear::<U3, U2, f64>::from_tensors(l.weight.clone(), None);
    gradcheck_module(&mut no_bias, &x23()).unwrap();
}

#[test]
fn gradcheck_module_reports_a_wrong_parameter_gradient() {
    let mut m = Scaled {
        fc: Linear::new(&Cpu::seeded(4)),
    };
    let e = gradcheck_module(&mut m, &x23()).unwrap_err();
    assert_eq!(e.tensor, "parameter `fc.weight`");
    assert_eq!(e.dims, vec![2, 3]);
    assert!(!e.missing);
    assert!((e.analytic - e.numeric).abs() > 1e-3, "{e}");
    assert!(e.to_string().starts_with("gradient mismatch for parameter `fc.weight`, element 0 (index [0, 0] of dims [2, 3]): analytic "), "{e}");
}

#[test]
fn gradcheck_module_reports_a_missing_parameter_gradient() {
    let mut m = Shift {
        fc: Linear::new(&Cpu::seeded(5)),
        shift: Tensor::from_vec_static(vec![0.25], &Cpu::default()),
    };
    let e = gradcheck_module(&mut m, &x23()).unwrap_err();
    assert_eq!(
        (e.tensor.as_str(), e.index, e.analytic),
        ("parameter `shift`", 0, 0.0)
    );
    assert!(e.missing);
    // The numeric gradient is the sum of the cotangent.
    let want: f64 = cotangent(4).iter().sum();
    assert!((e.numeric - want).abs() < 1e-6, "{e}");
    assert!(
        e.to_string()
            .contains("analytic 0 (backward recorded no gradient for it), numeric"),
        "{e}"
    );
}

#[test]
fn gradcheck_module_restores_parameters_exactly() {
    let mut m = Scaled {
        fc: Linear::new(&Cpu::seeded(6)),
    };
    let before: Vec<_> = m.param_names();
    let (w, b) = (m.fc.weight.to_vec(), m.fc.bias.as_ref().unwrap().to_vec());
    let ids = (m.fc.weight.id(), m.fc.bias.as_ref().unwrap().id());
    let _ = gradcheck_module(&mut m, &x23());
    let mut l = m.fc;
    assert_eq!(l.weight.to_vec(), w);
    assert_eq!(l.bias.as_ref().unwrap().to_vec(), b);
    assert_eq!((l.weight.id(), l.bias.as_ref().unwrap().id()), ids);
    assert_eq!(Scaled { fc: l.clone() }.param_names(), before);
    gradcheck_module(&mut l, &x23()).unwrap();
}

// ---------------------------------------------------------- assert_close

#[test]
fn close_values_pass() {
    let x = x23();
    assert_close!(x, x.to_vec());
    assert_close!(&x, &(x.clone() + 1e-9), 1e-8);
    assert_close!(
        [1.0f32, f32::INFINITY],
        [1.0f32, f32::INFINITY],
        atol = 0.0,
        rtol = 0.0
    );
    assert_tensor_close(&x, &(x.clone() * (1.0 + 1e-7)), 0.0, 1e-6);
}

#[test]
fn assert_close_names_first_mismatch_and_max_diff() {
    let msg = panic_message(|| {
        let a = x23();
        let mut v = a.to_vec();
        v[1] += 0.5;
        v[4] -= 2.0;
        let b = Tensor::from_vec(a.shape(), v, &Cpu::default());
        assert_tensor_close(&a, &b, 1e-6, 1e-6);
    });
    for part in [
        "2 of 6 elements differ",
        "first at index 1 [0, 1]: left -1.2, right -0.7",
        "max |diff| 2.000e0 at index 4 [1, 1]",
        "atol 1e-6, rtol 1e-6",
    ] {
        assert!(msg.contains(part), "{part:?} not in {msg}");
    }
}

#[test]
fn assert_close_context_shapes_and_nan() {
    let msg = panic_message(|| assert_close!(vec![1.0, 2.0], [1.0, 2.1], 1e-3, "step {}", 7));
    assert!(
        msg.starts_with("assert_close failed: step 7: values not close"),
        "{msg}"
    );
    assert!(msg.contains("first at index 1: left 2, right 2.1"), "{msg}");

    let a: Tensor<(U2, U3), f64> = Tensor::zeros(Default::default(), &Cpu::default());
    let b: Tensor<(U3, U2), f64> = Tensor::zeros(Default::default(), &Cpu::default());
    let msg = panic_message(|| assert_close!(a, b));
    assert!(
        msg.contains("shapes differ: left [2, 3], right [3, 2]"),
        "{msg}"
    );
    let msg = panic_message(|| assert_close!(vec![1.0], vec![1.0, 2.0]));
    assert!(msg.contains("shapes differ: left [1], right [2]"), "{msg}");

    assert!(check_close(&[f64::NAN], &[f64::NAN], 1.0, 1.0).is_err());
    assert!(check_close(&[f64::INFINITY], &[f64::NEG_INFINITY], 1.0, 1.0).is_err());
}

// ------------------------------------------------------------ strategies

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn tensors_have_the_typed_shape_and_value_range(
        x in tensor::<(Dyn, U3, Dyn), f32>(2..4, -1.5..1.5),
    ) {
        let d = x.dims();
        prop_assert_eq!(d[1], 3);
        prop_assert!((2..4).contains(&d[0]) && (2..4).contains(&d[2]));
        prop_assert_eq!(x.to_vec().len(), d[0] * 3 * d[2]);
        prop_assert!(x.to_vec().iter().all(|v| (-1.5..1.5).contains(v)));
    }

    #[test]
    fn static_shapes_are_fixed(x in tensor::<(U2, U3), f64>(1..9, 0.0..=1.0)) {
        prop_assert_eq!(&*x.dims(), &[2, 3][..]);
    }

    #[test]
    fn shapes_share_a_dyn_dim(
        (a, b) in shapes::<(Dyn, U2)>(1..=5).prop_flat_map(|s| {
            (tensor_with_shape::<_, f64, _>(s, -1.0..1.0), tensor_with_shape::<_, f64, _>(s, Just(0.5)))
        })
    ) {
        prop_assert_eq!(a.dims(), b.dims());
        prop_assert!(b.to_vec().iter().all(|&v| v == 0.5));
    }

    #[test]
    fn sizes_and_values(d in sizes(4, 2..=3), v in values(7, -0.25..0.25)) {
        prop_assert!(d.len() == 4 && d.iter().all(|n| (2..=3).contains(n)));
        prop_assert!(v.len() == 7 && v.iter().all(|x| x.abs() <= 0.25));
    }
}

#[test]
fn strategies_shrink_to_the_smallest_failing_size() {
    let mut runner = TestRunner::new(ProptestConfig::with_cases(256));
    let r = runner.run(&tensor::<(Dyn, U2), f64>(1..20, -1.0..1.0), |x| {
        prop_assert!(x.dims()[0] < 5);
        Ok(())
    });
    match r {
        Err(TestError::Fail(_, x)) => assert_eq!(&*x.dims(), &[5, 2]),
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[test]
fn cotangent_is_fixed_and_nonzero() {
    let w = cotangent(100);
    assert_eq!(w, cotangent(100));
    assert_eq!(&cotangent(3)[..], &w[..3]);
    assert!(w.iter().all(|v| v.abs() > 1e-3 && v.abs() <= 1.0));
}
