//! Constructors: filled, from host data (shape-checked), seeded random.

use super::Tensor;
use crate::autograd::{NoTape, TensorId};
use crate::backend::Backend;
use crate::dtype::{Dtype, Elem};
use crate::shape::{Error, Shape};
use alloc::vec::Vec;
use rand::SeedableRng;
use rand_distr::Distribution;

impl<S: Shape, E: Elem, D: Backend> Tensor<S, E, D, NoTape> {
    fn new_untracked(shape: S, data: D::Storage<E>, device: &D) -> Self {
        Tensor {
            id: TensorId::new(),
            shape,
            data,
            device: device.clone(),
            tape: NoTape,
        }
    }

    /// All elements equal to `v`.
    pub fn full(shape: S, v: E, device: &D) -> Self {
        Self::new_untracked(shape, device.full(shape.numel(), v), device)
    }

    /// Values from a `Vec`, row-major; the length must equal the shape's
    /// element count (else [`Error::NumelMismatch`]).
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let r = Tensor::<(Dyn, u!(2)), f32>::try_from_vec((Dyn(2), Default::default()), vec![1.0; 3], &Cpu::default());
    /// assert!(r.unwrap_err().to_string().contains("got 3 elements, the shape needs 4"));
    /// ```
    pub fn try_from_vec(shape: S, data: Vec<E>, device: &D) -> Result<Self, Error> {
        if data.len() != shape.numel() {
            return Err(Error::NumelMismatch {
                op: "from_vec",
                got: data.len(),
                expected: shape.numel(),
            });
        }
        Ok(Self::new_untracked(shape, device.upload(data), device))
    }

    /// Panicking form of [`Tensor::try_from_vec`].
    #[track_caller]
    pub fn from_vec(shape: S, data: Vec<E>, device: &D) -> Self {
        Self::try_from_vec(shape, data, device).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Values copied from a slice (length checked).
    #[track_caller]
    pub fn from_slice(shape: S, data: &[E], device: &D) -> Self {
        Self::from_vec(shape, data.to_vec(), device)
    }

    /// Values from a fixed-size array.
    #[track_caller]
    pub fn from_array<const N: usize>(shape: S, data: [E; N], device: &D) -> Self {
        Self::from_vec(shape, data.to_vec(), device)
    }

    /// The shape is `S::default()` (all-static shapes).
    #[track_caller]
    pub fn from_vec_static(data: Vec<E>, device: &D) -> Self
    where
        S: Default,
    {
        Self::from_vec(S::default(), data, device)
    }
}

impl<S: Shape, E: Dtype, D: Backend> Tensor<S, E, D, NoTape> {
    /// All zeros.
    pub fn zeros(shape: S, device: &D) -> Self {
        Self::full(shape, E::zero(), device)
    }

    /// All ones.
    pub fn ones(shape: S, device: &D) -> Self {
        Self::full(shape, E::one(), device)
    }

    /// Normal samples with the given mean and standard deviation, from the
    /// device's seeded stream.
    pub fn randn(shape: S, mean: f64, std: f64, device: &D) -> Self {
        let mut rng = rand::rngs::StdRng::seed_from_u64(device.next_seed());
        let dist = rand_distr::Normal::new(mean, std).expect("randn: std must be finite and >= 0");
        let data = (0..shape.numel())
            .map(|_| E::from_f64(dist.sample(&mut rng)))
            .collect();
        Self::from_vec(shape, data, device)
    }

    /// Uniform samples in `[lo, hi)`, from the device's seeded stream.
    pub fn rand_uniform(shape: S, lo: f64, hi: f64, device: &D) -> Self {
        assert!(lo < hi, "rand_uniform: need lo < hi, got {lo} >= {hi}");
        let mut rng = rand::rngs::StdRng::seed_from_u64(device.next_seed());
        let dist = rand_distr::Uniform::new(lo, hi).expect("rand_uniform: bounds must be finite");
        let data = (0..shape.numel())
            .map(|_| E::from_f64(dist.sample(&mut rng)))
            .collect();
        Self::from_vec(shape, data, device)
    }
}
