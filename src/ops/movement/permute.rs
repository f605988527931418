//! `permute` (reorder all axes), `transpose` (swap two axes) and `t`
//! (2-D transpose). The output shape is computed at the type level
//! ([`PermuteShape`], [`SwapAxes`]); an axis out of range or named twice
//! does not compile. Backward: the inverse permutation of the gradient.

use crate::autograd::Tracking;
use crate::backend::Device;
use crate::dtype::Dtype;
use crate::shape::{
    Axes2, Axes3, Axes4, Axes5, Axes6, Dim, Dims, PermuteShape, Shape, SwapAxes, MAX_RANK,
};
use crate::tensor::{op_result, Tensor};

impl<S: Shape, E: Dtype, D: Device<E>, T: Tracking<E, D>> Tensor<S, E, D, T> {
    /// Reorder the axes (output axis `i` is input axis `perm[i]`) into
    /// `out_shape`, and record the backward (the inverse permutation).
    pub(crate) fn permute_op<S2: Shape>(
        self,
        out_shape: S2,
        perm: &[usize],
    ) -> Tensor<S2, E, D, T> {
        let dims = self.shape.dims();
        let (x, tape) = self.split_tape();
        let xid = x.id;
        if perm.iter().enumerate().all(|(i, &p)| i == p) {
            // Nothing moves: share the storage.
            return op_result(out_shape, x.data, x.device, tape, move |g, gy| {
                g.accumulate(xid, gy.clone())
            });
        }
        let y = x.device.permute(&x.data, &dims, perm);
        let mut inv = [0usize; MAX_RANK];
        for (i, &p) in perm.iter().enumerate() {
            inv[p] = i;
        }
        let inv = Dims::new(&inv[..perm.len()]);
        let out_dims = out_shape.dims();
        let dev = x.device.clone();
        op_result(out_shape, y, x.device, tape, move |g, gy| {
            g.accumulate(xid, dev.permute(gy, &out_dims, &inv));
        })
    }

    /// Swap axes `I` and `J` (`transpose::<I, I>()` is the identity and
    /// shares the storage). An axis out of range does not compile.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let dev = Cpu::default();
    /// let x: Tensor<(Dyn, u!(2), u!(3)), f32> =
    ///     Tensor::from_vec((Dyn(1), Default::default(), Default::default()), vec![0., 1., 2., 3., 4., 5.], &dev);
    /// let y = x.transpose::<1, 2>(); // Tensor<(Dyn, U3, U2)>
    /// assert_eq!(&*y.dims(), &[1, 3, 2]);
    /// assert_eq!(y.to_vec(), vec![0., 3., 1., 4., 2., 5.]);
    /// ```
    ///
    /// ```compile_fail,E0277
    /// use typegrad::prelude::*;
    /// let x: Tensor<(u!(2), u!(3)), f32> = Tensor::zeros(Default::default(), &Cpu::default());
    /// let _ = x.transpose::<0, 2>(); // axis 2 is out of range for this shape
    /// ```
    pub fn transpose<const I: usize, const J: usize>(
        self,
    ) -> Tensor<<S as SwapAxes<I, J>>::Output, E, D, T>
    where
        S: SwapAxes<I, J>,
    {
        let out = self.shape.swap_axes();
        let mut perm = [0usize; MAX_RANK];
        for (i, p) in perm.iter_mut().enumerate() {
            *p = i;
        }
        perm.swap(I, J);
        self.permute_op(out, &perm[..S::RANK])
    }
}

impl<A: Dim, B: Dim, E: Dtype, D: Device<E>, T: Tracking<E, D>> Tensor<(A, B), E, D, T> {
    /// The transpose of a matrix: `(A, B)` becomes `(B, A)`.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let x = Tensor::<(u!(2), u!(3)), f32>::from_vec_static(vec![1., 2., 3., 4., 5., 6.], &Cpu::default());
    /// let y: Tensor<(u!(3), u!(2)), f32> = x.t();
    /// assert_eq!(y.to_vec(), vec![1., 4., 2., 5., 3., 6.]);
    /// ```
    pub fn t(self) -> Tensor<(B, A), E, D, T> {
        let (a, b) = self.shape;
        self.permute_op((b, a), &[1, 0])
    }
}

macro_rules! permute_rank {
    ($Axes:ident, $rank:literal; $($Dn:ident),*; $($A:ident),*; $doc:literal $(; $fail:literal)?) => {
        impl<$($Dn: Dim,)* E: Dtype, Dev: Device<E>, T: Tracking<E, Dev>> Tensor<($($Dn,)*), E, Dev, T> {
            #[doc = concat!("Reorder the axes of a rank-", stringify!($rank), " tensor: in `permute::<a_0, a_1, …>()`,")]
            /// output axis `i` is input axis `a_i` (as PyTorch's `permute`,
            /// with the axes as const generics). The output shape is computed at
            /// compile time; an axis out of range, or named twice, does not
            /// compile ("permute: axis N appears twice in the permutation").
            /// Backward applies the inverse permutation.
            ///
            /// ```
            #[doc = $doc]
            /// ```
            $(
            ///
            #[doc = $fail]
            )?
            pub fn permute<$(const $A: usize),*>(
                self,
            ) -> Tensor<<($($Dn,)*) as PermuteShape<$Axes<$($A),*>>>::Output, E, Dev, T>
            where
                ($($Dn,)*): PermuteShape<$Axes<$($A),*>>,
            {
                let out = self.shape.permute_shape();
                let perm = <($($Dn,)*) as PermuteShape<$Axes<$($A),*>>>::perm();
                self.permute_op(out, &perm)
            }
        }
    };
}

permute_rank!(Axes2, 2; D0, D1; A, B; "use typegrad::prelude::*;
let x = Tensor::<(u!(2), u!(3)), f32>::from_vec_static(vec![1., 2., 3., 4., 5., 6.], &Cpu::default());
let y = x.permute::<1, 0>(); // Tensor<(U3, U2)>
assert_eq!(y.to_vec(), vec![1., 4., 2., 5., 3., 6.]);");
permute_rank!(Axes3, 3; D0, D1, D2; A, B, C; "use typegrad::prelude::*;
let dev = Cpu::default();
// (batch, channels, length) to (length, batch, channels)
let x: Tensor<(Dyn, u!(2), u!(3)), f32> = Tensor::zeros((Dyn(4), Default::default(), Default::default()), &dev);
let y: Tensor<(u!(3), Dyn, u!(2)), f32> = x.permute::<2, 0, 1>();
assert_eq!(&*y.dims(), &[3, 4, 2]);";
"```compile_fail,E0277
use typegrad::prelude::*;
let x: Tensor<(u!(2), u!(3), u!(4)), f32> = Tensor::zeros(Default::default(), &Cpu::default());
let _ = x.permute::<0, 0, 1>(); // permute: axis 0 appears twice in the permutation
```");
permute_rank!(Axes4, 4; D0, D1, D2, D3; A, B, C, D; "use typegrad::prelude::*;
let dev = Cpu::default();
// attention heads: (batch, seq, heads, head_dim) to (batch, heads, seq, head_dim)
let x: Tensor<(Dyn, Dyn, u!(8), u!(64)), f32> =
    Tensor::zeros((Dyn(2), Dyn(10), Default::default(), Default::default()), &dev);
let y: Tensor<(Dyn, u!(8), Dyn, u!(64)), f32> = x.permute::<0, 2, 1, 3>();
assert_eq!(&*y.dims(), &[2, 8, 10, 64]);");
permute_rank!(Axes5, 5; D0, D1, D2, D3, D4; A, B, C, D, F; "use typegrad::prelude::*;
let x: Tensor<(u!(1), u!(2), u!(3), u!(4), u!(5)), f32> = Tensor::zeros(Default::default(), &Cpu::default());
let y = x.permute::<4, 3, 2, 1, 0>();
assert_eq!(&*y.dims(), &[5, 4, 3, 2, 1]);");
permute_rank!(Axes6, 6; D0, D1, D2, D3, D4, D5; A, B, C, D, F, G; "use typegrad::prelude::*;
let x: Tensor<(u!(1), u!(2), u!(3), u!(4), u!(5), u!(6)), f32> = Tensor::zeros(Default::default(), &Cpu::default());
let y = x.permute::<0, 2, 4, 1, 3, 5>();
assert_eq!(&*y.dims(), &[1, 3, 5, 2, 4, 6]);");
