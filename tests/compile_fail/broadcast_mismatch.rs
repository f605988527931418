// (Dyn, 3) + (4,): the trailing dims 3 and 4 cannot broadcast.
use typegrad::prelude::*;

fn main() {
    let dev = Cpu::default();
    let x: Tensor<(Dyn, u!(3))> = Tensor::zeros((Dyn(2), Default::default()), &dev);
    let b: Tensor<(u!(4),)> = Tensor::zeros(Default::default(), &dev);
    let _y = x + b;
}
