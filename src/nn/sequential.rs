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
use crate::backend::Backend;
use crate::dtype::Elem;
use crate::shape::{DimsAgree, Shape, ShapeVerdict};
use crate::tensor::Tensor;
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
/// order. What a block gives is fed to the next one through
/// [`StackBlock`], which checks that a tensor block keeps its input's
/// shape: a block that changes it is a compile error at the `forward`
/// call, naming the first differing dim in decimal
/// (`a stacked block changes the shape: it gives dim N<_3, _2> where its
/// input has N<_1, _6>`).
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
impl<X, M: Module<X>> Module<X> for Vec<M>
where
    M::Output: StackBlock<X>,
{
    type Output = <M::Output as StackBlock<X>>::Fed;
    #[track_caller]
    fn forward(&self, x: X) -> Self::Output {
        stack_forward(self, x)
    }
}

/// Run identical blocks in order, feeding each output back as the next
/// input (the shared body of the `Vec` and array stacks).
#[track_caller]
fn stack_forward<X, M: Module<X>>(blocks: &[M], x: X) -> <M::Output as StackBlock<X>>::Fed
where
    M::Output: StackBlock<X>,
{
    <M::Output as StackBlock<X>>::fed(blocks.iter().fold(x, |x, m| m.forward(x).back()))
}

/// A fixed-size stack of identical blocks, applied in index order (see the
/// `Vec` impl).
impl<X, M: Module<X>, const N: usize> Module<X> for [M; N]
where
    M::Output: StackBlock<X>,
{
    type Output = <M::Output as StackBlock<X>>::Fed;
    #[track_caller]
    fn forward(&self, x: X) -> Self::Output {
        stack_forward(self, x)
    }
}

/// `Self`, the output of a block of a `Vec`/array stack, can be fed to the
/// next block as its input `X`.
///
/// Implemented for tensors (the shape must be kept: checked at compile
/// time for static dims, at run time for [`crate::Dyn`] ones; dtype,
/// device and tape are the same types), for tuples of such, and for `f32`
/// and `f64`. For an input type of your own, implement it as the identity:
///
/// ```
/// use typegrad::nn::{Module, StackBlock};
///
/// #[derive(Clone, Copy, Debug, PartialEq)]
/// struct Pair(f32, f32);
/// impl StackBlock<Pair> for Pair {
///     type Fed = Pair;
///     fn back(self) -> Pair { self }
///     fn fed(x: Pair) -> Pair { x }
/// }
/// struct Swap;
/// impl Module<Pair> for Swap {
///     type Output = Pair;
///     fn forward(&self, x: Pair) -> Pair { Pair(x.1, x.0) }
/// }
/// assert_eq!(vec![Swap, Swap, Swap].forward(Pair(1.0, 2.0)), Pair(2.0, 1.0));
/// ```
pub trait StackBlock<X> {
    /// The stack's output type: `X` (named through the shape check, so a
    /// block that changes the shape is reported at the `forward` call).
    type Fed;
    /// The block's output as the next block's input.
    fn back(self) -> X;
    /// The last block's output as the stack's output.
    fn fed(x: X) -> Self::Fed;
}

/// A tensor block must keep its input's shape. The verdict (the first
/// differing dim, in decimal) is checked through a projection (see
/// [`crate::shape::DimsChecked`]), so the error has no note in typenum's
/// binary form.
impl<S: Shape, S2: Shape, E: Elem, D: Backend, T> StackBlock<Tensor<S, E, D, T>>
    for Tensor<S2, E, D, T>
where
    S2: StackShape<S>,
{
    type Fed = Tensor<<S2 as StackShape<S>>::Fed, E, D, T>;
    #[track_caller]
    fn back(self) -> Tensor<S, E, D, T> {
        let shape = S::try_from_dims(&self.shape.dims()).unwrap_or_else(|e| panic!("{e}"));
        self.with_shape(shape)
    }
    fn fed(x: Tensor<S, E, D, T>) -> Self::Fed {
        S2::fed(x)
    }
}

/// The shape check of [`StackBlock`] for tensors: `Self`, a block's output
/// shape, agrees with `S`, its input shape; [`StackShape::Fed`] is `S`.
pub trait StackShape<S: Shape>: Shape {
    /// `S`, named through the check.
    type Fed: Shape;
    /// The tensor itself, typed with [`StackShape::Fed`].
    fn fed<E: Elem, D: Backend, T>(x: Tensor<S, E, D, T>) -> Tensor<Self::Fed, E, D, T>;
}
impl<S: Shape, S2: ShapeVerdict<S>> StackShape<S> for S2
where
    <S2 as ShapeVerdict<S>>::Got: BlockChecked<<S2 as ShapeVerdict<S>>::Exp>,
{
    type Fed =
        <<S2 as ShapeVerdict<S>>::Got as BlockChecked<<S2 as ShapeVerdict<S>>::Exp>>::Then<S>;
    fn fed<E: Elem, D: Backend, T>(x: Tensor<S, E, D, T>) -> Tensor<Self::Fed, E, D, T> {
        <<S2 as ShapeVerdict<S>>::Got as BlockChecked<<S2 as ShapeVerdict<S>>::Exp>>::pass(x)
    }
}

macro_rules! stack_block_scalar {
    ($($t:ty),*) => {$(
        impl StackBlock<$t> for $t {
            type Fed = $t;
            #[inline]
            fn back(self) -> $t {
                self
            }
            #[inline]
            fn fed(x: $t) -> $t {
                x
            }
        }
    )*};
}
stack_block_scalar!(f32, f64);

macro_rules! stack_block_tuple {
    ($($A:ident $B:ident $i:tt),*) => {
        impl<$($A, $B: StackBlock<$A>),*> StackBlock<($($A,)*)> for ($($B,)*) {
            type Fed = ($($B::Fed,)*);
            #[track_caller]
            fn back(self) -> ($($A,)*) {
                ($(self.$i.back(),)*)
            }
            fn fed(x: ($($A,)*)) -> Self::Fed {
                ($($B::fed(x.$i),)*)
            }
        }
    };
}
stack_block_tuple!(A0 B0 0, A1 B1 1);
stack_block_tuple!(A0 B0 0, A1 B1 1, A2 B2 2);

/// A stacked block's output shape agrees with its input's (`Self` is the
/// verdict's dim found, `Expected` the input's), as a projection:
/// `<G as BlockChecked<X>>::Then<S>` is `S` when they agree.
#[diagnostic::on_unimplemented(
    message = "a stacked block changes the shape: it gives dim {Self} where its input has {Expected}",
    label = "each block of a `Vec` or array stack must map its input shape to itself",
    note = "static dims are printed digit by digit: N<_4, _0, _0> is 400"
)]
pub trait BlockChecked<Expected> {
    /// `S` itself.
    type Then<S: Shape>: Shape;
    /// The tensor itself, typed with [`BlockChecked::Then`].
    fn pass<S: Shape, E: Elem, D: Backend, T>(
        t: Tensor<S, E, D, T>,
    ) -> Tensor<Self::Then<S>, E, D, T>;
}
#[diagnostic::do_not_recommend]
impl<G: DimsAgree<X>, X> BlockChecked<X> for G {
    type Then<S: Shape> = S;
    #[inline]
    fn pass<S: Shape, E: Elem, D: Backend, T>(t: Tensor<S, E, D, T>) -> Tensor<S, E, D, T> {
        t
    }
}
