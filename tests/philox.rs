//! The counter-based generator of the CUDA device (Philox-4x32-10), checked
//! on the host against Random123's published known-answer vectors, and the
//! distributions built on it; the CPU's `RandomKernel` (its `StdRng` draws,
//! unchanged) and the dropout layer routed through it.

use rand::{RngCore, SeedableRng};
use rand_distr::Distribution;
use typegrad::backend::random::{
    philox4x32_10, philox_block, philox_keep, philox_normal, philox_uniform, RandomKernel, Stream,
};
use typegrad::prelude::*;

#[test]
fn philox_matches_random123_known_answers() {
    // Random123 kat_vectors: philox4x32 10 <counter x4> <key x2> <expected x4>.
    let kat: [([u32; 4], [u32; 2], [u32; 4]); 3] = [
        (
            [0; 4],
            [0; 2],
            [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8],
        ),
        (
            [u32::MAX; 4],
            [u32::MAX; 2],
            [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd],
        ),
        (
            [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
            [0xa4093822, 0x299f31d0],
            [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1],
        ),
    ];
    for (ctr, key, want) in kat {
        assert_eq!(
            philox4x32_10(ctr, key),
            want,
            "counter {ctr:x?} key {key:x?}"
        );
    }
}

#[test]
fn philox_blocks_are_keyed_by_seed_stream_and_index() {
    let seed = 0x0123_4567_89AB_CDEF_u64;
    let i = (7u64 << 32) | 9;
    assert_eq!(
        philox_block(seed, Stream::Dropout, i),
        philox4x32_10([9, 7, 2, 0], [0x89AB_CDEF, 0x0123_4567])
    );
    assert_ne!(
        philox_block(seed, Stream::Uniform, 0),
        philox_block(seed, Stream::Normal, 0)
    );
    assert_ne!(
        philox_block(seed, Stream::Uniform, 0),
        philox_block(seed + 1, Stream::Uniform, 0)
    );
}

fn stats(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let m = x.iter().sum::<f64>() / n;
    let v = x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (n - 1.0);
    (m, v)
}

#[test]
fn philox_uniform_has_the_moments_of_a_uniform() {
    let n = 200_000;
    let (lo, hi) = (-2.0, 3.0);
    let u: Vec<f64> = (0..n).map(|i| philox_uniform(11, i, lo, hi)).collect();
    assert!(u.iter().all(|v| (lo..hi).contains(v)));
    let (m, v) = stats(&u);
    let var = 25.0 / 12.0;
    assert!((m - 0.5).abs() < 5.0 * (var / n as f64).sqrt(), "mean {m}");
    assert!((v - var).abs() < 0.02 * var, "variance {v}");
    // Each tenth of the interval gets a tenth of the draws.
    let mut bins = [0usize; 10];
    for &x in &u {
        bins[((x - lo) / (hi - lo) * 10.0) as usize] += 1;
    }
    for b in bins {
        assert!((b as f64 / n as f64 - 0.1).abs() < 0.005, "bins {bins:?}");
    }
}

#[test]
fn philox_normal_has_the_moments_of_a_normal() {
    let n = 200_000;
    let z: Vec<f64> = (0..n).map(|i| philox_normal(5, i, 0.0, 1.0)).collect();
    let (m, v) = stats(&z);
    assert!(m.abs() < 5.0 / (n as f64).sqrt(), "mean {m}");
    assert!((v - 1.0).abs() < 0.02, "variance {v}");
    let k = z.iter().map(|x| x.powi(4)).sum::<f64>() / n as f64;
    assert!((k - 3.0).abs() < 0.1, "fourth moment {k}");
    let within1 = z.iter().filter(|x| x.abs() < 1.0).count() as f64 / n as f64;
    assert!(
        (within1 - 0.682_689).abs() < 0.005,
        "P(|z| < 1) = {within1}"
    );
    let shifted = philox_normal(5, 17, 3.0, 0.5);
    assert!((shifted - (3.0 + 0.5 * z[17])).abs() < 1e-12);
}

#[test]
fn philox_keep_drops_at_the_rate() {
    let n = 200_000;
    for p in [0.0, 0.1, 0.5, 0.9, 1.0] {
        let kept = (0..n).filter(|&i| philox_keep(3, i, p)).count() as f64 / n as f64;
        assert!((kept - (1.0 - p)).abs() < 0.005, "p = {p}: kept {kept}");
    }
}

#[test]
fn cpu_random_kernel_draws_the_std_rng_numbers() {
    // The CPU keeps the numbers of earlier releases: StdRng seeded by the
    // draw's seed, through rand_distr.
    let dev = Cpu::seeded(42);
    let seed = Cpu::seeded(42).next_seed();
    let x: Tensor<(u!(100),), f64> = Tensor::randn(Default::default(), 0.5, 2.0, &dev);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let d = rand_distr::Normal::new(0.5, 2.0).unwrap();
    let want: Vec<f64> = (0..100).map(|_| d.sample(&mut rng)).collect();
    assert_eq!(x.to_vec(), want);

    let seed = dev.next_seed();
    let dev2 = Cpu::seeded(42);
    let _ = dev2.next_seed();
    let u: Tensor<(u!(50),), f32> = Tensor::rand_uniform(Default::default(), -1.0, 1.0, &dev2);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let d = rand_distr::Uniform::new(-1.0f64, 1.0).unwrap();
    let want: Vec<f32> = (0..50).map(|_| d.sample(&mut rng) as f32).collect();
    assert_eq!(u.to_vec(), want);

    let m = RandomKernel::<f64>::dropout_mask(&dev, 1000, 0.3, 99);
    let mut rng = rand::rngs::StdRng::seed_from_u64(99);
    let threshold = (0.3f64 * 4_294_967_296.0).round() as u64;
    let want: Vec<f64> = (0..1000)
        .map(|_| {
            if (rng.next_u32() as u64) < threshold {
                0.0
            } else {
                1.0 / 0.7
            }
        })
        .collect();
    assert_eq!(m.to_vec(), want);
}

#[test]
fn cpu_random_kernel_moments() {
    let dev = Cpu::default();
    let z = RandomKernel::<f64>::normal(&dev, 100_000, -1.0, 3.0, 5);
    let (m, v) = stats(&z);
    assert!((m + 1.0).abs() < 0.05 && (v - 9.0).abs() < 0.2, "{m} {v}");
    let u = RandomKernel::<f64>::uniform(&dev, 100_000, 2.0, 4.0, 6);
    let (m, v) = stats(&u);
    assert!(
        (m - 3.0).abs() < 0.01 && (v - 1.0 / 3.0).abs() < 0.01,
        "{m} {v}"
    );
    assert!(u.iter().all(|x| (2.0..4.0).contains(x)));
}

#[test]
fn dropout_layer_uses_the_device_mask() {
    // Dropout multiplies by the device's mask for the next seed.
    let dev = Cpu::seeded(8);
    let x: Tensor<(u!(64),), f64> = Tensor::ones(Default::default(), &dev);
    let y = typegrad::nn::Module::forward(&typegrad::nn::Dropout::new(0.25), x.trace());
    let seed = Cpu::seeded(8).next_seed();
    let want = RandomKernel::<f64>::dropout_mask(&Cpu::default(), 64, 0.25, seed);
    assert_eq!(y.to_vec(), want.to_vec());
}
