//! [`FeedForwardBlock`]: `x + W2 act(W1 LN(x))`.

use super::rows;
use crate::autograd::Tracking;
use crate::backend::{Backend, Cpu, Device};
use crate::dtype::Dtype;
use crate::nn::residual::add_same;
use crate::nn::{Dropout, LayerNorm, LayerNormChecked, Linear, Module, GELU};
use crate::shape::{Dim, Dyn, Error, Shape, StaticDim};
use crate::tensor::Tensor;

/// Rows with runtime dims, the form the block computes in.
type Rows<E, D, T> = Tensor<(Dyn, Dyn), E, D, T>;

/// The pre-LN feed-forward block of a transformer (book fig. 5.6):
/// `y = x + dropout(fc2(act(fc1(ln(x)))))`, applied to every position of
/// an input `(..., N, Dm)`, with `Hidden` units (usually `4·Dm`) and the
/// activation `A` ([`GELU`] by default; [`ReLU`](crate::nn::ReLU) as in
/// the original transformer). The output has the input's shape.
///
/// Parameters: `ln.weight`, `ln.bias`, `fc1.weight` `(Hidden, Dm)`,
/// `fc1.bias`, `fc2.weight` `(Dm, Hidden)`, `fc2.bias`: PyTorch's layouts
/// (`nn.LayerNorm(Dm)`, `nn.Linear(Dm, Hidden)`, `nn.Linear(Hidden, Dm)`).
///
/// ```
/// use typegrad::nn::{FeedForwardBlock, Module, Params};
/// use typegrad::prelude::*;
/// let dev = Cpu::seeded(0);
/// let ff: FeedForwardBlock<u!(8), u!(32)> = FeedForwardBlock::new(&dev);
/// assert_eq!(ff.num_params(), 2 * 8 + (32 * 8 + 32) + (8 * 32 + 8));
/// let x: Tensor<(Dyn, Dyn, u!(8))> = Tensor::randn((Dyn(2), Dyn(5), Default::default()), 0.0, 1.0, &dev);
/// let y = ff.forward(x.clone()); // Tensor<(Dyn, Dyn, U8)>
/// assert_eq!(&*y.dims(), &[2, 5, 8]);
/// // The residual: y - x is the path's output, here with zeroed fc2.
/// let mut ff = ff;
/// ff.fc2.weight = Tensor::zeros(Default::default(), &dev);
/// ff.fc2.bias = Some(Tensor::zeros(Default::default(), &dev));
/// assert_eq!(ff.forward(x.clone()).to_vec(), x.to_vec());
/// ```
///
/// An input whose last dim is not `Dm` does not compile:
///
/// ```compile_fail,E0277
/// use typegrad::nn::{FeedForwardBlock, Module};
/// use typegrad::prelude::*;
/// let dev = Cpu::default();
/// let ff: FeedForwardBlock<u!(8), u!(32)> = FeedForwardBlock::new(&dev);
/// let x: Tensor<(Dyn, u!(6))> = Tensor::zeros((Dyn(2), Default::default()), &dev);
/// let _ = ff.forward(x); // dimension mismatch: got N<_6>, expected N<_8>
/// ```
#[derive(Clone, Debug, crate::nn::Module)]
#[module(crate = crate)]
pub struct FeedForwardBlock<Dm: Dim, Hidden: Dim, A = GELU, E: Dtype = f32, D: Backend = Cpu> {
    /// The layer norm before the MLP.
    pub ln: LayerNorm<Dm, E, D>,
    /// `Dm -> Hidden`.
    pub fc1: Linear<Dm, Hidden, E, D>,
    /// The activation between the two linear layers.
    #[module(skip)]
    pub act: A,
    /// `Hidden -> Dm`.
    pub fc2: Linear<Hidden, Dm, E, D>,
    /// Residual dropout on the MLP's output (training modes only).
    #[module(skip)]
    pub dropout: Dropout,
}

impl<Dm: StaticDim, Hidden: StaticDim, A: Default, E: Dtype, D: Backend>
    FeedForwardBlock<Dm, Hidden, A, E, D>
{
    /// PyTorch's default initialisation (`nn.LayerNorm`, `nn.Linear`), no
    /// dropout.
    pub fn new(device: &D) -> Self {
        FeedForwardBlock {
            ln: LayerNorm::new(device),
            fc1: Linear::new(device),
            act: A::default(),
            fc2: Linear::new(device),
            dropout: Dropout::new(0.0),
        }
    }
}

impl<Dm: Dim, Hidden: Dim, A, E: Dtype, D: Backend> FeedForwardBlock<Dm, Hidden, A, E, D> {
    /// The same block with residual dropout of rate `p` (panics unless
    /// `0 <= p <= 1`).
    ///
    /// ```
    /// use typegrad::nn::FeedForwardBlock;
    /// use typegrad::prelude::*;
    /// let ff: FeedForwardBlock<u!(4), u!(8)> = FeedForwardBlock::new(&Cpu::default()).with_dropout(0.1);
    /// assert_eq!(ff.dropout.p, 0.1);
    /// ```
    #[track_caller]
    pub fn with_dropout(mut self, p: f64) -> Self {
        self.dropout = Dropout::new(p);
        self
    }
}

impl<Dm: StaticDim, Hidden: StaticDim, A, E: Dtype, D: Device<E>>
    FeedForwardBlock<Dm, Hidden, A, E, D>
{
    /// Fallible forward: a `Dyn` last dim other than `Dm` is an
    /// [`Error::DimMismatch`] instead of a panic.
    ///
    /// ```
    /// use typegrad::nn::FeedForwardBlock;
    /// use typegrad::prelude::*;
    /// let dev = Cpu::default();
    /// let ff: FeedForwardBlock<u!(4), u!(8)> = FeedForwardBlock::new(&dev);
    /// let x: Tensor<(Dyn, Dyn)> = Tensor::zeros((Dyn(3), Dyn(5)), &dev);
    /// assert_eq!(
    ///     ff.try_forward(x).unwrap_err().to_string(),
    ///     "layer_norm: dimension mismatch on axis 1 (input vs normalized_shape): got 5, expected 4"
    /// );
    /// ```
    pub fn try_forward<S, T: Tracking<E, D>>(
        &self,
        x: Tensor<S, E, D, T>,
    ) -> Result<Tensor<<S as LayerNormChecked<(Dm,)>>::Output, E, D, T>, Error>
    where
        S: LayerNormChecked<(Dm,)>,
        A: Module<Rows<E, D, T>, Output = Rows<E, D, T>>,
    {
        self.forward_same(x).map(S::pass)
    }

    /// The block on any shape (the last dim checked at run time).
    pub(crate) fn forward_same<S: Shape, T: Tracking<E, D>>(
        &self,
        x: Tensor<S, E, D, T>,
    ) -> Result<Tensor<S, E, D, T>, Error>
    where
        A: Module<Rows<E, D, T>, Output = Rows<E, D, T>>,
    {
        let shape = x.shape;
        let h = rows(x.clone())?;
        let n = h.dims()[0];
        let h = self.ln.try_forward(h)?;
        let h: Rows<E, D, T> = self
            .fc1
            .try_forward(h)?
            .try_reshape_to((Dyn(n), Dyn(Hidden::USIZE)))?;
        let h = self.act.forward(h);
        let h = self.fc2.try_forward(h)?;
        let h = self.dropout.forward(h).try_reshape_to(shape)?;
        Ok(add_same(x, h))
    }
}

/// `x + fc2(act(fc1(ln(x))))` for inputs `(..., Dm)`; panics on a `Dyn`
/// last dim other than `Dm` (see [`FeedForwardBlock::try_forward`]).
impl<Dm, Hidden, A, E, D, S, T> Module<Tensor<S, E, D, T>> for FeedForwardBlock<Dm, Hidden, A, E, D>
where
    Dm: StaticDim,
    Hidden: StaticDim,
    E: Dtype,
    D: Device<E>,
    T: Tracking<E, D>,
    S: LayerNormChecked<(Dm,)>,
    A: Module<Rows<E, D, T>, Output = Rows<E, D, T>>,
{
    type Output = Tensor<<S as LayerNormChecked<(Dm,)>>::Output, E, D, T>;
    #[track_caller]
    fn forward(&self, x: Tensor<S, E, D, T>) -> Self::Output {
        S::pass(self.forward_same(x).unwrap_or_else(|e| panic!("{e}")))
    }
}
