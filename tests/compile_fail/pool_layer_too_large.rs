// An AvgPool2d layer with a 4x4 window on a 2x2 feature map (no padding).
use typegrad::nn::AvgPool2d;
use typegrad::prelude::*;

fn main() {
    let dev = Cpu::default();
    let x: Tensor<(Dyn, u!(16), u!(2), u!(2)), f32> = Tensor::zeros((Dyn(1), Default::default(), Default::default(), Default::default()), &dev);
    let _y = AvgPool2d::<u!(4)>::default().forward(x);
}
