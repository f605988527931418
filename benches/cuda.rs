//! GPU benchmarks (feature `cuda`), each beside the same-run PyTorch CUDA
//! eager time (definitions: `benches/peers/torch_bench.py`, run with
//! `--device cuda`):
//!
//! - `sgemm_4096`: `C = A·B`, 4096² f32 through the matmul kernel (cuBLAS);
//!   the clock stops after the stream is synchronised; GFLOP/s = 2n³ / t.
//! - `mlp_train_b64`, `lenet_train_b64`, `gpt_mini_train_b16`: one training
//!   step each (forward, loss, backward, optimizer update) on `Cuda`,
//!   synchronised at the end of every step, as the peer synchronises with
//!   `torch.cuda.synchronize()`.
//!
//! Without a GPU it prints "skipped: no CUDA device" and exits 0. The
//! PyTorch peer runs when a Python with PyTorch is found (`PEERS_PYTHON`,
//! `PEERS_VENV`, `~/.cache/peers-venv`; `PEERS=0` skips it). `CUDA_BENCH=<workload>`
//! runs one workload. Timing: median of per-iteration times after a
//! warm-up (`BENCH_MIN_TIME` seconds, default 5).
//!
//! ```sh
//! cargo bench --features cuda --bench cuda
//! ```

mod support;

use typegrad::backend::cuda::Cuda;
use typegrad::ops::matmul::{MatmulKernel, MatmulParams};
use typegrad::prelude::*;

/// `n` pseudo-random values in [-1, 1).
fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut next = support::xorshift(seed);
    (0..n)
        .map(|_| (next() >> 40) as f32 / (1u64 << 23) as f32 - 1.0)
        .collect()
}

fn sgemm(gpu: &Cuda) -> support::Stats {
    let n = 4096;
    let a = gpu.upload(values(n * n, 1));
    let b = gpu.upload(values(n * n, 2));
    let p = MatmulParams {
        batch: 1,
        m: n,
        k: n,
        n,
        a_batch_stride: 0,
        b_batch_stride: 0,
        a_t: false,
        b_t: false,
    };
    support::measure(|| {
        let c = MatmulKernel::<f32>::matmul(gpu, p, &a, &b);
        gpu.synchronize().expect("synchronize");
        drop(c);
    })
}

/// The training workloads, on any device.
mod train {
    use super::support;
    use typegrad::loss::cross_entropy;
    use typegrad::models::{GptMini, LeNet5};
    use typegrad::nn::{Linear, Module, ReLU};
    use typegrad::optim::{Adam, AdamConfig, AdamW, Optimizer};
    use typegrad::prelude::*;

    #[derive(Module)]
    #[module(sequential)]
    struct Mlp<E: Dtype, D: Device<E>> {
        fc1: Linear<u!(784), u!(256), E, D>,
        act1: ReLU,
        fc2: Linear<u!(256), u!(128), E, D>,
        act2: ReLU,
        fc3: Linear<u!(128), u!(10), E, D>,
    }

    fn labels(n: usize) -> Vec<usize> {
        (0..n).map(|i| (i * 7 + 3) % 10).collect()
    }

    /// Time `step`, waiting for the device at the end of each.
    fn timed<D: Backend>(dev: &D, sync: impl Fn(&D), mut step: impl FnMut()) -> support::Stats {
        support::measure(|| {
            step();
            sync(dev);
        })
    }

    pub fn mlp<D: Device<f32>>(dev: &D, sync: impl Fn(&D)) -> support::Stats {
        let mut model: Mlp<f32, D> = Mlp {
            fc1: Linear::new(dev),
            act1: ReLU,
            fc2: Linear::new(dev),
            act2: ReLU,
            fc3: Linear::new(dev),
        };
        let x: Tensor<(Dyn, u!(784)), f32, D> =
            Tensor::randn((Dyn(64), Default::default()), 0.0, 1.0, dev);
        let y: Tensor<(Dyn,), usize, D> = Tensor::from_vec((Dyn(64),), labels(64), dev);
        let mut opt = Adam::new(AdamConfig {
            lr: 1e-3,
            ..Default::default()
        })
        .unwrap();
        let s = timed(dev, sync, || {
            let loss = cross_entropy(model.forward(x.clone().trace_no_grad()), &y);
            let grads = loss.backward();
            opt.step(&mut model, &grads).unwrap();
        });
        let after = cross_entropy(model.forward(x.clone()), &y).item();
        eprintln!("mlp_train_b64 loss after training {after}");
        s
    }

    pub fn lenet<D: Device<f32>>(dev: &D, sync: impl Fn(&D)) -> support::Stats {
        let mut model = LeNet5::<f32, D>::new(dev);
        let x: Tensor<(u!(64), u!(1), u!(28), u!(28)), f32, D> =
            Tensor::randn(Default::default(), 0.0, 1.0, dev);
        let y: Tensor<(u!(64),), usize, D> = Tensor::from_vec_static(labels(64), dev);
        let mut opt = Adam::new(AdamConfig {
            lr: 1e-3,
            ..Default::default()
        })
        .unwrap();
        let s = timed(dev, sync, || {
            let loss = cross_entropy(model.forward(x.clone().trace_no_grad()), &y);
            let grads = loss.backward();
            opt.step(&mut model, &grads).unwrap();
        });
        let after = cross_entropy(model.forward(x.clone()), &y).item();
        eprintln!("lenet_train_b64 loss after training {after}");
        s
    }

    pub fn gpt<D: Device<f32>>(dev: &D, sync: impl Fn(&D)) -> support::Stats {
        let mut model: GptMini<f32, D> = GptMini::new(dev);
        let shape = (Dyn(16), Dyn(64));
        let x = Tensor::<(Dyn, Dyn), usize, D>::from_vec(shape, support::token_ids(1024, 1), dev);
        let y = Tensor::<(Dyn, Dyn), usize, D>::from_vec(shape, support::token_ids(1024, 2), dev);
        let mut opt = AdamW::new(AdamConfig {
            lr: 3e-4,
            weight_decay: 0.1,
            ..AdamConfig::adamw()
        })
        .unwrap();
        let s = timed(dev, sync, || {
            let loss = cross_entropy(model.forward(x.clone().traced::<f32>()), &y);
            let grads = loss.backward();
            opt.step(&mut model, &grads).unwrap();
        });
        let after = cross_entropy(model.forward(x.clone()), &y).item();
        eprintln!("gpt_mini_train_b16 loss after training {after}");
        s
    }
}

/// The training workloads on the GPU (all, or the one `only` names).
fn training<D: Device<f32>>(
    dev: &D,
    sync: &dyn Fn(),
    only: Option<&str>,
) -> Vec<(&'static str, support::Stats)> {
    let sync = |_: &D| sync();
    let mut rows = Vec::new();
    type Run<D> = fn(&D, &dyn Fn(&D)) -> support::Stats;
    let runs: [(&'static str, Run<D>); 3] = [
        ("mlp_train_b64", |d, s| train::mlp(d, s)),
        ("lenet_train_b64", |d, s| train::lenet(d, s)),
        ("gpt_mini_train_b16", |d, s| train::gpt(d, s)),
    ];
    for (name, run) in runs {
        if only.is_none_or(|o| o == name) {
            eprintln!("running {name} on cuda");
            rows.push((name, run(dev, &sync)));
        }
    }
    rows
}

fn main() {
    let gpu = match Cuda::seeded(0, 0) {
        Ok(g) => g,
        Err(e) => {
            println!("skipped: no CUDA device ({e})");
            return;
        }
    };
    let only = std::env::var("CUDA_BENCH").ok();
    let mut rows = Vec::new();
    if only.as_deref().is_none_or(|o| o == "sgemm_4096") {
        eprintln!("running sgemm_4096 on cuda");
        rows.push(("sgemm_4096", sgemm(&gpu)));
    }
    let sync = || gpu.synchronize().expect("synchronize");
    rows.extend(training(&gpu, &sync, only.as_deref()));
    for (name, s) in &rows {
        let extra = if *name == "sgemm_4096" {
            format!(
                ", \"gflops\": {:.1}",
                2.0 * 4096f64.powi(3) / (s.median_ms * 1e-3) / 1e9
            )
        } else {
            String::new()
        };
        println!(
            "{{\"workload\": \"{name}\", \"peer\": \"typegrad\", \"device\": \"cuda\", \"median_ms\": {:.4}, \"p10_ms\": {:.4}, \"p90_ms\": {:.4}, \"iters\": {}{extra}}}",
            s.median_ms, s.p10_ms, s.p90_ms, s.iters
        );
    }
    let min_time = support::min_time().to_string();
    let mut torch = Vec::new();
    for (name, _) in &rows {
        let lines = support::run_peer(
            "torch_bench.py",
            &["--device", "cuda", "--only", name, "--min-time", &min_time],
        )
        .unwrap_or_default();
        for l in &lines {
            println!("{l}");
        }
        torch.extend(lines);
    }
    let torch_ms = |name: &str| {
        torch.iter().find_map(|l| {
            (support::json_string(l, "workload")? == name)
                .then(|| support::json_number(l, "median_ms"))?
        })
    };
    println!("\nCUDA, median ms; ratio = PyTorch / typegrad (> 1: typegrad faster)");
    println!("| workload | typegrad | PyTorch CUDA eager | PyTorch / typegrad |");
    println!("|---|---|---|---|");
    for (name, s) in &rows {
        let pt = torch_ms(name);
        println!(
            "| {name} | {:.3} | {} | {} |",
            s.median_ms,
            pt.map_or("n/a".to_string(), |v| format!("{v:.3}")),
            pt.map_or("n/a".to_string(), |v| format!("{:.2}x", v / s.median_ms)),
        );
    }
}
