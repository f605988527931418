//! [`Summary`] for the library's layers and containers.

use super::{Summary, SummaryRows};
use crate::backend::{Backend, Device};
use crate::dtype::Dtype;
use crate::nn::residual::{ResidualShape, ShortcutShape};
use crate::nn::{
    ConcatSkip, Dropout, Flatten, GELUTanh, LeakyReLU, Linear, LinearChecked, LogSoftmax, Params,
    ReLU, Residual, ResidualProjection, SiLU, Sigmoid, SkipShape, Softmax, Tanh, GELU,
};
use crate::shape::{
    check_dim, ConcatShape, Dim, Error, FlattenFrom, RemoveAxis, Shape, ShapeVerdict,
};
use alloc::boxed::Box;
use alloc::vec::Vec;

/// `Summary` for a layer that keeps its input's shape (activations,
/// dropout, normalisation): one row, the output shape type taken from the
/// layer's `Module` impl. `summary_keeps_shape!(Layer<A, B>; A: Dim, B: Dim)`
/// for a generic layer.
macro_rules! summary_keeps_shape {
    ($t:ty $(; $($g:tt)*)?) => {
        impl<S, S2, E, D $(, $($g)*)?> $crate::nn::Summary<S, E, D> for $t
        where
            S: $crate::shape::Shape,
            S2: $crate::shape::Shape,
            E: $crate::dtype::Dtype,
            D: $crate::backend::Device<E>,
            $t: $crate::nn::Module<
                    $crate::tensor::Tensor<S, E, D>,
                    Output = $crate::tensor::Tensor<S2, E, D>,
                > + $crate::nn::Params<E, D>,
        {
            type Output = S2;
            fn summarize(
                &self,
                input: S,
                rows: &mut $crate::nn::SummaryRows,
            ) -> Result<S2, $crate::shape::Error> {
                let n = $crate::nn::Params::<E, D>::num_params(self);
                rows.row_from_dims(n, &input.dims())
            }
        }
    };
}
pub(crate) use summary_keeps_shape;

summary_keeps_shape!(ReLU);
summary_keeps_shape!(Tanh);
summary_keeps_shape!(Sigmoid);
summary_keeps_shape!(SiLU);
summary_keeps_shape!(GELU);
summary_keeps_shape!(GELUTanh);
summary_keeps_shape!(LeakyReLU);
summary_keeps_shape!(Softmax);
summary_keeps_shape!(LogSoftmax);
summary_keeps_shape!(Dropout);

/// `(…, I) -> (…, O)`, the input features checked as `forward` checks
/// them.
impl<I: Dim, O: Dim, E: Dtype, D: Device<E>, S: LinearChecked<I, O>> Summary<S, E, D>
    for Linear<I, O, E, D>
{
    type Output = <S as LinearChecked<I, O>>::Output;
    fn summarize(&self, input: S, rows: &mut SummaryRows) -> Result<Self::Output, Error> {
        let mut d = input.dims();
        let last = d.len() - 1; // `LinearChecked` needs at least one axis
        let (i, o) = (self.weight.shape.1.size(), self.weight.shape.0.size());
        check_dim("linear", last, "input features vs weight", d[last], i)?;
        let mut out = [0usize; crate::shape::MAX_RANK];
        out[..d.len()].copy_from_slice(&d);
        out[last] = o;
        d = crate::shape::Dims::new(&out[..d.len()]);
        rows.row_from_dims(self.num_params(), &d)
    }
}

/// `(B, …) -> (B, product of the rest)`.
impl<S: FlattenFrom<1>, E: Dtype, D: Backend> Summary<S, E, D> for Flatten {
    type Output = <S as FlattenFrom<1>>::Output;
    fn summarize(&self, input: S, rows: &mut SummaryRows) -> Result<Self::Output, Error> {
        Ok(rows.row(0, crate::nn::flatten::flatten_shape(input)?))
    }
}

/// The inner path's rows (no row for the sum: it has the input's shape).
impl<F, S, E, D> Summary<S, E, D> for Residual<F>
where
    S: Shape,
    E: Dtype,
    D: Backend,
    F: Summary<S, E, D>,
    F::Output: ResidualShape<S>,
{
    type Output = <F::Output as ResidualShape<S>>::Sum;
    fn summarize(&self, input: S, rows: &mut SummaryRows) -> Result<Self::Output, Error> {
        let d = input.dims();
        let out = self.0.summarize(input, rows)?.dims();
        for (axis, (&g, &e)) in out.iter().zip(d.iter()).enumerate() {
            check_dim("residual", axis, "residual path output vs input", g, e)?;
        }
        <Self::Output as Shape>::try_from_dims(&d)
    }
}

/// The residual path's rows, then the shortcut's under `downsample`.
impl<F, P, S, E, D> Summary<S, E, D> for ResidualProjection<F, P>
where
    S: Shape,
    E: Dtype,
    D: Backend,
    F: Summary<S, E, D>,
    P: Summary<S, E, D>,
    P::Output: ShortcutShape<F::Output>,
{
    type Output = <P::Output as ShortcutShape<F::Output>>::Sum;
    fn summarize(&self, input: S, rows: &mut SummaryRows) -> Result<Self::Output, Error> {
        let r = self.residual.summarize(input, rows)?.dims();
        let p = rows.child("downsample", &self.downsample, input)?.dims();
        for (axis, (&g, &e)) in p.iter().zip(r.iter()).enumerate() {
            check_dim(
                "shortcut",
                axis,
                "downsample output vs residual path output",
                g,
                e,
            )?;
        }
        <Self::Output as Shape>::try_from_dims(&r)
    }
}

/// The inner path's rows; the output has the channels of both.
impl<F, S, E, D> Summary<S, E, D> for ConcatSkip<F>
where
    S: Shape + RemoveAxis<1>,
    E: Dtype,
    D: Backend,
    F: Summary<S, E, D>,
    F::Output: SkipShape<S> + RemoveAxis<1>,
    <S as RemoveAxis<1>>::Output: ShapeVerdict<<F::Output as RemoveAxis<1>>::Output>,
    S: ConcatShape<
        F::Output,
        1,
        <<S as RemoveAxis<1>>::Output as ShapeVerdict<<F::Output as RemoveAxis<1>>::Output>>::Got,
        <<S as RemoveAxis<1>>::Output as ShapeVerdict<<F::Output as RemoveAxis<1>>::Output>>::Exp,
    >,
{
    type Output = <F::Output as SkipShape<S>>::Joined;
    fn summarize(&self, input: S, rows: &mut SummaryRows) -> Result<Self::Output, Error> {
        let fx = self.0.summarize(input, rows)?;
        let joined = input.concat_shape(&fx)?;
        <Self::Output as Shape>::try_from_dims(&joined.dims())
    }
}

/// A block stack: each block's rows under its index; every block must give
/// back its input's shape, as in `forward`.
impl<M: Summary<S, E, D>, S: Shape, E: Dtype, D: Backend> Summary<S, E, D> for [M] {
    type Output = S;
    fn summarize(&self, input: S, rows: &mut SummaryRows) -> Result<S, Error> {
        let mut x = input;
        for (i, m) in self.iter().enumerate() {
            let out = rows.child(&alloc::format!("{i}"), m, x)?;
            x = S::try_from_dims(&out.dims())?;
        }
        Ok(x)
    }
}
impl<M: Summary<S, E, D>, S: Shape, E: Dtype, D: Backend> Summary<S, E, D> for Vec<M> {
    type Output = S;
    fn summarize(&self, input: S, rows: &mut SummaryRows) -> Result<S, Error> {
        self.as_slice().summarize(input, rows)
    }
}
impl<M: Summary<S, E, D>, S: Shape, E: Dtype, D: Backend, const N: usize> Summary<S, E, D>
    for [M; N]
{
    type Output = S;
    fn summarize(&self, input: S, rows: &mut SummaryRows) -> Result<S, Error> {
        self.as_slice().summarize(input, rows)
    }
}

/// The boxed module itself (no path segment, as for parameters).
impl<M: Summary<S, E, D> + ?Sized, S, E: Dtype, D: Backend> Summary<S, E, D> for Box<M> {
    type Output = M::Output;
    fn summarize(&self, input: S, rows: &mut SummaryRows) -> Result<M::Output, Error> {
        (**self).summarize(input, rows)
    }
}

/// `impl Summary for (M0, …, Mn)`: each element under its index, on the
/// previous one's output (as the sequential tuple's `forward`).
macro_rules! summary_tuple {
    ($M0:ident $(, $M:ident $i:tt $P:ident)* => $L:ident) => {
        impl<S, E: Dtype, D: Backend, $M0: Summary<S, E, D> $(, $M: Summary<$P::Output, E, D>)*>
            Summary<S, E, D> for ($M0, $($M,)*)
        {
            type Output = $L::Output;
            fn summarize(&self, x: S, rows: &mut SummaryRows) -> Result<Self::Output, Error> {
                let x = rows.child("0", &self.0, x)?;
                $( let x = rows.child(stringify!($i), &self.$i, x)?; )*
                Ok(x)
            }
        }
    };
}
summary_tuple!(M0 => M0);
summary_tuple!(M0, M1 1 M0 => M1);
summary_tuple!(M0, M1 1 M0, M2 2 M1 => M2);
summary_tuple!(M0, M1 1 M0, M2 2 M1, M3 3 M2 => M3);
summary_tuple!(M0, M1 1 M0, M2 2 M1, M3 3 M2, M4 4 M3 => M4);
summary_tuple!(M0, M1 1 M0, M2 2 M1, M3 3 M2, M4 4 M3, M5 5 M4 => M5);
summary_tuple!(M0, M1 1 M0, M2 2 M1, M3 3 M2, M4 4 M3, M5 5 M4, M6 6 M5 => M6);
summary_tuple!(M0, M1 1 M0, M2 2 M1, M3 3 M2, M4 4 M3, M5 5 M4, M6 6 M5, M7 7 M6 => M7);
summary_tuple!(M0, M1 1 M0, M2 2 M1, M3 3 M2, M4 4 M3, M5 5 M4, M6 6 M5, M7 7 M6, M8 8 M7 => M8);
summary_tuple!(M0, M1 1 M0, M2 2 M1, M3 3 M2, M4 4 M3, M5 5 M4, M6 6 M5, M7 7 M6, M8 8 M7, M9 9 M8 => M9);
summary_tuple!(M0, M1 1 M0, M2 2 M1, M3 3 M2, M4 4 M3, M5 5 M4, M6 6 M5, M7 7 M6, M8 8 M7, M9 9 M8, M10 10 M9 => M10);
summary_tuple!(M0, M1 1 M0, M2 2 M1, M3 3 M2, M4 4 M3, M5 5 M4, M6 6 M5, M7 7 M6, M8 8 M7, M9 9 M8, M10 10 M9, M11 11 M10 => M11);
summary_tuple!(M0, M1 1 M0, M2 2 M1, M3 3 M2, M4 4 M3, M5 5 M4, M6 6 M5, M7 7 M6, M8 8 M7, M9 9 M8, M10 10 M9, M11 11 M10, M12 12 M11 => M12);
summary_tuple!(M0, M1 1 M0, M2 2 M1, M3 3 M2, M4 4 M3, M5 5 M4, M6 6 M5, M7 7 M6, M8 8 M7, M9 9 M8, M10 10 M9, M11 11 M10, M12 12 M11, M13 13 M12 => M13);
summary_tuple!(M0, M1 1 M0, M2 2 M1, M3 3 M2, M4 4 M3, M5 5 M4, M6 6 M5, M7 7 M6, M8 8 M7, M9 9 M8, M10 10 M9, M11 11 M10, M12 12 M11, M13 13 M12, M14 14 M13 => M14);
summary_tuple!(M0, M1 1 M0, M2 2 M1, M3 3 M2, M4 4 M3, M5 5 M4, M6 6 M5, M7 7 M6, M8 8 M7, M9 9 M8, M10 10 M9, M11 11 M10, M12 12 M11, M13 13 M12, M14 14 M13, M15 15 M14 => M15);

summary_keeps_shape!(crate::nn::Dropout1d);
summary_keeps_shape!(crate::nn::Dropout2d);
summary_keeps_shape!(crate::nn::BatchNorm<C, K, E, D>; C: Dim, K);
summary_keeps_shape!(crate::nn::LayerNormNd<N, E, D>; N: Shape);
