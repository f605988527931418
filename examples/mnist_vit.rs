//! Classifying handwritten digits with a small vision transformer (The
//! Little Book of Deep Learning, §5.3 and figure 5.9).
//!
//! Each 28x28 image is cut into 16 patches of 7x7 pixels; each patch is
//! embedded into 64 features, a learned CLS token is put in front, learned
//! positional embeddings are added, and 4 encoder layers (4 heads,
//! feed-forward width 128) process the 17 tokens; an MLP head reads the
//! CLS token. The token count, 4·4 + 1 = 17, is computed by the compiler
//! from the model's type (`ViTTokens<U28, U28, U7>`): a patch size that
//! does not divide 28 does not build.
//!
//! MNIST (shipped in `data/mnist/`) is split into 55,000 training and 5,000
//! validation images; the test set is scored once, at the end. AdamW with
//! a linear warm-up and a cosine decay. The example draws the training and
//! validation loss per epoch (`mnist_vit_loss.png`), prints the test
//! accuracy and checks it reaches 97%.
//!
//! Run with `cargo run --release --example mnist_vit`
//! (`MNIST_EPOCHS=1` for a quick run; on a GPU add `--features cuda` and
//! `-- --device cuda`, or set `TYPEGRAD_DEVICE=cuda`).

use std::error::Error;
use std::path::Path;
use std::time::Instant;

use typegrad::data::{Batcher, ImageDataset};
use typegrad::loss::cross_entropy;
use typegrad::models::{ViT, ViTTokens};
use typegrad::optim::{AdamConfig, AdamW, CosineAnnealing, LinearWarmup, Optimizer, Schedule};
use typegrad::prelude::*;
use typegrad::typenum::Unsigned;

mod support;
use support::device::{with_device, ExampleDevice, OnDevice};
use support::mnist::{self, image_batch, Mnist};

type Res<T> = Result<T, Box<dyn Error>>;
/// 1x28x28 images, 7x7 patches, 64 features, 4 heads, MLP width 128, 10 classes.
type Model<D = Cpu> = ViT<u!(1), u!(28), u!(28), u!(7), u!(64), u!(4), u!(128), u!(10), f32, D>;
const DEPTH: usize = 4;
const BATCH: usize = 128;
/// Epochs of the full run (the 97% target applies to it); `MNIST_EPOCHS`
/// overrides it for quick runs.
const EPOCHS: u64 = 6;
const EVAL_BATCH: usize = 1000;
const LR: f64 = 2e-3;

fn main() -> Res<()> {
    with_device(0, Train)
}

/// The whole run, on the device the user chose.
struct Train;

impl OnDevice for Train {
    fn run<D: ExampleDevice>(self, dev: D) -> Res<()> {
        train(dev)
    }
}

fn train<D: ExampleDevice>(dev: D) -> Res<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out_dir = support::plot_setup(root)?;

    let started = Instant::now();
    let data = Mnist::load(root)?;
    let mut model = Model::<D>::new(DEPTH, &dev);
    println!(
        "ViT: {} tokens (16 patches of 7x7 + CLS), {DEPTH} layers, {} parameters",
        <ViTTokens<u!(28), u!(28), u!(7)>>::USIZE,
        model.num_params()
    );
    let mut opt = AdamW::new(AdamConfig {
        lr: LR,
        weight_decay: 0.05,
        ..AdamConfig::adamw()
    })?;
    let epochs = mnist::epochs(EPOCHS)?;
    let mut batches = Batcher::from_indices(data.train_idx.clone(), BATCH, 0);
    let steps = batches.num_batches();
    let total = steps * epochs.max(1) as usize;
    let warmup = (steps / 2).min(total / 4);
    let schedule = LinearWarmup::new(LR, 0.01, warmup)
        .then(warmup, CosineAnnealing::new(LR, total - warmup, 0.0));
    let batch = |d: &ImageDataset, i: &[usize]| image_batch(d, i, &dev);
    let history = mnist::fit(
        &mut model,
        &data,
        &mut batches,
        epochs,
        batch,
        |model, x, y, i| {
            let loss = cross_entropy(model.forward(x.trace_no_grad()), &y);
            let value = loss.item();
            let grads = loss.backward();
            opt.set_lr(schedule.lr_at(i));
            opt.step(model, &grads)?;
            Ok(value)
        },
    )?;
    let (test_loss, test_acc) = data.test(&model, EVAL_BATCH, batch)?;
    let loss_png = out_dir.join("mnist_vit_loss.png");
    support::plot_losses(
        &loss_png,
        "MNIST ViT: loss per epoch",
        &history.train_losses,
        &history.val_losses,
    )?;
    println!("wrote {}", loss_png.display());
    println!("wall time: {:.1} s", started.elapsed().as_secs_f64());
    println!(
        "test accuracy: {:.2}% (test loss {:.4})",
        100.0 * test_acc,
        test_loss
    );
    if epochs == EPOCHS && test_acc < 0.97 {
        return Err(format!(
            "test accuracy {:.2}% is below the 97.0% target",
            100.0 * test_acc
        )
        .into());
    }
    Ok(())
}
