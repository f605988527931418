//! The fused attention op on GPT's packed `(B, T, 3·Dm)` projection: each
//! head of q, k and v read in place (no split, no transposes), and the
//! KV-cache variant whose keys and values come from preallocated storage.

use super::cache::LayerCache;
use super::Act;
use crate::autograd::{NoTape, Tracking};
use crate::backend::Device;
use crate::dtype::Dtype;
use crate::ops::attention::{attention_core, layout, AttentionOptions, AttentionView};
use crate::ops::movement::{RowCopy, RowLayout};
use crate::shape::{Dyn, Error, Shape, StaticDim};
use crate::tensor::Tensor;

/// Heads-in-the-last-axis view of `n` rows of `width` elements per batch
/// entry, the part starting at column `offset`.
fn view(offset: usize, n: usize, width: usize, head: usize) -> AttentionView {
    AttentionView {
        offset,
        batch: n * width,
        head,
        row: width,
    }
}

/// Causal self-attention of the packed `qkv (B, T, 3·Dm)` with `heads`
/// heads and attention dropout `p` (training modes only): `(B, T, Dm)`.
/// The three operands are the same tensor, so their gradients add up under
/// its id.
pub(super) fn causal<S: Shape, Dm: StaticDim, E: Dtype, D: Device<E>, T: Tracking<E, D>>(
    qkv: Tensor<S, E, D, T>,
    heads: usize,
    p: f64,
) -> Act<Dm, E, D, T> {
    let d = qkv.dims();
    let (b, t, dm) = (d[0], d[1], Dm::USIZE);
    let opts = AttentionOptions::new().causal().dropout(p);
    let run = || -> Result<_, Error> {
        let base = layout(&[b, heads], b, heads, t, t, dm, dm, &opts)?;
        let hd = dm / heads;
        let params = crate::ops::attention::AttentionParams {
            q: view(0, t, 3 * dm, hd),
            k: view(dm, t, 3 * dm, hd),
            v: view(2 * dm, t, 3 * dm, hd),
            ..base
        };
        let out = (Dyn(b), Dyn(t), Dm::default());
        attention_core(qkv.clone(), qkv.clone(), qkv, out, params, &opts)
    };
    run().unwrap_or_else(|e| panic!("{e}"))
}

/// Attention of the new tokens' queries (in `qkv (B, n, 3·Dm)`) over
/// positions `0..pos + n` of the layer's cache, after writing the new keys
/// and values at `pos..pos + n` in place. Causal among the new tokens.
pub(super) fn cached<S: Shape, Dm: StaticDim, E: Dtype, D: Device<E>>(
    qkv: Tensor<S, E, D>,
    heads: usize,
    pos: usize,
    cache: &mut LayerCache<E, D>,
) -> Result<Act<Dm, E, D, NoTape>, Error> {
    let d = qkv.dims();
    let (b, n, dm) = (d[0], d[1], Dm::USIZE);
    let tmax = cache.tmax;
    let hd = dm / heads;
    let dev = qkv.device.clone();
    // Row (b, i) of the projection's k (v) part goes to row (b, pos + i).
    for (part, dst) in [(1, &mut cache.k), (2, &mut cache.v)] {
        let copy = RowCopy {
            groups: b,
            rows: n,
            width: dm,
            from: RowLayout {
                offset: part * dm,
                group: n * 3 * dm,
                row: 3 * dm,
            },
            to: RowLayout {
                offset: pos * dm,
                group: tmax * dm,
                row: dm,
            },
        };
        dev.copy_rows_into(&mut dst.data, &qkv.data, &copy);
    }
    let opts = AttentionOptions::new().causal().kv_len(pos + n);
    let base = layout(&[b, heads], b, heads, n, tmax, dm, dm, &opts)?;
    let params = crate::ops::attention::AttentionParams {
        q: view(0, n, 3 * dm, hd),
        k: view(0, tmax, dm, hd),
        v: view(0, tmax, dm, hd),
        ..base
    };
    let out = (Dyn(b), Dyn(n), Dm::default());
    // The cache tensors are cloned handles: the op only reads them and
    // drops them before returning, so the next write is in place again.
    attention_core(qkv, cache.k.clone(), cache.v.clone(), out, params, &opts)
}
