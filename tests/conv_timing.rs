//! Ad-hoc timing (ignored; run with
//! `cargo test --release --test conv_timing -- --ignored --nocapture`).
use std::time::Instant;
use typegrad::nn::{Conv2d, Module};
use typegrad::prelude::*;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn time(iters: usize, mut f: impl FnMut()) -> f64 {
    for _ in 0..3 {
        f();
    }
    median(
        (0..iters)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64() * 1e6
            })
            .collect(),
    )
}

#[test]
#[ignore]
fn conv_timing() {
    // Threads: RAYON_NUM_THREADS.
    let threads = std::env::var("RAYON_NUM_THREADS").unwrap_or_default();
    {
        let dev = Cpu::seeded(0);
        let c1: Conv2d<u!(1), u!(6), u!(5)> = Conv2d::new(&dev);
        let c2: Conv2d<u!(6), u!(16), u!(5)> = Conv2d::new(&dev);
        let c3: Conv2d<u!(64), u!(64), u!(3), u!(1), u!(1)> = Conv2d::new(&dev);
        let x1: Tensor<(Dyn, u!(1), u!(28), u!(28))> = Tensor::randn(
            (
                Dyn(64),
                Default::default(),
                Default::default(),
                Default::default(),
            ),
            0.0,
            1.0,
            &dev,
        );
        let x2: Tensor<(Dyn, u!(6), u!(12), u!(12))> = Tensor::randn(
            (
                Dyn(64),
                Default::default(),
                Default::default(),
                Default::default(),
            ),
            0.0,
            1.0,
            &dev,
        );
        let x3: Tensor<(Dyn, u!(64), u!(32), u!(32))> = Tensor::randn(
            (
                Dyn(16),
                Default::default(),
                Default::default(),
                Default::default(),
            ),
            0.0,
            1.0,
            &dev,
        );
        let b1: Tensor<(u!(1), u!(28), u!(28))> = Tensor::randn(Default::default(), 0.0, 1.0, &dev);
        let b2: Tensor<(u!(6), u!(12), u!(12))> = Tensor::randn(Default::default(), 0.0, 1.0, &dev);
        let t_c1 = time(50, || {
            let _ = c1.forward(x1.clone().trace_no_grad()).sum().backward();
        });
        let t_c1x = time(50, || {
            let _ = c1.forward(x1.clone().trace()).sum().backward();
        });
        let t_c2 = time(50, || {
            let _ = c2.forward(x2.clone().trace()).sum().backward();
        });
        let t_c3 = time(10, || {
            let _ = c3.forward(x3.clone().trace()).sum().backward();
        });
        let t_c3f = time(10, || {
            let _ = c3.forward(x3.clone());
        });
        let t_b1 = time(2000, || {
            let _ = c1.forward(b1.clone());
        });
        let t_b2 = time(2000, || {
            let _ = c2.forward(b2.clone());
        });
        println!("threads={threads}");
        println!("lenet conv1 b64 fwd+bwd (no input grad): {t_c1:.1} us");
        println!("lenet conv1 b64 fwd+bwd (input grad):    {t_c1x:.1} us");
        println!("lenet conv2 b64 fwd+bwd (input grad):    {t_c2:.1} us");
        println!("3x3 64->64 b16 32x32 fwd+bwd:            {t_c3:.1} us");
        println!("3x3 64->64 b16 32x32 fwd:                {t_c3f:.1} us");
        println!("lenet conv1 b1 fwd:                      {t_b1:.2} us");
        println!("lenet conv2 b1 fwd:                      {t_b2:.2} us");
    }
}
