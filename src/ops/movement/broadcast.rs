//! `broadcast_to`: expand a tensor to a larger shape (numpy rules, shapes
//! right-aligned, each source dim 1 or equal to the target's, new leading
//! axes allowed). Backward: the gradient summed back to the source shape.

use crate::autograd::Tracking;
use crate::backend::Device;
use crate::dtype::Dtype;
use crate::shape::{BroadcastToMismatch, BroadcastsTo, Error, Shape};
use crate::tensor::{op_result, Tensor};

impl<S: Shape, E: Dtype, D: Device<E>, T: Tracking<E, D>> Tensor<S, E, D, T> {
    /// Expand to `shape`: shapes are right-aligned, and each dim of `self`
    /// must be 1 (it is repeated) or equal to the target's; the target may
    /// add leading axes. Static dims are checked at compile time ("cannot
    /// broadcast dim N<_2> to N<_3>"), `Dyn` dims at run time: a mismatch
    /// panics naming the axis and both sizes (see
    /// [`Tensor::try_broadcast_to`]). The gradient is summed back over the
    /// repeated axes.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let dev = Cpu::default();
    /// let bias = Tensor::<(u!(3),), f32>::from_vec_static(vec![1., 2., 3.], &dev);
    /// let y: Tensor<(Dyn, u!(3)), f32> = bias.broadcast_to((Dyn(2), Default::default()));
    /// assert_eq!(y.to_vec(), vec![1., 2., 3., 1., 2., 3.]);
    /// ```
    ///
    /// ```compile_fail,E0277
    /// use typegrad::prelude::*;
    /// let v: Tensor<(u!(2),), f32> = Tensor::zeros(Default::default(), &Cpu::default());
    /// let _ = v.broadcast_to((Dyn(4), <u!(3)>::default())); // cannot broadcast dim N<_2> to N<_3>
    /// ```
    #[track_caller]
    pub fn broadcast_to<S2: Shape, G: BroadcastToMismatch<X>, X>(
        self,
        shape: S2,
    ) -> Tensor<S2, E, D, T>
    where
        S: BroadcastsTo<S2, G, X>,
    {
        self.try_broadcast_to(shape)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Fallible form of [`Tensor::broadcast_to`]: a runtime mismatch is
    /// [`Error::DimMismatch`] naming the axis (of the target) and both sizes.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let x: Tensor<(Dyn,), f32> = Tensor::ones((Dyn(2),), &Cpu::default());
    /// let e = x.try_broadcast_to((Dyn(4), Dyn(3))).unwrap_err();
    /// assert_eq!(
    ///     e.to_string(),
    ///     "broadcast_to: dimension mismatch on axis 1 (source dim must be 1 or equal to the target): got 2, expected 3"
    /// );
    /// ```
    pub fn try_broadcast_to<S2: Shape, G: BroadcastToMismatch<X>, X>(
        self,
        shape: S2,
    ) -> Result<Tensor<S2, E, D, T>, Error>
    where
        S: BroadcastsTo<S2, G, X>,
    {
        self.shape.check_broadcast_to(
            &shape,
            "broadcast_to",
            "source dim must be 1 or equal to the target",
        )?;
        if shape.try_numel("broadcast_to")? == self.shape.numel() {
            // Only axes of size 1 are added or kept: the same elements in the same order.
            return Ok(self.reshape_op(shape));
        }
        let (from, to) = (self.shape.dims(), shape.dims());
        let (x, tape) = self.split_tape();
        let xid = x.id;
        let y = x.device.expand(&x.data, &from, &to);
        let dev = x.device.clone();
        Ok(op_result(shape, y, x.device, tape, move |g, gy| {
            g.accumulate(xid, dev.sum_to(gy, &to, &from));
        }))
    }
}
