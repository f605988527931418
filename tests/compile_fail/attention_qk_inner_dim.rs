// Queries of width 8 against keys of width 16.
use typegrad::ops::attention::AttentionOptions;
use typegrad::prelude::*;

fn main() {
    let dev = Cpu::default();
    let q: Tensor<(Dyn, u!(4), Dyn, u!(8))> = Tensor::zeros((Dyn(2), Default::default(), Dyn(5), Default::default()), &dev);
    let k: Tensor<(Dyn, u!(4), Dyn, u!(16))> = Tensor::zeros((Dyn(2), Default::default(), Dyn(5), Default::default()), &dev);
    let v: Tensor<(Dyn, u!(4), Dyn, u!(8))> = Tensor::zeros((Dyn(2), Default::default(), Dyn(5), Default::default()), &dev);
    let _y = q.scaled_dot_product_attention(k, v, &AttentionOptions::new());
}
