// Cross-attention built for a memory of width 6, given a memory of width 8.
use typegrad::nn::{Module, MultiheadAttention};
use typegrad::prelude::*;

fn main() {
    let dev = Cpu::default();
    let mha: MultiheadAttention<u!(16), u!(4), u!(6), u!(6)> = MultiheadAttention::new(&dev);
    let x: Tensor<(Dyn, Dyn, u!(16))> = Tensor::zeros((Dyn(2), Dyn(5), Default::default()), &dev);
    let memory: Tensor<(Dyn, Dyn, u!(8))> = Tensor::zeros((Dyn(2), Dyn(7), Default::default()), &dev);
    let _y = mha.forward((x, memory));
}
