//! An encoder-decoder Transformer (The Little Book of Deep Learning, §5.3
//! and figure 5.7) learning to read numbers: spelled-out English words to
//! digits, "forty-two thousand three hundred seven" -> "42307".
//!
//! The numbers 0..=99,999 are shuffled with a fixed seed; 2,000 of them are
//! the test set and 1,000 the validation set, and 30,000 of the others
//! (less than a third of all numbers) the training set: the model must
//! read numbers it has never seen, compositionally. The
//! source is tokenised by word (29 number words, "hundred", "thousand",
//! the hyphen of "forty-two", and a padding token that fills every source
//! to the longest, 9 tokens); the target is `BOS digits EOS`, padded with
//! `EOS` to 7 tokens (the decoder is causal, so padding after `EOS` never
//! reaches the earlier positions). Training uses teacher forcing
//! (inputs `y[..6]`, targets `y[1..]`), AdamW with warm-up and cosine
//! decay; the test set is read with greedy decoding and scored by exact
//! match.
//!
//! The example draws the training and validation loss per epoch
//! (`seq2seq_loss.png`), prints a few test examples and the exact-match
//! accuracy, and checks it reaches 95%.
//!
//! Run with `cargo run --release --example seq2seq` (`SEQ2SEQ_EPOCHS=1`
//! for a quick run; on a GPU add `--features cuda` and `-- --device cuda`,
//! or set `TYPEGRAD_DEVICE=cuda`).

use std::error::Error;
use std::path::Path;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use typegrad::loss::cross_entropy;
use typegrad::models::Transformer;
use typegrad::optim::{AdamConfig, AdamW, CosineAnnealing, LinearWarmup, Optimizer, Schedule};
use typegrad::prelude::*;

mod support;
use support::device::{with_device, ExampleDevice, OnDevice};

type Res<T> = Result<T, Box<dyn Error>>;
/// 32 source words, 12 target tokens (10 digits, BOS, EOS), Dm 64, 4
/// heads, feed-forward width 128.
type Model<D = Cpu> = Transformer<u!(32), u!(12), u!(64), u!(4), u!(128), f32, D>;
type Ids<D = Cpu> = Tensor<(Dyn, Dyn), usize, D>;

const LAYERS: usize = 2;
const BATCH: usize = 128;
/// Epochs of the full run (the 95% target applies to it);
/// `SEQ2SEQ_EPOCHS` overrides it.
const EPOCHS: usize = 6;
const LR: f64 = 1e-3;
const TEST: usize = 2000;
const VAL: usize = 1000;
const TRAIN: usize = 30_000;

const WORDS: [&str; 32] = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
    "twenty",
    "thirty",
    "forty",
    "fifty",
    "sixty",
    "seventy",
    "eighty",
    "ninety",
    "hundred",
    "thousand",
    "-",
    "<pad>",
];
const PAD: usize = 31;
const BOS: usize = 10;
const EOS: usize = 11;
/// The longest source (e.g. "seventy - seven thousand seven hundred seventy - seven").
const SRC_LEN: usize = 9;
/// BOS, up to 5 digits, EOS.
const TGT_LEN: usize = 7;

/// `n < 100` in words ("forty-two").
fn below_100(n: usize) -> String {
    match n {
        0..=19 => WORDS[n].to_string(),
        _ if n.is_multiple_of(10) => WORDS[18 + n / 10].to_string(),
        _ => format!("{}-{}", WORDS[18 + n / 10], WORDS[n % 10]),
    }
}

/// `n < 1000` in words, `None` for 0 (omitted inside a larger number).
fn below_1000(n: usize) -> Option<String> {
    let (h, r) = (n / 100, n % 100);
    match (h, r) {
        (0, 0) => None,
        (0, _) => Some(below_100(r)),
        (_, 0) => Some(format!("{} hundred", WORDS[h])),
        _ => Some(format!("{} hundred {}", WORDS[h], below_100(r))),
    }
}

/// `n <= 99,999` in words: "forty-two thousand three hundred seven".
fn spell(n: usize) -> String {
    if n == 0 {
        return "zero".to_string();
    }
    let (t, r) = (n / 1000, n % 1000);
    let mut parts = Vec::new();
    if t > 0 {
        parts.push(format!("{} thousand", below_100(t)));
    }
    parts.extend(below_1000(r));
    parts.join(" ")
}

/// Word ids of a spelled number, the hyphen its own token, padded.
fn source(n: usize) -> Vec<usize> {
    let text = spell(n).replace('-', " - ");
    let mut ids: Vec<usize> = text
        .split(' ')
        .map(|w| WORDS.iter().position(|&x| x == w).expect("a number word"))
        .collect();
    assert!(ids.len() <= SRC_LEN, "{text}");
    ids.resize(SRC_LEN, PAD);
    ids
}

/// `BOS digits EOS`, padded with `EOS`.
fn target(n: usize) -> Vec<usize> {
    let mut ids = vec![BOS];
    ids.extend(n.to_string().bytes().map(|b| (b - b'0') as usize));
    ids.resize(TGT_LEN, EOS);
    ids
}

/// Sources `(B, 9)`, decoder inputs `(B, 6)` and targets `(B, 6)` of the numbers.
fn batch<D: Device<f32>>(numbers: &[usize], dev: &D) -> Res<(Ids<D>, Ids<D>, Ids<D>)> {
    let b = numbers.len();
    let src: Vec<usize> = numbers.iter().flat_map(|&n| source(n)).collect();
    let (mut inp, mut out) = (Vec::new(), Vec::new());
    for &n in numbers {
        let t = target(n);
        inp.extend_from_slice(&t[..TGT_LEN - 1]);
        out.extend_from_slice(&t[1..]);
    }
    let shape = (Dyn(b), Dyn(TGT_LEN - 1));
    Ok((
        Tensor::try_from_vec((Dyn(b), Dyn(SRC_LEN)), src, dev)?,
        Tensor::try_from_vec(shape, inp, dev)?,
        Tensor::try_from_vec(shape, out, dev)?,
    ))
}

/// Mean teacher-forced loss on `numbers` (evaluation: untracked).
fn val_loss<D: Device<f32>>(model: &Model<D>, numbers: &[usize], dev: &D) -> Res<f64> {
    let mut sum = 0.0;
    for chunk in numbers.chunks(500) {
        let (src, inp, out) = batch(chunk, dev)?;
        let logits = model.try_forward(src, inp)?;
        sum += cross_entropy(logits, &out).item() as f64 * chunk.len() as f64;
    }
    Ok(sum / numbers.len() as f64)
}

/// Greedy readings of `numbers` as strings of digits.
fn read<D: Device<f32>>(model: &Model<D>, numbers: &[usize], dev: &D) -> Res<Vec<String>> {
    let mut all = Vec::new();
    for chunk in numbers.chunks(500) {
        let (src, _, _) = batch(chunk, dev)?;
        for seq in model.greedy_decode(src, BOS, EOS, TGT_LEN - 1)? {
            all.push(
                seq.iter()
                    .map(|&d| {
                        if d < 10 {
                            char::from(b'0' + d as u8)
                        } else {
                            '?'
                        }
                    })
                    .collect(),
            );
        }
    }
    Ok(all)
}

fn main() -> Res<()> {
    with_device(0, Train)
}

/// The whole run, on the device the user chose.
struct Train;

impl OnDevice for Train {
    fn run<D: ExampleDevice>(self, dev: D) -> Res<()> {
        train(dev)
    }
}

fn train<D: ExampleDevice>(dev: D) -> Res<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out_dir = support::plot_setup(root)?;
    let started = Instant::now();

    let mut numbers: Vec<usize> = (0..100_000).collect();
    numbers.shuffle(&mut StdRng::seed_from_u64(0));
    let (test, rest) = numbers.split_at(TEST);
    let (val, train) = rest.split_at(VAL);
    let mut train = train[..TRAIN].to_vec();
    println!(
        "numbers 0..=99999: {} training, {} validation, {} test (held out)",
        train.len(),
        val.len(),
        test.len()
    );
    println!("e.g. {:>5} = \"{}\"", test[0], spell(test[0]));

    let mut model = Model::<D>::new(LAYERS, LAYERS, &dev);
    println!(
        "Transformer: {LAYERS} encoder + {LAYERS} decoder layers, {} parameters",
        model.num_params()
    );
    let epochs: usize = match std::env::var("SEQ2SEQ_EPOCHS") {
        Ok(v) => v
            .parse()
            .map_err(|_| format!("SEQ2SEQ_EPOCHS must be a positive integer, got {v:?}"))?,
        Err(_) => EPOCHS,
    };
    let steps = train.len() / BATCH;
    let total = steps * epochs.max(1);
    let warmup = 200.min(total / 4);
    let schedule = LinearWarmup::new(LR, 0.01, warmup)
        .then(warmup, CosineAnnealing::new(LR, total - warmup, 0.0));
    let mut opt = AdamW::new(AdamConfig {
        lr: LR,
        ..AdamConfig::adamw()
    })?;
    let style = ProgressStyle::with_template(
        "epoch {prefix} {bar:30} {pos}/{len} batches, {per_sec}, loss {msg}",
    )?;
    let mut rng = StdRng::seed_from_u64(1);
    let (mut train_losses, mut val_losses) = (Vec::new(), Vec::new());
    let mut step = 0;
    for epoch in 0..epochs {
        let epoch_start = Instant::now();
        train.shuffle(&mut rng);
        let bar = ProgressBar::new(steps as u64).with_style(style.clone());
        bar.set_prefix(format!("{}/{epochs}", epoch + 1));
        let (mut sum, mut count) = (0.0, 0usize);
        for chunk in train.chunks_exact(BATCH) {
            let (src, inp, out) = batch(chunk, &dev)?;
            let src = src.traced::<f32>();
            let inp = inp.with_tape(src.tape().clone());
            let loss = cross_entropy(model.try_forward(src, inp)?, &out);
            sum += loss.item() as f64;
            count += 1;
            let grads = loss.backward();
            opt.set_lr(schedule.lr_at(step));
            opt.step(&mut model, &grads)?;
            step += 1;
            bar.inc(1);
            if count % 20 == 0 {
                bar.set_message(format!("{:.4}", sum / count as f64));
            }
        }
        bar.finish_and_clear();
        let v = val_loss(&model, val, &dev)?;
        train_losses.push(sum / count as f64);
        val_losses.push(v);
        println!(
            "epoch {}: train loss {:.4}, validation loss {:.4} ({:.0} sequences/s)",
            epoch + 1,
            sum / count as f64,
            v,
            (count * BATCH) as f64 / epoch_start.elapsed().as_secs_f64()
        );
    }

    let readings = read(&model, test, &dev)?;
    let correct = test
        .iter()
        .zip(&readings)
        .filter(|(n, r)| n.to_string() == **r)
        .count();
    let accuracy = correct as f64 / test.len() as f64;
    println!("test examples (greedy decoding):");
    for (n, r) in test.iter().zip(&readings).take(8) {
        let mark = if n.to_string() == *r { "ok" } else { "WRONG" };
        println!("  {:<58} -> {:>5}  {mark}", format!("\"{}\"", spell(*n)), r);
    }
    for (n, r) in test
        .iter()
        .zip(&readings)
        .filter(|(n, r)| n.to_string() != **r)
        .take(5)
    {
        println!("  miss: \"{}\" -> {r} (want {n})", spell(*n));
    }
    let loss_png = out_dir.join("seq2seq_loss.png");
    support::plot_losses(
        &loss_png,
        "seq2seq: words to digits, loss per epoch",
        &train_losses,
        &val_losses,
    )?;
    println!("wrote {}", loss_png.display());
    println!("wall time: {:.1} s", started.elapsed().as_secs_f64());
    println!(
        "test exact match: {:.2}% ({correct}/{} held-out numbers)",
        100.0 * accuracy,
        test.len()
    );
    if epochs == EPOCHS && accuracy < 0.95 {
        return Err(format!(
            "exact match {:.2}% is below the 95% target",
            100.0 * accuracy
        )
        .into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spelling() {
        assert_eq!(spell(0), "zero");
        assert_eq!(spell(342), "three hundred forty-two");
        assert_eq!(spell(42_307), "forty-two thousand three hundred seven");
        assert_eq!(spell(90_000), "ninety thousand");
        assert_eq!(spell(12_019), "twelve thousand nineteen");
        assert_eq!(source(99_999).len(), SRC_LEN);
        assert!((0..100_000).all(|n| source(n).len() == SRC_LEN));
        assert_eq!(target(7), vec![BOS, 7, EOS, EOS, EOS, EOS, EOS]);
    }
}
