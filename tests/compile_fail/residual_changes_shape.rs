// A residual whose inner path changes the feature count (16 -> 32).
use typegrad::nn::{Linear, Module, ReLU, Residual};
use typegrad::prelude::*;

fn main() {
    let dev = Cpu::default();
    let block = Residual((Linear::<u!(16), u!(32)>::new(&dev), ReLU));
    let x: Tensor<(Dyn, u!(16))> = Tensor::zeros((Dyn(8), Default::default()), &dev);
    let _y = block.forward(x);
}
