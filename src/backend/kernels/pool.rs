//! The pooling kernel trait ([`PoolKernel`]) and its descriptor
//! ([`PoolParams`]). The typed methods are in `ops/pool/`.

use crate::backend::Backend;
use crate::dtype::Dtype;
use crate::shape::conv_out_size;

/// Runtime sizes of a pooling window over `planes` independent row-major
/// `(h, w)` planes (every batch and channel index is a plane). Index 0 of
/// each pair is the height, 1 the width; a 1-D pool has height 1 and a
/// window of height 1.
///
/// ```
/// use typegrad::backend::kernels::pool::PoolParams;
/// let p = PoolParams::new(6, [1, 10], [1, 3], [1, 2], [0, 1], [1, 1]).unwrap();
/// assert_eq!(p.output, [1, 5]); // (10 + 2 - 3) / 2 + 1
/// assert!(PoolParams::new(1, [1, 2], [1, 5], [1, 1], [0, 1], [1, 1]).is_none());
/// ```
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct PoolParams {
    /// Number of planes (batch × channels).
    pub planes: usize,
    /// Input plane size `(h, w)`.
    pub input: [usize; 2],
    /// Output plane size.
    pub output: [usize; 2],
    /// Window size.
    pub kernel: [usize; 2],
    /// Step between windows.
    pub stride: [usize; 2],
    /// Implicit padding on each side (never read: `-inf` for max, zero for
    /// average).
    pub padding: [usize; 2],
    /// Spacing of the window's elements.
    pub dilation: [usize; 2],
}

impl PoolParams {
    /// The parameters with the output size computed, or `None` if the
    /// window (with its dilation) does not fit in the padded input along an
    /// axis, or a size is zero where it must not be.
    pub fn new(
        planes: usize,
        input: [usize; 2],
        kernel: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
        dilation: [usize; 2],
    ) -> Option<Self> {
        let out = |a: usize| conv_out_size(input[a], kernel[a], stride[a], padding[a], dilation[a]);
        if dilation.contains(&0) {
            return None;
        }
        Some(PoolParams {
            planes,
            input,
            output: [out(0)?, out(1)?],
            kernel,
            stride,
            padding,
            dilation,
        })
    }

    /// Elements of the input (`planes · h · w`).
    pub fn input_len(&self) -> usize {
        self.planes * self.input[0] * self.input[1]
    }

    /// Elements of the output.
    pub fn output_len(&self) -> usize {
        self.planes * self.output[0] * self.output[1]
    }
}

/// Kernels for window pooling ([`PoolParams`] sizes, planes contiguous).
///
/// Max-pool indices are positions inside the plane (`h · w_in + w`), as
/// PyTorch's `return_indices`; `usize::MAX` marks a window without any
/// input element (impossible when `2 · padding <= kernel`).
pub trait PoolKernel<E: Dtype>: Backend {
    /// Max pooling; the argmax indices too when `indices` is true.
    #[allow(clippy::type_complexity)]
    fn max_pool(
        &self,
        p: &PoolParams,
        x: &Self::Storage<E>,
        indices: bool,
    ) -> (Self::Storage<E>, Option<Self::Storage<usize>>);
    /// Gradient of the input of [`PoolKernel::max_pool`]: each `gy` goes to
    /// its window's argmax (summed where windows share one).
    fn max_pool_backward(
        &self,
        p: &PoolParams,
        indices: &Self::Storage<usize>,
        gy: &Self::Storage<E>,
    ) -> Self::Storage<E>;
    /// Average pooling, dividing by the whole window (`count_include_pad`)
    /// or by the number of input elements in it.
    fn avg_pool(
        &self,
        p: &PoolParams,
        x: &Self::Storage<E>,
        count_include_pad: bool,
    ) -> Self::Storage<E>;
    /// Gradient of the input of [`PoolKernel::avg_pool`].
    fn avg_pool_backward(
        &self,
        p: &PoolParams,
        gy: &Self::Storage<E>,
        count_include_pad: bool,
    ) -> Self::Storage<E>;
}
