//! `scaled_dot_product_attention`: the typed op on `(..., N, d)` tensors,
//! and the op core shared with `multi_head_attention`.

use super::{AttentionOptions, AttentionParams, AttentionShape, AttentionView, AttentionWant};
use crate::autograd::{Merge, Tracking};
use crate::backend::Device;
use crate::dtype::Dtype;
use crate::shape::{check_dim, DimsAgree, Error, Shape};
use crate::tensor::{op_result, Tensor};

/// The tape of an attention result: `Q`'s tape merged with `K`'s, then
/// with `V`'s.
pub type AttentionTape<Tq, Tk, Tv> = <<Tq as Merge<Tk>>::Output as Merge<Tv>>::Output;

/// `softmax(Q·Kᵀ·scale + mask)·V` on `Q (..., Nq, Dqk)`, `K (..., Nkv,
/// Dqk)`, `V (..., Nkv, Dv)`; the free-function form of
/// [`Tensor::scaled_dot_product_attention`] (PyTorch's
/// `F.scaled_dot_product_attention`).
///
/// ```
/// use typegrad::ops::attention::{scaled_dot_product_attention, AttentionOptions};
/// use typegrad::prelude::*;
/// let dev = Cpu::default();
/// let q: Tensor<(Dyn, u!(4), Dyn, u!(8)), f32> = Tensor::ones((Dyn(2), Default::default(), Dyn(5), Default::default()), &dev);
/// let k: Tensor<(Dyn, u!(4), Dyn, u!(8)), f32> = Tensor::ones((Dyn(2), Default::default(), Dyn(5), Default::default()), &dev);
/// let v: Tensor<(Dyn, u!(4), Dyn, u!(3)), f32> = Tensor::ones((Dyn(2), Default::default(), Dyn(5), Default::default()), &dev);
/// let y = scaled_dot_product_attention(q, k, v, &AttentionOptions::new().causal());
/// assert_eq!(&*y.dims(), &[2, 4, 5, 3]);
/// ```
#[track_caller]
pub fn scaled_dot_product_attention<Sq, Sk, Sv, E, D, Tq, Tk, Tv, G, X>(
    q: Tensor<Sq, E, D, Tq>,
    k: Tensor<Sk, E, D, Tk>,
    v: Tensor<Sv, E, D, Tv>,
    opts: &AttentionOptions<'_, D>,
) -> Tensor<<Sq as AttentionShape<Sk, Sv, G, X>>::Output, E, D, AttentionTape<Tq, Tk, Tv>>
where
    Sq: AttentionShape<Sk, Sv, G, X>,
    Sk: Shape,
    Sv: Shape,
    E: Dtype,
    D: Device<E>,
    Tq: Tracking<E, D> + Merge<Tk>,
    Tk: Tracking<E, D>,
    Tv: Tracking<E, D>,
    <Tq as Merge<Tk>>::Output: Merge<Tv>,
    AttentionTape<Tq, Tk, Tv>: Tracking<E, D>,
    G: DimsAgree<X>,
{
    q.scaled_dot_product_attention(k, v, opts)
}

impl<Sq: Shape, E: Dtype, D: Device<E>, Tq: Tracking<E, D>> Tensor<Sq, E, D, Tq> {
    /// Scaled dot-product attention with `self` as the queries:
    /// `softmax(Q·Kᵀ·scale + mask)·V`, `Q (..., Nq, Dqk)`, `K (..., Nkv,
    /// Dqk)`, `V (..., Nkv, Dv)` to `(..., Nq, Dv)`, any leading dims
    /// (ranks 2 to 5: `(N, d)`, `(B, N, d)`, `(B, H, N, d)`, ...).
    ///
    /// A static mismatch of the query/key widths, of the key/value rows or
    /// of a leading dim does not compile (`dimension mismatch: got N<_8>,
    /// expected N<_1, _6>`); a `Dyn` one panics naming the axis and both
    /// sizes (see [`Tensor::try_scaled_dot_product_attention`]). Masks,
    /// dropout, scale and `kv_len` are [`AttentionOptions`]. One fused
    /// kernel each way; the backward recomputes the probabilities from the
    /// saved log-sum-exp. Tapes merge as in binary ops; an untracked operand
    /// of a tracked call gets its gradient under its own id.
    ///
    /// ```
    /// use typegrad::ops::attention::AttentionOptions;
    /// use typegrad::prelude::*;
    /// let dev = Cpu::default();
    /// // Two keys; the first query sees only the first (causal).
    /// let q = Tensor::<(u!(2), u!(1)), f64>::from_vec_static(vec![1.0, 1.0], &dev);
    /// let k = Tensor::<(u!(2), u!(1)), f64>::from_vec_static(vec![0.0, 0.0], &dev);
    /// let v = Tensor::<(u!(2), u!(2)), f64>::from_vec_static(vec![1.0, 2.0, 3.0, 4.0], &dev);
    /// let y = q.clone().scaled_dot_product_attention(k.clone(), v.clone(), &AttentionOptions::new().causal());
    /// assert_eq!(y.to_vec(), vec![1.0, 2.0, 2.0, 3.0]); // equal scores: mean of the visible values
    ///
    /// let grads = q.trace().scaled_dot_product_attention(k, v.clone(), &AttentionOptions::new()).sum().backward();
    /// assert_eq!(grads.get(&v).unwrap().to_vec(), vec![1.0; 4]);
    /// ```
    #[track_caller]
    #[allow(clippy::type_complexity)]
    pub fn scaled_dot_product_attention<Sk, Sv, Tk, Tv, G: DimsAgree<X>, X>(
        self,
        k: Tensor<Sk, E, D, Tk>,
        v: Tensor<Sv, E, D, Tv>,
        opts: &AttentionOptions<'_, D>,
    ) -> Tensor<<Sq as AttentionShape<Sk, Sv, G, X>>::Output, E, D, AttentionTape<Tq, Tk, Tv>>
    where
        Sq: AttentionShape<Sk, Sv, G, X>,
        Sk: Shape,
        Sv: Shape,
        Tk: Tracking<E, D>,
        Tv: Tracking<E, D>,
        Tq: Merge<Tk>,
        <Tq as Merge<Tk>>::Output: Merge<Tv>,
        AttentionTape<Tq, Tk, Tv>: Tracking<E, D>,
    {
        self.try_scaled_dot_product_attention(k, v, opts)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Fallible form of [`Tensor::scaled_dot_product_attention`]: a `Dyn`
    /// mismatch, a mask of the wrong size, `kv_len` past the keys, or a
    /// dropout rate outside `[0, 1]` is an [`Error`].
    ///
    /// ```
    /// use typegrad::ops::attention::AttentionOptions;
    /// use typegrad::prelude::*;
    /// let dev = Cpu::default();
    /// let q: Tensor<(Dyn, u!(4)), f32> = Tensor::zeros((Dyn(3), Default::default()), &dev);
    /// let k: Tensor<(Dyn, u!(4)), f32> = Tensor::zeros((Dyn(5), Default::default()), &dev);
    /// let v: Tensor<(Dyn, u!(2)), f32> = Tensor::zeros((Dyn(6), Default::default()), &dev);
    /// let e = q.try_scaled_dot_product_attention(k, v, &AttentionOptions::new()).unwrap_err();
    /// assert_eq!(e.to_string(), "attention: dimension mismatch on axis 0 (value rows vs key rows): got 6, expected 5");
    /// ```
    #[allow(clippy::type_complexity)]
    pub fn try_scaled_dot_product_attention<Sk, Sv, Tk, Tv, G: DimsAgree<X>, X>(
        self,
        k: Tensor<Sk, E, D, Tk>,
        v: Tensor<Sv, E, D, Tv>,
        opts: &AttentionOptions<'_, D>,
    ) -> Result<
        Tensor<<Sq as AttentionShape<Sk, Sv, G, X>>::Output, E, D, AttentionTape<Tq, Tk, Tv>>,
        Error,
    >
    where
        Sq: AttentionShape<Sk, Sv, G, X>,
        Sk: Shape,
        Sv: Shape,
        Tk: Tracking<E, D>,
        Tv: Tracking<E, D>,
        Tq: Merge<Tk>,
        <Tq as Merge<Tk>>::Output: Merge<Tv>,
        AttentionTape<Tq, Tk, Tv>: Tracking<E, D>,
    {
        let (out_shape, d) = self.shape.attention_dims(&k.shape, &v.shape)?;
        let dims = self.shape.dims();
        let p = layout(
            &dims[..dims.len() - 2],
            d.batch,
            1,
            d.nq,
            d.nkv,
            d.dqk,
            d.dv,
            opts,
        )?;
        attention_core(self, k, v, out_shape, p, opts)
    }
}

/// Attention parameters for `batch` entries of `heads` heads side by side
/// in the last axis (`heads = 1`: the plain `(..., N, d)` layout), with
/// `rows` rows of `K`/`V` (of which `opts.kv_len` are attended).
#[allow(clippy::too_many_arguments)]
pub(crate) fn layout<D: crate::backend::Backend>(
    pair_dims: &[usize],
    batch: usize,
    heads: usize,
    nq: usize,
    rows: usize,
    dqk: usize,
    dv: usize,
    opts: &AttentionOptions<'_, D>,
) -> Result<AttentionParams, Error> {
    opts.check("attention")?;
    const NOT_DIVISIBLE: Error =
        Error::Invalid("attention: the number of heads must divide the query/key and value widths");
    if heads == 0 || !dqk.is_multiple_of(heads) || !dv.is_multiple_of(heads) {
        return Err(NOT_DIVISIBLE);
    }
    let nkv = opts.kv_len.unwrap_or(rows);
    if nkv > rows {
        return Err(Error::IndexOutOfRange {
            op: "attention",
            axis: 0,
            index: nkv,
            size: rows,
        });
    }
    let (mask_pairs, mask_block, mask_row) = match &opts.mask {
        Some(m) => mask_layout(m.dims(), pair_dims, nq, nkv)?,
        None => (1, 0, 0),
    };
    let (hq, hv) = (dqk / heads, dv / heads);
    let view = |n: usize, width: usize, per_head: usize| AttentionView {
        offset: 0,
        batch: n * width,
        head: per_head,
        row: width,
    };
    // Overflow of any buffer size is caught by the shapes' element counts;
    // these products are at most those counts.
    Ok(AttentionParams {
        batch,
        heads,
        nq,
        nkv,
        dqk: hq,
        dv: hv,
        q: view(nq, dqk, hq),
        k: view(rows, dqk, hq),
        v: view(rows, dv, hv),
        out: view(nq, dv, hv),
        scale: opts.scale.unwrap_or_else(|| {
            if hq == 0 {
                1.0
            } else {
                1.0 / libm::sqrt(hq as f64)
            }
        }),
        causal: opts.causal,
        mask: opts.mask.is_some(),
        mask_pairs,
        mask_block,
        mask_row,
        dropout: opts.dropout,
        seed: 0,
    })
}

/// How the kernel reads a mask of dims `mask` for pairs of dims
/// `pair_dims` (`(batch..., heads)`), `nq` queries and `nkv` keys: `(pairs
/// sharing a block, block stride, row stride)`. The mask's leading dims
/// align right with `pair_dims`; they must equal them up to some axis and be
/// 1 after it (then consecutive pairs share a block, read in place).
fn mask_layout(
    mask: &[usize],
    pair_dims: &[usize],
    nq: usize,
    nkv: usize,
) -> Result<(usize, usize, usize), Error> {
    const RANK: Error = Error::Invalid(
        "attention: a mask has 2 to 6 axes (leading dims..., queries or 1, keys), no more leading dims than the call's batch and heads",
    );
    const BROADCAST: Error = Error::Invalid(
        "attention: a mask's leading dims must equal the call's (batch..., heads) dims up to some axis and be 1 after it",
    );
    let r = mask.len();
    if !(2..=super::options::MAX_MASK_RANK).contains(&r) || r - 2 > pair_dims.len() {
        return Err(RANK);
    }
    let (lead, mq, mk) = (&mask[..r - 2], mask[r - 2], mask[r - 1]);
    check_dim("attention", r - 1, "mask columns vs keys", mk, nkv)?;
    if mq != 1 {
        check_dim("attention", r - 2, "mask rows vs queries", mq, nq)?;
    }
    // Right-align: the mask's missing leading axes are 1.
    let pad = pair_dims.len() - lead.len();
    let dim = |a: usize| if a < pad { 1 } else { lead[a - pad] };
    let equal = (0..pair_dims.len())
        .take_while(|&a| dim(a) == pair_dims[a])
        .count();
    // Axes with pair dim 1 count as equal and as broadcast; keep the split
    // at the last axis where the mask is not 1.
    let split = (0..pair_dims.len())
        .rev()
        .find(|&a| dim(a) != 1)
        .map_or(0, |a| a + 1);
    if split > equal {
        return Err(BROADCAST);
    }
    let shared: usize = pair_dims[split..].iter().product();
    let row = if mq == 1 { 0 } else { nkv };
    Ok((shared.max(1), mq * nkv, row))
}

/// Run the kernel, merge the tapes and record the backward.
pub(crate) fn attention_core<Sq, Sk, Sv, So, E, D, Tq, Tk, Tv>(
    q: Tensor<Sq, E, D, Tq>,
    k: Tensor<Sk, E, D, Tk>,
    v: Tensor<Sv, E, D, Tv>,
    out_shape: So,
    mut p: AttentionParams,
    opts: &AttentionOptions<'_, D>,
) -> Result<Tensor<So, E, D, AttentionTape<Tq, Tk, Tv>>, Error>
where
    Sq: Shape,
    Sk: Shape,
    Sv: Shape,
    So: Shape,
    E: Dtype,
    D: Device<E>,
    Tq: Tracking<E, D> + Merge<Tk>,
    Tk: Tracking<E, D>,
    Tv: Tracking<E, D>,
    <Tq as Merge<Tk>>::Output: Merge<Tv>,
    AttentionTape<Tq, Tk, Tv>: Tracking<E, D>,
{
    let (q, tq) = q.split_tape();
    let (k, tk) = k.split_tape();
    let (v, tv) = v.split_tape();
    let tape = tq.merge(tk).merge(tv);
    // Dropout only in a training mode (the merged tape keeps the query's).
    if p.dropout > 0.0 && tape.mode().is_train() {
        p.seed = q.device.next_seed();
    } else {
        p.dropout = 0.0;
    }
    let mask = opts.mask.map(|m| m.data.clone());
    let (y, lse) = q
        .device
        .attention(&p, &q.data, &k.data, &v.data, mask.as_ref());
    let dev = q.device.clone();
    if !<AttentionTape<Tq, Tk, Tv> as Tracking<E, D>>::TRACKED {
        return Ok(op_result(out_shape, y, dev, tape, |_, _| {}));
    }
    let want = AttentionWant {
        q: tape.wants_grad(q.id),
        k: tape.wants_grad(k.id),
        v: tape.wants_grad(v.id),
    };
    if q.id == k.id && k.id == v.id && want.q {
        // One tensor read three times (a packed q/k/v projection): one
        // gradient buffer for the three parts.
        let saved = (q.id, q.data, y.clone(), lse);
        return Ok(op_result(out_shape, y, dev.clone(), tape, move |g, gy| {
            let (xi, xd, yd, lse) = &saved;
            let gx = dev.attention_backward_shared(&p, xd, mask.as_ref(), yd, lse, gy);
            g.accumulate(*xi, gx);
        }));
    }
    let saved = (q.id, k.id, v.id, q.data, k.data, v.data, y.clone(), lse);
    Ok(op_result(out_shape, y, dev.clone(), tape, move |g, gy| {
        let (qi, ki, vi, qd, kd, vd, yd, lse) = &saved;
        let (gq, gk, gv) = dev.attention_backward(&p, qd, kd, vd, mask.as_ref(), yd, lse, gy, want);
        if let Some(gq) = gq {
            g.accumulate(*qi, gq);
        }
        if let Some(gk) = gk {
            g.accumulate(*ki, gk);
        }
        if let Some(gv) = gv {
            g.accumulate(*vi, gv);
        }
    }))
}
