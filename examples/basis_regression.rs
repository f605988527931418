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
//!   closed-form weights.
//!
//! Run with `cargo run --release --example basis_regression`; it prints
//! the tables and writes PNG plots to `target/plots/` (override with the
//! `PLOT_DIR` environment variable).

use std::error::Error;
use std::path::{Path, PathBuf};

use plotters::prelude::*;
use plotters::style::FontStyle;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::Normal;
use typegrad::linalg::{least_squares, Matrix};

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
        w.iter().enumerate().map(|(k, wk)| wk * self.bump(k, x)).sum()
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

fn print_table(title: &str, fits: &[Fit]) {
    println!("{title}");
    println!("  {:>8} {:>8} {:>12} {:>12}   ", "bases K", "samples N", "train MSE", "test MSE");
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
        .draw_series(LineSeries::new(grid().map(|x| (x, truth(x))), BLACK.stroke_width(1)))?
        .label("sin(2πx)")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK));
    chart
        .draw_series(LineSeries::new(
            grid().map(|x| (x, clamp_y(basis.predict(w, x)))),
            RED.stroke_width(2),
        ))?
        .label(format!("fit, K = {}", basis.k()))
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED.stroke_width(2)));
    chart.draw_series(
        data.x
            .iter()
            .zip(&data.y)
            .map(|(&x, &y)| Circle::new((x, y), 4, BLACK.filled())),
    )?;
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
    for k in 0..basis.k() {
        let s = chart.draw_series(LineSeries::new(
            grid().map(|x| (x, clamp_y(w[k] * basis.bump(k, x)))),
            BLUE.mix(0.7).stroke_width(1),
        ))?;
        if k == 0 {
            s.label("w_k f_k(x)").legend(|(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], BLUE.mix(0.7).stroke_width(1))
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
fn plot_errors(path: &Path, title: &str, x_desc: &str, fits: &[Fit], x_of: fn(&Fit) -> usize) -> Res<()> {
    let root = BitMapBackend::new(path, (W, H * 2 / 3)).into_drawing_area();
    root.fill(&WHITE)?;
    let x_max = fits.iter().map(x_of).max().unwrap_or(1) as f64;
    let x_min = fits.iter().map(x_of).min().unwrap_or(1) as f64;
    let lo = 1e-5f64;
    let hi = 1e2f64;
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
        .label(format!("noise floor σ² = {floor}"))
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK.mix(0.6)));
    for (name, colour, get) in [
        ("train MSE", BLUE, (|f: &Fit| f.train) as fn(&Fit) -> f64),
        ("test MSE", RED, |f: &Fit| f.test),
    ] {
        let pts: Vec<(f64, f64)> = fits.iter().map(|f| (x_of(f) as f64, pos(get(f)))).collect();
        chart
            .draw_series(LineSeries::new(pts.clone(), colour.stroke_width(2)))?
            .label(name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2)));
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

fn main() -> Res<()> {
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

    // Curves for the plots.
    let all_k: Vec<Fit> = (1..=40)
        .map(|k| fit_and_score(k, &small, &test))
        .collect::<Res<_>>()?;
    let all_n: Vec<Fit> = [10, 12, 15, 20, 25, 30, 40, 50, 70, 100, 150, 200, 300, 500, 700, 1000]
        .iter()
        .map(|&n| fit_and_score(K_LARGE, &pool.head(n), &test))
        .collect::<Res<_>>()?;

    let mut written = Vec::new();
    let p = out_dir.join("basis_functions.png");
    let b10 = Basis::new(10);
    plot_bases(&p, &b10, &b10.fit(&small, TINY_RIDGE)?, &small)?;
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

    println!("Plots written:");
    for p in &written {
        println!("  {}", p.display());
    }
    Ok(())
}
