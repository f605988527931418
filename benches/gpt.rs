//! GPT workloads side by side with PyTorch (definitions:
//! `benches/peers/torch_bench.py`, a copy of `../shared/peers/torch_bench.py`):
//!
//! - `gpt_mini_train_b16`: GPT-mini (vocab 96, context 64, 4 layers, 4
//!   heads, width 128, MLP 512), 16 x 64 random ids and targets, mean
//!   cross-entropy, AdamW(lr 3e-4, weight decay 0.1); one iteration =
//!   forward + loss + backward + update. tokens/s = 1024 / t.
//! - `gpt_mini_generate_64_kvcache`: batch 1, a 1-token prompt, 64 greedy
//!   tokens with the KV cache (allocated inside the iteration); tokens/s =
//!   64 / t.
//! - `gpt_mini_generate_64`: the same without a cache (each step a full
//!   forward over the sequence so far).
//!
//! typegrad runs in this binary; the PyTorch peer runs from it afterwards
//! when a Python with PyTorch is found (`PEERS_PYTHON`, `PEERS_VENV`, or
//! `~/.cache/peers-venv`; `PEERS=0` skips it) and the ratios of this run are
//! printed. `GPT_BENCH=<workload>` runs one workload.
//!
//! ```sh
//! TYPEGRAD_THREADS=1 cargo bench --bench gpt
//! TYPEGRAD_THREADS=2 cargo bench --bench gpt
//! ```

mod support;

use typegrad::loss::cross_entropy;
use typegrad::models::{GptMini, Sampling};
use typegrad::optim::{AdamConfig, AdamW, Optimizer};
use typegrad::prelude::*;

fn train() -> support::Stats {
    let dev = Cpu::seeded(0);
    let mut model: GptMini = GptMini::new(&dev);
    assert_eq!(model.num_params(), 826_208);
    let shape = (Dyn(16), Dyn(64));
    let x = Tensor::<(Dyn, Dyn), usize>::from_vec(shape, support::token_ids(1024, 1), &dev);
    let y = Tensor::<(Dyn, Dyn), usize>::from_vec(shape, support::token_ids(1024, 2), &dev);
    let mut opt = AdamW::new(AdamConfig {
        lr: 3e-4,
        weight_decay: 0.1,
        ..AdamConfig::adamw()
    })
    .unwrap();
    support::measure(|| {
        let loss = cross_entropy(model.forward(x.clone().traced::<f32>()), &y);
        let grads = loss.backward();
        opt.step(&mut model, &grads).unwrap();
    })
}

fn generate(cache: bool) -> support::Stats {
    let dev = Cpu::seeded(0);
    let model: GptMini = GptMini::new(&dev);
    let prompt = [support::token_ids(1, 3)[0]];
    let reference = model.generate_uncached(&prompt, 64, Sampling::greedy(), 0);
    assert_eq!(
        model.generate(&prompt, 64, Sampling::greedy(), 0),
        reference,
        "KV-cache generation differs from full recompute"
    );
    support::measure(|| {
        let out = if cache {
            model.generate(&prompt, 64, Sampling::greedy(), 0)
        } else {
            model.generate_uncached(&prompt, 64, Sampling::greedy(), 0)
        };
        assert_eq!(out.len(), 65);
    })
}

fn main() {
    let threads = support::init_threads();
    let only = std::env::var("GPT_BENCH").ok();
    let workloads: [(&str, f64, fn() -> support::Stats); 3] = [
        ("gpt_mini_train_b16", 1024.0, train),
        ("gpt_mini_generate_64_kvcache", 64.0, || generate(true)),
        ("gpt_mini_generate_64", 64.0, || generate(false)),
    ];
    let t = threads.to_string();
    let min_time = support::min_time().to_string();
    let mut table = Vec::new();
    for (name, tokens, run) in workloads {
        if only.as_deref().is_some_and(|o| o != name) {
            continue;
        }
        let s = run();
        println!(
            "{{\"workload\": \"{name}\", \"peer\": \"typegrad\", \"threads\": {threads}, \"median_ms\": {:.4}, \"p10_ms\": {:.4}, \"p90_ms\": {:.4}, \"iters\": {}, \"tokens_per_s\": {:.1}}}",
            s.median_ms, s.p10_ms, s.p90_ms, s.iters, tokens / (s.median_ms * 1e-3)
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
        table.push((name, tokens, s.median_ms, pt));
    }
    println!("\nGPT workloads, {threads} thread(s), median ms and tokens/s; ratio = PyTorch time / typegrad time (> 1: typegrad faster)");
    println!(
        "| workload | typegrad ms | typegrad tokens/s | PyTorch ms | PyTorch tokens/s | ratio |"
    );
    println!("|---|---|---|---|---|---|");
    for (name, tokens, tg, pt) in table {
        let ms = pt.map_or("n/a".to_string(), |v| format!("{v:.3}"));
        let tps = pt.map_or("n/a".to_string(), |v| format!("{:.0}", tokens / (v * 1e-3)));
        let ratio = pt.map_or("n/a".to_string(), |v| format!("{:.2}x", v / tg));
        println!(
            "| {name} | {tg:.3} | {:.0} | {ms} | {tps} | {ratio} |",
            tokens / (tg * 1e-3)
        );
    }
}
