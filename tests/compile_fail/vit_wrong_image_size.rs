// A ViT built for 28x28 images, given 32x32 ones: its patch count and
// positional table are fixed by the image size in its type.
use typegrad::models::ViT;
use typegrad::nn::Module;
use typegrad::prelude::*;

type Vit = ViT<u!(1), u!(28), u!(28), u!(7), u!(64), u!(4), u!(128), u!(10)>;

fn main() {
    let dev = Cpu::default();
    let vit: Vit = ViT::new(2, &dev);
    let x: Tensor<(Dyn, u!(1), u!(32), u!(32))> =
        Tensor::zeros((Dyn(4), Default::default(), Default::default(), Default::default()), &dev);
    let _logits = vit.forward(x);
}
