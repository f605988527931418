// A model generic over its hidden size chains for every size, and a generic
// function builds it; called with a hidden size that `head` does not take,
// the chain breaks where the model is used.
use typegrad::nn::{Linear, Module, ReLU};
use typegrad::prelude::*;
use typegrad::shape::StaticDim;

#[derive(Module)]
#[module(sequential)]
struct Mlp<H: Dim> {
    fc1: Linear<u!(784), H>,
    act: ReLU,
    head: Linear<u!(128), u!(10)>,
}

fn mlp<H: StaticDim>(dev: &Cpu) -> Mlp<H> {
    Mlp { fc1: Linear::new(dev), act: ReLU, head: Linear::new(dev) }
}

fn main() {
    let dev = Cpu::default();
    let model = mlp::<u!(64)>(&dev);
    let x: Tensor<(Dyn, u!(784))> = Tensor::zeros((Dyn(8), Default::default()), &dev);
    let _y = model.forward(x);
}
