// The op form: a weight for 4 input channels on a 3-channel input.
use typegrad::ops::conv::ConvSpec;
use typegrad::prelude::*;

fn main() {
    let dev = Cpu::default();
    let x: Tensor<(Dyn, u!(3), u!(8), u!(8))> = Tensor::zeros((Dyn(2), Default::default(), Default::default(), Default::default()), &dev);
    let w: Tensor<(u!(5), u!(4), u!(3), u!(3))> = Tensor::zeros(Default::default(), &dev);
    let _y = x.conv2d(&w, None, ConvSpec::plain());
}
