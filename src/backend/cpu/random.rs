//! [`RandomKernel`] on the CPU: `StdRng` streams seeded by the draw's seed
//! (the numbers `Tensor::randn`, `Tensor::rand_uniform` and the dropout
//! layers have always drawn).

use super::{Cpu, CpuStorage};
use crate::backend::random::{dropout_scale, dropout_threshold, RandomKernel};
use crate::dtype::Dtype;
use alloc::vec::Vec;
use rand::{RngCore, SeedableRng};
use rand_distr::Distribution;

impl<E: Dtype> RandomKernel<E> for Cpu {
    fn normal(&self, n: usize, mean: f64, std: f64, seed: u64) -> CpuStorage<E> {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let dist = rand_distr::Normal::new(mean, std).expect("randn: std must be finite and >= 0");
        CpuStorage::new((0..n).map(|_| E::from_f64(dist.sample(&mut rng))).collect())
    }

    fn uniform(&self, n: usize, lo: f64, hi: f64, seed: u64) -> CpuStorage<E> {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let dist = rand_distr::Uniform::new(lo, hi).expect("rand_uniform: bounds must be finite");
        CpuStorage::new((0..n).map(|_| E::from_f64(dist.sample(&mut rng))).collect())
    }

    fn dropout_mask(&self, n: usize, p: f64, seed: u64) -> CpuStorage<E> {
        assert!(
            (0.0..=1.0).contains(&p),
            "dropout: the rate p must be in [0, 1], got {p}"
        );
        let threshold = dropout_threshold(p);
        let keep = dropout_scale::<E>(p);
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let mask: Vec<E> = (0..n)
            .map(|_| {
                if (rng.next_u32() as u64) < threshold {
                    E::zero()
                } else {
                    keep
                }
            })
            .collect();
        CpuStorage::new(mask)
    }
}
