// A residual connection around a convolution that turns 8 channels into 16:
// `x + conv(x)` cannot add them.
use typegrad::nn::{BatchNorm2d, Conv2d, Module, Residual};
use typegrad::prelude::*;

fn main() {
    let dev = Cpu::default();
    let block = Residual((
        Conv2d::<u!(8), u!(16), u!(3), u!(1), u!(1)>::new(&dev),
        BatchNorm2d::<u!(16)>::new(&dev),
    ));
    let x: Tensor<(Dyn, u!(8), u!(32), u!(32))> =
        Tensor::zeros((Dyn(2), Default::default(), Default::default(), Default::default()), &dev);
    let _y = block.forward(x);
}
