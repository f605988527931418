//! Activation modules: unit structs (or a slope) applying an elementwise
//! nonlinearity, or softmax over the last axis, to a tensor of any shape,
//! tracked or not. They hold no parameters.

use super::{Module, ParamMut, ParamPath, ParamRef, Params};
use crate::autograd::Tracking;
use crate::backend::{Backend, Device};
use crate::dtype::Dtype;
use crate::shape::{Dim, Shape};
use crate::tensor::Tensor;

macro_rules! elementwise {
    ($(#[$doc:meta])* $name:ident, |$x:ident| $body:expr) => {
        $(#[$doc])*
        #[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
        pub struct $name;

        impl<S: Shape, E: Dtype, D: Device<E>, T: Tracking<E, D>> Module<Tensor<S, E, D, T>> for $name {
            type Output = Tensor<S, E, D, T>;
            fn forward(&self, $x: Tensor<S, E, D, T>) -> Self::Output {
                $body
            }
        }

        no_params!($name);
    };
}

macro_rules! no_params {
    ($name:ident) => {
        /// No parameters.
        impl<E: Dtype, D: Backend> Params<E, D> for $name {
            fn visit_params(
                &self,
                _: &mut ParamPath,
                _: &mut dyn FnMut(&ParamPath, ParamRef<'_, E, D>),
            ) {
            }
            fn visit_params_mut(
                &mut self,
                _: &mut ParamPath,
                _: &mut dyn FnMut(&ParamPath, ParamMut<'_, E, D>),
            ) {
            }
        }
    };
}

elementwise!(
    /// `max(x, 0)` ([`Tensor::relu`]; gradient 0 at 0, as PyTorch).
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::nn::{Module, ReLU};
    /// let x = Tensor::<(u!(3),), f32>::from_vec_static(vec![-1.0, 0.0, 2.0], &Cpu::default());
    /// assert_eq!(ReLU.forward(x).to_vec(), vec![0.0, 0.0, 2.0]);
    /// ```
    ReLU,
    |x| x.relu()
);

elementwise!(
    /// Hyperbolic tangent ([`Tensor::tanh`]).
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::nn::{Module, Tanh};
    /// let x = Tensor::<(u!(1),), f64>::from_vec_static(vec![0.5], &Cpu::default());
    /// assert_eq!(Tanh.forward(x).to_vec(), vec![0.5f64.tanh()]);
    /// ```
    Tanh,
    |x| x.tanh()
);

elementwise!(
    /// Logistic sigmoid `1 / (1 + e^-x)` ([`Tensor::sigmoid`]).
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::nn::{Module, Sigmoid};
    /// let x = Tensor::<(u!(1),), f64>::from_vec_static(vec![0.0], &Cpu::default());
    /// assert_eq!(Sigmoid.forward(x).to_vec(), vec![0.5]);
    /// ```
    Sigmoid,
    |x| x.sigmoid()
);

elementwise!(
    /// SiLU (swish) `x · sigmoid(x)` ([`Tensor::silu`]).
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::nn::{Module, SiLU};
    /// let x = Tensor::<(u!(1),), f64>::from_vec_static(vec![1.0], &Cpu::default());
    /// assert!((SiLU.forward(x).to_vec()[0] - 1.0 / (1.0 + (-1.0f64).exp())).abs() < 1e-15);
    /// ```
    SiLU,
    |x| x.silu()
);

elementwise!(
    /// Exact GELU `x · Φ(x)` with the normal CDF through `erf`
    /// ([`Tensor::gelu`]; PyTorch's `nn.GELU()`).
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::nn::{Module, GELU};
    /// let x = Tensor::<(u!(2),), f64>::from_vec_static(vec![0.0, 1.0], &Cpu::default());
    /// let y = GELU.forward(x).to_vec();
    /// assert_eq!(y[0], 0.0);
    /// assert!((y[1] - 0.8413447460685429).abs() < 1e-12);
    /// ```
    GELU,
    |x| x.gelu()
);

elementwise!(
    /// GELU with the tanh approximation ([`Tensor::gelu_tanh`]; PyTorch's
    /// `nn.GELU(approximate="tanh")`, GPT-2's).
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::nn::{Module, GELUTanh};
    /// let x = Tensor::<(u!(1),), f64>::from_vec_static(vec![1.0], &Cpu::default());
    /// assert!((GELUTanh.forward(x).to_vec()[0] - 0.8411919906082768).abs() < 1e-12);
    /// ```
    GELUTanh,
    |x| x.gelu_tanh()
);

/// Leaky ReLU: `x` for positive `x`, else `slope · x`
/// ([`Tensor::leaky_relu`]). PyTorch's default slope is 0.01
/// ([`LeakyReLU::default`]).
///
/// ```
/// use typegrad::prelude::*;
/// use typegrad::nn::{LeakyReLU, Module};
/// let x = Tensor::<(u!(2),), f64>::from_vec_static(vec![-2.0, 3.0], &Cpu::default());
/// assert_eq!(LeakyReLU(0.1).forward(x.clone()).to_vec(), vec![-0.2, 3.0]);
/// assert_eq!(LeakyReLU::default().forward(x).to_vec(), vec![-0.02, 3.0]);
/// ```
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct LeakyReLU(pub f64);

impl Default for LeakyReLU {
    /// Slope 0.01, as PyTorch.
    fn default() -> Self {
        LeakyReLU(0.01)
    }
}

impl<S: Shape, E: Dtype, D: Device<E>, T: Tracking<E, D>> Module<Tensor<S, E, D, T>> for LeakyReLU {
    type Output = Tensor<S, E, D, T>;
    fn forward(&self, x: Tensor<S, E, D, T>) -> Self::Output {
        x.leaky_relu(E::from_f64(self.0))
    }
}
no_params!(LeakyReLU);

/// Softmax over the **last** axis (class scores to probabilities), stable
/// for any magnitude ([`Tensor::softmax`]). For another axis call
/// `x.softmax::<I>()` directly. Ranks 1 to 6.
///
/// ```
/// use typegrad::prelude::*;
/// use typegrad::nn::{Module, Softmax};
/// let x = Tensor::<(u!(2), u!(2)), f64>::from_vec_static(vec![0.0, 0.0, 1e4, 0.0], &Cpu::default());
/// assert_eq!(Softmax.forward(x).to_vec(), vec![0.5, 0.5, 1.0, 0.0]);
/// ```
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Softmax;

/// Log-softmax over the **last** axis (`x - logsumexp(x)`, stable;
/// [`Tensor::log_softmax`]). Ranks 1 to 6.
///
/// ```
/// use typegrad::prelude::*;
/// use typegrad::nn::{LogSoftmax, Module};
/// let x = Tensor::<(u!(2),), f64>::from_vec_static(vec![0.0, 0.0], &Cpu::default());
/// assert_eq!(LogSoftmax.forward(x).to_vec(), vec![-(2f64.ln()); 2]);
/// ```
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct LogSoftmax;

no_params!(Softmax);
no_params!(LogSoftmax);

macro_rules! last_axis {
    ($last:literal; $($A:ident),+) => {
        impl<$($A: Dim,)+ E: Dtype, D: Device<E>, T: Tracking<E, D>> Module<Tensor<($($A,)+), E, D, T>> for Softmax {
            type Output = Tensor<($($A,)+), E, D, T>;
            fn forward(&self, x: Tensor<($($A,)+), E, D, T>) -> Self::Output {
                x.softmax::<$last>()
            }
        }
        impl<$($A: Dim,)+ E: Dtype, D: Device<E>, T: Tracking<E, D>> Module<Tensor<($($A,)+), E, D, T>> for LogSoftmax {
            type Output = Tensor<($($A,)+), E, D, T>;
            fn forward(&self, x: Tensor<($($A,)+), E, D, T>) -> Self::Output {
                x.log_softmax::<$last>()
            }
        }
    };
}
last_axis!(0; A0);
last_axis!(1; A0, A1);
last_axis!(2; A0, A1, A2);
last_axis!(3; A0, A1, A2, A3);
last_axis!(4; A0, A1, A2, A3, A4);
last_axis!(5; A0, A1, A2, A3, A4, A5);
