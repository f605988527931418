// The op form: 3 groups cannot split the weight's 4 output channels.
use typegrad::ops::conv::ConvSpec;
use typegrad::prelude::*;

fn main() {
    let dev = Cpu::default();
    let x: Tensor<(Dyn, u!(6), u!(8), u!(8))> = Tensor::zeros((Dyn(2), Default::default(), Default::default(), Default::default()), &dev);
    let w: Tensor<(u!(4), u!(2), u!(3), u!(3))> = Tensor::zeros(Default::default(), &dev);
    let _y = x.conv2d(&w, None, ConvSpec::<u!(1), u!(0), u!(1), u!(3)>::new());
}
