//! Elementwise binary ops with numpy broadcasting: add, sub, mul, div,
//! maximum, minimum. Shapes broadcast at the type level
//! ([`BroadcastShape`]); a static mismatch is a compile error, a `Dyn`
//! mismatch a runtime [`Error`].

mod arith;
mod minmax;

pub use crate::backend::kernels::binary::{BinaryKernel, BinaryOp};

use crate::autograd::{Merge, Tracking};
use crate::backend::Device;
use crate::dtype::Dtype;
use crate::shape::{BroadcastShape, Error, Shape};
use crate::tensor::{op_result, Tensor};

impl<S: Shape, E: Dtype, D: Device<E>, T: Tracking<E, D>> Tensor<S, E, D, T> {
    /// Apply a broadcasting binary op and record its backward.
    pub(crate) fn try_binary_op<S2: Shape, T2>(
        self,
        op: BinaryOp,
        rhs: Tensor<S2, E, D, T2>,
    ) -> Result<Tensor<S::Output, E, D, <T as Merge<T2>>::Output>, Error>
    where
        S: BroadcastShape<S2>,
        T: Merge<T2>,
        T2: Tracking<E, D>,
        <T as Merge<T2>>::Output: Tracking<E, D>,
    {
        let out_shape = self.shape.broadcast_shape(&rhs.shape)?;
        let (ad, bd, od) = (self.shape.dims(), rhs.shape.dims(), out_shape.dims());
        let y = self.device.binary(op, &self.data, &ad, &rhs.data, &bd, &od);
        let (a, ta) = self.split_tape();
        let (b, tb) = rhs.split_tape();
        let tape = ta.merge(tb);
        let dev = a.device.clone();
        if !<<T as Merge<T2>>::Output as Tracking<E, D>>::TRACKED {
            return Ok(op_result(out_shape, y, dev, tape, |_, _| {}));
        }
        // An untracked operand of a tracked op is a leaf (a layer's
        // parameter): its gradient is recorded under its own id.
        let want = (tape.wants_grad(a.id), tape.wants_grad(b.id));
        let (a_id, b_id) = (a.id, b.id);
        let keep = op.reads_operands();
        let a_data = keep.then_some(a.data);
        let b_data = keep.then_some(b.data);
        Ok(op_result(out_shape, y, dev.clone(), tape, move |g, gy| {
            let (ga, gb) = dev.binary_backward(
                op,
                a_data.as_ref(),
                &ad,
                b_data.as_ref(),
                &bd,
                &od,
                gy,
                want,
            );
            if let Some(ga) = ga {
                g.accumulate(a_id, ga);
            }
            if let Some(gb) = gb {
                g.accumulate(b_id, gb);
            }
        }))
    }
}
