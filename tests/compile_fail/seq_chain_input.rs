// A model generic over its hidden size, fed a tensor whose feature size is
// not the one its first layer takes: the error names the first field.
use typegrad::nn::{Linear, Module, ReLU};
use typegrad::prelude::*;

#[derive(Module)]
#[module(sequential)]
struct Mlp<H: Dim> {
    fc1: Linear<u!(784), H>,
    act: ReLU,
    head: Linear<H, u!(10)>,
}

fn main() {
    let dev = Cpu::default();
    let model: Mlp<u!(128)> = Mlp { fc1: Linear::new(&dev), act: ReLU, head: Linear::new(&dev) };
    let x: Tensor<(Dyn, u!(785))> = Tensor::zeros((Dyn(8), Default::default()), &dev);
    let _y = model.forward(x);
}
