// A Vec of blocks whose block does not map its input shape to itself.
use typegrad::nn::{Linear, Module};
use typegrad::prelude::*;

fn main() {
    let dev = Cpu::default();
    let blocks: Vec<Linear<u!(16), u!(32)>> = (0..3).map(|_| Linear::new(&dev)).collect();
    let x: Tensor<(Dyn, u!(16))> = Tensor::zeros((Dyn(8), Default::default()), &dev);
    let _y = blocks.forward(x);
}
