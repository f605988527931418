// A positional encoding for 512 features added to 768-feature tokens.
use typegrad::nn::SinusoidalPositionalEncoding;
use typegrad::prelude::*;

fn main() {
    let dev = Cpu::default();
    let pe: SinusoidalPositionalEncoding<u!(512)> = SinusoidalPositionalEncoding::new();
    let x: Tensor<(Dyn, Dyn, u!(768))> = Tensor::zeros((Dyn(2), Dyn(10), Default::default()), &dev);
    let _y = pe.forward(x);
}
