//! Loss functions: every one returns a scalar `Tensor<(), ..>` (the mean
//! over the batch) with the tape of its inputs, ready for `backward()`.
//!
//! | loss | inputs | how |
//! |---|---|---|
//! | [`mse_loss`] | prediction and `&target` of one shape | composed: `mean((p - t)²)` |
//! | [`cross_entropy`] / [`CrossEntropy`] | logits `(.., C)`, `&` class indices `(..)` | one fused kernel each way |
//! | [`binary_cross_entropy_with_logits`] | logits and `&` 0..1 targets of one shape | one fused kernel each way |
//! | [`triplet_margin_loss`] | anchor, positive, negative embeddings `(.., F)` | composed |
//! | [`perplexity`] | a mean cross-entropy value | `exp` |
//!
//! The two cross-entropies are fused kernels ([`ReduceKernel::cross_entropy`],
//! [`ReduceKernel::bce_with_logits`]): they run every training step, the
//! fused forward never materialises the log-probabilities, and the
//! backward is one pass (`softmax - target`, `σ(x) - y`). It also gets the
//! gradient right at the kinks a composition of `relu`/`abs` would break
//! (at `x = 0` the BCE gradient is `½ - y`). The others are compositions
//! of differentiable tensor ops, exact and cheap next to the model.
//!
//! Every loss has a `try_` form returning [`Error`] (a runtime size
//! mismatch, an empty batch, a class index out of range); the plain form
//! panics with the same message.
//!
//! # One calling convention
//!
//! **The prediction is taken by value, the target by reference**, in every
//! loss: `mse_loss(pred, &target)`, `cross_entropy(logits, &targets)`,
//! `binary_cross_entropy_with_logits(logits, &targets)`,
//! `CrossEntropy::loss(&self, logits, &targets)`. The prediction carries the
//! tape of the step (and is consumed by it, like every op); the target is
//! data, usually kept and reused (a batch's labels, a fixed regression
//! target), so borrowing it saves a `.clone()` at every call. A tracked
//! target still works (MSE and BCE then also give the target's gradient):
//! the loss clones the handle, which shares its storage. Losses without a
//! target (`triplet_margin_loss`: anchor, positive and negative are all
//! model outputs) take every input by value; [`perplexity`] takes a number.
//!
//! A target whose static shape differs from the prediction's does not
//! compile: `dimension mismatch: got N<_1, _2>, expected N<_1, _0>`, at the
//! call (the target's dim is "got", the prediction's "expected").
//!
//! ```
//! use typegrad::prelude::*;
//! use typegrad::loss::cross_entropy;
//! let dev = Cpu::default();
//! let w: Tensor<(u!(4), u!(3)), f64> = Tensor::randn(Default::default(), 0.0, 1.0, &dev);
//! let x: Tensor<(Dyn, u!(4)), f64> = Tensor::randn((Dyn(5), Default::default()), 0.0, 1.0, &dev);
//! let y = Tensor::<(Dyn,), usize>::from_vec((Dyn(5),), vec![0, 2, 1, 1, 0], &dev);
//! let loss = cross_entropy(x.matmul(w.clone().trace()), &y);
//! assert!(loss.item() > 0.0);
//! let g: Tensor<(u!(4), u!(3)), f64> = loss.backward().get(&w).unwrap();
//! assert_eq!(g.dims().to_vec(), vec![4, 3]);
//! ```
//!
//! [`ReduceKernel::cross_entropy`]: crate::ops::reduce::ReduceKernel::cross_entropy
//! [`ReduceKernel::bce_with_logits`]: crate::ops::reduce::ReduceKernel::bce_with_logits

mod bce;
mod cross_entropy;
mod mse;
mod perplexity;
mod triplet;

pub use bce::{binary_cross_entropy_with_logits, try_binary_cross_entropy_with_logits};
pub use cross_entropy::{cross_entropy, try_cross_entropy, CrossEntropy};
pub use mse::{mse_loss, try_mse_loss};
pub use perplexity::perplexity;
pub use triplet::{triplet_margin_loss, try_triplet_margin_loss};

use crate::shape::{Dim, Error, Shape};

/// A shape whose last axis is the class (or feature) axis: `(C,)`,
/// `(B, C)`, `(B, T, C)`, ... up to rank 6. [`LastAxis::Rest`] is the shape
/// without it: the shape of the targets of [`cross_entropy`] and of the
/// per-triple distances of [`triplet_margin_loss`].
///
/// ```
/// use typegrad::prelude::*;
/// use typegrad::loss::LastAxis;
/// let s = (Dyn(4), Dyn(7), <u!(10)>::default());
/// let (rest, classes): ((Dyn, Dyn), usize) = s.split_last();
/// assert_eq!((rest.dims().to_vec(), classes), (vec![4, 7], 10));
/// ```
#[diagnostic::on_unimplemented(
    message = "the shape {Self} has no last (class or feature) axis",
    label = "a loss over the last axis needs a shape like (C,), (B, C) or (B, T, C)"
)]
pub trait LastAxis: Shape {
    /// The shape with the last axis removed.
    type Rest: Shape;
    /// The shape without the last axis, and the last axis's size.
    fn split_last(&self) -> (Self::Rest, usize);
}

macro_rules! last_axis {
    ($($D:ident $i:tt),* ; $L:ident $l:tt) => {
        impl<$($D: Dim,)* $L: Dim> LastAxis for ($($D,)* $L,) {
            type Rest = ($($D,)*);
            #[inline]
            fn split_last(&self) -> (Self::Rest, usize) {
                (($(self.$i,)*), self.$l.size())
            }
        }
    };
}
last_axis!(; D0 0);
last_axis!(D0 0; D1 1);
last_axis!(D0 0, D1 1; D2 2);
last_axis!(D0 0, D1 1, D2 2; D3 3);
last_axis!(D0 0, D1 1, D2 2, D3 3; D4 4);
last_axis!(D0 0, D1 1, D2 2, D3 3, D4 4; D5 5);

/// `Ok` if the runtime dims of two tensors agree (both shape types may mix
/// static and `Dyn` dims), else [`Error::DimMismatch`] on the first axis
/// that differs.
pub(crate) fn check_same_dims(
    op: &'static str,
    what: &'static str,
    got: &[usize],
    expected: &[usize],
) -> Result<(), Error> {
    for (axis, (&g, &e)) in got.iter().zip(expected).enumerate() {
        crate::shape::check_dim(op, axis, what, g, e)?;
    }
    Ok(())
}
