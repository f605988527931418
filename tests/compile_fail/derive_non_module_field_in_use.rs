// A concrete model (f32 on the CPU) with a field that is not a module: the
// error appears where the model is used as a module and points at the field.
use typegrad::nn::{Module, Params};
use typegrad::prelude::*;

struct Config {
    hidden: usize,
}

#[derive(Module)]
struct Model {
    w: Tensor<(u!(3),), f32>,
    config: Config,
}

fn count<M: Params<f32, Cpu>>(m: &M) -> usize {
    m.num_params()
}

fn main() {
    let dev = Cpu::default();
    let m = Model {
        w: Tensor::zeros(Default::default(), &dev),
        config: Config { hidden: 3 },
    };
    let _ = m.config.hidden;
    count(&m);
}
