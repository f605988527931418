// A transposed convolution whose padding removes its whole output: input 1,
// kernel 2, stride 1 gives (1-1)·1 + 2 = 2 before padding, and padding 1 on
// each side takes 2 away.
use typegrad::nn::{ConvTranspose2d, Module};
use typegrad::prelude::*;

fn main() {
    let dev = Cpu::default();
    let up: ConvTranspose2d<u!(4), u!(2), u!(2), u!(1), u!(1)> = ConvTranspose2d::new(&dev);
    let x: Tensor<(Dyn, u!(4), u!(1), u!(1))> =
        Tensor::zeros((Dyn(1), Default::default(), Default::default(), Default::default()), &dev);
    let _y = up.forward(x);
}
