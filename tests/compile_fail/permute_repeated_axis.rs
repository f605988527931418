// A permutation must name every axis once; axis 0 appears twice.
use typegrad::prelude::*;

fn main() {
    let dev = Cpu::default();
    let x: Tensor<(u!(2), u!(3), u!(4))> = Tensor::zeros(Default::default(), &dev);
    let _y = x.permute::<0, 0, 1>();
}
