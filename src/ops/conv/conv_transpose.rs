//! `conv_transpose1d`, `conv_transpose2d`: the typed transposed
//! convolutions. Each is the input gradient of a convolution, so it runs
//! on the same kernel primitives (see [`super::convolution`]).

use super::convolution::conv_any;
use super::shape::{ConvInput, Groups, Spatial1, Spatial2, Transposed};
use super::{ConvGeometry, ConvTransposeSpec};
use crate::autograd::Tracking;
use crate::backend::Device;
use crate::dtype::Dtype;
use crate::shape::{Dim, DimsAgree, Error, GroupsDoNotDivide, MulDim, Prod, Shape};
use crate::tensor::Tensor;
use typenum::Unsigned;

impl<S: Shape, E: Dtype, D: Device<E>, T: Tracking<E, D>> Tensor<S, E, D, T> {
    /// 2-D transposed convolution (PyTorch's `F.conv_transpose2d`): input
    /// `(B, CI, H, W)` or `(CI, H, W)`, weight `(CI, CO / G, K, K)`
    /// (PyTorch's layout), optional bias `(CO,)`; stride, padding, output
    /// padding, dilation and groups from the [`ConvTransposeSpec`]. The
    /// output is `(B, CO, OH, OW)`, `OH = (H-1)S - 2P + L(K-1) + OP + 1`
    /// ([`crate::shape::ConvTransposeOutDim`]), static for static `H`, `W`.
    /// The output padding must be smaller than the stride.
    ///
    /// ```
    /// use typegrad::ops::conv::ConvTransposeSpec;
    /// use typegrad::prelude::*;
    /// let dev = Cpu::default();
    /// let x: Tensor<(u!(1), u!(2), u!(2)), f64> = Tensor::from_vec_static(vec![1.0, 2.0, 3.0, 4.0], &dev);
    /// let w: Tensor<(u!(1), u!(1), u!(2), u!(2)), f64> = Tensor::ones(Default::default(), &dev);
    /// // stride 2: every input pixel paints its own 2x2 block, 2 -> 4
    /// let y: Tensor<(u!(1), u!(4), u!(4)), f64> = x.conv_transpose2d(&w, None, ConvTransposeSpec::<u!(2)>::new());
    /// assert_eq!(y.to_vec()[..8], [1.0, 1.0, 2.0, 2.0, 1.0, 1.0, 2.0, 2.0]);
    /// ```
    #[track_caller]
    #[allow(clippy::type_complexity)]
    // The checks on the signature's first line: one line of note in errors.
    #[rustfmt::skip]
    pub fn conv_transpose2d<Gv: DimsAgree<Xv>, Xv, Gg: GroupsDoNotDivide<Xg>, Xg,
        CI: Dim, COg: Dim, K: Dim + Unsigned, St: Unsigned, P: Unsigned, OP: Unsigned, L: Unsigned, G>(
        self,
        weight: &Tensor<(CI, COg, K, K), E, D>,
        bias: Option<&Tensor<(Prod<G, COg>,), E, D>>,
        spec: ConvTransposeSpec<St, P, OP, L, G>,
    ) -> Tensor<
        <S as ConvInput<CI, Prod<G, COg>, Transposed<K, St, P, OP, L>, Spatial2, Gv, Xv>>::Output,
        E,
        D,
        T,
    >
    where
        G: MulDim<COg> + Groups<CI, Prod<G, COg>, Got = Gg, Exp = Xg>,
        S: ConvInput<CI, Prod<G, COg>, Transposed<K, St, P, OP, L>, Spatial2, Gv, Xv>,
    {
        self.try_conv_transpose2d(weight, bias, spec)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Fallible [`Tensor::conv_transpose2d`]: a `Dyn` size that does not
    /// fit is an [`Error`] naming it.
    ///
    /// ```
    /// use typegrad::ops::conv::ConvTransposeSpec;
    /// use typegrad::prelude::*;
    /// let dev = Cpu::default();
    /// let x: Tensor<(Dyn, u!(4), u!(4))> = Tensor::zeros((Dyn(3), Default::default(), Default::default()), &dev);
    /// let w: Tensor<(u!(2), u!(1), u!(3), u!(3))> = Tensor::zeros(Default::default(), &dev);
    /// let e = x.try_conv_transpose2d(&w, None, ConvTransposeSpec::plain()).unwrap_err();
    /// assert!(e.to_string().contains("got 3, expected 2"));
    /// ```
    #[allow(clippy::type_complexity)]
    // The checks on the signature's first line: one line of note in errors.
    #[rustfmt::skip]
    pub fn try_conv_transpose2d<Gv: DimsAgree<Xv>, Xv, Gg: GroupsDoNotDivide<Xg>, Xg,
        CI: Dim, COg: Dim, K: Dim + Unsigned, St: Unsigned, P: Unsigned, OP: Unsigned, L: Unsigned, G>(
        self,
        weight: &Tensor<(CI, COg, K, K), E, D>,
        bias: Option<&Tensor<(Prod<G, COg>,), E, D>>,
        _spec: ConvTransposeSpec<St, P, OP, L, G>,
    ) -> Result<
        Tensor<
            <S as ConvInput<CI, Prod<G, COg>, Transposed<K, St, P, OP, L>, Spatial2, Gv, Xv>>::Output,
            E,
            D,
            T,
        >,
        Error,
    >
    where
        G: MulDim<COg> + Groups<CI, Prod<G, COg>, Got = Gg, Exp = Xg>,
        S: ConvInput<CI, Prod<G, COg>, Transposed<K, St, P, OP, L>, Spatial2, Gv, Xv>,
    {
        conv_any::<S, CI, Prod<G, COg>, Transposed<K, St, P, OP, L>, Spatial2, Gv, Xv, _, _, E, D, T>(
            self,
            weight,
            bias,
            ConvGeometry::transposed::<St, P, OP, L, G>("conv_transpose2d"),
        )
    }

    /// 1-D transposed convolution (PyTorch's `F.conv_transpose1d`): input
    /// `(B, CI, L)` or `(CI, L)`, weight `(CI, CO / G, K)`, optional bias
    /// `(CO,)`, spec as for [`Tensor::conv_transpose2d`].
    ///
    /// ```
    /// use typegrad::ops::conv::ConvTransposeSpec;
    /// use typegrad::prelude::*;
    /// let dev = Cpu::default();
    /// let x: Tensor<(u!(1), u!(3)), f64> = Tensor::from_vec_static(vec![1.0, 2.0, 3.0], &dev);
    /// let w: Tensor<(u!(1), u!(1), u!(2)), f64> = Tensor::from_vec_static(vec![1.0, 10.0], &dev);
    /// let y: Tensor<(u!(1), u!(4)), f64> = x.conv_transpose1d(&w, None, ConvTransposeSpec::plain());
    /// assert_eq!(y.to_vec(), vec![1.0, 12.0, 23.0, 30.0]);
    /// ```
    #[track_caller]
    #[allow(clippy::type_complexity)]
    // The checks on the signature's first line: one line of note in errors.
    #[rustfmt::skip]
    pub fn conv_transpose1d<Gv: DimsAgree<Xv>, Xv, Gg: GroupsDoNotDivide<Xg>, Xg,
        CI: Dim, COg: Dim, K: Dim + Unsigned, St: Unsigned, P: Unsigned, OP: Unsigned, L: Unsigned, G>(
        self,
        weight: &Tensor<(CI, COg, K), E, D>,
        bias: Option<&Tensor<(Prod<G, COg>,), E, D>>,
        spec: ConvTransposeSpec<St, P, OP, L, G>,
    ) -> Tensor<
        <S as ConvInput<CI, Prod<G, COg>, Transposed<K, St, P, OP, L>, Spatial1, Gv, Xv>>::Output,
        E,
        D,
        T,
    >
    where
        G: MulDim<COg> + Groups<CI, Prod<G, COg>, Got = Gg, Exp = Xg>,
        S: ConvInput<CI, Prod<G, COg>, Transposed<K, St, P, OP, L>, Spatial1, Gv, Xv>,
    {
        self.try_conv_transpose1d(weight, bias, spec)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Fallible [`Tensor::conv_transpose1d`] (see
    /// [`Tensor::try_conv_transpose2d`]).
    ///
    /// ```
    /// use typegrad::ops::conv::ConvTransposeSpec;
    /// use typegrad::prelude::*;
    /// let dev = Cpu::default();
    /// let x: Tensor<(u!(1), u!(1), Dyn)> = Tensor::zeros((Default::default(), Default::default(), Dyn(1)), &dev);
    /// let w: Tensor<(u!(1), u!(1), u!(1))> = Tensor::zeros(Default::default(), &dev);
    /// // padding 1 removes the only output element
    /// assert!(x.try_conv_transpose1d(&w, None, ConvTransposeSpec::<u!(1), u!(1)>::new()).is_err());
    /// ```
    #[allow(clippy::type_complexity)]
    // The checks on the signature's first line: one line of note in errors.
    #[rustfmt::skip]
    pub fn try_conv_transpose1d<Gv: DimsAgree<Xv>, Xv, Gg: GroupsDoNotDivide<Xg>, Xg,
        CI: Dim, COg: Dim, K: Dim + Unsigned, St: Unsigned, P: Unsigned, OP: Unsigned, L: Unsigned, G>(
        self,
        weight: &Tensor<(CI, COg, K), E, D>,
        bias: Option<&Tensor<(Prod<G, COg>,), E, D>>,
        _spec: ConvTransposeSpec<St, P, OP, L, G>,
    ) -> Result<
        Tensor<
            <S as ConvInput<CI, Prod<G, COg>, Transposed<K, St, P, OP, L>, Spatial1, Gv, Xv>>::Output,
            E,
            D,
            T,
        >,
        Error,
    >
    where
        G: MulDim<COg> + Groups<CI, Prod<G, COg>, Got = Gg, Exp = Xg>,
        S: ConvInput<CI, Prod<G, COg>, Transposed<K, St, P, OP, L>, Spatial1, Gv, Xv>,
    {
        conv_any::<S, CI, Prod<G, COg>, Transposed<K, St, P, OP, L>, Spatial1, Gv, Xv, _, _, E, D, T>(
            self,
            weight,
            bias,
            ConvGeometry::transposed::<St, P, OP, L, G>("conv_transpose1d"),
        )
    }
}
