//! Kernel benchmarks, named after the peer workloads in
//! `../shared/peers/README.md` so that the figures can be compared as ratios.
//!
//! - `sgemm_1024`, `sgemm_256`: `C = A @ B`, n×n×n f32, row-major,
//!   standard-normal A and B generated once (seed 0), a fresh C each
//!   iteration (GFLOPS = 2n³ / median time), through the public
//!   `Tensor<(Dyn, Dyn), f32>::matmul` (measured as fast as calling the CPU
//!   kernel directly: median ratio 0.98–1.01 at n = 256 and 1024).
//!
//! Threads: `TYPEGRAD_THREADS` (default 2). The whole run happens inside a
//! rayon `ThreadPool` of that size, as PyTorch/NumPy are run with
//! `--threads N`.
//!
//! ```sh
//! TYPEGRAD_THREADS=1 cargo bench --bench kernels -- sgemm
//! TYPEGRAD_THREADS=2 cargo bench --bench kernels -- sgemm
//! ```

use criterion::{black_box, Criterion};
use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use std::time::Duration;
use typegrad::prelude::*;

fn randn(len: usize, rng: &mut StdRng) -> Vec<f32> {
    (0..len).map(|_| StandardNormal.sample(rng)).collect()
}

fn sgemm(c: &mut Criterion, n: usize) {
    let mut rng = StdRng::seed_from_u64(0);
    let dev = Cpu::default();
    let a = Tensor::<(Dyn, Dyn), f32>::from_vec((Dyn(n), Dyn(n)), randn(n * n, &mut rng), &dev);
    let b = Tensor::<(Dyn, Dyn), f32>::from_vec((Dyn(n), Dyn(n)), randn(n * n, &mut rng), &dev);
    // Through the public API; the clones only bump reference counts.
    c.bench_function(&format!("sgemm_{n}"), |bench| {
        bench.iter(|| black_box(black_box(a.clone()).matmul(black_box(b.clone()))))
    });
}

/// Criterion settings close to the peer script's: at least 1 s of warm-up
/// and 5 s of measurement. Tens of ms per iteration (n = 1024) get fewer
/// samples (criterion's automatic sampling mode then samples flat). Command
/// line options (`--measurement-time`, filters, ...) still apply.
fn criterion(sample_size: usize) -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .sample_size(sample_size)
        .configure_from_args()
}

fn main() {
    let threads = std::env::var("TYPEGRAD_THREADS")
        .ok()
        .map(|s| {
            s.trim()
                .parse::<usize>()
                .expect("TYPEGRAD_THREADS must be a positive integer")
        })
        .unwrap_or(2)
        .max(1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("rayon thread pool");
    eprintln!("kernels bench: {threads} thread(s) (TYPEGRAD_THREADS)");
    pool.install(|| {
        let mut c = criterion(30);
        sgemm(&mut c, 1024);
        c.final_summary();
        let mut c = criterion(100);
        sgemm(&mut c, 256);
        c.final_summary();
    });
}
