//! [`Linear`]: `y = x · Wᵀ + b` over the last axis.

use super::init::{FanMode, Init, Nonlinearity};
use super::{Module, ParamMut, ParamPath, ParamRef, Params};
use crate::autograd::Tracking;
use crate::backend::{Backend, Cpu, Device};
use crate::dtype::Dtype;
use crate::ops::matmul::{LinearExp, LinearGot, LinearShape, LinearVerdict};
use crate::shape::{Dim, DimsAgree, DimsChecked, Error, Shape, StaticDim};
use crate::tensor::Tensor;

/// A fully connected layer from `I` to `O` features: `y = x · Wᵀ + b` on
/// the last axis of an input of any rank, `(..., I) -> (..., O)`, with
/// leading dims of any kind (static or [`crate::Dyn`]).
///
/// The parameters are named and shaped as in PyTorch's `nn.Linear`
/// (`weight: (O, I)`, `bias: (O,)`), so a PyTorch `state_dict` maps onto it
/// directly. The bias is optional ([`Linear::no_bias`]).
///
/// **Training.** The parameters are untracked tensors held by the layer. A
/// tracked input (`x.trace()`, or any tensor computed from one) records the
/// backward of the whole layer on the input's tape, and the gradients of
/// the weight and bias come back under the parameters' own ids:
/// `grads.get(&layer.weight)`. An untracked input runs the forward only,
/// with no bookkeeping (evaluation). There is no flag to set or forget.
///
/// The forward is one fused op ([`Tensor::linear`]): a single gemm reading
/// the `(O, I)` weight transposed through the kernel's flags, with the bias
/// added in the same pass; the backward is two gemms and a column sum.
///
/// ```
/// use typegrad::prelude::*;
/// use typegrad::nn::{Linear, Module, Params};
///
/// let dev = Cpu::seeded(0);
/// let fc: Linear<u!(784), u!(10)> = Linear::new(&dev); // PyTorch's default init
/// assert_eq!(fc.num_params(), 784 * 10 + 10);
///
/// // Any leading dims: here a Dyn batch of 32.
/// let x: Tensor<(Dyn, u!(784))> = Tensor::randn((Dyn(32), Default::default()), 0.0, 1.0, &dev);
/// let y = fc.forward(x.clone()); // Tensor<(Dyn, U10)>
/// assert_eq!(&*y.dims(), &[32, 10]);
///
/// // Training: a tracked input; parameter gradients under their own ids.
/// let loss = fc.forward(x.trace()).square().mean();
/// let grads = loss.backward();
/// let gw: Tensor<(u!(10), u!(784))> = grads.get(&fc.weight).unwrap();
/// assert_eq!(&*gw.dims(), &[10, 784]);
/// assert!(grads.get(fc.bias.as_ref().unwrap()).is_some());
/// ```
#[derive(Clone, Debug)]
pub struct Linear<I: Dim, O: Dim, E: Dtype = f32, D: Backend = Cpu> {
    /// The weight, `(O, I)` as in PyTorch.
    pub weight: Tensor<(O, I), E, D>,
    /// The bias, `(O,)`, or `None` for a layer without one.
    pub bias: Option<Tensor<(O,), E, D>>,
}

impl<I: StaticDim, O: StaticDim, E: Dtype, D: Backend> Linear<I, O, E, D> {
    /// A layer with a bias, initialised as PyTorch's `nn.Linear`:
    /// weight and bias both `U(-1/√I, 1/√I)` (see [`Linear::reset_params`]),
    /// drawn from the device's seeded stream.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::nn::Linear;
    /// let a: Linear<u!(4), u!(3), f64> = Linear::new(&Cpu::seeded(7));
    /// let b: Linear<u!(4), u!(3), f64> = Linear::new(&Cpu::seeded(7));
    /// assert_eq!(a.weight.to_vec(), b.weight.to_vec()); // reproducible from the seed
    /// assert!(a.weight.to_vec().iter().all(|w| w.abs() <= 0.5)); // 1/√4
    /// ```
    pub fn new(device: &D) -> Self {
        let mut l = Linear {
            weight: Tensor::zeros(Default::default(), device),
            bias: Some(Tensor::zeros(Default::default(), device)),
        };
        l.reset_params();
        l
    }

    /// A layer without a bias (`y = x · Wᵀ`), weight initialised as in
    /// [`Linear::new`].
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::nn::{Linear, Params};
    /// let l: Linear<u!(4), u!(3)> = Linear::no_bias(&Cpu::default());
    /// assert!(l.bias.is_none());
    /// assert_eq!(l.num_params(), 12);
    /// ```
    pub fn no_bias(device: &D) -> Self {
        let mut l = Linear {
            weight: Tensor::zeros(Default::default(), device),
            bias: None,
        };
        l.reset_params();
        l
    }
}

impl<I: Dim, O: Dim, E: Dtype, D: Backend> Linear<I, O, E, D> {
    /// A layer from given tensors (`weight: (O, I)`, as PyTorch stores it).
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::nn::{Linear, Module};
    /// let dev = Cpu::default();
    /// let w = Tensor::<(u!(1), u!(2)), f32>::from_vec_static(vec![2.0, -1.0], &dev);
    /// let b = Tensor::<(u!(1),), f32>::from_vec_static(vec![0.5], &dev);
    /// let fc = Linear::from_tensors(w, Some(b));
    /// let x = Tensor::<(u!(2),), f32>::from_vec_static(vec![3.0, 4.0], &dev);
    /// assert_eq!(fc.forward(x).to_vec(), vec![2.5]);
    /// ```
    pub fn from_tensors(weight: Tensor<(O, I), E, D>, bias: Option<Tensor<(O,), E, D>>) -> Self {
        Linear { weight, bias }
    }

    /// Re-initialise with PyTorch's defaults for `nn.Linear`, keeping the
    /// parameters' ids (so optimizer state keyed by them stays attached):
    /// the weight by Kaiming uniform with `a = √5` (gain `√(1/3)`), which is
    /// `U(-1/√fan_in, 1/√fan_in)`, and the bias by
    /// `U(-1/√fan_in, 1/√fan_in)`, `fan_in = I`. Draws from the device's
    /// seeded stream.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::nn::Linear;
    /// let mut l: Linear<u!(16), u!(8), f64> = Linear::new(&Cpu::seeded(1));
    /// let (id, before) = (l.weight.id(), l.weight.to_vec());
    /// l.reset_params();
    /// assert_eq!(l.weight.id(), id);
    /// assert_ne!(l.weight.to_vec(), before);
    /// assert!(l.weight.to_vec().iter().all(|w| w.abs() <= 0.25)); // 1/√16
    /// ```
    pub fn reset_params(&mut self) {
        let fan_in = self.weight.shape.1.size();
        let weight_init = Init::KaimingUniform {
            gain: Nonlinearity::LeakyRelu(libm::sqrt(5.0)).gain(),
            mode: FanMode::FanIn,
        };
        let dev = self.weight.device.clone();
        let dims = self.weight.dims();
        // (O, I) always has the two dims fans need.
        self.weight.data = weight_init
            .try_sample::<E, D>(&dims, &dev)
            .unwrap_or_else(|e| panic!("{e}"));
        if let Some(b) = &mut self.bias {
            let bound = if fan_in > 0 {
                1.0 / libm::sqrt(fan_in as f64)
            } else {
                0.0
            };
            let init = Init::Uniform {
                lo: -bound,
                hi: bound,
            };
            let bd = b.dims();
            b.data = init
                .try_sample::<E, D>(&bd, &dev)
                .unwrap_or_else(|e| panic!("{e}"));
        }
    }

    /// Fallible forward: a runtime (`Dyn`) mismatch of the input features
    /// is an [`Error::DimMismatch`] instead of a panic.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::nn::Linear;
    /// let fc: Linear<u!(3), u!(2)> = Linear::new(&Cpu::default());
    /// let x: Tensor<(u!(1), Dyn)> = Tensor::zeros((Default::default(), Dyn(5)), &Cpu::default());
    /// assert!(fc.try_forward(x).unwrap_err().to_string().contains("got 5, expected 3"));
    /// ```
    pub fn try_forward<S, T: Tracking<E, D>, G: DimsAgree<X>, X>(
        &self,
        x: Tensor<S, E, D, T>,
    ) -> Result<Tensor<<S as LinearShape<I, O, G, X>>::Output, E, D, T>, Error>
    where
        S: LinearShape<I, O, G, X>,
        D: Device<E>,
    {
        x.try_linear(&self.weight, self.bias.as_ref())
    }
}

impl<I: Dim, O: Dim, E: Dtype, D: Device<E>, S, T: Tracking<E, D>> Module<Tensor<S, E, D, T>>
    for Linear<I, O, E, D>
where
    S: LinearChecked<I, O>,
{
    type Output = Tensor<<S as LinearChecked<I, O>>::Output, E, D, T>;
    /// `(..., I) -> (..., O)`; panics on a runtime `Dyn` mismatch of the
    /// input features (see [`Linear::try_forward`]).
    #[track_caller]
    fn forward(&self, x: Tensor<S, E, D, T>) -> Self::Output {
        S::run(x, &self.weight, self.bias.as_ref())
    }
}

/// `Self` is an input shape `(..., K)` of a [`Linear`] layer from `I` to
/// `O` features (`K` agrees with `I`); [`LinearChecked::Output`] is
/// `(..., O)`. It is the bound of `Linear`'s `Module` impl, so generic code
/// can state it instead of `Linear<I, O>: Module<Tensor<S>>`:
///
/// ```
/// use typegrad::nn::{Linear, LinearChecked, Module};
/// use typegrad::prelude::*;
/// fn head<S: LinearChecked<u!(4), u!(2)>>(
///     fc: &Linear<u!(4), u!(2)>,
///     x: Tensor<S>,
/// ) -> Tensor<S::Output> {
///     fc.forward(x)
/// }
/// let dev = Cpu::default();
/// let fc: Linear<u!(4), u!(2)> = Linear::new(&dev);
/// let y = head(&fc, Tensor::<(Dyn, u!(4))>::zeros((Dyn(3), Default::default()), &dev));
/// assert_eq!(&*y.dims(), &[3, 2]);
/// ```
///
/// The feature check is named through the output type
/// (`<G as DimsChecked<X>>::Then<…>`) rather than stated as a bound of the
/// `Module` impl: rustc then reports a mismatch at the `forward` call with
/// both sizes in decimal and no note naming the layer in typenum's binary
/// form (see [`DimsChecked`]).
pub trait LinearChecked<I: Dim, O: Dim>: Shape {
    /// The output shape.
    type Output: Shape;
    /// The layer's forward.
    fn run<E: Dtype, D: Device<E>, T: Tracking<E, D>>(
        x: Tensor<Self, E, D, T>,
        weight: &Tensor<(O, I), E, D>,
        bias: Option<&Tensor<(O,), E, D>>,
    ) -> Tensor<Self::Output, E, D, T>;
}
impl<I: Dim, O: Dim, S> LinearChecked<I, O> for S
where
    S: LinearVerdict<I> + LinearShape<I, O, LinearGot<S, I>, LinearExp<S, I>>,
    LinearGot<S, I>: DimsChecked<LinearExp<S, I>>,
{
    type Output = <LinearGot<S, I> as DimsChecked<LinearExp<S, I>>>::Then<
        <S as LinearShape<I, O, LinearGot<S, I>, LinearExp<S, I>>>::Output,
    >;
    #[track_caller]
    fn run<E: Dtype, D: Device<E>, T: Tracking<E, D>>(
        x: Tensor<Self, E, D, T>,
        weight: &Tensor<(O, I), E, D>,
        bias: Option<&Tensor<(O,), E, D>>,
    ) -> Tensor<Self::Output, E, D, T> {
        <LinearGot<S, I> as DimsChecked<LinearExp<S, I>>>::pass(
            x.try_linear_unchecked(weight, bias)
                .unwrap_or_else(|e| panic!("{e}")),
        )
    }
}

/// `weight`, then `bias` (if any): PyTorch's `state_dict` names.
impl<I: Dim, O: Dim, E: Dtype, D: Backend> Params<E, D> for Linear<I, O, E, D> {
    fn visit_params(
        &self,
        path: &mut ParamPath,
        f: &mut dyn FnMut(&ParamPath, ParamRef<'_, E, D>),
    ) {
        path.push("weight");
        self.weight.visit_params(path, f);
        path.pop();
        if let Some(b) = &self.bias {
            path.push("bias");
            b.visit_params(path, f);
            path.pop();
        }
    }
    fn visit_params_mut(
        &mut self,
        path: &mut ParamPath,
        f: &mut dyn FnMut(&ParamPath, ParamMut<'_, E, D>),
    ) {
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
