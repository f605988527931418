// A down-sampling block whose main path has stride 2 (32x32 -> 16x16) but
// whose projection shortcut was given stride 1 (32x32 stays 32x32).
use typegrad::nn::{BatchNorm2d, Conv2d, Module, ReLU, ResidualProjection};
use typegrad::prelude::*;

fn main() {
    let dev = Cpu::default();
    let block = ResidualProjection {
        residual: (
            Conv2d::<u!(64), u!(128), u!(3), u!(2), u!(1)>::no_bias(&dev),
            BatchNorm2d::<u!(128)>::new(&dev),
            ReLU,
        ),
        downsample: (
            Conv2d::<u!(64), u!(128), u!(1), u!(1)>::no_bias(&dev),
            BatchNorm2d::<u!(128)>::new(&dev),
        ),
    };
    let x: Tensor<(Dyn, u!(64), u!(32), u!(32))> =
        Tensor::zeros((Dyn(2), Default::default(), Default::default(), Default::default()), &dev);
    let _y = block.forward(x);
}
