// A decoder's cross-attention block for a model dim of 64 given an
// encoder memory of 48 features.
use typegrad::nn::{CrossAttentionBlock, Module};
use typegrad::prelude::*;

fn main() {
    let dev = Cpu::default();
    let block: CrossAttentionBlock<u!(64), u!(4)> = CrossAttentionBlock::new(&dev);
    let y: Tensor<(Dyn, Dyn, u!(64))> = Tensor::zeros((Dyn(2), Dyn(5), Default::default()), &dev);
    let memory: Tensor<(Dyn, Dyn, u!(48))> = Tensor::zeros((Dyn(2), Dyn(9), Default::default()), &dev);
    let _z = block.forward((y, memory));
}
