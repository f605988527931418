//! `narrow`: the slice `start..start + len` along one axis. The axis dim is
//! replaced by the length's type ([`ReplaceAxis`]): `Dyn(n)` or a static dim.
//! Backward: the gradient placed in zeros of the input shape.

use crate::autograd::Tracking;
use crate::backend::Device;
use crate::dtype::Dtype;
use crate::shape::{Dim, Error, ReplaceAxis, Shape};
use crate::tensor::{op_result, Tensor};

/// `narrow::<I>(start, len)` on tensors (in the prelude). A trait only so
/// that the length's dim type is inferred from the argument and the axis is
/// the sole explicit generic: `x.narrow::<1>(2, Dyn(3))`.
pub trait NarrowOp<S: Shape, E: Dtype, D: Device<E>, T: Tracking<E, D>, L: Dim>: Sized {
    /// The slice `start..start + len` along axis `I`. The axis dim becomes
    /// `L`: pass `Dyn(n)` for a runtime length or a static dim value for a
    /// static one. An axis out of range does not compile; a slice past the
    /// end of the axis panics naming the axis, the end and the size (see
    /// [`NarrowOp::try_narrow`]). The gradient is zero outside the slice.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let dev = Cpu::default();
    /// let x = Tensor::<(u!(2), u!(4)), f32>::from_vec_static(vec![0., 1., 2., 3., 4., 5., 6., 7.], &dev);
    /// let y: Tensor<(u!(2), Dyn), f32> = x.clone().narrow::<1>(1, Dyn(2));
    /// assert_eq!(y.to_vec(), vec![1., 2., 5., 6.]);
    /// let z: Tensor<(u!(1), u!(4)), f32> = x.narrow::<0>(1, <u!(1)>::default());
    /// assert_eq!(z.to_vec(), vec![4., 5., 6., 7.]);
    /// ```
    fn narrow<const I: usize>(
        self,
        start: usize,
        len: L,
    ) -> Tensor<<S as ReplaceAxis<I, L>>::Output, E, D, T>
    where
        S: ReplaceAxis<I, L>;

    /// Fallible form of [`NarrowOp::narrow`]: a slice past the end of the
    /// axis is [`Error::IndexOutOfRange`] with the axis, the end of the
    /// slice (`start + len`) as its index, and the axis size.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let x: Tensor<(Dyn, Dyn), f32> = Tensor::zeros((Dyn(2), Dyn(4)), &Cpu::default());
    /// let e = x.try_narrow::<1>(3, Dyn(2)).unwrap_err();
    /// assert_eq!(e.to_string(), "narrow: index 5 out of range for axis 1 of size 4");
    /// ```
    fn try_narrow<const I: usize>(
        self,
        start: usize,
        len: L,
    ) -> Result<Tensor<<S as ReplaceAxis<I, L>>::Output, E, D, T>, Error>
    where
        S: ReplaceAxis<I, L>;
}

impl<S: Shape, E: Dtype, D: Device<E>, T: Tracking<E, D>, L: Dim> NarrowOp<S, E, D, T, L>
    for Tensor<S, E, D, T>
{
    #[track_caller]
    fn narrow<const I: usize>(
        self,
        start: usize,
        len: L,
    ) -> Tensor<<S as ReplaceAxis<I, L>>::Output, E, D, T>
    where
        S: ReplaceAxis<I, L>,
    {
        self.try_narrow::<I>(start, len)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn try_narrow<const I: usize>(
        self,
        start: usize,
        len: L,
    ) -> Result<Tensor<<S as ReplaceAxis<I, L>>::Output, E, D, T>, Error>
    where
        S: ReplaceAxis<I, L>,
    {
        let dims = self.shape.dims();
        let (size, n) = (dims[I], len.size());
        let end = start.saturating_add(n);
        if end > size {
            return Err(Error::IndexOutOfRange {
                op: "narrow",
                axis: I,
                index: end,
                size,
            });
        }
        let out_shape = self.shape.replace_axis(len);
        if n == size {
            // The whole axis: same elements, same order.
            return Ok(self.reshape_op(out_shape));
        }
        let (x, tape) = self.split_tape();
        let xid = x.id;
        let y = x.device.narrow(&x.data, &dims, I, start, n);
        let dev = x.device.clone();
        Ok(op_result(out_shape, y, x.device, tape, move |g, gy| {
            g.accumulate(xid, dev.narrow_backward(gy, &dims, I, start, n));
        }))
    }
}
