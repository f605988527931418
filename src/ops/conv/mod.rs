//! Convolutions: [`conv1d`](crate::Tensor::conv1d),
//! [`conv2d`](crate::Tensor::conv2d) and their transposes
//! ([`conv_transpose1d`](crate::Tensor::conv_transpose1d),
//! [`conv_transpose2d`](crate::Tensor::conv_transpose2d)), with stride,
//! padding, dilation and groups fixed in the type by a [`ConvSpec`] /
//! [`ConvTransposeSpec`], PyTorch's weight layouts, and static output
//! sizes for static inputs.
//!
//! One kernel trait, [`ConvKernel`], computes 2-D convolutions from runtime
//! sizes ([`ConvParams`]); 1-D convolutions run through it with `H = 1`. A
//! transposed convolution's forward is the convolution's input gradient and
//! its input gradient is the convolution's forward, so both share the same
//! three primitives (forward, input gradient, weight gradient).
//!
//! Weights and biases are parameters: untracked tensors whose gradients
//! are recorded under their own ids when the input is tracked (as
//! [`Tensor::linear`](crate::Tensor::linear) does).

mod conv_transpose;
mod convolution;
pub(crate) use convolution::output_dims;
mod shape;

pub use shape::{
    ChannelVerdict, ConvChecked, ConvInput, Fwd, Groups, Spatial1, Spatial2, Transposed, WindowOut,
};

use crate::backend::Backend;
use crate::dtype::Dtype;
use core::marker::PhantomData;
use typenum::{Unsigned, U0, U1};

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
/// use typegrad::ops::conv::ConvParams;
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

/// Stride `S`, padding `P`, dilation `L` and groups `G` of a convolution,
/// as types (typenum numbers, written with [`u!`](crate::u)); the kernel
/// size comes from the weight. Pass a value: `ConvSpec::<u!(2), u!(1)>::new()`.
///
/// ```
/// use typegrad::ops::conv::ConvSpec;
/// use typegrad::prelude::*;
/// let dev = Cpu::default();
/// let x: Tensor<(Dyn, u!(3), u!(32), u!(32))> = Tensor::ones((Dyn(2), Default::default(), Default::default(), Default::default()), &dev);
/// let w: Tensor<(u!(8), u!(3), u!(3), u!(3))> = Tensor::ones(Default::default(), &dev);
/// // stride 2, padding 1: 32 -> 16 (in the type)
/// let y: Tensor<(Dyn, u!(8), u!(16), u!(16))> = x.conv2d(&w, None, ConvSpec::<u!(2), u!(1)>::new());
/// assert_eq!(y.to_vec()[0], 12.0); // a corner sees 2x2 of the 3x3 window, 3 channels
/// ```
pub struct ConvSpec<S = U1, P = U0, L = U1, G = U1>(PhantomData<(S, P, L, G)>);

/// Stride `S`, padding `P`, output padding `OP`, dilation `L` and groups
/// `G` of a transposed convolution, as types. Pass a value:
/// `ConvTransposeSpec::<u!(2), u!(1), u!(1)>::new()`.
pub struct ConvTransposeSpec<S = U1, P = U0, OP = U0, L = U1, G = U1>(
    PhantomData<(S, P, OP, L, G)>,
);

macro_rules! spec_impls {
    ($name:ident<$($p:ident),*>) => {
        impl<$($p),*> $name<$($p),*> {
            /// The (zero-sized) spec value.
            pub const fn new() -> Self {
                $name(PhantomData)
            }
        }
        impl<$($p),*> Default for $name<$($p),*> {
            fn default() -> Self {
                Self::new()
            }
        }
        impl<$($p),*> Clone for $name<$($p),*> {
            fn clone(&self) -> Self {
                *self
            }
        }
        impl<$($p),*> Copy for $name<$($p),*> {}
        impl<$($p),*> core::fmt::Debug for $name<$($p),*> {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(stringify!($name))
            }
        }
    };
}
spec_impls!(ConvSpec<S, P, L, G>);
spec_impls!(ConvTransposeSpec<S, P, OP, L, G>);

impl ConvSpec {
    /// Stride 1, no padding, dilation 1, one group. (`ConvSpec::plain()`
    /// needs its types written out: defaults of type parameters do not
    /// take part in inference.)
    ///
    /// ```
    /// use typegrad::ops::conv::ConvSpec;
    /// use typegrad::prelude::*;
    /// let x: Tensor<(u!(1), u!(5), u!(5))> = Tensor::ones(Default::default(), &Cpu::default());
    /// let w: Tensor<(u!(1), u!(1), u!(3), u!(3))> = Tensor::ones(Default::default(), &Cpu::default());
    /// let y: Tensor<(u!(1), u!(3), u!(3))> = x.conv2d(&w, None, ConvSpec::plain());
    /// assert_eq!(y.to_vec(), vec![9.0; 9]);
    /// ```
    pub const fn plain() -> Self {
        ConvSpec(PhantomData)
    }
}

impl ConvTransposeSpec {
    /// Stride 1, no padding or output padding, dilation 1, one group (see
    /// [`ConvSpec::plain`]).
    pub const fn plain() -> Self {
        ConvTransposeSpec(PhantomData)
    }
}

/// The geometry of one conv call at run time, read from a layer's or a
/// spec's types: what [`ConvChecked::run`] needs besides the tensors (the
/// kernel size comes from the weight).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ConvGeometry {
    /// The op's name in errors (`"conv2d"`, ...).
    pub op: &'static str,
    /// Groups.
    pub groups: usize,
    /// Stride.
    pub stride: usize,
    /// Padding.
    pub padding: usize,
    /// Dilation.
    pub dilation: usize,
    /// Output padding (transposed convolutions only; 0 otherwise).
    pub output_padding: usize,
    /// A transposed convolution.
    pub transposed: bool,
}

impl ConvGeometry {
    /// The geometry of a convolution with these type-level sizes.
    pub fn conv<S: Unsigned, P: Unsigned, L: Unsigned, G: Unsigned>(op: &'static str) -> Self {
        ConvGeometry {
            op,
            groups: G::USIZE,
            stride: S::USIZE,
            padding: P::USIZE,
            dilation: L::USIZE,
            output_padding: 0,
            transposed: false,
        }
    }
    /// The geometry of a transposed convolution with these type-level sizes.
    pub fn transposed<S: Unsigned, P: Unsigned, OP: Unsigned, L: Unsigned, G: Unsigned>(
        op: &'static str,
    ) -> Self {
        ConvGeometry {
            op,
            groups: G::USIZE,
            stride: S::USIZE,
            padding: P::USIZE,
            dilation: L::USIZE,
            output_padding: OP::USIZE,
            transposed: true,
        }
    }
}
