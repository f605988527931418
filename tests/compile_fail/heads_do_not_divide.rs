// A model dim of 130 cannot be split over 4 attention heads.
use typegrad::prelude::*;
use typegrad::shape::HeadDim;

fn main() {
    let dev = Cpu::default();
    let _q: Tensor<(Dyn, u!(4), HeadDim<u!(130), u!(4)>)> = Tensor::zeros((Dyn(1), Default::default(), Default::default()), &dev);
}
