//! Pooling: max and average over sliding windows, 1-D and 2-D, and global
//! average/max pooling over all spatial positions.
//!
//! | op | input | output |
//! |---|---|---|
//! | [`max_pool1d::<K, S, P, L>`](crate::tensor::Tensor::max_pool1d) | `(B, C, L)` or `(C, L)` | `(B, C, L')` |
//! | [`max_pool2d::<K, S, P, L>`](crate::tensor::Tensor::max_pool2d) | `(B, C, H, W)` or `(C, H, W)` | `(B, C, H', W')` |
//! | [`avg_pool1d::<K, S, P>`](crate::tensor::Tensor::avg_pool1d) | `(B, C, L)` or `(C, L)` | `(B, C, L')` |
//! | [`avg_pool2d::<K, S, P>`](crate::tensor::Tensor::avg_pool2d) | `(B, C, H, W)` or `(C, H, W)` | `(B, C, H', W')` |
//! | [`global_avg_pool1d`](crate::tensor::Tensor::global_avg_pool1d) / [`global_max_pool1d`](crate::tensor::Tensor::global_max_pool1d) | `(B, C, L)` or `(C, L)` | `(B, C)` or `(C,)` |
//! | [`global_avg_pool2d`](crate::tensor::Tensor::global_avg_pool2d) / [`global_max_pool2d`](crate::tensor::Tensor::global_max_pool2d) | `(B, C, H, W)` or `(C, H, W)` | `(B, C)` or `(C,)` |
//!
//! `K` is the (square) window, `S` the stride, `P` the zero padding on each
//! side and `L` the dilation (max pooling only, as PyTorch), all static
//! (`u!(2)`). Each output size is `(H + 2P - L(K-1) - 1) / S + 1`
//! ([`ConvOutDim`](crate::shape::ConvOutDim), PyTorch's `ceil_mode=False`):
//! static input sizes give static output sizes, and a window larger than
//! the padded static input does not compile; `Dyn` sizes are computed and
//! checked at run time ([`Error::KernelTooLarge`]). As in PyTorch, the
//! padding may be at most half the window (`2P <= K`,
//! [`Error::Invalid`] otherwise) and spatial dims may not be empty
//! ([`Error::TooFewElements`]), so every undilated window holds an input
//! element.
//!
//! Max pooling passes the gradient to the first maximum of each window (in
//! window order, as PyTorch; NaN propagates); the forward keeps the argmax
//! indices only when the input is tracked. Average pooling divides by the
//! whole window (`count_include_pad = true`, PyTorch's default) or by the
//! number of input elements in it (`false`). Every configuration has a
//! backward, overlapping windows included.
//!
//! The kernels ([`PoolKernel`]) take runtime sizes ([`PoolParams`]); a 1-D
//! pool is a 2-D one of height 1.
//!
//! [`Error::KernelTooLarge`]: crate::shape::Error::KernelTooLarge
//! [`Error::Invalid`]: crate::shape::Error::Invalid
//! [`Error::TooFewElements`]: crate::shape::Error::TooFewElements

mod avg;
mod global;
mod max;
mod shape;

pub use global::GlobalPoolShape;
pub use shape::{Pool1dShape, Pool2dShape};

use crate::shape::{conv_out_size, Dims, Error, Shape};

pub use crate::backend::kernels::pool::{PoolKernel, PoolParams};

/// The window of a typed pooling call: sizes per spatial axis (`N` = 1 or
/// 2), the same on every axis.
#[derive(Copy, Clone, Debug)]
pub(crate) struct Window {
    pub(crate) kernel: usize,
    pub(crate) stride: usize,
    pub(crate) padding: usize,
    pub(crate) dilation: usize,
}

/// The kernel parameters and output dims of pooling `dims` (the last
/// `spatial` axes pooled, the others folded into planes), or the error
/// naming what does not fit.
pub(crate) fn geometry(
    op: &'static str,
    dims: &Dims,
    spatial: usize,
    w: Window,
) -> Result<(PoolParams, Dims), Error> {
    if w.kernel == 0 || w.stride == 0 || w.dilation == 0 {
        return Err(Error::Invalid(
            "pooling: kernel, stride and dilation must be at least 1",
        ));
    }
    if 2 * w.padding > w.kernel {
        return Err(Error::Invalid(
            "pooling: the padding must be at most half the kernel size (2 * padding <= kernel, as PyTorch)",
        ));
    }
    let rank = dims.len();
    let first = rank - spatial;
    if let Some(a) = (first..rank).find(|&a| dims[a] == 0) {
        // PyTorch refuses empty spatial dims too; a padded window over
        // nothing would average 0 / 0.
        return Err(Error::TooFewElements {
            op,
            axis: Some(a),
            got: 0,
            min: 1,
        });
    }
    let planes = dims.try_numel_of(op, 0..first)?;
    let mut input = [1usize; 2];
    input[2 - spatial..].copy_from_slice(&dims[first..]);
    let one = |v: usize| {
        let mut a = [1usize; 2];
        a[2 - spatial..].fill(v);
        a
    };
    let (kernel, stride, dilation) = (one(w.kernel), one(w.stride), one(w.dilation));
    let mut padding = [0usize; 2];
    padding[2 - spatial..].fill(w.padding);
    let p = PoolParams::new(planes, input, kernel, stride, padding, dilation).ok_or_else(|| {
        // The first spatial axis whose window does not fit.
        let a = (2 - spatial..2)
            .find(|&a| {
                conv_out_size(input[a], kernel[a], stride[a], padding[a], dilation[a]).is_none()
            })
            .unwrap_or(2 - spatial);
        Error::KernelTooLarge {
            op,
            axis: first + a - (2 - spatial),
            input: input[a],
            padding: padding[a],
            kernel: dilation[a] * (kernel[a] - 1) + 1,
        }
    })?;
    let mut out = [0usize; crate::shape::MAX_RANK];
    out[..rank].copy_from_slice(dims);
    out[first..rank].copy_from_slice(&p.output[2 - spatial..]);
    // The output has no more elements than the input plus padding: no overflow.
    Ok((p, Dims::new(&out[..rank])))
}

/// The typed output shape for the computed dims (static dims agree by
/// construction: both sides use the same formula).
pub(crate) fn out_shape<S2: Shape>(dims: &Dims) -> Result<S2, Error> {
    S2::try_from_dims(dims)
}
