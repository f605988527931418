//! proptest strategies for shapes and tensors of a typed shape.

use crate::backend::{Backend, Cpu};
use crate::dtype::Dtype;
use crate::shape::{Error, Shape};
use crate::tensor::Tensor;
use alloc::vec::Vec;
use proptest::collection::SizeRange;
use proptest::prelude::*;

/// The size of each axis of `S` fixed by its type (`None` for `Dyn`),
/// found through `Shape::try_from_dims`, which names the static axis a
/// size does not fit.
fn static_sizes<S: Shape>() -> Vec<Option<usize>> {
    let mut probe = alloc::vec![0usize; S::RANK];
    let mut fixed = alloc::vec![None; S::RANK];
    // Each round fixes one more static axis; a `Dyn` axis accepts any size.
    for _ in 0..=S::RANK {
        match S::try_from_dims(&probe) {
            Ok(_) => break,
            Err(Error::StaticDim { axis, expected, .. }) if fixed[axis].is_none() => {
                probe[axis] = expected;
                fixed[axis] = Some(expected);
            }
            Err(e) => panic!(
                "typegrad::testing: cannot build shape {}: {e}",
                core::any::type_name::<S>()
            ),
        }
    }
    fixed
}

/// Shapes of type `S`: static dims as the type says, each `Dyn` dim drawn
/// from `dyn_sizes` (e.g. `1..5`, `1..=4`, or `3` for exactly 3). Shrinks
/// towards the smallest sizes.
///
/// ```
/// use proptest::prelude::*;
/// use typegrad::prelude::*;
/// use typegrad::testing::{shapes, tensor_with_shape};
///
/// // Two tensors sharing one random batch size.
/// let pair = shapes::<(Dyn, u!(3))>(1..4).prop_flat_map(|s| {
///     (tensor_with_shape::<_, f32, _>(s, -1.0..1.0), tensor_with_shape::<_, f32, _>(s, 0.0..1.0))
/// });
/// proptest!(|((a, b) in pair)| {
///     prop_assert_eq!(a.dims(), b.dims());
///     prop_assert!((1..4).contains(&a.dims()[0]));
/// });
/// ```
pub fn shapes<S: Shape>(dyn_sizes: impl Into<SizeRange>) -> impl Strategy<Value = S> + Clone {
    let fixed = static_sizes::<S>();
    let n_dyn = fixed.iter().filter(|f| f.is_none()).count();
    let (lo, hi) = dyn_sizes.into().start_end_incl();
    proptest::collection::vec(lo..=hi, n_dyn).prop_map(move |drawn| {
        let mut drawn = drawn.into_iter();
        let d: Vec<usize> = fixed
            .iter()
            .map(|f| f.unwrap_or_else(|| drawn.next().unwrap_or(lo)))
            .collect();
        S::try_from_dims(&d).expect("static dims fixed by their type")
    })
}

/// Tensors of shape `s` on the CPU, each value drawn from `values` (any
/// `f64` strategy: `-2.0..2.0`, `0.0..=1.0`, `Just(0.5)`, ...) and converted
/// to `E`.
///
/// ```
/// use proptest::prelude::*;
/// use typegrad::prelude::*;
/// use typegrad::testing::tensor_with_shape;
///
/// proptest!(|(x in tensor_with_shape::<_, f64, _>((Dyn(2), Dyn(3)), 0.0..1.0))| {
///     prop_assert_eq!(x.to_vec().len(), 6);
///     prop_assert!(x.to_vec().iter().all(|v| (0.0..1.0).contains(v)));
/// });
/// ```
pub fn tensor_with_shape<S: Shape, E: Dtype, V>(
    s: S,
    values: V,
) -> impl Strategy<Value = Tensor<S, E, Cpu>> + Clone
where
    V: Strategy<Value = f64> + Clone,
{
    proptest::collection::vec(values, s.numel()).prop_map(move |v| {
        let v: Vec<E> = v.into_iter().map(E::from_f64).collect();
        Tensor::from_vec(s, v, &Cpu::default())
    })
}

/// Tensors of the typed shape `S` on the CPU: static dims fixed by the
/// type, each `Dyn` dim drawn from `dyn_sizes`, each value from `values`
/// (any `f64` strategy, converted to `E`). Shrinks towards small sizes and
/// simple values.
///
/// ```
/// use proptest::prelude::*;
/// use typegrad::prelude::*;
/// use typegrad::testing::tensor;
///
/// proptest!(|(x in tensor::<(Dyn, u!(3)), f64>(1..5, -2.0..2.0))| {
///     let d = x.dims();
///     prop_assert!((1..5).contains(&d[0]) && d[1] == 3);
///     prop_assert!(x.to_vec().iter().all(|v| v.abs() <= 2.0));
/// });
/// ```
pub fn tensor<S: Shape, E: Dtype>(
    dyn_sizes: impl Into<SizeRange>,
    values: impl Strategy<Value = f64> + Clone,
) -> impl Strategy<Value = Tensor<S, E, Cpu>> {
    shapes::<S>(dyn_sizes).prop_flat_map(move |s| tensor_with_shape::<S, E, _>(s, values.clone()))
}

/// Runtime dims for code whose rank is a runtime value: `rank` sizes, each
/// drawn from `each` (e.g. `1..=4`).
///
/// ```
/// use proptest::prelude::*;
/// use typegrad::testing::sizes;
/// proptest!(|(d in sizes(3, 1..=4))| {
///     prop_assert_eq!(d.len(), 3);
///     prop_assert!(d.iter().all(|&n| (1..=4).contains(&n)));
/// });
/// ```
pub fn sizes(rank: usize, each: impl Into<SizeRange>) -> impl Strategy<Value = Vec<usize>> + Clone {
    let (lo, hi) = each.into().start_end_incl();
    proptest::collection::vec(lo..=hi, rank)
}

/// `n` values, each drawn from `range` (e.g. `-2.0..2.0`).
///
/// ```
/// use proptest::prelude::*;
/// use typegrad::testing::values;
/// proptest!(|(v in values(5, -1.0..1.0))| {
///     prop_assert_eq!(v.len(), 5);
///     prop_assert!(v.iter().all(|x| x.abs() <= 1.0));
/// });
/// ```
pub fn values(
    n: usize,
    range: impl Strategy<Value = f64> + Clone,
) -> impl Strategy<Value = Vec<f64>> + Clone {
    proptest::collection::vec(range, n)
}

/// [`tensor_with_shape`] on the device `dev` (any backend): the values are
/// drawn on the host and uploaded, so a test written once against a
/// device type draws the same tensors on every device.
///
/// ```
/// use proptest::prelude::*;
/// use typegrad::prelude::*;
/// use typegrad::testing::tensor_with_shape_on;
///
/// proptest!(|(x in tensor_with_shape_on::<_, f64, _, _>(Cpu::default(), (Dyn(2),), 0.0..1.0))| {
///     prop_assert_eq!(x.to_vec().len(), 2);
/// });
/// ```
pub fn tensor_with_shape_on<S: Shape, E: Dtype, D: Backend, V>(
    dev: D,
    s: S,
    values: V,
) -> impl Strategy<Value = Tensor<S, E, D>> + Clone
where
    V: Strategy<Value = f64> + Clone,
{
    proptest::collection::vec(values, s.numel()).prop_map(move |v| {
        let v: Vec<E> = v.into_iter().map(E::from_f64).collect();
        Tensor::from_vec(s, v, &dev)
    })
}

/// [`tensor`] on the device `dev` (any backend).
///
/// ```
/// use proptest::prelude::*;
/// use typegrad::prelude::*;
/// use typegrad::testing::tensor_on;
///
/// proptest!(|(x in tensor_on::<(Dyn, u!(3)), f64, _>(Cpu::default(), 1..5, -2.0..2.0))| {
///     prop_assert_eq!(x.dims()[1], 3);
/// });
/// ```
pub fn tensor_on<S: Shape, E: Dtype, D: Backend>(
    dev: D,
    dyn_sizes: impl Into<SizeRange>,
    values: impl Strategy<Value = f64> + Clone,
) -> impl Strategy<Value = Tensor<S, E, D>> {
    shapes::<S>(dyn_sizes)
        .prop_flat_map(move |s| tensor_with_shape_on::<S, E, D, _>(dev.clone(), s, values.clone()))
}
