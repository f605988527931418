//! Token streams for language models: a contiguous train/validation split
//! and seeded random `(B, T)` windows with their next-token targets.

use crate::backend::Backend;
use crate::shape::Dyn;
use crate::tensor::Tensor;
use crate::text::TextError;
use alloc::vec::Vec;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Split a token stream into a training head and a validation tail: the
/// last `round(len * val_fraction)` tokens validate (contiguous, as
/// nanoGPT does, so no window of one part overlaps the other).
///
/// # Panics
/// If `val_fraction` is not in `[0, 1]`.
///
/// ```
/// use typegrad::data::split_tokens;
/// let tokens: Vec<usize> = (0..10).collect();
/// let (train, val) = split_tokens(&tokens, 0.2);
/// assert_eq!(train, &[0, 1, 2, 3, 4, 5, 6, 7]);
/// assert_eq!(val, &[8, 9]);
/// ```
pub fn split_tokens(tokens: &[usize], val_fraction: f64) -> (&[usize], &[usize]) {
    assert!(
        (0.0..=1.0).contains(&val_fraction),
        "split_tokens: val_fraction must be in [0, 1], got {val_fraction}"
    );
    let n_val = (libm::round(tokens.len() as f64 * val_fraction) as usize).min(tokens.len());
    tokens.split_at(tokens.len() - n_val)
}

/// Random windows of a token stream for next-token prediction: each batch
/// is `B` windows of `T` tokens starting at uniformly drawn positions, with
/// targets shifted by one (`y[b, t] = x[b, t + 1]`). Reproducible from the
/// seed.
///
/// ```
/// use typegrad::data::TokenBatches;
/// use typegrad::prelude::*;
/// let dev = Cpu::default();
/// let tokens: Vec<usize> = (0..100).collect();
/// let mut batches = TokenBatches::new(tokens, 4, 8, 42).unwrap();
/// let (x, y) = batches.sample(&dev); // Tensor<(Dyn, Dyn), usize>, (4, 8) each
/// assert_eq!(&*x.dims(), &[4, 8]);
/// let (x, y) = (x.to_vec(), y.to_vec());
/// assert!((0..32).all(|i| y[i] == x[i] + 1)); // next tokens
/// assert_eq!(TokenBatches::new((0..100).collect(), 4, 8, 42).unwrap().sample(&dev).0.to_vec(), x);
/// ```
#[derive(Clone, Debug)]
pub struct TokenBatches {
    tokens: Vec<usize>,
    batch: usize,
    block: usize,
    rng: StdRng,
}

impl TokenBatches {
    /// Windows of `block` tokens, `batch` at a time, drawn with `seed`. A
    /// stream shorter than `block + 1` tokens is
    /// [`TextError::TooFewTokens`].
    ///
    /// ```
    /// use typegrad::data::TokenBatches;
    /// let err = TokenBatches::new(vec![1, 2, 3], 2, 3, 0).unwrap_err();
    /// assert_eq!(err.to_string(), "token stream of 3 tokens is too short for a window of 4 (block size + 1)");
    /// ```
    pub fn new(
        tokens: Vec<usize>,
        batch: usize,
        block: usize,
        seed: u64,
    ) -> Result<Self, TextError> {
        let needed = block.saturating_add(1);
        if tokens.len() < needed {
            return Err(TextError::TooFewTokens {
                got: tokens.len(),
                needed,
            });
        }
        Ok(TokenBatches {
            tokens,
            batch,
            block,
            rng: StdRng::seed_from_u64(seed),
        })
    }

    /// The number of distinct window positions (`len - block`).
    pub fn num_windows(&self) -> usize {
        self.tokens.len() - self.block
    }

    /// The next random batch: inputs and targets, `(B, T)` each.
    #[allow(clippy::type_complexity)]
    pub fn sample<D: Backend>(
        &mut self,
        device: &D,
    ) -> (Tensor<(Dyn, Dyn), usize, D>, Tensor<(Dyn, Dyn), usize, D>) {
        let n = self.num_windows();
        let starts: Vec<usize> = (0..self.batch)
            .map(|_| self.rng.random_range(0..n))
            .collect();
        self.batch_at(&starts, device)
    }

    /// The batch of windows starting at `starts` (deterministic, for
    /// evaluation: e.g. every `block`-th position of a validation stream).
    ///
    /// # Panics
    /// If a start is past the last window (`>= num_windows()`).
    ///
    /// ```
    /// use typegrad::data::TokenBatches;
    /// use typegrad::prelude::*;
    /// let b = TokenBatches::new(vec![5, 6, 7, 8, 9], 2, 2, 0).unwrap();
    /// let (x, y) = b.batch_at(&[0, 2], &Cpu::default());
    /// assert_eq!(x.to_vec(), vec![5, 6, 7, 8]);
    /// assert_eq!(y.to_vec(), vec![6, 7, 8, 9]);
    /// ```
    #[allow(clippy::type_complexity)]
    pub fn batch_at<D: Backend>(
        &self,
        starts: &[usize],
        device: &D,
    ) -> (Tensor<(Dyn, Dyn), usize, D>, Tensor<(Dyn, Dyn), usize, D>) {
        let t = self.block;
        let mut x = Vec::with_capacity(starts.len() * t);
        let mut y = Vec::with_capacity(starts.len() * t);
        for &s in starts {
            assert!(
                s < self.num_windows(),
                "TokenBatches: window start {s} is past the last window {}",
                self.num_windows() - 1
            );
            x.extend_from_slice(&self.tokens[s..s + t]);
            y.extend_from_slice(&self.tokens[s + 1..s + t + 1]);
        }
        let shape = (Dyn(starts.len()), Dyn(t));
        (
            Tensor::from_vec(shape, x, device),
            Tensor::from_vec(shape, y, device),
        )
    }
}
