//! Elementwise and reduction benchmarks, mirrored by
//! `benches/peers/elementwise_bench.py` (same names, sizes and data kind).
//!
//! ```sh
//! TYPEGRAD_THREADS=1 cargo bench --bench elementwise
//! /tmp/peers-venv/bin/python benches/peers/elementwise_bench.py --threads 1
//! ```

use criterion::Criterion;
use std::time::Duration;
use typegrad::prelude::*;

mod support;

const N: usize = 1 << 24;

fn main() {
    let threads = support::init_threads();
    eprintln!("elementwise bench: {threads} thread(s) (TYPEGRAD_THREADS)");
    let dev = Cpu::seeded(0);
    let a: Tensor<(Dyn,)> = Tensor::randn((Dyn(N),), 0.0, 1.0, &dev);
    let b: Tensor<(Dyn,)> = Tensor::randn((Dyn(N),), 0.0, 1.0, &dev);
    let m: Tensor<(Dyn, Dyn)> = Tensor::randn((Dyn(1024), Dyn(1024)), 0.0, 1.0, &dev);
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .sample_size(30)
        .configure_from_args();
    c.bench_function("elementwise_add_16m", |bench| {
        bench.iter(|| a.clone() + b.clone())
    });
    c.bench_function("reduce_sum_16m", |bench| bench.iter(|| a.clone().sum()));
    c.bench_function("softmax_rows_1024", |bench| {
        bench.iter(|| m.clone().softmax::<1>())
    });
    let first = |t: &Tensor<(Dyn,)>, n: usize| -> Tensor<(Dyn,)> {
        Tensor::from_vec((Dyn(n),), t.to_vec()[..n].to_vec(), &dev)
    };
    let a1m = first(&a, 1 << 20);
    c.bench_function("exp_1m", |bench| bench.iter(|| a1m.clone().exp()));
    // Small kernels: below the parallel threshold, so 2 threads must cost
    // what 1 does (no rayon wake-up).
    let (sa, sb) = (first(&a, 1 << 16), first(&b, 1 << 16));
    c.bench_function("elementwise_add_64k", |bench| {
        bench.iter(|| sa.clone() + sb.clone())
    });
    c.bench_function("reduce_sum_64k", |bench| bench.iter(|| sa.clone().sum()));
    c.bench_function("exp_64k", |bench| bench.iter(|| sa.clone().exp()));
    c.final_summary();
}
