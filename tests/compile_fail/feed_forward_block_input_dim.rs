// A feed-forward block of model dim 64 applied to 32 features.
use typegrad::nn::{FeedForwardBlock, Module};
use typegrad::prelude::*;

fn main() {
    let dev = Cpu::default();
    let ff: FeedForwardBlock<u!(64), u!(256)> = FeedForwardBlock::new(&dev);
    let x: Tensor<(Dyn, Dyn, u!(32))> = Tensor::zeros((Dyn(2), Dyn(5), Default::default()), &dev);
    let _y = ff.forward(x);
}
