// Two fields with the same parameter path name.
use typegrad::nn::Module;
use typegrad::prelude::*;

#[derive(Module)]
struct Model {
    #[module(rename = "fc")]
    a: Tensor<(u!(3),), f32>,
    fc: Tensor<(u!(3),), f32>,
}

fn main() {}
