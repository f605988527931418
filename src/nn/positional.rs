//! Positional information for sequence models: the fixed sinusoidal
//! encoding of "Attention is all you need" ([`SinusoidalPositionalEncoding`])
//! and a learned table of position vectors ([`LearnedPositionalEmbedding`]).
//! Both add a `(T, Dm)` block of position vectors to an input `(..., T, Dm)`
//! (broadcast over the leading axes), starting at a position `offset` (0
//! for a whole sequence, the cache length when decoding with a KV cache).

use super::init::Init;
use super::{Module, ParamMut, ParamPath, ParamRef, Params};
use crate::autograd::{TensorId, Tracking};
use crate::backend::{Backend, Cpu, Device};
use crate::dtype::Dtype;
use crate::ops::binary::BinaryOp;
use crate::shape::{
    check_dim, Dim, DimVerdict, Dims, DimsChecked, Error, ExpOf, GotOf, Shape, StaticDim,
};
use crate::tensor::{op_result, Tensor};
use alloc::vec::Vec;

/// The base `T` of the sinusoidal encoding's wavelengths (10⁴, as in the paper).
pub const SINUSOID_BASE: f64 = 10_000.0;

/// The fixed positional encoding of "Attention is all you need":
/// `PE(t, 2i) = sin(t / T^(2i/Dm))`, `PE(t, 2i+1) = cos(t /
/// T^(2i/Dm))` with `T = 10⁴`, added to an input `(..., Tseq, Dm)` (any
/// leading axes; `Tseq` and the leading axes may be `Dyn`). No parameters.
///
/// The values are computed in f64 and rounded to the element type once; a
/// last axis that is not `Dm` does not compile ("dimension mismatch: got …,
/// expected …").
///
/// ```
/// use typegrad::prelude::*;
/// use typegrad::nn::SinusoidalPositionalEncoding;
/// let dev = Cpu::default();
/// let pe: SinusoidalPositionalEncoding<u!(4)> = SinusoidalPositionalEncoding::new();
/// let x: Tensor<(Dyn, Dyn, u!(4)), f64> = Tensor::zeros((Dyn(2), Dyn(3), Default::default()), &dev);
/// let y = pe.forward(x);
/// let v = y.to_vec();
/// // Position 1 (second row of the first batch element):
/// let want = [1f64.sin(), 1f64.cos(), (1.0 / 100f64).sin(), (1.0 / 100f64).cos()];
/// for j in 0..4 {
///     assert!((v[4 + j] - want[j]).abs() < 1e-15);
/// }
/// ```
#[derive(Copy, Clone, Debug, Default)]
pub struct SinusoidalPositionalEncoding<Dm: Dim> {
    dm: Dm,
}

impl<Dm: StaticDim> SinusoidalPositionalEncoding<Dm> {
    /// The encoding for `Dm` features.
    pub fn new() -> Self {
        SinusoidalPositionalEncoding { dm: Dm::default() }
    }
}

impl<Dm: Dim> SinusoidalPositionalEncoding<Dm> {
    /// The encoding for a runtime width (`Dm` = [`crate::Dyn`]).
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::nn::SinusoidalPositionalEncoding;
    /// let pe = SinusoidalPositionalEncoding::with_width(Dyn(6));
    /// assert_eq!(&*pe.table::<f32, _>(0, 2, &Cpu::default()).dims(), &[2, 6]);
    /// ```
    pub fn with_width(dm: Dm) -> Self {
        SinusoidalPositionalEncoding { dm }
    }

    /// The encoding of positions `offset..offset + len`, `(len, Dm)`.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::nn::SinusoidalPositionalEncoding;
    /// let pe: SinusoidalPositionalEncoding<u!(2)> = SinusoidalPositionalEncoding::new();
    /// let t = pe.table::<f64, _>(3, 1, &Cpu::default()).to_vec();
    /// assert_eq!(t, vec![3f64.sin(), 3f64.cos()]);
    /// ```
    pub fn table<E: Dtype, D: Backend>(
        &self,
        offset: usize,
        len: usize,
        device: &D,
    ) -> Tensor<(crate::Dyn, Dm), E, D> {
        let data = sinusoid_values::<E>(offset, len, self.dm.size());
        Tensor::<_, E, D>::from_storage(
            (crate::Dyn(len), self.dm),
            device.upload(data),
            device.clone(),
        )
    }

    /// `x` plus the encoding of positions `offset..offset + Tseq` (decoding
    /// with a KV cache: `offset` is the number of cached positions). Panics
    /// if a `Dyn` last axis is not `Dm` (see [`Self::try_forward_at`]).
    #[track_caller]
    pub fn forward_at<S: PositionsChecked<Dm>, E: Dtype, D: Device<E>, T: Tracking<E, D>>(
        &self,
        x: Tensor<S, E, D, T>,
        offset: usize,
    ) -> Tensor<S::Output, E, D, T> {
        self.try_forward_at(x, offset)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Fallible [`Self::forward_at`]: a `Dyn` last axis other than `Dm` is
    /// an [`Error::DimMismatch`].
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::nn::SinusoidalPositionalEncoding;
    /// let pe: SinusoidalPositionalEncoding<u!(4)> = SinusoidalPositionalEncoding::new();
    /// let x: Tensor<(Dyn, Dyn), f32> = Tensor::zeros((Dyn(3), Dyn(5)), &Cpu::default());
    /// assert_eq!(
    ///     pe.try_forward_at(x, 0).unwrap_err().to_string(),
    ///     "SinusoidalPositionalEncoding: dimension mismatch on axis 1 (input features vs Dm): got 5, expected 4"
    /// );
    /// ```
    pub fn try_forward_at<S: PositionsChecked<Dm>, E: Dtype, D: Device<E>, T: Tracking<E, D>>(
        &self,
        x: Tensor<S, E, D, T>,
        offset: usize,
    ) -> Result<Tensor<S::Output, E, D, T>, Error> {
        let dims = x.dims();
        let (seq, dm) = seq_and_width(&dims, self.dm.size(), "SinusoidalPositionalEncoding")?;
        let pe = x.device.upload(sinusoid_values::<E>(offset, seq, dm));
        Ok(S::pass(add_positions(x, pe, seq, dm, None)))
    }
}

/// `x + PE(0..Tseq)`; panics on a `Dyn` width mismatch.
impl<Dm: Dim, E: Dtype, D: Device<E>, S: PositionsChecked<Dm>, T: Tracking<E, D>>
    Module<Tensor<S, E, D, T>> for SinusoidalPositionalEncoding<Dm>
{
    type Output = Tensor<S::Output, E, D, T>;
    #[track_caller]
    fn forward(&self, x: Tensor<S, E, D, T>) -> Self::Output {
        self.forward_at(x, 0)
    }
}

/// No parameters.
impl<Dm: Dim, E: Dtype, D: Backend> Params<E, D> for SinusoidalPositionalEncoding<Dm> {
    fn visit_params(&self, _: &mut ParamPath, _: &mut dyn FnMut(&ParamPath, ParamRef<'_, E, D>)) {}
    fn visit_params_mut(
        &mut self,
        _: &mut ParamPath,
        _: &mut dyn FnMut(&ParamPath, ParamMut<'_, E, D>),
    ) {
    }
}

/// `PE(t, j)` for `t` in `offset..offset + len`, row-major `(len, dm)`.
fn sinusoid_values<E: Dtype>(offset: usize, len: usize, dm: usize) -> Vec<E> {
    // One inverse wavelength per pair of columns: T^(-2i/Dm).
    let inv: Vec<f64> = (0..dm.div_ceil(2))
        .map(|i| libm::pow(SINUSOID_BASE, -((2 * i) as f64) / dm as f64))
        .collect();
    let mut out = Vec::with_capacity(len * dm);
    for t in offset..offset + len {
        for j in 0..dm {
            let a = t as f64 * inv[j / 2];
            out.push(E::from_f64(if j % 2 == 0 {
                libm::sin(a)
            } else {
                libm::cos(a)
            }));
        }
    }
    out
}

/// The sequence length (axis -2) and width (axis -1) of an input, the
/// width checked against `dm`.
fn seq_and_width(dims: &Dims, dm: usize, op: &'static str) -> Result<(usize, usize), Error> {
    let r = dims.len();
    check_dim(op, r - 1, "input features vs Dm", dims[r - 1], dm)?;
    Ok((dims[r - 2], dm))
}

/// `x + pe` with `pe: (seq, dm)` broadcast over the leading axes of `x`.
/// `param` = `(id, table dims, offset)` when `pe` is rows `offset..` of a
/// parameter table, whose gradient is then recorded.
fn add_positions<S: Shape, E: Dtype, D: Device<E>, T: Tracking<E, D>>(
    x: Tensor<S, E, D, T>,
    pe: D::Storage<E>,
    seq: usize,
    dm: usize,
    param: Option<(TensorId, Dims, usize)>,
) -> Tensor<S, E, D, T> {
    let xd = x.dims();
    let pd = [seq, dm];
    let (x, tape) = x.split_tape();
    let dev = x.device.clone();
    let y = dev.binary(BinaryOp::Add, &x.data, &xd, &pe, &pd, &xd);
    if !T::TRACKED {
        return op_result(x.shape, y, dev, tape, |_, _| {});
    }
    let xid = tape.wants_grad(x.id).then_some(x.id);
    op_result(x.shape, y, dev.clone(), tape, move |g, gy| {
        if let Some((wid, wd, offset)) = &param {
            // Summed over the leading axes, placed at rows offset.. of the table.
            let gpe = dev.sum_to(gy, &xd, &pd);
            g.accumulate(*wid, dev.narrow_backward(&gpe, wd, 0, *offset, seq));
        }
        if let Some(xid) = xid {
            g.accumulate(xid, gy.clone());
        }
    })
}

/// Learned position vectors: a `(Tmax, Dm)` table whose rows
/// `offset..offset + T` are added to an input `(B, T, Dm)` or `(T, Dm)`
/// (any leading axes). GPT-2's `wpe`, nanoGPT's `pos_emb`.
///
/// The parameter is `weight: (Tmax, Dm)`, the name and layout of the
/// `nn.Embedding` PyTorch GPTs keep their positions in, so a field
/// `pos_emb: LearnedPositionalEmbedding<..>` loads `pos_emb.weight` from
/// their `state_dict`. Initialised `N(0, 1)` as `nn.Embedding` is (GPT
/// recipes re-initialise it, e.g. `N(0, 0.02²)` with
/// [`Init::try_fill`]). A sequence running past `Tmax` is an error naming
/// both.
///
/// ```
/// use typegrad::prelude::*;
/// use typegrad::nn::LearnedPositionalEmbedding;
/// let dev = Cpu::seeded(0);
/// let pos: LearnedPositionalEmbedding<u!(8), u!(4), f64> = LearnedPositionalEmbedding::new(&dev);
/// let x: Tensor<(Dyn, Dyn, u!(4)), f64> = Tensor::zeros((Dyn(2), Dyn(3), Default::default()), &dev);
/// let y = pos.forward(x.clone()); // rows 0..3, for each batch element
/// assert_eq!(y.to_vec()[12..24], pos.weight.to_vec()[..12]);
/// // Decoding the 6th token with a KV cache: one position, offset 5.
/// let step: Tensor<(Dyn, Dyn, u!(4)), f64> = Tensor::zeros((Dyn(1), Dyn(1), Default::default()), &dev);
/// assert_eq!(pos.forward_at(step, 5).to_vec(), pos.weight.to_vec()[20..24]);
/// // Training: the table's gradient under its own id.
/// let grads = pos.forward(x.trace()).sum().backward();
/// assert_eq!(grads.get(&pos.weight).unwrap().to_vec()[..12], [2.0; 12]);
/// ```
#[derive(Clone, Debug)]
pub struct LearnedPositionalEmbedding<Tmax: Dim, Dm: Dim, E: Dtype = f32, D: Backend = Cpu> {
    /// The table, `(Tmax, Dm)`: row `t` is added at position `t`.
    pub weight: Tensor<(Tmax, Dm), E, D>,
}

impl<Tmax: StaticDim, Dm: StaticDim, E: Dtype, D: Backend>
    LearnedPositionalEmbedding<Tmax, Dm, E, D>
{
    /// A table initialised `N(0, 1)` (PyTorch's `nn.Embedding` default).
    pub fn new(device: &D) -> Self {
        let mut p = LearnedPositionalEmbedding {
            weight: Tensor::zeros(Default::default(), device),
        };
        p.reset_params();
        p
    }
}

impl<Tmax: Dim, Dm: Dim, E: Dtype, D: Backend> LearnedPositionalEmbedding<Tmax, Dm, E, D> {
    /// A table from a given `(Tmax, Dm)` tensor.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::nn::LearnedPositionalEmbedding;
    /// let dev = Cpu::default();
    /// let w = Tensor::<(u!(2), u!(1)), f32>::from_vec_static(vec![10., 20.], &dev);
    /// let pos = LearnedPositionalEmbedding::from_tensor(w);
    /// assert_eq!(pos.max_len(), 2);
    /// let x = Tensor::<(u!(2), u!(1)), f32>::from_vec_static(vec![1., 2.], &dev);
    /// assert_eq!(pos.forward(x).to_vec(), vec![11., 22.]);
    /// ```
    pub fn from_tensor(weight: Tensor<(Tmax, Dm), E, D>) -> Self {
        LearnedPositionalEmbedding { weight }
    }

    /// `Tmax`: the longest sequence (offset included) it can encode.
    pub fn max_len(&self) -> usize {
        self.weight.shape.0.size()
    }

    /// Refill with `N(0, 1)`, keeping the weight's id.
    pub fn reset_params(&mut self) {
        let dims = self.weight.dims();
        let dev = self.weight.device.clone();
        self.weight.data = Init::Normal {
            mean: 0.0,
            std: 1.0,
        }
        .try_sample::<E, D>(&dims, &dev)
        .unwrap_or_else(|e| panic!("{e}"));
    }

    /// `x` plus rows `offset..offset + T` of the table. Panics if `offset +
    /// T > Tmax` or a `Dyn` last axis is not `Dm` (see
    /// [`Self::try_forward_at`]).
    #[track_caller]
    pub fn forward_at<S: PositionsChecked<Dm>, T: Tracking<E, D>>(
        &self,
        x: Tensor<S, E, D, T>,
        offset: usize,
    ) -> Tensor<S::Output, E, D, T>
    where
        D: Device<E>,
    {
        self.try_forward_at(x, offset)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Fallible [`Self::forward_at`]: positions past the table are an
    /// [`Error::IndexOutOfRange`] naming `offset + T` and `Tmax`; a `Dyn`
    /// last axis other than `Dm` an [`Error::DimMismatch`].
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::nn::LearnedPositionalEmbedding;
    /// let dev = Cpu::default();
    /// let pos: LearnedPositionalEmbedding<u!(8), u!(4)> = LearnedPositionalEmbedding::new(&dev);
    /// let x: Tensor<(Dyn, u!(4))> = Tensor::zeros((Dyn(3), Default::default()), &dev);
    /// assert_eq!(
    ///     pos.try_forward_at(x, 6).unwrap_err().to_string(),
    ///     "LearnedPositionalEmbedding: offset + sequence length > Tmax: index 9 out of range for axis 0 of size 8"
    /// );
    /// ```
    pub fn try_forward_at<S: PositionsChecked<Dm>, T: Tracking<E, D>>(
        &self,
        x: Tensor<S, E, D, T>,
        offset: usize,
    ) -> Result<Tensor<S::Output, E, D, T>, Error>
    where
        D: Device<E>,
    {
        let op = "LearnedPositionalEmbedding";
        let dims = x.dims();
        let (seq, dm) = seq_and_width(&dims, self.weight.shape.1.size(), op)?;
        let tmax = self.max_len();
        let end = offset.saturating_add(seq);
        if end > tmax {
            return Err(Error::IndexOutOfRange {
                op: "LearnedPositionalEmbedding: offset + sequence length > Tmax",
                axis: 0,
                index: end,
                size: tmax,
            });
        }
        let wd = self.weight.dims();
        let dev = &self.weight.device;
        let pe = dev.narrow(&self.weight.data, &wd, 0, offset, seq);
        let param = Some((self.weight.id, wd, offset));
        Ok(S::pass(add_positions(x, pe, seq, dm, param)))
    }
}

/// `x` plus rows `0..T` of the table; panics past `Tmax`.
impl<Tmax: Dim, Dm: Dim, E: Dtype, D: Device<E>, S: PositionsChecked<Dm>, T: Tracking<E, D>>
    Module<Tensor<S, E, D, T>> for LearnedPositionalEmbedding<Tmax, Dm, E, D>
{
    type Output = Tensor<S::Output, E, D, T>;
    #[track_caller]
    fn forward(&self, x: Tensor<S, E, D, T>) -> Self::Output {
        self.forward_at(x, 0)
    }
}

/// `weight`: the name of the `nn.Embedding` PyTorch GPTs use.
impl<Tmax: Dim, Dm: Dim, E: Dtype, D: Backend> Params<E, D>
    for LearnedPositionalEmbedding<Tmax, Dm, E, D>
{
    fn visit_params(
        &self,
        path: &mut ParamPath,
        f: &mut dyn FnMut(&ParamPath, ParamRef<'_, E, D>),
    ) {
        path.push("weight");
        self.weight.visit_params(path, f);
        path.pop();
    }
    fn visit_params_mut(
        &mut self,
        path: &mut ParamPath,
        f: &mut dyn FnMut(&ParamPath, ParamMut<'_, E, D>),
    ) {
        path.push("weight");
        self.weight.visit_params_mut(path, f);
        path.pop();
    }
    fn move_to_device(&mut self, device: &D) {
        self.weight.move_to_device(device);
    }
}

/// The verdict on the last axis of an input `Self` (rank 2 to 6) against
/// the width `Dm`: [`crate::shape::Agree`] twice, or both sizes in decimal.
pub trait PositionsVerdict<Dm: Dim>: Shape {
    /// [`crate::shape::Agree`], or the width found, in decimal.
    type Got;
    /// [`crate::shape::Agree`], or `Dm`, in decimal.
    type Exp;
}

macro_rules! positions_verdict {
    ($($A:ident)*) => {
        impl<$($A: Dim,)* Tq: Dim, L: Dim, Dm: Dim> PositionsVerdict<Dm> for ($($A,)* Tq, L)
        where
            L: DimVerdict<Dm>,
        {
            type Got = GotOf<L, Dm>;
            type Exp = ExpOf<L, Dm>;
        }
    };
}
positions_verdict!();
positions_verdict!(A0);
positions_verdict!(A0 A1);
positions_verdict!(A0 A1 A2);
positions_verdict!(A0 A1 A2 A3);

/// `Self` is an input `(..., T, Dm)` a positional encoding of width `Dm`
/// takes (rank 2 to 6, the last axis agreeing with `Dm`); the output has
/// the input's shape. The bound of the positional layers' `Module` impls,
/// for generic code.
///
/// ```
/// use typegrad::nn::{Module, PositionsChecked, SinusoidalPositionalEncoding};
/// use typegrad::prelude::*;
/// fn encode<S: PositionsChecked<u!(4)>>(x: Tensor<S>) -> Tensor<S::Output> {
///     SinusoidalPositionalEncoding::<u!(4)>::new().forward(x)
/// }
/// let y = encode(Tensor::<(Dyn, u!(4))>::zeros((Dyn(2), Default::default()), &Cpu::default()));
/// assert_eq!(y.to_vec()[..4], [0.0, 1.0, 0.0, 1.0]); // position 0: sin 0, cos 0
/// ```
pub trait PositionsChecked<Dm: Dim>: Shape {
    /// The output shape (the input's).
    type Output: Shape;
    /// The tensor itself, typed with the output shape.
    fn pass<E: Dtype, D: Backend, T>(t: Tensor<Self, E, D, T>) -> Tensor<Self::Output, E, D, T>;
}

impl<Dm: Dim, S> PositionsChecked<Dm> for S
where
    S: PositionsVerdict<Dm>,
    <S as PositionsVerdict<Dm>>::Got: DimsChecked<<S as PositionsVerdict<Dm>>::Exp>,
{
    type Output = <<S as PositionsVerdict<Dm>>::Got as DimsChecked<
        <S as PositionsVerdict<Dm>>::Exp,
    >>::Then<S>;
    #[inline]
    fn pass<E: Dtype, D: Backend, T>(t: Tensor<S, E, D, T>) -> Tensor<Self::Output, E, D, T> {
        <<S as PositionsVerdict<Dm>>::Got as DimsChecked<<S as PositionsVerdict<Dm>>::Exp>>::pass(t)
    }
}
