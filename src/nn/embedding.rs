//! [`Embedding`]: a lookup table from token ids to vectors, and the way
//! token ids join a tape ([`Tensor::traced`], [`Tensor::with_tape`] on
//! `usize` tensors).

use super::init::Init;
use super::{Module, ParamMut, ParamPath, ParamRef, Params};
use crate::autograd::{Tape, Tracking};
use crate::backend::{Backend, Cpu, Device};
use crate::dtype::Dtype;
use crate::shape::{Dim, Error, Shape, StaticDim};
use crate::tensor::{op_result, Tensor};

/// A table of `V` vectors of `Dm` features (PyTorch's `nn.Embedding`):
/// token ids of any shape `S` give their rows, `S -> (S..., Dm)`.
///
/// The parameter is `weight: (V, Dm)`, as in PyTorch, initialised `N(0, 1)`.
///
/// **Token ids and the tape.** Ids are `usize` tensors. An untracked id
/// tensor evaluates (no bookkeeping at all). To train, put the ids on a
/// tape as a float input would be: [`ids.traced()`](Tensor::traced) starts
/// a fresh tape in [`Mode::Train`](crate::autograd::Mode) (ids have no
/// gradient of their own, so this is the `trace_no_grad` of token
/// inputs), [`ids.with_tape(tape)`](Tensor::with_tape) puts them on a given
/// tape or mode. The embedding's output is on the ids' tape with their
/// mode, so a dropout after it (GPT) drops in training and not in
/// evaluation, and the weight's gradient comes back under its own id.
///
/// Backward scatter-adds the output gradient into the rows of the weight
/// (a token that occurs several times accumulates), with the kernels of
/// [`Tensor::index_select`].
///
/// ```
/// use typegrad::prelude::*;
/// use typegrad::nn::Embedding;
///
/// let dev = Cpu::seeded(0);
/// let emb: Embedding<u!(10), u!(4)> = Embedding::new(&dev);
/// // A (B, T) batch of token ids.
/// let ids = Tensor::<(Dyn, Dyn), usize>::from_vec((Dyn(2), Dyn(3)), vec![1, 2, 3, 3, 2, 9], &dev);
/// let x = emb.forward(ids.clone()); // Tensor<(Dyn, Dyn, U4)>: evaluation
/// assert_eq!(&*x.dims(), &[2, 3, 4]);
/// assert_eq!(x.to_vec()[..4], emb.weight.to_vec()[4..8]); // row of token 1
///
/// // Training: the ids on a tape (Mode::Train); the weight gets its gradient.
/// let y = emb.forward(ids.traced());
/// assert_eq!(y.mode(), Mode::Train);
/// let grads = y.sum().backward();
/// let g = grads.get(&emb.weight).unwrap().to_vec();
/// assert_eq!(g[3 * 4..4 * 4], [2.0; 4]); // token 3 occurs twice
/// assert_eq!(g[0..4], [0.0; 4]); // token 0 not at all
/// ```
#[derive(Clone, Debug)]
pub struct Embedding<V: Dim, Dm: Dim, E: Dtype = f32, D: Backend = Cpu> {
    /// The table, `(V, Dm)` as in PyTorch: row `i` is the vector of token `i`.
    pub weight: Tensor<(V, Dm), E, D>,
}

impl<V: StaticDim, Dm: StaticDim, E: Dtype, D: Backend> Embedding<V, Dm, E, D> {
    /// A table initialised as PyTorch's `nn.Embedding`: every entry
    /// `N(0, 1)`, from the device's seeded stream.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::nn::{Embedding, Params};
    /// let a: Embedding<u!(100), u!(8), f64> = Embedding::new(&Cpu::seeded(3));
    /// let b: Embedding<u!(100), u!(8), f64> = Embedding::new(&Cpu::seeded(3));
    /// assert_eq!(a.weight.to_vec(), b.weight.to_vec());
    /// assert_eq!(a.num_params(), 800);
    /// ```
    pub fn new(device: &D) -> Self {
        let mut e = Embedding {
            weight: Tensor::zeros(Default::default(), device),
        };
        e.reset_params();
        e
    }
}

impl<V: Dim, Dm: Dim, E: Dtype, D: Backend> Embedding<V, Dm, E, D> {
    /// A table from a given `(V, Dm)` tensor (a `Dyn` vocabulary or width is
    /// fine: the sizes are the tensor's).
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::nn::{Embedding, Module};
    /// let dev = Cpu::default();
    /// let w = Tensor::<(Dyn, u!(2)), f32>::from_vec((Dyn(3), Default::default()), vec![0., 1., 2., 3., 4., 5.], &dev);
    /// let emb = Embedding::from_tensor(w);
    /// assert_eq!(emb.vocab_size(), 3);
    /// let ids = Tensor::<(u!(2),), usize>::from_vec_static(vec![2, 0], &dev);
    /// assert_eq!(emb.forward(ids).to_vec(), vec![4., 5., 0., 1.]);
    /// ```
    pub fn from_tensor(weight: Tensor<(V, Dm), E, D>) -> Self {
        Embedding { weight }
    }

    /// The number of rows (tokens): ids must be below it.
    pub fn vocab_size(&self) -> usize {
        self.weight.shape.0.size()
    }

    /// Refill the table with `N(0, 1)` (PyTorch's default), keeping the
    /// weight's id so optimizer state stays attached.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::nn::Embedding;
    /// let mut e: Embedding<u!(4), u!(2), f64> = Embedding::new(&Cpu::seeded(1));
    /// let (id, before) = (e.weight.id(), e.weight.to_vec());
    /// e.reset_params();
    /// assert_eq!(e.weight.id(), id);
    /// assert_ne!(e.weight.to_vec(), before);
    /// ```
    pub fn reset_params(&mut self) {
        let dims = self.weight.dims();
        let dev = self.weight.device.clone();
        self.weight.data = Init::Normal {
            mean: 0.0,
            std: 1.0,
        }
        .try_sample::<E, D>(&dims, &dev)
        .unwrap_or_else(|e| panic!("{e}"));
    }

    /// Fallible forward: an id `>=` the vocabulary size is an
    /// [`Error::IndexOutOfRange`] naming the id and the vocabulary size.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::nn::Embedding;
    /// let dev = Cpu::default();
    /// let emb: Embedding<u!(5), u!(2)> = Embedding::new(&dev);
    /// let ids = Tensor::<(Dyn,), usize>::from_vec((Dyn(3),), vec![0, 7, 1], &dev);
    /// let err = emb.try_forward(ids).unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "Embedding: token id >= vocabulary size: index 7 out of range for axis 0 of size 5"
    /// );
    /// ```
    pub fn try_forward<S: TokenShape<Dm>, T: Tracking<E, D>>(
        &self,
        ids: Tensor<S, usize, D, T>,
    ) -> Result<Tensor<S::Output, E, D, T>, Error>
    where
        D: Device<E>,
    {
        let (ids, tape) = ids.split_tape();
        let wdims = self.weight.dims();
        let dev = self.weight.device.clone();
        let y = dev
            .index_select(&self.weight.data, &wdims, 0, &ids.data)
            .map_err(|e| match e {
                Error::IndexOutOfRange { index, size, .. } => Error::IndexOutOfRange {
                    op: "Embedding: token id >= vocabulary size",
                    axis: 0,
                    index,
                    size,
                },
                e => e,
            })?;
        let out_shape = ids.shape.append(self.weight.shape.1);
        if !T::TRACKED {
            return Ok(op_result(out_shape, y, dev, tape, |_, _| {}));
        }
        let wid = self.weight.id;
        let idx = ids.data;
        Ok(op_result(out_shape, y, dev.clone(), tape, move |g, gy| {
            // Rows of repeated ids accumulate (scatter-add).
            g.accumulate(wid, dev.index_select_backward(gy, &wdims, 0, &idx));
        }))
    }
}

/// Token ids of shape `S` give `(S..., Dm)`; panics on an id out of range
/// (see [`Embedding::try_forward`]).
impl<V: Dim, Dm: Dim, E: Dtype, D: Device<E>, S: TokenShape<Dm>, T: Tracking<E, D>>
    Module<Tensor<S, usize, D, T>> for Embedding<V, Dm, E, D>
{
    type Output = Tensor<S::Output, E, D, T>;
    #[track_caller]
    fn forward(&self, ids: Tensor<S, usize, D, T>) -> Self::Output {
        self.try_forward(ids).unwrap_or_else(|e| panic!("{e}"))
    }
}

/// `weight`: PyTorch's `state_dict` name.
impl<V: Dim, Dm: Dim, E: Dtype, D: Backend> Params<E, D> for Embedding<V, Dm, E, D> {
    fn visit_params(
        &self,
        path: &mut ParamPath,
        f: &mut dyn FnMut(&ParamPath, ParamRef<'_, E, D>),
    ) {
        path.push("weight");
        self.weight.visit_params(path, f);
        path.pop();
    }
    fn visit_params_mut(
        &mut self,
        path: &mut ParamPath,
        f: &mut dyn FnMut(&ParamPath, ParamMut<'_, E, D>),
    ) {
        path.push("weight");
        self.weight.visit_params_mut(path, f);
        path.pop();
    }
    fn move_to_device(&mut self, device: &D) {
        self.weight.move_to_device(device);
    }
}

/// The shape of token ids (rank 0 to 5); [`TokenShape::Output`] is the
/// shape with a feature axis `Dm` appended, `(S..., Dm)`.
///
/// ```
/// use typegrad::nn::TokenShape;
/// use typegrad::prelude::*;
/// let s = (Dyn(2), Dyn(3)).append(<u!(8)>::default());
/// assert_eq!(&*s.dims(), &[2, 3, 8]);
/// ```
pub trait TokenShape<Dm: Dim>: Shape {
    /// `(S..., Dm)`.
    type Output: Shape;
    /// The shape value with `d` appended.
    fn append(self, d: Dm) -> Self::Output;
}

macro_rules! token_shape {
    ($($A:ident $i:tt),*) => {
        impl<$($A: Dim,)* Dm: Dim> TokenShape<Dm> for ($($A,)*) {
            type Output = ($($A,)* Dm,);
            #[inline]
            fn append(self, d: Dm) -> Self::Output {
                ($(self.$i,)* d,)
            }
        }
    };
}
token_shape!();
token_shape!(A0 0);
token_shape!(A0 0, A1 1);
token_shape!(A0 0, A1 1, A2 2);
token_shape!(A0 0, A1 1, A2 2, A3 3);
token_shape!(A0 0, A1 1, A2 2, A3 3, A4 4);

/// Token ids on a tape. `usize` tensors have no gradient, but an id tensor
/// may carry the tape of a float type `E` (`Tensor<S, usize, D, Tape<E,
/// D>>`) so that a model taking ids (an embedding first, as GPT) is
/// trained by the same `model.forward(input_on_a_tape)` as any other.
impl<S: Shape, D: Backend> Tensor<S, usize, D> {
    /// These ids on a fresh tape, in [`Mode::Train`](crate::autograd::Mode):
    /// what `x.trace_no_grad()` is for a float input. The float type `E` of
    /// the tape is usually inferred from the model.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::nn::Embedding;
    /// let dev = Cpu::seeded(0);
    /// let emb: Embedding<u!(4), u!(2), f64> = Embedding::new(&dev);
    /// let ids = Tensor::<(u!(3),), usize>::from_vec_static(vec![0, 1, 0], &dev);
    /// let grads = emb.forward(ids.traced()).sum().backward();
    /// assert_eq!(grads.get(&emb.weight).unwrap().to_vec(), vec![2., 2., 1., 1., 0., 0., 0., 0.]);
    /// ```
    pub fn traced<E: Dtype>(self) -> Tensor<S, usize, D, Tape<E, D>> {
        self.put_tape(Tape::default())
    }

    /// These ids on the given tape (any [`Tracking`]: a [`Tape`], possibly
    /// of another tensor, `x.tape().clone()`, or in another mode; or
    /// [`NoTape`](crate::autograd::NoTape)).
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::nn::{Dropout, Embedding, Module};
    /// let dev = Cpu::seeded(0);
    /// let emb: Embedding<u!(4), u!(8), f64> = Embedding::new(&dev);
    /// let ids = Tensor::<(u!(3),), usize>::from_vec_static(vec![0, 1, 2], &dev);
    /// // Evaluation with gradients (dropout off, weight gradient recorded).
    /// let x = emb.forward(ids.with_tape(Tape::<f64, Cpu>::default().with_mode(Mode::Eval)));
    /// let y = Dropout::new(0.5).forward(x.clone());
    /// assert_eq!(y.to_vec(), x.to_vec());
    /// assert!(y.sum().backward().get(&emb.weight).is_some());
    /// ```
    pub fn with_tape<T>(self, tape: T) -> Tensor<S, usize, D, T> {
        self.put_tape(tape)
    }
}
