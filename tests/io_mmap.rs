//! A ~100 MB checkpoint through the memory-mapped loader, with a counting
//! global allocator: loading allocates about the model's size (the new
//! parameter buffers; each old one is released before its new one is
//! made), not the file's size on top of it, as reading the file into a
//! buffer first does. Its own test binary, so that nothing else allocates
//! while it measures.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::Instant;
use typegrad::io::safetensors;
use typegrad::nn::{ParamPath, Params};
use typegrad::prelude::*;

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(l) };
        if !p.is_null() {
            let now = LIVE.fetch_add(l.size(), Relaxed) + l.size();
            PEAK.fetch_max(now, Relaxed);
        }
        p
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(l) };
        if !p.is_null() {
            let now = LIVE.fetch_add(l.size(), Relaxed) + l.size();
            PEAK.fetch_max(now, Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) };
        LIVE.fetch_sub(l.size(), Relaxed);
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        let q = unsafe { System.realloc(p, l, new) };
        if !q.is_null() {
            LIVE.fetch_sub(l.size(), Relaxed);
            let now = LIVE.fetch_add(new, Relaxed) + new;
            PEAK.fetch_max(now, Relaxed);
        }
        q
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Run `f`, returning its result, the seconds it took and the most bytes
/// live at once while it ran.
fn measure<T>(f: impl FnOnce() -> T) -> (T, f64, usize) {
    PEAK.store(LIVE.load(Relaxed), Relaxed);
    let t = Instant::now();
    let out = f();
    (out, t.elapsed().as_secs_f64(), PEAK.load(Relaxed))
}

const TENSORS: usize = 25;
const LEN: usize = 1 << 20; // 4 MiB of f32 each: 25 * 4 MiB = 104.9 MB

type Model = Vec<Tensor<(Dyn,), f32>>;

fn value(k: usize, i: usize) -> f32 {
    ((k * 7919 + i) % 4093) as f32 * 0.25 - 511.0
}

fn check(m: &Model) {
    let mut k = 0;
    m.visit_params(&mut ParamPath::default(), &mut |path, p| {
        let v = p.device.download(p.data);
        assert_eq!(path.name(), k.to_string());
        assert_eq!(v.len(), LEN);
        for (i, x) in v.iter().enumerate() {
            assert_eq!(*x, value(k, i), "tensor {k} element {i}");
        }
        k += 1;
    });
    assert_eq!(k, TENSORS);
}

fn zeros(dev: &Cpu) -> Model {
    (0..TENSORS)
        .map(|_| Tensor::zeros((Dyn(LEN),), dev))
        .collect()
}

#[test]
fn a_100_mb_checkpoint_loads_mapped_without_a_second_copy() {
    let dev = Cpu::default();
    let model_bytes = TENSORS * LEN * 4;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.safetensors");
    {
        let m: Model = (0..TENSORS)
            .map(|k| Tensor::from_vec((Dyn(LEN),), (0..LEN).map(|i| value(k, i)).collect(), &dev))
            .collect();
        let base = LIVE.load(Relaxed);
        let (r, secs, peak) = measure(|| safetensors::save(&m, &path));
        r.unwrap();
        eprintln!(
            "save: {:.1} MB in {secs:.3} s, {:.1} MB allocated at most on top of the model",
            std::fs::metadata(&path).unwrap().len() as f64 / 1e6,
            (peak - base) as f64 / 1e6
        );
        // Streamed: one tensor (and a small buffer) at a time.
        assert!(
            peak - base < 2 * LEN * 4,
            "save allocated {} bytes",
            peak - base
        );
    }
    let file_len = std::fs::metadata(&path).unwrap().len() as usize;
    assert!(file_len > model_bytes && file_len < model_bytes + 4096);

    // Through the mapping.
    let mut m = zeros(&dev);
    let base = LIVE.load(Relaxed);
    let (r, secs, peak) = measure(|| safetensors::load(&mut m, &path));
    r.unwrap();
    eprintln!(
        "load (mmap): {secs:.3} s; bytes live at most {:.1} MB = {:.3} x the model ({:.1} MB before loading)",
        peak as f64 / 1e6,
        peak as f64 / model_bytes as f64,
        base as f64 / 1e6
    );
    check(&m);
    assert!(base >= model_bytes && base < model_bytes + (1 << 20));
    assert!(
        peak < model_bytes + model_bytes / 20,
        "loading allocated {} bytes on top of a {} byte model",
        peak - base,
        model_bytes
    );
    drop(m);

    // The same file read into memory first: the counter sees the copy
    // (so the bound above is one this test can fail).
    let mut m = zeros(&dev);
    let (r, secs, peak) = measure(|| {
        let bytes = std::fs::read(&path).unwrap();
        safetensors::load_from_bytes(&mut m, &bytes)
    });
    r.unwrap();
    eprintln!(
        "load (read into a buffer): {secs:.3} s; bytes live at most {:.1} MB = {:.3} x the model",
        peak as f64 / 1e6,
        peak as f64 / model_bytes as f64
    );
    check(&m);
    assert!(peak > 2 * model_bytes - model_bytes / 20);
}
