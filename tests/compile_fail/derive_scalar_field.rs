// A std scalar field that is not marked #[module(skip)].
use typegrad::nn::Module;
use typegrad::prelude::*;

#[derive(Module)]
struct Model {
    w: Tensor<(u!(3),), f32>,
    hidden: usize,
}

fn main() {}
