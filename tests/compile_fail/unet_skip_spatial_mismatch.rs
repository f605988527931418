// A U-Net skip: the encoder's 64x64 feature map joined on the channel axis
// with a decoder feature map that an unpadded 3x3 convolution shrank to
// 62x62.
use typegrad::nn::{ConcatSkip, Conv2d, Module};
use typegrad::prelude::*;

fn main() {
    let dev = Cpu::default();
    let skip = ConcatSkip(Conv2d::<u!(32), u!(32), u!(3)>::new(&dev));
    let x: Tensor<(Dyn, u!(32), u!(64), u!(64))> =
        Tensor::zeros((Dyn(1), Default::default(), Default::default(), Default::default()), &dev);
    let _y = skip.forward(x);
}
