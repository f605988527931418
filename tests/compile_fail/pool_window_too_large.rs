// A 5x5 max-pooling window on a 3x3 image padded by 1 on each side (5 fits),
// then a 3x3 window with dilation 2 (effective 5) on the 3x3 result with no
// padding (3 < 5).
use typegrad::prelude::*;

fn main() {
    let dev = Cpu::default();
    let x: Tensor<(Dyn, u!(8), u!(3), u!(3)), f32> = Tensor::zeros((Dyn(1), Default::default(), Default::default(), Default::default()), &dev);
    let y = x.max_pool2d::<u!(5), u!(1), u!(2), u!(1)>();
    let _z = y.max_pool2d::<u!(3), u!(1), u!(0), u!(2)>();
}
