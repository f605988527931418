//! A character-level (or BPE) GPT trained on Shakespeare's complete works
//! (The Little Book of Deep Learning, §5.3 and figure 5.8), then sampled.
//!
//! The model is the GPT-mini of the PyTorch peer benchmark (vocabulary up
//! to 96 characters, context 64, 4 blocks of 4 heads, width 128, MLP 512;
//! 826,208 parameters), trained with AdamW on random windows of the first
//! 90% of `data/shakespeare/shakespeare_all_gut.txt`; the last 10% is the
//! validation split. It prints the validation loss and perplexity, draws
//! the loss curve (`shakespeare_gpt_loss.png`), saves a checkpoint,
//! reloads it into a fresh model (same validation loss, checked), and
//! generates a sample with the KV cache (temperature and top-k).
//!
//! ```sh
//! cargo run --release --example shakespeare_gpt
//! cargo run --release --example shakespeare_gpt -- --tokenizer bpe --steps 1500
//! ```
//!
//! Flags: `--steps N` (default 4000), `--seed S` (0), `--tokenizer char|bpe`
//! (char; bpe trains 512-token merges on the training split), `--lr X`
//! (1e-3), `--temperature T` (0.8), `--top-k K` (20), `--sample N` (tokens
//! to generate, 400; past the context the window slides, no cache),
//! `--device cpu|cuda` (or `TYPEGRAD_DEVICE`; `cuda` needs `--features
//! cuda`).

use std::error::Error;
use std::marker::PhantomData;
use std::path::Path;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use typegrad::data::{split_tokens, TokenBatches};
use typegrad::io::safetensors;
use typegrad::loss::{cross_entropy, perplexity};
use typegrad::models::{Gpt, Sampling};
use typegrad::nn::Params;
use typegrad::optim::{
    clip_grad_norm, AdamConfig, AdamW, CosineAnnealing, LinearWarmup, Optimizer, Schedule,
};
use typegrad::prelude::*;
use typegrad::shape::StaticDim;
use typegrad::text::{Bpe, CharTokenizer};

mod support;
use support::device::{args_without_device, with_device, ExampleDevice, OnDevice};

type Res<T> = Result<T, Box<dyn Error>>;
/// GPT-mini's body with a vocabulary of `V` tokens, on device `D`.
type Model<V, D = Cpu> = Gpt<V, u!(64), u!(128), u!(4), u!(512), 4, f32, D>;

const CONTEXT: usize = 64;
const BATCH: usize = 16;
/// Validation windows (a fixed, evenly spread set).
const VAL_WINDOWS: usize = 512;

struct Args {
    steps: usize,
    seed: u64,
    bpe: bool,
    lr: f64,
    temperature: f64,
    top_k: usize,
    sample: usize,
}

fn parse_args() -> Res<Args> {
    let mut a = Args {
        steps: 4000,
        seed: 0,
        bpe: false,
        lr: 1e-3,
        temperature: 0.8,
        top_k: 20,
        sample: 400,
    };
    // `--device` is read by `support::device`.
    let mut it = args_without_device().into_iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--steps" => a.steps = value()?.parse()?,
            "--seed" => a.seed = value()?.parse()?,
            "--lr" => a.lr = value()?.parse()?,
            "--temperature" => a.temperature = value()?.parse()?,
            "--top-k" => a.top_k = value()?.parse()?,
            "--sample" => a.sample = value()?.parse()?,
            "--tokenizer" => {
                a.bpe = match value()?.as_str() {
                    "char" => false,
                    "bpe" => true,
                    other => return Err(format!("--tokenizer char|bpe, got {other}").into()),
                }
            }
            other => return Err(format!("unknown flag {other} (see the example's docs)").into()),
        }
    }
    Ok(a)
}

/// Mean validation cross-entropy over fixed windows (untracked: evaluation).
fn val_loss<V: StaticDim, D: Device<f32>>(model: &Model<V, D>, val: &TokenBatches, dev: &D) -> f64 {
    let n = val.num_windows();
    let starts: Vec<usize> = (0..VAL_WINDOWS)
        .map(|i| i * (n - 1) / (VAL_WINDOWS - 1))
        .collect();
    let mut sum = 0.0;
    for chunk in starts.chunks(64) {
        let (x, y) = val.batch_at(chunk, dev);
        sum += cross_entropy(model.forward(x), &y).item() as f64 * chunk.len() as f64;
    }
    sum / VAL_WINDOWS as f64
}

/// Train, evaluate, checkpoint and sample a model of `V` tokens on
/// `tokens`; `decode` turns ids back into text.
fn run<V: StaticDim, D: ExampleDevice>(
    dev: D,
    args: &Args,
    name: &str,
    tokens: &[usize],
    prompt: &[usize],
    decode: &dyn Fn(&[usize]) -> Res<String>,
) -> Res<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out_dir = support::plot_setup(root)?;
    let (train, val) = split_tokens(tokens, 0.1);
    println!(
        "{name}: {} training and {} validation tokens",
        train.len(),
        val.len()
    );
    let mut model: Model<V, D> = Gpt::new(&dev);
    println!(
        "model: GPT-mini, {} parameters, vocabulary {}",
        model.num_params(),
        V::USIZE
    );
    let mut batches = TokenBatches::new(train.to_vec(), BATCH, CONTEXT, args.seed)?;
    let val_batches = TokenBatches::new(val.to_vec(), BATCH, CONTEXT, 0)?;
    let mut opt = AdamW::new(AdamConfig {
        lr: args.lr,
        weight_decay: 0.1,
        ..AdamConfig::adamw()
    })?;
    let warmup = 100.min(args.steps / 10);
    let schedule = LinearWarmup::new(args.lr, 0.01, warmup).then(
        warmup,
        CosineAnnealing::new(args.lr, args.steps - warmup, args.lr / 10.0),
    );

    let bar = ProgressBar::new(args.steps as u64).with_style(ProgressStyle::with_template(
        "{bar:30} {pos}/{len} steps, {per_sec}, {eta} left, loss {msg}",
    )?);
    let (mut train_curve, mut val_curve) = (Vec::new(), Vec::new());
    let (mut sum, mut count) = (0.0, 0);
    let started = Instant::now();
    let every = (args.steps / 10).max(1);
    for step in 0..args.steps {
        let (x, y) = batches.sample(&dev);
        let loss = cross_entropy(model.forward(x.traced::<f32>()), &y);
        sum += loss.item() as f64;
        count += 1;
        let mut grads = loss.backward();
        clip_grad_norm(&model, &mut grads, 1.0)?;
        opt.set_lr(schedule.lr_at(step));
        opt.step(&mut model, &grads)?;
        bar.inc(1);
        if (step + 1) % 50 == 0 {
            train_curve.push(((step + 1) as f64, sum / count as f64));
            bar.set_message(format!("{:.3}", sum / count as f64));
            (sum, count) = (0.0, 0);
        }
        if (step + 1) % every == 0 || step + 1 == args.steps {
            let v = val_loss(&model, &val_batches, &dev);
            val_curve.push(((step + 1) as f64, v));
            bar.suspend(|| println!("step {:>5}: validation loss {v:.4}", step + 1));
        }
    }
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "trained {} steps in {secs:.0} s ({:.0} tokens/s)",
        args.steps,
        (args.steps * BATCH * CONTEXT) as f64 / secs
    );

    let val = val_loss(&model, &val_batches, &dev);
    println!(
        "validation loss {val:.4} nats/token, perplexity {:.2}",
        perplexity(val)
    );
    let png = out_dir.join(format!("shakespeare_gpt_{name}_loss.png"));
    support::plot_loss_curve(
        &png,
        &format!("Shakespeare GPT-mini ({name}): loss"),
        &train_curve,
        &val_curve,
    )?;

    // Save, reload into a freshly initialised model, compare.
    let checkpoint = root.join(format!("target/shakespeare_gpt_{name}.safetensors"));
    safetensors::save(&model, &checkpoint)?;
    let mut reloaded: Model<V, D> = Gpt::new(&dev.reseed(args.seed + 1));
    safetensors::load(&mut reloaded, &checkpoint)?;
    let val2 = val_loss(&reloaded, &val_batches, &dev);
    if val2 != val {
        return Err(
            format!("reloaded checkpoint: validation loss {val2}, trained model {val}").into(),
        );
    }
    println!(
        "wrote {} and {}; the reloaded checkpoint gives the same validation loss",
        png.display(),
        checkpoint.display()
    );

    let sampling = Sampling::temperature(args.temperature).top_k(args.top_k);
    let started = Instant::now();
    let text = if prompt.len() + args.sample <= CONTEXT + 1 {
        reloaded.generate(prompt, args.sample, sampling, args.seed)
    } else {
        // The KV cache holds the context; past it the window slides.
        let head = reloaded.generate(prompt, CONTEXT + 1 - prompt.len(), sampling, args.seed);
        let rest = args.sample - (head.len() - prompt.len());
        reloaded.generate_uncached(&head, rest, sampling, args.seed + 1)
    };
    println!(
        "sample ({} tokens in {:.2} s, temperature {}, top-k {}):\n---\n{}\n---",
        args.sample,
        started.elapsed().as_secs_f64(),
        args.temperature,
        args.top_k,
        decode(&text)?
    );
    Ok(())
}

/// [`run`] for a vocabulary of `V` tokens, on the device the user chose.
struct Program<'a, V> {
    args: &'a Args,
    name: &'a str,
    tokens: &'a [usize],
    prompt: &'a [usize],
    decode: &'a dyn Fn(&[usize]) -> Res<String>,
    vocab: PhantomData<V>,
}

impl<V: StaticDim> OnDevice for Program<'_, V> {
    fn run<D: ExampleDevice>(self, dev: D) -> Res<()> {
        run::<V, D>(
            dev,
            self.args,
            self.name,
            self.tokens,
            self.prompt,
            self.decode,
        )
    }
}

fn main() -> Res<()> {
    let args = parse_args()?;
    // Every core, this thread among them (as torch.set_num_threads).
    typegrad::backend::cpu::threads::init(0)?;
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("data/shakespeare/shakespeare_all_gut.txt"))?;
    std::fs::create_dir_all(root.join("target"))?;
    let prompt_text = "ROMEO:\n";
    if args.bpe {
        // Merges learnt on the training split only.
        let cut = text
            .char_indices()
            .nth(text.chars().count() * 9 / 10)
            .map_or(text.len(), |(i, _)| i);
        let started = Instant::now();
        let bpe = Bpe::try_train(&text[..cut], 512)?;
        let tokens = bpe.encode(&text);
        println!(
            "BPE: 512 tokens trained in {:.2} s, {:.2} characters/token",
            started.elapsed().as_secs_f64(),
            text.len() as f64 / tokens.len() as f64
        );
        bpe.save(root.join("target/shakespeare_gpt_bpe.merges"))?;
        let prompt = bpe.encode(prompt_text);
        let decode = |ids: &[usize]| -> Res<String> { Ok(bpe.decode_lossy(ids)?) };
        let program = Program::<u!(512)> {
            args: &args,
            name: "bpe",
            tokens: &tokens,
            prompt: &prompt,
            decode: &decode,
            vocab: PhantomData,
        };
        with_device(args.seed, program)
    } else {
        let chars = CharTokenizer::from_text(&text);
        if chars.vocab_size() > 96 {
            return Err(format!(
                "{} distinct characters; GPT-mini has 96",
                chars.vocab_size()
            )
            .into());
        }
        let tokens = chars.encode(&text)?;
        chars.save(root.join("target/shakespeare_gpt_char.vocab"))?;
        let prompt = chars.encode(prompt_text)?;
        let decode = |ids: &[usize]| -> Res<String> { Ok(chars.decode(ids)?) };
        let program = Program::<u!(96)> {
            args: &args,
            name: "char",
            tokens: &tokens,
            prompt: &prompt,
            decode: &decode,
            vocab: PhantomData,
        };
        with_device(args.seed, program)
    }
}
