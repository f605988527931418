//! Seeded shuffled mini-batches and the train/validation split.

use alloc::vec::Vec;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// splitmix64: decorrelates (seed, epoch) pairs before seeding the RNG.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Fisher-Yates shuffle driven by a seeded generator.
fn shuffle(v: &mut [usize], seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    for i in (1..v.len()).rev() {
        let j = rng.random_range(0..=i);
        v.swap(i, j);
    }
}

/// Split `0..n` at random into training and validation indices:
/// `round(n * val_fraction)` go to validation. Reproducible from `seed`;
/// both lists are sorted.
///
/// # Panics
/// If `val_fraction` is not in `[0, 1]`.
///
/// ```
/// use typegrad::data::split;
/// let (train, val) = split(60_000, 1.0 / 12.0, 0);
/// assert_eq!((train.len(), val.len()), (55_000, 5_000));
/// assert_eq!(split(100, 0.1, 3), split(100, 0.1, 3));
/// ```
pub fn split(n: usize, val_fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    assert!(
        (0.0..=1.0).contains(&val_fraction),
        "split: val_fraction must be in [0, 1], got {val_fraction}"
    );
    let n_val = libm::round((n as f64) * val_fraction) as usize;
    let mut order: Vec<usize> = (0..n).collect();
    shuffle(&mut order, mix(seed ^ 0x5eed_5911_7000_0000));
    let mut val = order.split_off(n - n_val.min(n));
    order.sort_unstable();
    val.sort_unstable();
    (order, val)
}

/// Mini-batches of example indices, shuffled anew each epoch.
///
/// The order of epoch `e` depends only on `(seed, e)`: a run is reproducible
/// and can resume at any epoch. The last batch is smaller when the batch
/// size does not divide the number of examples, unless
/// [`drop_last`](Batcher::drop_last) is set.
///
/// ```
/// use typegrad::data::Batcher;
/// let mut batcher = Batcher::new(10, 4, 42);
/// let sizes: Vec<usize> = batcher.epoch(0).map(|b| b.len()).collect();
/// assert_eq!(sizes, vec![4, 4, 2]);
/// let mut seen: Vec<usize> = batcher.epoch(0).flatten().copied().collect();
/// seen.sort();
/// assert_eq!(seen, (0..10).collect::<Vec<_>>()); // each example once
/// assert_ne!(batcher.epoch_order(0), batcher.epoch_order(1));
/// assert_eq!(Batcher::new(10, 4, 42).drop_last(true).epoch(0).count(), 2);
/// ```
#[derive(Clone, Debug)]
pub struct Batcher {
    indices: Vec<usize>,
    batch_size: usize,
    seed: u64,
    drop_last: bool,
    shuffle: bool,
    order: Vec<usize>,
}

impl Batcher {
    /// Batches over `0..n`.
    ///
    /// # Panics
    /// If `batch_size` is 0.
    pub fn new(n: usize, batch_size: usize, seed: u64) -> Self {
        Self::from_indices((0..n).collect(), batch_size, seed)
    }

    /// Batches over the given example indices (e.g. the training half of
    /// [`split`]).
    ///
    /// # Panics
    /// If `batch_size` is 0.
    pub fn from_indices(indices: Vec<usize>, batch_size: usize, seed: u64) -> Self {
        assert!(batch_size > 0, "Batcher: batch_size must be at least 1");
        Batcher {
            indices,
            batch_size,
            seed,
            drop_last: false,
            shuffle: true,
            order: Vec::new(),
        }
    }

    /// Drop the last batch when it would be smaller than the batch size.
    pub fn drop_last(mut self, drop_last: bool) -> Self {
        self.drop_last = drop_last;
        self
    }

    /// Whether to shuffle (default `true`); without, batches follow the
    /// index order every epoch (for evaluation).
    pub fn shuffle(mut self, shuffle: bool) -> Self {
        self.shuffle = shuffle;
        self
    }

    /// Number of examples.
    pub fn len(&self) -> usize {
        self.indices.len()
    }

    /// Whether there are no examples.
    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }

    /// The batch size.
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// Batches per epoch.
    pub fn num_batches(&self) -> usize {
        if self.drop_last {
            self.indices.len() / self.batch_size
        } else {
            self.indices.len().div_ceil(self.batch_size)
        }
    }

    fn epoch_seed(&self, epoch: u64) -> u64 {
        mix(mix(self.seed) ^ epoch)
    }

    /// The example order of epoch `epoch` (what [`Batcher::epoch`] cuts
    /// into batches).
    pub fn epoch_order(&self, epoch: u64) -> Vec<usize> {
        let mut order = self.indices.clone();
        if self.shuffle {
            shuffle(&mut order, self.epoch_seed(epoch));
        }
        order
    }

    /// The batches of epoch `epoch`, as slices of example indices (the
    /// order is kept in the batcher, so no batch allocates).
    pub fn epoch(&mut self, epoch: u64) -> Batches<'_> {
        self.order.clear();
        self.order.extend_from_slice(&self.indices);
        if self.shuffle {
            let seed = self.epoch_seed(epoch);
            shuffle(&mut self.order, seed);
        }
        let end = self.num_batches();
        Batches {
            inner: self.order.chunks(self.batch_size).take(end),
        }
    }
}

/// The batches of one epoch, from [`Batcher::epoch`]: each item is a slice
/// of example indices.
#[derive(Clone, Debug)]
pub struct Batches<'a> {
    inner: core::iter::Take<core::slice::Chunks<'a, usize>>,
}

impl<'a> Iterator for Batches<'a> {
    type Item = &'a [usize];
    fn next(&mut self) -> Option<&'a [usize]> {
        self.inner.next()
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl ExactSizeIterator for Batches<'_> {}
