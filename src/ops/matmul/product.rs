//! `matmul`: the typed matrix product and its backward.

use super::MatMul;
use crate::autograd::{Merge, Tracking};
use crate::backend::Device;
use crate::dtype::Dtype;
use crate::shape::{DimsAgree, Error, Shape};
use crate::tensor::{op_result, Tensor};

impl<S: Shape, E: Dtype, D: Device<E>, T: Tracking<E, D>> Tensor<S, E, D, T> {
    /// Matrix product `self · rhs`.
    ///
    /// The shapes that multiply are listed at [`MatMul`]: `(M, K) · (K, N)`,
    /// batched `(B, M, K) · (B, K, N)`, a batch times one matrix
    /// `(B, M, K) · (K, N)` (a Linear layer; computed as one
    /// `(B·M, K) · (K, N)` product), 4-D attention products
    /// `(B, H, M, K) · (B, H, K, N)` and `(B, H, M, K) · (K, N)`, and the
    /// vector forms `(K,) · (K, N)`, `(M, K) · (K,)` and `(K,) · (K,)`.
    ///
    /// A static mismatch of the contracted or batch dims does not compile
    /// (`dimension mismatch: got N<_4>, expected N<_3>`); a `Dyn` mismatch
    /// panics naming the axis and both sizes (see [`Tensor::try_matmul`]).
    /// Tapes merge as in binary ops. When the result is tracked, the
    /// backward computes the gradient of both operands, an untracked one (a
    /// layer's weight) under its own id, except for inputs traced with
    /// `trace_no_grad`.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let dev = Cpu::default();
    /// let a = Tensor::<(u!(2), u!(3)), f32>::from_vec_static(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &dev);
    /// let b = Tensor::<(u!(3), u!(2)), f32>::from_vec_static(vec![7.0, 8.0, 9.0, 10.0, 11.0, 12.0], &dev);
    /// let c = a.matmul(b); // Tensor<(U2, U2), f32>
    /// assert_eq!(c.to_vec(), vec![58.0, 64.0, 139.0, 154.0]);
    ///
    /// // A batch of rows times a weight matrix, with a Dyn batch.
    /// let x: Tensor<(Dyn, u!(4), u!(3)), f32> = Tensor::ones((Dyn(5), Default::default(), Default::default()), &dev);
    /// let w: Tensor<(u!(3), u!(2)), f32> = Tensor::full(Default::default(), 0.5, &dev);
    /// let y = x.matmul(w); // Tensor<(Dyn, U4, U2), f32>
    /// assert_eq!(y.dims().to_vec(), vec![5, 4, 2]);
    /// assert_eq!(y.to_vec(), vec![1.5; 40]);
    /// ```
    #[track_caller]
    pub fn matmul<S2: Shape, T2: Tracking<E, D>, G: DimsAgree<X>, X>(
        self,
        rhs: Tensor<S2, E, D, T2>,
    ) -> Tensor<<S as MatMul<S2, G, X>>::Output, E, D, <T as Merge<T2>>::Output>
    where
        S: MatMul<S2, G, X>,
        T: Merge<T2>,
        <T as Merge<T2>>::Output: Tracking<E, D>,
    {
        self.try_matmul(rhs).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Fallible form of [`Tensor::matmul`]: a runtime (`Dyn`) mismatch of the
    /// contracted or batch dims is an [`Error::DimMismatch`] naming the axis
    /// of `rhs` and both sizes.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let dev = Cpu::default();
    /// let a: Tensor<(Dyn, Dyn), f64> = Tensor::zeros((Dyn(2), Dyn(3)), &dev);
    /// let b: Tensor<(Dyn, Dyn), f64> = Tensor::zeros((Dyn(4), Dyn(5)), &dev);
    /// let e = a.try_matmul(b).unwrap_err();
    /// assert_eq!(e.to_string(), "matmul: dimension mismatch on axis 0 (rhs rows vs lhs columns): got 4, expected 3");
    /// ```
    pub fn try_matmul<S2: Shape, T2: Tracking<E, D>, G: DimsAgree<X>, X>(
        self,
        rhs: Tensor<S2, E, D, T2>,
    ) -> Result<Tensor<<S as MatMul<S2, G, X>>::Output, E, D, <T as Merge<T2>>::Output>, Error>
    where
        S: MatMul<S2, G, X>,
        T: Merge<T2>,
        <T as Merge<T2>>::Output: Tracking<E, D>,
    {
        let (out_shape, p) = self.shape.matmul_params(&rhs.shape)?;
        let y = self.device.matmul(p, &self.data, &rhs.data);
        let (a, ta) = self.split_tape();
        let (b, tb) = rhs.split_tape();
        let tape = ta.merge(tb);
        let dev = a.device.clone();
        if !<<T as Merge<T2>>::Output as Tracking<E, D>>::TRACKED {
            return Ok(op_result(out_shape, y, dev, tape, |_, _| {}));
        }
        // An untracked operand of a tracked product (a weight) is a leaf:
        // its gradient is recorded under its own id.
        let (want_a, want_b) = (tape.wants_grad(a.id), tape.wants_grad(b.id));
        // dA needs B and dB needs A: keep only what a wanted side needs.
        let a_data = want_b.then_some(a.data);
        let b_data = want_a.then_some(b.data);
        let (a_id, b_id) = (a.id, b.id);
        Ok(op_result(out_shape, y, dev.clone(), tape, move |g, gy| {
            if let Some(b_data) = &b_data {
                let ga = dev.matmul(p.grad_lhs(), gy, b_data);
                g.accumulate(a_id, ga);
            }
            if let Some(a_data) = &a_data {
                let gb = dev.matmul(p.grad_rhs(), a_data, gy);
                g.accumulate(b_id, gb);
            }
        }))
    }
}
