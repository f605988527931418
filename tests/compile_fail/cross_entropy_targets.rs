// Logits for a batch of 4 with targets for a batch of 5.
use typegrad::loss::cross_entropy;
use typegrad::prelude::*;

fn main() {
    let dev = Cpu::default();
    let logits: Tensor<(u!(4), u!(10))> = Tensor::zeros(Default::default(), &dev);
    let targets: Tensor<(u!(5),), usize> = Tensor::full(Default::default(), 0, &dev);
    let _loss = cross_entropy(logits, &targets);
}
