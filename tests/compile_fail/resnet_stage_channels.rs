// ResNet stages in sequence: the second stage expects 256 input channels,
// the first gives 128.
use typegrad::models::BasicBlockDown;
use typegrad::nn::Module;
use typegrad::prelude::*;

fn main() {
    let dev = Cpu::default();
    let stages = (
        BasicBlockDown::<u!(64), u!(128), u!(2)>::new(&dev),
        BasicBlockDown::<u!(256), u!(512), u!(2)>::new(&dev),
    );
    let x: Tensor<(Dyn, u!(64), u!(32), u!(32))> =
        Tensor::zeros((Dyn(2), Default::default(), Default::default(), Default::default()), &dev);
    let _y = stages.forward(x);
}
