//! [`LayerNormNd`] (and [`LayerNorm`], its one-axis form): normalisation
//! of each sample over its trailing axes.

use crate::autograd::Tracking;
use crate::backend::{Backend, Cpu, Device};
use crate::dtype::Dtype;
use crate::nn::{Module, ParamMut, ParamPath, ParamRef, Params};
use crate::ops::norm::{layer_norm, LayerNormParams};
use crate::shape::{check_dim, ConstShape, Dim, DimsChecked, Error, Shape, ShapeVerdict};
use crate::tensor::Tensor;

/// Layer normalisation over the trailing axes `N` (PyTorch's
/// `normalized_shape`), for inputs with any leading axes (static or
/// [`Dyn`](crate::Dyn)): each sample is normalised by the mean and biased
/// variance of its `N` values, then scaled and shifted elementwise,
/// `y = (x - mean) / √(var + eps) · weight + bias`, as PyTorch's
/// `nn.LayerNorm(normalized_shape)`. The same in training and evaluation.
///
/// `N` is a shape: `LayerNormNd<(C, H, W)>` normalises images over
/// channels and space, and [`LayerNorm<M>`](LayerNorm) is
/// `LayerNormNd<(M,)>`, the usual form over the last axis. The parameters
/// are named and shaped as in PyTorch: `weight` and `bias`, both of shape
/// `N` (ones and zeros), absent without the elementwise affine
/// ([`LayerNormNd::no_affine`]).
///
/// One fused op forward (statistics and output in one sweep per row) and
/// backward (`gx = (g - mean(g) - x̂·mean(g·x̂)) / σ` with `g = gy · weight`);
/// the parameters' gradients come back under their own ids.
///
/// ```
/// use typegrad::prelude::*;
/// use typegrad::nn::{LayerNorm, LayerNormNd, Module, Params};
/// let dev = Cpu::default();
/// let ln: LayerNorm<u!(4), f64> = LayerNorm::new(&dev);
/// let x: Tensor<(Dyn, u!(4)), f64> = Tensor::from_vec((Dyn(1), Default::default()), vec![1.0, 2.0, 3.0, 4.0], &dev);
/// let y = ln.forward(x).to_vec();
/// let s = (1.25f64 + 1e-5).sqrt(); // biased variance of 1..4 is 1.25
/// assert!((y[0] + 1.5 / s).abs() < 1e-12 && (y[3] - 1.5 / s).abs() < 1e-12);
///
/// // Over (C, H, W) of images: weight and bias have that shape.
/// let ln2: LayerNormNd<(u!(3), u!(2), u!(2))> = LayerNormNd::new(&dev);
/// assert_eq!(ln2.num_params(), 2 * 12);
/// let img: Tensor<(Dyn, u!(3), u!(2), u!(2))> = Tensor::ones((Dyn(5), Default::default(), Default::default(), Default::default()), &dev);
/// assert_eq!(&*ln2.forward(img).dims(), &[5, 3, 2, 2]);
/// ```
#[derive(Clone, Debug)]
pub struct LayerNormNd<N: Shape, E: Dtype = f32, D: Backend = Cpu> {
    /// The elementwise scale (ones), `None` without the affine parameters.
    pub weight: Option<Tensor<N, E, D>>,
    /// The elementwise shift (zeros), `None` without a bias.
    pub bias: Option<Tensor<N, E, D>>,
    /// Added to the variance before the square root (1e-5).
    pub eps: f64,
    normalized: N,
}

/// Layer normalisation over the last axis, of size `M`: `LayerNormNd<(M,)>`
/// (see [`LayerNormNd`]). The transformer's layer norm.
///
/// ```
/// use typegrad::prelude::*;
/// use typegrad::nn::{LayerNorm, Module};
/// let dev = Cpu::seeded(0);
/// let ln: LayerNorm<u!(8)> = LayerNorm::new(&dev);
/// let x: Tensor<(Dyn, Dyn, u!(8))> = Tensor::randn((Dyn(2), Dyn(5), Default::default()), 3.0, 2.0, &dev);
/// let grads = ln.forward(x.trace()).square().sum().backward();
/// assert!(grads.get(ln.weight.as_ref().unwrap()).is_some());
/// ```
pub type LayerNorm<M, E = f32, D = Cpu> = LayerNormNd<(M,), E, D>;

impl<N: ConstShape, E: Dtype, D: Backend> LayerNormNd<N, E, D> {
    /// A layer with PyTorch's defaults: weight ones, bias zeros,
    /// `eps = 1e-5`.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::nn::LayerNorm;
    /// let ln: LayerNorm<u!(3)> = LayerNorm::new(&Cpu::default());
    /// assert_eq!(ln.weight.as_ref().unwrap().to_vec(), vec![1.0; 3]);
    /// assert_eq!(ln.bias.as_ref().unwrap().to_vec(), vec![0.0; 3]);
    /// ```
    pub fn new(device: &D) -> Self {
        LayerNormNd {
            weight: Some(Tensor::ones(N::default(), device)),
            bias: Some(Tensor::zeros(N::default(), device)),
            eps: 1e-5,
            normalized: N::default(),
        }
    }

    /// A layer without parameters (PyTorch's `elementwise_affine=False`):
    /// `y = (x - mean) / √(var + eps)`.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::nn::{LayerNorm, Params};
    /// let ln: LayerNorm<u!(3)> = LayerNorm::no_affine(&Cpu::default());
    /// assert_eq!(ln.num_params(), 0);
    /// ```
    pub fn no_affine(device: &D) -> Self {
        let _ = device;
        LayerNormNd {
            weight: None,
            bias: None,
            eps: 1e-5,
            normalized: N::default(),
        }
    }

    /// A layer with a weight and no bias (PyTorch's `bias=False`).
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::nn::{LayerNorm, Params};
    /// let ln: LayerNorm<u!(3)> = LayerNorm::no_bias(&Cpu::default());
    /// assert_eq!(ln.num_params(), 3);
    /// ```
    pub fn no_bias(device: &D) -> Self {
        let mut ln = Self::new(device);
        ln.bias = None;
        ln
    }
}

impl<N: Shape, E: Dtype, D: Backend> LayerNormNd<N, E, D> {
    /// The same layer with another `eps`.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::nn::LayerNorm;
    /// let ln: LayerNorm<u!(3)> = LayerNorm::new(&Cpu::default()).with_eps(1e-6);
    /// assert_eq!(ln.eps, 1e-6);
    /// ```
    #[must_use]
    pub fn with_eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }

    /// The normalised trailing shape (PyTorch's `normalized_shape`).
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::nn::LayerNormNd;
    /// let ln: LayerNormNd<(u!(2), u!(5))> = LayerNormNd::new(&Cpu::default());
    /// assert_eq!(&*ln.normalized_shape().dims(), &[2, 5]);
    /// ```
    pub fn normalized_shape(&self) -> N {
        self.normalized
    }

    /// Fallible forward: a `Dyn` trailing dim other than the normalised
    /// shape's is an [`Error::DimMismatch`] instead of a panic.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::nn::LayerNorm;
    /// let dev = Cpu::default();
    /// let ln: LayerNorm<u!(4)> = LayerNorm::new(&dev);
    /// let x: Tensor<(u!(2), Dyn)> = Tensor::zeros((Default::default(), Dyn(3)), &dev);
    /// assert_eq!(
    ///     ln.try_forward(x).unwrap_err().to_string(),
    ///     "layer_norm: dimension mismatch on axis 1 (input vs normalized_shape): got 3, expected 4"
    /// );
    /// ```
    pub fn try_forward<S, T: Tracking<E, D>>(
        &self,
        x: Tensor<S, E, D, T>,
    ) -> Result<Tensor<<S as LayerNormChecked<N>>::Output, E, D, T>, Error>
    where
        S: LayerNormChecked<N>,
        D: Device<E>,
    {
        self.try_forward_unchecked(x).map(S::pass)
    }

    pub(crate) fn try_forward_unchecked<S: Shape, T: Tracking<E, D>>(
        &self,
        x: Tensor<S, E, D, T>,
    ) -> Result<Tensor<S, E, D, T>, Error>
    where
        D: Device<E>,
    {
        let dims = x.dims();
        let norm = self.normalized.dims();
        let lead = dims.len() - norm.len();
        for (i, (&got, &want)) in dims[lead..].iter().zip(norm.iter()).enumerate() {
            check_dim(
                "layer_norm",
                lead + i,
                "input vs normalized_shape",
                got,
                want,
            )?;
        }
        let p = LayerNormParams {
            rows: dims[..lead].iter().product(),
            cols: norm.iter().product(),
        };
        let w = self.weight.as_ref().map(|w| (w.id, &w.data));
        let b = self.bias.as_ref().map(|b| (b.id, &b.data));
        Ok(layer_norm(x, p, self.eps, w, b))
    }
}

/// The same forward for every tape and mode. Panics on a `Dyn` mismatch
/// of the trailing dims (see [`LayerNormNd::try_forward`]).
impl<N: Shape, E: Dtype, D: Device<E>, S, T: Tracking<E, D>> Module<Tensor<S, E, D, T>>
    for LayerNormNd<N, E, D>
where
    S: LayerNormChecked<N>,
{
    type Output = Tensor<<S as LayerNormChecked<N>>::Output, E, D, T>;
    #[track_caller]
    fn forward(&self, x: Tensor<S, E, D, T>) -> Self::Output {
        S::pass(
            self.try_forward_unchecked(x)
                .unwrap_or_else(|e| panic!("{e}")),
        )
    }
}

/// The verdict on the trailing axes of an input shape `Self` against the
/// normalised shape `N` ([`ShapeVerdict`]): implemented for inputs of rank
/// 1 to 6 whose last `N::RANK` (1 to 4) axes are compared.
pub trait LayerNormVerdict<N: Shape>: Shape {
    /// [`crate::shape::Agree`], or the first disagreeing dim found, in decimal.
    type Got;
    /// [`crate::shape::Agree`], or the first disagreeing dim expected, in decimal.
    type Exp;
}

/// `Self` is an input a layer norm over `N` takes (its trailing axes
/// agree with `N`); the output has the input's shape. The bound of
/// [`LayerNormNd`]'s `Module` impl, for generic code.
///
/// ```
/// use typegrad::nn::{LayerNorm, LayerNormChecked, Module};
/// use typegrad::prelude::*;
/// fn norm<S: LayerNormChecked<(u!(4),)>>(ln: &LayerNorm<u!(4)>, x: Tensor<S>) -> Tensor<S::Output> {
///     ln.forward(x)
/// }
/// let dev = Cpu::default();
/// let y = norm(&LayerNorm::new(&dev), Tensor::<(Dyn, u!(4))>::ones((Dyn(3), Default::default()), &dev));
/// assert_eq!(y.to_vec(), vec![0.0; 12]);
/// ```
pub trait LayerNormChecked<N: Shape>: Shape {
    /// The output shape (the input's).
    type Output: Shape;
    /// The tensor itself, typed with the output shape.
    fn pass<E: Dtype, D: Backend, T>(t: Tensor<Self, E, D, T>) -> Tensor<Self::Output, E, D, T>;
}

impl<N: Shape, S> LayerNormChecked<N> for S
where
    S: LayerNormVerdict<N>,
    <S as LayerNormVerdict<N>>::Got: DimsChecked<<S as LayerNormVerdict<N>>::Exp>,
{
    type Output =
        <<S as LayerNormVerdict<N>>::Got as DimsChecked<<S as LayerNormVerdict<N>>::Exp>>::Then<S>;
    #[inline]
    fn pass<E: Dtype, D: Backend, T>(t: Tensor<S, E, D, T>) -> Tensor<Self::Output, E, D, T> {
        <<S as LayerNormVerdict<N>>::Got as DimsChecked<<S as LayerNormVerdict<N>>::Exp>>::pass(t)
    }
}

macro_rules! ln_verdict {
    ($($A:ident)* ; $($T:ident $N:ident)+) => {
        impl<$($A: Dim,)* $($T: Dim, $N: Dim,)+> LayerNormVerdict<($($N,)+)> for ($($A,)* $($T,)+)
        where
            ($($T,)+): ShapeVerdict<($($N,)+)>,
        {
            type Got = <($($T,)+) as ShapeVerdict<($($N,)+)>>::Got;
            type Exp = <($($T,)+) as ShapeVerdict<($($N,)+)>>::Exp;
        }
    };
}
ln_verdict!(; T0 N0);
ln_verdict!(A0; T0 N0);
ln_verdict!(A0 A1; T0 N0);
ln_verdict!(A0 A1 A2; T0 N0);
ln_verdict!(A0 A1 A2 A3; T0 N0);
ln_verdict!(A0 A1 A2 A3 A4; T0 N0);
ln_verdict!(; T0 N0 T1 N1);
ln_verdict!(A0; T0 N0 T1 N1);
ln_verdict!(A0 A1; T0 N0 T1 N1);
ln_verdict!(A0 A1 A2; T0 N0 T1 N1);
ln_verdict!(A0 A1 A2 A3; T0 N0 T1 N1);
ln_verdict!(; T0 N0 T1 N1 T2 N2);
ln_verdict!(A0; T0 N0 T1 N1 T2 N2);
ln_verdict!(A0 A1; T0 N0 T1 N1 T2 N2);
ln_verdict!(A0 A1 A2; T0 N0 T1 N1 T2 N2);
ln_verdict!(; T0 N0 T1 N1 T2 N2 T3 N3);
ln_verdict!(A0; T0 N0 T1 N1 T2 N2 T3 N3);
ln_verdict!(A0 A1; T0 N0 T1 N1 T2 N2 T3 N3);

/// PyTorch's `state_dict` names: `weight`, `bias` (when present).
impl<N: Shape, E: Dtype, D: Backend> Params<E, D> for LayerNormNd<N, E, D> {
    fn visit_params(
        &self,
        path: &mut ParamPath,
        f: &mut dyn FnMut(&ParamPath, ParamRef<'_, E, D>),
    ) {
        for (name, t) in [("weight", &self.weight), ("bias", &self.bias)] {
            if let Some(t) = t {
                path.push(name);
                t.visit_params(path, f);
                path.pop();
            }
        }
    }
    fn visit_params_mut(
        &mut self,
        path: &mut ParamPath,
        f: &mut dyn FnMut(&ParamPath, ParamMut<'_, E, D>),
    ) {
        for (name, t) in [("weight", &mut self.weight), ("bias", &mut self.bias)] {
            if let Some(t) = t {
                path.push(name);
                t.visit_params_mut(path, f);
                path.pop();
            }
        }
    }
    fn move_to_device(&mut self, device: &D) {
        self.weight.move_to_device(device);
        self.bias.move_to_device(device);
    }
}
