//! CPU kernels for indexing and masks. (Being written.)
use super::Cpu;
use crate::ops::index::{CmpOp, IndexKernel};
use crate::shape::Error;
use alloc::sync::Arc;
use alloc::vec::Vec;
macro_rules! imp { ($($e:ty),*) => {$(
impl IndexKernel<$e> for Cpu {
    fn index_select(&self, _x: &Arc<Vec<$e>>, _dims: &[usize], _axis: usize, _idx: &Arc<Vec<usize>>) -> Result<Arc<Vec<$e>>, Error> { todo!() }
    fn index_select_backward(&self, _gy: &Arc<Vec<$e>>, _dims: &[usize], _axis: usize, _idx: &Arc<Vec<usize>>) -> Arc<Vec<$e>> { todo!() }
    fn gather(&self, _x: &Arc<Vec<$e>>, _dims: &[usize], _axis: usize, _idx: &Arc<Vec<usize>>) -> Result<Arc<Vec<$e>>, Error> { todo!() }
    fn gather_backward(&self, _gy: &Arc<Vec<$e>>, _dims: &[usize], _axis: usize, _idx: &Arc<Vec<usize>>) -> Arc<Vec<$e>> { todo!() }
    fn where_cond(&self, _c: &Arc<Vec<bool>>, _a: &Arc<Vec<$e>>, _b: &Arc<Vec<$e>>) -> Arc<Vec<$e>> { todo!() }
    fn where_backward(&self, _c: &Arc<Vec<bool>>, _gy: &Arc<Vec<$e>>) -> (Arc<Vec<$e>>, Arc<Vec<$e>>) { todo!() }
    fn compare(&self, _op: CmpOp, _a: &Arc<Vec<$e>>, _b: &Arc<Vec<$e>>) -> Arc<Vec<bool>> { todo!() }
    fn compare_scalar(&self, _op: CmpOp, _a: &Arc<Vec<$e>>, _v: $e) -> Arc<Vec<bool>> { todo!() }
}
)*}; }
imp!(f32, f64);
