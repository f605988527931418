// 2 x 3 = 6 elements cannot become 4 x 2 = 8.
use typegrad::prelude::*;

fn main() {
    let dev = Cpu::default();
    let x: Tensor<(u!(2), u!(3))> = Tensor::zeros(Default::default(), &dev);
    let _y = x.reshape::<(u!(4), u!(2))>();
}
