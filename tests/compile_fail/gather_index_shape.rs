// Picking one logit per row of (32, 10) logits needs 32 targets, not 16.
use typegrad::prelude::*;

fn main() {
    let dev = Cpu::default();
    let logits: Tensor<(u!(32), u!(10))> = Tensor::zeros(Default::default(), &dev);
    let targets: Tensor<(u!(16),), usize> = Tensor::full(Default::default(), 0, &dev);
    let _picked = logits.gather::<1>(&targets);
}
