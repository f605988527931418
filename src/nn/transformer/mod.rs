//! The transformer's residual blocks (book fig. 5.6), pre-LN: each block
//! normalises its input, applies one sub-layer and adds the input back,
//! `x + F(LN(x))`, so the model dim `Dm` is kept from block to block.
//!
//! - [`FeedForwardBlock`]: `x + W2 act(W1 LN(x))` (an MLP of `Hidden`
//!   units per position);
//! - [`SelfAttentionBlock`]: `x + MHA(LN(x))` (optionally causal);
//! - [`CrossAttentionBlock`]: `x + MHA(LN(x), memory)`, keys and values
//!   from a memory of `Dmem` features (an encoder's output).
//!
//! The blocks take `(..., N, Dm)` inputs (static or [`crate::Dyn`] leading
//! dims); a static last dim other than `Dm` is a compile error at
//! `forward` (`dimension mismatch: got N<…>, expected N<…>`), and so is a
//! memory whose model dim is not `Dmem`. A residual connection around a
//! path that changes the model dim is [`crate::nn::Residual`]'s error
//! (`residual path changes the shape`); these blocks cannot change it by
//! construction (the last layer of each path maps back to `Dm`).
//!
//! Residual dropout (`dropout`, a field of each block, rate 0 by default)
//! drops the sub-layer's output before the sum in training modes.

mod cross_attention;
mod feed_forward;
mod self_attention;

pub use cross_attention::CrossAttentionBlock;
pub use feed_forward::FeedForwardBlock;
pub use self_attention::SelfAttentionBlock;

use crate::autograd::Tracking;
use crate::backend::Device;
use crate::dtype::Dtype;
use crate::shape::{Dyn, Error, Shape};
use crate::tensor::Tensor;

/// `x` as rows `(n, features)` with runtime dims, and the features.
pub(crate) fn rows<S: Shape, E: Dtype, D: Device<E>, T: Tracking<E, D>>(
    x: Tensor<S, E, D, T>,
) -> Result<Tensor<(Dyn, Dyn), E, D, T>, Error> {
    let dims = x.dims();
    let f = *dims
        .last()
        .ok_or(Error::Invalid("transformer block: input of rank 0"))?;
    let n = dims.try_numel_of("transformer block", 0..dims.len() - 1)?;
    x.try_reshape_to((Dyn(n), Dyn(f)))
}
