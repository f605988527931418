// A BatchNorm2d for 64 channels fed a 32-channel image batch.
use typegrad::nn::BatchNorm2d;
use typegrad::prelude::*;

fn main() {
    let dev = Cpu::default();
    let bn: BatchNorm2d<u!(64)> = BatchNorm2d::new(&dev);
    let x: Tensor<(Dyn, u!(32), u!(8), u!(8))> =
        Tensor::zeros((Dyn(2), Default::default(), Default::default(), Default::default()), &dev);
    let _y = bn.forward(x);
}
