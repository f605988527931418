// Learned positions of width 64 added to 32-feature tokens, at an offset.
use typegrad::nn::LearnedPositionalEmbedding;
use typegrad::prelude::*;

fn main() {
    let dev = Cpu::default();
    let pos: LearnedPositionalEmbedding<u!(128), u!(64)> = LearnedPositionalEmbedding::new(&dev);
    let x: Tensor<(Dyn, u!(32))> = Tensor::zeros((Dyn(10), Default::default()), &dev);
    let _y = pos.forward_at(x, 5);
}
