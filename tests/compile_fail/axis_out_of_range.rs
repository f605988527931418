// A rank-2 tensor has no axis 2 to reduce.
use typegrad::prelude::*;

fn main() {
    let dev = Cpu::default();
    let x: Tensor<(u!(2), u!(3))> = Tensor::zeros(Default::default(), &dev);
    let _y = x.sum_axis::<2>();
}
