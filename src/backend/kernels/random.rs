//! Random numbers drawn by the device: [`RandomKernel`], and the
//! counter-based generator the GPU uses ([`philox4x32_10`]).
//!
//! Every draw takes an explicit `seed` (from [`Backend::next_seed`]), so a
//! program is reproducible from its device seed. The CPU keeps its
//! `StdRng` streams (numbers unchanged from earlier releases); the CUDA
//! device uses Philox-4x32-10 (Salmon et al., "Parallel random numbers: as
//! easy as 1, 2, 3", SC 2011), where element `i` of a draw is a pure
//! function of `(seed, i)`: every thread computes its own elements, no state
//! is kept on the device, and the numbers do not depend on the launch shape.
//! The two devices draw different numbers from the same seed.
//!
//! The host functions below ([`philox_uniform`], [`philox_normal`],
//! [`philox_keep`]) define, element by element, what the CUDA kernels
//! compute; tests compare the kernels with them.

use crate::backend::Backend;
use crate::dtype::Dtype;

/// Random draws on a device. `n` elements, from `seed`.
pub trait RandomKernel<E: Dtype>: Backend {
    /// Normal samples with mean `mean` and standard deviation `std`
    /// (finite, `std >= 0`: checked by the callers).
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::backend::random::RandomKernel;
    /// let dev = Cpu::default();
    /// let a = RandomKernel::<f64>::normal(&dev, 1000, 2.0, 0.5, 7);
    /// let b = RandomKernel::<f64>::normal(&dev, 1000, 2.0, 0.5, 7);
    /// assert_eq!(a.to_vec(), b.to_vec());
    /// let mean = a.iter().sum::<f64>() / 1000.0;
    /// assert!((mean - 2.0).abs() < 0.1);
    /// ```
    fn normal(&self, n: usize, mean: f64, std: f64, seed: u64) -> Self::Storage<E>;
    /// Uniform samples in `[lo, hi)` (finite, `lo < hi`: checked by the
    /// callers).
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::backend::random::RandomKernel;
    /// let dev = Cpu::default();
    /// let u = RandomKernel::<f32>::uniform(&dev, 100, -1.0, 1.0, 3);
    /// assert!(u.iter().all(|&v| (-1.0..1.0).contains(&v)));
    /// ```
    fn uniform(&self, n: usize, lo: f64, hi: f64, seed: u64) -> Self::Storage<E>;
    /// A dropout mask: each element is dropped (`0`) with probability `p`
    /// (`p` in `[0, 1]`), else kept as `1 / (1 - p)`, so that multiplying by
    /// it keeps the expected value. A 32-bit draw `r` is dropped when
    /// `r < round(p · 2³²)`.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::backend::random::RandomKernel;
    /// let dev = Cpu::default();
    /// let m = RandomKernel::<f64>::dropout_mask(&dev, 1000, 0.25, 1);
    /// assert!(m.iter().all(|&v| v == 0.0 || (v - 4.0 / 3.0).abs() < 1e-15));
    /// ```
    fn dropout_mask(&self, n: usize, p: f64, seed: u64) -> Self::Storage<E>;
}

/// Philox-4x32 multipliers and Weyl key increments (Random123).
const M0: u32 = 0xD251_1F53;
const M1: u32 = 0xCD9E_8D57;
const W0: u32 = 0x9E37_79B9;
const W1: u32 = 0xBB67_AE85;

/// The Philox-4x32 block function with 10 rounds: four 32-bit outputs from a
/// 128-bit counter and a 64-bit key, bit for bit as Random123's
/// `philox4x32_R(10, ctr, key)`.
///
/// ```
/// use typegrad::backend::random::philox4x32_10;
/// // Random123's known-answer vector for philox4x32_10, counter 0, key 0.
/// assert_eq!(philox4x32_10([0; 4], [0; 2]), [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]);
/// ```
pub fn philox4x32_10(ctr: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let (mut c, mut k) = (ctr, key);
    for round in 0..10 {
        if round > 0 {
            k = [k[0].wrapping_add(W0), k[1].wrapping_add(W1)];
        }
        let p0 = u64::from(M0) * u64::from(c[0]);
        let p1 = u64::from(M1) * u64::from(c[2]);
        let (hi0, lo0) = ((p0 >> 32) as u32, p0 as u32);
        let (hi1, lo1) = ((p1 >> 32) as u32, p1 as u32);
        c = [hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0];
    }
    c
}

/// Which draw a counter belongs to (its third word), so the uniform, normal
/// and dropout draws of one seed never share a counter.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Stream {
    /// [`RandomKernel::uniform`].
    Uniform = 0,
    /// [`RandomKernel::normal`].
    Normal = 1,
    /// [`RandomKernel::dropout_mask`].
    Dropout = 2,
}

/// The Philox block of element `i` of a draw: counter `(i, stream, 0)`, key
/// `seed`.
///
/// ```
/// use typegrad::backend::random::{philox4x32_10, philox_block, Stream};
/// assert_eq!(philox_block(5, Stream::Normal, 0), philox4x32_10([0, 0, 1, 0], [5, 0]));
/// ```
pub fn philox_block(seed: u64, stream: Stream, i: u64) -> [u32; 4] {
    philox4x32_10(
        [i as u32, (i >> 32) as u32, stream as u32, 0],
        [seed as u32, (seed >> 32) as u32],
    )
}

/// 53 random bits of two words as a double in `[0, 1)`.
fn unit(lo: u32, hi: u32) -> f64 {
    ((u64::from(lo) | (u64::from(hi) << 32)) >> 11) as f64 * (1.0 / 9_007_199_254_740_992.0)
}

/// Element `i` of the CUDA device's `uniform(n, lo, hi, seed)`, before the
/// conversion to the element type: `lo + (hi - lo) · u` with `u` in
/// `[0, 1)` from 53 bits of the block's first two words (rounded once per
/// operation, no fused multiply-add). The kernel then converts to `E` and
/// moves a value rounded up to `hi` to the largest `E` below it.
///
/// ```
/// use typegrad::backend::random::philox_uniform;
/// let v = philox_uniform(1, 0, -2.0, 3.0);
/// assert!((-2.0..3.0).contains(&v));
/// ```
pub fn philox_uniform(seed: u64, i: u64, lo: f64, hi: f64) -> f64 {
    let b = philox_block(seed, Stream::Uniform, i);
    lo + (hi - lo) * unit(b[0], b[1])
}

/// Element `i` of the CUDA device's `normal(n, mean, std, seed)` (in `f64`,
/// before the conversion to the element type): Box–Muller,
/// `mean + std · √(-2 ln u₁) · cos(2π u₂)` with `u₁` in `(0, 1]` from the
/// block's first two words and `u₂` in `[0, 1)` from the last two. The
/// kernel's `log`/`cos` may differ from the host's in the last bit.
///
/// ```
/// use typegrad::backend::random::philox_normal;
/// assert!(philox_normal(1, 0, 0.0, 1.0).abs() < 10.0);
/// ```
pub fn philox_normal(seed: u64, i: u64, mean: f64, std: f64) -> f64 {
    let b = philox_block(seed, Stream::Normal, i);
    let u1 = 1.0 - unit(b[0], b[1]);
    let u2 = unit(b[2], b[3]);
    let r = libm::sqrt(-2.0 * libm::log(u1));
    mean + std * (r * libm::cos(core::f64::consts::TAU * u2))
}

/// Whether the CUDA device's dropout mask keeps element `i` for rate `p`:
/// the block's first word is at least `round(p · 2³²)`.
///
/// ```
/// use typegrad::backend::random::philox_keep;
/// assert!(philox_keep(1, 0, 0.0));
/// assert!(!philox_keep(1, 0, 1.0));
/// ```
pub fn philox_keep(seed: u64, i: u64, p: f64) -> bool {
    u64::from(philox_block(seed, Stream::Dropout, i)[0]) >= dropout_threshold(p)
}

/// `round(p · 2³²)`: a 32-bit draw below it is dropped.
pub(crate) fn dropout_threshold(p: f64) -> u64 {
    libm::round(p * 4_294_967_296.0) as u64
}

/// The kept value `1 / (1 - p)` (0 when `p = 1`).
pub(crate) fn dropout_scale<E: Dtype>(p: f64) -> E {
    if p < 1.0 {
        E::from_f64(1.0 / (1.0 - p))
    } else {
        E::zero()
    }
}
