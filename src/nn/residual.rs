//! Residual connections: [`Residual`] (`x + F(x)`, the inner path keeps the
//! shape) and [`ResidualProjection`] (`F(x) + P(x)`, a projection shortcut
//! such as ResNet's `downsample`).
//!
//! Both paths must give the same shape. Static dims are checked by the
//! compiler at the `forward` call, naming the first differing dim in decimal
//! (`residual path changes the shape: it gives dim N<_3, _2> where its input
//! has N<_1, _6>`); [`crate::Dyn`] dims are checked at run time (a panic, or
//! an [`Error`] from `try_forward`).
//!
//! **Parameter names.** The wrappers are transparent for the residual path:
//! its parameters keep their own names (as a `Box` would), so a field
//! `block: Residual<Mlp>` gives `block.fc1.weight`. The shortcut of
//! [`ResidualProjection`] is named `downsample`, as in torchvision's ResNet
//! blocks: a residual path holding `conv1`, `bn1`, `conv2`, `bn2` and a
//! `(Conv2d, BatchNorm2d)` shortcut give `conv1.weight`, …,
//! `downsample.0.weight`, `downsample.1.weight`.

use super::{Module, ParamMut, ParamPath, ParamRef, Params};
use crate::autograd::Tracking;
use crate::backend::{Backend, Device};
use crate::dtype::{Dtype, Elem};
use crate::ops::binary::BinaryOp;
use crate::shape::{DimsAgree, Dyn, Error, Shape, ShapeVerdict};
use crate::tensor::Tensor;

/// A residual connection `y = x + F(x)`, whose inner path `F` must map the
/// input's shape to itself (a static change is a compile error at
/// `forward`, a `Dyn` one a runtime error).
///
/// Gradients flow through both the identity and the inner path; the
/// parameters of `F` keep their own names (the wrapper adds no path
/// segment).
///
/// ```
/// use typegrad::prelude::*;
/// use typegrad::nn::{Linear, Module, ReLU, Residual};
///
/// let dev = Cpu::seeded(0);
/// let block = Residual((Linear::<u!(4), u!(4)>::new(&dev), ReLU));
/// let x: Tensor<(Dyn, u!(4))> = Tensor::ones((Dyn(2), Default::default()), &dev);
/// let y = block.forward(x.clone()); // Tensor<(Dyn, U4)>
/// let fx = block.0.forward(x.clone());
/// assert_eq!(y.to_vec(), (x + fx).to_vec());
/// assert_eq!(block.param_names()[0].0, "0.weight"); // no segment for the wrapper
/// ```
///
/// An inner path that changes the shape does not compile:
///
/// ```compile_fail,E0277
/// use typegrad::prelude::*;
/// use typegrad::nn::{Linear, Module, Residual};
/// let dev = Cpu::default();
/// let block = Residual(Linear::<u!(4), u!(8)>::new(&dev));
/// let x: Tensor<(Dyn, u!(4))> = Tensor::ones((Dyn(2), Default::default()), &dev);
/// let _ = block.forward(x); // residual path changes the shape: it gives dim N<_8> where its input has N<_4>
/// ```
#[derive(Clone, Debug, Default)]
pub struct Residual<F>(pub F);

impl<F> Residual<F> {
    /// Fallible forward: a `Dyn` dim that the inner path changes is an
    /// [`Error::DimMismatch`] (`op` `"residual"`) instead of a panic.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::nn::{Module, Residual};
    ///
    /// /// Drops the last column: a path that changes a `Dyn` dim.
    /// struct Shrink;
    /// impl Module<Tensor<(Dyn, Dyn), f32>> for Shrink {
    ///     type Output = Tensor<(Dyn, Dyn), f32>;
    ///     fn forward(&self, x: Tensor<(Dyn, Dyn), f32>) -> Self::Output {
    ///         let n = x.dims()[1];
    ///         x.narrow::<1>(0, Dyn(n - 1))
    ///     }
    /// }
    /// let x: Tensor<(Dyn, Dyn), f32> = Tensor::ones((Dyn(2), Dyn(3)), &Cpu::default());
    /// let e = Residual(Shrink).try_forward(x).unwrap_err();
    /// assert_eq!(
    ///     e.to_string(),
    ///     "residual: dimension mismatch on axis 1 (residual path output vs input): got 2, expected 3"
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
        F::Output: ResidualPath<Tensor<S, E, D, T>>,
    {
        let fx = self.0.forward(x.clone());
        fx.try_add_to(x)
    }
}

impl<F, S, E, D, T> Module<Tensor<S, E, D, T>> for Residual<F>
where
    S: Shape,
    E: Dtype,
    D: Device<E>,
    T: Tracking<E, D>,
    F: Module<Tensor<S, E, D, T>>,
    F::Output: ResidualPath<Tensor<S, E, D, T>>,
{
    type Output = <F::Output as ResidualPath<Tensor<S, E, D, T>>>::Sum;
    /// `x + F(x)`; panics if the inner path changes a `Dyn` dim (see
    /// [`Residual::try_forward`]).
    #[track_caller]
    fn forward(&self, x: Tensor<S, E, D, T>) -> Self::Output {
        self.try_forward(x).unwrap_or_else(|e| panic!("{e}"))
    }
}

/// `Self`, the output of a [`Residual`]'s inner path, can be added to the
/// path's input `X`: for tensors, the shape must be kept (static dims at
/// compile time, `Dyn` ones at run time); dtype, device and tape are the
/// same types.
pub trait ResidualPath<X> {
    /// The sum's type: `X` (named through the shape check, so a path that
    /// changes the shape is reported at the `forward` call).
    type Sum;
    /// `x + self`, checking the runtime dims.
    fn try_add_to(self, x: X) -> Result<Self::Sum, Error>;
}

impl<S, S2, E, D, T> ResidualPath<Tensor<S, E, D, T>> for Tensor<S2, E, D, T>
where
    S: Shape,
    S2: ResidualShape<S>,
    E: Dtype,
    D: Device<E>,
    T: Tracking<E, D>,
{
    type Sum = Tensor<<S2 as ResidualShape<S>>::Sum, E, D, T>;
    fn try_add_to(self, x: Tensor<S, E, D, T>) -> Result<Self::Sum, Error> {
        let fx = relabel(self, x.shape, "residual", "residual path output vs input")?;
        Ok(S2::pass(add_same(x, fx)))
    }
}

/// The shape check of [`ResidualPath`]: `Self`, the inner path's output
/// shape, agrees with `S`, its input shape; [`ResidualShape::Sum`] is `S`.
pub trait ResidualShape<S: Shape>: Shape {
    /// `S`, named through the check.
    type Sum: Shape;
    /// The tensor itself, typed with [`ResidualShape::Sum`].
    fn pass<E: Elem, D: Backend, T>(x: Tensor<S, E, D, T>) -> Tensor<Self::Sum, E, D, T>;
}
impl<S: Shape, S2: ShapeVerdict<S>> ResidualShape<S> for S2
where
    <S2 as ShapeVerdict<S>>::Got: ResidualChecked<<S2 as ShapeVerdict<S>>::Exp>,
{
    type Sum =
        <<S2 as ShapeVerdict<S>>::Got as ResidualChecked<<S2 as ShapeVerdict<S>>::Exp>>::Then<S>;
    fn pass<E: Elem, D: Backend, T>(x: Tensor<S, E, D, T>) -> Tensor<Self::Sum, E, D, T> {
        <<S2 as ShapeVerdict<S>>::Got as ResidualChecked<<S2 as ShapeVerdict<S>>::Exp>>::pass(x)
    }
}

/// A residual path's output dim agrees with its input's (`Self` is the
/// verdict's dim found, `Expected` the input's), as a projection:
/// `<G as ResidualChecked<X>>::Then<S>` is `S` when they agree (see
/// [`crate::shape::DimsChecked`] for why a projection).
#[diagnostic::on_unimplemented(
    message = "residual path changes the shape: it gives dim {Self} where its input has {Expected}",
    label = "the inner path of a `Residual` must map its input shape to itself (use `ResidualProjection` for a shortcut that changes it)",
    note = "static dims are printed digit by digit: N<_4, _0, _0> is 400"
)]
pub trait ResidualChecked<Expected> {
    /// `S` itself.
    type Then<S: Shape>: Shape;
    /// The tensor itself, typed with [`ResidualChecked::Then`].
    fn pass<S: Shape, E: Elem, D: Backend, T>(
        t: Tensor<S, E, D, T>,
    ) -> Tensor<Self::Then<S>, E, D, T>;
}
#[diagnostic::do_not_recommend]
impl<G: DimsAgree<X>, X> ResidualChecked<X> for G {
    type Then<S: Shape> = S;
    #[inline]
    fn pass<S: Shape, E: Elem, D: Backend, T>(t: Tensor<S, E, D, T>) -> Tensor<S, E, D, T> {
        t
    }
}

/// A residual connection with a projection shortcut, `y = F(x) + P(x)`
/// (ResNet's block with a `downsample`): both paths take the same input and
/// must give the same shape, checked at compile time for static dims (a
/// "shortcut mismatch" error at `forward` naming the first differing dim in
/// decimal) and at run time for `Dyn` ones. The output has the residual
/// path's shape type.
///
/// Parameter names: the residual path's parameters keep their own names,
/// the shortcut's are under `downsample` (torchvision's name), so a
/// residual path holding `conv1`, `bn1`, `conv2`, `bn2` and a
/// `(Conv2d, BatchNorm2d)` shortcut give a ResNet block's `state_dict` names.
///
/// ```
/// use typegrad::prelude::*;
/// use typegrad::nn::{Linear, Module, ReLU, ResidualProjection};
///
/// let dev = Cpu::seeded(0);
/// let block = ResidualProjection {
///     residual: (Linear::<u!(4), u!(8)>::new(&dev), ReLU),
///     downsample: Linear::<u!(4), u!(8)>::no_bias(&dev),
/// };
/// let x: Tensor<(Dyn, u!(4))> = Tensor::ones((Dyn(2), Default::default()), &dev);
/// let y: Tensor<(Dyn, u!(8))> = block.forward(x.clone());
/// let expected = block.residual.forward(x.clone()) + block.downsample.forward(x);
/// assert_eq!(y.to_vec(), expected.to_vec());
/// let names: Vec<String> = block.param_names().into_iter().map(|(n, _)| n).collect();
/// assert_eq!(names, ["0.weight", "0.bias", "downsample.weight"]);
/// ```
///
/// Paths that disagree do not compile:
///
/// ```compile_fail,E0277
/// use typegrad::prelude::*;
/// use typegrad::nn::{Linear, Module, ResidualProjection};
/// let dev = Cpu::default();
/// let block = ResidualProjection {
///     residual: Linear::<u!(4), u!(8)>::new(&dev),
///     downsample: Linear::<u!(4), u!(6)>::new(&dev),
/// };
/// let x: Tensor<(Dyn, u!(4))> = Tensor::ones((Dyn(2), Default::default()), &dev);
/// let _ = block.forward(x); // shortcut mismatch: the downsample gives dim N<_6> where the residual path gives N<_8>
/// ```
#[derive(Clone, Debug, Default)]
pub struct ResidualProjection<F, P> {
    /// The residual path `F` (its parameters keep their own names).
    pub residual: F,
    /// The projection shortcut `P` (parameters under `downsample`).
    pub downsample: P,
}

impl<F, P> ResidualProjection<F, P> {
    /// Fallible forward: paths whose outputs differ in a `Dyn` dim give an
    /// [`Error::DimMismatch`] (`op` `"shortcut"`) instead of a panic.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::nn::{Module, ResidualProjection};
    ///
    /// /// Keeps the first `n` columns.
    /// struct Take(usize);
    /// impl Module<Tensor<(Dyn, Dyn), f32>> for Take {
    ///     type Output = Tensor<(Dyn, Dyn), f32>;
    ///     fn forward(&self, x: Tensor<(Dyn, Dyn), f32>) -> Self::Output {
    ///         x.narrow::<1>(0, Dyn(self.0))
    ///     }
    /// }
    /// let x: Tensor<(Dyn, Dyn), f32> = Tensor::ones((Dyn(2), Dyn(4)), &Cpu::default());
    /// let block = ResidualProjection { residual: Take(3), downsample: Take(2) };
    /// let e = block.try_forward(x).unwrap_err();
    /// assert_eq!(
    ///     e.to_string(),
    ///     "shortcut: dimension mismatch on axis 1 (downsample output vs residual path output): got 2, expected 3"
    /// );
    /// ```
    pub fn try_forward<X>(&self, x: X) -> Result<<Self as Module<X>>::Output, Error>
    where
        X: Clone,
        F: Module<X>,
        P: Module<X>,
        P::Output: ShortcutPath<F::Output>,
    {
        let fx = self.residual.forward(x.clone());
        self.downsample.forward(x).try_add_to(fx)
    }
}

impl<F, P, X> Module<X> for ResidualProjection<F, P>
where
    X: Clone,
    F: Module<X>,
    P: Module<X>,
    P::Output: ShortcutPath<F::Output>,
{
    type Output = <P::Output as ShortcutPath<F::Output>>::Sum;
    /// `F(x) + P(x)`; panics if the paths differ in a `Dyn` dim (see
    /// [`ResidualProjection::try_forward`]).
    #[track_caller]
    fn forward(&self, x: X) -> Self::Output {
        self.try_forward(x).unwrap_or_else(|e| panic!("{e}"))
    }
}

/// `Self`, the output of a [`ResidualProjection`]'s shortcut, can be added
/// to `R`, the residual path's output: for tensors, the shapes must agree
/// (static dims at compile time, `Dyn` ones at run time); dtype, device and
/// tape are the same types.
pub trait ShortcutPath<R> {
    /// The sum's type: `R` (named through the shape check).
    type Sum;
    /// `r + self`, checking the runtime dims.
    fn try_add_to(self, r: R) -> Result<Self::Sum, Error>;
}

impl<S, S2, E, D, T> ShortcutPath<Tensor<S, E, D, T>> for Tensor<S2, E, D, T>
where
    S: Shape,
    S2: ShortcutShape<S>,
    E: Dtype,
    D: Device<E>,
    T: Tracking<E, D>,
{
    type Sum = Tensor<<S2 as ShortcutShape<S>>::Sum, E, D, T>;
    fn try_add_to(self, r: Tensor<S, E, D, T>) -> Result<Self::Sum, Error> {
        let p = relabel(
            self,
            r.shape,
            "shortcut",
            "downsample output vs residual path output",
        )?;
        Ok(S2::pass(add_same(r, p)))
    }
}

/// The shape check of [`ShortcutPath`]: `Self`, the shortcut's output
/// shape, agrees with `S`, the residual path's; [`ShortcutShape::Sum`] is
/// `S`.
pub trait ShortcutShape<S: Shape>: Shape {
    /// `S`, named through the check.
    type Sum: Shape;
    /// The tensor itself, typed with [`ShortcutShape::Sum`].
    fn pass<E: Elem, D: Backend, T>(x: Tensor<S, E, D, T>) -> Tensor<Self::Sum, E, D, T>;
}
impl<S: Shape, S2: ShapeVerdict<S>> ShortcutShape<S> for S2
where
    <S2 as ShapeVerdict<S>>::Got: ShortcutChecked<<S2 as ShapeVerdict<S>>::Exp>,
{
    type Sum =
        <<S2 as ShapeVerdict<S>>::Got as ShortcutChecked<<S2 as ShapeVerdict<S>>::Exp>>::Then<S>;
    fn pass<E: Elem, D: Backend, T>(x: Tensor<S, E, D, T>) -> Tensor<Self::Sum, E, D, T> {
        <<S2 as ShapeVerdict<S>>::Got as ShortcutChecked<<S2 as ShapeVerdict<S>>::Exp>>::pass(x)
    }
}

/// The shortcut's output dim agrees with the residual path's (`Self` is
/// the shortcut's dim, `Expected` the residual path's), as a projection
/// (see [`ResidualChecked`]).
#[diagnostic::on_unimplemented(
    message = "shortcut mismatch: the downsample gives dim {Self} where the residual path gives {Expected}",
    label = "both paths of a `ResidualProjection` must give the same shape",
    note = "static dims are printed digit by digit: N<_4, _0, _0> is 400"
)]
pub trait ShortcutChecked<Expected> {
    /// `S` itself.
    type Then<S: Shape>: Shape;
    /// The tensor itself, typed with [`ShortcutChecked::Then`].
    fn pass<S: Shape, E: Elem, D: Backend, T>(
        t: Tensor<S, E, D, T>,
    ) -> Tensor<Self::Then<S>, E, D, T>;
}
#[diagnostic::do_not_recommend]
impl<G: DimsAgree<X>, X> ShortcutChecked<X> for G {
    type Then<S: Shape> = S;
    #[inline]
    fn pass<S: Shape, E: Elem, D: Backend, T>(t: Tensor<S, E, D, T>) -> Tensor<S, E, D, T> {
        t
    }
}

/// `t` under the shape `to` after checking that their runtime dims agree
/// (both types have the same rank; static dims already agree).
fn relabel<S: Shape, S2: Shape, E: Dtype, D: Backend, T>(
    t: Tensor<S2, E, D, T>,
    to: S,
    op: &'static str,
    what: &'static str,
) -> Result<Tensor<S, E, D, T>, Error> {
    let (got, expected) = (t.shape.dims(), to.dims());
    for (axis, (&g, &e)) in got.iter().zip(expected.iter()).enumerate() {
        crate::shape::check_dim(op, axis, what, g, e)?;
    }
    Ok(t.with_shape(to))
}

/// `a + b` for two tensors of one shape type, as a flat elementwise add
/// (so generic code needs no broadcast bound on `S`).
pub(crate) fn add_same<S: Shape, E: Dtype, D: Device<E>, T: Tracking<E, D>>(
    a: Tensor<S, E, D, T>,
    b: Tensor<S, E, D, T>,
) -> Tensor<S, E, D, T> {
    let shape = a.shape;
    let n = (Dyn(shape.numel()),);
    a.with_shape(n)
        .try_binary_op(BinaryOp::Add, b.with_shape(n))
        .unwrap_or_else(|e| panic!("{e}")) // equal lengths: cannot fail
        .with_shape(shape)
}

/// The residual path's parameters under their own names.
impl<E: Dtype, D: Backend, F: Params<E, D>> Params<E, D> for Residual<F> {
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

/// The residual path's parameters under their own names, then the
/// shortcut's under `downsample`.
impl<E: Dtype, D: Backend, F: Params<E, D>, P: Params<E, D>> Params<E, D>
    for ResidualProjection<F, P>
{
    fn visit_params(
        &self,
        path: &mut ParamPath,
        f: &mut dyn FnMut(&ParamPath, ParamRef<'_, E, D>),
    ) {
        self.residual.visit_params(path, f);
        path.push("downsample");
        self.downsample.visit_params(path, f);
        path.pop();
    }
    fn visit_params_mut(
        &mut self,
        path: &mut ParamPath,
        f: &mut dyn FnMut(&ParamPath, ParamMut<'_, E, D>),
    ) {
        self.residual.visit_params_mut(path, f);
        path.push("downsample");
        self.downsample.visit_params_mut(path, f);
        path.pop();
    }
    fn move_to_device(&mut self, device: &D) {
        self.residual.move_to_device(device);
        self.downsample.move_to_device(device);
    }
}

/// A residual keeps the feature size (its inner path must).
impl<F> super::chain::FeatureMap for Residual<F> {
    type Kind = super::chain::Keeps;
}
/// The size after a projection shortcut is its paths' (not tracked here).
impl<F, P> super::chain::FeatureMap for ResidualProjection<F, P> {
    type Kind = super::chain::Opaque;
}
