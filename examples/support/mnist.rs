//! MNIST batches and evaluation, shared by the MNIST examples.

use std::error::Error;

use typegrad::data::{ImageDataset, Normalize};
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
