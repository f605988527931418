// A projection shortcut whose output (24 features) disagrees with the
// residual path's (32 features).
use typegrad::nn::{Linear, Module, ReLU, ResidualProjection};
use typegrad::prelude::*;

fn main() {
    let dev = Cpu::default();
    let block = ResidualProjection {
        residual: (Linear::<u!(16), u!(32)>::new(&dev), ReLU),
        downsample: Linear::<u!(16), u!(24)>::no_bias(&dev),
    };
    let x: Tensor<(Dyn, u!(16))> = Tensor::zeros((Dyn(8), Default::default()), &dev);
    let _y = block.forward(x);
}
