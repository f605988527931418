// A ViT for 28x28 images with 5x5 patches: 28 is not a multiple of 5.
use typegrad::models::ViT;
use typegrad::prelude::*;

fn main() {
    let dev = Cpu::default();
    let _vit: ViT<u!(1), u!(28), u!(28), u!(5), u!(64), u!(4), u!(128), u!(10)> =
        ViT::new(4, &dev);
}
