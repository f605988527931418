//! Sequential stacks: a tuple of modules is a module that runs its elements
//! in order (PyTorch's `nn.Sequential`), and a `Vec` or array of identical
//! blocks runs them one after another.
//!
//! The tuple impls below (arities 1 to 16) are written out by
//! `sequential!`; each element's input is the previous element's output,
//! so the compiler checks every shape along the chain. A struct whose fields
//! run in order gets the same with `#[derive(Module)] #[module(sequential)]`.
//!
//! ```
//! use typegrad::prelude::*;
//!
//! /// Multiplies by a learned vector.
//! #[derive(Module)]
//! struct Scale {
//!     w: Tensor<(u!(2),), f32>,
//! }
//! impl Module<Tensor<(u!(2),), f32>> for Scale {
//!     type Output = Tensor<(u!(2),), f32>;
//!     fn forward(&self, x: Tensor<(u!(2),), f32>) -> Self::Output {
//!         x.mul(self.w.clone())
//!     }
//! }
//!
//! /// `forward` runs `first`, then `second` (skipped fields take no part).
//! #[derive(Module)]
//! #[module(sequential)]
//! struct Net {
//!     first: Scale,
//!     #[module(skip)]
//!     name: &'static str,
//!     second: Scale,
//! }
//!
//! let dev = Cpu::default();
//! let s = |a, b| Scale { w: Tensor::from_vec_static(vec![a, b], &dev) };
//! let x = || Tensor::<(u!(2),), f32>::from_vec_static(vec![1.0, 1.0], &dev);
//! let net = Net { first: s(2.0, 3.0), name: "net", second: s(5.0, 7.0) };
//! assert_eq!(net.forward(x()).to_vec(), vec![10.0, 21.0]);
//! // The same stack as a tuple; its parameters are named by index.
//! let tuple = (s(2.0, 3.0), s(5.0, 7.0));
//! assert_eq!(tuple.forward(x()).to_vec(), vec![10.0, 21.0]);
//! assert_eq!(tuple.param_names()[1].0, "1.w");
//! # let _ = net.name;
//! ```

use super::Module;
use alloc::vec::Vec;

/// `impl Module<X> for (M0, ..., Mn)`: `$M $i $P` is an element type, its
/// index and the previous element type; `$L` is the last element type.
macro_rules! sequential {
    ($M0:ident $(, $M:ident $i:tt $P:ident)* => $L:ident) => {
        impl<X, $M0: Module<X> $(, $M: Module<$P::Output>)*> Module<X> for ($M0, $($M,)*) {
            type Output = $L::Output;
            fn forward(&self, x: X) -> Self::Output {
                let x = self.0.forward(x);
                $( let x = self.$i.forward(x); )*
                x
            }
        }
    };
}
sequential!(M0 => M0);
sequential!(M0, M1 1 M0 => M1);
sequential!(M0, M1 1 M0, M2 2 M1 => M2);
sequential!(M0, M1 1 M0, M2 2 M1, M3 3 M2 => M3);
sequential!(M0, M1 1 M0, M2 2 M1, M3 3 M2, M4 4 M3 => M4);
sequential!(M0, M1 1 M0, M2 2 M1, M3 3 M2, M4 4 M3, M5 5 M4 => M5);
sequential!(M0, M1 1 M0, M2 2 M1, M3 3 M2, M4 4 M3, M5 5 M4, M6 6 M5 => M6);
sequential!(M0, M1 1 M0, M2 2 M1, M3 3 M2, M4 4 M3, M5 5 M4, M6 6 M5, M7 7 M6 => M7);
sequential!(M0, M1 1 M0, M2 2 M1, M3 3 M2, M4 4 M3, M5 5 M4, M6 6 M5, M7 7 M6, M8 8 M7 => M8);
sequential!(M0, M1 1 M0, M2 2 M1, M3 3 M2, M4 4 M3, M5 5 M4, M6 6 M5, M7 7 M6, M8 8 M7, M9 9 M8 => M9);
sequential!(M0, M1 1 M0, M2 2 M1, M3 3 M2, M4 4 M3, M5 5 M4, M6 6 M5, M7 7 M6, M8 8 M7, M9 9 M8, M10 10 M9 => M10);
sequential!(M0, M1 1 M0, M2 2 M1, M3 3 M2, M4 4 M3, M5 5 M4, M6 6 M5, M7 7 M6, M8 8 M7, M9 9 M8, M10 10 M9, M11 11 M10 => M11);
sequential!(M0, M1 1 M0, M2 2 M1, M3 3 M2, M4 4 M3, M5 5 M4, M6 6 M5, M7 7 M6, M8 8 M7, M9 9 M8, M10 10 M9, M11 11 M10, M12 12 M11 => M12);
sequential!(M0, M1 1 M0, M2 2 M1, M3 3 M2, M4 4 M3, M5 5 M4, M6 6 M5, M7 7 M6, M8 8 M7, M9 9 M8, M10 10 M9, M11 11 M10, M12 12 M11, M13 13 M12 => M13);
sequential!(M0, M1 1 M0, M2 2 M1, M3 3 M2, M4 4 M3, M5 5 M4, M6 6 M5, M7 7 M6, M8 8 M7, M9 9 M8, M10 10 M9, M11 11 M10, M12 12 M11, M13 13 M12, M14 14 M13 => M14);
sequential!(M0, M1 1 M0, M2 2 M1, M3 3 M2, M4 4 M3, M5 5 M4, M6 6 M5, M7 7 M6, M8 8 M7, M9 9 M8, M10 10 M9, M11 11 M10, M12 12 M11, M13 13 M12, M14 14 M13, M15 15 M14 => M15);

/// A stack of identical blocks (each maps `X` to `X`), applied in index
/// order.
///
/// ```
/// use typegrad::prelude::*;
/// use typegrad::nn::Module;
///
/// struct AddOne;
/// impl Module<f32> for AddOne {
///     type Output = f32;
///     fn forward(&self, x: f32) -> f32 {
///         x + 1.0
///     }
/// }
/// assert_eq!(vec![AddOne, AddOne, AddOne].forward(0.5), 3.5);
/// assert_eq!([AddOne, AddOne].forward(0.5), 2.5);
/// ```
impl<X, M: Module<X, Output = X>> Module<X> for Vec<M> {
    type Output = X;
    fn forward(&self, x: X) -> X {
        self.iter().fold(x, |x, m| m.forward(x))
    }
}

/// A fixed-size stack of identical blocks, applied in index order.
impl<X, M: Module<X, Output = X>, const N: usize> Module<X> for [M; N] {
    type Output = X;
    fn forward(&self, x: X) -> X {
        self.iter().fold(x, |x, m| m.forward(x))
    }
}
