// A U-Net skip whose inner path changes a spatial size: (B, 4, 28) comes
// back as (B, 4, 14), which cannot be joined with the input on channels.
use typegrad::nn::{ConcatSkip, Linear, Module};
use typegrad::prelude::*;

fn main() {
    let dev = Cpu::default();
    // Over the last (spatial) axis: 28 -> 14.
    let skip = ConcatSkip(Linear::<u!(28), u!(14)>::new(&dev));
    let x: Tensor<(Dyn, u!(4), u!(28))> =
        Tensor::zeros((Dyn(2), Default::default(), Default::default()), &dev);
    let _y = skip.forward(x);
}
