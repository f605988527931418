//! Classifying handwritten digits with a multi-layer perceptron
//! (The Little Book of Deep Learning, §3.2-3.6 and figure 3.5).
//!
//! MNIST (shipped in `data/mnist/`) is split into 55,000 training and 5,000
//! validation images; the 10,000 test images are only looked at once, at
//! the end. The model is a typed struct: 784 -> 256 -> 128 -> 10 with ReLU,
//! trained by Adam on mini-batches of cross-entropy. The example draws the
//! training and validation loss per epoch (`mnist_mlp_loss.png`), prints
//! the test accuracy, saves a safetensors checkpoint, reloads it into a
//! fresh model and checks that the reloaded model scores exactly the same.
//!
//! Run with `cargo run --release --example mnist_mlp`; on a GPU,
//! `cargo run --release --features cuda --example mnist_mlp -- --device cuda`
//! (or `TYPEGRAD_DEVICE=cuda`): the same model and training, unchanged.

use std::error::Error;
use std::path::Path;
use std::time::Instant;

use typegrad::data::{Batcher, ImageDataset, Normalize};
use typegrad::io::safetensors;
use typegrad::loss::cross_entropy;
use typegrad::nn::{Dropout, Linear, Module, ReLU};
use typegrad::optim::{Adam, AdamConfig, CosineAnnealing, Optimizer, Schedule};
use typegrad::prelude::*;

mod support;
use support::device::{with_device, ExampleDevice, OnDevice};
use support::mnist::{self, Mnist};

type Res<T> = Result<T, Box<dyn Error>>;
type Pixels = u!(784);

/// The model: three linear layers with ReLU between them, run in field
/// order. Dropout is active only on tracked (training) inputs.
#[derive(Module)]
#[module(sequential)]
struct Mlp<D: Device<f32>> {
    fc1: Linear<Pixels, u!(256), f32, D>,
    act1: ReLU,
    drop1: Dropout,
    fc2: Linear<u!(256), u!(128), f32, D>,
    act2: ReLU,
    drop2: Dropout,
    fc3: Linear<u!(128), u!(10), f32, D>,
}

impl<D: Device<f32>> Mlp<D> {
    fn new(dev: &D) -> Self {
        Mlp {
            fc1: Linear::new(dev),
            act1: ReLU,
            drop1: Dropout::new(0.1),
            fc2: Linear::new(dev),
            act2: ReLU,
            drop2: Dropout::new(0.1),
            fc3: Linear::new(dev),
        }
    }
}

const BATCH: usize = 64;
/// Epochs of the full run (the 98% target applies to it); `MNIST_EPOCHS`
/// overrides it for quick runs such as throughput measurements.
const EPOCHS: u64 = 10;
const EVAL_BATCH: usize = 2000;

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
    let mut model = Mlp::new(&dev);
    println!("model: {} parameters", model.num_params());
    let mut opt = Adam::new(AdamConfig {
        lr: 1e-3,
        ..Default::default()
    })?;
    let epochs = mnist::epochs(EPOCHS)?;
    let mut batches = Batcher::from_indices(data.train_idx.clone(), BATCH, 0);
    // Cosine decay of the learning rate over the whole run (book §3.3).
    let schedule = CosineAnnealing::new(1e-3, batches.num_batches() * epochs.max(1) as usize, 0.0);
    // Flat 784-pixel rows, as the MLP reads them.
    let batch = |d: &ImageDataset, i: &[usize]| -> Res<_> {
        Ok(d.batch::<Pixels, f32, D>(i, Normalize::MNIST, &dev)?)
    };
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
    let plot = out_dir.join("mnist_mlp_loss.png");
    support::plot_losses(
        &plot,
        "MNIST MLP: loss per epoch",
        &history.train_losses,
        &history.val_losses,
    )?;

    // Save, reload into a freshly initialised model, and check the scores.
    let checkpoint = root.join("target/mnist_mlp.safetensors");
    safetensors::save(&model, &checkpoint)?;
    let mut reloaded = Mlp::new(&dev.reseed(1));
    safetensors::load(&mut reloaded, &checkpoint)?;
    let (reloaded_loss, reloaded_acc) = data.test(&reloaded, EVAL_BATCH, batch)?;
    if reloaded_acc != test_acc || reloaded_loss != test_loss {
        return Err(format!(
            "reloaded checkpoint scores {reloaded_acc} (loss {reloaded_loss}), the trained model {test_acc} (loss {test_loss})"
        )
        .into());
    }

    println!("wrote {} and {}", plot.display(), checkpoint.display());
    println!("checkpoint reloaded: identical test accuracy");
    println!(
        "wall time: {:.1} s; training throughput {:.0} samples/s",
        started.elapsed().as_secs_f64(),
        history.samples_per_s
    );
    println!(
        "test accuracy: {:.2}% (test loss {:.4})",
        100.0 * test_acc,
        test_loss
    );
    if epochs == EPOCHS && test_acc < 0.98 {
        return Err(format!(
            "test accuracy {:.2}% is below the 98.0% target",
            100.0 * test_acc
        )
        .into());
    }
    Ok(())
}
