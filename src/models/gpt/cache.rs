//! [`KvCache`]: keys and values of past positions, preallocated once and
//! written in place.

use crate::backend::{Backend, Cpu};
use crate::dtype::Dtype;
use crate::shape::{check_dim, Dyn, Error};
use crate::tensor::Tensor;
use alloc::vec::Vec;

/// One layer's keys and values, each `(B, Tmax, Dm)` with the heads side
/// by side in the last axis (`(B, Tmax, H, hd)`, the layout the projection
/// gives, so appending a token copies two contiguous rows per sequence).
#[derive(Clone, Debug)]
pub(crate) struct LayerCache<E: Dtype, D: Backend> {
    pub(crate) k: Tensor<(Dyn, Dyn, Dyn), E, D>,
    pub(crate) v: Tensor<(Dyn, Dyn, Dyn), E, D>,
    pub(crate) tmax: usize,
}

/// The KV cache of a [`Gpt`](super::Gpt): for each of `L` layers, the keys
/// and values of up to `Tmax` positions of `B` sequences, allocated once
/// (`2·L·B·Tmax·Dm` elements, zeros) and written in place as tokens are
/// fed ([`Gpt::forward_cached`](super::Gpt::forward_cached)); attention
/// reads positions `0..len` straight from this storage. Make one with
/// [`Gpt::kv_cache`](super::Gpt::kv_cache).
///
/// ```
/// use typegrad::models::GptMini;
/// use typegrad::prelude::*;
/// let dev = Cpu::seeded(0);
/// let gpt: GptMini = GptMini::new(&dev);
/// let mut cache = gpt.kv_cache(1);
/// assert_eq!((cache.len(), cache.capacity(), cache.batch()), (0, 64, 1));
/// let tok = Tensor::<(Dyn, Dyn), usize>::from_vec((Dyn(1), Dyn(1)), vec![5], &dev);
/// let logits = gpt.forward_cached(tok, 0, &mut cache); // (1, 1, 96)
/// assert_eq!(cache.len(), 1);
/// # let _ = logits;
/// ```
#[derive(Clone, Debug)]
pub struct KvCache<E: Dtype = f32, D: Backend = Cpu> {
    layers: Vec<LayerCache<E, D>>,
    batch: usize,
    width: usize,
    heads: usize,
    len: usize,
}

impl<E: Dtype, D: Backend> KvCache<E, D> {
    /// An empty cache of `layers` layers for `batch` sequences of up to
    /// `tmax` positions, model width `width` in `heads` heads.
    pub(crate) fn new(
        layers: usize,
        batch: usize,
        tmax: usize,
        width: usize,
        heads: usize,
        device: &D,
    ) -> Self {
        let zeros = || Tensor::zeros((Dyn(batch), Dyn(tmax), Dyn(width)), device);
        KvCache {
            layers: (0..layers)
                .map(|_| LayerCache {
                    k: zeros(),
                    v: zeros(),
                    tmax,
                })
                .collect(),
            batch,
            width,
            heads,
            len: 0,
        }
    }
    /// Positions cached so far.
    pub fn len(&self) -> usize {
        self.len
    }
    /// Whether no position is cached.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// `Tmax`, the positions it can hold.
    pub fn capacity(&self) -> usize {
        self.layers.first().map_or(0, |l| l.tmax)
    }
    /// Sequences per batch.
    pub fn batch(&self) -> usize {
        self.batch
    }
    /// Heads per layer.
    pub fn heads(&self) -> usize {
        self.heads
    }
    /// Forget every position (the storage is kept and overwritten).
    pub fn clear(&mut self) {
        self.len = 0;
    }
    /// The keys (`part` 0) or values (1) of layer `layer`, `(B, Tmax, Dm)`;
    /// positions `len..` hold stale or zero rows.
    ///
    /// Panics if `layer` or `part` is out of range.
    pub fn get(&self, layer: usize, part: usize) -> &Tensor<(Dyn, Dyn, Dyn), E, D> {
        let l = &self.layers[layer];
        [&l.k, &l.v][part]
    }
    pub(crate) fn layer_mut(&mut self, i: usize) -> &mut LayerCache<E, D> {
        &mut self.layers[i]
    }
    pub(crate) fn set_len(&mut self, len: usize) {
        self.len = len;
    }
    /// Check a forward of `n` tokens of `batch` sequences at `pos` on a
    /// model of `layers` layers of width `width`.
    pub(crate) fn check(
        &self,
        (batch, n): (usize, usize),
        pos: usize,
        layers: usize,
        width: usize,
    ) -> Result<(), Error> {
        let op = "Gpt::forward_cached";
        check_dim(op, 0, "token batch vs cache batch", batch, self.batch)?;
        check_dim(op, 2, "model width vs cache width", width, self.width)?;
        if self.layers.len() != layers {
            return Err(Error::Invalid(
                "Gpt::forward_cached: the cache has another number of layers than the model",
            ));
        }
        if pos > self.len {
            return Err(Error::IndexOutOfRange {
                op: "Gpt::forward_cached: position past the cached length (a gap)",
                axis: 1,
                index: pos,
                size: self.len,
            });
        }
        if pos + n > self.capacity() {
            return Err(Error::IndexOutOfRange {
                op: "Gpt::forward_cached: position + new tokens > cache capacity",
                axis: 1,
                index: pos + n,
                size: self.capacity(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::backend::Cpu;
    use crate::models::{GptMini, Sampling};
    use crate::shape::Dyn;
    use crate::tensor::Tensor;
    use alloc::vec::Vec;

    /// Feeding tokens writes into the storage allocated by `kv_cache`: the
    /// buffers stay the same allocations, and hold the new rows.
    #[test]
    fn tokens_are_written_in_place() {
        let dev = Cpu::seeded(0);
        let gpt: GptMini = GptMini::new(&dev);
        let mut cache = gpt.kv_cache(1);
        let ptrs = |c: &super::KvCache| -> Vec<*const f32> {
            c.layers
                .iter()
                .flat_map(|l| [l.k.data.as_ptr(), l.v.data.as_ptr()])
                .collect()
        };
        let before = ptrs(&cache);
        let mut tok = 7;
        for pos in 0..10 {
            let ids = Tensor::from_vec((Dyn(1), Dyn(1)), alloc::vec![tok], &dev);
            let logits = gpt.forward_cached(ids, pos, &mut cache).to_vec();
            tok = Sampling::greedy().pick(&logits, &mut Sampling::rng(0));
            assert_eq!(ptrs(&cache), before, "the cache was copied at {pos}");
        }
        // Rows 0..10 written, rows 10.. still zero.
        let k = cache.get(0, 0).to_vec();
        assert!(k[..10 * 128].iter().any(|&v| v != 0.0));
        assert!(k[10 * 128..].iter().all(|&v| v == 0.0));
        // A clone shares nothing that a later write could change.
        let snapshot = cache.clone();
        let ids = Tensor::from_vec((Dyn(1), Dyn(1)), alloc::vec![1], &dev);
        gpt.forward_cached(ids, 10, &mut cache);
        assert_eq!(snapshot.get(0, 0).to_vec(), k);
        assert_ne!(cache.get(0, 0).to_vec(), k);
    }
}
