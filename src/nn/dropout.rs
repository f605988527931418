//! [`Dropout`]: random zeroing in training, the identity in evaluation,
//! decided by the input's tape.

use super::{Module, ParamMut, ParamPath, ParamRef, Params};
use crate::autograd::Tracking;
use crate::backend::{Backend, Device};
use crate::dtype::Dtype;
use crate::ops::binary::BinaryOp;
use crate::shape::{Error, Shape};
use crate::tensor::{op_result, Tensor};
use alloc::vec::Vec;
use rand::{RngCore, SeedableRng};

/// Dropout with rate `p`: in training each element is zeroed with
/// probability `p` and the survivors are scaled by `1 / (1 - p)`, so the
/// expectation of every element is unchanged; in evaluation it is the
/// identity.
///
/// **Train vs eval is the input's [`Mode`](crate::autograd::Mode)**, the one mechanism of every
/// typegrad module ([`Module`]): a tensor traced for training
/// (`x.trace()`, `x.trace_no_grad()`) drops; an untracked input (`NoTape`,
/// inference) passes through unchanged, at no cost, and so does a tracked
/// input in `Mode::Eval` (`x.trace().with_mode(Mode::Eval)`: evaluation
/// with input gradients). The forward is written once for every tape.
///
/// The mask is drawn from the device's seeded stream
/// ([`Backend::next_seed`]), so a training run is reproducible from
/// `Cpu::seeded(s)`; the backward multiplies by the same mask.
///
/// ```
/// use typegrad::prelude::*;
/// use typegrad::nn::{Dropout, Module};
/// let dev = Cpu::seeded(0);
/// let drop = Dropout::new(0.5);
/// let x: Tensor<(u!(1000),), f32> = Tensor::ones(Default::default(), &dev);
///
/// // Evaluation (untracked input): the identity.
/// assert_eq!(drop.forward(x.clone()).to_vec(), x.to_vec());
///
/// // Training (tracked input): zeros and 2.0s (scaled by 1 / (1 - 0.5)).
/// let y = drop.forward(x.clone().trace()).to_vec();
/// assert!(y.iter().all(|&v| v == 0.0 || v == 2.0));
/// let zeros = y.iter().filter(|&&v| v == 0.0).count();
/// assert!(400 < zeros && zeros < 600);
/// ```
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Dropout {
    /// The probability of zeroing an element, in `[0, 1]`.
    pub p: f64,
}

impl Default for Dropout {
    /// `p = 0.5`, as PyTorch.
    fn default() -> Self {
        Dropout { p: 0.5 }
    }
}

impl Dropout {
    /// Dropout with rate `p`; panics unless `0 <= p <= 1` (see
    /// [`Dropout::try_new`]).
    ///
    /// ```
    /// use typegrad::nn::Dropout;
    /// assert_eq!(Dropout::new(0.1).p, 0.1);
    /// ```
    #[track_caller]
    pub fn new(p: f64) -> Self {
        Self::try_new(p).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Dropout with rate `p`, or an error unless `0 <= p <= 1`.
    ///
    /// ```
    /// use typegrad::nn::Dropout;
    /// let e = Dropout::try_new(1.5).unwrap_err();
    /// assert_eq!(e.to_string(), "dropout: the rate p must be in [0, 1]");
    /// ```
    pub fn try_new(p: f64) -> Result<Self, Error> {
        if (0.0..=1.0).contains(&p) {
            Ok(Dropout { p })
        } else {
            Err(Error::Invalid("dropout: the rate p must be in [0, 1]"))
        }
    }

    /// The training mask for `n` elements: `0` with probability `p`, else
    /// `1 / (1 - p)` (all zeros for `p = 1`).
    fn mask<E: Dtype, D: Backend>(&self, n: usize, device: &D) -> D::Storage<E> {
        let p = self.p;
        assert!(
            (0.0..=1.0).contains(&p),
            "dropout: the rate p must be in [0, 1], got {p}"
        );
        // A 32-bit draw r is dropped when r < p·2³²: P(drop) = p to 2⁻³².
        let threshold = libm::round(p * 4_294_967_296.0) as u64;
        let keep = if p < 1.0 {
            E::from_f64(1.0 / (1.0 - p))
        } else {
            E::zero()
        };
        let mut rng = rand::rngs::StdRng::seed_from_u64(device.next_seed());
        let mask: Vec<E> = (0..n)
            .map(|_| {
                if (rng.next_u32() as u64) < threshold {
                    E::zero()
                } else {
                    keep
                }
            })
            .collect();
        device.upload(mask)
    }
}

/// One forward for every tape: in a training mode ([`Mode::is_train`](crate::autograd::Mode::is_train)) zero
/// with probability `p` and scale the rest by `1 / (1 - p)`, the backward
/// multiplying the gradient by the same mask; in evaluation the identity.
impl<S: Shape, E: Dtype, D: Device<E>, T: Tracking<E, D>> Module<Tensor<S, E, D, T>> for Dropout {
    type Output = Tensor<S, E, D, T>;
    fn forward(&self, x: Tensor<S, E, D, T>) -> Self::Output {
        if self.p == 0.0 || !x.tape.mode().is_train() {
            return x;
        }
        let dims = x.shape.dims();
        let mask = self.mask::<E, D>(x.numel(), &x.device);
        let y = x
            .device
            .binary(BinaryOp::Mul, &x.data, &dims, &mask, &dims, &dims);
        let (x, tape) = x.split_tape();
        let dev = x.device.clone();
        let x_id = x.id;
        op_result(x.shape, y, dev.clone(), tape, move |g, gy| {
            let gx = dev.binary(BinaryOp::Mul, gy, &dims, &mask, &dims, &dims);
            g.accumulate(x_id, gx);
        })
    }
}

/// No parameters.
impl<E: Dtype, D: Backend> Params<E, D> for Dropout {
    fn visit_params(&self, _: &mut ParamPath, _: &mut dyn FnMut(&ParamPath, ParamRef<'_, E, D>)) {}
    fn visit_params_mut(
        &mut self,
        _: &mut ParamPath,
        _: &mut dyn FnMut(&ParamPath, ParamMut<'_, E, D>),
    ) {
    }
}
