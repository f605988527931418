// An RGB conv fed a grey-scale image.
use typegrad::nn::{Conv2d, Module};
use typegrad::prelude::*;

fn main() {
    let dev = Cpu::default();
    let conv: Conv2d<u!(3), u!(16), u!(3)> = Conv2d::new(&dev);
    let x: Tensor<(Dyn, u!(1), u!(28), u!(28))> = Tensor::zeros((Dyn(8), Default::default(), Default::default(), Default::default()), &dev);
    let _y = conv.forward(x);
}
