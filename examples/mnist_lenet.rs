//! Classifying handwritten digits with the book's LeNet-like convolutional
//! network (The Little Book of Deep Learning, §5.2 and figure 5.2).
//!
//! Two 5x5 convolutions with max pooling extract features from the 28x28
//! image; a small MLP classifies the 256 features they leave. Every size
//! along the way (28 -> 24 -> 8 -> 4 -> 2, 64 x 2 x 2 = 256) is computed by
//! the compiler from the model's type: an input of the wrong size or a
//! classifier of the wrong width does not build.
//!
//! MNIST (shipped in `data/mnist/`) is split into 55,000 training and 5,000
//! validation images; the test set is scored once, at the end. The example
//! draws the training and validation loss per epoch
//! (`mnist_lenet_loss.png`) and the 32 learned filters of the first layer
//! (`mnist_lenet_filters.png`), prints the test accuracy, and saves a
//! safetensors checkpoint (`target/mnist_lenet.safetensors`: the embedded
//! example in `examples/embedded/` runs it on a Cortex-M4), reloaded into a
//! fresh model to check it scores exactly the same.
//!
//! Run with `cargo run --release --example mnist_lenet`; on a GPU, add
//! `--features cuda` and `-- --device cuda` (or set `TYPEGRAD_DEVICE=cuda`).

use std::error::Error;
use std::path::Path;
use std::time::Instant;

use plotters::prelude::*;
use typegrad::data::{Batcher, ImageDataset};
use typegrad::io::safetensors;
use typegrad::loss::cross_entropy;
use typegrad::models::LeNet;
use typegrad::optim::{Adam, AdamConfig, CosineAnnealing, Optimizer, Schedule};
use typegrad::prelude::*;

mod support;
use support::device::{with_device, ExampleDevice, OnDevice};
use support::mnist::{self, image_batch, Mnist};

type Res<T> = Result<T, Box<dyn Error>>;
const BATCH: usize = 64;
/// Epochs of the full run (the 99% target applies to it); `MNIST_EPOCHS`
/// overrides it for quick runs.
const EPOCHS: u64 = 4;
const EVAL_BATCH: usize = 1000;

/// The first layer's 32 filters (5x5 each), 4 rows of 8, each scaled to
/// its own range: dark is negative, light positive.
fn plot_filters(path: &Path, weights: &[f32]) -> Res<()> {
    const K: usize = 5;
    const CELL: usize = 16;
    const GAP: usize = 8;
    let (rows, cols) = (4, 8);
    let size = |n: usize| (n * (K * CELL + GAP) + GAP) as u32;
    let root = BitMapBackend::new(path, (size(cols), size(rows) + 40)).into_drawing_area();
    root.fill(&WHITE)?;
    root.draw(&Text::new(
        "LeNet: first-layer filters (5x5)",
        (GAP as i32, 10),
        ("sans-serif", 22),
    ))?;
    for (f, w) in weights.chunks(K * K).enumerate() {
        let (lo, hi) = w
            .iter()
            .fold((f32::MAX, f32::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
        let (r, c) = (f / cols, f % cols);
        for (i, &v) in w.iter().enumerate() {
            let shade = (255.0 * (v - lo) / (hi - lo).max(1e-12)) as u8;
            let x0 = (GAP + c * (K * CELL + GAP) + (i % K) * CELL) as i32;
            let y0 = (40 + GAP + r * (K * CELL + GAP) + (i / K) * CELL) as i32;
            root.draw(&Rectangle::new(
                [(x0, y0), (x0 + CELL as i32, y0 + CELL as i32)],
                RGBColor(shade, shade, shade).filled(),
            ))?;
        }
    }
    root.present()?;
    Ok(())
}

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
    let mut model: LeNet<u!(1), f32, D> = LeNet::new(&dev);
    println!("model: {} parameters", model.num_params());
    let mut opt = Adam::new(AdamConfig {
        lr: 1e-3,
        ..Default::default()
    })?;
    let epochs = mnist::epochs(EPOCHS)?;
    let mut batches = Batcher::from_indices(data.train_idx.clone(), BATCH, 0);
    let schedule = CosineAnnealing::new(1e-3, batches.num_batches() * epochs.max(1) as usize, 0.0);
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
    let loss_png = out_dir.join("mnist_lenet_loss.png");
    support::plot_losses(
        &loss_png,
        "MNIST LeNet: loss per epoch",
        &history.train_losses,
        &history.val_losses,
    )?;
    let filters_png = out_dir.join("mnist_lenet_filters.png");
    plot_filters(&filters_png, &model.conv1.weight.to_vec())?;

    // Save, reload into a freshly initialised model, and check the scores.
    let checkpoint = root.join("target/mnist_lenet.safetensors");
    safetensors::save(&model, &checkpoint)?;
    let mut reloaded: LeNet<u!(1), f32, D> = LeNet::new(&dev.reseed(1));
    safetensors::load(&mut reloaded, &checkpoint)?;
    let (reloaded_loss, reloaded_acc) = data.test(&reloaded, EVAL_BATCH, batch)?;
    if reloaded_acc != test_acc || reloaded_loss != test_loss {
        return Err(format!(
            "reloaded checkpoint scores {reloaded_acc} (loss {reloaded_loss}), the trained model {test_acc} (loss {test_loss})"
        )
        .into());
    }
    println!(
        "wrote {}, {} and {}",
        loss_png.display(),
        filters_png.display(),
        checkpoint.display()
    );
    println!("checkpoint reloaded: identical test accuracy");
    println!("wall time: {:.1} s", started.elapsed().as_secs_f64());
    println!(
        "test accuracy: {:.2}% (test loss {:.4})",
        100.0 * test_acc,
        test_loss
    );
    if epochs == EPOCHS && test_acc < 0.99 {
        return Err(format!(
            "test accuracy {:.2}% is below the 99.0% target",
            100.0 * test_acc
        )
        .into());
    }
    Ok(())
}
