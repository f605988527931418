// A (Dyn, 4, 300) batch times a (256, 10) weight: 300 and 256 differ.
use typegrad::prelude::*;

fn main() {
    let dev = Cpu::default();
    let x: Tensor<(Dyn, u!(4), u!(300))> = Tensor::zeros((Dyn(2), Default::default(), Default::default()), &dev);
    let w: Tensor<(u!(256), u!(10))> = Tensor::zeros(Default::default(), &dev);
    let _y = x.matmul(w);
}
