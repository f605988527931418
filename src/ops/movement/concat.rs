//! `concat`: two tensors joined along one axis. The shapes must agree off
//! that axis ([`ConcatShape`]: static mismatch is a compile error naming the
//! axis, `Dyn` is checked at run time); the axis dim is the sum
//! ([`AddDim`](crate::shape::AddDim)). Backward: the gradient cut in two
//! along the axis.

use crate::autograd::{Merge, Tracking};
use crate::backend::Device;
use crate::dtype::Dtype;
use crate::shape::{Agree, ConcatMismatch, ConcatShape, Error, Shape};
use crate::tensor::{op_result, Tensor};

/// `concat::<I>(other)` on tensors (in the prelude). A trait only so that
/// the axis is the sole explicit generic (`a.concat::<1>(b)`), the other
/// operand's shape and tape being inferred.
pub trait ConcatOp<
    S: Shape,
    S2: Shape,
    E: Dtype,
    D: Device<E>,
    T: Merge<T2>,
    T2,
    G = Agree,
    X = Agree,
>: Sized
{
    /// `self` and `other` joined along axis `I` (as `torch.cat`). Dims off
    /// axis `I` must agree: a static mismatch does not compile ("concat:
    /// dimension mismatch off the concat axis: left operand has N<_3>, right
    /// operand has N<_4>"), a `Dyn` mismatch panics naming the axis and both sizes
    /// (see [`ConcatOp::try_concat`]). The axis dim is the sum, static if
    /// both are. The result is tracked if either input is.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let dev = Cpu::default();
    /// let a = Tensor::<(u!(2), u!(1)), f32>::from_vec_static(vec![1., 2.], &dev);
    /// let b = Tensor::<(u!(2), u!(2)), f32>::from_vec_static(vec![3., 4., 5., 6.], &dev);
    /// let c: Tensor<(u!(2), u!(3)), f32> = a.concat::<1>(b);
    /// assert_eq!(c.to_vec(), vec![1., 3., 4., 2., 5., 6.]);
    /// ```
    ///
    /// ```compile_fail,E0277
    /// use typegrad::prelude::*;
    /// let dev = Cpu::default();
    /// let a: Tensor<(u!(2), u!(3)), f32> = Tensor::zeros(Default::default(), &dev);
    /// let b: Tensor<(u!(2), u!(4)), f32> = Tensor::zeros(Default::default(), &dev);
    /// let _ = a.concat::<0>(b); // concat: dimension mismatch off the concat axis
    /// ```
    fn concat<const I: usize>(
        self,
        other: Tensor<S2, E, D, T2>,
    ) -> Tensor<<S as ConcatShape<S2, I, G, X>>::Output, E, D, <T as Merge<T2>>::Output>
    where
        S: ConcatShape<S2, I, G, X>,
        G: ConcatMismatch<X>,
        <T as Merge<T2>>::Output: Tracking<E, D>;

    /// Fallible form of [`ConcatOp::concat`]: a runtime mismatch off the
    /// concat axis is [`Error::DimMismatch`] naming the axis and both sizes.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let dev = Cpu::default();
    /// let a: Tensor<(Dyn, Dyn), f32> = Tensor::zeros((Dyn(2), Dyn(3)), &dev);
    /// let b: Tensor<(Dyn, Dyn), f32> = Tensor::zeros((Dyn(5), Dyn(4)), &dev);
    /// let e = a.try_concat::<0>(b).unwrap_err();
    /// assert_eq!(
    ///     e.to_string(),
    ///     "concat: dimension mismatch on axis 1 (right operand vs left operand): got 4, expected 3"
    /// );
    /// ```
    #[allow(clippy::type_complexity)]
    fn try_concat<const I: usize>(
        self,
        other: Tensor<S2, E, D, T2>,
    ) -> Result<
        Tensor<<S as ConcatShape<S2, I, G, X>>::Output, E, D, <T as Merge<T2>>::Output>,
        Error,
    >
    where
        S: ConcatShape<S2, I, G, X>,
        G: ConcatMismatch<X>,
        <T as Merge<T2>>::Output: Tracking<E, D>;
}

impl<S, S2, E, D, T, T2, G, X> ConcatOp<S, S2, E, D, T, T2, G, X> for Tensor<S, E, D, T>
where
    S: Shape,
    S2: Shape,
    E: Dtype,
    D: Device<E>,
    T: Tracking<E, D> + Merge<T2>,
    T2: Tracking<E, D>,
{
    #[track_caller]
    fn concat<const I: usize>(
        self,
        other: Tensor<S2, E, D, T2>,
    ) -> Tensor<<S as ConcatShape<S2, I, G, X>>::Output, E, D, <T as Merge<T2>>::Output>
    where
        S: ConcatShape<S2, I, G, X>,
        G: ConcatMismatch<X>,
        <T as Merge<T2>>::Output: Tracking<E, D>,
    {
        self.try_concat::<I>(other)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[allow(clippy::type_complexity)]
    fn try_concat<const I: usize>(
        self,
        other: Tensor<S2, E, D, T2>,
    ) -> Result<
        Tensor<<S as ConcatShape<S2, I, G, X>>::Output, E, D, <T as Merge<T2>>::Output>,
        Error,
    >
    where
        S: ConcatShape<S2, I, G, X>,
        G: ConcatMismatch<X>,
        <T as Merge<T2>>::Output: Tracking<E, D>,
    {
        self.try_concat_unchecked::<I, S2, T2, G, X>(other)
    }
}

impl<S: Shape, E: Dtype, D: Device<E>, T: Tracking<E, D>> Tensor<S, E, D, T> {
    /// [`ConcatOp::try_concat`] without the static verdict bound, for
    /// callers that check the dims off the axis their own way (a U-Net skip
    /// names its own error).
    #[allow(clippy::type_complexity)]
    pub(crate) fn try_concat_unchecked<const I: usize, S2: Shape, T2: Tracking<E, D>, G, X>(
        self,
        other: Tensor<S2, E, D, T2>,
    ) -> Result<
        Tensor<<S as ConcatShape<S2, I, G, X>>::Output, E, D, <T as Merge<T2>>::Output>,
        Error,
    >
    where
        S: ConcatShape<S2, I, G, X>,
        T: Merge<T2>,
        <T as Merge<T2>>::Output: Tracking<E, D>,
    {
        let out_shape = self.shape.concat_shape(&other.shape)?;
        let (ad, bd, od) = (self.shape.dims(), other.shape.dims(), out_shape.dims());
        let y = self.device.concat(&self.data, &ad, &other.data, &bd, I);
        let (a, ta) = self.split_tape();
        let (b, tb) = other.split_tape();
        let tape = ta.merge(tb);
        // An untracked operand of a tracked concat (a learned token) is a
        // leaf: its gradient is recorded under its own id.
        let want = (tape.wants_grad(a.id), tape.wants_grad(b.id));
        let (aid, bid) = (a.id, b.id);
        let dev = a.device.clone();
        let (na, nb) = (ad[I], bd[I]);
        Ok(op_result(out_shape, y, a.device, tape, move |g, gy| {
            if want.0 {
                g.accumulate(aid, dev.narrow(gy, &od, I, 0, na));
            }
            if want.1 {
                g.accumulate(bid, dev.narrow(gy, &od, I, na, nb));
            }
        }))
    }
}
