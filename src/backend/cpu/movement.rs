//! CPU kernels for data movement. (Being written.)
use super::Cpu;
use crate::ops::movement::MovementKernel;
use alloc::sync::Arc;
use alloc::vec::Vec;
macro_rules! imp { ($($e:ty),*) => {$(
impl MovementKernel<$e> for Cpu {
    fn permute(&self, _x: &Arc<Vec<$e>>, _dims: &[usize], _perm: &[usize]) -> Arc<Vec<$e>> { todo!() }
    fn expand(&self, _x: &Arc<Vec<$e>>, _from: &[usize], _to: &[usize]) -> Arc<Vec<$e>> { todo!() }
    fn narrow(&self, _x: &Arc<Vec<$e>>, _dims: &[usize], _axis: usize, _start: usize, _len: usize) -> Arc<Vec<$e>> { todo!() }
    fn narrow_backward(&self, _gy: &Arc<Vec<$e>>, _dims: &[usize], _axis: usize, _start: usize, _len: usize) -> Arc<Vec<$e>> { todo!() }
    fn concat(&self, _a: &Arc<Vec<$e>>, _ad: &[usize], _b: &Arc<Vec<$e>>, _bd: &[usize], _axis: usize) -> Arc<Vec<$e>> { todo!() }
}
)*}; }
imp!(f32, f64);
