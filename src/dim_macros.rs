//! `u!`, `shape!` and `dims!`: integer literals as typenum dims.
//!
//! Each is a `macro_rules!` wrapper that hands its `$crate` to the
//! proc-macro of the same name in `typegrad-macros`, so the generated
//! `…::typenum::UInt<…>` paths name this crate whatever a dependent calls it
//! (`tg = { package = "typegrad", … }` in `Cargo.toml`, `extern crate
//! typegrad as tg;`, or a crate that re-exports typegrad).

/// The typenum type of an integer literal, with no range limit (typenum's
/// own `U<N>` stops at 1024): `u!(784)` is the static dim 784.
///
/// ```
/// use typegrad::prelude::*;
/// type Vocab = u!(50257);
/// assert_eq!(<Vocab as Dim>::STATIC_SIZE, Some(50257));
/// let x: Tensor<(Dyn, u!(784))> = Tensor::zeros((Dyn(2), Default::default()), &Cpu::default());
/// assert_eq!(&*x.dims(), &[2, 784]);
/// ```
#[macro_export]
macro_rules! u {
    ($($t:tt)*) => { $crate::__macros::u!($crate; $($t)*) };
}

/// A shape *type*: integers become static dims, anything else (`Dyn`, a type
/// parameter, an alias) is kept as written.
///
/// ```
/// use typegrad::prelude::*;
/// type Image = shape!(Dyn, 1, 28, 28); // (Dyn, u!(1), u!(28), u!(28))
/// let x: Tensor<Image> = Tensor::zeros(dims!(Dyn(8), 1, 28, 28), &Cpu::default());
/// assert_eq!(&*x.dims(), &[8, 1, 28, 28]);
/// ```
#[macro_export]
macro_rules! shape {
    ($($t:tt)*) => { $crate::__macros::shape!($crate; $($t)*) };
}

/// A shape *value*: integers become static dims, other expressions (such as
/// `Dyn(8)`) are kept.
///
/// ```
/// use typegrad::prelude::*;
/// let s = dims!(Dyn(8), 1, 28, 28); // (Dyn(8), u!(1), u!(28), u!(28)) values
/// assert_eq!(&*s.dims(), &[8, 1, 28, 28]);
/// ```
#[macro_export]
macro_rules! dims {
    ($($t:tt)*) => { $crate::__macros::dims!($crate; $($t)*) };
}
