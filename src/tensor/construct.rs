//! Constructors: filled, from host data (shape-checked), seeded random.

use super::Tensor;
use crate::autograd::{NoTape, TensorId};
use crate::backend::random::RandomKernel;
use crate::backend::Backend;
use crate::dtype::{Dtype, Elem};
use crate::shape::{Error, Shape};
use alloc::vec::Vec;

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

    /// All elements equal to `v`. Panics if the element count overflows
    /// `usize` (see [`Tensor::try_full`]).
    #[track_caller]
    pub fn full(shape: S, v: E, device: &D) -> Self {
        Self::try_full(shape, v, device).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Fallible form of [`Tensor::full`]: a shape whose element count
    /// overflows `usize` (huge `Dyn` dims) is [`Error::NumelOverflow`],
    /// naming the dims, rather than a wrong count.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let e = Tensor::<(Dyn, Dyn), f32>::try_full((Dyn(1 << 40), Dyn(1 << 40)), 0.0, &Cpu::default()).unwrap_err();
    /// assert_eq!(e.to_string(), "full: the element count of shape [1099511627776, 1099511627776] overflows usize");
    /// ```
    pub fn try_full(shape: S, v: E, device: &D) -> Result<Self, Error> {
        let n = shape.try_numel("full")?;
        Ok(Self::new_untracked(shape, device.full(n, v), device))
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
        let n = shape.try_numel("from_vec")?;
        if data.len() != n {
            return Err(Error::NumelMismatch {
                op: "from_vec",
                got: data.len(),
                expected: n,
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

    /// Values borrowed from data that lives for the whole program (a
    /// `static`, a checkpoint embedded in flash): on the CPU the tensor
    /// reads `data` in place, with no copy and no allocation, and copies it
    /// only if it is ever written (an optimizer step); other devices copy
    /// it ([`Backend::upload_static`]). The length must equal the shape's
    /// element count (else [`Error::NumelMismatch`]).
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// static W: [f32; 4] = [1.0, 2.0, 3.0, 4.0];
    /// let dev = Cpu::default();
    /// let w = Tensor::<(u!(2), u!(2)), f32>::try_from_static_slice(Default::default(), &W, &dev).unwrap();
    /// assert!(w.storage().is_borrowed() && w.storage().as_ptr() == W.as_ptr());
    /// assert_eq!(w.clone().sum().to_vec(), vec![10.0]);
    /// let e = Tensor::<(u!(3),), f32>::try_from_static_slice(Default::default(), &W, &dev).unwrap_err();
    /// assert!(e.to_string().contains("got 4 elements, the shape needs 3"));
    /// ```
    pub fn try_from_static_slice(shape: S, data: &'static [E], device: &D) -> Result<Self, Error> {
        let n = shape.try_numel("from_static_slice")?;
        if data.len() != n {
            return Err(Error::NumelMismatch {
                op: "from_static_slice",
                got: data.len(),
                expected: n,
            });
        }
        Ok(Self::new_untracked(
            shape,
            device.upload_static(data),
            device,
        ))
    }

    /// Panicking form of [`Tensor::try_from_static_slice`].
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// static B: [f64; 2] = [0.5, -0.5];
    /// let b = Tensor::<(u!(2),), f64>::from_static_slice(Default::default(), &B, &Cpu::default());
    /// assert_eq!(b.to_vec(), B.to_vec());
    /// ```
    #[track_caller]
    pub fn from_static_slice(shape: S, data: &'static [E], device: &D) -> Self {
        Self::try_from_static_slice(shape, data, device).unwrap_or_else(|e| panic!("{e}"))
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
    /// All zeros. Panics if the element count overflows `usize`.
    #[track_caller]
    pub fn zeros(shape: S, device: &D) -> Self {
        Self::full(shape, E::zero(), device)
    }

    /// Fallible form of [`Tensor::zeros`] ([`Error::NumelOverflow`]).
    pub fn try_zeros(shape: S, device: &D) -> Result<Self, Error> {
        Self::try_full(shape, E::zero(), device)
    }

    /// All ones. Panics if the element count overflows `usize`.
    #[track_caller]
    pub fn ones(shape: S, device: &D) -> Self {
        Self::full(shape, E::one(), device)
    }

    /// Fallible form of [`Tensor::ones`] ([`Error::NumelOverflow`]).
    pub fn try_ones(shape: S, device: &D) -> Result<Self, Error> {
        Self::try_full(shape, E::one(), device)
    }
}

impl<S: Shape, E: Dtype, D: Backend + RandomKernel<E>> Tensor<S, E, D, NoTape> {
    /// Normal samples with the given mean and standard deviation, from the
    /// device's seeded stream, drawn on the device ([`RandomKernel::normal`]).
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let dev = Cpu::seeded(1);
    /// let x: Tensor<(u!(4096),), f64> = Tensor::randn(Default::default(), 1.0, 2.0, &dev);
    /// let m = x.to_vec().iter().sum::<f64>() / 4096.0;
    /// assert!((m - 1.0).abs() < 0.15);
    /// ```
    pub fn randn(shape: S, mean: f64, std: f64, device: &D) -> Self {
        assert!(
            std.is_finite() && std >= 0.0,
            "randn: std must be finite and >= 0"
        );
        let seed = device.next_seed();
        let n = shape.try_numel("randn").unwrap_or_else(|e| panic!("{e}"));
        Self::new_untracked(shape, device.normal(n, mean, std, seed), device)
    }

    /// Uniform samples in `[lo, hi)`, from the device's seeded stream, drawn
    /// on the device ([`RandomKernel::uniform`]).
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let x: Tensor<(u!(100),), f32> = Tensor::rand_uniform(Default::default(), -1.0, 1.0, &Cpu::seeded(2));
    /// assert!(x.to_vec().iter().all(|v| (-1.0..1.0).contains(v)));
    /// ```
    pub fn rand_uniform(shape: S, lo: f64, hi: f64, device: &D) -> Self {
        assert!(lo < hi, "rand_uniform: need lo < hi, got {lo} >= {hi}");
        assert!(
            lo.is_finite() && hi.is_finite(),
            "rand_uniform: bounds must be finite"
        );
        let seed = device.next_seed();
        let n = shape
            .try_numel("rand_uniform")
            .unwrap_or_else(|e| panic!("{e}"));
        Self::new_untracked(shape, device.uniform(n, lo, hi, seed), device)
    }
}
