// A layer built from a weight of the wrong shape.
use typegrad::nn::Linear;
use typegrad::prelude::*;

fn main() {
    let dev = Cpu::default();
    let w: Tensor<(u!(4), u!(3))> = Tensor::zeros(Default::default(), &dev);
    let b: Tensor<(u!(2),)> = Tensor::zeros(Default::default(), &dev);
    let _fc = Linear::<u!(3), u!(2)>::from_tensors(w, Some(b));
}
