//! Convolutional workloads side by side with PyTorch (definitions:
//! `benches/peers/torch_bench.py`, a copy of `../shared/peers/torch_bench.py`):
//!
//! - `lenet_train_b64`: LeNet-5 (6 and 16 channels of 5x5 convolutions,
//!   ReLU, 2x2 max pooling, 256-120-84-10), batch 64, mean cross-entropy,
//!   Adam(1e-3); one iteration = forward + loss + backward + update.
//! - `resnet18_cifar_train_b16`: CIFAR-style ResNet-18 (3x3 stem, no max
//!   pooling, four stages of two basic blocks, 10 classes), batch 16 of
//!   3x32x32, batch normalisation in training mode, SGD(0.1, momentum 0.9).
//! - `lenet_infer_b1`: LeNet-5 forward on one image, evaluation mode.
//!
//! The batch carries no gradient (`trace_no_grad()` here; PyTorch's default
//! for a batch without `requires_grad`). typegrad runs in this binary; the
//! PyTorch peer runs from it afterwards when a Python with PyTorch is found
//! (`PEERS_PYTHON`, `PEERS_VENV`, or `~/.cache/peers-venv`; `PEERS=0` skips
//! it) and the ratios of this run are printed. `CONV_BENCH=lenet_infer_b1`
//! runs one workload.
//!
//! ```sh
//! TYPEGRAD_THREADS=1 cargo bench --bench conv_train
//! TYPEGRAD_THREADS=2 cargo bench --bench conv_train
//! ```

mod support;

use typegrad::loss::cross_entropy;
use typegrad::models::{BasicBlock, BasicBlockDown, LeNet5};
use typegrad::nn::{BatchNorm2d, Conv2d, GlobalAvgPool2d, Linear, Module, ReLU};
use typegrad::optim::{Adam, AdamConfig, Optimizer, Sgd, SgdConfig};
use typegrad::prelude::*;

/// The CIFAR variant of ResNet-18 in `torch_bench.py`: a 3x3 stem without
/// max pooling, the library's residual blocks, 10 classes.
#[derive(Module)]
#[module(sequential)]
struct CifarResNet18 {
    conv1: Conv2d<u!(3), u!(64), u!(3), u!(1), u!(1)>,
    bn1: BatchNorm2d<u!(64)>,
    relu: ReLU,
    layer1: (BasicBlock<u!(64)>, BasicBlock<u!(64)>),
    layer2: (BasicBlockDown<u!(64), u!(128), u!(2)>, BasicBlock<u!(128)>),
    layer3: (BasicBlockDown<u!(128), u!(256), u!(2)>, BasicBlock<u!(256)>),
    layer4: (BasicBlockDown<u!(256), u!(512), u!(2)>, BasicBlock<u!(512)>),
    pool: GlobalAvgPool2d,
    fc: Linear<u!(512), u!(10)>,
}

impl CifarResNet18 {
    fn new(dev: &Cpu) -> Self {
        CifarResNet18 {
            conv1: Conv2d::no_bias(dev),
            bn1: BatchNorm2d::new(dev),
            relu: ReLU,
            layer1: (BasicBlock::new(dev), BasicBlock::new(dev)),
            layer2: (BasicBlockDown::new(dev), BasicBlock::new(dev)),
            layer3: (BasicBlockDown::new(dev), BasicBlock::new(dev)),
            layer4: (BasicBlockDown::new(dev), BasicBlock::new(dev)),
            pool: GlobalAvgPool2d,
            fc: Linear::new(dev),
        }
    }
}

fn labels(n: usize) -> Vec<usize> {
    (0..n).map(|i| (i * 7 + 3) % 10).collect()
}

fn lenet_train() -> support::Stats {
    let dev = Cpu::seeded(0);
    let mut model = LeNet5::new(&dev);
    assert_eq!(model.num_params(), 44_426);
    let x: Tensor<(u!(64), u!(1), u!(28), u!(28))> =
        Tensor::randn(Default::default(), 0.0, 1.0, &dev);
    let y: Tensor<(u!(64),), usize> = Tensor::from_vec_static(labels(64), &dev);
    let mut opt = Adam::new(AdamConfig {
        lr: 1e-3,
        ..Default::default()
    })
    .unwrap();
    support::measure(|| {
        let loss = cross_entropy(model.forward(x.clone().trace_no_grad()), &y);
        let grads = loss.backward();
        opt.step(&mut model, &grads).unwrap();
    })
}

fn resnet18_train() -> support::Stats {
    let dev = Cpu::seeded(0);
    let mut model = CifarResNet18::new(&dev);
    assert_eq!(model.num_params(), 11_173_962);
    let x: Tensor<(u!(16), u!(3), u!(32), u!(32))> =
        Tensor::randn(Default::default(), 0.0, 1.0, &dev);
    let y: Tensor<(u!(16),), usize> = Tensor::from_vec_static(labels(16), &dev);
    let mut opt = Sgd::new(SgdConfig {
        lr: 0.1,
        momentum: 0.9,
        ..Default::default()
    })
    .unwrap();
    support::measure(|| {
        let loss = cross_entropy(model.forward(x.clone().trace_no_grad()), &y);
        let grads = loss.backward();
        opt.step(&mut model, &grads).unwrap();
    })
}

fn lenet_infer() -> support::Stats {
    let dev = Cpu::seeded(0);
    let model = LeNet5::new(&dev);
    let x: Tensor<(u!(1), u!(1), u!(28), u!(28))> =
        Tensor::randn(Default::default(), 0.0, 1.0, &dev);
    let mut sink = 0.0f32;
    let stats = support::measure(|| {
        let logits = model.forward(x.clone());
        sink += logits.to_vec()[0];
    });
    assert!(sink.is_finite());
    stats
}

/// `CONV_BENCH=lenet_infer_layers`: the median time of each layer of the
/// `lenet_infer_b1` forward on its own input (not part of the table).
fn lenet_infer_layers() {
    let dev = Cpu::seeded(0);
    let m = LeNet5::new(&dev);
    let x: Tensor<(u!(1), u!(1), u!(28), u!(28))> =
        Tensor::randn(Default::default(), 0.0, 1.0, &dev);
    let row = |name: &str, s: support::Stats| {
        println!(
            "{{\"layer\": \"{name}\", \"median_us\": {:.2}}}",
            s.median_ms * 1e3
        );
    };
    let c1 = m.conv1.forward(x.clone());
    row(
        "conv1",
        support::measure(|| drop(m.conv1.forward(x.clone()))),
    );
    let a1 = m.act1.forward(c1.clone());
    row(
        "relu1",
        support::measure(|| drop(m.act1.forward(c1.clone()))),
    );
    let p1 = m.pool1.forward(a1.clone());
    row(
        "pool1",
        support::measure(|| drop(m.pool1.forward(a1.clone()))),
    );
    let c2 = m.conv2.forward(p1.clone());
    row(
        "conv2",
        support::measure(|| drop(m.conv2.forward(p1.clone()))),
    );
    let a2 = m.act2.forward(c2.clone());
    row(
        "relu2",
        support::measure(|| drop(m.act2.forward(c2.clone()))),
    );
    let p2 = m.pool2.forward(a2.clone());
    row(
        "pool2",
        support::measure(|| drop(m.pool2.forward(a2.clone()))),
    );
    let f = m.flatten.forward(p2.clone());
    row(
        "flatten",
        support::measure(|| drop(m.flatten.forward(p2.clone()))),
    );
    let h1 = m.fc1.forward(f.clone());
    row("fc1", support::measure(|| drop(m.fc1.forward(f.clone()))));
    let r1 = m.act3.forward(h1.clone());
    row(
        "relu3",
        support::measure(|| drop(m.act3.forward(h1.clone()))),
    );
    let h2 = m.fc2.forward(r1.clone());
    row("fc2", support::measure(|| drop(m.fc2.forward(r1.clone()))));
    let r2 = m.act4.forward(h2.clone());
    row("fc3", support::measure(|| drop(m.fc3.forward(r2.clone()))));
    row("whole", support::measure(|| drop(m.forward(x.clone()))));
}

/// `CONV_BENCH=resnet18_blocks`: the median time of a training step
/// (forward, backward to the block's parameters and input) of each stage's
/// blocks of `resnet18_cifar_train_b16` on their own inputs, to see which
/// stage scales worse with threads, then the whole forward, forward and
/// backward, and SGD step (not part of the table). PyTorch's side:
/// `python benches/peers/torch_resnet_blocks.py THREADS`.
fn resnet18_blocks() {
    let dev = Cpu::seeded(0);
    let m = CifarResNet18::new(&dev);
    let x: Tensor<(u!(16), u!(3), u!(32), u!(32))> =
        Tensor::randn(Default::default(), 0.0, 1.0, &dev);
    let row = |name: &str, s: support::Stats| {
        println!(
            "{{\"block\": \"{name}\", \"median_ms\": {:.3}}}",
            s.median_ms
        );
    };
    macro_rules! step {
        ($name:expr, $f:expr, $x:expr) => {{
            let x = $x.clone();
            row(
                $name,
                support::measure(|| {
                    let grads = $f(x.clone().trace()).sum().backward();
                    drop(grads);
                }),
            );
            $f($x.clone())
        }};
    }
    let h = step!(
        "stem",
        |x| m.relu.forward(m.bn1.forward(m.conv1.forward(x))),
        x
    );
    let h = step!("layer1.0", |x| m.layer1.0.forward(x), h);
    let h = step!("layer1.1", |x| m.layer1.1.forward(x), h);
    let h = step!("layer2.0", |x| m.layer2.0.forward(x), h);
    let h = step!("layer2.1", |x| m.layer2.1.forward(x), h);
    let h = step!("layer3.0", |x| m.layer3.0.forward(x), h);
    let h = step!("layer3.1", |x| m.layer3.1.forward(x), h);
    let h = step!("layer4.0", |x| m.layer4.0.forward(x), h);
    let _ = step!("layer4.1", |x| m.layer4.1.forward(x), h);
    let y: Tensor<(u!(16),), usize> = Tensor::from_vec_static(labels(16), &dev);
    row(
        "forward",
        support::measure(|| drop(cross_entropy(m.forward(x.clone().trace_no_grad()), &y))),
    );
    row(
        "forward+backward",
        support::measure(|| {
            drop(cross_entropy(m.forward(x.clone().trace_no_grad()), &y).backward())
        }),
    );
    let grads = cross_entropy(m.forward(x.clone().trace_no_grad()), &y).backward();
    let mut m = m;
    let mut opt = Sgd::new(SgdConfig {
        lr: 0.1,
        momentum: 0.9,
        ..Default::default()
    })
    .unwrap();
    row(
        "sgd step",
        support::measure(|| opt.step(&mut m, &grads).unwrap()),
    );
}

fn main() {
    let threads = support::init_threads();
    let only = std::env::var("CONV_BENCH").ok();
    if only.as_deref() == Some("lenet_infer_layers") {
        return lenet_infer_layers();
    }
    if only.as_deref() == Some("resnet18_blocks") {
        return resnet18_blocks();
    }
    let workloads: [(&str, fn() -> support::Stats); 3] = [
        ("lenet_train_b64", lenet_train),
        ("resnet18_cifar_train_b16", resnet18_train),
        ("lenet_infer_b1", lenet_infer),
    ];
    let t = threads.to_string();
    let min_time = support::min_time().to_string();
    let mut table = Vec::new();
    for (name, run) in workloads {
        if only.as_deref().is_some_and(|o| o != name) {
            continue;
        }
        let s = run();
        println!(
            "{{\"workload\": \"{name}\", \"peer\": \"typegrad\", \"threads\": {threads}, \"median_ms\": {:.4}, \"p10_ms\": {:.4}, \"p90_ms\": {:.4}, \"iters\": {}}}",
            s.median_ms, s.p10_ms, s.p90_ms, s.iters
        );
        let torch = support::run_peer(
            "torch_bench.py",
            &["--only", name, "--threads", &t, "--min-time", &min_time],
        )
        .unwrap_or_default();
        let pt = torch.iter().find_map(|l| {
            (support::json_string(l, "workload").as_deref() == Some(name))
                .then(|| support::json_number(l, "median_ms"))?
        });
        for l in &torch {
            println!("{l}");
        }
        table.push((name, s.median_ms, pt));
    }
    println!("\nconv workloads, {threads} thread(s), median ms; ratio = PyTorch / typegrad (> 1: typegrad faster)");
    println!("| workload | typegrad | PyTorch | PyTorch / typegrad |");
    println!("|---|---|---|---|");
    for (name, tg, pt) in table {
        let cell = pt.map_or("n/a".to_string(), |v| format!("{v:.4}"));
        let ratio = pt.map_or("n/a".to_string(), |v| format!("{:.2}x", v / tg));
        println!("| {name} | {tg:.4} | {cell} | {ratio} |");
    }
}
