// A multi-head attention layer whose 4 heads do not divide its model dim 130.
use typegrad::nn::MultiheadAttention;
use typegrad::prelude::*;

fn main() {
    let dev = Cpu::default();
    let _mha: MultiheadAttention<u!(130), u!(4)> = MultiheadAttention::new(&dev);
}
