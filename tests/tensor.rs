//! Tensors, shapes and the dim macros: constructors, seeded randomness,
//! read-back, `Debug`, shape arithmetic at the type level and at run time.

#![allow(clippy::type_complexity)]

use typegrad::prelude::*;
use typegrad::shape::{conv_out_size, ConvOutDim, HeadDim, Prod, StaticDim, Sum};

fn size<D: StaticDim>() -> usize {
    D::USIZE
}

#[test]
fn macros_have_no_range_limit() {
    assert_eq!(size::<u!(3072)>(), 3072);
    assert_eq!(size::<u!(50257)>(), 50257);
    assert_eq!(size::<u!(1_000_000)>(), 1_000_000);
    assert_eq!(size::<u!(0)>(), 0);
    let s = dims!(Dyn(8), 1, 28, 28);
    assert_eq!(&*s.dims(), &[8, 1, 28, 28]);
    let _typed: shape!(Dyn, 1, 28, 28) = s;
}

#[test]
fn type_level_arithmetic_matches_the_formulas() {
    // Conv/pool: (H + 2P - D(K-1) - 1) / S + 1, checked against the runtime form.
    assert_eq!(size::<ConvOutDim<u!(28), u!(5), u!(1), u!(0), u!(1)>>(), 24);
    assert_eq!(size::<ConvOutDim<u!(24), u!(2), u!(2), u!(0), u!(1)>>(), 12);
    assert_eq!(size::<ConvOutDim<u!(32), u!(3), u!(1), u!(1), u!(1)>>(), 32);
    assert_eq!(
        size::<ConvOutDim<u!(224), u!(7), u!(2), u!(3), u!(1)>>(),
        112
    );
    assert_eq!(size::<ConvOutDim<u!(31), u!(3), u!(3), u!(2), u!(2)>>(), 11);
    for (h, k, s, p, d) in [
        (28, 5, 1, 0, 1),
        (224, 7, 2, 3, 1),
        (31, 3, 3, 2, 2),
        (5, 5, 1, 0, 1),
    ] {
        let want = (h + 2 * p - d * (k - 1) - 1) / s + 1;
        assert_eq!(conv_out_size(h, k, s, p, d), Some(want));
    }
    assert_eq!(conv_out_size(3, 7, 1, 1, 1), None);
    assert_eq!(size::<HeadDim<u!(768), u!(12)>>(), 64);
    assert_eq!(size::<Prod<Prod<u!(16), u!(4)>, u!(4)>>(), 256);
    assert_eq!(size::<Sum<u!(3072), u!(768)>>(), 3840);
}

#[test]
fn constructors_and_read_back() {
    let dev = Cpu::default();
    let z: Tensor<(u!(2), u!(3)), f64> = Tensor::zeros(Default::default(), &dev);
    assert_eq!(z.to_vec(), vec![0.0; 6]);
    let o: Tensor<(Dyn,), f32> = Tensor::ones((Dyn(4),), &dev);
    assert_eq!(o.to_vec(), vec![1.0; 4]);
    let f: Tensor<(u!(2),), f32> = Tensor::full(Default::default(), 7.5, &dev);
    assert_eq!(f.to_vec(), vec![7.5, 7.5]);
    let a: Tensor<(u!(2), u!(2))> =
        Tensor::from_array(Default::default(), [1.0, 2.0, 3.0, 4.0], &dev);
    assert_eq!(a.to_vec(), vec![1.0, 2.0, 3.0, 4.0]);
    let s: Tensor<(Dyn, u!(2))> =
        Tensor::from_slice((Dyn(1), Default::default()), &[5.0, 6.0], &dev);
    assert_eq!(&*s.dims(), &[1, 2]);
    assert_eq!(s.numel(), 2);
    let scalar: Tensor<(), f64> = Tensor::full((), 3.0, &dev);
    assert_eq!(scalar.item(), 3.0);
}

#[test]
fn from_vec_checks_the_element_count() {
    let dev = Cpu::default();
    let e =
        Tensor::<(Dyn, u!(3)), f32>::try_from_vec((Dyn(2), Default::default()), vec![0.0; 5], &dev)
            .unwrap_err();
    assert_eq!(
        e,
        Error::NumelMismatch {
            op: "from_vec",
            got: 5,
            expected: 6
        }
    );
    assert_eq!(
        e.to_string(),
        "from_vec: element count mismatch: got 5 elements, the shape needs 6"
    );
}

#[test]
#[should_panic(expected = "from_vec: element count mismatch: got 5 elements, the shape needs 6")]
fn from_vec_panics_with_the_counts() {
    let _ = Tensor::<(u!(2), u!(3)), f32>::from_vec_static(vec![0.0; 5], &Cpu::default());
}

#[test]
fn static_dims_reject_other_runtime_sizes() {
    type S = (Dyn, u!(3));
    assert_eq!(
        S::try_from_dims(&[4, 3]).unwrap().dims().to_vec(),
        vec![4, 3]
    );
    assert_eq!(
        S::try_from_dims(&[4, 5]).unwrap_err(),
        Error::StaticDim {
            axis: 1,
            got: 5,
            expected: 3
        }
    );
    assert!(S::try_from_dims(&[4]).is_err());
}

#[test]
fn random_tensors_are_reproducible_and_distributed() {
    let a: Tensor<(Dyn,), f64> = Tensor::randn((Dyn(20000),), 2.0, 3.0, &Cpu::seeded(7));
    let b: Tensor<(Dyn,), f64> = Tensor::randn((Dyn(20000),), 2.0, 3.0, &Cpu::seeded(7));
    assert_eq!(a.to_vec(), b.to_vec());
    let v = a.to_vec();
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len() as f64;
    assert!((mean - 2.0).abs() < 0.1, "mean {mean}");
    assert!((var.sqrt() - 3.0).abs() < 0.1, "std {}", var.sqrt());
    // Successive draws from one device differ.
    let dev = Cpu::seeded(7);
    let c: Tensor<(Dyn,), f64> = Tensor::randn((Dyn(8),), 0.0, 1.0, &dev);
    let d: Tensor<(Dyn,), f64> = Tensor::randn((Dyn(8),), 0.0, 1.0, &dev);
    assert_ne!(c.to_vec(), d.to_vec());
    let u: Tensor<(Dyn,), f32> = Tensor::rand_uniform((Dyn(10000),), -1.0, 3.0, &dev);
    assert!(u.to_vec().iter().all(|&x| (-1.0..3.0).contains(&x)));
    let um = u.to_vec().iter().map(|&x| x as f64).sum::<f64>() / 10000.0;
    assert!((um - 1.0).abs() < 0.05, "uniform mean {um}");
}

#[test]
fn debug_is_readable() {
    let dev = Cpu::default();
    let t: Tensor<(u!(2), u!(3)), f32> =
        Tensor::from_vec_static(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &dev);
    let s = format!("{t:?}");
    assert!(s.starts_with("Tensor[2, 3] f32 on cpu"), "{s}");
    assert!(
        s.contains("[1.0000, 2.0000, 3.0000]") && s.contains("[4.0000, 5.0000, 6.0000]"),
        "{s}"
    );
    let tr = format!("{:?}", t.trace());
    assert!(tr.contains("tracked"), "{tr}");
    let big: Tensor<(Dyn, Dyn), f32> = Tensor::zeros((Dyn(100), Dyn(100)), &dev);
    let s = format!("{big:?}");
    assert!(
        s.contains("... 92 more") && s.contains("... 94 more rows"),
        "{s}"
    );
}

#[test]
fn gradients_flow_to_leaves_and_stop_at_detach() {
    let dev = Cpu::default();
    let x: Tensor<(u!(3),), f64> = Tensor::from_vec_static(vec![1.0, 2.0, 3.0], &dev);
    let c: Tensor<(u!(3),), f64> = Tensor::from_vec_static(vec![4.0, 5.0, 6.0], &dev);
    // d/dx sum(x * c + detach(x)^2) = c
    let xt = x.clone().trace();
    let loss = (xt.clone() * c.clone() + xt.detach().square()).sum();
    let grads = loss.backward();
    assert_eq!(grads.get(&x).unwrap().to_vec(), vec![4.0, 5.0, 6.0]);
    // An untracked operand of a tracked op is a leaf (a layer's parameter):
    // d/dc sum(x * c) = x.
    assert_eq!(grads.get(&c).unwrap().to_vec(), vec![1.0, 2.0, 3.0]);
    // A tensor the loss does not depend on has none.
    let unrelated: Tensor<(u!(3),), f64> = Tensor::ones(Default::default(), &dev);
    assert!(grads.get(&unrelated).is_none());
    assert_eq!(grads.get_or_zeros(&unrelated).to_vec(), vec![0.0; 3]);
}

#[test]
fn trace_no_grad_skips_only_the_input_gradient() {
    use typegrad::nn::{Linear, Module};
    let dev = Cpu::seeded(5);
    let layer: Linear<u!(3), u!(2), f64> = Linear::new(&dev);
    let x: Tensor<(Dyn, u!(3)), f64> = Tensor::randn((Dyn(4), Default::default()), 0.0, 1.0, &dev);
    let full = layer.forward(x.clone().trace()).square().sum().backward();
    let lean = layer
        .forward(x.clone().trace_no_grad())
        .square()
        .sum()
        .backward();
    assert!(full.get(&x).is_some());
    assert!(lean.get(&x).is_none());
    assert_eq!(
        full.get(&layer.weight).unwrap().to_vec(),
        lean.get(&layer.weight).unwrap().to_vec()
    );
    let (fb, lb) = (layer.bias.as_ref().unwrap(), layer.bias.as_ref().unwrap());
    assert_eq!(
        full.get(fb).unwrap().to_vec(),
        lean.get(lb).unwrap().to_vec()
    );
}
