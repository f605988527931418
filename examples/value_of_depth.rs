//! The value of depth (The Little Book of Deep Learning, §3.5, figure 3.4).
//!
//! Two interleaved half-moons in the plane cannot be separated by a line.
//! A model of eight layers, each a 2x2 linear map followed by tanh, then a
//! linear classifier, learns to move the points so that the last layer's
//! representation *is* linearly separable. The example trains it and draws
//! the points after every layer in a 3x3 grid (`value_of_depth.png`).
//!
//! Run with `cargo run --release --example value_of_depth` (add `--device
//! cuda` with the `cuda` feature, or set `TYPEGRAD_DEVICE`); the PNG goes to
//! `target/plots/` (override with `PLOT_DIR`).

use std::error::Error;
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};
use plotters::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use typegrad::loss::cross_entropy;
use typegrad::nn::{Linear, Module};
use typegrad::optim::{Adam, AdamConfig, Optimizer};
use typegrad::prelude::*;

mod support;
use support::device::{with_device, ExampleDevice, OnDevice};

type Res<T> = Result<T, Box<dyn Error>>;
/// One layer of the deep part: a 2x2 linear map (then tanh).
type Map2<D> = Linear<u!(2), u!(2), f64, D>;
/// A batch of points in the plane.
type Points<D, T = NoTape> = Tensor<(Dyn, u!(2)), f64, D, T>;

const DEPTH: usize = 8;

/// Eight 2x2 maps with tanh, then a linear classifier over two classes.
#[derive(Module)]
struct DeepToy<D: Device<f64>> {
    layers: [Map2<D>; DEPTH],
    head: Linear<u!(2), u!(2), f64, D>,
}

impl<D: Device<f64>> DeepToy<D> {
    fn new(dev: &D) -> Self {
        DeepToy {
            layers: std::array::from_fn(|_| Map2::new(dev)),
            head: Linear::new(dev),
        }
    }

    /// The representation after each layer (input first) and the logits.
    /// Written once for both uses: a tracked input trains (the layers
    /// record their parameters' gradients), an untracked one evaluates.
    fn forward<T: Tracking<f64, D>>(&self, x: Points<D, T>) -> (Vec<Points<D, T>>, Points<D, T>) {
        let mut reps = vec![x.clone()];
        let mut h = x;
        for layer in &self.layers {
            h = layer.forward(h).tanh();
            reps.push(h.clone());
        }
        (reps, self.head.forward(h))
    }
}

/// Two interleaved half-moons with a little noise, labels 0 and 1.
fn moons(n: usize, rng: &mut StdRng) -> (Vec<f64>, Vec<usize>) {
    let mut xy = Vec::with_capacity(2 * n);
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let class = i % 2;
        let t = rng.random::<f64>() * std::f64::consts::PI;
        let (x, y) = if class == 0 {
            (t.cos(), t.sin())
        } else {
            (1.0 - t.cos(), 0.5 - t.sin())
        };
        xy.push(x + 0.08 * (rng.random::<f64>() - 0.5) - 0.5);
        xy.push(y + 0.08 * (rng.random::<f64>() - 0.5) - 0.25);
        labels.push(class);
    }
    (xy, labels)
}

fn plot<D: Device<f64>>(
    path: &Path,
    stages: &[Points<D>],
    labels: &[usize],
    accuracy: f64,
) -> Res<()> {
    let root = BitMapBackend::new(path, (1200, 1260)).into_drawing_area();
    root.fill(&WHITE)?;
    let (title, body) = root.split_vertically(60);
    title.titled(
        &format!(
            "The value of depth: points after each 2x2 linear + tanh layer (accuracy {:.1}%)",
            100.0 * accuracy
        ),
        ("sans-serif", 24),
    )?;
    let panels = body.split_evenly((3, 3));
    for (k, (panel, stage)) in panels.iter().zip(stages).enumerate() {
        let v = stage.to_vec();
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for &c in &v {
            lo = lo.min(c);
            hi = hi.max(c);
        }
        let pad = 0.05 * (hi - lo).max(1e-6);
        let name = if k == 0 {
            "input".to_string()
        } else {
            format!("after layer {k}")
        };
        let mut chart = ChartBuilder::on(panel)
            .caption(name, ("sans-serif", 20))
            .margin(8)
            .x_label_area_size(24)
            .y_label_area_size(36)
            .build_cartesian_2d(lo - pad..hi + pad, lo - pad..hi + pad)?;
        chart.configure_mesh().x_labels(5).y_labels(5).draw()?;
        let colors = [RGBColor(31, 119, 180), RGBColor(214, 39, 40)];
        chart.draw_series(
            v.chunks(2)
                .zip(labels)
                .map(|(p, &c)| Circle::new((p[0], p[1]), 2, colors[c].mix(0.6).filled())),
        )?;
    }
    root.present()?;
    Ok(())
}

fn main() -> Res<()> {
    let out_dir = support::plot_setup(Path::new(env!("CARGO_MANIFEST_DIR")))?;
    with_device(3, Depth { out_dir })
}

/// The training and the plot, on the device the user chose.
struct Depth {
    out_dir: PathBuf,
}

impl OnDevice for Depth {
    fn run<D: ExampleDevice>(self, dev: D) -> Res<()> {
        depth(&dev, &self.out_dir)
    }
}

fn depth<D: Device<f64>>(dev: &D, out_dir: &Path) -> Res<()> {
    let mut rng = StdRng::seed_from_u64(3);
    let n = 600;
    let (xy, labels) = moons(n, &mut rng);
    let x: Points<D> = Tensor::from_vec((Dyn(n), Default::default()), xy, dev);
    let y: Tensor<(Dyn,), usize, D> = Tensor::from_vec((Dyn(n),), labels.clone(), dev);

    let mut model = DeepToy::new(dev);
    let mut opt = Adam::new(AdamConfig {
        lr: 1e-2,
        ..Default::default()
    })?;
    let steps = 3000;
    let bar = ProgressBar::new(steps as u64).with_style(ProgressStyle::with_template(
        "{bar:40} {pos}/{len} steps, loss {msg}",
    )?);
    for step in 0..steps {
        let loss = cross_entropy(model.forward(x.clone().trace_no_grad()).1, &y);
        let value = loss.item();
        let grads = loss.backward();
        opt.step(&mut model, &grads)?;
        if step % 50 == 0 {
            bar.set_message(format!("{value:.4}"));
        }
        bar.inc(1);
    }
    bar.finish();

    let predicted = model.forward(x.clone()).1.argmax_axis::<1>().to_vec();
    let correct = predicted
        .iter()
        .zip(&labels)
        .filter(|(a, b)| a == b)
        .count();
    let accuracy = correct as f64 / n as f64;
    let path = out_dir.join("value_of_depth.png");
    plot(&path, &model.forward(x).0, &labels, accuracy)?;
    println!(
        "training accuracy: {:.1}% ({correct}/{n})",
        100.0 * accuracy
    );
    println!("wrote {}", path.display());
    Ok(())
}
