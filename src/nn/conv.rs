//! Convolution layers: [`Conv1d`], [`Conv2d`], [`ConvTranspose1d`],
//! [`ConvTranspose2d`], with PyTorch's parameter names, layouts and
//! default initialisation.
//!
//! Kernel size, stride, padding, dilation, output padding and groups are
//! type parameters (typenum numbers, written with [`u!`](crate::u)), so the
//! output's spatial sizes are computed by the compiler for static inputs.
//! Square kernels and symmetric padding. The groups `G` must divide the
//! input and output channels: [`Groups`] checks it where the layer type is
//! written (one group, the default, needs no bound at all, so code generic
//! over the channels compiles with `C: Dim` alone).

use super::chain::{FeatureMap, Opaque};
use super::init::{FanMode, Init, Nonlinearity};
use super::{Module, ParamMut, ParamPath, ParamRef, Params, Summary, SummaryRows};
use crate::autograd::Tracking;
use crate::backend::{Backend, Cpu, Device};
use crate::dtype::Dtype;
use crate::ops::conv::{ConvChecked, ConvGeometry, Fwd, Groups, Spatial1, Spatial2, Transposed};
use crate::shape::{Dim, Error, GroupsDoNotDivide, Shape, StaticDim};
use crate::tensor::Tensor;
use core::marker::PhantomData;
use typenum::{Unsigned, U0, U1};

/// The weight and bias of a fresh layer, drawn as PyTorch's `_ConvNd`
/// does: Kaiming uniform with `a = √5` for the weight (`U(±1/√fan_in)`),
/// `U(±1/√fan_in)` for the bias, `fan_in = weight.size(1) · Πkernel`.
fn init_params<E: Dtype, D: Backend>(
    weight: &mut D::Storage<E>,
    wdims: &[usize],
    bias: Option<&mut D::Storage<E>>,
    dev: &D,
) {
    let rule = Init::KaimingUniform {
        gain: Nonlinearity::LeakyRelu(libm::sqrt(5.0)).gain(),
        mode: FanMode::FanIn,
    };
    let fan_in: usize = wdims[1..].iter().product();
    if fan_in > 0 {
        *weight = rule
            .try_sample::<E, D>(wdims, dev)
            .unwrap_or_else(|e| panic!("{e}"));
    }
    if let Some(b) = bias {
        let bound = if fan_in > 0 {
            1.0 / libm::sqrt(fan_in as f64)
        } else {
            0.0
        };
        let n = dev.len(b);
        *b = Init::Uniform {
            lo: -bound,
            hi: bound,
        }
        .try_sample::<E, D>(&[n], dev)
        .unwrap_or_else(|e| panic!("{e}"));
    }
}

/// The layers' shared items: constructors, init, `try_forward`, `Module`
/// for any input shape the op takes, `Params`, `FeatureMap`.
macro_rules! conv_layer {
    (
        $Name:ident<$($P:ident),*>,
        weight: ($W0:ty, $W1:ty $(, $Wk:ty)+),
        window: $Win:ty,
        spatial: $Sp:ty,
        geometry: $geo:expr,
        bias: $Cb:ident,
        sizes($ci:ident, $co:ident, $g:ident, $k:ident) => $wdims:expr,
    ) => {
        impl<CI: StaticDim, CO: StaticDim, K: StaticDim, $($P,)* G: Groups<CI, CO>, E: Dtype, D: Backend>
            $Name<CI, CO, K, $($P,)* G, E, D>
        {
            /// A fresh layer, initialised as PyTorch's.
            fn initialised(device: &D, bias: bool) -> Self {
                let mut l = Self::zeroed(device, bias);
                l.reset_params();
                l
            }

            /// A layer of the right shapes, filled with zeros.
            fn zeroed(device: &D, bias: bool) -> Self {
                let ($ci, $co, $g, $k) = (CI::USIZE, CO::USIZE, G::USIZE, K::USIZE);
                let dims = $wdims;
                // The static dims agree with these sizes by construction.
                let shape = <($W0, $W1 $(, $Wk)+)>::try_from_dims(&dims).unwrap_or_else(|e| panic!("{e}"));
                let bshape = <($Cb,)>::try_from_dims(&[CO::USIZE]).unwrap_or_else(|e| panic!("{e}"));
                $Name {
                    weight: Tensor::zeros(shape, device),
                    bias: bias.then(|| Tensor::zeros(bshape, device)),
                    spec: PhantomData,
                }
            }
        }

        impl<CI: Dim, CO: Dim, K: Dim, $($P,)* G: Groups<CI, CO>, E: Dtype, D: Backend>
            $Name<CI, CO, K, $($P,)* G, E, D>
        {
            /// Re-initialise as PyTorch does (see `new`), keeping the
            /// parameters' ids.
            pub fn reset_params(&mut self) {
                let dev = self.weight.device.clone();
                let dims = self.weight.dims();
                init_params::<E, D>(
                    &mut self.weight.data,
                    &dims,
                    self.bias.as_mut().map(|b| &mut b.data),
                    &dev,
                );
            }
        }

        impl<CI: Dim, CO: Dim, K: Dim + Unsigned, $($P: Unsigned,)* G: Groups<CI, CO>, E: Dtype, D: Device<E>>
            $Name<CI, CO, K, $($P,)* G, E, D>
        {
            /// Fallible forward: a `Dyn` size that does not fit (input
            /// channels, a kernel larger than the padded input) is an
            /// [`Error`] naming it instead of a panic.
            pub fn try_forward<X, T: Tracking<E, D>>(
                &self,
                x: Tensor<X, E, D, T>,
            ) -> Result<Tensor<<X as ConvChecked<CI, CO, $Win, $Sp>>::Output, E, D, T>, Error>
            where
                X: ConvChecked<CI, CO, $Win, $Sp>,
            {
                X::run(x, &self.weight, self.bias.as_ref(), $geo)
            }
        }

        impl<CI: Dim, CO: Dim, K: Dim + Unsigned, $($P: Unsigned,)* G: Groups<CI, CO>, E: Dtype, D: Device<E>, X, T: Tracking<E, D>>
            Module<Tensor<X, E, D, T>> for $Name<CI, CO, K, $($P,)* G, E, D>
        where
            X: ConvChecked<CI, CO, $Win, $Sp>,
        {
            type Output = Tensor<<X as ConvChecked<CI, CO, $Win, $Sp>>::Output, E, D, T>;
            /// Panics on a `Dyn` size that does not fit (see `try_forward`).
            #[track_caller]
            fn forward(&self, x: Tensor<X, E, D, T>) -> Self::Output {
                X::run(x, &self.weight, self.bias.as_ref(), $geo).unwrap_or_else(|e| panic!("{e}"))
            }
        }

        /// One row: the output shape by the forward's own rule and checks.
        impl<CI: Dim, CO: Dim, K: Dim + Unsigned, $($P: Unsigned,)* G: Groups<CI, CO>, E: Dtype, D: Device<E>, X>
            Summary<X, E, D> for $Name<CI, CO, K, $($P,)* G, E, D>
        where
            X: ConvChecked<CI, CO, $Win, $Sp>,
        {
            type Output = <X as ConvChecked<CI, CO, $Win, $Sp>>::Output;
            fn summarize(&self, input: X, rows: &mut SummaryRows) -> Result<Self::Output, Error> {
                let bias = self.bias.as_ref().map(|b| b.shape.0.size());
                let dims = crate::ops::conv::output_dims($geo, &input.dims(), &self.weight.dims(), bias)?;
                rows.row_from_dims(self.num_params(), &dims)
            }
        }

        /// `weight`, then `bias` (if any): PyTorch's `state_dict` names.
        impl<CI: Dim, CO: Dim, K: Dim, $($P,)* G: Groups<CI, CO>, E: Dtype, D: Backend> Params<E, D>
            for $Name<CI, CO, K, $($P,)* G, E, D>
        {
            fn visit_params(&self, path: &mut ParamPath, f: &mut dyn FnMut(&ParamPath, ParamRef<'_, E, D>)) {
                path.push("weight");
                self.weight.visit_params(path, f);
                path.pop();
                if let Some(b) = &self.bias {
                    path.push("bias");
                    b.visit_params(path, f);
                    path.pop();
                }
            }
            fn visit_params_mut(&mut self, path: &mut ParamPath, f: &mut dyn FnMut(&ParamPath, ParamMut<'_, E, D>)) {
                path.push("weight");
                self.weight.visit_params_mut(path, f);
                path.pop();
                if let Some(b) = &mut self.bias {
                    path.push("bias");
                    b.visit_params_mut(path, f);
                    path.pop();
                }
            }
            fn move_to_device(&mut self, device: &D) {
                self.weight.move_to_device(device);
                if let Some(b) = &mut self.bias {
                    b.move_to_device(device);
                }
            }
        }

        /// Channels are not the feature (last) axis: opaque to the chain
        /// checks of `#[module(sequential)]` structs.
        impl<CI: Dim, CO: Dim, K: Dim, $($P,)* G: Groups<CI, CO>, E: Dtype, D: Backend> FeatureMap
            for $Name<CI, CO, K, $($P,)* G, E, D>
        {
            type Kind = Opaque;
        }

        impl<CI: Dim, CO: Dim, K: Dim, $($P,)* G: Groups<CI, CO>, E: Dtype, D: Backend> Clone
            for $Name<CI, CO, K, $($P,)* G, E, D>
        {
            fn clone(&self) -> Self {
                $Name { weight: self.weight.clone(), bias: self.bias.clone(), spec: PhantomData }
            }
        }

        impl<CI: Dim, CO: Dim, K: Dim, $($P,)* G: Groups<CI, CO>, E: Dtype, D: Backend> core::fmt::Debug
            for $Name<CI, CO, K, $($P,)* G, E, D>
        {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.debug_struct(stringify!($Name))
                    .field("weight", &self.weight)
                    .field("bias", &self.bias)
                    .finish()
            }
        }
    };
}

/// A 2-D convolution (PyTorch's `nn.Conv2d`) from `CI` to `CO` channels
/// with a `K`x`K` kernel, stride `S`, padding `P`, dilation `L` and `G`
/// groups: `(B, CI, H, W) -> (B, CO, OH, OW)` (any batch dim) or
/// unbatched `(CI, H, W) -> (CO, OH, OW)`, with
/// `OH = (H + 2P - L(K-1) - 1) / S + 1` computed by the compiler for a
/// static `H`. Weight `(CO, CI/G, K, K)`, bias `(CO,)`, as in PyTorch.
///
/// Parameters are untracked tensors; a tracked input records the layer's
/// backward and the weight's and bias's gradients come back under their
/// ids (`grads.get(&conv.weight)`).
///
/// ```
/// use typegrad::nn::{Conv2d, Module, Params};
/// use typegrad::prelude::*;
/// let dev = Cpu::seeded(0);
/// // 3x3, stride 2, padding 1: 32x32 -> 16x16
/// let conv: Conv2d<u!(3), u!(16), u!(3), u!(2), u!(1)> = Conv2d::new(&dev);
/// assert_eq!(conv.num_params(), 16 * 3 * 9 + 16);
/// let x: Tensor<(Dyn, u!(3), u!(32), u!(32))> = Tensor::randn((Dyn(2), Default::default(), Default::default(), Default::default()), 0.0, 1.0, &dev);
/// let y: Tensor<(Dyn, u!(16), u!(16), u!(16))> = conv.forward(x.clone());
/// let grads = conv.forward(x.trace_no_grad()).square().mean().backward();
/// assert!(grads.get(&conv.weight).is_some());
/// ```
///
/// Depthwise (`G = CI`) and generic code over the channels:
///
/// ```
/// use typegrad::nn::{Conv2d, Module};
/// use typegrad::prelude::*;
/// struct Block<C: Dim> {
///     conv: Conv2d<C, C, u!(3), u!(1), u!(1)>,
/// }
/// impl<C: StaticDim> Block<C> {
///     fn new(dev: &Cpu) -> Self {
///         Block { conv: Conv2d::new(dev) }
///     }
/// }
/// let _b: Block<u!(8)> = Block::new(&Cpu::default());
/// let dw: Conv2d<u!(8), u!(8), u!(3), u!(1), u!(1), u!(1), u!(8)> = Conv2d::new(&Cpu::default());
/// assert_eq!(&*dw.weight.dims(), &[8, 1, 3, 3]);
/// # use typegrad::shape::StaticDim;
/// ```
pub struct Conv2d<
    CI: Dim,
    CO: Dim,
    K: Dim,
    S = U1,
    P = U0,
    L = U1,
    G: Groups<CI, CO> = U1,
    E: Dtype = f32,
    D: Backend = Cpu,
> {
    /// The weight, `(CO, CI/G, K, K)` as in PyTorch.
    pub weight: Tensor<(CO, <G as Groups<CI, CO>>::InPer, K, K), E, D>,
    /// The bias, `(CO,)`, or `None`.
    pub bias: Option<Tensor<(CO,), E, D>>,
    spec: PhantomData<fn() -> (S, P, L)>,
}

/// A 1-D convolution (PyTorch's `nn.Conv1d`): `(B, CI, N) -> (B, CO, ON)`
/// or `(CI, N) -> (CO, ON)`, weight `(CO, CI/G, K)`, bias `(CO,)`; see
/// [`Conv2d`] for the parameters.
///
/// ```
/// use typegrad::nn::{Conv1d, Module};
/// use typegrad::prelude::*;
/// let dev = Cpu::seeded(0);
/// let conv: Conv1d<u!(4), u!(8), u!(5), u!(1), u!(2)> = Conv1d::new(&dev);
/// let x: Tensor<(Dyn, u!(4), Dyn)> = Tensor::ones((Dyn(3), Default::default(), Dyn(100)), &dev);
/// let y = conv.forward(x); // (Dyn, U8, Dyn): padding 2 keeps the length
/// assert_eq!(&*y.dims(), &[3, 8, 100]);
/// ```
pub struct Conv1d<
    CI: Dim,
    CO: Dim,
    K: Dim,
    S = U1,
    P = U0,
    L = U1,
    G: Groups<CI, CO> = U1,
    E: Dtype = f32,
    D: Backend = Cpu,
> {
    /// The weight, `(CO, CI/G, K)` as in PyTorch.
    pub weight: Tensor<(CO, <G as Groups<CI, CO>>::InPer, K), E, D>,
    /// The bias, `(CO,)`, or `None`.
    pub bias: Option<Tensor<(CO,), E, D>>,
    spec: PhantomData<fn() -> (S, P, L)>,
}

/// A 2-D transposed convolution (PyTorch's `nn.ConvTranspose2d`) from `CI`
/// to `CO` channels: `(B, CI, H, W) -> (B, CO, OH, OW)` or unbatched, with
/// `OH = (H-1)S - 2P + L(K-1) + OP + 1` computed by the compiler for a
/// static `H` (`OP`, the output padding, must be smaller than `S`). Weight
/// `(CI, CO/G, K, K)`, bias `(CO,)`, as in PyTorch.
///
/// ```
/// use typegrad::nn::{ConvTranspose2d, Module};
/// use typegrad::prelude::*;
/// let dev = Cpu::seeded(0);
/// // Upsampling by 2: k 3, stride 2, padding 1, output padding 1: 16 -> 32.
/// let up: ConvTranspose2d<u!(8), u!(4), u!(3), u!(2), u!(1), u!(1)> = ConvTranspose2d::new(&dev);
/// assert_eq!(&*up.weight.dims(), &[8, 4, 3, 3]);
/// let x: Tensor<(Dyn, u!(8), u!(16), u!(16))> = Tensor::ones((Dyn(1), Default::default(), Default::default(), Default::default()), &dev);
/// let y: Tensor<(Dyn, u!(4), u!(32), u!(32))> = up.forward(x);
/// ```
pub struct ConvTranspose2d<
    CI: Dim,
    CO: Dim,
    K: Dim,
    S = U1,
    P = U0,
    OP = U0,
    L = U1,
    G: Groups<CI, CO> = U1,
    E: Dtype = f32,
    D: Backend = Cpu,
> {
    /// The weight, `(CI, CO/G, K, K)` as in PyTorch.
    pub weight: Tensor<(CI, <G as Groups<CI, CO>>::OutPer, K, K), E, D>,
    /// The bias, `(CO,)`, or `None`.
    pub bias: Option<Tensor<(CO,), E, D>>,
    spec: PhantomData<fn() -> (S, P, OP, L)>,
}

/// A 1-D transposed convolution (PyTorch's `nn.ConvTranspose1d`):
/// `(B, CI, N) -> (B, CO, ON)` or unbatched, weight `(CI, CO/G, K)`, bias
/// `(CO,)`; see [`ConvTranspose2d`].
///
/// ```
/// use typegrad::nn::{ConvTranspose1d, Module};
/// use typegrad::prelude::*;
/// let dev = Cpu::seeded(0);
/// let up: ConvTranspose1d<u!(2), u!(3), u!(4), u!(2), u!(1)> = ConvTranspose1d::new(&dev);
/// let x: Tensor<(u!(2), u!(10))> = Tensor::ones(Default::default(), &dev);
/// let y: Tensor<(u!(3), u!(20))> = up.forward(x); // (10-1)·2 - 2 + 3 + 1
/// ```
pub struct ConvTranspose1d<
    CI: Dim,
    CO: Dim,
    K: Dim,
    S = U1,
    P = U0,
    OP = U0,
    L = U1,
    G: Groups<CI, CO> = U1,
    E: Dtype = f32,
    D: Backend = Cpu,
> {
    /// The weight, `(CI, CO/G, K)` as in PyTorch.
    pub weight: Tensor<(CI, <G as Groups<CI, CO>>::OutPer, K), E, D>,
    /// The bias, `(CO,)`, or `None`.
    pub bias: Option<Tensor<(CO,), E, D>>,
    spec: PhantomData<fn() -> (S, P, OP, L)>,
}

conv_layer!(
    Conv2d<S, P, L>,
    weight: (CO, <G as Groups<CI, CO>>::InPer, K, K),
    window: Fwd<K, S, P, L>,
    spatial: Spatial2,
    geometry: ConvGeometry::conv::<S, P, L, G>("Conv2d"),
    bias: CO,
    sizes(ci, co, g, k) => [co, ci / g, k, k],
);
conv_layer!(
    Conv1d<S, P, L>,
    weight: (CO, <G as Groups<CI, CO>>::InPer, K),
    window: Fwd<K, S, P, L>,
    spatial: Spatial1,
    geometry: ConvGeometry::conv::<S, P, L, G>("Conv1d"),
    bias: CO,
    sizes(ci, co, g, k) => [co, ci / g, k],
);
conv_layer!(
    ConvTranspose2d<S, P, OP, L>,
    weight: (CI, <G as Groups<CI, CO>>::OutPer, K, K),
    window: Transposed<K, S, P, OP, L>,
    spatial: Spatial2,
    geometry: ConvGeometry::transposed::<S, P, OP, L, G>("ConvTranspose2d"),
    bias: CO,
    sizes(ci, co, g, k) => [ci, co / g, k, k],
);
conv_layer!(
    ConvTranspose1d<S, P, OP, L>,
    weight: (CI, <G as Groups<CI, CO>>::OutPer, K),
    window: Transposed<K, S, P, OP, L>,
    spatial: Spatial1,
    geometry: ConvGeometry::transposed::<S, P, OP, L, G>("ConvTranspose1d"),
    bias: CO,
    sizes(ci, co, g, k) => [ci, co / g, k],
);

// Constructors, written out per layer (not in `conv_layer!`) so that the
// groups check, a bound of the method itself, is reported with a short
// note pointing at one line. `new` and `no_bias` initialise as PyTorch.

impl<
        CI: StaticDim,
        CO: StaticDim,
        K: StaticDim,
        S,
        P,
        L,
        G: Groups<CI, CO>,
        E: Dtype,
        D: Backend,
    > Conv2d<CI, CO, K, S, P, L, G, E, D>
{
    /// A layer with a bias, initialised as PyTorch's `nn.Conv2d`.
    ///
    /// ```
    /// use typegrad::nn::Conv2d;
    /// use typegrad::prelude::*;
    /// let c: Conv2d<u!(6), u!(16), u!(5), u!(1), u!(0), u!(1), u!(2), f64> = Conv2d::new(&Cpu::seeded(1));
    /// assert_eq!(&*c.weight.dims(), &[16, 3, 5, 5]);
    /// let bound = 1.0 / 75f64.sqrt();
    /// assert!(c.weight.to_vec().iter().chain(&c.bias.unwrap().to_vec()).all(|w| w.abs() <= bound));
    /// ```
    pub fn new<Gv: GroupsDoNotDivide<Xv>, Xv>(device: &D) -> Self
    where
        G: Groups<CI, CO, Got = Gv, Exp = Xv>,
    {
        Self::initialised(device, true)
    }

    /// A layer without a bias, weight initialised as in [`Conv2d::new`].
    pub fn no_bias<Gv: GroupsDoNotDivide<Xv>, Xv>(device: &D) -> Self
    where
        G: Groups<CI, CO, Got = Gv, Exp = Xv>,
    {
        Self::initialised(device, false)
    }
}

impl<CI: Dim, CO: Dim, K: Dim, S, P, L, G: Groups<CI, CO>, E: Dtype, D: Backend>
    Conv2d<CI, CO, K, S, P, L, G, E, D>
{
    /// A layer from given tensors: weight `(CO, CI/G, K, K)`, bias `(CO,)`.
    pub fn from_tensors<Gv: GroupsDoNotDivide<Xv>, Xv>(
        weight: Tensor<(CO, G::InPer, K, K), E, D>,
        bias: Option<Tensor<(CO,), E, D>>,
    ) -> Self
    where
        G: Groups<CI, CO, Got = Gv, Exp = Xv>,
    {
        Conv2d {
            weight,
            bias,
            spec: PhantomData,
        }
    }
}

impl<
        CI: StaticDim,
        CO: StaticDim,
        K: StaticDim,
        S,
        P,
        L,
        G: Groups<CI, CO>,
        E: Dtype,
        D: Backend,
    > Conv1d<CI, CO, K, S, P, L, G, E, D>
{
    /// A layer with a bias, initialised as PyTorch's `nn.Conv1d`.
    ///
    /// ```
    /// use typegrad::nn::Conv1d;
    /// use typegrad::prelude::*;
    /// let c: Conv1d<u!(4), u!(2), u!(3)> = Conv1d::new(&Cpu::seeded(1));
    /// assert_eq!(&*c.weight.dims(), &[2, 4, 3]);
    /// ```
    pub fn new<Gv: GroupsDoNotDivide<Xv>, Xv>(device: &D) -> Self
    where
        G: Groups<CI, CO, Got = Gv, Exp = Xv>,
    {
        Self::initialised(device, true)
    }

    /// A layer without a bias, weight initialised as in [`Conv1d::new`].
    pub fn no_bias<Gv: GroupsDoNotDivide<Xv>, Xv>(device: &D) -> Self
    where
        G: Groups<CI, CO, Got = Gv, Exp = Xv>,
    {
        Self::initialised(device, false)
    }
}

impl<CI: Dim, CO: Dim, K: Dim, S, P, L, G: Groups<CI, CO>, E: Dtype, D: Backend>
    Conv1d<CI, CO, K, S, P, L, G, E, D>
{
    /// A layer from given tensors: weight `(CO, CI/G, K)`, bias `(CO,)`.
    pub fn from_tensors<Gv: GroupsDoNotDivide<Xv>, Xv>(
        weight: Tensor<(CO, G::InPer, K), E, D>,
        bias: Option<Tensor<(CO,), E, D>>,
    ) -> Self
    where
        G: Groups<CI, CO, Got = Gv, Exp = Xv>,
    {
        Conv1d {
            weight,
            bias,
            spec: PhantomData,
        }
    }
}

impl<
        CI: StaticDim,
        CO: StaticDim,
        K: StaticDim,
        S,
        P,
        OP,
        L,
        G: Groups<CI, CO>,
        E: Dtype,
        D: Backend,
    > ConvTranspose2d<CI, CO, K, S, P, OP, L, G, E, D>
{
    /// A layer with a bias, initialised as PyTorch's `nn.ConvTranspose2d`
    /// (`fan_in = (CO/G)·K·K`, from the weight's second dim).
    ///
    /// ```
    /// use typegrad::nn::ConvTranspose2d;
    /// use typegrad::prelude::*;
    /// let c: ConvTranspose2d<u!(4), u!(6), u!(3), u!(2), u!(0), u!(0), u!(1), u!(2)> = ConvTranspose2d::new(&Cpu::seeded(1));
    /// assert_eq!(&*c.weight.dims(), &[4, 3, 3, 3]);
    /// ```
    pub fn new<Gv: GroupsDoNotDivide<Xv>, Xv>(device: &D) -> Self
    where
        G: Groups<CI, CO, Got = Gv, Exp = Xv>,
    {
        Self::initialised(device, true)
    }

    /// A layer without a bias, weight initialised as in
    /// [`ConvTranspose2d::new`].
    pub fn no_bias<Gv: GroupsDoNotDivide<Xv>, Xv>(device: &D) -> Self
    where
        G: Groups<CI, CO, Got = Gv, Exp = Xv>,
    {
        Self::initialised(device, false)
    }
}

impl<CI: Dim, CO: Dim, K: Dim, S, P, OP, L, G: Groups<CI, CO>, E: Dtype, D: Backend>
    ConvTranspose2d<CI, CO, K, S, P, OP, L, G, E, D>
{
    /// A layer from given tensors: weight `(CI, CO/G, K, K)`, bias `(CO,)`.
    pub fn from_tensors<Gv: GroupsDoNotDivide<Xv>, Xv>(
        weight: Tensor<(CI, G::OutPer, K, K), E, D>,
        bias: Option<Tensor<(CO,), E, D>>,
    ) -> Self
    where
        G: Groups<CI, CO, Got = Gv, Exp = Xv>,
    {
        ConvTranspose2d {
            weight,
            bias,
            spec: PhantomData,
        }
    }
}

impl<
        CI: StaticDim,
        CO: StaticDim,
        K: StaticDim,
        S,
        P,
        OP,
        L,
        G: Groups<CI, CO>,
        E: Dtype,
        D: Backend,
    > ConvTranspose1d<CI, CO, K, S, P, OP, L, G, E, D>
{
    /// A layer with a bias, initialised as PyTorch's `nn.ConvTranspose1d`.
    ///
    /// ```
    /// use typegrad::nn::ConvTranspose1d;
    /// use typegrad::prelude::*;
    /// let c: ConvTranspose1d<u!(4), u!(2), u!(3)> = ConvTranspose1d::no_bias(&Cpu::seeded(1));
    /// assert!(c.bias.is_none());
    /// ```
    pub fn new<Gv: GroupsDoNotDivide<Xv>, Xv>(device: &D) -> Self
    where
        G: Groups<CI, CO, Got = Gv, Exp = Xv>,
    {
        Self::initialised(device, true)
    }

    /// A layer without a bias, weight initialised as in
    /// [`ConvTranspose1d::new`].
    pub fn no_bias<Gv: GroupsDoNotDivide<Xv>, Xv>(device: &D) -> Self
    where
        G: Groups<CI, CO, Got = Gv, Exp = Xv>,
    {
        Self::initialised(device, false)
    }
}

impl<CI: Dim, CO: Dim, K: Dim, S, P, OP, L, G: Groups<CI, CO>, E: Dtype, D: Backend>
    ConvTranspose1d<CI, CO, K, S, P, OP, L, G, E, D>
{
    /// A layer from given tensors: weight `(CI, CO/G, K)`, bias `(CO,)`.
    pub fn from_tensors<Gv: GroupsDoNotDivide<Xv>, Xv>(
        weight: Tensor<(CI, G::OutPer, K), E, D>,
        bias: Option<Tensor<(CO,), E, D>>,
    ) -> Self
    where
        G: Groups<CI, CO, Got = Gv, Exp = Xv>,
    {
        ConvTranspose1d {
            weight,
            bias,
            spec: PhantomData,
        }
    }
}
