// LeNet-5 is built for 28x28 digits (16 x 4 x 4 = 256 features reach its
// classifier); a 32x32 image leaves 16 x 5 x 5 = 400.
use typegrad::models::LeNet5;
use typegrad::nn::Module;
use typegrad::prelude::*;

fn main() {
    let dev = Cpu::default();
    let net: LeNet5 = LeNet5::new(&dev);
    let x: Tensor<(Dyn, u!(1), u!(32), u!(32))> =
        Tensor::zeros((Dyn(4), Default::default(), Default::default(), Default::default()), &dev);
    let _logits = net.forward(x);
}
