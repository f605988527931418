//! `gather`: pick one element along an axis at every other position (the
//! target logit of each row, for cross-entropy).

use crate::autograd::Tracking;
use crate::backend::Device;
use crate::dtype::Dtype;
use crate::shape::{DimsAgree, Error, RemoveAxis, SameShape, Shape};
use crate::tensor::{op_result, Tensor};

/// `gather::<I>(&idx)` on tensors (in the prelude). A trait so that the
/// axis is the sole explicit generic (`x.gather::<1>(&idx)`) while the index
/// shape and its verdict (`G`, `X`: see [`SameShape`]) are inferred; the
/// bound `G: DimsAgree<X>` of each method is what reports an index of the
/// wrong static shape, in decimal and without a chain of notes.
pub trait GatherOp<S: Shape, S2: Shape, E: Dtype, D: Device<E>, T, G, X>: Sized {
    /// Pick one element along axis `I` per position: `idx` has this shape
    /// without axis `I`, and so does the result; `out[.., p, ..] =
    /// self[.., idx[p], ..]` (the index taking the place of axis `I`). In
    /// backward the output gradient goes to the picked elements.
    ///
    /// `idx`'s shape may have `Dyn` where this tensor's is static or the
    /// reverse ([`SameShape`]; `G`, `X` are its verdict); static dims that differ do not compile.
    /// Panics if an index is out of range for axis `I`, or if a `Dyn` dim of
    /// `idx` differs from this tensor's (see [`GatherOp::try_gather`]).
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let dev = Cpu::default();
    /// let logits = Tensor::<(Dyn, u!(3)), f32>::from_vec((Dyn(2), Default::default()), vec![0.1, 0.2, 0.3, 1.1, 1.2, 1.3], &dev);
    /// let targets = Tensor::<(Dyn,), usize>::from_vec((Dyn(2),), vec![2, 0], &dev);
    /// let picked = logits.gather::<1>(&targets); // Tensor<(Dyn,)>
    /// assert_eq!(picked.to_vec(), vec![0.3, 1.1]);
    /// ```
    ///
    /// An index tensor of the wrong static shape is a compile error naming
    /// both sizes:
    ///
    /// ```compile_fail
    /// use typegrad::prelude::*;
    /// let dev = Cpu::default();
    /// let logits: Tensor<(u!(4), u!(3)), f32> = Tensor::zeros(Default::default(), &dev);
    /// let targets: Tensor<(u!(5),), usize> = Tensor::full(Default::default(), 0, &dev);
    /// let _ = logits.gather::<1>(&targets); // dimension mismatch: got N<_5>, expected N<_4>
    /// ```
    fn gather<const I: usize>(
        self,
        idx: &Tensor<S2, usize, D>,
    ) -> Tensor<<S as RemoveAxis<I>>::Output, E, D, T>
    where
        S: RemoveAxis<I>,
        S2: SameShape<<S as RemoveAxis<I>>::Output, G, X>,
        G: DimsAgree<X>;

    /// Fallible form of [`GatherOp::gather`]: an index `>=` the size of axis
    /// `I` is an [`Error::IndexOutOfRange`]; a `Dyn` dim of `idx` that
    /// differs from this tensor's is an [`Error::DimMismatch`] (its axis
    /// counted in `idx`).
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let dev = Cpu::default();
    /// let logits: Tensor<(Dyn, u!(10)), f32> = Tensor::zeros((Dyn(2), Default::default()), &dev);
    /// let targets = Tensor::<(Dyn,), usize>::from_vec((Dyn(2),), vec![3, 10], &dev);
    /// let err = logits.try_gather::<1>(&targets).unwrap_err();
    /// assert_eq!(err.to_string(), "gather: index 10 out of range for axis 1 of size 10");
    /// ```
    fn try_gather<const I: usize>(
        self,
        idx: &Tensor<S2, usize, D>,
    ) -> Result<Tensor<<S as RemoveAxis<I>>::Output, E, D, T>, Error>
    where
        S: RemoveAxis<I>,
        S2: SameShape<<S as RemoveAxis<I>>::Output, G, X>,
        G: DimsAgree<X>;
}

impl<S, S2, E, D, T, G, X> GatherOp<S, S2, E, D, T, G, X> for Tensor<S, E, D, T>
where
    S: Shape,
    S2: Shape,
    E: Dtype,
    D: Device<E>,
    T: Tracking<E, D>,
{
    #[track_caller]
    fn gather<const I: usize>(
        self,
        idx: &Tensor<S2, usize, D>,
    ) -> Tensor<<S as RemoveAxis<I>>::Output, E, D, T>
    where
        S: RemoveAxis<I>,
        S2: SameShape<<S as RemoveAxis<I>>::Output, G, X>,
        G: DimsAgree<X>,
    {
        self.try_gather::<I>(idx).unwrap_or_else(|e| panic!("{e}"))
    }

    fn try_gather<const I: usize>(
        self,
        idx: &Tensor<S2, usize, D>,
    ) -> Result<Tensor<<S as RemoveAxis<I>>::Output, E, D, T>, Error>
    where
        S: RemoveAxis<I>,
        S2: SameShape<<S as RemoveAxis<I>>::Output, G, X>,
        G: DimsAgree<X>,
    {
        let out_shape = self.shape.remove_axis();
        idx.shape.check_same_shape(
            &out_shape,
            "gather",
            "index vs input without the gathered axis",
        )?;
        let dims = self.shape.dims();
        let y = self.device.gather(&self.data, &dims, I, &idx.data)?;
        let ids = idx.data.clone();
        let (x, tape) = self.split_tape();
        let dev = x.device.clone();
        Ok(op_result(out_shape, y, dev.clone(), tape, move |g, gy| {
            let gx = dev.gather_backward(gy, &dims, I, &ids);
            g.accumulate(x.id, gx);
        }))
    }
}
