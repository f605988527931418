//! A readable `Debug`: shape, dtype, device, tracking, and the values
//! (at most 8 per row and 6 rows shown).

use super::Tensor;
use crate::autograd::Tracking;
use crate::backend::Backend;
use crate::dtype::{Dtype, Elem};
use crate::shape::Shape;
use core::fmt;

impl<S: Shape, E: Elem + Dtype, D: Backend, T: Tracking<E, D>> fmt::Debug for Tensor<S, E, D, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dims = self.shape.dims();
        write!(
            f,
            "Tensor{:?} {} on {}{} ",
            &*dims,
            E::NAME,
            self.device.name(),
            if T::TRACKED { ", tracked" } else { "" }
        )?;
        let v = self.to_vec();
        let row = dims.last().copied().unwrap_or(1).max(1);
        let rows = v.len() / row;
        f.write_str("[")?;
        for (r, chunk) in v.chunks(row).enumerate() {
            if r == 6 && rows > 7 {
                write!(f, "\n  ... {} more rows", rows - 6)?;
                break;
            }
            f.write_str(if rows > 1 { "\n  [" } else { "[" })?;
            for (i, x) in chunk.iter().enumerate() {
                if i == 8 && row > 9 {
                    write!(f, ", ... {} more", row - 8)?;
                    break;
                }
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{x:.4}")?;
            }
            f.write_str("]")?;
        }
        f.write_str(if rows > 1 { "\n]" } else { "]" })
    }
}

/// `Debug` of `bool` masks and `usize` index tensors (untracked by
/// construction): shape, element type, device and up to 64 values.
macro_rules! debug_non_float {
    ($($e:ty),*) => {$(
        impl<S: Shape, D: Backend> fmt::Debug for Tensor<S, $e, D, crate::autograd::NoTape> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let v = self.to_vec();
                write!(f, "Tensor{:?} {} on {} {:?}", &*self.shape.dims(), <$e as Elem>::NAME, self.device.name(), &v[..v.len().min(64)])?;
                if v.len() > 64 {
                    write!(f, " ... {} more", v.len() - 64)?;
                }
                Ok(())
            }
        }
    )*};
}
debug_non_float!(bool, usize);
