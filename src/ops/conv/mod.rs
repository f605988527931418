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

use core::marker::PhantomData;
use typenum::{Unsigned, U0, U1};

pub use crate::backend::kernels::conv::{ConvGrads, ConvKernel, ConvParams, ConvWant};

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
