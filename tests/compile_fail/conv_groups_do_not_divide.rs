// 4 groups cannot split 6 output channels.
use typegrad::nn::Conv2d;
use typegrad::prelude::*;

fn main() {
    let dev = Cpu::default();
    let _conv: Conv2d<u!(8), u!(6), u!(3), u!(1), u!(1), u!(1), u!(4)> = Conv2d::new(&dev);
}
