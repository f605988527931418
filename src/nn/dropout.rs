//! [`Dropout`]: random zeroing in training, the identity in evaluation,
//! decided by the input's tape; [`Dropout1d`] and [`Dropout2d`] zero whole
//! channels.

use super::{Module, ParamMut, ParamPath, ParamRef, Params};
use crate::autograd::Tracking;
use crate::backend::random::RandomKernel;
use crate::backend::{Backend, Device};
use crate::dtype::Dtype;
use crate::ops::binary::BinaryOp;
use crate::ops::pool::GlobalPoolShape;
use crate::shape::{Error, Shape};
use crate::tensor::{op_result, Tensor};

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
    /// The mask for `n` elements, drawn on the device
    /// ([`RandomKernel::dropout_mask`]).
    fn mask<E: Dtype, D: RandomKernel<E>>(&self, n: usize, device: &D) -> D::Storage<E> {
        let p = self.p;
        assert!(
            (0.0..=1.0).contains(&p),
            "dropout: the rate p must be in [0, 1], got {p}"
        );
        device.dropout_mask(n, p, device.next_seed())
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

/// Dropout of whole channels: one draw per `(batch, channel)` (per channel
/// when unbatched), the channel's every spatial position zeroed or scaled
/// by `1 / (1 - p)` together. `spatial` trailing axes form a channel.
fn channel_dropout<S: Shape, E: Dtype, D: Device<E>, T: Tracking<E, D>>(
    p: f64,
    x: Tensor<S, E, D, T>,
    spatial: usize,
) -> Tensor<S, E, D, T> {
    if p == 0.0 || !x.tape.mode().is_train() {
        return x;
    }
    let dims = x.shape.dims();
    let split = dims.len() - spatial;
    // Sub-products of a tensor that exists: no overflow unless one of them
    // is zero, and then the other is irrelevant.
    let planes: usize = dims[..split].iter().product();
    let plane: usize = x.numel().checked_div(planes).unwrap_or(0);
    let mask = Dropout { p }.mask::<E, D>(planes, &x.device);
    let (xd, md) = ([planes, plane], [planes, 1]);
    let y = x
        .device
        .binary(BinaryOp::Mul, &x.data, &xd, &mask, &md, &xd);
    let (x, tape) = x.split_tape();
    let dev = x.device.clone();
    let x_id = x.id;
    op_result(x.shape, y, dev.clone(), tape, move |g, gy| {
        let gx = dev.binary(BinaryOp::Mul, gy, &xd, &mask, &md, &xd);
        g.accumulate(x_id, gx);
    })
}

macro_rules! channel_dropout_layer {
    ($(#[$doc:meta])* $name:ident, $spatial:literal, $op:literal) => {
        $(#[$doc])*
        #[derive(Copy, Clone, Debug, PartialEq)]
        pub struct $name {
            /// The probability of zeroing a channel, in `[0, 1]`.
            pub p: f64,
        }

        impl Default for $name {
            /// `p = 0.5`, as PyTorch.
            fn default() -> Self {
                $name { p: 0.5 }
            }
        }

        impl $name {
            /// The layer with rate `p`; panics unless `0 <= p <= 1` (see
            /// the `try_new` form).
            #[track_caller]
            pub fn new(p: f64) -> Self {
                Self::try_new(p).unwrap_or_else(|e| panic!("{e}"))
            }

            /// The layer with rate `p`, or an error unless `0 <= p <= 1`.
            pub fn try_new(p: f64) -> Result<Self, Error> {
                if (0.0..=1.0).contains(&p) {
                    Ok($name { p })
                } else {
                    Err(Error::Invalid(concat!($op, ": the rate p must be in [0, 1]")))
                }
            }
        }

        /// One forward for every tape: whole channels dropped in a training
        /// mode, the identity in evaluation (as [`Dropout`]).
        impl<S: GlobalPoolShape<$spatial>, E: Dtype, D: Device<E>, T: Tracking<E, D>>
            Module<Tensor<S, E, D, T>> for $name
        {
            type Output = Tensor<S, E, D, T>;
            fn forward(&self, x: Tensor<S, E, D, T>) -> Self::Output {
                channel_dropout(self.p, x, $spatial)
            }
        }

        /// No parameters.
        impl<E: Dtype, D: Backend> Params<E, D> for $name {
            fn visit_params(&self, _: &mut ParamPath, _: &mut dyn FnMut(&ParamPath, ParamRef<'_, E, D>)) {}
            fn visit_params_mut(
                &mut self,
                _: &mut ParamPath,
                _: &mut dyn FnMut(&ParamPath, ParamMut<'_, E, D>),
            ) {
            }
        }

        impl super::chain::FeatureMap for $name {
            type Kind = super::chain::Keeps;
        }
    };
}

channel_dropout_layer!(
    /// Channel dropout for images (PyTorch's `nn.Dropout2d(p)`): in
    /// training each channel of `(B, C, H, W)` (of `(C, H, W)` when
    /// unbatched) is zeroed with probability `p` as a whole, and the kept
    /// channels are scaled by `1 / (1 - p)`; in evaluation it is the
    /// identity. Train vs eval is the input's [`Mode`](crate::autograd::Mode),
    /// exactly as for [`Dropout`]; the backward multiplies by the same mask.
    ///
    /// A rank-3 input is `(C, H, W)`, as PyTorch documents for
    /// `nn.Dropout2d`; PyTorch's functional form still treats it as
    /// `(N, C, L)` with a deprecation warning: use [`Dropout1d`] for that.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::nn::{Dropout2d, Module};
    /// let dev = Cpu::seeded(1);
    /// let x: Tensor<(u!(4), u!(16), u!(3), u!(3)), f32> = Tensor::ones(Default::default(), &dev);
    /// let y = Dropout2d::new(0.5).forward(x.clone().trace()).to_vec();
    /// // Each 3x3 channel is all zeros or all 2.0.
    /// for ch in y.chunks(9) {
    ///     assert!(ch.iter().all(|&v| v == 0.0) || ch.iter().all(|&v| v == 2.0));
    /// }
    /// assert_eq!(Dropout2d::new(0.5).forward(x.clone()).to_vec(), x.to_vec()); // evaluation
    /// ```
    Dropout2d,
    2,
    "dropout2d"
);

channel_dropout_layer!(
    /// Channel dropout for sequences (PyTorch's `nn.Dropout1d(p)`): in
    /// training each channel of `(B, C, L)` (of `(C, L)` when unbatched)
    /// is zeroed with probability `p` as a whole, and the kept channels
    /// are scaled by `1 / (1 - p)`; in evaluation it is the identity (see
    /// [`Dropout2d`]).
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::nn::{Dropout1d, Module};
    /// let x: Tensor<(u!(8), u!(5)), f64> = Tensor::ones(Default::default(), &Cpu::seeded(3));
    /// let y = Dropout1d::new(0.25).forward(x.trace()).to_vec();
    /// for ch in y.chunks(5) {
    ///     assert!(ch.iter().all(|&v| v == 0.0) || ch.iter().all(|&v| (v - 4.0 / 3.0).abs() < 1e-12));
    /// }
    /// ```
    Dropout1d,
    1,
    "dropout1d"
);
