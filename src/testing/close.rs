//! Closeness assertions with readable messages.

// The error is a test-failure report, built once on the failing path.
#![allow(clippy::result_large_err)]

use super::gradcheck::position;
use crate::backend::Backend;
use crate::dtype::Dtype;
use crate::shape::Shape;
use crate::tensor::Tensor;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// Something whose values can be compared elementwise: tensors (any shape,
/// device or tape), slices, arrays, `Vec`s and CPU buffers of `f32`/`f64`, and
/// references, `Box`es, `Rc`s and `Arc`s of them.
///
/// ```
/// use typegrad::testing::Approx;
/// assert_eq!([1.0f32, 2.0].approx_values(), vec![1.0, 2.0]);
/// assert_eq!([1.0f32, 2.0].approx_dims(), None);
/// ```
pub trait Approx {
    /// The values as `f64`, in row-major order.
    fn approx_values(&self) -> Vec<f64>;
    /// The dims, if the value has a shape (tensors do, slices do not).
    fn approx_dims(&self) -> Option<Vec<usize>>;
}

impl<S: Shape, E: Dtype, D: Backend, T> Approx for Tensor<S, E, D, T> {
    fn approx_values(&self) -> Vec<f64> {
        self.to_vec().into_iter().map(Dtype::to_f64).collect()
    }
    fn approx_dims(&self) -> Option<Vec<usize>> {
        Some(self.dims().to_vec())
    }
}

impl<E: Dtype> Approx for [E] {
    fn approx_values(&self) -> Vec<f64> {
        self.iter().map(|&v| Dtype::to_f64(v)).collect()
    }
    fn approx_dims(&self) -> Option<Vec<usize>> {
        None
    }
}

impl<E: Dtype, const N: usize> Approx for [E; N] {
    fn approx_values(&self) -> Vec<f64> {
        self[..].approx_values()
    }
    fn approx_dims(&self) -> Option<Vec<usize>> {
        None
    }
}

impl<E: Dtype> Approx for Vec<E> {
    fn approx_values(&self) -> Vec<f64> {
        self[..].approx_values()
    }
    fn approx_dims(&self) -> Option<Vec<usize>> {
        None
    }
}

impl<E: Dtype> Approx for crate::backend::cpu::CpuStorage<E> {
    fn approx_values(&self) -> Vec<f64> {
        self[..].approx_values()
    }
    fn approx_dims(&self) -> Option<Vec<usize>> {
        None
    }
}

/// References and smart pointers compare as what they point to.
macro_rules! approx_deref {
    ($($t:ty),*) => {$(
        impl<A: Approx + ?Sized> Approx for $t {
            fn approx_values(&self) -> Vec<f64> {
                (**self).approx_values()
            }
            fn approx_dims(&self) -> Option<Vec<usize>> {
                (**self).approx_dims()
            }
        }
    )*};
}
approx_deref!(
    &A,
    alloc::boxed::Box<A>,
    alloc::rc::Rc<A>,
    alloc::sync::Arc<A>
);

/// Why two values are not close: a shape or length difference, or the
/// elements that differ (the first one, how many, the largest difference).
/// `Display` is the message [`assert_close!`](crate::assert_close) panics
/// with.
///
/// ```
/// use typegrad::testing::check_close;
/// let e = check_close(&[1.0, 2.0, 3.0], &[1.0, 2.5, 3.0], 1e-6, 1e-6).unwrap_err();
/// assert_eq!((e.first, e.count), (Some(1), 1));
/// assert_eq!(e.max_abs_diff, 0.5);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct CloseError {
    /// Left and right dims (or lengths) when they differ.
    pub shape_mismatch: Option<(Vec<usize>, Vec<usize>)>,
    /// Dims used to print positions (the left value's, if it has a shape).
    pub dims: Option<Vec<usize>>,
    /// Row-major index of the first element out of tolerance.
    pub first: Option<usize>,
    /// Left and right values there.
    pub first_values: (f64, f64),
    /// How many elements are out of tolerance, and of how many.
    pub count: usize,
    /// Number of elements compared.
    pub total: usize,
    /// The largest `|left - right|` (NaN if any side is NaN) and where.
    pub max_abs_diff: f64,
    /// Row-major index of the largest difference.
    pub max_at: usize,
    /// Tolerances used.
    pub atol: f64,
    /// Relative tolerance used (relative to the right value).
    pub rtol: f64,
}

impl CloseError {
    fn at(&self, i: usize) -> String {
        match &self.dims {
            Some(d) if d.len() > 1 => format!("{i} {:?}", position(i, d)),
            _ => format!("{i}"),
        }
    }
}

impl fmt::Display for CloseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some((a, b)) = &self.shape_mismatch {
            return write!(f, "shapes differ: left {a:?}, right {b:?}");
        }
        let i = self.first.unwrap_or(0);
        let (a, b) = self.first_values;
        write!(
            f,
            "values not close (atol {:e}, rtol {:e}): {} of {} elements differ; first at index {}: left {a}, right {b} (|diff| {:.3e}, allowed {:.3e}); max |diff| {:.3e} at index {}",
            self.atol,
            self.rtol,
            self.count,
            self.total,
            self.at(i),
            (a - b).abs(),
            self.atol + self.rtol * b.abs(),
            self.max_abs_diff,
            self.at(self.max_at),
        )
    }
}

impl core::error::Error for CloseError {}

/// Compare `left` with `right` elementwise: each pair must satisfy
/// `|left - right| <= atol + rtol * |right|` (as `torch.allclose`; equal
/// infinities pass, NaN never does). Values with a shape (tensors) must have
/// the same dims; otherwise the lengths must match.
///
/// ```
/// use typegrad::testing::check_close;
/// assert!(check_close(&[1.0, 2.0], &vec![1.0, 2.0 + 1e-9], 1e-8, 0.0).is_ok());
/// assert!(check_close(&[f64::NAN], &[f64::NAN], 1.0, 1.0).is_err());
/// ```
pub fn check_close<A: Approx + ?Sized, B: Approx + ?Sized>(
    left: &A,
    right: &B,
    atol: f64,
    rtol: f64,
) -> Result<(), CloseError> {
    let (a, b) = (left.approx_values(), right.approx_values());
    let (da, db) = (left.approx_dims(), right.approx_dims());
    let mut err = CloseError {
        shape_mismatch: None,
        dims: da.clone().or_else(|| db.clone()),
        first: None,
        first_values: (0.0, 0.0),
        count: 0,
        total: a.len(),
        max_abs_diff: 0.0,
        max_at: 0,
        atol,
        rtol,
    };
    let dims_differ = matches!((&da, &db), (Some(x), Some(y)) if x != y);
    if dims_differ || a.len() != b.len() {
        err.shape_mismatch = Some((
            da.unwrap_or_else(|| alloc::vec![a.len()]),
            db.unwrap_or_else(|| alloc::vec![b.len()]),
        ));
        return Err(err);
    }
    for (i, (&x, &y)) in a.iter().zip(&b).enumerate() {
        let diff = (x - y).abs();
        if diff > err.max_abs_diff || (diff.is_nan() && !err.max_abs_diff.is_nan()) {
            err.max_abs_diff = diff;
            err.max_at = i;
        }
        // Written so that a NaN fails; equal infinities pass.
        let ok = x == y || (diff.is_finite() && diff <= atol + rtol * y.abs());
        if !ok {
            if err.first.is_none() {
                err.first = Some(i);
                err.first_values = (x, y);
            }
            err.count += 1;
        }
    }
    if err.count == 0 {
        Ok(())
    } else {
        Err(err)
    }
}

/// Panic unless `left` and `right` are elementwise close
/// (`|left - right| <= atol + rtol * |right|`, same dims). The message names
/// the first mismatching index (and its position per axis), both values,
/// how many elements differ and the largest difference.
///
/// ```
/// use typegrad::prelude::*;
/// use typegrad::testing::assert_tensor_close;
/// let dev = Cpu::default();
/// let a: Tensor<(u!(2), u!(2)), f64> = Tensor::from_vec(Default::default(), vec![1.0, 2.0, 3.0, 4.0], &dev);
/// let b = a.clone() + 1e-9;
/// assert_tensor_close(&a, &b, 1e-8, 0.0);
/// let r = std::panic::catch_unwind(|| assert_tensor_close(&a, &(a.clone() * 2.0), 1e-8, 0.0));
/// assert!(r.is_err()); // "... 4 of 4 elements differ; first at index 0 [0, 0]: left 1, right 2 ..."
/// ```
#[track_caller]
pub fn assert_tensor_close<S1: Shape, S2: Shape, E: Dtype, D: Backend, T1, T2>(
    left: &Tensor<S1, E, D, T1>,
    right: &Tensor<S2, E, D, T2>,
    atol: f64,
    rtol: f64,
) {
    if let Err(e) = check_close(left, right, atol, rtol) {
        panic!("assert_tensor_close failed: {e}");
    }
}

#[doc(hidden)]
#[track_caller]
pub fn assert_close_impl<A: Approx + ?Sized, B: Approx + ?Sized>(
    left: &A,
    right: &B,
    atol: f64,
    rtol: f64,
    context: Option<fmt::Arguments<'_>>,
) {
    if let Err(e) = check_close(left, right, atol, rtol) {
        match context {
            Some(c) => panic!("assert_close failed: {c}: {e}"),
            None => panic!("assert_close failed: {e}"),
        }
    }
}

/// Assert that two tensors, slices or `Vec`s are elementwise close, with
/// a readable message (first mismatching index and position, both values,
/// number of mismatches, max |diff|). Needs the `testing` feature.
///
/// - `assert_close!(a, b)`: `atol = rtol = 1e-6`;
/// - `assert_close!(a, b, tol)`: `atol = rtol = tol`, i.e.
///   `|a - b| <= tol * (1 + |b|)`;
/// - `assert_close!(a, b, atol = x, rtol = y)`;
///
/// each optionally followed by a format string and arguments for context,
/// as `assert_eq!`.
///
/// ```
/// use typegrad::prelude::*;
/// use typegrad::assert_close;
/// let x: Tensor<(u!(3),), f64> = Tensor::from_vec(Default::default(), vec![0.1, 0.2, 0.3], &Cpu::default());
/// assert_close!(x.clone() * 2.0, vec![0.2, 0.4, 0.6]);
/// assert_close!(x.to_vec(), [0.1, 0.2, 0.3001], 1e-3, "row {}", 0);
/// assert_close!(&x, &x, atol = 0.0, rtol = 0.0);
/// ```
#[macro_export]
macro_rules! assert_close {
    ($left:expr, $right:expr, atol = $atol:expr, rtol = $rtol:expr $(,)?) => {
        $crate::testing::__private::assert_close_impl(&$left, &$right, $atol, $rtol, None)
    };
    ($left:expr, $right:expr, atol = $atol:expr, rtol = $rtol:expr, $($arg:tt)+) => {
        $crate::testing::__private::assert_close_impl(&$left, &$right, $atol, $rtol, Some(format_args!($($arg)+)))
    };
    ($left:expr, $right:expr $(,)?) => {
        $crate::testing::__private::assert_close_impl(&$left, &$right, 1e-6, 1e-6, None)
    };
    ($left:expr, $right:expr, $tol:expr $(,)?) => {{
        let tol: f64 = $tol;
        $crate::testing::__private::assert_close_impl(&$left, &$right, tol, tol, None)
    }};
    ($left:expr, $right:expr, $tol:expr, $($arg:tt)+) => {{
        let tol: f64 = $tol;
        $crate::testing::__private::assert_close_impl(&$left, &$right, tol, tol, Some(format_args!($($arg)+)))
    }};
}
