//! Element counts are checked arithmetic: a shape with `Dyn` dims whose
//! product (or a partial product: a flattened dim, the rows of a matmul)
//! does not fit in `usize` is an `Error::NumelOverflow` naming the dims
//! (or a panic with that message), never a wrapped, wrong count.

use typegrad::prelude::*;
use typegrad::shape::{conv_out_size, Dims, Error};

const BIG: usize = 1 << 40;

fn dev() -> Cpu {
    Cpu::default()
}

#[test]
fn dims_product_is_checked() {
    assert_eq!(Dims::new(&[]).try_numel("t"), Ok(1));
    assert_eq!(Dims::new(&[2, 3, 4]).try_numel("t"), Ok(24));
    assert_eq!(Dims::new(&[BIG, 0, BIG, BIG]).try_numel("t"), Ok(0));
    let e = Dims::new(&[BIG, BIG]).try_numel("t").unwrap_err();
    assert_eq!(
        e,
        Error::NumelOverflow {
            op: "t",
            dims: Dims::new(&[BIG, BIG])
        }
    );
    assert_eq!(
        e.to_string(),
        "t: the element count of shape [1099511627776, 1099511627776] overflows usize"
    );
    // A group of axes of an empty tensor can overflow on its own.
    let d = Dims::new(&[0, BIG, BIG]);
    assert_eq!(d.try_numel_of("t", 0..3), Ok(0));
    assert!(d.try_numel_of("t", 1..3).is_err());
    assert_eq!(d.try_numel_of("t", 1..2), Ok(BIG));
}

#[test]
#[should_panic(
    expected = "numel: the element count of shape [1099511627776, 1099511627776] overflows usize"
)]
fn numel_panics_naming_the_dims() {
    let _ = (Dyn(BIG), Dyn(BIG)).numel();
}

#[test]
fn constructors_report_overflow() {
    let s = (Dyn(BIG), Dyn(BIG), Dyn(2));
    let e = Tensor::<_, f32>::try_zeros(s, &dev()).unwrap_err();
    assert!(matches!(e, Error::NumelOverflow { op: "full", .. }), "{e}");
    assert!(Tensor::<_, f32>::try_ones(s, &dev()).is_err());
    assert!(Tensor::<_, f32>::try_full(s, 1.0, &dev()).is_err());
    // The wrapped count would be 0: an empty Vec must not be accepted.
    let wraps_to_zero = (Dyn(1 << 63), Dyn(2));
    let e = Tensor::<_, f32>::try_from_vec(wraps_to_zero, vec![], &dev()).unwrap_err();
    assert!(
        matches!(e, Error::NumelOverflow { op: "from_vec", .. }),
        "{e}"
    );
    // An empty shape with huge dims is fine.
    let t = Tensor::<_, f32>::try_zeros((Dyn(0), Dyn(BIG), Dyn(BIG)), &dev()).unwrap();
    assert_eq!(t.numel(), 0);
}

#[test]
#[should_panic(expected = "full: the element count of shape")]
fn zeros_panics_naming_the_dims() {
    let _ = Tensor::<_, f32>::zeros((Dyn(BIG), Dyn(BIG)), &dev());
}

#[test]
fn reshape_to_a_count_that_wraps_is_an_error() {
    // (2^63 + 3) * 2 wraps around to 6 in 64-bit arithmetic.
    let x: Tensor<(Dyn,), f32> = Tensor::ones((Dyn(6),), &dev());
    let e = x.try_reshape_to((Dyn((1 << 63) + 3), Dyn(2))).unwrap_err();
    assert!(
        matches!(
            e,
            Error::NumelOverflow {
                op: "reshape_to",
                ..
            }
        ),
        "{e}"
    );
    let x: Tensor<(Dyn,), f32> = Tensor::ones((Dyn(6),), &dev());
    assert_eq!(
        x.try_reshape_to((Dyn(3), Dyn(2))).unwrap().dims().to_vec(),
        vec![3, 2]
    );
}

#[test]
#[should_panic(
    expected = "flatten_from: the element count of shape [0, 1099511627776, 1099511627776] overflows usize"
)]
fn flatten_of_an_empty_tensor_with_huge_dims_panics() {
    let x: Tensor<(Dyn, Dyn, Dyn), f32> = Tensor::zeros((Dyn(0), Dyn(BIG), Dyn(BIG)), &dev());
    let _ = x.flatten();
}

#[test]
fn broadcast_to_a_huge_shape_is_an_error() {
    let x: Tensor<(Dyn,), f32> = Tensor::ones((Dyn(1),), &dev());
    let e = x.try_broadcast_to((Dyn(BIG), Dyn(BIG))).unwrap_err();
    assert!(
        matches!(
            e,
            Error::NumelOverflow {
                op: "broadcast_to",
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn matmul_rows_of_an_empty_batch_are_checked() {
    // (2^40, 2^40, 0) · (0, 3): no element, but 2^80 rows.
    let a: Tensor<(Dyn, Dyn, Dyn), f32> = Tensor::zeros((Dyn(BIG), Dyn(BIG), Dyn(0)), &dev());
    let b: Tensor<(Dyn, Dyn), f32> = Tensor::zeros((Dyn(0), Dyn(3)), &dev());
    let e = a.try_matmul(b).unwrap_err();
    assert!(
        matches!(e, Error::NumelOverflow { op: "matmul", .. }),
        "{e}"
    );
    // The same through a Linear map.
    let x: Tensor<(Dyn, Dyn, Dyn), f32> = Tensor::zeros((Dyn(BIG), Dyn(BIG), Dyn(0)), &dev());
    let w: Tensor<(Dyn, Dyn), f32> = Tensor::zeros((Dyn(3), Dyn(0)), &dev());
    let e = x.try_linear(&w, None).unwrap_err();
    assert!(
        matches!(e, Error::NumelOverflow { op: "linear", .. }),
        "{e}"
    );
}

#[test]
fn concat_of_huge_axes_is_an_error() {
    let a: Tensor<(Dyn, Dyn), f32> = Tensor::zeros((Dyn(0), Dyn(usize::MAX)), &dev());
    let b: Tensor<(Dyn, Dyn), f32> = Tensor::zeros((Dyn(0), Dyn(1)), &dev());
    let e = a.try_concat::<1>(b).unwrap_err();
    assert!(
        matches!(e, Error::NumelOverflow { op: "concat", .. }),
        "{e}"
    );
}

#[test]
fn conv_output_size_is_checked() {
    assert_eq!(conv_out_size(28, 5, 1, 0, 1), Some(24));
    assert_eq!(conv_out_size(usize::MAX, 3, 1, 1, 1), None);
    assert_eq!(conv_out_size(10, 0, 1, 0, 1), None);
    assert_eq!(conv_out_size(10, 3, 1, 0, usize::MAX), None);
}
