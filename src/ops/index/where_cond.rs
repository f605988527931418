//! `where_cond` (`cond ? a : b`) and `masked_fill` (`mask ? value : x`),
//! with masks that broadcast to the data's shape.

use crate::autograd::{Merge, Tracking};
use crate::backend::Device;
use crate::dtype::Dtype;
use crate::shape::{BroadcastToMismatch, BroadcastsTo, DimsAgree, Error, SameShape, Shape};
use crate::tensor::{op_result, Tensor};

impl<S: Shape, E: Dtype, D: Device<E>, T: Tracking<E, D>> Tensor<S, E, D, T> {
    /// `cond ? a : b` elementwise. `a` and `b` have the same shape (`b`'s
    /// type may have `Dyn` where `a`'s is static or the reverse, see
    /// [`SameShape`]; the result has `a`'s type); `cond`'s shape broadcasts
    /// to it (numpy rules, right-aligned; e.g. a `(T, T)` mask with
    /// `(B, H, T, T)` data, see [`BroadcastsTo`]). The gradient of the
    /// output goes to `a` where `cond` holds and to `b` elsewhere; the tapes
    /// of `a` and `b` merge as in a binary op.
    ///
    /// A static shape mismatch does not compile; a `Dyn` mismatch panics
    /// with the axis and both sizes (see [`Tensor::try_where_cond`]).
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let dev = Cpu::default();
    /// let a = Tensor::<(u!(3),), f32>::from_vec_static(vec![1.0, 2.0, 3.0], &dev);
    /// let b = Tensor::<(u!(3),), f32>::from_vec_static(vec![-1.0, -2.0, -3.0], &dev);
    /// let cond = a.gt_scalar(1.5); // [false, true, true]
    /// let y = Tensor::where_cond(&cond, a, b);
    /// assert_eq!(y.to_vec(), vec![-1.0, 2.0, 3.0]);
    /// ```
    #[track_caller]
    pub fn where_cond<
        Sc,
        Sb,
        T2: Tracking<E, D>,
        G: BroadcastToMismatch<X>,
        X,
        G2: DimsAgree<X2>,
        X2,
    >(
        cond: &Tensor<Sc, bool, D>,
        a: Self,
        b: Tensor<Sb, E, D, T2>,
    ) -> Tensor<S, E, D, <T as Merge<T2>>::Output>
    where
        Sc: BroadcastsTo<S, G, X>,
        Sb: SameShape<S, G2, X2>,
        T: Merge<T2>,
        <T as Merge<T2>>::Output: Tracking<E, D>,
    {
        Self::try_where_cond(cond, a, b).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Fallible form of [`Tensor::where_cond`]: a `Dyn` dim of `b` differing
    /// from `a`'s, or a `cond` dim that is neither `a`'s nor 1, is an
    /// [`Error::DimMismatch`].
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let dev = Cpu::default();
    /// let a: Tensor<(Dyn,), f32> = Tensor::zeros((Dyn(3),), &dev);
    /// let b: Tensor<(Dyn,), f32> = Tensor::zeros((Dyn(4),), &dev);
    /// let cond = Tensor::<(Dyn,), bool>::from_vec((Dyn(3),), vec![true; 3], &dev);
    /// let err = Tensor::try_where_cond(&cond, a, b).unwrap_err();
    /// assert_eq!(err.to_string(), "where_cond: dimension mismatch on axis 0 (b vs a): got 4, expected 3");
    /// ```
    pub fn try_where_cond<
        Sc,
        Sb,
        T2: Tracking<E, D>,
        G: BroadcastToMismatch<X>,
        X,
        G2: DimsAgree<X2>,
        X2,
    >(
        cond: &Tensor<Sc, bool, D>,
        a: Self,
        b: Tensor<Sb, E, D, T2>,
    ) -> Result<Tensor<S, E, D, <T as Merge<T2>>::Output>, Error>
    where
        Sc: BroadcastsTo<S, G, X>,
        Sb: SameShape<S, G2, X2>,
        T: Merge<T2>,
        <T as Merge<T2>>::Output: Tracking<E, D>,
    {
        let dims = a.shape.dims();
        b.shape.check_same_shape(&a.shape, "where_cond", "b vs a")?;
        cond.shape
            .check_broadcast_to(&a.shape, "where_cond", "cond, broadcast to a")?;
        let cd = cond.shape.dims();
        let y = a
            .device
            .where_cond(&cond.data, &cd, &a.data, &b.data, &dims);
        let c = cond.data.clone();
        let (a, ta) = a.split_tape();
        let (b, tb) = b.split_tape();
        let tape = ta.merge(tb);
        // An untracked operand of a tracked op is a leaf (see `Tensor::add`).
        let want = (tape.wants_grad(a.id), tape.wants_grad(b.id));
        let (a_id, b_id) = (a.id, b.id);
        let dev = a.device.clone();
        Ok(op_result(a.shape, y, dev.clone(), tape, move |g, gy| {
            let (ga, gb) = dev.where_backward(&c, &cd, gy, &dims, want);
            if let Some(ga) = ga {
                g.accumulate(a_id, ga);
            }
            if let Some(gb) = gb {
                g.accumulate(b_id, gb);
            }
        }))
    }

    /// Positions where `mask` is true get `value`; the others keep this
    /// tensor's value. `mask`'s shape broadcasts to this tensor's (a causal
    /// `(T, T)` mask applies to `(B, H, T, T)` attention scores without
    /// being copied). The gradient is zero at filled positions.
    ///
    /// A static shape mismatch does not compile; a `Dyn` mismatch panics
    /// with the axis and both sizes (see [`Tensor::try_masked_fill`]).
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let dev = Cpu::default();
    /// // Causal mask for 2 positions: true above the diagonal.
    /// let causal = Tensor::<(u!(2), u!(2)), bool>::from_vec_static(vec![false, true, false, false], &dev);
    /// let scores: Tensor<(Dyn, u!(2), u!(2)), f32> = Tensor::ones((Dyn(2), Default::default(), Default::default()), &dev);
    /// let masked = scores.masked_fill(&causal, f32::NEG_INFINITY);
    /// assert_eq!(masked.to_vec()[..4], [1.0, f32::NEG_INFINITY, 1.0, 1.0]);
    /// ```
    ///
    /// A mask that cannot broadcast is a compile error naming both dims:
    ///
    /// ```compile_fail
    /// use typegrad::prelude::*;
    /// let dev = Cpu::default();
    /// let mask: Tensor<(u!(3),), bool> = Tensor::full(Default::default(), true, &dev);
    /// let x: Tensor<(u!(2), u!(4)), f32> = Tensor::ones(Default::default(), &dev);
    /// let _ = x.masked_fill(&mask, 0.0); // cannot broadcast dim N<_3> to N<_4>
    /// ```
    #[track_caller]
    pub fn masked_fill<Sm: BroadcastsTo<S, G, X>, G: BroadcastToMismatch<X>, X>(
        self,
        mask: &Tensor<Sm, bool, D>,
        value: E,
    ) -> Self {
        self.try_masked_fill(mask, value)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Fallible form of [`Tensor::masked_fill`]: a `Dyn` mask dim that is
    /// neither this tensor's nor 1 is an [`Error::DimMismatch`] naming the
    /// axis (of this tensor) and both sizes.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let dev = Cpu::default();
    /// let mask = Tensor::<(Dyn, Dyn), bool>::from_vec((Dyn(3), Dyn(3)), vec![false; 9], &dev);
    /// let x: Tensor<(Dyn, Dyn), f32> = Tensor::zeros((Dyn(4), Dyn(4)), &dev);
    /// let err = x.try_masked_fill(&mask, 0.0).unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "masked_fill: dimension mismatch on axis 0 (mask, broadcast to the input): got 3, expected 4"
    /// );
    /// ```
    pub fn try_masked_fill<Sm: BroadcastsTo<S, G, X>, G: BroadcastToMismatch<X>, X>(
        self,
        mask: &Tensor<Sm, bool, D>,
        value: E,
    ) -> Result<Self, Error> {
        mask.shape.check_broadcast_to(
            &self.shape,
            "masked_fill",
            "mask, broadcast to the input",
        )?;
        let (dims, md) = (self.shape.dims(), mask.shape.dims());
        let y = self
            .device
            .masked_fill(&self.data, &dims, &mask.data, &md, value);
        let m = mask.data.clone();
        let (x, tape) = self.split_tape();
        let dev = x.device.clone();
        Ok(op_result(x.shape, y, dev.clone(), tape, move |g, gy| {
            let gx = dev.masked_fill(gy, &dims, &m, &md, E::zero());
            g.accumulate(x.id, gx);
        }))
    }
}
