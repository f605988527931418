//! `mlp_train_b64` (definition: `../shared/peers/torch_bench.py`): one full
//! training step of an MLP 784-256-128-10 (ReLU) on a fixed batch of 64,
//! mean cross-entropy, Adam(1e-3): forward + loss + backward + update.
//!
//! Two variants, so that every comparison is between equal work:
//! - `input_grad`: backward also computes the gradient of the batch
//!   (`trace()` here, `x.requires_grad_()` in PyTorch). dfdx 0.13 always
//!   does: its matmul backward writes both operands' gradients and the
//!   input carries the tape, so dfdx is compared only in this variant.
//! - `no_input_grad`: the first layer skips its input gradient
//!   (`trace_no_grad()` here; PyTorch's default for a batch without
//!   `requires_grad`, i.e. torch_bench's `mlp_train_b64`). dfdx cannot.
//!
//! typegrad and dfdx run in this binary; the PyTorch peer
//! (`benches/peers/mlp_train.py`, both variants) runs from it afterwards
//! when a Python with PyTorch is found (`PEERS_PYTHON`, `PEERS_VENV`, or
//! `~/.cache/peers-venv`; `PEERS=0` skips it), and the ratios of this run
//! are printed. Timing: median of per-iteration times after a warm-up, as
//! the peer scripts measure (`BENCH_MIN_TIME` seconds, default 5).
//!
//! ```sh
//! TYPEGRAD_THREADS=1 cargo bench --bench mlp_train
//! # the peer by hand:
//! python benches/peers/mlp_train.py --threads 1
//! ```

mod support;

use typegrad::loss::cross_entropy;
use typegrad::nn::{Linear, Module, ReLU};
use typegrad::optim::{Adam, AdamConfig, Optimizer};
use typegrad::prelude::*;

#[derive(Module)]
#[module(sequential)]
struct Mlp {
    fc1: Linear<u!(784), u!(256)>,
    act1: ReLU,
    fc2: Linear<u!(256), u!(128)>,
    act2: ReLU,
    fc3: Linear<u!(128), u!(10)>,
}

const BATCH: usize = 64;

fn labels() -> Vec<usize> {
    // Fixed pseudo-random labels in 0..10 (the batch is reused, as in the peer).
    (0..BATCH).map(|i| (i * 7 + 3) % 10).collect()
}

fn bench_typegrad(input_grad: bool) -> support::Stats {
    let dev = Cpu::seeded(0);
    let mut model = Mlp {
        fc1: Linear::new(&dev),
        act1: ReLU,
        fc2: Linear::new(&dev),
        act2: ReLU,
        fc3: Linear::new(&dev),
    };
    let x: Tensor<(Dyn, u!(784))> = Tensor::randn((Dyn(BATCH), Default::default()), 0.0, 1.0, &dev);
    let y: Tensor<(Dyn,), usize> = Tensor::from_vec((Dyn(BATCH),), labels(), &dev);
    let mut opt = Adam::new(AdamConfig {
        lr: 1e-3,
        ..Default::default()
    })
    .unwrap();
    let mut last = 0.0;
    let mut has_dx = false;
    let stats = support::measure(|| {
        let xt = if input_grad {
            x.clone().trace()
        } else {
            x.clone().trace_no_grad()
        };
        let loss = cross_entropy(model.forward(xt), &y);
        last = loss.item();
        let grads = loss.backward();
        has_dx = grads.get(&x).is_some();
        opt.step(&mut model, &grads).unwrap();
    });
    assert_eq!(has_dx, input_grad, "the input gradient is (not) computed");
    eprintln!("typegrad final loss {last}");
    stats
}

fn bench_dfdx() -> support::Stats {
    use dfdx::prelude::*;
    type DMlp = (
        (Linear<784, 256>, ReLU),
        (Linear<256, 128>, ReLU),
        Linear<128, 10>,
    );
    let dev = dfdx::tensor::Cpu::seed_from_u64(0);
    let mut model = dev.build_module::<DMlp, f32>();
    let mut grads = Some(model.alloc_grads());
    let mut opt = dfdx::optim::Adam::new(
        &model,
        dfdx::optim::AdamConfig {
            lr: 1e-3,
            ..Default::default()
        },
    );
    let x: Tensor<Rank2<BATCH, 784>, f32, _> = dev.sample_normal();
    let mut onehot = vec![0.0f32; BATCH * 10];
    for (i, l) in labels().into_iter().enumerate() {
        onehot[i * 10 + l] = 1.0;
    }
    let y: Tensor<Rank2<BATCH, 10>, f32, _> = dev.tensor(onehot);
    let mut last = 0.0;
    let stats = support::measure(|| {
        let mut g = grads.take().expect("gradients are put back every step");
        model.zero_grads(&mut g);
        // The input carries the tape: its gradient is computed (always).
        let logits = model.forward_mut(x.trace(g));
        let loss = cross_entropy_with_logits_loss(logits, y.clone());
        last = loss.array();
        let g = loss.backward();
        opt.update(&mut model, &g).unwrap();
        grads = Some(g);
    });
    eprintln!("dfdx final loss {last}");
    stats
}

fn main() {
    let threads = support::init_threads();
    eprintln!("mlp_train bench: {threads} thread(s) (TYPEGRAD_THREADS)");
    let rows = [
        ("input_grad", "typegrad", bench_typegrad(true)),
        ("input_grad", "dfdx", bench_dfdx()),
        ("no_input_grad", "typegrad", bench_typegrad(false)),
    ];
    for (variant, lib, s) in &rows {
        println!(
            "{{\"workload\": \"mlp_train_b64/{variant}\", \"peer\": \"{lib}\", \"threads\": {threads}, \"median_ms\": {:.4}, \"p10_ms\": {:.4}, \"p90_ms\": {:.4}, \"iters\": {}}}",
            s.median_ms, s.p10_ms, s.p90_ms, s.iters
        );
    }
    let t = threads.to_string();
    let min_time = support::min_time().to_string();
    let torch = support::run_peer("mlp_train.py", &["--threads", &t, "--min-time", &min_time])
        .unwrap_or_default();
    for l in &torch {
        println!("{l}");
    }
    let torch_ms = |variant: &str| {
        torch.iter().find_map(|l| {
            (support::json_string(l, "workload")? == format!("mlp_train_b64/{variant}"))
                .then(|| support::json_number(l, "median_ms"))?
        })
    };
    let ours = |variant: &str| {
        rows.iter()
            .find(|r| r.0 == variant && r.1 == "typegrad")
            .map(|r| r.2.median_ms)
            .unwrap()
    };
    println!("\nmlp_train_b64, {threads} thread(s), median ms; ratio = other / typegrad (> 1: typegrad faster)");
    println!("| variant | typegrad | dfdx 0.13 | PyTorch | dfdx / typegrad | PyTorch / typegrad |");
    println!("|---|---|---|---|---|---|");
    for variant in ["input_grad", "no_input_grad"] {
        let tg = ours(variant);
        let dfdx = rows
            .iter()
            .find(|r| r.0 == variant && r.1 == "dfdx")
            .map(|r| r.2.median_ms);
        let pt = torch_ms(variant);
        let cell = |v: Option<f64>| v.map_or("n/a".to_string(), |v| format!("{v:.3}"));
        let ratio = |v: Option<f64>| v.map_or("n/a".to_string(), |v| format!("{:.2}x", v / tg));
        println!(
            "| {variant} | {tg:.3} | {} | {} | {} | {} |",
            cell(dfdx),
            cell(pt),
            ratio(dfdx),
            ratio(pt)
        );
    }
}
