//! [`ConcatSkip`]: a U-Net skip connection, `cat([x, F(x)], axis 1)`.
//!
//! The channel dim of the result is the sum computed in the type; every
//! other dim of the inner path's output must agree with the input's (a
//! static mismatch is a compile error at `forward`, a `Dyn` one a runtime
//! error).

use super::{Module, ParamMut, ParamPath, ParamRef, Params};
use crate::autograd::Tracking;
use crate::backend::{Backend, Device};
use crate::dtype::Dtype;
use crate::shape::{ConcatShape, DimsAgree, Error, RemoveAxis, Shape, ShapeVerdict};
use crate::tensor::Tensor;

/// A U-Net skip connection: `y = cat([x, F(x)], 1)`, the input (the
/// encoder's feature map) joined along the channel axis with what the inner
/// path (down, deeper levels, up) gives back, as the `UnetSkipConnectionBlock`
/// of pix2pix. `(B, C1, H, W)` and `(B, C2, H, W)` give `(B, C1 + C2, H, W)`,
/// the sum static when both are.
///
/// The inner path must give back the input's batch and spatial sizes: a
/// static mismatch does not compile ("U-Net skip: the inner path changes a
/// dim off the channel axis", both sizes in decimal), a `Dyn` one is a
/// runtime error ([`ConcatSkip::try_forward`]). Gradients flow into the
/// input through both branches. The wrapper adds no parameter-name
/// segment.
///
/// ```
/// use typegrad::prelude::*;
/// use typegrad::nn::{ConcatSkip, Linear, Module};
///
/// let dev = Cpu::seeded(0);
/// // On (B, C, L) tensors: a path mapping 3 channels to 2 (over the last
/// // axis here, for the example), then the skip.
/// struct Channels(Linear<u!(3), u!(2)>);
/// impl Module<Tensor<(Dyn, u!(3), u!(5))>> for Channels {
///     type Output = Tensor<(Dyn, u!(2), u!(5))>;
///     fn forward(&self, x: Tensor<(Dyn, u!(3), u!(5))>) -> Self::Output {
///         self.0.forward(x.transpose::<1, 2>()).transpose::<1, 2>()
///     }
/// }
/// let skip = ConcatSkip(Channels(Linear::new(&dev)));
/// let x: Tensor<(Dyn, u!(3), u!(5))> = Tensor::ones((Dyn(4), Default::default(), Default::default()), &dev);
/// let y: Tensor<(Dyn, u!(5), u!(5))> = skip.forward(x); // 3 + 2 channels
/// assert_eq!(&*y.dims(), &[4, 5, 5]);
/// ```
///
/// ```compile_fail,E0277
/// use typegrad::prelude::*;
/// use typegrad::nn::{ConcatSkip, Linear, Module};
/// let dev = Cpu::default();
/// // A path that changes the last (spatial) dim: 8 -> 4.
/// let skip = ConcatSkip(Linear::<u!(8), u!(4)>::new(&dev));
/// let x: Tensor<(Dyn, u!(3), u!(8))> = Tensor::ones((Dyn(1), Default::default(), Default::default()), &dev);
/// let _ = skip.forward(x); // U-Net skip: the inner path changes a dim off the channel axis
/// ```
#[derive(Clone, Debug, Default)]
pub struct ConcatSkip<F>(pub F);

impl<F> ConcatSkip<F> {
    /// Fallible forward: an inner path that changes a `Dyn` dim off the
    /// channel axis gives an [`Error::DimMismatch`] (`op` `"concat"`,
    /// naming the axis) instead of a panic.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::nn::{ConcatSkip, Module};
    ///
    /// /// Halves the length (a stride-2 downsampling with no way back up).
    /// struct Half;
    /// impl Module<Tensor<(Dyn, Dyn, Dyn), f32>> for Half {
    ///     type Output = Tensor<(Dyn, Dyn, Dyn), f32>;
    ///     fn forward(&self, x: Tensor<(Dyn, Dyn, Dyn), f32>) -> Self::Output {
    ///         let n = x.dims()[2];
    ///         x.narrow::<2>(0, Dyn(n / 2))
    ///     }
    /// }
    /// let x: Tensor<(Dyn, Dyn, Dyn), f32> = Tensor::ones((Dyn(1), Dyn(2), Dyn(8)), &Cpu::default());
    /// let e = ConcatSkip(Half).try_forward(x).unwrap_err();
    /// assert_eq!(
    ///     e.to_string(),
    ///     "concat: dimension mismatch on axis 2 (right operand vs left operand): got 4, expected 8"
    /// );
    /// ```
    pub fn try_forward<S, E, D, T>(
        &self,
        x: Tensor<S, E, D, T>,
    ) -> Result<<Self as Module<Tensor<S, E, D, T>>>::Output, Error>
    where
        S: Shape,
        E: Dtype,
        D: Device<E>,
        T: Tracking<E, D>,
        F: Module<Tensor<S, E, D, T>>,
        F::Output: SkipJoin<Tensor<S, E, D, T>>,
    {
        let fx = self.0.forward(x.clone());
        fx.try_join(x)
    }
}

impl<F, S, E, D, T> Module<Tensor<S, E, D, T>> for ConcatSkip<F>
where
    S: Shape,
    E: Dtype,
    D: Device<E>,
    T: Tracking<E, D>,
    F: Module<Tensor<S, E, D, T>>,
    F::Output: SkipJoin<Tensor<S, E, D, T>>,
{
    type Output = <F::Output as SkipJoin<Tensor<S, E, D, T>>>::Joined;
    /// `cat([x, F(x)], 1)`; panics if the inner path changes a `Dyn` dim
    /// off the channel axis (see [`ConcatSkip::try_forward`]).
    #[track_caller]
    fn forward(&self, x: Tensor<S, E, D, T>) -> Self::Output {
        self.try_forward(x).unwrap_or_else(|e| panic!("{e}"))
    }
}

/// `Self`, the output of a [`ConcatSkip`]'s inner path, can be joined
/// after its input `X` along the channel axis (axis 1): for tensors, the
/// dims off that axis must agree; dtype, device and tape are the same
/// types.
pub trait SkipJoin<X> {
    /// The joined type.
    type Joined;
    /// `cat([x, self], 1)`, checking the runtime dims.
    fn try_join(self, x: X) -> Result<Self::Joined, Error>;
}

impl<S, S2, E, D, T> SkipJoin<Tensor<S, E, D, T>> for Tensor<S2, E, D, T>
where
    S: Shape,
    S2: SkipShape<S>,
    E: Dtype,
    D: Device<E>,
    T: Tracking<E, D>,
{
    type Joined = Tensor<<S2 as SkipShape<S>>::Joined, E, D, T>;
    fn try_join(self, x: Tensor<S, E, D, T>) -> Result<Self::Joined, Error> {
        S2::join(x, self)
    }
}

/// The verdict on the dims of `Self` off axis 1 against those of `S`.
type OffGot<S2, S> =
    <<S2 as RemoveAxis<1>>::Output as ShapeVerdict<<S as RemoveAxis<1>>::Output>>::Got;
type OffExp<S2, S> =
    <<S2 as RemoveAxis<1>>::Output as ShapeVerdict<<S as RemoveAxis<1>>::Output>>::Exp;
/// The verdict `concat` computes for `cat([x, fx], 1)` (left operand `S`).
type CatGot<S, S2> =
    <<S as RemoveAxis<1>>::Output as ShapeVerdict<<S2 as RemoveAxis<1>>::Output>>::Got;
type CatExp<S, S2> =
    <<S as RemoveAxis<1>>::Output as ShapeVerdict<<S2 as RemoveAxis<1>>::Output>>::Exp;

/// The shape check of [`SkipJoin`]: `Self`, the inner path's output shape,
/// agrees with `S`, the input's, off axis 1; [`SkipShape::Joined`] is the
/// concatenated shape.
pub trait SkipShape<S: Shape>: Shape {
    /// The concatenated shape, named through the check.
    type Joined: Shape;
    /// `cat([x, fx], 1)`.
    #[allow(clippy::type_complexity)]
    fn join<E: Dtype, D: Device<E>, T: Tracking<E, D>>(
        x: Tensor<S, E, D, T>,
        fx: Tensor<Self, E, D, T>,
    ) -> Result<Tensor<Self::Joined, E, D, T>, Error>;
}
impl<S, S2> SkipShape<S> for S2
where
    S: Shape + RemoveAxis<1>,
    S2: Shape + RemoveAxis<1>,
    <S2 as RemoveAxis<1>>::Output: ShapeVerdict<<S as RemoveAxis<1>>::Output>,
    <S as RemoveAxis<1>>::Output: ShapeVerdict<<S2 as RemoveAxis<1>>::Output>,
    S: ConcatShape<S2, 1, CatGot<S, S2>, CatExp<S, S2>>,
    OffGot<S2, S>: SkipChecked<OffExp<S2, S>>,
{
    type Joined = <OffGot<S2, S> as SkipChecked<OffExp<S2, S>>>::Then<
        <S as ConcatShape<S2, 1, CatGot<S, S2>, CatExp<S, S2>>>::Output,
    >;
    fn join<E: Dtype, D: Device<E>, T: Tracking<E, D>>(
        x: Tensor<S, E, D, T>,
        fx: Tensor<S2, E, D, T>,
    ) -> Result<Tensor<Self::Joined, E, D, T>, Error> {
        // The static dims agree (checked above); `concat` checks the `Dyn` ones.
        let y = x.try_concat_unchecked::<1, S2, T, CatGot<S, S2>, CatExp<S, S2>>(fx)?;
        Ok(<OffGot<S2, S> as SkipChecked<OffExp<S2, S>>>::pass(y))
    }
}

/// The inner path's dim off the channel axis agrees with the input's
/// (`Self` is the verdict's dim found, `Expected` the input's), as a
/// projection (see [`crate::shape::DimsChecked`]).
#[diagnostic::on_unimplemented(
    message = "U-Net skip: the inner path changes a dim off the channel axis: it gives {Self} where its input has {Expected}",
    label = "a `ConcatSkip` joins along axis 1: every other dim of the inner path's output must be the input's",
    note = "static dims are printed digit by digit: N<_4, _0, _0> is 400"
)]
pub trait SkipChecked<Expected> {
    /// `S` itself.
    type Then<S: Shape>: Shape;
    /// The tensor itself, typed with [`SkipChecked::Then`].
    fn pass<S: Shape, E: Dtype, D: Backend, T>(
        t: Tensor<S, E, D, T>,
    ) -> Tensor<Self::Then<S>, E, D, T>;
}
#[diagnostic::do_not_recommend]
impl<G: DimsAgree<X>, X> SkipChecked<X> for G {
    type Then<S: Shape> = S;
    #[inline]
    fn pass<S: Shape, E: Dtype, D: Backend, T>(t: Tensor<S, E, D, T>) -> Tensor<S, E, D, T> {
        t
    }
}

/// The inner path's parameters under their own names.
impl<E: Dtype, D: Backend, F: Params<E, D>> Params<E, D> for ConcatSkip<F> {
    fn visit_params(
        &self,
        path: &mut ParamPath,
        f: &mut dyn FnMut(&ParamPath, ParamRef<'_, E, D>),
    ) {
        self.0.visit_params(path, f)
    }
    fn visit_params_mut(
        &mut self,
        path: &mut ParamPath,
        f: &mut dyn FnMut(&ParamPath, ParamMut<'_, E, D>),
    ) {
        self.0.visit_params_mut(path, f)
    }
    fn move_to_device(&mut self, device: &D) {
        self.0.move_to_device(device)
    }
}

/// A U-Net skip joins channels (axis 1), not features: opaque to the chain
/// checks.
impl<F> super::chain::FeatureMap for ConcatSkip<F> {
    type Kind = super::chain::Opaque;
}
