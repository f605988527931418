// Concatenating along axis 0 needs equal sizes on axis 1 (3 vs 4).
use typegrad::prelude::*;

fn main() {
    let dev = Cpu::default();
    let a: Tensor<(u!(2), u!(3))> = Tensor::zeros(Default::default(), &dev);
    let b: Tensor<(u!(2), u!(4))> = Tensor::zeros(Default::default(), &dev);
    let _c = a.concat::<0>(b);
}
