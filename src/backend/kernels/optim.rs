//! The optimizer kernel trait ([`OptimKernel`]) and its step descriptors:
//! fused, in-place elementwise updates on device buffers. One pass over the parameter, its gradient and its state per step,
//! with no intermediate tensors and nothing copied to the host.

use crate::backend::Backend;
use crate::dtype::Dtype;

/// Hyper-parameters of one SGD update, already converted to the element type.
///
/// ```
/// use typegrad::backend::kernels::optim::SgdStep;
/// let s = SgdStep { lr: 0.1f32, momentum: 0.0, dampening: 0.0, nesterov: false, weight_decay: 0.0, first: true };
/// assert_eq!(s.lr, 0.1);
/// ```
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct SgdStep<E> {
    /// Learning rate.
    pub lr: E,
    /// Momentum factor (`0` for plain SGD; then no buffer is passed).
    pub momentum: E,
    /// Dampening of the gradient added to the momentum buffer.
    pub dampening: E,
    /// Nesterov momentum.
    pub nesterov: bool,
    /// L2 penalty added to the gradient (`g + wd · p`).
    pub weight_decay: E,
    /// The momentum buffer holds no history yet: it is set to the gradient
    /// (PyTorch's first step), whatever it contains.
    pub first: bool,
}

/// Hyper-parameters of one Adam/AdamW update, with the bias corrections of
/// this step folded in (computed in `f64` by the optimizer, as PyTorch does
/// in Python floats).
///
/// ```
/// use typegrad::backend::kernels::optim::AdamStep;
/// let s = AdamStep { lr: 1e-3f64, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0,
///     decoupled: false, step_size: 1e-3 / 0.1, bias_correction2_sqrt: 0.001f64.sqrt() };
/// assert!(!s.decoupled);
/// ```
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct AdamStep<E> {
    /// Learning rate.
    pub lr: E,
    /// Decay of the first moment.
    pub beta1: E,
    /// Decay of the second moment.
    pub beta2: E,
    /// Added to the denominator.
    pub eps: E,
    /// Weight decay: L2 on the gradient (Adam) or decoupled (AdamW).
    pub weight_decay: E,
    /// `true`: AdamW's `p ← p · (1 - lr · wd)` before the update; `false`:
    /// Adam's `g ← g + wd · p`.
    pub decoupled: bool,
    /// `lr / (1 - β₁ᵗ)`.
    pub step_size: E,
    /// `√(1 - β₂ᵗ)`.
    pub bias_correction2_sqrt: E,
}

/// Fused optimizer updates, one kernel per optimizer, generic over the dtype
/// only. Buffers passed as `&mut` are updated in place (a backend whose
/// storage is shared copies it first: other holders never see the change).
///
/// ```
/// use typegrad::prelude::*;
/// use typegrad::backend::kernels::optim::{OptimKernel, SgdStep};
/// let dev = Cpu::default();
/// let mut p = dev.upload(vec![1.0f64, 2.0]);
/// let g = dev.upload(vec![0.5f64, -1.0]);
/// let cfg = SgdStep { lr: 0.1, momentum: 0.0, dampening: 0.0, nesterov: false, weight_decay: 0.0, first: true };
/// dev.sgd_update(&mut p, &g, None, &cfg);
/// assert_eq!(dev.download(&p), vec![0.95, 2.1]);
/// ```
pub trait OptimKernel<E: Dtype>: Backend {
    /// One SGD step (PyTorch semantics):
    /// `g ← g + wd·p`; with momentum `buf ← μ·buf + (1-τ)·g` (`buf ← g` on
    /// the first step), `g ← g + μ·buf` (Nesterov) or `g ← buf`;
    /// `p ← p - lr·g`. `momentum_buf` is `None` exactly when `momentum == 0`.
    fn sgd_update(
        &self,
        param: &mut Self::Storage<E>,
        grad: &Self::Storage<E>,
        momentum_buf: Option<&mut Self::Storage<E>>,
        cfg: &SgdStep<E>,
    );

    /// One Adam/AdamW step (PyTorch semantics):
    /// `m ← β₁m + (1-β₁)g`, `v ← β₂v + (1-β₂)g²`,
    /// `p ← p - step_size · m / (√v / √(1-β₂ᵗ) + ε)`, with weight decay as
    /// [`AdamStep::decoupled`] says.
    fn adam_update(
        &self,
        param: &mut Self::Storage<E>,
        grad: &Self::Storage<E>,
        m: &mut Self::Storage<E>,
        v: &mut Self::Storage<E>,
        cfg: &AdamStep<E>,
    );

    /// `Σ xᵢ²` (accumulated in `f64`), for gradient-norm clipping.
    fn sum_squares(&self, x: &Self::Storage<E>) -> f64;

    /// `x ← x · factor`, in place.
    fn scale_assign(&self, x: &mut Self::Storage<E>, factor: E);
}
