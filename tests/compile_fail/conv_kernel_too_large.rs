// A 5x5 kernel with padding 1 on a 2x2 image (2 + 2 < 5).
use typegrad::nn::{Conv2d, Module};
use typegrad::prelude::*;

fn main() {
    let dev = Cpu::default();
    let conv: Conv2d<u!(1), u!(6), u!(5), u!(1), u!(1)> = Conv2d::new(&dev);
    let x: Tensor<(Dyn, u!(1), u!(2), u!(2))> = Tensor::zeros((Dyn(8), Default::default(), Default::default(), Default::default()), &dev);
    let _y = conv.forward(x);
}
