//! Basis function regression, under- and over-fitting (The Little Book of
//! Deep Learning, §1.2 and §1.3).
//!
//! The model is a linear combination of `K` Gaussian bumps,
//! `f(x; w) = Σ_k w_k·exp(-(x - μ_k)² / (2σ²))`, fitted to noisy samples of
//! `y = sin(2πx)` on `[0, 1]`. Its loss, the mean squared error, is quadratic
//! in `w`, so the best `w` solves a linear system ([`least_squares`]).
//!
//! - Capacity: with 15 training samples, 2 bumps under-fit (high train and
//!   test error), 5–10 fit, 40 over-fit (train error ~0, test error large).
//! - Data: with 40 bumps, more samples turn the over-fitting model into a
//!   good one; the test error falls to the noise floor `σ_noise²`.
//! - Gradient descent with typegrad's autograd on the same loss reaches the
//!   closed-form weights (max |w_gd - w_cf| < 1e-6·max |w_cf|, asserted):
//!   for K = 5 without regularisation, and for the over-fitting K = 10 with
//!   weight decay `λ·|w|²` (closed form with `ridge = N·λ`), which also
//!   bounds the condition number so that plain gradient descent converges
//!   in ~10⁴ steps.
//!
//! Run with `cargo run --release --example basis_regression` (the gradient
//! descent runs on `--device cuda` with the `cuda` feature, or on the device
//! `TYPEGRAD_DEVICE` names); it prints the tables and writes PNG plots to
//! `target/plots/` (override with the `PLOT_DIR` environment variable).

use std::error::Error;
use std::path::{Path, PathBuf};

use plotters::prelude::*;
use plotters::style::FontStyle;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::Normal;
use typegrad::linalg::{least_squares, Matrix};
use typegrad::prelude::*;

mod support;
use support::device::{with_device, ExampleDevice, OnDevice};

/// Standard deviation of the label noise; its square is the best test MSE
/// any model can reach.
const NOISE: f64 = 0.2;
/// Ridge added to `ΦᵀΦ` in the closed-form fits: only there to keep the
/// over-parameterised systems (K > N) solvable, far too small to regularise.
const TINY_RIDGE: f64 = 1e-8;
/// Training samples of the capacity experiment.
const N_SMALL: usize = 15;
/// Bases of the data-size experiment.
const K_LARGE: usize = 40;

type Res<T> = Result<T, Box<dyn Error>>;

/// The curve under the data.
fn truth(x: f64) -> f64 {
    (2.0 * std::f64::consts::PI * x).sin()
}

/// Noisy samples `(x, truth(x) + noise)` with `x` uniform in `[0, 1]`.
#[derive(Clone)]
struct Data {
    x: Vec<f64>,
    y: Vec<f64>,
}

impl Data {
    fn sample(rng: &mut StdRng, n: usize) -> Data {
        let noise = Normal::new(0.0, NOISE).expect("valid normal");
        let x: Vec<f64> = (0..n).map(|_| rng.random::<f64>()).collect();
        let y = x.iter().map(|&x| truth(x) + rng.sample(noise)).collect();
        Data { x, y }
    }

    fn head(&self, n: usize) -> Data {
        Data {
            x: self.x[..n].to_vec(),
            y: self.y[..n].to_vec(),
        }
    }

    fn len(&self) -> usize {
        self.x.len()
    }
}

/// `K` Gaussian bumps with centres `(k + 1/2)/K` and width `1/K`: the
/// centres tile `[0, 1]` and neighbouring bumps overlap.
struct Basis {
    centres: Vec<f64>,
    width: f64,
}

impl Basis {
    fn new(k: usize) -> Basis {
        Basis {
            centres: (0..k).map(|i| (i as f64 + 0.5) / k as f64).collect(),
            width: 1.0 / k as f64,
        }
    }

    fn k(&self) -> usize {
        self.centres.len()
    }

    /// `f_k(x)`.
    fn bump(&self, k: usize, x: f64) -> f64 {
        let d = (x - self.centres[k]) / self.width;
        (-0.5 * d * d).exp()
    }

    /// The design matrix `Φ[n][k] = f_k(x_n)`.
    fn design(&self, xs: &[f64]) -> Matrix {
        Matrix::from_fn(xs.len(), self.k(), |n, k| self.bump(k, xs[n]))
    }

    /// `f(x; w) = Σ_k w_k f_k(x)`.
    fn predict(&self, w: &[f64], x: f64) -> f64 {
        w.iter()
            .enumerate()
            .map(|(k, wk)| wk * self.bump(k, x))
            .sum()
    }

    fn mse(&self, w: &[f64], data: &Data) -> f64 {
        let se: f64 = data
            .x
            .iter()
            .zip(&data.y)
            .map(|(&x, &y)| (self.predict(w, x) - y).powi(2))
            .sum();
        se / data.len() as f64
    }

    /// Closed-form least squares.
    fn fit(&self, data: &Data, ridge: f64) -> Res<Vec<f64>> {
        Ok(least_squares(&self.design(&data.x), &data.y, ridge)?)
    }
}

/// One fitted model and its errors.
struct Fit {
    k: usize,
    n: usize,
    w: Vec<f64>,
    train: f64,
    test: f64,
}

fn fit_and_score(k: usize, train: &Data, test: &Data) -> Res<Fit> {
    let basis = Basis::new(k);
    let w = basis.fit(train, TINY_RIDGE)?;
    Ok(Fit {
        k,
        n: train.len(),
        train: basis.mse(&w, train),
        test: basis.mse(&w, test),
        w,
    })
}

fn verdict(f: &Fit) -> &'static str {
    let floor = NOISE * NOISE;
    if f.train > 2.0 * floor {
        "under-fits"
    } else if f.test > 2.0 * floor {
        "over-fits"
    } else {
        "fits"
    }
}

fn fmt_vec(v: &[f64]) -> String {
    let items: Vec<String> = v.iter().map(|x| format!("{x:+.8}")).collect();
    format!("[{}]", items.join(", "))
}

fn print_table(title: &str, fits: &[Fit]) {
    println!("{title}");
    println!(
        "  {:>8} {:>9} {:>12} {:>12}",
        "bases K", "samples N", "train MSE", "test MSE"
    );
    for f in fits {
        println!(
            "  {:>8} {:>9} {:>12.5} {:>12.5}   {}",
            f.k,
            f.n,
            f.train,
            f.test,
            verdict(f)
        );
    }
    println!();
}

// ------------------------------------------------------ gradient descent --

/// Gradient descent stops when every gradient entry is below this...
const GD_GRAD_TOL: f64 = 1e-12;
/// ...or after this many steps.
const GD_MAX_STEPS: usize = 200_000;
/// Progress line every this many steps.
const GD_PRINT_EVERY: usize = 5_000;

/// One gradient-descent comparison: bases, training samples, and the
/// weight decay `λ` of the objective `mean((Φw - y)²) + λ·|w|²`.
struct GdRun {
    k: usize,
    n: usize,
    weight_decay: f64,
}

/// The runs: the well-fitting model of the capacity table, with no
/// regularisation (Hessian condition number ~800, fine for plain gradient
/// descent), and the over-fitting K = 10 model, whose un-regularised loss
/// is badly conditioned (~2·10⁴) but whose weight decay bounds the
/// condition number (~700).
const GD_RUNS: [GdRun; 2] = [
    GdRun {
        k: 5,
        n: N_SMALL,
        weight_decay: 0.0,
    },
    GdRun {
        k: 10,
        n: N_SMALL,
        weight_decay: 1e-3,
    },
];

/// Result of one gradient-descent run and its closed-form reference.
struct GdResult {
    k: usize,
    weight_decay: f64,
    steps: usize,
    secs: f64,
    w_gd: Vec<f64>,
    w_cf: Vec<f64>,
    /// `max_k |w_gd[k] - w_cf[k]|`.
    dw: f64,
    /// `|J(w_gd) - J(w_cf)| / J(w_cf)` for the objective `J`.
    rel_objective: f64,
    /// Training and test MSE of the gradient-descent weights.
    train: f64,
    test: f64,
    /// Sampled history: step, `J(w_t) - J(w_cf)`, `max_k |w_t[k] - w_cf[k]|`.
    history: Vec<(usize, f64, f64)>,
}

fn max_abs(v: &[f64]) -> f64 {
    v.iter().fold(0.0, |m, x| m.max(x.abs()))
}

fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).fold(0.0, |m, (p, q)| m.max((p - q).abs()))
}

/// The largest eigenvalue of `(2/N)·ΦᵀΦ` by power iteration.
fn gram_max_eigenvalue(phi: &Matrix) -> Res<f64> {
    let g = phi.transpose().matmul(phi)?;
    let scale = 2.0 / phi.rows() as f64;
    let mut v = vec![1.0; phi.cols()];
    let mut lambda = 0.0;
    for _ in 0..10_000 {
        let u = g.matvec(&v)?;
        let norm = u.iter().map(|x| x * x).sum::<f64>().sqrt();
        v = u.iter().map(|x| x / norm).collect();
        let next = norm * scale;
        if (next - lambda).abs() <= 1e-12 * next {
            return Ok(next);
        }
        lambda = next;
    }
    Ok(lambda)
}

/// Minimises `J(w) = mean((Φ·w - y)²) + λ·|w|²` by plain gradient descent
/// (book §3.2) from `w = 0`, with the gradient from typegrad's autograd,
/// and compares with the closed form `(ΦᵀΦ + N·λ·I) w = Φᵀy`.
fn gradient_descent<D: Device<f64>>(
    dev: &D,
    run: &GdRun,
    pool: &Data,
    test: &Data,
) -> Res<GdResult> {
    let (k, n, lambda) = (run.k, run.n, run.weight_decay);
    let data = pool.head(n);
    let basis = Basis::new(k);
    let phi = basis.design(&data.x);
    let objective = |w: &[f64]| basis.mse(w, &data) + lambda * w.iter().map(|v| v * v).sum::<f64>();
    let w_cf = least_squares(&phi, &data.y, n as f64 * lambda)?;
    let j_cf = objective(&w_cf);

    // Step 1/L, L the largest eigenvalue of the Hessian (2/N)ΦᵀΦ + 2λI.
    let lipschitz = gram_max_eigenvalue(&phi)? + 2.0 * lambda;
    let lr = 1.0 / lipschitz;
    println!(
        "Gradient descent, K = {k}, N = {n}, weight decay λ = {lambda}: from w = 0 with step \
         1/L = {lr:.4} (L = {lipschitz:.4}, the Hessian's largest eigenvalue)"
    );
    println!(
        "  {:>7} {:>16} {:>12} {:>16}",
        "step", "objective J(w)", "max |dJ/dw|", "max |w - w_cf|"
    );

    let phi_t: Tensor<(Dyn, Dyn), f64, D> =
        Tensor::from_vec((Dyn(n), Dyn(k)), phi.as_slice().to_vec(), dev);
    let y_t: Tensor<(Dyn,), f64, D> = Tensor::from_vec((Dyn(n),), data.y.clone(), dev);
    let mut w: Tensor<(Dyn,), f64, D> = Tensor::zeros((Dyn(k),), dev);
    let mut history = Vec::new();
    let start = std::time::Instant::now();
    let mut step = 0;
    loop {
        // Forward on a tracked copy of w (same id), backward, read dJ/dw.
        let wt = w.clone().trace();
        let mse = (phi_t.clone().matmul(wt.clone()) - y_t.clone())
            .square()
            .mean();
        let loss = if lambda > 0.0 {
            mse + wt.square().sum().mul_scalar(lambda)
        } else {
            mse
        };
        let j = loss.item();
        let grads = loss.backward();
        let g = grads.get(&w).ok_or("the loss does not depend on w")?;
        let g_max = max_abs(&g.to_vec());

        let done = g_max < GD_GRAD_TOL || step == GD_MAX_STEPS;
        if step % 50 == 0 || done {
            let w_err = max_abs_diff(&w.to_vec(), &w_cf);
            history.push((step, j - j_cf, w_err));
            if step % GD_PRINT_EVERY == 0 || done {
                println!("  {step:>7} {j:>16.12} {g_max:>12.3e} {w_err:>16.3e}");
            }
        }
        if done {
            break;
        }
        w = w - g.mul_scalar(lr);
        step += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    let w_gd = w.to_vec();
    let j_gd = objective(&w_gd);
    let result = GdResult {
        k,
        weight_decay: lambda,
        steps: step,
        secs,
        dw: max_abs_diff(&w_gd, &w_cf),
        rel_objective: (j_gd - j_cf).abs() / j_cf,
        train: basis.mse(&w_gd, &data),
        test: basis.mse(&w_gd, test),
        w_gd,
        w_cf,
        history,
    };
    println!(
        "  {} steps in {secs:.2} s ({:.0} steps/s)",
        result.steps,
        result.steps as f64 / secs.max(1e-9)
    );
    println!("  closed form      w = {}", fmt_vec(&result.w_cf));
    println!("  gradient descent w = {}", fmt_vec(&result.w_gd));
    println!(
        "  max |w_gd - w_cf| = {:.2e} (max |w_cf| = {:.3}); objective {j_gd:.12} vs {j_cf:.12} \
         (relative difference {:.1e})\n",
        result.dw,
        max_abs(&result.w_cf),
        result.rel_objective
    );
    Ok(result)
}

// ----------------------------------------------------------------- plots --

const W: u32 = 1200;
const H: u32 = 900;
const GRID: usize = 400;
const Y_RANGE: std::ops::Range<f64> = -2.0..2.0;

fn grid() -> impl Iterator<Item = f64> {
    (0..=GRID).map(|i| i as f64 / GRID as f64)
}

/// Keeps an over-fitted curve inside the panel (its excursions are the
/// point of the picture, their exact height is not).
fn clamp_y(y: f64) -> f64 {
    y.clamp(Y_RANGE.start, Y_RANGE.end)
}

/// One panel: the true curve (thin black), the samples (black dots) and
/// the fitted curve (red), like the book's figures 1.1 and 1.2.
fn draw_fit<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    caption: &str,
    basis: &Basis,
    w: &[f64],
    data: &Data,
) -> Res<()>
where
    DB::ErrorType: 'static,
{
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(44)
        .build_cartesian_2d(0.0..1.0, Y_RANGE)?;
    chart
        .configure_mesh()
        .x_desc("x")
        .y_desc("y")
        .label_style(("sans-serif", 15))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    chart
        .draw_series(LineSeries::new(
            grid().map(|x| (x, truth(x))),
            BLACK.stroke_width(1),
        ))?
        .label("sin(2πx)")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK));
    // Many samples: small translucent dots, so the fit stays visible.
    let (radius, dot) = if data.len() <= 50 {
        (4, BLACK.filled())
    } else {
        (2, BLACK.mix(0.35).filled())
    };
    chart.draw_series(
        data.x
            .iter()
            .zip(&data.y)
            .map(|(&x, &y)| Circle::new((x, y), radius, dot)),
    )?;
    chart
        .draw_series(LineSeries::new(
            grid().map(|x| (x, clamp_y(basis.predict(w, x)))),
            RED.stroke_width(2),
        ))?
        .label(format!("fit, K = {}", basis.k()))
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED.stroke_width(2)));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font(("sans-serif", 15))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

/// Figure 1.1: the weighted bases `w_k f_k` (blue), their sum (red), the
/// training points (black).
fn plot_bases(path: &Path, basis: &Basis, w: &[f64], data: &Data) -> Res<()> {
    let root = BitMapBackend::new(path, (W, H * 2 / 3)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!(
                "Basis function regression: {} Gaussian bases fitted to {} samples",
                basis.k(),
                data.len()
            ),
            ("sans-serif", 24),
        )
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(0.0..1.0, Y_RANGE)?;
    chart
        .configure_mesh()
        .x_desc("x")
        .y_desc("y")
        .label_style(("sans-serif", 16))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    for (k, &wk) in w.iter().enumerate() {
        let s = chart.draw_series(LineSeries::new(
            grid().map(|x| (x, clamp_y(wk * basis.bump(k, x)))),
            BLUE.mix(0.7).stroke_width(2),
        ))?;
        if k == 0 {
            s.label("w_k f_k(x)").legend(|(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], BLUE.mix(0.7).stroke_width(2))
            });
        }
    }
    chart
        .draw_series(LineSeries::new(
            grid().map(|x| (x, clamp_y(basis.predict(w, x)))),
            RED.stroke_width(3),
        ))?
        .label("f(x; w) = Σ w_k f_k(x)")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED.stroke_width(3)));
    chart
        .draw_series(
            data.x
                .iter()
                .zip(&data.y)
                .map(|(&x, &y)| Circle::new((x, y), 5, BLACK.filled())),
        )?
        .label("training samples")
        .legend(|(x, y)| Circle::new((x + 10, y), 5, BLACK.filled()));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font(("sans-serif", 16))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

/// A 2x2 grid of fits.
fn plot_fit_grid(path: &Path, title: &str, panels: &[(&Fit, &Data)]) -> Res<()> {
    let root = BitMapBackend::new(path, (W, H)).into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.titled(title, ("sans-serif", 28))?;
    for (area, (fit, data)) in root.split_evenly((2, 2)).iter().zip(panels) {
        let caption = format!(
            "K = {}, N = {}: train MSE {:.3}, test MSE {:.3}",
            fit.k, fit.n, fit.train, fit.test
        );
        draw_fit(area, &caption, &Basis::new(fit.k), &fit.w, data)?;
    }
    root.present()?;
    Ok(())
}

/// Train and test MSE against `x` (log-log), with the noise floor.
fn plot_errors(
    path: &Path,
    title: &str,
    x_desc: &str,
    fits: &[Fit],
    x_of: fn(&Fit) -> usize,
) -> Res<()> {
    let root = BitMapBackend::new(path, (W, H * 2 / 3)).into_drawing_area();
    root.fill(&WHITE)?;
    let x_max = fits.iter().map(x_of).max().unwrap_or(1) as f64;
    let x_min = fits.iter().map(x_of).min().unwrap_or(1) as f64;
    // Interpolating fits have a train MSE of ~0: show those at the bottom.
    let lo = fits
        .iter()
        .flat_map(|f| [f.train, f.test])
        .fold(1e-3f64, f64::min)
        .max(1e-12)
        / 2.0;
    let hi = fits.iter().map(|f| f.test).fold(1.0f64, f64::max) * 2.0;
    let pos = |v: f64| v.clamp(lo, hi);
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 24))
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(70)
        .build_cartesian_2d((x_min..x_max).log_scale(), (lo..hi).log_scale())?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc("mean squared error")
        .label_style(("sans-serif", 16))
        .y_label_formatter(&|v| format!("{v:.0e}"))
        .x_label_formatter(&|v| format!("{v:.0}"))
        .draw()?;
    let floor = NOISE * NOISE;
    chart
        .draw_series(LineSeries::new(
            [(x_min, floor), (x_max, floor)],
            BLACK.mix(0.6).stroke_width(1),
        ))?
        .label(format!("noise floor σ² = {floor:.2}"))
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK.mix(0.6)));
    for (name, colour, get) in [
        ("train MSE", BLUE, (|f: &Fit| f.train) as fn(&Fit) -> f64),
        ("test MSE", RED, |f: &Fit| f.test),
    ] {
        let pts: Vec<(f64, f64)> = fits.iter().map(|f| (x_of(f) as f64, pos(get(f)))).collect();
        chart
            .draw_series(LineSeries::new(pts.clone(), colour.stroke_width(2)))?
            .label(name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
            });
        chart.draw_series(pts.into_iter().map(|p| Circle::new(p, 4, colour.filled())))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerLeft)
        .label_font(("sans-serif", 16))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

/// Left: each run's distance to its closed form, per step (log scale).
/// Right: the closed-form and gradient-descent curves on top of each other.
fn plot_gd(path: &Path, runs: &[GdResult], data: &Data) -> Res<()> {
    let root = BitMapBackend::new(path, (W, H * 2 / 3)).into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.titled(
        "Gradient descent with typegrad autograd reaches the closed-form fit",
        ("sans-serif", 24),
    )?;
    let (left, right) = root.split_horizontally(W / 2);
    let colours = [BLUE, RGBColor(0, 150, 0)];
    let light = [RGBColor(150, 170, 255), RGBColor(150, 220, 150)];
    let name = |r: &GdResult| format!("K = {}, λ = {}", r.k, r.weight_decay);

    let floor = 1e-17;
    let top = runs
        .iter()
        .flat_map(|r| r.history.iter().flat_map(|h| [h.1.abs(), h.2]))
        .fold(1.0f64, f64::max)
        * 3.0;
    let last = runs.iter().map(|r| r.steps).max().unwrap_or(1).max(1) as f64;
    let mut chart = ChartBuilder::on(&left)
        .caption("distance to the closed form", ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..last, (floor..top).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("gradient descent step")
        .label_style(("sans-serif", 15))
        .y_label_formatter(&|v| format!("{v:.0e}"))
        .x_label_formatter(&|v| format!("{v:.0}"))
        .draw()?;
    for (r, &c) in runs.iter().zip(&colours) {
        let pts = |f: fn(&(usize, f64, f64)) -> f64| -> Vec<(f64, f64)> {
            r.history
                .iter()
                .map(|h| (h.0 as f64, f(h).abs().max(floor)))
                .collect()
        };
        chart
            .draw_series(LineSeries::new(pts(|h| h.2), c.stroke_width(2)))?
            .label(format!("{}: max |w - w_cf|", name(r)))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
        chart
            .draw_series(LineSeries::new(pts(|h| h.1), c.mix(0.5).stroke_width(1)))?
            .label(format!("{}: J(w) - J(w_cf)", name(r)))
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], c.mix(0.5).stroke_width(1))
            });
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font(("sans-serif", 14))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;

    let mut chart = ChartBuilder::on(&right)
        .caption(
            format!("fits to N = {} samples", data.len()),
            ("sans-serif", 20),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(44)
        .build_cartesian_2d(0.0..1.0, Y_RANGE)?;
    chart
        .configure_mesh()
        .x_desc("x")
        .y_desc("y")
        .label_style(("sans-serif", 15))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    chart.draw_series(
        data.x
            .iter()
            .zip(&data.y)
            .map(|(&x, &y)| Circle::new((x, y), 4, BLACK.filled())),
    )?;
    for ((r, &c), &lc) in runs.iter().zip(&colours).zip(&light) {
        let basis = Basis::new(r.k);
        chart
            .draw_series(LineSeries::new(
                grid().map(|x| (x, clamp_y(basis.predict(&r.w_cf, x)))),
                lc.stroke_width(8),
            ))?
            .label(format!("{}: closed form", name(r)))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], lc.stroke_width(8)));
        chart
            .draw_series(LineSeries::new(
                grid().map(|x| (x, clamp_y(basis.predict(&r.w_gd, x)))),
                c.stroke_width(2),
            ))?
            .label(format!("{}: gradient descent", name(r)))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerLeft)
        .label_font(("sans-serif", 14))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

fn main() -> Res<()> {
    with_device(0, Regression)
}

/// The experiments; the gradient descent runs on the device the user chose
/// (the closed forms are host linear algebra).
struct Regression;

impl OnDevice for Regression {
    fn run<D: ExampleDevice>(self, dev: D) -> Res<()> {
        regression(&dev)
    }
}

fn regression<D: Device<f64>>(dev: &D) -> Res<()> {
    plotters::style::register_font(
        "sans-serif",
        FontStyle::Normal,
        include_bytes!("../assets/fonts/DejaVuSans.ttf"),
    )
    .map_err(|_| "could not parse assets/fonts/DejaVuSans.ttf")?;
    let out_dir = std::env::var_os("PLOT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/plots"));
    std::fs::create_dir_all(&out_dir)?;

    let mut rng = StdRng::seed_from_u64(2024);
    let pool = Data::sample(&mut rng, 1000);
    let test = Data::sample(&mut rng, 2000);
    let small = pool.head(N_SMALL);

    println!("Basis function regression (book §1.2-1.3): y = sin(2πx) + N(0, {NOISE}²),");
    println!(
        "K Gaussian bases of width 1/K, closed-form least squares (ridge {TINY_RIDGE:e}); \
         test set of {} samples, noise floor MSE {:.2}.\n",
        test.len(),
        NOISE * NOISE
    );

    // Capacity: fixed small training set, more and more bases.
    let ks = [2, 5, 10, 40];
    let by_k: Vec<Fit> = ks
        .iter()
        .map(|&k| fit_and_score(k, &small, &test))
        .collect::<Res<_>>()?;
    print_table(&format!("Capacity: N = {N_SMALL} training samples"), &by_k);

    // Data: fixed over-parameterised model, more and more samples.
    let ns = [10, 20, 40, 100, 300, 1000];
    let by_n: Vec<Fit> = ns
        .iter()
        .map(|&n| fit_and_score(K_LARGE, &pool.head(n), &test))
        .collect::<Res<_>>()?;
    print_table(&format!("Data: K = {K_LARGE} bases"), &by_n);
    println!(
        "  (Near N = K the system is square and badly conditioned: the fit interpolates the\n   \
         noise with huge weights, the test-error peak of the interpolation threshold.)\n"
    );

    // Curves for the plots.
    let all_k: Vec<Fit> = (1..=40)
        .map(|k| fit_and_score(k, &small, &test))
        .collect::<Res<_>>()?;
    let all_n: Vec<Fit> = [
        10, 12, 15, 20, 25, 30, 40, 50, 70, 100, 150, 200, 300, 500, 700, 1000,
    ]
    .iter()
    .map(|&n| fit_and_score(K_LARGE, &pool.head(n), &test))
    .collect::<Res<_>>()?;

    let mut written = Vec::new();
    let p = out_dir.join("basis_functions.png");
    let b5 = Basis::new(5);
    plot_bases(&p, &b5, &b5.fit(&small, TINY_RIDGE)?, &small)?;
    written.push(p);

    let p = out_dir.join("fits_by_bases.png");
    let panels: Vec<(&Fit, &Data)> = by_k.iter().map(|f| (f, &small)).collect();
    plot_fit_grid(
        &p,
        &format!("Under- and over-fitting: {N_SMALL} samples, K Gaussian bases"),
        &panels,
    )?;
    written.push(p);

    let p = out_dir.join("fits_by_samples.png");
    let heads: Vec<Data> = [10, 20, 100, 1000].iter().map(|&n| pool.head(n)).collect();
    let shown: Vec<Fit> = heads
        .iter()
        .map(|d| fit_and_score(K_LARGE, d, &test))
        .collect::<Res<_>>()?;
    let panels: Vec<(&Fit, &Data)> = shown.iter().zip(&heads).collect();
    plot_fit_grid(
        &p,
        &format!("More data tames over-fitting: K = {K_LARGE} bases, N samples"),
        &panels,
    )?;
    written.push(p);

    let p = out_dir.join("mse_vs_bases.png");
    plot_errors(
        &p,
        &format!("Error against capacity ({N_SMALL} training samples)"),
        "number of Gaussian bases K",
        &all_k,
        |f| f.k,
    )?;
    written.push(p);

    let p = out_dir.join("mse_vs_samples.png");
    plot_errors(
        &p,
        &format!("Error against training set size (K = {K_LARGE} bases)"),
        "number of training samples N",
        &all_n,
        |f| f.n,
    )?;
    written.push(p);

    // Gradient descent on the same objectives, against the closed form.
    let gd: Vec<GdResult> = GD_RUNS
        .iter()
        .map(|run| gradient_descent(dev, run, &pool, &test))
        .collect::<Res<_>>()?;
    println!("Gradient descent vs closed form");
    println!(
        "  {:>7} {:>12} {:>7} {:>8} {:>18} {:>21} {:>10} {:>9}",
        "bases K",
        "weight decay",
        "steps",
        "seconds",
        "max |w_gd - w_cf|",
        "rel. objective diff.",
        "train MSE",
        "test MSE"
    );
    for r in &gd {
        println!(
            "  {:>7} {:>12} {:>7} {:>8.2} {:>18.2e} {:>21.1e} {:>10.5} {:>9.5}",
            r.k, r.weight_decay, r.steps, r.secs, r.dw, r.rel_objective, r.train, r.test
        );
    }
    println!();
    for r in &gd {
        let scale = max_abs(&r.w_cf);
        assert!(
            r.dw <= 1e-6 * scale && r.rel_objective <= 1e-10,
            "gradient descent (K = {}, weight decay {}) did not reach the closed-form solution: \
             max |w_gd - w_cf| = {:e} (max |w_cf| = {scale}), relative objective difference {:e}",
            r.k,
            r.weight_decay,
            r.dw,
            r.rel_objective
        );
    }
    let p = out_dir.join("gd_vs_closed_form.png");
    plot_gd(&p, &gd, &small)?;
    written.push(p);

    println!("Plots written:");
    for p in &written {
        println!("  {}", p.display());
    }
    Ok(())
}
