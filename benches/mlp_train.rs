//! `mlp_train_b64` (definition: `../shared/peers/torch_bench.py`): one full
//! training step of an MLP 784-256-128-10 (ReLU) on a fixed batch of 64,
//! mean cross-entropy, Adam(1e-3): forward + loss + backward + update.
//! typegrad and dfdx 0.13 (the same model and step) run side by side in
//! this binary; PyTorch runs from the peer script in the same session:
//!
//! ```sh
//! TYPEGRAD_THREADS=1 cargo bench --bench mlp_train
//! /tmp/peers-venv/bin/python ../shared/peers/torch_bench.py --only mlp_train_b64 --threads 1
//! ```

use criterion::Criterion;
use std::time::Duration;
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

fn bench_typegrad(c: &mut Criterion) {
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
    c.bench_function("mlp_train_b64/typegrad", |b| {
        b.iter(|| {
            let loss = cross_entropy(model.forward(x.clone().trace_no_grad()), &y);
            last = loss.item();
            let grads = loss.backward();
            opt.step(&mut model, &grads).unwrap();
        })
    });
    eprintln!("typegrad final loss {last}");
}

fn bench_dfdx(c: &mut Criterion) {
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
    c.bench_function("mlp_train_b64/dfdx", |b| {
        b.iter(|| {
            let mut g = grads.take().expect("gradients are put back every step");
            model.zero_grads(&mut g);
            let logits = model.forward_mut(x.trace(g));
            let loss = cross_entropy_with_logits_loss(logits, y.clone());
            last = loss.array();
            let g = loss.backward();
            opt.update(&mut model, &g).unwrap();
            grads = Some(g);
        })
    });
    eprintln!("dfdx final loss {last}");
}

fn main() {
    let threads = std::env::var("TYPEGRAD_THREADS")
        .ok()
        .and_then(|s| s.trim().parse::<usize>().ok())
        .unwrap_or(2)
        .max(1);
    // Both libraries thread through rayon's global pool.
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()
        .expect("rayon global pool");
    eprintln!("mlp_train bench: {threads} thread(s) (TYPEGRAD_THREADS)");
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .sample_size(50)
        .configure_from_args();
    bench_typegrad(&mut c);
    bench_dfdx(&mut c);
    c.final_summary();
}
