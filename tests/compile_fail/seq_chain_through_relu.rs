// The sizes are carried through activations and dropout: 128 features reach
// `fc2`, which takes 64. The model is generic over its dtype and device; the
// error is still at the definition.
use typegrad::nn::{Dropout, Linear, Module, ReLU};
use typegrad::prelude::*;

#[derive(Module)]
#[module(sequential)]
struct Mlp<E: Dtype, D: Device<E>> {
    fc1: Linear<u!(784), u!(128), E, D>,
    act: ReLU,
    drop: Dropout,
    fc2: Linear<u!(64), u!(10), E, D>,
}

fn main() {}
