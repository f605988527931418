//! Feature sizes along a `#[module(sequential)]` struct, checked where the
//! struct is defined (or, for a struct generic over a size, where it is
//! used).
//!
//! A layer says what it does to the feature (last) axis through
//! [`FeatureMap`]: [`Linear<I, O>`](super::Linear) [`Maps`] `I` features to
//! `O`; activations and dropout [`Keeps`] the size. `#[derive(Module)]` on a
//! `#[module(sequential)]` struct walks its fields in order and compares,
//! for each layer that takes a fixed size, the size the layers before it
//! give with the size it takes. A mismatch is a compile error **at the
//! struct's definition**, whether or not `forward` is ever called, naming
//! the struct, the field and both sizes in decimal:
//!
//! ```text
//! error[E0277]: layers of `Mlp` do not chain: field `fc2` takes N<_6, _4> features, the layers before it give N<_1, _2, _8>
//! ```
//!
//! A field whose type has no `FeatureMap` (a model of your own, a tuple, a
//! `Vec` of blocks) is opaque: the size after it is unknown, and the next
//! fixed-size layer is checked only when `forward` is called with a tensor,
//! by the layer itself. `Dyn` sizes are checked at run time.
//!
//! **Structs generic over a size** (`Linear<u!(784), H>` in `struct Mlp<H:
//! Dim>`): the sizes are known only where the struct is used. The derive
//! then also gives the struct an inherent `forward` (method calls find it
//! before `Module::forward`) whose bounds check the chain from the input
//! tensor's last dim, with the same message, at the `forward` call. Each
//! field type of such a struct, other than a bare type parameter, needs a
//! `FeatureMap` (the library's layers and containers have one; `type Kind =
//! Opaque` says nothing about the sizes). Generic code that calls
//! `Module::forward` gets the layers' own errors instead.
//!
//! ```
//! use typegrad::nn::{Dropout, Linear, Module, ReLU};
//! use typegrad::prelude::*;
//!
//! #[derive(Module)]
//! #[module(sequential)]
//! struct Mlp {
//!     fc1: Linear<u!(784), u!(128)>,
//!     act: ReLU,
//!     drop: Dropout,
//!     fc2: Linear<u!(128), u!(10)>, // Linear<u!(64), u!(10)> does not compile
//! }
//!
//! let dev = Cpu::default();
//! let mlp = Mlp { fc1: Linear::new(&dev), act: ReLU, drop: Dropout::new(0.5), fc2: Linear::new(&dev) };
//! let y = mlp.forward(Tensor::<(Dyn, u!(784))>::zeros((Dyn(2), Default::default()), &dev));
//! assert_eq!(&*y.dims(), &[2, 10]);
//! ```
//!
//! The items marked hidden are the derive's helpers, not API.

use super::{
    Dropout, GELUTanh, LeakyReLU, Linear, LogSoftmax, Module, ReLU, SiLU, Sigmoid, Softmax, Tanh,
    GELU,
};
use crate::backend::Backend;
use crate::dtype::{Dtype, Elem};
use crate::shape::decimal::{Dec, ToDecimal};
use crate::shape::{Dim, Dyn, Shape, StaticDim};
use crate::tensor::Tensor;
use alloc::boxed::Box;
use alloc::vec::Vec;
use core::marker::PhantomData;
use typenum::{IsEqual, B0, B1};

/// What a layer does to the size of the feature (last) axis, for the checks
/// of `#[module(sequential)]` structs.
///
/// Implement it for a layer of your own whose sizes are fixed by its type,
/// so that a sequential struct holding it is checked at its definition:
///
/// ```
/// use typegrad::nn::chain::{FeatureMap, Maps};
/// use typegrad::prelude::*;
///
/// /// Projects `I` features to `O` (its `Module` impl is not shown).
/// struct Proj<I: Dim, O: Dim>(Tensor<(I, O), f32>);
/// impl<I: Dim, O: Dim> FeatureMap for Proj<I, O> {
///     type Kind = Maps<I, O>;
/// }
/// ```
///
/// A `#[module(sequential)]` struct generic over a size (`struct Mlp<H:
/// Dim>`) is checked where it is used, and needs a `FeatureMap` for each
/// field type other than a bare type parameter; `type Kind = Opaque` says
/// nothing about the sizes.
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not say what it does to the feature size",
    label = "a field of a `#[module(sequential)]` struct that is generic over a size",
    note = "implement `typegrad::nn::chain::FeatureMap` for it: `type Kind = Maps<I, O>`, `Keeps`, or `Opaque` if its sizes are not fixed"
)]
pub trait FeatureMap {
    /// [`Maps<I, O>`](Maps) (takes `I` features, gives `O`), [`Keeps`] (gives
    /// the size it gets) or [`Opaque`] (the size after it is unknown).
    type Kind;
}

/// A [`FeatureMap::Kind`]: takes `I` features and gives `O`.
///
/// ```
/// use typegrad::nn::chain::{FeatureMap, Maps};
/// use typegrad::nn::Linear;
/// use typegrad::prelude::*;
/// fn kind<L: FeatureMap>() -> core::marker::PhantomData<L::Kind> { core::marker::PhantomData }
/// let _: core::marker::PhantomData<Maps<u!(4), u!(2)>> = kind::<Linear<u!(4), u!(2)>>();
/// ```
pub struct Maps<I, O>(PhantomData<(I, O)>);

/// A [`FeatureMap::Kind`]: gives the feature size it gets (activations,
/// dropout, normalisation).
///
/// ```
/// use typegrad::nn::chain::{FeatureMap, Keeps};
/// use typegrad::nn::ReLU;
/// fn kind<L: FeatureMap>() -> core::marker::PhantomData<L::Kind> { core::marker::PhantomData }
/// let _: core::marker::PhantomData<Keeps> = kind::<ReLU>();
/// ```
pub struct Keeps;

/// A [`FeatureMap::Kind`]: the feature size after this layer is not known
/// from its type; checks resume at the next layer that fixes it. Layers
/// without a `FeatureMap` are treated the same.
///
/// ```
/// use typegrad::nn::chain::{FeatureMap, Opaque};
/// struct Reshaper;
/// impl FeatureMap for Reshaper {
///     type Kind = Opaque;
/// }
/// ```
pub struct Opaque;

impl<I: Dim, O: Dim, E: Dtype, D: Backend> FeatureMap for Linear<I, O, E, D> {
    type Kind = Maps<I, O>;
}

macro_rules! keeps {
    ($($t:ty),*) => {$(
        impl FeatureMap for $t {
            type Kind = Keeps;
        }
    )*};
}
keeps!(ReLU, Tanh, Sigmoid, SiLU, GELU, GELUTanh, LeakyReLU, Softmax, LogSoftmax, Dropout);

// Containers of modules: opaque (the checks resume after them).
impl<M> FeatureMap for Vec<M> {
    type Kind = Opaque;
}
impl<M, const N: usize> FeatureMap for [M; N] {
    type Kind = Opaque;
}
impl<M: ?Sized> FeatureMap for Box<M> {
    type Kind = Opaque;
}
macro_rules! opaque_tuples {
    ($($M:ident)*) => {
        impl<$($M),*> FeatureMap for ($($M,)*) {
            type Kind = Opaque;
        }
    };
}
opaque_tuples!(M0);
opaque_tuples!(M0 M1);
opaque_tuples!(M0 M1 M2);
opaque_tuples!(M0 M1 M2 M3);
opaque_tuples!(M0 M1 M2 M3 M4);
opaque_tuples!(M0 M1 M2 M3 M4 M5);
opaque_tuples!(M0 M1 M2 M3 M4 M5 M6);
opaque_tuples!(M0 M1 M2 M3 M4 M5 M6 M7);
opaque_tuples!(M0 M1 M2 M3 M4 M5 M6 M7 M8);
opaque_tuples!(M0 M1 M2 M3 M4 M5 M6 M7 M8 M9);
opaque_tuples!(M0 M1 M2 M3 M4 M5 M6 M7 M8 M9 M10);
opaque_tuples!(M0 M1 M2 M3 M4 M5 M6 M7 M8 M9 M10 M11);
opaque_tuples!(M0 M1 M2 M3 M4 M5 M6 M7 M8 M9 M10 M11 M12);
opaque_tuples!(M0 M1 M2 M3 M4 M5 M6 M7 M8 M9 M10 M11 M12 M13);
opaque_tuples!(M0 M1 M2 M3 M4 M5 M6 M7 M8 M9 M10 M11 M12 M13 M14);
opaque_tuples!(M0 M1 M2 M3 M4 M5 M6 M7 M8 M9 M10 M11 M12 M13 M14 M15);

/// The state before the first field and after an opaque one: no known size.
#[doc(hidden)]
pub struct Unknown;

/// The verdict of a check that passes.
#[doc(hidden)]
pub struct Fits;

/// The verdict `V` of one field's check with the two sizes in decimal
/// (`()` when they agree: they are only computed on a mismatch). A failed
/// check has verdict `()`, for which the derive's per-field trait is not
/// implemented.
#[doc(hidden)]
pub struct Checked<V, Got, Expected>(PhantomData<(V, Got, Expected)>);

/// The state before the first field.
#[doc(hidden)]
pub fn start() -> PhantomData<Unknown> {
    PhantomData
}

/// One field: the verdict of its check and the state after it.
#[doc(hidden)]
#[allow(clippy::type_complexity)]
pub fn step<S: Step<K>, K>(
    _: PhantomData<S>,
    _: PhantomData<K>,
) -> (
    Checked<S::Verdict, S::Got, S::Expected>,
    PhantomData<S::Next>,
) {
    (Checked(PhantomData), PhantomData)
}

/// The state `Self` (the size the layers before give) through a layer of
/// kind `K`.
#[doc(hidden)]
pub trait Step<K> {
    type Next;
    type Verdict;
    type Got;
    type Expected;
}
impl<S: Live> Step<Keeps> for S {
    type Next = S;
    type Verdict = Fits;
    type Got = ();
    type Expected = ();
}
impl<S: Live> Step<Opaque> for S {
    type Next = Unknown;
    type Verdict = Fits;
    type Got = ();
    type Expected = ();
}
impl Step<Keeps> for Poisoned {
    type Next = Poisoned;
    type Verdict = Skip;
    type Got = ();
    type Expected = ();
}
impl Step<Opaque> for Poisoned {
    type Next = Poisoned;
    type Verdict = Skip;
    type Got = ();
    type Expected = ();
}
impl<S: Compat<I>, I, O> Step<Maps<I, O>> for S
where
    S::Verdict: After<O>,
{
    type Next = <S::Verdict as After<O>>::Next;
    type Verdict = S::Verdict;
    type Got = S::Got;
    type Expected = S::Expected;
}

/// The state after a break: every later field is skipped, so one break is
/// reported once.
#[doc(hidden)]
pub struct Poisoned;

/// The verdict of a field after a break: not checked.
#[doc(hidden)]
pub struct Skip;

/// States other than [`Poisoned`].
#[doc(hidden)]
pub trait Live {}
impl Live for Unknown {}
impl Live for Dyn {}
impl<U, B> Live for typenum::UInt<U, B> {}
impl Live for typenum::UTerm {}

/// The state after a [`Maps`] layer giving `O`, by verdict.
#[doc(hidden)]
pub trait After<O> {
    type Next;
}
impl<O> After<O> for Fits {
    type Next = O;
}
impl<O> After<O> for () {
    type Next = Poisoned;
}
impl<O> After<O> for Skip {
    type Next = Poisoned;
}

/// `Self` (the size given) against `E` (the size taken): equal static sizes,
/// or anything involving [`Dyn`] or an unknown size, fit.
#[doc(hidden)]
pub trait Compat<E> {
    type Verdict;
    type Got;
    type Expected;
}
impl<E> Compat<E> for Unknown {
    type Verdict = Fits;
    type Got = ();
    type Expected = ();
}
impl<E> Compat<E> for Poisoned {
    type Verdict = Skip;
    type Got = ();
    type Expected = ();
}
impl<E: Dim> Compat<E> for Dyn {
    type Verdict = Fits;
    type Got = ();
    type Expected = ();
}
impl<S: StaticDim> Compat<Dyn> for S {
    type Verdict = Fits;
    type Got = ();
    type Expected = ();
}
impl<A: StaticDim, E: StaticDim> Compat<E> for A
where
    A: IsEqual<E>,
    <A as IsEqual<E>>::Output: Pick<A, E>,
{
    type Verdict = <<A as IsEqual<E>>::Output as Pick<A, E>>::Verdict;
    type Got = <<A as IsEqual<E>>::Output as Pick<A, E>>::Got;
    type Expected = <<A as IsEqual<E>>::Output as Pick<A, E>>::Expected;
}

/// The feature state of a `forward` input: the last dim of a tensor's
/// shape ([`Unknown`] for a scalar). The chain of a struct generic over a
/// size starts from it, so the first layer is checked against the input
/// too.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a tensor: a `#[module(sequential)]` struct generic over a size takes tensors",
    note = "write `forward` by hand to take other inputs"
)]
pub trait InputFeatures {
    type State;
}
impl<S: Shape + LastDim, E: Elem, D: Backend, T> InputFeatures for Tensor<S, E, D, T> {
    type State = S::Last;
}

/// The last dim of a shape tuple ([`Unknown`] for `()`).
#[doc(hidden)]
pub trait LastDim {
    type Last;
}
impl LastDim for () {
    type Last = Unknown;
}
macro_rules! last_dim {
    ($($A:ident)* ; $L:ident) => {
        impl<$($A,)* $L> LastDim for ($($A,)* $L,) {
            type Last = $L;
        }
    };
}
last_dim!(; A);
last_dim!(A; B);
last_dim!(A B; C);
last_dim!(A B C; D);
last_dim!(A B C D; F);
last_dim!(A B C D F; G);

/// Runs layer `F` on `X` by verdict: only [`Fits`] asks for `F:
/// Module<X>`. A `forward` whose bounds hold never sees the other verdicts
/// (`()` fails the derive's per-field bound, and [`Skip`] only follows a
/// `()`); their output is the marker [`Broken`].
#[doc(hidden)]
pub trait Then<F, X> {
    type Output;
    fn run(f: &F, x: X) -> Self::Output;
}
impl<F: Module<X>, X> Then<F, X> for Fits {
    type Output = F::Output;
    #[inline]
    fn run(f: &F, x: X) -> F::Output {
        f.forward(x)
    }
}
impl<F, X> Then<F, X> for () {
    type Output = Broken;
    fn run(_: &F, _: X) -> Broken {
        Broken
    }
}
impl<F, X> Then<F, X> for Skip {
    type Output = Broken;
    fn run(_: &F, _: X) -> Broken {
        Broken
    }
}

/// The output of a sequential struct whose layers do not chain (such a
/// `forward` does not compile).
#[doc(hidden)]
pub struct Broken;

/// Dispatch on `IsEqual`: only a mismatch converts both sizes to decimal.
#[doc(hidden)]
pub trait Pick<A, E> {
    type Verdict;
    type Got;
    type Expected;
}
impl<A, E> Pick<A, E> for B1 {
    type Verdict = Fits;
    type Got = ();
    type Expected = ();
}
impl<A: ToDecimal, E: ToDecimal> Pick<A, E> for B0 {
    type Verdict = ();
    type Got = Dec<A>;
    type Expected = Dec<E>;
}

/// Autoref specialisation: `(&Probe::<F>::new()).kind()` is `F`'s
/// [`FeatureMap::Kind`] where `F` has one ([`ViaKnown`], found without an
/// autoref), else [`Opaque`] ([`ViaOpaque`]).
#[doc(hidden)]
pub struct Probe<F>(PhantomData<fn() -> F>);
impl<F> Probe<F> {
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        Probe(PhantomData)
    }
}
#[doc(hidden)]
pub trait ViaKnown {
    type Kind;
    fn kind(&self) -> PhantomData<Self::Kind>;
}
impl<F: FeatureMap> ViaKnown for Probe<F> {
    type Kind = F::Kind;
    fn kind(&self) -> PhantomData<F::Kind> {
        PhantomData
    }
}
#[doc(hidden)]
pub trait ViaOpaque {
    fn kind(&self) -> PhantomData<Opaque>;
}
impl<F> ViaOpaque for &Probe<F> {
    fn kind(&self) -> PhantomData<Opaque> {
        PhantomData
    }
}
