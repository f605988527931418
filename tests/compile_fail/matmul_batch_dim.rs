// A batch of 7 (2, 3) matrices times a batch of 8 (3, 5) matrices.
use typegrad::prelude::*;

fn main() {
    let dev = Cpu::default();
    let a: Tensor<(u!(7), u!(2), u!(3))> = Tensor::zeros(Default::default(), &dev);
    let b: Tensor<(u!(8), u!(3), u!(5))> = Tensor::zeros(Default::default(), &dev);
    let _c = a.matmul(b);
}
