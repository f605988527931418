// A loss given a prediction and a target of different static shapes: the
// error names both dims in decimal at the call.
use typegrad::loss::mse_loss;
use typegrad::prelude::*;

fn main() {
    let dev = Cpu::default();
    let pred: Tensor<(Dyn, u!(10))> = Tensor::zeros((Dyn(8), Default::default()), &dev);
    let target: Tensor<(Dyn, u!(12))> = Tensor::zeros((Dyn(8), Default::default()), &dev);
    let _loss = mse_loss(pred, &target);
}
