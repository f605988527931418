//! The device, chosen in one place: `--device cpu|cuda` on the command line
//! (or `--device=cuda`), else the `TYPEGRAD_DEVICE` environment variable,
//! else the CPU. An example writes its training once, generic over the
//! device ([`OnDevice`]), and `main` is `with_device(seed, Program)`.

use std::error::Error;

use typegrad::prelude::*;

type Res<T> = Result<T, Box<dyn Error>>;

/// A device the examples can run on: a [`Device<f32>`] (and `<f64>`, for
/// the examples that compare with closed forms in double precision) that
/// can be made again with another random seed (a freshly initialised model
/// to reload a checkpoint into).
pub trait ExampleDevice: Device<f32> + Device<f64> {
    /// The device with random tensors seeded by `seed`.
    fn reseed(&self, seed: u64) -> Self;
}

impl ExampleDevice for Cpu {
    fn reseed(&self, seed: u64) -> Self {
        Cpu::seeded(seed)
    }
}

#[cfg(feature = "cuda")]
impl ExampleDevice for typegrad::backend::Cuda {
    fn reseed(&self, seed: u64) -> Self {
        // The same GPU, stream and compiled kernels.
        self.reseeded(seed)
    }
}

/// A program written once for every device.
pub trait OnDevice {
    /// Run on `dev`.
    fn run<D: ExampleDevice>(self, dev: D) -> Res<()>;
}

/// Which device the user asked for.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Choice {
    /// The CPU (the default).
    Cpu,
    /// CUDA GPU 0.
    Cuda,
}

/// The device asked for by `--device` or `TYPEGRAD_DEVICE` (the flag wins).
pub fn choice() -> Res<Choice> {
    let args: Vec<String> = std::env::args().collect();
    let flag = args.iter().enumerate().find_map(|(i, a)| {
        if a == "--device" {
            Some(args.get(i + 1).cloned().unwrap_or_default())
        } else {
            a.strip_prefix("--device=").map(str::to_string)
        }
    });
    let name = flag
        .or_else(|| std::env::var("TYPEGRAD_DEVICE").ok())
        .unwrap_or_else(|| "cpu".to_string());
    match name.to_ascii_lowercase().as_str() {
        "cpu" => Ok(Choice::Cpu),
        "cuda" | "gpu" | "cuda:0" => Ok(Choice::Cuda),
        other => Err(format!("unknown device {other:?}: use --device cpu or --device cuda").into()),
    }
}

/// The command-line arguments without `--device X` / `--device=X`, for an
/// example that parses its own flags.
pub fn args_without_device() -> Vec<String> {
    let mut out = Vec::new();
    let mut skip = false;
    for a in std::env::args().skip(1) {
        if skip {
            skip = false;
        } else if a == "--device" {
            skip = true;
        } else if !a.starts_with("--device=") {
            out.push(a);
        }
    }
    out
}

/// Run `program` on the device the user chose, with random seed `seed`.
/// `--device cuda` without the `cuda` feature, or without a GPU, is an
/// error saying so.
pub fn with_device(seed: u64, program: impl OnDevice) -> Res<()> {
    match choice()? {
        Choice::Cpu => {
            // Every core, this thread among them (as torch.set_num_threads).
            let threads = typegrad::backend::cpu::threads::init(0)?;
            println!("device: cpu, {threads} thread(s)");
            program.run(Cpu::seeded(seed))
        }
        Choice::Cuda => run_cuda(seed, program),
    }
}

#[cfg(feature = "cuda")]
fn run_cuda(seed: u64, program: impl OnDevice) -> Res<()> {
    let gpu = typegrad::backend::Cuda::seeded(0, seed)?;
    println!("device: cuda:0");
    program.run(gpu)
}

#[cfg(not(feature = "cuda"))]
fn run_cuda(_seed: u64, _program: impl OnDevice) -> Res<()> {
    Err(
        "--device cuda: this build has no CUDA support; rebuild with `--features cuda` \
         (e.g. `cargo run --release --features cuda --example mnist_mlp -- --device cuda`)"
            .into(),
    )
}
