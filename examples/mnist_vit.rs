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

use indicatif::{ProgressBar, ProgressStyle};
use typegrad::data::{split, Batcher, ImageDataset, Split};
use typegrad::loss::cross_entropy;
use typegrad::models::{ViT, ViTTokens};
use typegrad::optim::{AdamConfig, AdamW, CosineAnnealing, LinearWarmup, Optimizer, Schedule};
use typegrad::prelude::*;
use typegrad::typenum::Unsigned;

mod support;
use support::device::{with_device, ExampleDevice, OnDevice};
use support::mnist::{evaluate, image_batch};

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
    let train_set = ImageDataset::mnist(root.join("data/mnist"), Split::Train)?;
    let test_set = ImageDataset::mnist(root.join("data/mnist"), Split::Test)?;
    let (train_idx, val_idx) = split(train_set.len(), 5000.0 / 60000.0, 0);
    println!(
        "MNIST: {} training, {} validation, {} test images",
        train_idx.len(),
        val_idx.len(),
        test_set.len()
    );

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
    let epochs: u64 = match std::env::var("MNIST_EPOCHS") {
        Ok(v) => v
            .parse()
            .map_err(|_| format!("MNIST_EPOCHS must be a positive integer, got {v:?}"))?,
        Err(_) => EPOCHS,
    };
    let mut batches = Batcher::from_indices(train_idx, BATCH, 0);
    let steps = batches.num_batches() as u64;
    let total = (steps * epochs.max(1)) as usize;
    let warmup = (steps as usize / 2).min(total / 4);
    let schedule = LinearWarmup::new(LR, 0.01, warmup)
        .then(warmup, CosineAnnealing::new(LR, total - warmup, 0.0));
    let mut step = 0usize;
    let style = ProgressStyle::with_template(
        "epoch {prefix} {bar:30} {pos}/{len} batches, {per_sec}, loss {msg}",
    )?;

    let (mut train_losses, mut val_losses) = (Vec::new(), Vec::new());
    for epoch in 0..epochs {
        let epoch_start = Instant::now();
        let bar = ProgressBar::new(steps).with_style(style.clone());
        bar.set_prefix(format!("{}/{epochs}", epoch + 1));
        let (mut sum, mut count) = (0.0, 0usize);
        for idx in batches.epoch(epoch) {
            let (x, y) = image_batch(&train_set, idx, &dev)?;
            let loss = cross_entropy(model.forward(x.trace_no_grad()), &y);
            sum += loss.item() as f64 * idx.len() as f64;
            count += idx.len();
            let grads = loss.backward();
            opt.set_lr(schedule.lr_at(step));
            opt.step(&mut model, &grads)?;
            step += 1;
            bar.inc(1);
            if count % (BATCH * 10) == 0 {
                bar.set_message(format!("{:.4}", sum / count as f64));
            }
        }
        bar.finish_and_clear();
        let seconds = epoch_start.elapsed().as_secs_f64();
        let (val_loss, val_acc) = evaluate(&model, &train_set, &val_idx, EVAL_BATCH, |d, i| {
            image_batch(d, i, &dev)
        })?;
        train_losses.push(sum / count as f64);
        val_losses.push(val_loss);
        println!(
            "epoch {:>2}: train loss {:.4}, validation loss {:.4}, validation accuracy {:.2}% ({:.0} images/s)",
            epoch + 1,
            sum / count as f64,
            val_loss,
            100.0 * val_acc,
            count as f64 / seconds
        );
    }

    let all_test: Vec<usize> = (0..test_set.len()).collect();
    let (test_loss, test_acc) = evaluate(&model, &test_set, &all_test, EVAL_BATCH, |d, i| {
        image_batch(d, i, &dev)
    })?;
    let loss_png = out_dir.join("mnist_vit_loss.png");
    support::plot_losses(
        &loss_png,
        "MNIST ViT: loss per epoch",
        &train_losses,
        &val_losses,
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
