//! The runtime error of every fallible (`try_`) operation.

use core::fmt;

/// What went wrong in a `try_` operation. Each variant names the operation
/// and the sizes involved, so a message can be acted on without a debugger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// Two dims that must agree do not (a `Dyn` axis met a different size).
    DimMismatch {
        /// The operation, e.g. `"matmul"`.
        op: &'static str,
        /// Which axis (of the operand named in `what`).
        axis: usize,
        /// Which operands or roles the sizes come from.
        what: &'static str,
        /// The size found.
        got: usize,
        /// The size required.
        expected: usize,
    },
    /// Two shapes cannot be broadcast together.
    Broadcast {
        /// Axis of the output, counted from the left.
        axis: usize,
        /// Size on the left operand.
        lhs: usize,
        /// Size on the right operand.
        rhs: usize,
    },
    /// Element counts differ (reshape, construction from data).
    NumelMismatch {
        /// The operation.
        op: &'static str,
        /// Number of elements given.
        got: usize,
        /// Number of elements the shape needs.
        expected: usize,
    },
    /// The element count of a shape (or of a group of its axes) does not
    /// fit in `usize`: only possible with huge `Dyn` dims. Reported instead
    /// of a wrapped, wrong count.
    NumelOverflow {
        /// The operation.
        op: &'static str,
        /// The dims of the shape.
        dims: super::tuple::Dims,
    },
    /// A static dim was given a runtime size it cannot take.
    StaticDim {
        /// Axis of the shape.
        axis: usize,
        /// The runtime size given.
        got: usize,
        /// The size the type fixes.
        expected: usize,
    },
    /// An index (gather, select, slice) is out of range.
    IndexOutOfRange {
        /// The operation.
        op: &'static str,
        /// The axis indexed.
        axis: usize,
        /// The offending index (for slices: the end).
        index: usize,
        /// The axis size.
        size: usize,
    },
    /// A reduction over fewer elements than it is defined for (`max`,
    /// `min`, `mean`, `var` of an empty axis; unbiased variance of one
    /// element).
    TooFewElements {
        /// The operation, e.g. `"max_axis"`.
        op: &'static str,
        /// The reduced axis, or `None` for a whole-tensor reduction.
        axis: Option<usize>,
        /// Number of elements reduced.
        got: usize,
        /// The least number the operation is defined for.
        min: usize,
    },
    /// A window (pooling or convolution kernel, with its dilation) larger
    /// than the padded input along a spatial axis.
    KernelTooLarge {
        /// The operation, e.g. `"max_pool2d"`.
        op: &'static str,
        /// The axis of the input.
        axis: usize,
        /// The input size along that axis.
        input: usize,
        /// The padding on each side.
        padding: usize,
        /// The effective window size `dilation · (kernel - 1) + 1`.
        kernel: usize,
    },
    /// A device could not be used (no driver, no GPU with that ordinal, a
    /// kernel that failed to compile or launch), with the driver's words.
    Device {
        /// The device, e.g. `"cuda:0"`.
        device: alloc::string::String,
        /// What failed and why.
        message: alloc::string::String,
    },
    /// Anything else, with a message.
    Invalid(&'static str),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::DimMismatch { op, axis, what, got, expected } => write!(
                f,
                "{op}: dimension mismatch on axis {axis} ({what}): got {got}, expected {expected}"
            ),
            Error::Broadcast { axis, lhs, rhs } => write!(
                f,
                "broadcast: cannot broadcast sizes {lhs} and {rhs} on axis {axis} (they must be equal or one of them 1)"
            ),
            Error::NumelMismatch { op, got, expected } => write!(
                f,
                "{op}: element count mismatch: got {got} elements, the shape needs {expected}"
            ),
            Error::NumelOverflow { op, dims } => write!(
                f,
                "{op}: the element count of shape {dims:?} overflows usize"
            ),
            Error::StaticDim { axis, got, expected } => write!(
                f,
                "shape: axis {axis} is static with size {expected}, got runtime size {got}"
            ),
            Error::IndexOutOfRange { op, axis, index, size } => write!(
                f,
                "{op}: index {index} out of range for axis {axis} of size {size}"
            ),
            Error::TooFewElements { op, axis: Some(axis), got, min } => write!(
                f,
                "{op}: axis {axis} has size {got}, the reduction needs at least {min} element(s)"
            ),
            Error::TooFewElements { op, axis: None, got, min } => write!(
                f,
                "{op}: the tensor has {got} elements, the reduction needs at least {min}"
            ),
            Error::KernelTooLarge { op, axis, input, padding, kernel } => write!(
                f,
                "{op}: kernel larger than padded input on axis {axis}: input size {input} + 2 x padding {padding} < effective kernel size {kernel}"
            ),
            Error::Device { device, message } => write!(f, "{device}: {message}"),
            Error::Invalid(msg) => f.write_str(msg),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Error {}

/// Check that two runtime sizes agree, naming op, axis and roles on failure.
#[inline]
pub fn check_dim(
    op: &'static str,
    axis: usize,
    what: &'static str,
    got: usize,
    expected: usize,
) -> Result<(), Error> {
    if got == expected {
        Ok(())
    } else {
        Err(Error::DimMismatch {
            op,
            axis,
            what,
            got,
            expected,
        })
    }
}
