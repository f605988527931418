// A (T, T) = (4, 4) causal mask cannot be applied to (B, H, 5, 5) scores.
use typegrad::prelude::*;

fn main() {
    let dev = Cpu::default();
    let mask: Tensor<(u!(4), u!(4)), bool> = Tensor::full(Default::default(), false, &dev);
    let scores: Tensor<(Dyn, u!(2), u!(5), u!(5))> = Tensor::zeros(dims!(Dyn(1), 2, 5, 5), &dev);
    let _y = scores.masked_fill(&mask, f32::NEG_INFINITY);
}
