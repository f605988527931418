// A field that is neither a module nor marked: the model is generic over its
// dtype and device, so the error is reported at the struct's definition.
use typegrad::nn::Module;
use typegrad::prelude::*;

struct Config {
    hidden: usize,
}

#[derive(Module)]
struct Model<E: Dtype, D: Device<E>> {
    w: Tensor<(u!(3),), E, D>,
    config: Config,
}

fn main() {}
