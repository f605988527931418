// A (2, 3) matrix times a (4, 5) matrix: the inner dims 3 and 4 differ.
use typegrad::prelude::*;

fn main() {
    let dev = Cpu::default();
    let a: Tensor<(u!(2), u!(3))> = Tensor::zeros(Default::default(), &dev);
    let b: Tensor<(u!(4), u!(5))> = Tensor::zeros(Default::default(), &dev);
    let _c = a.matmul(b);
}
