//! Perplexity of a language model from its mean cross-entropy.

use crate::dtype::Dtype;

/// `exp(mean_cross_entropy)`: the perplexity of a model whose mean
/// cross-entropy (in nats, as [`cross_entropy`](super::cross_entropy)
/// returns it) is given — the number of equally likely choices that would
/// be as uncertain. A uniform guess over `V` tokens has perplexity `V`.
/// For a tracked loss tensor, `loss.exp()` is the same value with a
/// gradient.
///
/// ```
/// use typegrad::prelude::*;
/// use typegrad::loss::{cross_entropy, perplexity};
/// let dev = Cpu::default();
/// let logits: Tensor<(Dyn, u!(50)), f64> = Tensor::zeros((Dyn(4), Default::default()), &dev);
/// let t = Tensor::<(Dyn,), usize>::from_vec((Dyn(4),), vec![1, 7, 3, 49], &dev);
/// let ppl = perplexity(cross_entropy(logits, &t).item());
/// assert!((ppl - 50.0).abs() < 1e-9);
/// ```
pub fn perplexity<E: Dtype>(mean_cross_entropy: E) -> E {
    mean_cross_entropy.exp()
}
