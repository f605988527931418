//! [`AttentionShape`]: which `Q`, `K`, `V` shapes attend, and the output.

use crate::shape::{check_dim, Agree, Dim, Error, Shape, ShapeVerdict, Then};

/// Runtime sizes of an attention call, from [`AttentionShape::attention_dims`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct AttentionDims {
    /// Product of the leading dims.
    pub batch: usize,
    /// Queries.
    pub nq: usize,
    /// Rows of `K` and `V`.
    pub nkv: usize,
    /// Last dim of `Q` and `K`.
    pub dqk: usize,
    /// Last dim of `V`.
    pub dv: usize,
}

/// `Self` (the shape of `Q`, `(..., Nq, Dqk)`) attends keys of shape `Sk`
/// (`(..., Nkv, Dqk)`) and values of shape `Sv` (`(..., Nkv, Dv)`); the
/// output is `(..., Nq, Dv)` with `Q`'s leading dims. Ranks 2 to 5.
///
/// Checked: the last dims of `Q` and `K`, the rows of `K` and `V`, and the
/// leading dims of all three: equal static dims, or any pair involving
/// [`crate::Dyn`] (checked at run time). `G` and `X` are the verdict (the
/// first disagreeing pair, in decimal; [`Agree`] by default, so a generic
/// bound `Sq: AttentionShape<Sk, Sv>` means "they agree"); the ops require
/// `G: DimsAgree<X>` themselves, which keeps a mismatch error short:
/// `dimension mismatch: got N<_8>, expected N<_1, _6>`.
///
/// ```
/// use typegrad::ops::attention::AttentionShape;
/// use typegrad::prelude::*;
/// let q = (Dyn(2), <u!(4)>::default(), Dyn(5), <u!(8)>::default());
/// let k = (Dyn(2), <u!(4)>::default(), Dyn(7), <u!(8)>::default());
/// let v = (Dyn(2), <u!(4)>::default(), Dyn(7), <u!(3)>::default());
/// let (out, d) = q.attention_dims(&k, &v).unwrap();
/// assert_eq!(&*out.dims(), &[2, 4, 5, 3]);
/// assert_eq!((d.batch, d.nq, d.nkv, d.dqk, d.dv), (8, 5, 7, 8, 3));
/// ```
pub trait AttentionShape<Sk: Shape, Sv: Shape, G = Agree, X = Agree>: Shape {
    /// `(..., Nq, Dv)`.
    type Output: Shape;
    /// Check the runtime sizes; the output shape and the sizes.
    fn attention_dims(&self, k: &Sk, v: &Sv) -> Result<(Self::Output, AttentionDims), Error>;
}

/// The verdict on `Q`, `K`, `V` shapes (see [`AttentionShape`]), for impls
/// that name it (`Sq: AttentionShape<Sk, Sv, AttentionGot<..>,
/// AttentionExp<..>>`).
pub trait AttentionVerdict<Sk: Shape, Sv: Shape>: Shape {
    /// [`Agree`], or the first disagreeing dim found, in decimal.
    type Got;
    /// [`Agree`], or the first disagreeing dim expected, in decimal.
    type Exp;
}

/// [`AttentionVerdict::Got`].
pub type AttentionGot<Sq, Sk, Sv> = <Sq as AttentionVerdict<Sk, Sv>>::Got;
/// [`AttentionVerdict::Exp`].
pub type AttentionExp<Sq, Sk, Sv> = <Sq as AttentionVerdict<Sk, Sv>>::Exp;

const OP: &str = "attention";

macro_rules! attention_shape {
    ($($L:ident $K:ident $V:ident $i:tt),*; $n:tt $d:tt) => {
        impl<$($L: Dim, $K: Dim, $V: Dim,)* Nq: Dim, Dq: Dim, Nk: Dim, Dk: Dim, Nv: Dim, Dv: Dim>
            AttentionVerdict<($($K,)* Nk, Dk), ($($V,)* Nv, Dv)> for ($($L,)* Nq, Dq)
        where
            ($($K,)* Dk,): ShapeVerdict<($($L,)* Dq,)>,
            ($($V,)* Nv,): ShapeVerdict<($($K,)* Nk,)>,
            <($($K,)* Dk,) as ShapeVerdict<($($L,)* Dq,)>>::Got: Then<
                <($($K,)* Dk,) as ShapeVerdict<($($L,)* Dq,)>>::Exp,
                <($($V,)* Nv,) as ShapeVerdict<($($K,)* Nk,)>>::Got,
                <($($V,)* Nv,) as ShapeVerdict<($($K,)* Nk,)>>::Exp,
            >,
        {
            type Got = <<($($K,)* Dk,) as ShapeVerdict<($($L,)* Dq,)>>::Got as Then<
                <($($K,)* Dk,) as ShapeVerdict<($($L,)* Dq,)>>::Exp,
                <($($V,)* Nv,) as ShapeVerdict<($($K,)* Nk,)>>::Got,
                <($($V,)* Nv,) as ShapeVerdict<($($K,)* Nk,)>>::Exp,
            >>::Got;
            type Exp = <<($($K,)* Dk,) as ShapeVerdict<($($L,)* Dq,)>>::Got as Then<
                <($($K,)* Dk,) as ShapeVerdict<($($L,)* Dq,)>>::Exp,
                <($($V,)* Nv,) as ShapeVerdict<($($K,)* Nk,)>>::Got,
                <($($V,)* Nv,) as ShapeVerdict<($($K,)* Nk,)>>::Exp,
            >>::Exp;
        }

        impl<$($L: Dim, $K: Dim, $V: Dim,)* Nq: Dim, Dq: Dim, Nk: Dim, Dk: Dim, Nv: Dim, Dv: Dim>
            AttentionShape<
                ($($K,)* Nk, Dk),
                ($($V,)* Nv, Dv),
                AttentionGot<($($L,)* Nq, Dq), ($($K,)* Nk, Dk), ($($V,)* Nv, Dv)>,
                AttentionExp<($($L,)* Nq, Dq), ($($K,)* Nk, Dk), ($($V,)* Nv, Dv)>,
            > for ($($L,)* Nq, Dq)
        where
            ($($L,)* Nq, Dq): AttentionVerdict<($($K,)* Nk, Dk), ($($V,)* Nv, Dv)>,
        {
            type Output = ($($L,)* Nq, Dv);
            #[allow(unused_mut)]
            fn attention_dims(
                &self,
                k: &($($K,)* Nk, Dk),
                v: &($($V,)* Nv, Dv),
            ) -> Result<(Self::Output, AttentionDims), Error> {
                let mut batch = 1usize;
                $(
                    check_dim(OP, $i, "key leading dim vs query leading dim", k.$i.size(), self.$i.size())?;
                    check_dim(OP, $i, "value leading dim vs query leading dim", v.$i.size(), self.$i.size())?;
                    batch = batch
                        .checked_mul(self.$i.size())
                        .ok_or(Error::NumelOverflow { op: OP, dims: self.dims() })?;
                )*
                check_dim(OP, $d, "key width vs query width", k.$d.size(), self.$d.size())?;
                check_dim(OP, $n, "value rows vs key rows", v.$n.size(), k.$n.size())?;
                let dims = AttentionDims {
                    batch,
                    nq: self.$n.size(),
                    nkv: k.$n.size(),
                    dqk: self.$d.size(),
                    dv: v.$d.size(),
                };
                Ok((($(self.$i,)* self.$n, v.$d), dims))
            }
        }
    };
}
attention_shape!(; 0 1);
attention_shape!(L0 K0 V0 0; 1 2);
attention_shape!(L0 K0 V0 0, L1 K1 V1 1; 2 3);
attention_shape!(L0 K0 V0 0, L1 K1 V1 1, L2 K2 V2 2; 3 4);
