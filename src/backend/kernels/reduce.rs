//! The reduction kernel trait ([`ReduceKernel`]: reductions, softmax, the
//! fused losses) and its descriptors ([`ReduceOp`], [`CrossEntropySpec`]).
//! The typed methods are in `ops/reduce/` and `loss/`.

use crate::backend::Backend;
use crate::dtype::Dtype;
use crate::shape::Error;

/// Which reduction.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ReduceOp {
    /// Sum.
    Sum,
    /// Arithmetic mean (sum / N).
    Mean,
    /// Maximum (gradient shared equally among ties). NaN propagates.
    Max,
    /// Minimum (gradient shared equally among ties). NaN propagates.
    Min,
    /// Variance: the sum of squared deviations from the mean divided by
    /// `N - correction` (0: population variance, 1: unbiased).
    Var {
        /// Subtracted from the element count in the divisor.
        correction: usize,
    },
    /// `ln Σ exp(x)`, computed as `max + ln Σ exp(x - max)` (stable).
    LogSumExp,
}

/// Kernels for reductions and softmax. `dims` are the input's runtime sizes;
/// `axis: None` reduces everything to one element.
///
/// An axis reduction views the input as `(outer, n, inner)` (the product of
/// the dims before the axis, the axis, the product after it); the output has
/// `outer · inner` elements in row-major order.
pub trait ReduceKernel<E: Dtype>: Backend {
    /// Reduce along `axis` (removing it) or everything.
    fn reduce(
        &self,
        op: ReduceOp,
        x: &Self::Storage<E>,
        dims: &[usize],
        axis: Option<usize>,
    ) -> Self::Storage<E>;
    /// Gradient of the input of [`ReduceKernel::reduce`], given its output `y` and `gy`.
    fn reduce_backward(
        &self,
        op: ReduceOp,
        x: &Self::Storage<E>,
        y: &Self::Storage<E>,
        gy: &Self::Storage<E>,
        dims: &[usize],
        axis: Option<usize>,
    ) -> Self::Storage<E>;
    /// Sum a tensor of `from` dims down to the broadcastable `to` dims
    /// (right-aligned): the backward of broadcasting.
    fn sum_to(&self, x: &Self::Storage<E>, from: &[usize], to: &[usize]) -> Self::Storage<E>;
    /// Softmax (or log-softmax) along `axis`, stable for any magnitude.
    fn softmax(
        &self,
        x: &Self::Storage<E>,
        dims: &[usize],
        axis: usize,
        log: bool,
    ) -> Self::Storage<E>;
    /// Gradient of softmax's input given its output `y` and `gy`.
    fn softmax_backward(
        &self,
        y: &Self::Storage<E>,
        gy: &Self::Storage<E>,
        dims: &[usize],
        axis: usize,
        log: bool,
    ) -> Self::Storage<E>;
    /// Fused, stable cross-entropy of `spec.rows` rows of `spec.classes`
    /// logits against one class index per row (log-softmax and the
    /// negative log-likelihood in one pass; see [`CrossEntropySpec`]).
    /// Returns the mean loss over the rows whose target is not ignored (one
    /// element; 0 when every row is ignored) and two statistics per row
    /// (`2 · rows` elements: the shift `m`, the row maximum, and
    /// `ln Σ exp(x - m)`), which the backward needs: keeping them apart
    /// lets it form `exp((x - m) - ln s)` without rounding `m + ln s` at the
    /// magnitude of the logits. A target `>= classes`
    /// (other than the ignored index) is an [`Error::IndexOutOfRange`].
    #[allow(clippy::type_complexity)]
    fn cross_entropy(
        &self,
        logits: &Self::Storage<E>,
        targets: &Self::Storage<usize>,
        spec: CrossEntropySpec,
    ) -> Result<(Self::Storage<E>, Self::Storage<E>), Error>;
    /// Gradient of the logits of [`ReduceKernel::cross_entropy`]: row `r`
    /// gets `gy / n · (softmax(x_r) - q_r)` (`q_r` the smoothed one-hot
    /// target, `n` the number of rows not ignored); ignored rows get 0.
    fn cross_entropy_backward(
        &self,
        logits: &Self::Storage<E>,
        stats: &Self::Storage<E>,
        targets: &Self::Storage<usize>,
        gy: &Self::Storage<E>,
        spec: CrossEntropySpec,
    ) -> Self::Storage<E>;
    /// Mean binary cross-entropy on logits `x` against targets `y` (same
    /// length, at least one element), in the stable form
    /// `max(x, 0) - x·y + ln(1 + e^{-|x|})`. One element.
    fn bce_with_logits(&self, x: &Self::Storage<E>, y: &Self::Storage<E>) -> Self::Storage<E>;
    /// Gradients of [`ReduceKernel::bce_with_logits`] given the output
    /// gradient `gy` (one element): `gy/N · (σ(x) - y)` for the logits and
    /// `-gy/N · x` for the targets, each computed only if asked for in `want`.
    #[allow(clippy::type_complexity)]
    fn bce_with_logits_backward(
        &self,
        x: &Self::Storage<E>,
        y: &Self::Storage<E>,
        gy: &Self::Storage<E>,
        want: (bool, bool),
    ) -> (Option<Self::Storage<E>>, Option<Self::Storage<E>>);
}

/// Sizes and options of a fused cross-entropy
/// ([`ReduceKernel::cross_entropy`]): the logits are `rows` contiguous rows
/// of `classes` values (the class axis last), the targets `rows` indices.
///
/// Row `r`'s loss is `Σ_c q_c · (lse_r - x_rc)` with the smoothed target
/// `q = (1 - ε)·onehot(t_r) + ε/C`, computed as
/// `ln Σ exp(x - m) - Σ_c q_c (x_c - m)` (`m` the row maximum), so logits of
/// any finite magnitude give a finite loss.
///
/// ```
/// use typegrad::prelude::*;
/// use typegrad::backend::kernels::reduce::{CrossEntropySpec, ReduceKernel};
/// let dev = Cpu::default();
/// let logits = dev.upload(vec![0.0f64, 0.0, 1e4, 0.0]); // two rows, two classes
/// let targets = dev.upload(vec![1usize, 0]);
/// let spec = CrossEntropySpec { rows: 2, classes: 2, label_smoothing: 0.0, ignore_index: None, class_axis: 1 };
/// let (loss, _lse) = dev.cross_entropy(&logits, &targets, spec).unwrap();
/// assert!((loss[0] - core::f64::consts::LN_2 / 2.0).abs() < 1e-12); // (ln 2 + 0) / 2
/// ```
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct CrossEntropySpec {
    /// Number of rows (every dim but the class axis, multiplied).
    pub rows: usize,
    /// Number of classes (the size of the last axis).
    pub classes: usize,
    /// Label smoothing `ε` in `[0, 1]`.
    pub label_smoothing: f64,
    /// Rows whose target equals this index contribute nothing.
    pub ignore_index: Option<usize>,
    /// The class axis's number in the logits (for error messages).
    pub class_axis: usize,
}

/// The passes of [`ReduceKernel::sum_to`], shared by every backend: `x`
/// (`len` elements, dims `from`) is summed down to the broadcastable dims
/// `to` (right-aligned) by summing, in turn, each group of consecutive
/// reduced axes; pass `(outer, n, inner)` sums the middle axis of the
/// previous result seen as `outer × n × inner`. Size-1 axes of `from` are
/// neither kept nor reduced. No passes: `to` has `from`'s elements.
/// Panics if `to` does not broadcast to `from` or `len` does not fit it.
///
/// ```
/// use typegrad::backend::kernels::reduce::sum_to_passes;
/// // A bias gradient: (8, 3, 5) summed to (5,) in one pass.
/// assert_eq!(sum_to_passes(120, &[8, 3, 5], &[5]), vec![(1, 24, 5)]);
/// // (2, 3, 4) to (3, 1): the leading axis, then the trailing one.
/// assert_eq!(sum_to_passes(24, &[2, 3, 4], &[3, 1]), vec![(1, 2, 12), (3, 4, 1)]);
/// ```
pub fn sum_to_passes(
    len: usize,
    from: &[usize],
    to: &[usize],
) -> alloc::vec::Vec<(usize, usize, usize)> {
    let r = from.len();
    assert!(
        to.len() <= r,
        "sum_to: cannot sum {from:?} down to the higher rank {to:?}"
    );
    assert_eq!(
        len,
        from.iter().product::<usize>(),
        "sum_to: buffer of {len} elements for dims {from:?}"
    );
    let mut t = [1usize; crate::shape::MAX_RANK];
    t[r - to.len()..r].copy_from_slice(to);
    // Groups of consecutive axes, each (size, reduced?).
    let mut groups: alloc::vec::Vec<(usize, bool)> = alloc::vec::Vec::with_capacity(r);
    for i in 0..r {
        assert!(
            t[i] == from[i] || t[i] == 1,
            "sum_to: {to:?} does not broadcast to {from:?} (axis {i}: {} vs {})",
            t[i],
            from[i]
        );
        if from[i] == 1 {
            continue;
        }
        let red = t[i] == 1;
        match groups.last_mut() {
            Some((size, kind)) if *kind == red => *size *= from[i],
            _ => groups.push((from[i], red)),
        }
    }
    let mut passes = alloc::vec::Vec::new();
    while let Some(k) = groups.iter().position(|g| g.1) {
        let outer = groups[..k].iter().map(|g| g.0).product();
        let inner = groups[k + 1..].iter().map(|g| g.0).product();
        passes.push((outer, groups[k].0, inner));
        groups.remove(k);
    }
    passes
}
