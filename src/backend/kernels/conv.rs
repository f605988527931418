//! The convolution kernel trait ([`ConvKernel`]) and its descriptors
//! ([`ConvParams`], [`ConvWant`], [`ConvGrads`]). The typed methods
//! (`conv1d`, `conv2d`, their transposes) are in `ops/conv/`.

use crate::backend::Backend;
use crate::dtype::Dtype;

/// Runtime sizes of a (grouped, strided, padded, dilated) 2-D convolution
/// `x: (batch, c_in, H, W)`, `w: (c_out, c_in / groups, KH, KW)` ->
/// `y: (batch, c_out, OH, OW)`, with PyTorch's layouts (row-major,
/// contiguous). A 1-D convolution has `H = KH = 1`, stride, dilation 1 and
/// padding 0 on the first axis.
///
/// Always described in the **convolution's** orientation: a transposed
/// convolution from `(batch, CI, H, W)` to `(batch, CO, OH, OW)` is the
/// input gradient of the convolution with `c_in = CO`, `c_out = CI` and
/// `input = [OH, OW]` (its weight `(CI, CO / groups, KH, KW)` is exactly
/// that convolution's weight). `output_padding` records the transposed
/// convolution's extra output rows and columns: the convolution never
/// reaches them (`output_padding < stride`), so their gradient is 0.
///
/// ```
/// use typegrad::backend::kernels::conv::ConvParams;
/// let p = ConvParams::conv2d(8, 3, 16, 1, [32, 32], [3, 3], [2, 2], [1, 1], [1, 1]);
/// assert_eq!(p.output(), Some([16, 16]));
/// ```
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ConvParams {
    /// Batch size.
    pub batch: usize,
    /// Input channels (of the convolution).
    pub c_in: usize,
    /// Output channels (of the convolution).
    pub c_out: usize,
    /// Groups: `c_in` and `c_out` are multiples of it.
    pub groups: usize,
    /// Spatial size of the convolution's input, `[H, W]`.
    pub input: [usize; 2],
    /// Kernel size `[KH, KW]`.
    pub kernel: [usize; 2],
    /// Stride.
    pub stride: [usize; 2],
    /// Zero padding on both sides.
    pub padding: [usize; 2],
    /// Dilation.
    pub dilation: [usize; 2],
    /// Output padding of a transposed convolution (0 for a convolution).
    pub output_padding: [usize; 2],
}

impl ConvParams {
    /// The parameters of a plain 2-D convolution (no output padding).
    #[allow(clippy::too_many_arguments)]
    pub fn conv2d(
        batch: usize,
        c_in: usize,
        c_out: usize,
        groups: usize,
        input: [usize; 2],
        kernel: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
        dilation: [usize; 2],
    ) -> Self {
        ConvParams {
            batch,
            c_in,
            c_out,
            groups,
            input,
            kernel,
            stride,
            padding,
            dilation,
            output_padding: [0, 0],
        }
    }

    /// The convolution's output size `[OH, OW]`, `None` if the kernel does
    /// not fit (see [`crate::shape::conv_out_size`]).
    pub fn output(&self) -> Option<[usize; 2]> {
        let o = |a: usize| {
            crate::shape::conv_out_size(
                self.input[a],
                self.kernel[a],
                self.stride[a],
                self.padding[a],
                self.dilation[a],
            )
        };
        Some([o(0)?, o(1)?])
    }

    /// Input channels per group.
    pub fn c_in_per_group(&self) -> usize {
        self.c_in / self.groups.max(1)
    }

    /// Output channels per group.
    pub fn c_out_per_group(&self) -> usize {
        self.c_out / self.groups.max(1)
    }
}

/// Which gradients [`ConvKernel::conv_backward`] computes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ConvWant {
    /// The input's gradient.
    pub input: bool,
    /// The weight's gradient.
    pub weight: bool,
    /// The bias gradient (per output channel).
    pub bias: bool,
}

/// The gradients `(input, weight, bias)` of [`ConvKernel::conv_backward`],
/// each present if it was asked for.
pub type ConvGrads<S> = (Option<S>, Option<S>, Option<S>);

/// Kernel of 2-D convolutions from runtime sizes ([`ConvParams`]), generic
/// over the element type only. The three primitives are enough for the
/// convolution and its transpose, forward and backward.
pub trait ConvKernel<E: Dtype>: Backend {
    /// `y = conv(x, w)`, plus `b[co]` on every output of channel `co` if a
    /// bias is given. `x: (batch, c_in, H, W)`, `y: (batch, c_out, OH, OW)`.
    fn conv_forward(
        &self,
        p: &ConvParams,
        x: &Self::Storage<E>,
        w: &Self::Storage<E>,
        b: Option<&Self::Storage<E>>,
    ) -> Self::Storage<E>;

    /// The input gradient `dx: (batch, c_in, H, W)` for the output gradient
    /// `gy: (batch, c_out, OH, OW)`, plus `b[ci]` on every element of
    /// channel `ci` if given (the forward of a transposed convolution with
    /// a bias).
    fn conv_input_grad(
        &self,
        p: &ConvParams,
        w: &Self::Storage<E>,
        gy: &Self::Storage<E>,
        b: Option<&Self::Storage<E>>,
    ) -> Self::Storage<E>;

    /// The weight gradient `dw: (c_out, c_in / groups, KH, KW)`, summed over
    /// the batch.
    fn conv_weight_grad(
        &self,
        p: &ConvParams,
        x: &Self::Storage<E>,
        gy: &Self::Storage<E>,
    ) -> Self::Storage<E>;

    /// Per-channel sums of a `(batch, channels, spatial)` buffer (a bias
    /// gradient).
    fn channel_sum(
        &self,
        batch: usize,
        channels: usize,
        spatial: usize,
        g: &Self::Storage<E>,
    ) -> Self::Storage<E>;

    /// The gradients asked for, of a convolution with output gradient `gy`.
    fn conv_backward(
        &self,
        p: &ConvParams,
        x: &Self::Storage<E>,
        w: &Self::Storage<E>,
        gy: &Self::Storage<E>,
        want: ConvWant,
    ) -> ConvGrads<Self::Storage<E>> {
        let spatial = p.output().map_or(0, |o| o[0] * o[1]);
        (
            want.input.then(|| self.conv_input_grad(p, w, gy, None)),
            want.weight.then(|| self.conv_weight_grad(p, x, gy)),
            want.bias
                .then(|| self.channel_sum(p.batch, p.c_out, spatial, gy)),
        )
    }
}
