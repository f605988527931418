// Two Linear layers whose sizes do not chain (128 features out, 64 in): a
// compile error at the struct's definition, though nothing uses it.
use typegrad::nn::{Linear, Module};
use typegrad::prelude::*;

#[derive(Module)]
#[module(sequential)]
struct Mlp {
    fc1: Linear<u!(784), u!(128)>,
    fc2: Linear<u!(64), u!(10)>,
}

fn main() {}
