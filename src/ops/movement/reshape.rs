//! `reshape` (static shapes, element count checked at compile time),
//! `reshape_to` (shapes with `Dyn`, checked at run time) and `flatten`
//! (axes multiplied at the type level). All of them share the input's
//! storage: no data moves, and the backward passes the gradient buffer
//! through unchanged.

use crate::autograd::Tracking;
use crate::backend::Device;
use crate::dtype::Dtype;
use crate::shape::{
    ConstShape, DimVerdict, Error, FlattenFrom, NumelExp, NumelGot, NumelMismatch, Shape,
    StaticNumel, MAX_RANK,
};
use crate::tensor::{op_result, Tensor};

impl<S: Shape, E: Dtype, D: Device<E>, T: Tracking<E, D>> Tensor<S, E, D, T> {
    /// The same storage under another shape of the same element count; the
    /// backward hands the gradient buffer to the input as it is.
    pub(crate) fn reshape_op<S2: Shape>(self, shape: S2) -> Tensor<S2, E, D, T> {
        debug_assert_eq!(shape.numel(), self.shape.numel());
        if !T::TRACKED {
            // Nothing to record: the same tensor (same id) under a new shape.
            return self.with_shape(shape);
        }
        let (x, tape) = self.split_tape();
        let xid = x.id;
        op_result(shape, x.data, x.device, tape, move |g, gy| {
            g.accumulate(xid, gy.clone())
        })
    }

    /// View the elements (row-major) under the all-static shape `S2`. Both
    /// shapes must be static and hold the same number of elements, checked
    /// at compile time ("reshape changes the element count: got N<_1, _2>
    /// elements, expected N<_1, _6>"); for shapes with `Dyn` dims use
    /// [`Tensor::reshape_to`]. No data is copied.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let x = Tensor::<(u!(2), u!(3)), f32>::from_vec_static(vec![1., 2., 3., 4., 5., 6.], &Cpu::default());
    /// let y = x.reshape::<(u!(3), u!(2))>();
    /// assert_eq!(&*y.dims(), &[3, 2]);
    /// assert_eq!(y.to_vec(), vec![1., 2., 3., 4., 5., 6.]);
    /// ```
    ///
    /// ```compile_fail,E0277
    /// use typegrad::prelude::*;
    /// let x: Tensor<(u!(2), u!(3)), f32> = Tensor::zeros(Default::default(), &Cpu::default());
    /// let _ = x.reshape::<(u!(4), u!(2))>(); // got 6 elements, expected 8
    /// ```
    pub fn reshape<S2>(self) -> Tensor<S2, E, D, T>
    where
        S: StaticNumel,
        S2: ConstShape + StaticNumel,
        <S as StaticNumel>::Numel: DimVerdict<<S2 as StaticNumel>::Numel>,
        NumelGot<S, S2>: NumelMismatch<NumelExp<S, S2>>,
    {
        self.reshape_op(S2::default())
    }

    /// View the elements (row-major) under `shape`, which may have `Dyn`
    /// dims. Panics if the element counts differ, naming both (see
    /// [`Tensor::try_reshape_to`]). No data is copied.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let dev = Cpu::default();
    /// let x: Tensor<(Dyn, u!(4)), f32> = Tensor::ones((Dyn(3), Default::default()), &dev);
    /// let y = x.reshape_to((Dyn(6), <u!(2)>::default()));
    /// assert_eq!(&*y.dims(), &[6, 2]);
    /// ```
    #[track_caller]
    pub fn reshape_to<S2: Shape>(self, shape: S2) -> Tensor<S2, E, D, T> {
        self.try_reshape_to(shape).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Fallible form of [`Tensor::reshape_to`]: different element counts
    /// give [`Error::NumelMismatch`] with both counts.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let x: Tensor<(Dyn,), f32> = Tensor::ones((Dyn(6),), &Cpu::default());
    /// let e = x.try_reshape_to((Dyn(4), Dyn(2))).unwrap_err();
    /// assert_eq!(e.to_string(), "reshape_to: element count mismatch: got 6 elements, the shape needs 8");
    /// ```
    pub fn try_reshape_to<S2: Shape>(self, shape: S2) -> Result<Tensor<S2, E, D, T>, Error> {
        // Checked: a target whose count wraps around to this one's must not pass.
        let expected = shape.try_numel("reshape_to")?;
        let got = self.shape.numel();
        if expected != got {
            return Err(Error::NumelMismatch {
                op: "reshape_to",
                got,
                expected,
            });
        }
        Ok(self.reshape_op(shape))
    }

    /// Multiply axes `I..` into one, keeping the axes before `I`. The new
    /// dim is the product computed at the type level: static if every
    /// factor is static, `Dyn` if any is. No data is copied.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let dev = Cpu::default();
    /// let x: Tensor<(Dyn, u!(3), u!(4), u!(5)), f32> =
    ///     Tensor::zeros((Dyn(2), Default::default(), Default::default(), Default::default()), &dev);
    /// let y: Tensor<(Dyn, u!(3), u!(20)), f32> = x.flatten_from::<2>();
    /// assert_eq!(&*y.dims(), &[2, 3, 20]);
    /// ```
    pub fn flatten_from<const I: usize>(self) -> Tensor<<S as FlattenFrom<I>>::Output, E, D, T>
    where
        S: FlattenFrom<I>,
    {
        let d = self.shape.dims();
        let mut out = [0usize; MAX_RANK];
        out[..I].copy_from_slice(&d[..I]);
        // Checked: with a zero dim before `I`, the product of the axes from
        // `I` can overflow although the tensor holds no element.
        out[I] = d
            .try_numel_of("flatten_from", I..d.len())
            .unwrap_or_else(|e| panic!("{e}"));
        // Static products are computed by the type; this cannot disagree.
        let shape = <S as FlattenFrom<I>>::Output::try_from_dims(&out[..=I])
            .unwrap_or_else(|e| panic!("flatten_from: {e}"));
        self.reshape_op(shape)
    }

    /// Keep the first axis (the batch) and multiply the others into one:
    /// `(B, C, H, W)` becomes `(B, C·H·W)`, the input of a linear layer
    /// after convolutions. No data is copied.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let dev = Cpu::default();
    /// let x: Tensor<(Dyn, u!(16), u!(5), u!(5)), f32> =
    ///     Tensor::zeros((Dyn(8), Default::default(), Default::default(), Default::default()), &dev);
    /// let y: Tensor<(Dyn, u!(400)), f32> = x.flatten();
    /// assert_eq!(&*y.dims(), &[8, 400]);
    /// ```
    pub fn flatten(self) -> Tensor<<S as FlattenFrom<1>>::Output, E, D, T>
    where
        S: FlattenFrom<1>,
    {
        self.flatten_from::<1>()
    }

    /// All elements as one axis: `(Numel,)`, static if the shape is.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let x = Tensor::<(u!(2), u!(3)), f32>::from_vec_static(vec![1., 2., 3., 4., 5., 6.], &Cpu::default());
    /// let y: Tensor<(u!(6),), f32> = x.flatten_all();
    /// assert_eq!(y.to_vec(), vec![1., 2., 3., 4., 5., 6.]);
    /// ```
    pub fn flatten_all(self) -> Tensor<<S as FlattenFrom<0>>::Output, E, D, T>
    where
        S: FlattenFrom<0>,
    {
        self.flatten_from::<0>()
    }
}
