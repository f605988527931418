//! CPU kernels for reductions and softmax. (Being written.)
use super::Cpu;
use crate::ops::reduce::{ReduceKernel, ReduceOp};
use alloc::sync::Arc;
use alloc::vec::Vec;
macro_rules! imp { ($($e:ty),*) => {$(
impl ReduceKernel<$e> for Cpu {
    fn reduce(&self, _op: ReduceOp, _x: &Arc<Vec<$e>>, _dims: &[usize], _axis: Option<usize>) -> Arc<Vec<$e>> { todo!() }
    fn reduce_backward(&self, _op: ReduceOp, _x: &Arc<Vec<$e>>, _y: &Arc<Vec<$e>>, _gy: &Arc<Vec<$e>>, _dims: &[usize], _axis: Option<usize>) -> Arc<Vec<$e>> { todo!() }
    fn sum_to(&self, _x: &Arc<Vec<$e>>, _from: &[usize], _to: &[usize]) -> Arc<Vec<$e>> { todo!() }
    fn softmax(&self, _x: &Arc<Vec<$e>>, _dims: &[usize], _axis: usize, _log: bool) -> Arc<Vec<$e>> { todo!() }
    fn softmax_backward(&self, _y: &Arc<Vec<$e>>, _gy: &Arc<Vec<$e>>, _dims: &[usize], _axis: usize, _log: bool) -> Arc<Vec<$e>> { todo!() }
}
)*}; }
imp!(f32, f64);
