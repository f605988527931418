// A 7-wide kernel on a 3-wide input padded by 1 on each side (5 < 7).
use typegrad::prelude::*;
use typegrad::shape::ConvOutDim;

fn main() {
    let dev = Cpu::default();
    let _y: Tensor<(ConvOutDim<u!(3), u!(7), u!(1), u!(1), u!(1)>,)> = Tensor::zeros(Default::default(), &dev);
}
