//! CPU MatmulKernel glue. (Being written.)
use super::Cpu;
use crate::ops::matmul::{MatmulKernel, MatmulParams};
use alloc::sync::Arc;
use alloc::vec::Vec;
macro_rules! imp { ($($e:ty),*) => {$(
impl MatmulKernel<$e> for Cpu {
    fn matmul(&self, _p: MatmulParams, _a: &Arc<Vec<$e>>, _b: &Arc<Vec<$e>>) -> Arc<Vec<$e>> { todo!() }
}
)*}; }
imp!(f32, f64);
