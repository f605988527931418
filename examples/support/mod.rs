//! Shared by the MNIST examples: the plot font, the output folder and the
//! per-epoch loss chart.

#![allow(dead_code)] // each example uses a part

pub mod device;
pub mod mnist;

use std::error::Error;
use std::path::{Path, PathBuf};

use plotters::prelude::*;
use plotters::style::FontStyle;

/// Register the bundled DejaVu Sans as plotters' "sans-serif" (no system
/// fonts needed) and return the folder plots go to: `PLOT_DIR`, or
/// `target/plots`, created if missing.
pub fn plot_setup(root: &Path) -> Result<PathBuf, Box<dyn Error>> {
    plotters::style::register_font(
        "sans-serif",
        FontStyle::Normal,
        include_bytes!("../../assets/fonts/DejaVuSans.ttf"),
    )
    .map_err(|_| "could not parse assets/fonts/DejaVuSans.ttf")?;
    let out_dir = std::env::var_os("PLOT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/plots"));
    std::fs::create_dir_all(&out_dir)?;
    Ok(out_dir)
}

/// The training and validation loss per epoch, as a PNG.
pub fn plot_losses(
    path: &Path,
    title: &str,
    train: &[f64],
    val: &[f64],
) -> Result<(), Box<dyn Error>> {
    let root = BitMapBackend::new(path, (900, 560)).into_drawing_area();
    root.fill(&WHITE)?;
    let top = train.iter().chain(val).cloned().fold(0.0, f64::max) * 1.1;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 26))
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0.5f64..train.len() as f64 + 0.5, 0f64..top)?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc("cross-entropy")
        .draw()?;
    let epochs = |v: &[f64]| {
        v.iter()
            .enumerate()
            .map(|(i, &l)| (i as f64 + 1.0, l))
            .collect::<Vec<_>>()
    };
    for (series, color, label) in [(train, BLUE, "training"), (val, RED, "validation")] {
        chart
            .draw_series(LineSeries::new(epochs(series), color.stroke_width(3)))?
            .label(label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(3))
            });
        chart.draw_series(
            epochs(series)
                .into_iter()
                .map(|p| Circle::new(p, 4, color.filled())),
        )?;
    }
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE.mix(0.8))
        .draw()?;
    root.present()?;
    Ok(())
}

/// Training and validation loss against the optimizer step, as a PNG
/// (`(step, loss)` points; the training curve is usually denser).
pub fn plot_loss_curve(
    path: &Path,
    title: &str,
    train: &[(f64, f64)],
    val: &[(f64, f64)],
) -> Result<(), Box<dyn Error>> {
    let root = BitMapBackend::new(path, (900, 560)).into_drawing_area();
    root.fill(&WHITE)?;
    let top = train.iter().chain(val).map(|p| p.1).fold(0.0, f64::max) * 1.05;
    let last = train.iter().chain(val).map(|p| p.0).fold(1.0, f64::max);
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 26))
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..last, 0f64..top)?;
    chart
        .configure_mesh()
        .x_desc("step")
        .y_desc("cross-entropy")
        .draw()?;
    for (series, color, label) in [(train, BLUE, "training"), (val, RED, "validation")] {
        chart
            .draw_series(LineSeries::new(series.to_vec(), color.stroke_width(2)))?
            .label(label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(3))
            });
    }
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE.mix(0.8))
        .draw()?;
    root.present()?;
    Ok(())
}
