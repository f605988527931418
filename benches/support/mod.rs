//! Shared by the benches that report ratios against a peer run in the same
//! session: thread setup, a timer that measures the way the PyTorch peer
//! scripts do, and finding and running those scripts.

#![allow(dead_code)] // each bench binary uses a part

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};
use typegrad::backend::cpu::threads;

/// Set up `TYPEGRAD_THREADS` threads (default 2), this one among them, as
/// `torch.set_num_threads` does for the peer, and return the count.
/// `TYPEGRAD_SPIN_US` sets how long idle threads poll for work
/// (`typegrad::backend::cpu::threads`; default 1000).
pub fn init_threads() -> usize {
    let threads = std::env::var("TYPEGRAD_THREADS")
        .ok()
        .and_then(|s| s.trim().parse::<usize>().ok())
        .unwrap_or(2)
        .max(1);
    if let Some(us) = std::env::var("TYPEGRAD_SPIN_US")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
    {
        threads::set_spin_time(Duration::from_micros(us));
    }
    threads::init(threads).expect("typegrad threads")
}

/// Median, 10th and 90th percentile of per-iteration times, in ms.
#[derive(Clone, Copy, Debug)]
pub struct Stats {
    pub median_ms: f64,
    pub p10_ms: f64,
    pub p90_ms: f64,
    pub iters: usize,
}

/// Seconds of measurement: `BENCH_MIN_TIME` (default 5, as the peers).
pub fn min_time() -> f64 {
    std::env::var("BENCH_MIN_TIME")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5.0)
}

/// Time `step` as ../shared/peers/torch_bench.py does: warm up for at
/// least 3 iterations and 1 s, then time each iteration for at least 10
/// iterations and `min_time()` seconds; percentiles interpolate linearly.
pub fn measure(mut step: impl FnMut()) -> Stats {
    let t0 = Instant::now();
    let mut warm = 0;
    while warm < 3 || t0.elapsed() < Duration::from_secs(1) {
        step();
        warm += 1;
    }
    let min = Duration::from_secs_f64(min_time());
    let mut times = Vec::new();
    let start = Instant::now();
    loop {
        let a = Instant::now();
        step();
        times.push(a.elapsed().as_secs_f64() * 1e3);
        if times.len() >= 10 && start.elapsed() >= min {
            break;
        }
    }
    times.sort_by(f64::total_cmp);
    let pct = |q: f64| {
        let pos = (times.len() - 1) as f64 * q;
        let lo = pos.floor() as usize;
        let hi = (lo + 1).min(times.len() - 1);
        times[lo] + (times[hi] - times[lo]) * (pos - lo as f64)
    };
    Stats {
        median_ms: pct(0.5),
        p10_ms: pct(0.1),
        p90_ms: pct(0.9),
        iters: times.len(),
    }
}

/// The Python with PyTorch for the peer scripts: `PEERS_PYTHON`, else
/// `$PEERS_VENV/bin/python`, else the default venvs of
/// ../shared/peers/setup.sh (`~/.cache/peers-venv`, `/tmp/peers-venv`).
pub fn peer_python() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("PEERS_PYTHON") {
        return Some(PathBuf::from(p));
    }
    let mut candidates = Vec::new();
    if let Ok(v) = std::env::var("PEERS_VENV") {
        candidates.push(PathBuf::from(v).join("bin/python"));
    }
    if let Ok(h) = std::env::var("HOME") {
        candidates.push(PathBuf::from(h).join(".cache/peers-venv/bin/python"));
    }
    candidates.push(PathBuf::from("/tmp/peers-venv/bin/python"));
    candidates.into_iter().find(|p| p.exists())
}

/// The path of a script in benches/peers/.
pub fn peer_script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("benches/peers")
        .join(name)
}

/// Run a peer script and return its stdout's JSON lines; `None` (with a
/// note on stderr saying how to run it by hand) when there is no Python
/// with PyTorch or `PEERS=0` is set.
pub fn run_peer(script: &str, args: &[&str]) -> Option<Vec<String>> {
    let path = peer_script(script);
    let by_hand = format!("python {} {}", path.display(), args.join(" "));
    if std::env::var("PEERS").as_deref() == Ok("0") {
        eprintln!("peer skipped (PEERS=0); run it by hand: {by_hand}");
        return None;
    }
    let Some(python) = peer_python() else {
        eprintln!("no Python with PyTorch found (set PEERS_PYTHON or run ../shared/peers/setup.sh); run the peer by hand: {by_hand}");
        return None;
    };
    eprintln!("running peer: {} {}", python.display(), &by_hand[7..]);
    let out = Command::new(&python).arg(&path).args(args).output();
    match out {
        Ok(o) if o.status.success() => Some(
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .filter(|l| l.trim_start().starts_with('{'))
                .map(String::from)
                .collect(),
        ),
        Ok(o) => {
            eprintln!(
                "peer failed ({}): {}",
                o.status,
                String::from_utf8_lossy(&o.stderr)
            );
            None
        }
        Err(e) => {
            eprintln!("peer could not start: {e}");
            None
        }
    }
}

/// A number field of a flat JSON line, e.g. `json_number(line, "median_ms")`.
pub fn json_number(line: &str, key: &str) -> Option<f64> {
    let pat = format!("\"{key}\":");
    let rest = line[line.find(&pat)? + pat.len()..].trim_start();
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || "+-.eE".contains(c)))
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// A string field of a flat JSON line.
pub fn json_string(line: &str, key: &str) -> Option<String> {
    let pat = format!("\"{key}\":");
    let rest = line[line.find(&pat)? + pat.len()..].trim_start();
    let rest = rest.strip_prefix('"')?;
    Some(rest[..rest.find('"')?].to_string())
}

/// A xorshift64 stream from `seed`: the benches' inputs, reproducible
/// without a random-number crate.
pub fn xorshift(seed: u64) -> impl FnMut() -> u64 {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    }
}

/// `n` pseudo-random token ids below GPT-mini's vocabulary (96), from
/// `seed` (the GPT benches' inputs and targets).
pub fn token_ids(n: usize, seed: u64) -> Vec<usize> {
    let mut next = xorshift(seed);
    (0..n).map(|_| (next() % 96) as usize).collect()
}
