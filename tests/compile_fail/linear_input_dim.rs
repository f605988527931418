// A Linear layer from 784 features fed 785 features.
use typegrad::nn::Linear;
use typegrad::prelude::*;

fn main() {
    let dev = Cpu::default();
    let layer: Linear<u!(784), u!(10)> = Linear::new(&dev);
    let x: Tensor<(Dyn, u!(785))> = Tensor::zeros((Dyn(8), Default::default()), &dev);
    let _y = layer.forward(x);
}
