// An array of blocks whose block does not map its input shape to itself.
use typegrad::nn::{Linear, Module};
use typegrad::prelude::*;

fn main() {
    let dev = Cpu::default();
    let blocks: [Linear<u!(16), u!(32)>; 2] = [Linear::new(&dev), Linear::new(&dev)];
    let x: Tensor<(Dyn, u!(5), u!(16))> = Tensor::zeros((Dyn(8), Default::default(), Default::default()), &dev);
    let _y = blocks.forward(x);
}
