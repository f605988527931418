//! Static dims written in decimal, for compile errors a person can read.
//!
//! rustc prints typenum numbers as nested `UInt<UInt<…, B1>, B0>` and elides
//! them. On a mismatch (and only then, so the happy path costs nothing) both
//! numbers are converted to a digit list, `N<_4, _0, _0>` for 400, which is
//! what the error message shows.

use core::marker::PhantomData;
use core::ops::{Div, Rem};
use typenum::consts::*;
use typenum::{IsEqual, B0, B1};

macro_rules! digits {
    ($($d:ident = $u:ident),*) => {$(
        #[doc = concat!("The decimal digit ", stringify!($u), " in compile errors.")]
        #[allow(non_camel_case_types)]
        #[derive(Debug, Default, Clone, Copy)]
        pub struct $d;
        impl Digit for $u { type Out = $d; }
    )*};
}

/// Maps a typenum number 0..=9 to its digit type.
pub trait Digit {
    /// The digit type (`_0`..`_9`).
    type Out;
}
digits!(
    _0 = U0,
    _1 = U1,
    _2 = U2,
    _3 = U3,
    _4 = U4,
    _5 = U5,
    _6 = U6,
    _7 = U7,
    _8 = U8,
    _9 = U9
);

/// A decimal number as its digits, most significant first: `N<_2, _5, _6>` is 256.
/// Unused trailing places default to `()` and rustc does not print them.
#[allow(clippy::type_complexity)]
pub struct N<A, B = (), C = (), D = (), E = (), F = (), G = (), H = ()>(
    PhantomData<(A, B, C, D, E, F, G, H)>,
);

/// Division by ten with remainder, at the type level.
pub trait DivMod10 {
    /// Quotient.
    type Q;
    /// Remainder (0..=9).
    type R;
}
impl<X> DivMod10 for X
where
    X: Div<U10> + Rem<U10>,
{
    type Q = <X as Div<U10>>::Output;
    type R = <X as Rem<U10>>::Output;
}

type Q<X> = <X as DivMod10>::Q;
type R<X> = <X as DivMod10>::R;

/// The decimal form of a static dim (numbers up to 99,999,999).
pub trait ToDecimal {
    /// `N<…>` of the digits.
    type Output;
}
impl<X> ToDecimal for X
where
    X: DivMod10,
    Q<X>: DivMod10,
    Q<Q<X>>: DivMod10,
    Q<Q<Q<X>>>: DivMod10,
    Q<Q<Q<Q<X>>>>: DivMod10,
    Q<Q<Q<Q<Q<X>>>>>: DivMod10,
    Q<Q<Q<Q<Q<Q<X>>>>>>: DivMod10,
    Q<Q<Q<Q<Q<Q<Q<X>>>>>>>: DivMod10,
    (
        R<Q<Q<Q<Q<Q<Q<Q<X>>>>>>>>,
        R<Q<Q<Q<Q<Q<Q<X>>>>>>>,
        R<Q<Q<Q<Q<Q<X>>>>>>,
        R<Q<Q<Q<Q<X>>>>>,
        R<Q<Q<Q<X>>>>,
        R<Q<Q<X>>>,
        R<Q<X>>,
        R<X>,
    ): Trim,
{
    type Output = <(
        R<Q<Q<Q<Q<Q<Q<Q<X>>>>>>>>,
        R<Q<Q<Q<Q<Q<Q<X>>>>>>>,
        R<Q<Q<Q<Q<Q<X>>>>>>,
        R<Q<Q<Q<Q<X>>>>>,
        R<Q<Q<Q<X>>>>,
        R<Q<Q<X>>>,
        R<Q<X>>,
        R<X>,
    ) as Trim>::Output;
}

/// The decimal form of `X`.
pub type Dec<X> = <X as ToDecimal>::Output;

/// Drops leading zeros from a digit tuple and builds `N<…>`.
pub trait Trim {
    /// The trimmed number.
    type Output;
}
/// Trim, dispatched on whether the leading digit is zero.
pub trait TrimIf<Zero> {
    /// The trimmed number.
    type Output;
}

impl<A: Digit> Trim for (A,) {
    type Output = N<A::Out>;
}

macro_rules! trim {
    ($a:ident $($rest:ident)+) => {
        impl<$a, $($rest),+> Trim for ($a, $($rest),+)
        where
            $a: IsEqual<U0>,
            ($a, $($rest),+): TrimIf<<$a as IsEqual<U0>>::Output>,
        {
            type Output = <($a, $($rest),+) as TrimIf<<$a as IsEqual<U0>>::Output>>::Output;
        }
        impl<$a, $($rest),+> TrimIf<B1> for ($a, $($rest),+)
        where
            ($($rest,)+): Trim,
        {
            type Output = <($($rest,)+) as Trim>::Output;
        }
        impl<$a: Digit, $($rest: Digit),+> TrimIf<B0> for ($a, $($rest),+) {
            type Output = N<$a::Out, $($rest::Out),+>;
        }
    };
}
trim!(A B);
trim!(A B C);
trim!(A B C D);
trim!(A B C D E);
trim!(A B C D E F);
trim!(A B C D E F G);
trim!(A B C D E F G H);
