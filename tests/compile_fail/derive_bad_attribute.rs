// A misspelt #[module] option.
use typegrad::nn::Module;
use typegrad::prelude::*;

#[derive(Module)]
struct Model {
    w: Tensor<(u!(3),), f32>,
    #[module(skp)]
    hidden: usize,
}

fn main() {}
