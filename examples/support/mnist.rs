//! MNIST batches and evaluation, shared by the MNIST examples.

use std::error::Error;
use std::path::Path;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use typegrad::data::{split, Batcher, ImageDataset, Normalize, Split};
use typegrad::loss::cross_entropy;
use typegrad::nn::Module;
use typegrad::prelude::*;

type Res<T> = Result<T, Box<dyn Error>>;

/// A batch of images as `(n, 1, 28, 28)` on device `D`.
pub type Images<D = Cpu> = Tensor<(Dyn, u!(1), u!(28), u!(28)), f32, D>;
/// The labels of a batch.
pub type Labels<D = Cpu> = Tensor<(Dyn,), usize, D>;

/// The images `idx` as `(n, 1, 28, 28)`, and their labels.
pub fn image_batch<D: Device<f32>>(
    data: &ImageDataset,
    idx: &[usize],
    dev: &D,
) -> Res<(Images<D>, Labels<D>)> {
    let (x, y) = data.batch::<u!(784), f32, D>(idx, Normalize::MNIST, dev)?;
    let x = x.try_reshape_to((
        Dyn(idx.len()),
        Default::default(),
        Default::default(),
        Default::default(),
    ))?;
    Ok((x, y))
}

/// Mean loss and accuracy of `model` on the examples `idx`, in chunks of
/// `chunk` made by `batch` (evaluation: untracked inputs).
pub fn evaluate<X, M, D: Device<f32>>(
    model: &M,
    data: &ImageDataset,
    idx: &[usize],
    chunk: usize,
    batch: impl Fn(&ImageDataset, &[usize]) -> Res<(X, Labels<D>)>,
) -> Res<(f64, f64)>
where
    M: Module<X, Output = Tensor<(Dyn, u!(10)), f32, D>>,
{
    let (mut loss, mut correct) = (0.0, 0usize);
    for part in idx.chunks(chunk) {
        let (x, y) = batch(data, part)?;
        let logits = model.forward(x);
        let predicted = logits.argmax_axis::<1>().to_vec();
        correct += predicted
            .iter()
            .zip(y.to_vec())
            .filter(|(p, t)| **p == *t)
            .count();
        loss += cross_entropy(logits, &y).item() as f64 * part.len() as f64;
    }
    Ok((loss / idx.len() as f64, correct as f64 / idx.len() as f64))
}

/// MNIST as the examples split it: 55,000 training and 5,000 validation
/// images from the training file, and the test file.
pub struct Mnist {
    pub train: ImageDataset,
    pub test: ImageDataset,
    pub train_idx: Vec<usize>,
    pub val_idx: Vec<usize>,
}

impl Mnist {
    /// `data/mnist` under `root`, printing the sizes of the three parts.
    pub fn load(root: &Path) -> Res<Mnist> {
        let train = ImageDataset::mnist(root.join("data/mnist"), Split::Train)?;
        let test = ImageDataset::mnist(root.join("data/mnist"), Split::Test)?;
        let (train_idx, val_idx) = split(train.len(), 5000.0 / 60000.0, 0);
        println!(
            "MNIST: {} training, {} validation, {} test images",
            train_idx.len(),
            val_idx.len(),
            test.len()
        );
        Ok(Mnist {
            train,
            test,
            train_idx,
            val_idx,
        })
    }

    /// Mean loss and accuracy of `model` on the whole test set, in
    /// chunks of `chunk` made by `batch`.
    pub fn test<X, M, D: Device<f32>>(
        &self,
        model: &M,
        chunk: usize,
        batch: impl Fn(&ImageDataset, &[usize]) -> Res<(X, Labels<D>)>,
    ) -> Res<(f64, f64)>
    where
        M: Module<X, Output = Tensor<(Dyn, u!(10)), f32, D>>,
    {
        let all: Vec<usize> = (0..self.test.len()).collect();
        evaluate(model, &self.test, &all, chunk, batch)
    }
}

/// `MNIST_EPOCHS` when set (for quick runs), else `default`.
pub fn epochs(default: u64) -> Res<u64> {
    match std::env::var("MNIST_EPOCHS") {
        Ok(v) => Ok(v
            .parse()
            .map_err(|_| format!("MNIST_EPOCHS must be a positive integer, got {v:?}"))?),
        Err(_) => Ok(default),
    }
}

/// What [`fit`] recorded: the training and validation loss per epoch,
/// and the training throughput.
pub struct History {
    pub train_losses: Vec<f64>,
    pub val_losses: Vec<f64>,
    pub samples_per_s: f64,
}

/// `epochs` epochs over `batches`, each batch made by `batch`:
/// `step(model, x, y, i)` runs the `i`-th optimisation step on it and
/// returns its loss; a progress bar with the running mean loss, then the
/// validation loss and accuracy, one line per epoch.
pub fn fit<X, M, D: Device<f32>>(
    model: &mut M,
    data: &Mnist,
    batches: &mut Batcher,
    epochs: u64,
    batch: impl Fn(&ImageDataset, &[usize]) -> Res<(X, Labels<D>)>,
    mut step: impl FnMut(&mut M, X, Labels<D>, usize) -> Res<f32>,
) -> Res<History>
where
    M: Module<X, Output = Tensor<(Dyn, u!(10)), f32, D>>,
{
    const EVAL_CHUNK: usize = 1000;
    let style = ProgressStyle::with_template(
        "epoch {prefix} {bar:30} {pos}/{len} batches, {per_sec}, loss {msg}",
    )?;
    let (mut train_losses, mut val_losses) = (Vec::new(), Vec::new());
    let (mut seconds, mut samples) = (0.0, 0usize);
    let mut i = 0usize;
    for epoch in 0..epochs {
        let epoch_start = Instant::now();
        let bar = ProgressBar::new(batches.num_batches() as u64).with_style(style.clone());
        bar.set_prefix(format!("{}/{epochs}", epoch + 1));
        let (mut sum, mut count) = (0.0, 0usize);
        for idx in batches.epoch(epoch) {
            let (x, y) = batch(&data.train, idx)?;
            sum += step(model, x, y, i)? as f64 * idx.len() as f64;
            count += idx.len();
            i += 1;
            bar.inc(1);
            if i.is_multiple_of(10) {
                bar.set_message(format!("{:.4}", sum / count as f64));
            }
        }
        bar.finish_and_clear();
        let epoch_seconds = epoch_start.elapsed().as_secs_f64();
        (seconds, samples) = (seconds + epoch_seconds, samples + count);
        let (val_loss, val_acc) = evaluate(model, &data.train, &data.val_idx, EVAL_CHUNK, &batch)?;
        train_losses.push(sum / count as f64);
        val_losses.push(val_loss);
        println!(
            "epoch {:>2}: train loss {:.4}, validation loss {:.4}, validation accuracy {:.2}% ({:.0} samples/s)",
            epoch + 1,
            sum / count as f64,
            val_loss,
            100.0 * val_acc,
            count as f64 / epoch_seconds
        );
    }
    Ok(History {
        train_losses,
        val_losses,
        samples_per_s: samples as f64 / seconds.max(1e-9),
    })
}
