// A LayerNorm over 512 features fed 768 features.
use typegrad::nn::LayerNorm;
use typegrad::prelude::*;

fn main() {
    let dev = Cpu::default();
    let ln: LayerNorm<u!(512)> = LayerNorm::new(&dev);
    let x: Tensor<(Dyn, Dyn, u!(768))> = Tensor::zeros((Dyn(2), Dyn(10), Default::default()), &dev);
    let _y = ln.forward(x);
}
