//! `linear`: the fused `x · Wᵀ + b` of a Linear layer and its backward.
//!
//! The weight is stored `(out, in)` as in PyTorch. The forward is one gemm
//! reading `W` transposed through the kernel's flags (with the bias written
//! into the output first and the product accumulated onto it, on the CPU);
//! the backward is two gemms and a column sum, again without transposed
//! copies: `dX = dY · W`, `dW = dYᵀ · X` (all leading dims folded into the
//! rows, so the sum over the batch is part of the one product) and
//! `db = Σ_rows dY`.
//!
//! The weight and bias are **parameters**: untracked tensors. When the input
//! is tracked, the backward accumulates the gradients of the weight and the
//! bias on the input's tape, keyed by their ids, so `grads.get(&weight)`
//! works with the tensor the layer holds (no `trace()` of the parameters is
//! needed, and none can be forgotten).

use crate::autograd::Tracking;
use crate::backend::Device;
use crate::dtype::Dtype;
use crate::shape::{check_dim, Agree, Dim, DimVerdict, DimsAgree, Error, ExpOf, GotOf, Shape};
use crate::tensor::{op_result, Tensor};

pub use crate::backend::kernels::linear::{LinearGrads, LinearKernel, LinearParams, LinearWant};

/// `Self` (an input shape `(..., K)`) can go through a linear map from `I`
/// to `O` features: `K` must agree with `I` (equal static dims, or a `Dyn`
/// checked at run time). The output replaces the last dim by `O`.
/// Implemented for ranks 1 to 6.
///
/// `G` and `X` are the verdict on `K` against `I` ([`LinearVerdict`],
/// [`DimVerdict`]), [`Agree`] by default, so a generic bound
/// `S: LinearShape<I, O>` means "the features agree". [`Tensor::linear`]
/// takes them as parameters and requires `G: DimsAgree<X>` itself, which
/// keeps a mismatch error short (see [`crate::shape::DimsAgree`]).
///
/// ```
/// use typegrad::ops::matmul::LinearShape;
/// use typegrad::prelude::*;
/// let x = (Dyn(8), <u!(5)>::default(), <u!(3)>::default());
/// let (out, rows) = x.linear_shape(<u!(3)>::default(), <u!(2)>::default()).unwrap();
/// assert_eq!(&*out.dims(), &[8, 5, 2]);
/// assert_eq!(rows, 40);
/// ```
pub trait LinearShape<I: Dim, O: Dim, G = Agree, X = Agree>: Shape {
    /// The output shape `(..., O)`.
    type Output: Shape;
    /// Check the input features against `inp`; the output shape and the
    /// number of rows (product of the leading dims).
    fn linear_shape(&self, inp: I, out: O) -> Result<(Self::Output, usize), Error>;
}

/// The verdict ([`DimVerdict`]) on the last dim of `Self` against the input
/// features `I`: what an impl (such as `Linear`'s `Module` impl) names in
/// `S: LinearShape<I, O, LinearGot<S, I>, LinearExp<S, I>>` and
/// `LinearGot<S, I>: DimsAgree<LinearExp<S, I>>`.
pub trait LinearVerdict<I: Dim>: Shape {
    /// [`Agree`], or the input features found, in decimal.
    type Got;
    /// [`Agree`], or the input features expected, in decimal.
    type Exp;
}

/// [`LinearVerdict::Got`] of `S` against `I`.
pub type LinearGot<S, I> = <S as LinearVerdict<I>>::Got;
/// [`LinearVerdict::Exp`] of `S` against `I`.
pub type LinearExp<S, I> = <S as LinearVerdict<I>>::Exp;

macro_rules! linear_shape {
    ($last:tt; $($A:ident $i:tt),*) => {
        impl<$($A: Dim,)* K: Dim, I: Dim> LinearVerdict<I> for ($($A,)* K,)
        where
            K: DimVerdict<I>,
        {
            type Got = GotOf<K, I>;
            type Exp = ExpOf<K, I>;
        }

        impl<$($A: Dim,)* K: Dim, I: Dim, O: Dim> LinearShape<I, O, GotOf<K, I>, ExpOf<K, I>>
            for ($($A,)* K,)
        where
            K: DimVerdict<I>,
        {
            type Output = ($($A,)* O,);
            fn linear_shape(&self, inp: I, out: O) -> Result<(Self::Output, usize), Error> {
                check_dim(
                    "linear",
                    $last,
                    "input features vs weight columns",
                    self.$last.size(),
                    inp.size(),
                )?;
                let rows = self.dims().try_numel_of("linear", 0..$last)?;
                Ok((($(self.$i,)* out,), rows))
            }
        }
    };
}
linear_shape!(0;);
linear_shape!(1; A0 0);
linear_shape!(2; A0 0, A1 1);
linear_shape!(3; A0 0, A1 1, A2 2);
linear_shape!(4; A0 0, A1 1, A2 2, A3 3);
linear_shape!(5; A0 0, A1 1, A2 2, A3 3, A4 4);

impl<S: Shape, E: Dtype, D: Device<E>, T: Tracking<E, D>> Tensor<S, E, D, T> {
    /// The affine map of a Linear layer, `self · weightᵀ + bias`, over the
    /// last axis: `(..., I) -> (..., O)` with `weight: (O, I)` (PyTorch's
    /// layout) and `bias: (O,)`.
    ///
    /// One fused op: a single gemm forward (the transpose is read through
    /// the kernel's flags, the bias added in the same pass on the CPU), two
    /// gemms and a column sum backward. The weight and bias are untracked
    /// parameters; when `self` is tracked, their gradients are recorded on
    /// `self`'s tape under their ids (see the module docs of `ops::matmul::linear`).
    ///
    /// A static mismatch of the input features does not compile; a `Dyn`
    /// one panics naming both sizes (see [`Tensor::try_linear`]).
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let dev = Cpu::default();
    /// let x = Tensor::<(Dyn, u!(3)), f32>::from_vec((Dyn(2), Default::default()), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &dev);
    /// let w = Tensor::<(u!(2), u!(3)), f32>::from_vec_static(vec![1.0, 0.0, 0.0, 1.0, 1.0, 1.0], &dev);
    /// let b = Tensor::<(u!(2),), f32>::from_vec_static(vec![0.5, -1.0], &dev);
    /// let y = x.clone().linear(&w, Some(&b)); // Tensor<(Dyn, U2)>
    /// assert_eq!(y.to_vec(), vec![1.5, 5.0, 4.5, 14.0]);
    ///
    /// // Tracked input: the weight's gradient comes back under its id.
    /// let grads = x.trace().linear(&w, Some(&b)).sum().backward();
    /// assert_eq!(grads.get(&w).unwrap().to_vec(), vec![5.0, 7.0, 9.0, 5.0, 7.0, 9.0]);
    /// assert_eq!(grads.get(&b).unwrap().to_vec(), vec![2.0, 2.0]);
    /// ```
    #[track_caller]
    pub fn linear<I: Dim, O: Dim, G: DimsAgree<X>, X>(
        self,
        weight: &Tensor<(O, I), E, D>,
        bias: Option<&Tensor<(O,), E, D>>,
    ) -> Tensor<<S as LinearShape<I, O, G, X>>::Output, E, D, T>
    where
        S: LinearShape<I, O, G, X>,
    {
        self.try_linear(weight, bias)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Fallible form of [`Tensor::linear`]: a runtime (`Dyn`) mismatch of
    /// the input features, or of the bias length, is an
    /// [`Error::DimMismatch`].
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let dev = Cpu::default();
    /// let x: Tensor<(u!(2), Dyn), f64> = Tensor::zeros((Default::default(), Dyn(4)), &dev);
    /// let w: Tensor<(u!(2), u!(3)), f64> = Tensor::zeros(Default::default(), &dev);
    /// let e = x.try_linear(&w, None).unwrap_err();
    /// assert_eq!(e.to_string(), "linear: dimension mismatch on axis 1 (input features vs weight columns): got 4, expected 3");
    /// ```
    pub fn try_linear<I: Dim, O: Dim, G: DimsAgree<X>, X>(
        self,
        weight: &Tensor<(O, I), E, D>,
        bias: Option<&Tensor<(O,), E, D>>,
    ) -> Result<Tensor<<S as LinearShape<I, O, G, X>>::Output, E, D, T>, Error>
    where
        S: LinearShape<I, O, G, X>,
    {
        self.try_linear_unchecked(weight, bias)
    }

    /// [`Tensor::try_linear`] for callers that state the static check
    /// elsewhere (a layer's `Module` impl checks through its output type).
    pub(crate) fn try_linear_unchecked<I: Dim, O: Dim, G, X>(
        self,
        weight: &Tensor<(O, I), E, D>,
        bias: Option<&Tensor<(O,), E, D>>,
    ) -> Result<Tensor<<S as LinearShape<I, O, G, X>>::Output, E, D, T>, Error>
    where
        S: LinearShape<I, O, G, X>,
    {
        let (out_shape, rows) = self.shape.linear_shape(weight.shape.1, weight.shape.0)?;
        let p = LinearParams {
            rows,
            inp: weight.shape.1.size(),
            out: weight.shape.0.size(),
        };
        if let Some(b) = bias {
            check_dim(
                "linear",
                0,
                "bias length vs weight rows",
                b.shape.0.size(),
                p.out,
            )?;
        }
        let y = self
            .device
            .linear(p, &self.data, &weight.data, bias.map(|b| &b.data));
        let want_input = self.tape.wants_grad(self.id);
        let (x, tape) = self.split_tape();
        let dev = x.device.clone();
        // Only a tracked input records a backward; keep the buffers it needs.
        let saved = T::TRACKED.then(|| {
            (
                x.id,
                x.data,
                weight.id,
                weight.data.clone(),
                bias.map(|b| b.id),
            )
        });
        Ok(op_result(out_shape, y, dev.clone(), tape, move |g, gy| {
            let Some((x_id, x_data, w_id, w_data, b_id)) = &saved else {
                return;
            };
            let (x_id, w_id, b_id) = (*x_id, *w_id, *b_id);
            let want = LinearWant {
                input: want_input,
                weight: true,
                bias: b_id.is_some(),
            };
            let (gx, gw, gb) = dev.linear_backward(p, x_data, w_data, gy, want);
            if let Some(gx) = gx {
                g.accumulate(x_id, gx);
            }
            if let Some(gw) = gw {
                g.accumulate(w_id, gw);
            }
            if let (Some(gb), Some(b_id)) = (gb, b_id) {
                g.accumulate(b_id, gb);
            }
        }))
    }
}
