// A generic model function called with the wrong number of features.
use typegrad::prelude::*;

fn head<B: Dim>(x: Tensor<(B, u!(10))>) -> Tensor<(B,)> {
    x.sum_axis::<1>()
}

fn main() {
    let dev = Cpu::default();
    let x: Tensor<(Dyn, u!(12))> = Tensor::zeros((Dyn(8), Default::default()), &dev);
    let _y = head(x);
}
