//! The shapes of ResNet-50 (The Little Book of Deep Learning, §5.2 and
//! figure 5.5), layer by layer, as the compiler computes them.
//!
//! `ResNet50` is a typed struct: its stem, its 16 bottleneck blocks in four
//! stages, and its classifier each fix their channel counts, strides and
//! paddings in their types, and the type of each layer's output follows
//! from its input's. This example prints, for one 3x224x224 image, every
//! convolution's and normalisation's output shape and parameter count —
//! computed from the types (and the parameters' sizes), without running
//! the network: no image is convolved.
//!
//! Run with `cargo run --release --example resnet_shapes`.

use std::time::Instant;

use typegrad::models::ResNet50;
use typegrad::nn::{summary, Module};
use typegrad::prelude::*;

/// One RGB image at the resolution ResNet-50 was designed for.
type Image = (u!(1), u!(3), u!(224), u!(224));

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dev = Cpu::seeded(0);
    let model: ResNet50 = ResNet50::new(&dev);

    // The type of `forward` on an image, known before anything runs: this
    // line does not build unless all 53 convolutions, the pooling and the
    // classifier agree on every size, and the logits are 1 x 1000.
    let _forward: fn(&ResNet50, Tensor<Image>) -> Tensor<(u!(1), u!(1000))> = |m, x| m.forward(x);

    let started = Instant::now();
    let s = summary(&model, Image::default())?;
    let elapsed = started.elapsed();
    print!("{s}");
    assert_eq!(&*s.output, &[1, 1000]);
    println!(
        "{} rows computed in {:.0} µs without running the network",
        s.rows.len(),
        elapsed.as_secs_f64() * 1e6
    );
    println!(
        "parameters: {} (PyTorch's torchvision.models.resnet50: 25,557,032)",
        s.total_params
    );
    Ok(())
}
