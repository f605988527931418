// A pre-LN feed-forward path without its down-projection, wrapped in a
// residual: it turns the model dim 64 into 256, so `x + F(x)` cannot add.
use typegrad::nn::{LayerNorm, Linear, Module, Residual, GELU};
use typegrad::prelude::*;

fn main() {
    let dev = Cpu::default();
    let block = Residual((
        LayerNorm::<u!(64)>::new(&dev),
        Linear::<u!(64), u!(256)>::new(&dev),
        GELU,
    ));
    let x: Tensor<(Dyn, Dyn, u!(64))> = Tensor::zeros((Dyn(2), Dyn(10), Default::default()), &dev);
    let _y = block.forward(x);
}
