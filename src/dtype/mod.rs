//! Element types. [`Elem`] is anything a tensor can hold (floats, `bool`
//! masks, `usize` indices); [`Dtype`] is a float that ops differentiate.

mod exp;

pub use exp::{exp_f32, exp_f64};
#[doc(hidden)]
pub use exp::{exp_f32_with, exp_f64_with};

use core::fmt::{Debug, Display};
use num_traits::Float;

/// What a device needs of an element type to hold it: nothing on the CPU;
/// with the `cuda` feature, that it can be copied to the GPU as plain bits.
/// Implemented for every [`Elem`]; not meant to be named by users.
#[cfg(feature = "cuda")]
#[doc(hidden)]
pub trait DeviceElem: cudarc::driver::DeviceRepr + cudarc::driver::ValidAsZeroBits + Unpin {}
#[cfg(feature = "cuda")]
impl<T: cudarc::driver::DeviceRepr + cudarc::driver::ValidAsZeroBits + Unpin> DeviceElem for T {}
/// What a device needs of an element type (nothing without `cuda`).
#[cfg(not(feature = "cuda"))]
#[doc(hidden)]
pub trait DeviceElem {}
#[cfg(not(feature = "cuda"))]
impl<T> DeviceElem for T {}

/// Anything a tensor can hold.
pub trait Elem: Copy + Debug + Default + PartialEq + Send + Sync + DeviceElem + 'static {
    /// Name shown in `Debug` output.
    const NAME: &'static str;
}

/// A float element type: `f32` or `f64`.
///
/// ```
/// use typegrad::dtype::Dtype;
/// assert_eq!(<f32 as Dtype>::from_f64(0.5), 0.5f32);
/// ```
pub trait Dtype: Elem + Float + Display + num_traits::FloatConst + core::iter::Sum {
    /// Convert from f64 (rounding for f32).
    fn from_f64(x: f64) -> Self;
    /// Convert to f64.
    fn to_f64(self) -> f64;
    /// The error function (for exact GELU).
    fn erf(self) -> Self;
    /// `e^x` without a call or a branch ([`exp_f32`], [`exp_f64`]), so that
    /// loops over it vectorise; within 2 ulp of libm. The kernels' `exp`.
    ///
    /// ```
    /// use typegrad::dtype::Dtype;
    /// assert!((2.0f64.fast_exp() - 2.0f64.exp()).abs() < 1e-15 * 2.0f64.exp());
    /// ```
    fn fast_exp(self) -> Self;
    /// [`Dtype::fast_exp`] with fused multiply-adds when `FMA`, for kernels
    /// compiled with the FMA extension.
    #[doc(hidden)]
    fn fast_exp_with<const FMA: bool>(self) -> Self;
}

impl Elem for f32 {
    const NAME: &'static str = "f32";
}
impl Elem for f64 {
    const NAME: &'static str = "f64";
}
impl Elem for bool {
    const NAME: &'static str = "bool";
}
impl Elem for usize {
    const NAME: &'static str = "usize";
}
impl Elem for u8 {
    const NAME: &'static str = "u8";
}

impl Dtype for f32 {
    #[inline]
    fn from_f64(x: f64) -> Self {
        x as f32
    }
    #[inline]
    fn to_f64(self) -> f64 {
        self as f64
    }
    #[inline]
    fn erf(self) -> Self {
        libm::erff(self)
    }
    #[inline(always)]
    fn fast_exp(self) -> Self {
        exp_f32(self)
    }
    #[inline(always)]
    fn fast_exp_with<const FMA: bool>(self) -> Self {
        exp_f32_with::<FMA>(self)
    }
}
impl Dtype for f64 {
    #[inline]
    fn from_f64(x: f64) -> Self {
        x
    }
    #[inline]
    fn to_f64(self) -> f64 {
        self
    }
    #[inline]
    fn erf(self) -> Self {
        libm::erf(self)
    }
    #[inline(always)]
    fn fast_exp(self) -> Self {
        exp_f64(self)
    }
    #[inline(always)]
    fn fast_exp_with<const FMA: bool>(self) -> Self {
        exp_f64_with::<FMA>(self)
    }
}
