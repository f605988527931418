//! Text generation: [`Sampling`] rules and [`Gpt::generate`] (KV cache) /
//! [`Gpt::generate_uncached`] (full recompute).

use super::{Gpt, Width};
use crate::backend::Device;
use crate::dtype::Dtype;
use crate::nn::Module;
use crate::shape::{Dyn, Error, StaticDim};
use crate::tensor::Tensor;
use alloc::vec::Vec;
use rand::{RngCore, SeedableRng};

/// How the next token is chosen from the logits of the last position.
///
/// - temperature `0` ([`Sampling::greedy`]): the arg-max (the first on a
///   tie, as `torch.argmax`);
/// - temperature `t > 0` ([`Sampling::temperature`]): a draw from
///   `softmax(logits / t)`;
/// - with [`Sampling::top_k`]`(k)`: the draw is among the `k` largest
///   logits only (`k = 1` is greedy).
///
/// Draws come from a generator seeded by the `seed` given to
/// [`Gpt::generate`]: the same seed gives the same text.
///
/// ```
/// use typegrad::models::Sampling;
/// let logits = [0.1f32, 2.0, -1.0, 1.9];
/// assert_eq!(Sampling::greedy().pick(&logits, &mut Sampling::rng(0)), 1);
/// // Top-2 at temperature 1: only tokens 1 and 3 can come out.
/// let s = Sampling::temperature(1.0).top_k(2);
/// let mut rng = Sampling::rng(7);
/// assert!((0..100).all(|_| matches!(s.pick(&logits, &mut rng), 1 | 3)));
/// ```
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Sampling {
    /// Divides the logits; `0` means greedy.
    pub temperature: f64,
    /// Keep only the `k` largest logits (`None`: all).
    pub top_k: Option<usize>,
}

impl Default for Sampling {
    fn default() -> Self {
        Self::greedy()
    }
}

impl Sampling {
    /// Always the most likely token.
    pub fn greedy() -> Self {
        Sampling {
            temperature: 0.0,
            top_k: None,
        }
    }
    /// Sample from `softmax(logits / t)` (`t = 0`: greedy). Panics if `t`
    /// is negative or not finite.
    pub fn temperature(t: f64) -> Self {
        assert!(
            t.is_finite() && t >= 0.0,
            "Sampling: the temperature must be finite and >= 0, got {t}"
        );
        Sampling {
            temperature: t,
            top_k: None,
        }
    }
    /// Restrict the draw to the `k` largest logits. Panics if `k == 0`.
    pub fn top_k(mut self, k: usize) -> Self {
        assert!(k > 0, "Sampling: top_k must be at least 1");
        self.top_k = Some(k);
        self
    }
    /// The generator [`Gpt::generate`] draws from for `seed`.
    pub fn rng(seed: u64) -> rand::rngs::StdRng {
        rand::rngs::StdRng::seed_from_u64(seed)
    }
    /// The token chosen from `logits` (one position's, `V` values).
    /// Panics on empty logits.
    pub fn pick<E: Dtype>(&self, logits: &[E], rng: &mut impl RngCore) -> usize {
        assert!(!logits.is_empty(), "Sampling: no logits");
        let x: Vec<f64> = logits.iter().map(|&v| Dtype::to_f64(v)).collect();
        let argmax = (0..x.len()).fold(0, |m, i| if x[i] > x[m] { i } else { m });
        if self.temperature == 0.0 || self.top_k == Some(1) {
            return argmax;
        }
        // Candidates: all tokens, or the k largest (ties: lower id first).
        let mut ids: Vec<usize> = (0..x.len()).collect();
        if let Some(k) = self.top_k.filter(|&k| k < x.len()) {
            ids.sort_by(|&a, &b| x[b].total_cmp(&x[a]).then(a.cmp(&b)));
            ids.truncate(k);
        }
        let w: Vec<f64> = ids
            .iter()
            .map(|&i| libm::exp((x[i] - x[argmax]) / self.temperature))
            .collect();
        let total: f64 = w.iter().sum();
        // A uniform draw in [0, total) with 53 random bits.
        let mut u = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * total;
        for (&i, &wi) in ids.iter().zip(&w) {
            if u < wi {
                return i;
            }
            u -= wi;
        }
        *ids.last().expect("at least one candidate")
    }
}

#[rustfmt::skip]
impl<V: StaticDim, Tmax: StaticDim, Dm: Width, H: StaticDim, Hid: Width, const L: usize, E: Dtype, D: Device<E>>
    Gpt<V, Tmax, Dm, H, Hid, L, E, D>
{
    /// `prompt` followed by `n` generated tokens, with a KV cache: the
    /// prompt in one cached forward, then one token per step. Panics where
    /// [`Gpt::try_generate`] errs.
    ///
    /// ```
    /// use typegrad::models::{GptMini, Sampling};
    /// use typegrad::prelude::*;
    /// let gpt: GptMini = GptMini::new(&Cpu::seeded(0));
    /// let out = gpt.generate(&[3, 1, 4], 8, Sampling::temperature(0.8).top_k(10), 42);
    /// assert_eq!(out.len(), 11);
    /// assert_eq!(out, gpt.generate(&[3, 1, 4], 8, Sampling::temperature(0.8).top_k(10), 42));
    /// assert_eq!(gpt.generate(&[3], 8, Sampling::greedy(), 0), gpt.generate_uncached(&[3], 8, Sampling::greedy(), 0));
    /// ```
    #[track_caller]
    pub fn generate(&self, prompt: &[usize], n: usize, sampling: Sampling, seed: u64) -> Vec<usize> {
        self.try_generate(prompt, n, sampling, seed).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Fallible [`Gpt::generate`] (on the CPU with two or more rayon
    /// threads, one helper thread spins beside the caller for the duration
    /// of the call and takes half of every one-token product, so each core
    /// keeps half of the weights in its own cache): an empty prompt, `prompt.len() + n - 1 >
    /// Tmax` (the cache holds `Tmax` positions; use
    /// [`Gpt::generate_uncached`] to slide past it) or an id `>= V` is an
    /// error.
    ///
    /// ```
    /// use typegrad::models::{GptMini, Sampling};
    /// use typegrad::prelude::*;
    /// let gpt: GptMini = GptMini::new(&Cpu::seeded(0));
    /// let e = gpt.try_generate(&[1; 10], 60, Sampling::greedy(), 0).unwrap_err();
    /// assert_eq!(e.to_string(), "Gpt::generate: prompt + new tokens - 1 > context (Tmax): index 69 out of range for axis 1 of size 64");
    /// ```
    pub fn try_generate(&self, prompt: &[usize], n: usize, sampling: Sampling, seed: u64) -> Result<Vec<usize>, Error> {
        check_prompt(prompt)?;
        let (p, tmax) = (prompt.len(), Tmax::USIZE);
        if p + n - 1 > tmax && n > 0 {
            return Err(Error::IndexOutOfRange { op: "Gpt::generate: prompt + new tokens - 1 > context (Tmax)", axis: 1, index: p + n - 1, size: tmax });
        }
        let dev = self.head.weight.device().clone();
        let (mut rng, mut out, mut cache) = (Sampling::rng(seed), prompt.to_vec(), self.kv_cache(1));
        let mut feed = prompt.to_vec();
        let run = || -> Result<(), Error> {
            for _ in 0..n {
                let pos = cache.len();
                let ids = Tensor::try_from_vec((Dyn(1), Dyn(feed.len())), core::mem::take(&mut feed), &dev)?;
                let next = sampling.pick(&last_row(self.try_forward_cached(ids, pos, &mut cache)?), &mut rng);
                out.push(next);
                feed.push(next);
            }
            Ok(())
        };
        // Token by token the products are one row each: with two or more
        // threads, a spinning helper takes half of each (CPU backend).
        #[cfg(feature = "std")]
        crate::backend::cpu::team::with_team(run)?;
        #[cfg(not(feature = "std"))]
        core::convert::identity(run)()?;
        Ok(out)
    }

    /// `prompt` followed by `n` generated tokens, each from a full forward
    /// over the last `Tmax` tokens (no cache; any length). Within the
    /// context it gives the tokens [`Gpt::generate`] gives (same seed).
    /// Panics on an empty prompt or an id `>= V`.
    #[track_caller]
    pub fn generate_uncached(&self, prompt: &[usize], n: usize, sampling: Sampling, seed: u64) -> Vec<usize> {
        check_prompt(prompt).unwrap_or_else(|e| panic!("{e}"));
        let dev = self.head.weight.device().clone();
        let (mut rng, mut out) = (Sampling::rng(seed), prompt.to_vec());
        for _ in 0..n {
            let window = &out[out.len().saturating_sub(Tmax::USIZE)..];
            let ids = Tensor::from_vec((Dyn(1), Dyn(window.len())), window.to_vec(), &dev);
            let next = sampling.pick(&last_row(self.forward(ids)), &mut rng);
            out.push(next);
        }
        out
    }
}

fn check_prompt(prompt: &[usize]) -> Result<(), Error> {
    if prompt.is_empty() {
        return Err(Error::Invalid(
            "Gpt::generate: the prompt must hold at least one token",
        ));
    }
    Ok(())
}

/// The logits of the last position of a `(1, T, V)` result.
fn last_row<V: StaticDim, E: Dtype, D: Device<E>>(logits: Tensor<(Dyn, Dyn, V), E, D>) -> Vec<E> {
    let v = logits.to_vec();
    v[v.len() - V::USIZE..].to_vec()
}
