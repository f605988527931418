//! [`MultiheadAttention`]: PyTorch's `nn.MultiheadAttention`
//! (`batch_first=True`), self- and cross-attention, on the fused attention
//! op.

use super::{Linear, Module, ParamMut, ParamPath, ParamRef, Params};
use crate::autograd::{Merge, Tracking};
use crate::backend::{Backend, Cpu, Device};
use crate::dtype::Dtype;
use crate::nn::init::Init;
use crate::ops::attention::{AttentionOptions, AttentionParams, AttentionTape, AttentionView};
use crate::ops::matmul::LinearVerdict;
use crate::shape::{
    Agree, Dim, DimsChecked, Dyn, Error, HeadsDoNotDivide, Pick, Shape, StaticDim, Then,
};
use crate::tensor::Tensor;
use core::marker::PhantomData;
use core::ops::Rem;
use typenum::{IsEqual, U0};

/// Multi-head attention (fig. 4.13) with PyTorch's parameters and names:
/// `M` model dims split over `H` heads (`M % H == 0`, checked at compile
/// time), keys from inputs of `Mk` features and values of `Mv` (both `M`
/// by default).
///
/// | PyTorch name | shape | present |
/// |---|---|---|
/// | `in_proj_weight` | `(3M, M)` | `Mk == Mv == M` (packed) |
/// | `q_proj_weight`, `k_proj_weight`, `v_proj_weight` | `(M, M)`, `(M, Mk)`, `(M, Mv)` | otherwise |
/// | `in_proj_bias` | `(3M,)` | with bias |
/// | `out_proj.weight`, `out_proj.bias` | `(M, M)`, `(M,)` | always (bias with bias) |
///
/// so a `state_dict` of `nn.MultiheadAttention(M, H, batch_first=True)`
/// (with `kdim=Mk, vdim=Mv`) saved as safetensors loads as it is. Not
/// offered: `add_bias_kv`, `add_zero_attn`, and the averaged attention
/// weights PyTorch returns beside the output (`need_weights`).
///
/// Inputs `(B, N, M)` or `(N, M)` (any leading dims):
/// - `forward(x)`: self-attention;
/// - `forward((x, memory))`: cross-attention, keys and values from
///   `memory (B, Nkv, Mk)` (needs `Mk == Mv`);
/// - `forward((query, key, value))`: PyTorch's three inputs;
/// - [`MultiheadAttention::forward_with`]: the same with a boolean mask,
///   `kv_len` or a scale ([`AttentionOptions`]; the boolean mask is `true`
///   where a query **may** attend, the opposite of PyTorch's
///   `MultiheadAttention` `attn_mask`, the same as its
///   `scaled_dot_product_attention`).
///
/// `causal` (a field) makes `forward` causal; `dropout` (a field, the
/// constructor's `p`) drops attention weights in training modes (the
/// input's tape decides, as for every layer). A static model dim of an
/// input that differs from `M`, `Mk` or `Mv` is a compile error
/// (`dimension mismatch: got N<_1, _2>, expected N<_1, _6>`).
///
/// ```
/// use typegrad::nn::{Module, MultiheadAttention};
/// use typegrad::prelude::*;
/// let dev = Cpu::seeded(0);
/// let mha: MultiheadAttention<u!(16), u!(4)> = MultiheadAttention::new(&dev).with_causal(true);
/// let x: Tensor<(Dyn, Dyn, u!(16)), f32> = Tensor::randn((Dyn(2), Dyn(5), Default::default()), 0.0, 1.0, &dev);
/// let y = mha.forward(x.clone()); // Tensor<(Dyn, Dyn, U16)>
/// assert_eq!(&*y.dims(), &[2, 5, 16]);
///
/// // Cross-attention to a memory of another width (kdim = vdim = 6).
/// let cross: MultiheadAttention<u!(16), u!(4), u!(6), u!(6)> = MultiheadAttention::new(&dev);
/// let memory: Tensor<(Dyn, Dyn, u!(6)), f32> = Tensor::randn((Dyn(2), Dyn(7), Default::default()), 0.0, 1.0, &dev);
/// let z = cross.forward((x, memory));
/// assert_eq!(&*z.dims(), &[2, 5, 16]);
/// let names: Vec<String> = cross.param_names().into_iter().map(|(n, _)| n).collect();
/// assert_eq!(names, ["q_proj_weight", "k_proj_weight", "v_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"]);
/// ```
///
/// A model dim the heads do not divide does not compile:
///
/// ```compile_fail
/// use typegrad::nn::MultiheadAttention;
/// use typegrad::prelude::*;
/// let mha: MultiheadAttention<u!(130), u!(4)> = MultiheadAttention::new(&Cpu::default());
/// ```
#[derive(Clone, Debug)]
pub struct MultiheadAttention<
    M: Dim,
    H: Dim,
    Mk: Dim = M,
    Mv: Dim = M,
    E: Dtype = f32,
    D: Backend = Cpu,
> {
    in_proj_weight: Option<Tensor<(Dyn, M), E, D>>,
    q_proj_weight: Option<Tensor<(M, M), E, D>>,
    k_proj_weight: Option<Tensor<(M, Mk), E, D>>,
    v_proj_weight: Option<Tensor<(M, Mv), E, D>>,
    in_proj_bias: Option<Tensor<(Dyn,), E, D>>,
    /// The output projection `out_proj` (`(M, M)`).
    pub out_proj: Linear<M, M, E, D>,
    /// Attention dropout rate, applied in training modes.
    pub dropout: f64,
    /// Whether `forward` masks causally.
    pub causal: bool,
    heads: PhantomData<H>,
}

/// The verdict on `Self` (a model dim) split over `H` heads: `(Agree,
/// Agree)` when `H` divides it (or it is [`Dyn`]), else both in decimal.
pub trait HeadsVerdict<H>: Dim {
    /// [`Agree`], or the model dim in decimal.
    type Got;
    /// [`Agree`], or the heads in decimal.
    type Exp;
}
impl<H> HeadsVerdict<H> for Dyn {
    type Got = Agree;
    type Exp = Agree;
}
impl<M: StaticDim, H> HeadsVerdict<H> for M
where
    M: Rem<H>,
    <M as Rem<H>>::Output: IsEqual<U0>,
    <<M as Rem<H>>::Output as IsEqual<U0>>::Output: Pick<M, H>,
{
    type Got = <<<M as Rem<H>>::Output as IsEqual<U0>>::Output as Pick<M, H>>::Got;
    type Exp = <<<M as Rem<H>>::Output as IsEqual<U0>>::Output as Pick<M, H>>::Exp;
}
/// [`HeadsVerdict::Got`].
pub type HeadsGot<M, H> = <M as HeadsVerdict<H>>::Got;
/// [`HeadsVerdict::Exp`].
pub type HeadsExp<M, H> = <M as HeadsVerdict<H>>::Exp;

impl<M: StaticDim, H: StaticDim, Mk: StaticDim, Mv: StaticDim, E: Dtype, D: Backend>
    MultiheadAttention<M, H, Mk, Mv, E, D>
{
    /// PyTorch's defaults (`bias=True`, `dropout=0`): Xavier-uniform input
    /// projections (the packed `(3M, M)` matrix as one tensor, as PyTorch
    /// does), zero input and output biases, `out_proj.weight` as
    /// `nn.Linear`. Packed when `Mk == Mv == M`.
    #[track_caller]
    #[rustfmt::skip]
    pub fn new(device: &D) -> Self where M: HeadsVerdict<H>, HeadsGot<M, H>: HeadsDoNotDivide<HeadsExp<M, H>> {
        Self::build(device, true)
    }

    /// As [`MultiheadAttention::new`] without biases (`bias=False`).
    #[track_caller]
    #[rustfmt::skip]
    pub fn no_bias(device: &D) -> Self where M: HeadsVerdict<H>, HeadsGot<M, H>: HeadsDoNotDivide<HeadsExp<M, H>> {
        Self::build(device, false)
    }

    fn build(device: &D, bias: bool) -> Self {
        let m = M::USIZE;
        let packed = Mk::USIZE == m && Mv::USIZE == m;
        let xavier = Init::XavierUniform { gain: 1.0 };
        let sample = |dims: &[usize]| {
            xavier
                .try_sample::<E, D>(dims, device)
                .unwrap_or_else(|e| panic!("{e}"))
        };
        let mut out_proj = if bias {
            Linear::new(device)
        } else {
            Linear::no_bias(device)
        };
        if let Some(b) = &mut out_proj.bias {
            *b = Tensor::zeros(Default::default(), device);
        }
        let t = |dims: &[usize]| sample(dims);
        MultiheadAttention {
            in_proj_weight: packed.then(|| {
                Tensor::<(Dyn, M), E, D>::from_storage(
                    (Dyn(3 * m), M::default()),
                    t(&[3 * m, m]),
                    device.clone(),
                )
            }),
            q_proj_weight: (!packed).then(|| {
                Tensor::<(M, M), E, D>::from_storage(Default::default(), t(&[m, m]), device.clone())
            }),
            k_proj_weight: (!packed).then(|| {
                Tensor::<(M, Mk), E, D>::from_storage(
                    Default::default(),
                    t(&[m, Mk::USIZE]),
                    device.clone(),
                )
            }),
            v_proj_weight: (!packed).then(|| {
                Tensor::<(M, Mv), E, D>::from_storage(
                    Default::default(),
                    t(&[m, Mv::USIZE]),
                    device.clone(),
                )
            }),
            in_proj_bias: bias.then(|| Tensor::zeros((Dyn(3 * m),), device)),
            out_proj,
            dropout: 0.0,
            causal: false,
            heads: PhantomData,
        }
    }
}

impl<M: Dim, H: Dim, Mk: Dim, Mv: Dim, E: Dtype, D: Backend>
    MultiheadAttention<M, H, Mk, Mv, E, D>
{
    /// Set the attention dropout rate (PyTorch's `dropout`); panics unless
    /// `0 <= p <= 1`.
    ///
    /// ```
    /// use typegrad::nn::MultiheadAttention;
    /// use typegrad::prelude::*;
    /// let mha: MultiheadAttention<u!(8), u!(2)> = MultiheadAttention::new(&Cpu::default()).with_dropout(0.1);
    /// assert_eq!(mha.dropout, 0.1);
    /// ```
    #[track_caller]
    pub fn with_dropout(mut self, p: f64) -> Self {
        assert!(
            (0.0..=1.0).contains(&p),
            "attention: the dropout rate p must be in [0, 1], got {p}"
        );
        self.dropout = p;
        self
    }
    /// Make `forward` causal (or not).
    pub fn with_causal(mut self, causal: bool) -> Self {
        self.causal = causal;
        self
    }
    /// The packed `(3M, M)` input projection, when `Mk == Mv == M`.
    pub fn in_proj_weight(&self) -> Option<&Tensor<(Dyn, M), E, D>> {
        self.in_proj_weight.as_ref()
    }
    /// The separate query projection `(M, M)`, when `Mk` or `Mv` differs
    /// from `M`.
    pub fn q_proj_weight(&self) -> Option<&Tensor<(M, M), E, D>> {
        self.q_proj_weight.as_ref()
    }
    /// The separate key projection `(M, Mk)`.
    pub fn k_proj_weight(&self) -> Option<&Tensor<(M, Mk), E, D>> {
        self.k_proj_weight.as_ref()
    }
    /// The separate value projection `(M, Mv)`.
    pub fn v_proj_weight(&self) -> Option<&Tensor<(M, Mv), E, D>> {
        self.v_proj_weight.as_ref()
    }
    /// The input projections' bias `(3M,)` (query, key, value parts).
    pub fn in_proj_bias(&self) -> Option<&Tensor<(Dyn,), E, D>> {
        self.in_proj_bias.as_ref()
    }
}

/// A 2-D `(rows, features)` view of an input (a reshape, no copy).
type Rows<E, D, T> = Tensor<(Dyn, Dyn), E, D, T>;

impl<M: StaticDim, H: StaticDim, Mk: StaticDim, Mv: StaticDim, E: Dtype, D: Device<E>>
    MultiheadAttention<M, H, Mk, Mv, E, D>
{
    /// Attention of `query (..., Nq, M)` over `key (..., Nkv, Mk)` and
    /// `value (..., Nkv, Mv)` (PyTorch's three inputs) with explicit
    /// [`AttentionOptions`]: boolean mask, causal, `kv_len`, scale. The
    /// layer's `dropout` applies in training modes (`opts`' rate is not
    /// used; the layer's `causal` field is not used either: `opts` says).
    /// The output has the query's shape. Each input is projected on its
    /// own; [`MultiheadAttention::self_attention`] and
    /// [`MultiheadAttention::cross_attention`] project a shared input once.
    ///
    /// Sizes are checked at run time here (an error names them); `forward`
    /// checks static model dims in its types.
    ///
    /// ```
    /// use typegrad::nn::MultiheadAttention;
    /// use typegrad::ops::attention::AttentionOptions;
    /// use typegrad::prelude::*;
    /// let dev = Cpu::seeded(1);
    /// let mha: MultiheadAttention<u!(8), u!(2), u!(8), u!(8), f64> = MultiheadAttention::new(&dev);
    /// let x: Tensor<(u!(3), u!(8)), f64> = Tensor::randn(Default::default(), 0.0, 1.0, &dev);
    /// let mask: Tensor<(u!(3), u!(3)), bool> =
    ///     Tensor::from_vec_static(vec![true, false, false, true, true, false, true, true, true], &dev);
    /// let y = mha.forward_with(x.clone(), x.clone(), x.clone(), &AttentionOptions::new().mask(&mask)).unwrap();
    /// let z = mha.self_attention(x, &AttentionOptions::new().causal()).unwrap();
    /// assert!(y.to_vec().iter().zip(z.to_vec()).all(|(a, b)| (a - b).abs() < 1e-12)); // one mask, two ways
    /// ```
    #[allow(clippy::type_complexity)]
    pub fn forward_with<Sq, Sk, Sv, T, Tk, Tv>(
        &self,
        query: Tensor<Sq, E, D, T>,
        key: Tensor<Sk, E, D, Tk>,
        value: Tensor<Sv, E, D, Tv>,
        opts: &AttentionOptions<'_, D>,
    ) -> Result<Tensor<Sq, E, D, AttentionTape<T, Tk, Tv>>, Error>
    where
        Sq: Shape,
        Sk: Shape,
        Sv: Shape,
        T: Tracking<E, D> + Merge<Tk>,
        Tk: Tracking<E, D>,
        Tv: Tracking<E, D>,
        <T as Merge<Tk>>::Output: Merge<Tv>,
        AttentionTape<T, Tk, Tv>: Tracking<E, D>,
    {
        let q_dims = query.dims();
        // One tape for all three before the projections: an untracked key
        // or value (a fixed memory) must still give the projections'
        // weights their gradients when the query is tracked.
        let (query, tq) = query.split_tape();
        let (key, tk) = key.split_tape();
        let (value, tv) = value.split_tape();
        let tape = tq.merge(tk).merge(tv);
        let q = self.input(query.put_tape(tape.clone()), 0)?;
        let k = self.input(key.put_tape(tape.clone()), 1)?;
        let v = self.input(value.put_tape(tape), 2)?;
        let (pk, ok) = self.project(k.x, 1)?;
        let (pv, ov) = self.project(v.x, 2)?;
        let (pq, oq) = self.project(q.x, 0)?;
        self.attend(
            (pq, oq, q.batch, q.n),
            (pk, ok, k.batch, k.n),
            (pv, ov, v.batch, v.n),
            &q_dims,
            opts,
        )
    }

    /// Self-attention of `x (..., N, M)` with explicit options (see
    /// [`MultiheadAttention::forward_with`]); `x` is projected once.
    ///
    /// ```
    /// use typegrad::nn::{Module, MultiheadAttention};
    /// use typegrad::ops::attention::AttentionOptions;
    /// use typegrad::prelude::*;
    /// let dev = Cpu::seeded(2);
    /// let mha: MultiheadAttention<u!(8), u!(4), u!(8), u!(8), f64> = MultiheadAttention::new(&dev).with_causal(true);
    /// let x: Tensor<(Dyn, u!(8)), f64> = Tensor::randn((Dyn(5), Default::default()), 0.0, 1.0, &dev);
    /// let a = mha.self_attention(x.clone(), &AttentionOptions::new().causal()).unwrap();
    /// assert_eq!(a.to_vec(), mha.forward(x).to_vec());
    /// ```
    pub fn self_attention<S: Shape, T: Tracking<E, D>>(
        &self,
        x: Tensor<S, E, D, T>,
        opts: &AttentionOptions<'_, D>,
    ) -> Result<Tensor<S, E, D, T>, Error> {
        let dims = x.dims();
        let x = self.input(x, 0)?;
        let m = M::USIZE;
        if self.in_proj_weight.is_some() {
            let (p, _) = self.project(x.x, 0)?;
            let a = (p.clone(), 0, x.batch, x.n);
            let b = (p.clone(), m, x.batch, x.n);
            return self.attend(a, b, (p, 2 * m, x.batch, x.n), &dims, opts);
        }
        let (pq, _) = self.project(x.x.clone(), 0)?;
        let (pk, _) = self.project(x.x.clone(), 1)?;
        let (pv, _) = self.project(x.x, 2)?;
        self.attend(
            (pq, 0, x.batch, x.n),
            (pk, 0, x.batch, x.n),
            (pv, 0, x.batch, x.n),
            &dims,
            opts,
        )
    }

    /// Cross-attention of `x (..., Nq, M)` to `memory (..., Nkv, Mk)`
    /// (keys and values from the memory, which is projected once; needs
    /// `Mk == Mv`), with explicit options (see
    /// [`MultiheadAttention::forward_with`]).
    #[allow(clippy::type_complexity)]
    pub fn cross_attention<S: Shape, Sm: Shape, T, Tm>(
        &self,
        x: Tensor<S, E, D, T>,
        memory: Tensor<Sm, E, D, Tm>,
        opts: &AttentionOptions<'_, D>,
    ) -> Result<Tensor<S, E, D, AttentionTape<T, Tm, Tm>>, Error>
    where
        T: Tracking<E, D> + Merge<Tm>,
        Tm: Tracking<E, D>,
        <T as Merge<Tm>>::Output: Merge<Tm>,
        AttentionTape<T, Tm, Tm>: Tracking<E, D>,
    {
        let dims = x.dims();
        // One tape before the projections (see `forward_with`).
        let (x, tx) = x.split_tape();
        let (memory, tm) = memory.split_tape();
        let tape = tx.merge(tm.clone()).merge(tm);
        let q = self.input(x.put_tape(tape.clone()), 0)?;
        let kv = self.input(memory.put_tape(tape), 1)?;
        let m = M::USIZE;
        let (pq, oq) = self.project(q.x, 0)?;
        if self.in_proj_weight.is_some() {
            let (p, _) = self.project(kv.x, 1)?;
            let k = (p.clone(), m, kv.batch, kv.n);
            return self.attend(
                (pq, oq, q.batch, q.n),
                k,
                (p, 2 * m, kv.batch, kv.n),
                &dims,
                opts,
            );
        }
        crate::shape::check_dim(
            "multihead_attention",
            dims.len() - 1,
            "cross-attention memory needs kdim == vdim",
            Mv::USIZE,
            Mk::USIZE,
        )?;
        let (pk, _) = self.project(kv.x.clone(), 1)?;
        let (pv, _) = self.project(kv.x, 2)?;
        self.attend(
            (pq, oq, q.batch, q.n),
            (pk, 0, kv.batch, kv.n),
            (pv, 0, kv.batch, kv.n),
            &dims,
            opts,
        )
    }

    /// An input as rows, with its batch size and sequence length, its
    /// features checked against the model dim of `part`.
    fn input<S: Shape, T: Tracking<E, D>>(
        &self,
        x: Tensor<S, E, D, T>,
        part: usize,
    ) -> Result<Input<E, D, T>, Error> {
        let d = x.dims();
        if d.len() < 2 {
            return Err(Error::Invalid(
                "multihead_attention: inputs need at least 2 dims (N, features)",
            ));
        }
        let (n, f) = (d[d.len() - 2], d[d.len() - 1]);
        let (want, what) = match part {
            0 => (M::USIZE, "query features vs embed_dim"),
            1 => (Mk::USIZE, "key features vs kdim"),
            _ => (Mv::USIZE, "value features vs vdim"),
        };
        crate::shape::check_dim("multihead_attention", d.len() - 1, what, f, want)?;
        let rows = d.try_numel_of("multihead_attention", 0..d.len() - 1)?;
        let batch = d.try_numel_of("multihead_attention", 0..d.len() - 2)?;
        Ok(Input {
            x: x.try_reshape_to((Dyn(rows), Dyn(f)))?,
            batch,
            n,
        })
    }

    /// The projection of `x` (rows) for `part` (0 query, 1 key, 2 value)
    /// and the column where that part starts: packed, the whole `(3M, M)`
    /// matrix (the result holds all three parts; the kernel reads the one
    /// it needs); otherwise the part's own weight plus its bias slice.
    fn project<T: Tracking<E, D>>(
        &self,
        x: Rows<E, D, T>,
        part: usize,
    ) -> Result<(Rows<E, D, T>, usize), Error> {
        use crate::ops::movement::NarrowOp;
        let m = M::USIZE;
        let r = x.dims()[0];
        if let Some(w) = &self.in_proj_weight {
            let y = x.try_linear(w, self.in_proj_bias.as_ref())?;
            return Ok((y.try_reshape_to((Dyn(r), Dyn(3 * m)))?, part * m));
        }
        let y: Tensor<(Dyn, M), E, D, T> = match part {
            0 => x.try_linear(
                self.q_proj_weight.as_ref().expect("separate projections"),
                None,
            )?,
            1 => x.try_linear(
                self.k_proj_weight.as_ref().expect("separate projections"),
                None,
            )?,
            _ => x.try_linear(
                self.v_proj_weight.as_ref().expect("separate projections"),
                None,
            )?,
        };
        let y: Rows<E, D, T> = y.try_reshape_to((Dyn(r), Dyn(m)))?;
        Ok(match &self.in_proj_bias {
            Some(b) => {
                let b: Tensor<(Dyn,), E, D, T> =
                    b.tracked_like(&y).try_narrow::<0>(part * m, Dyn(m))?;
                let b: Rows<E, D, T> = b.try_reshape_to((Dyn(1), Dyn(m)))?;
                (y.try_add(b)?, 0)
            }
            None => (y, 0),
        })
    }

    /// The fused op on projected rows (each `(rows, width)`, its part
    /// starting at a column offset), then the output projection.
    #[allow(clippy::type_complexity)]
    fn attend<S: Shape, T, Tk, Tv>(
        &self,
        q: (Rows<E, D, T>, usize, usize, usize),
        k: (Rows<E, D, Tk>, usize, usize, usize),
        v: (Rows<E, D, Tv>, usize, usize, usize),
        out_dims: &[usize],
        opts: &AttentionOptions<'_, D>,
    ) -> Result<Tensor<S, E, D, AttentionTape<T, Tk, Tv>>, Error>
    where
        T: Tracking<E, D> + Merge<Tk>,
        Tk: Tracking<E, D>,
        Tv: Tracking<E, D>,
        <T as Merge<Tk>>::Output: Merge<Tv>,
        AttentionTape<T, Tk, Tv>: Tracking<E, D>,
    {
        let (m, h) = (M::USIZE, H::USIZE);
        let ((pq, oq, bq, nq), (pk, ok, bk, nk), (pv, ov, bv, nv)) = (q, k, v);
        let op = "multihead_attention";
        crate::shape::check_dim(op, 0, "key batch vs query batch", bk, bq)?;
        crate::shape::check_dim(op, 0, "value batch vs query batch", bv, bq)?;
        crate::shape::check_dim(op, out_dims.len() - 2, "value rows vs key rows", nv, nk)?;
        let opts = opts.dropout(self.dropout);
        let base = crate::ops::attention::layout(&[bq, h], bq, h, nq, nk, m, m, &opts)?;
        let view = |offset: usize, n: usize, width: usize| AttentionView {
            offset,
            batch: n * width,
            head: m / h,
            row: width,
        };
        let p = AttentionParams {
            q: view(oq, nq, pq.dims()[1]),
            k: view(ok, nk, pk.dims()[1]),
            v: view(ov, nk, pv.dims()[1]),
            ..base
        };
        let y =
            crate::ops::attention::attention_core(pq, pk, pv, (Dyn(bq * nq), Dyn(m)), p, &opts)?;
        let y = self.out_proj.try_forward(y)?;
        y.try_reshape_to(S::try_from_dims(out_dims)?)
    }
}

/// An input as rows `(B·N, features)`, with `B` and `N`.
struct Input<E: Dtype, D: Backend, T> {
    x: Tensor<(Dyn, Dyn), E, D, T>,
    batch: usize,
    n: usize,
}

/// The model dims of a [`MultiheadAttention`]'s inputs, checked: `Self`
/// is `(Sq,)` (self-attention), `(Sq, Smemory)` (cross-attention) or
/// `(Sq, Sk, Sv)`; the last dims must be `M`, `Mk` (memory, key) and `Mv`
/// (value). The output shape is the query's. A static mismatch is reported
/// through this projection (`dimension mismatch: got N<…>, expected
/// N<…>`, see [`DimsChecked`]); `Dyn` dims are checked at run time.
pub trait AttentionInputsChecked<M: Dim, Mk: Dim, Mv: Dim> {
    /// The query's shape.
    type Output: Shape;
    /// The query's shape, relabelled.
    fn pass<Sq: Shape, E: Dtype, D: Backend, T>(
        t: Tensor<Sq, E, D, T>,
    ) -> Tensor<Self::Output, E, D, T>
    where
        Self: QueryShape<Query = Sq>;
}

/// The query shape of a tuple of input shapes.
pub trait QueryShape {
    /// The first shape.
    type Query: Shape;
}
impl<Sq: Shape> QueryShape for (Sq,) {
    type Query = Sq;
}
impl<Sq: Shape, Sm: Shape> QueryShape for (Sq, Sm) {
    type Query = Sq;
}
impl<Sq: Shape, Sk: Shape, Sv: Shape> QueryShape for (Sq, Sk, Sv) {
    type Query = Sq;
}

type Got<S, I> = <S as LinearVerdict<I>>::Got;
type Exp<S, I> = <S as LinearVerdict<I>>::Exp;

impl<M: Dim, Mk: Dim, Mv: Dim, Sq> AttentionInputsChecked<M, Mk, Mv> for (Sq,)
where
    Sq: LinearVerdict<M>,
    Got<Sq, M>: DimsChecked<Exp<Sq, M>>,
{
    type Output = <Got<Sq, M> as DimsChecked<Exp<Sq, M>>>::Then<Sq>;
    fn pass<S: Shape, E: Dtype, D: Backend, T>(
        t: Tensor<S, E, D, T>,
    ) -> Tensor<Self::Output, E, D, T>
    where
        Self: QueryShape<Query = S>,
    {
        let s = Self::Output::try_from_dims(&t.dims()).expect("the query's own shape");
        t.with_shape(s)
    }
}

/// The first disagreeing of two verdicts.
type Got2<G1, X1, G2, X2> = <G1 as Then<X1, G2, X2>>::Got;
type Exp2<G1, X1, G2, X2> = <G1 as Then<X1, G2, X2>>::Exp;

impl<M: Dim, Mk: Dim, Mv: Dim, Sq, Sm> AttentionInputsChecked<M, Mk, Mv> for (Sq, Sm)
where
    Sq: LinearVerdict<M>,
    Sm: LinearVerdict<Mk>,
    Got<Sq, M>: Then<Exp<Sq, M>, Got<Sm, Mk>, Exp<Sm, Mk>>,
    Got2<Got<Sq, M>, Exp<Sq, M>, Got<Sm, Mk>, Exp<Sm, Mk>>:
        DimsChecked<Exp2<Got<Sq, M>, Exp<Sq, M>, Got<Sm, Mk>, Exp<Sm, Mk>>>,
{
    type Output = <Got2<Got<Sq, M>, Exp<Sq, M>, Got<Sm, Mk>, Exp<Sm, Mk>> as DimsChecked<
        Exp2<Got<Sq, M>, Exp<Sq, M>, Got<Sm, Mk>, Exp<Sm, Mk>>,
    >>::Then<Sq>;
    fn pass<S: Shape, E: Dtype, D: Backend, T>(
        t: Tensor<S, E, D, T>,
    ) -> Tensor<Self::Output, E, D, T>
    where
        Self: QueryShape<Query = S>,
    {
        let s = Self::Output::try_from_dims(&t.dims()).expect("the query's own shape");
        t.with_shape(s)
    }
}

impl<M: Dim, Mk: Dim, Mv: Dim, Sq, Sk, Sv> AttentionInputsChecked<M, Mk, Mv> for (Sq, Sk, Sv)
where
    Sq: LinearVerdict<M>,
    Sk: LinearVerdict<Mk>,
    Sv: LinearVerdict<Mv>,
    Got<Sk, Mk>: Then<Exp<Sk, Mk>, Got<Sv, Mv>, Exp<Sv, Mv>>,
    Got<Sq, M>: Then<
        Exp<Sq, M>,
        Got2<Got<Sk, Mk>, Exp<Sk, Mk>, Got<Sv, Mv>, Exp<Sv, Mv>>,
        Exp2<Got<Sk, Mk>, Exp<Sk, Mk>, Got<Sv, Mv>, Exp<Sv, Mv>>,
    >,
    Got2<
        Got<Sq, M>,
        Exp<Sq, M>,
        Got2<Got<Sk, Mk>, Exp<Sk, Mk>, Got<Sv, Mv>, Exp<Sv, Mv>>,
        Exp2<Got<Sk, Mk>, Exp<Sk, Mk>, Got<Sv, Mv>, Exp<Sv, Mv>>,
    >: DimsChecked<
        Exp2<
            Got<Sq, M>,
            Exp<Sq, M>,
            Got2<Got<Sk, Mk>, Exp<Sk, Mk>, Got<Sv, Mv>, Exp<Sv, Mv>>,
            Exp2<Got<Sk, Mk>, Exp<Sk, Mk>, Got<Sv, Mv>, Exp<Sv, Mv>>,
        >,
    >,
{
    type Output = <Got2<
        Got<Sq, M>,
        Exp<Sq, M>,
        Got2<Got<Sk, Mk>, Exp<Sk, Mk>, Got<Sv, Mv>, Exp<Sv, Mv>>,
        Exp2<Got<Sk, Mk>, Exp<Sk, Mk>, Got<Sv, Mv>, Exp<Sv, Mv>>,
    > as DimsChecked<
        Exp2<
            Got<Sq, M>,
            Exp<Sq, M>,
            Got2<Got<Sk, Mk>, Exp<Sk, Mk>, Got<Sv, Mv>, Exp<Sv, Mv>>,
            Exp2<Got<Sk, Mk>, Exp<Sk, Mk>, Got<Sv, Mv>, Exp<Sv, Mv>>,
        >,
    >>::Then<Sq>;
    fn pass<S: Shape, E: Dtype, D: Backend, T>(
        t: Tensor<S, E, D, T>,
    ) -> Tensor<Self::Output, E, D, T>
    where
        Self: QueryShape<Query = S>,
    {
        let s = Self::Output::try_from_dims(&t.dims()).expect("the query's own shape");
        t.with_shape(s)
    }
}

/// Self-attention (causal if the layer's `causal` is set).
impl<M, H, Mk, Mv, E, D, S, T> Module<Tensor<S, E, D, T>> for MultiheadAttention<M, H, Mk, Mv, E, D>
where
    M: StaticDim,
    H: StaticDim,
    Mk: StaticDim,
    Mv: StaticDim,
    E: Dtype,
    D: Device<E>,
    S: Shape,
    T: Tracking<E, D>,
    (S,): AttentionInputsChecked<M, Mk, Mv>,
{
    type Output = Tensor<<(S,) as AttentionInputsChecked<M, Mk, Mv>>::Output, E, D, T>;
    #[track_caller]
    fn forward(&self, x: Tensor<S, E, D, T>) -> Self::Output {
        let opts = AttentionOptions::new().with_causal(self.causal);
        let y = self
            .self_attention(x, &opts)
            .unwrap_or_else(|e| panic!("{e}"));
        <(S,) as AttentionInputsChecked<M, Mk, Mv>>::pass(y)
    }
}

/// Cross-attention: `(x, memory)`, keys and values from the memory.
impl<M, H, Mk, Mv, E, D, S, Sm, T, Tm> Module<(Tensor<S, E, D, T>, Tensor<Sm, E, D, Tm>)>
    for MultiheadAttention<M, H, Mk, Mv, E, D>
where
    M: StaticDim,
    H: StaticDim,
    Mk: StaticDim,
    Mv: StaticDim,
    E: Dtype,
    D: Device<E>,
    S: Shape,
    Sm: Shape,
    T: Tracking<E, D> + Merge<Tm>,
    Tm: Tracking<E, D>,
    <T as Merge<Tm>>::Output: Merge<Tm>,
    AttentionTape<T, Tm, Tm>: Tracking<E, D>,
    (S, Sm): AttentionInputsChecked<M, Mk, Mv>,
{
    type Output = Tensor<
        <(S, Sm) as AttentionInputsChecked<M, Mk, Mv>>::Output,
        E,
        D,
        AttentionTape<T, Tm, Tm>,
    >;
    #[track_caller]
    fn forward(&self, (x, memory): (Tensor<S, E, D, T>, Tensor<Sm, E, D, Tm>)) -> Self::Output {
        let opts = AttentionOptions::new().with_causal(self.causal);
        let y = self
            .cross_attention(x, memory, &opts)
            .unwrap_or_else(|e| panic!("{e}"));
        <(S, Sm) as AttentionInputsChecked<M, Mk, Mv>>::pass(y)
    }
}

/// PyTorch's `(query, key, value)`.
impl<M, H, Mk, Mv, E, D, Sq, Sk, Sv, T, Tk, Tv>
    Module<(
        Tensor<Sq, E, D, T>,
        Tensor<Sk, E, D, Tk>,
        Tensor<Sv, E, D, Tv>,
    )> for MultiheadAttention<M, H, Mk, Mv, E, D>
where
    M: StaticDim,
    H: StaticDim,
    Mk: StaticDim,
    Mv: StaticDim,
    E: Dtype,
    D: Device<E>,
    Sq: Shape,
    Sk: Shape,
    Sv: Shape,
    T: Tracking<E, D> + Merge<Tk>,
    Tk: Tracking<E, D>,
    Tv: Tracking<E, D>,
    <T as Merge<Tk>>::Output: Merge<Tv>,
    AttentionTape<T, Tk, Tv>: Tracking<E, D>,
    (Sq, Sk, Sv): AttentionInputsChecked<M, Mk, Mv>,
{
    type Output = Tensor<
        <(Sq, Sk, Sv) as AttentionInputsChecked<M, Mk, Mv>>::Output,
        E,
        D,
        AttentionTape<T, Tk, Tv>,
    >;
    #[track_caller]
    fn forward(
        &self,
        (q, k, v): (
            Tensor<Sq, E, D, T>,
            Tensor<Sk, E, D, Tk>,
            Tensor<Sv, E, D, Tv>,
        ),
    ) -> Self::Output {
        let opts = AttentionOptions::new().with_causal(self.causal);
        let y = self
            .forward_with(q, k, v, &opts)
            .unwrap_or_else(|e| panic!("{e}"));
        <(Sq, Sk, Sv) as AttentionInputsChecked<M, Mk, Mv>>::pass(y)
    }
}

/// PyTorch's names: `in_proj_weight` or `q/k/v_proj_weight`,
/// `in_proj_bias`, `out_proj.weight`, `out_proj.bias`.
impl<M: Dim, H: Dim, Mk: Dim, Mv: Dim, E: Dtype, D: Backend> Params<E, D>
    for MultiheadAttention<M, H, Mk, Mv, E, D>
{
    fn visit_params(
        &self,
        path: &mut ParamPath,
        f: &mut dyn FnMut(&ParamPath, ParamRef<'_, E, D>),
    ) {
        macro_rules! visit {
            ($($field:ident),*) => {$(
                if let Some(t) = &self.$field {
                    path.push(stringify!($field));
                    t.visit_params(path, f);
                    path.pop();
                }
            )*};
        }
        visit!(
            in_proj_weight,
            q_proj_weight,
            k_proj_weight,
            v_proj_weight,
            in_proj_bias
        );
        path.push("out_proj");
        self.out_proj.visit_params(path, f);
        path.pop();
    }
    fn visit_params_mut(
        &mut self,
        path: &mut ParamPath,
        f: &mut dyn FnMut(&ParamPath, ParamMut<'_, E, D>),
    ) {
        macro_rules! visit {
            ($($field:ident),*) => {$(
                if let Some(t) = &mut self.$field {
                    path.push(stringify!($field));
                    t.visit_params_mut(path, f);
                    path.pop();
                }
            )*};
        }
        visit!(
            in_proj_weight,
            q_proj_weight,
            k_proj_weight,
            v_proj_weight,
            in_proj_bias
        );
        path.push("out_proj");
        self.out_proj.visit_params_mut(path, f);
        path.pop();
    }
}
