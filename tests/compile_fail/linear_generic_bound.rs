// Generic code bounded by `Linear: Module<..>`, called with the wrong size.
use typegrad::nn::{Linear, Module};
use typegrad::prelude::*;

fn run<S: Shape>(layer: &Linear<u!(4), u!(3)>, x: Tensor<S>) -> <Linear<u!(4), u!(3)> as Module<Tensor<S>>>::Output
where
    Linear<u!(4), u!(3)>: Module<Tensor<S>>,
{
    layer.forward(x)
}

fn main() {
    let dev = Cpu::default();
    let layer: Linear<u!(4), u!(3)> = Linear::new(&dev);
    let x: Tensor<(Dyn, u!(5))> = Tensor::zeros((Dyn(2), Default::default()), &dev);
    let _y = run(&layer, x);
}
