// A tuple stack whose second layer takes 64 features but gets 128.
use typegrad::nn::{Linear, Module, ReLU};
use typegrad::prelude::*;

fn main() {
    let dev = Cpu::default();
    let model: (Linear<u!(784), u!(128)>, ReLU, Linear<u!(64), u!(10)>) =
        (Linear::new(&dev), ReLU, Linear::new(&dev));
    let x: Tensor<(Dyn, u!(784))> = Tensor::zeros((Dyn(8), Default::default()), &dev);
    let _y = model.forward(x);
}
