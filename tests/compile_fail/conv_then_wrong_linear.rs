// LeNet arithmetic: 28 -conv5-> 24 -pool2-> 12, with 6 channels the
// flattened features are 6 * 12 * 12 = 864, but the next weight expects 800.
use typegrad::prelude::*;
use typegrad::shape::{ConvOutDim, Prod};

type Conv = ConvOutDim<u!(28), u!(5), u!(1), u!(0), u!(1)>;
type Pool = ConvOutDim<Conv, u!(2), u!(2), u!(0), u!(1)>;
type Features = Prod<Prod<u!(6), Pool>, Pool>;

fn main() {
    let dev = Cpu::default();
    let x: Tensor<(Dyn, Features)> = Tensor::zeros((Dyn(8), Default::default()), &dev);
    let w: Tensor<(u!(800), u!(10))> = Tensor::zeros(Default::default(), &dev);
    let _logits = x.matmul(w);
}
