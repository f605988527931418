//! Peak memory of one training step, measured **above the loaded model and
//! data**: how much a step (forward, loss, backward, optimizer update)
//! allocates on top of what already exists before it starts.
//!
//! Method: a counting `#[global_allocator]` (a wrapper around `System`)
//! tracks the bytes currently allocated and their high-water mark, on every
//! thread. For each workload the model, the fixed batch and the optimizer
//! are built and **one warm-up step** is run (so Adam's moment buffers
//! exist); then the current bytes are the baseline, the high-water mark is
//! reset, one step runs, and `peak - baseline` is reported in MiB (and
//! `after - baseline`, which should be 0: nothing of the step is kept).
//! The gradients of a step are dropped at its end, so they are not in the
//! baseline: they are part of what the step costs.
//!
//! The PyTorch peer (`benches/peers/train_memory.py`: the same model and
//! step on the CPU, tensor allocations counted through `torch.profiler`'s
//! memory events; its docstring explains the method) runs afterwards when a
//! Python with PyTorch is found (`PEERS_PYTHON`, `PEERS_VENV`, or
//! `~/.cache/peers-venv`; `PEERS=0` skips it), and both are printed with
//! their ratio.
//!
//! ```sh
//! TYPEGRAD_THREADS=1 cargo bench --bench train_memory
//! # the peer by hand:
//! python benches/peers/train_memory.py --threads 1
//! ```
//!
//! To add a model (a conv net, an attention block): write a function that
//! builds it and returns `measure_step(...)`'s [`Report`], add it to
//! [`WORKLOADS`] under a name, and add the same name to the peer script's
//! `WORKLOADS`.

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use typegrad::loss::cross_entropy;
use typegrad::models::{BasicBlock, BasicBlockDown};
use typegrad::nn::{BatchNorm2d, Conv2d, GlobalAvgPool2d, Linear, Module, Params, ReLU};
use typegrad::optim::{Adam, AdamConfig, Optimizer, Sgd, SgdConfig};
use typegrad::prelude::*;

// ------------------------------------------------------------ the counter

/// `System`, counting the bytes currently allocated and their maximum.
struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grow(n: usize) {
    let now = CURRENT.fetch_add(n, Relaxed) + n;
    PEAK.fetch_max(now, Relaxed);
}

// SAFETY: every call is forwarded to `System` with the same arguments; the
// counters are plain atomics and never affect the returned memory.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grow(layout.size());
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grow(layout.size());
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            CURRENT.fetch_sub(layout.size(), Relaxed);
            grow(new_size);
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

const MIB: f64 = 1024.0 * 1024.0;

/// What one workload measured.
struct Report {
    /// Bytes allocated before the measured step (model, data, optimizer state).
    baseline: usize,
    /// Peak bytes during the step, above the baseline.
    peak_above: usize,
    /// Bytes still allocated after the step, above the baseline.
    after_above: isize,
    /// Number of parameters.
    params: usize,
    /// Loss of the measured step.
    loss: f32,
    /// Tensors holding a gradient at the end of the measured backward.
    grads_held: usize,
    /// Cross-check: resident-set high-water mark during the step minus the
    /// resident set before it (MiB; `/proc/self/clear_refs` reset), if
    /// available. Pages, not allocations: only a sanity check.
    rss_hwm_above_mib: Option<f64>,
}

/// A field of /proc/self/status in KiB.
fn status_kib(field: &str) -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s
        .lines()
        .find(|l| l.starts_with(field) && l[field.len()..].starts_with(':'))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Run `step` once to warm up (optimizer state), then once measured.
/// `step` returns the loss and the number of tensors with a gradient.
fn measure_step(params: usize, mut step: impl FnMut() -> (f32, usize)) -> Report {
    step();
    let rss_reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let rss_before = status_kib("VmRSS");
    let baseline = CURRENT.load(Relaxed);
    PEAK.store(baseline, Relaxed);
    let (loss, grads_held) = step();
    let peak = PEAK.load(Relaxed);
    let after = CURRENT.load(Relaxed);
    let rss_hwm_above_mib = match (rss_reset, rss_before, status_kib("VmHWM")) {
        (true, Some(b), Some(h)) => Some((h - b) / 1024.0),
        _ => None,
    };
    Report {
        grads_held,
        rss_hwm_above_mib,
        baseline,
        peak_above: peak - baseline,
        after_above: after as isize - baseline as isize,
        params,
        loss,
    }
}

// ------------------------------------------------------------- workloads

type U1024 = u!(1024);

/// `mlp20_w1024_b256`: 20 Linear layers: 19 x (Linear(1024, 1024), ReLU),
/// then Linear(1024, 10); batch 256 of standard-normal inputs with fixed
/// labels in 0..10; mean cross-entropy; Adam(1e-3). The batch is traced
/// with `trace_no_grad()` (its own gradient is not computed), as PyTorch's
/// input without `requires_grad`.
fn mlp20_w1024_b256() -> Report {
    const BATCH: usize = 256;
    let dev = Cpu::seeded(0);
    let mut model = (
        (0..19)
            .map(|_| (Linear::<U1024, U1024>::new(&dev), ReLU))
            .collect::<Vec<_>>(),
        Linear::<U1024, u!(10)>::new(&dev),
    );
    let x: Tensor<(Dyn, U1024)> = Tensor::randn((Dyn(BATCH), Default::default()), 0.0, 1.0, &dev);
    let labels: Vec<usize> = (0..BATCH).map(|i| (i * 7 + 3) % 10).collect();
    let y: Tensor<(Dyn,), usize> = Tensor::from_vec((Dyn(BATCH),), labels, &dev);
    let mut opt = Adam::new(AdamConfig {
        lr: 1e-3,
        ..Default::default()
    })
    .unwrap();
    let params = model.num_params();
    measure_step(params, || {
        let loss = cross_entropy(model.forward(x.clone().trace_no_grad()), &y);
        let value = loss.item();
        let grads = loss.backward();
        opt.step(&mut model, &grads).unwrap();
        (value, grads.len())
    })
}

/// The CIFAR ResNet-18 of `torch_bench.py`'s `resnet18_cifar_train_b16`:
/// a 3x3 stem without max pooling, the library's residual blocks, 10
/// classes.
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

/// `resnet18_cifar_b64`: the CIFAR ResNet-18 above on a batch of 64
/// standard-normal 3x32x32 images with fixed labels; batch normalisation
/// in training mode; mean cross-entropy; SGD(0.1, momentum 0.9). The batch
/// is traced with `trace_no_grad()`.
fn resnet18_cifar_b64() -> Report {
    const BATCH: usize = 64;
    let dev = Cpu::seeded(0);
    let mut model = CifarResNet18 {
        conv1: Conv2d::no_bias(&dev),
        bn1: BatchNorm2d::new(&dev),
        relu: ReLU,
        layer1: (BasicBlock::new(&dev), BasicBlock::new(&dev)),
        layer2: (BasicBlockDown::new(&dev), BasicBlock::new(&dev)),
        layer3: (BasicBlockDown::new(&dev), BasicBlock::new(&dev)),
        layer4: (BasicBlockDown::new(&dev), BasicBlock::new(&dev)),
        pool: GlobalAvgPool2d,
        fc: Linear::new(&dev),
    };
    let x: Tensor<(Dyn, u!(3), u!(32), u!(32))> = Tensor::randn(
        (
            Dyn(BATCH),
            Default::default(),
            Default::default(),
            Default::default(),
        ),
        0.0,
        1.0,
        &dev,
    );
    let labels: Vec<usize> = (0..BATCH).map(|i| (i * 7 + 3) % 10).collect();
    let y: Tensor<(Dyn,), usize> = Tensor::from_vec((Dyn(BATCH),), labels, &dev);
    let mut opt = Sgd::new(SgdConfig {
        lr: 0.1,
        momentum: 0.9,
        ..Default::default()
    })
    .unwrap();
    let params = model.num_params();
    measure_step(params, || {
        let loss = cross_entropy(model.forward(x.clone().trace_no_grad()), &y);
        let value = loss.item();
        let grads = loss.backward();
        opt.step(&mut model, &grads).unwrap();
        (value, grads.len())
    })
}

/// Every workload: its name (shared with the peer script) and its runner.
const WORKLOADS: &[(&str, fn() -> Report)] = &[
    ("mlp20_w1024_b256", mlp20_w1024_b256),
    ("resnet18_cifar_b64", resnet18_cifar_b64),
];

fn main() {
    let threads = support::init_threads();
    eprintln!("train_memory bench: {threads} thread(s) (TYPEGRAD_THREADS)");
    let only = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .filter(|a| WORKLOADS.iter().any(|w| w.0 == a));
    let mut ours = Vec::new();
    for (name, run) in WORKLOADS {
        if only.as_deref().is_some_and(|o| o != *name) {
            continue;
        }
        let r = run();
        let mib = |b: f64| (b / MIB * 10.0).round() / 10.0;
        println!(
            "{{\"workload\": \"{name}\", \"peer\": \"typegrad\", \"threads\": {threads}, \"peak_above_baseline_mib\": {}, \"baseline_mib\": {}, \"after_above_baseline_mib\": {}, \"params\": {}, \"params_mib\": {}, \"grads_held\": {}, \"rss_hwm_above_mib\": {}, \"loss\": {}, \"method\": \"counting global allocator\"}}",
            mib(r.peak_above as f64),
            mib(r.baseline as f64),
            mib(r.after_above as f64),
            r.params,
            mib(r.params as f64 * 4.0),
            r.grads_held,
            r.rss_hwm_above_mib.map_or("null".into(), |v| format!("{v:.1}")),
            r.loss
        );
        ours.push((*name, r));
    }
    let t = threads.to_string();
    let torch = support::run_peer("train_memory.py", &["--threads", &t]).unwrap_or_default();
    for l in &torch {
        println!("{l}");
    }
    println!("\npeak memory of one training step above model + data + optimizer state, MiB ({threads} thread(s))");
    println!("| workload | params | typegrad | PyTorch | PyTorch / typegrad |");
    println!("|---|---|---|---|---|");
    for (name, r) in &ours {
        let pt = torch.iter().find_map(|l| {
            (support::json_string(l, "workload")? == *name)
                .then(|| support::json_number(l, "peak_above_baseline_mib"))?
        });
        let ours = r.peak_above as f64 / MIB;
        println!(
            "| {name} | {} | {ours:.1} | {} | {} |",
            r.params,
            pt.map_or("n/a".into(), |v| format!("{v:.1}")),
            pt.map_or("n/a".into(), |v| format!("{:.2}x", v / ours)),
        );
    }
}
