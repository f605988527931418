//! The embedded proof: `examples/embedded` (the MNIST MLP and LeNet,
//! `no_std`, their checkpoints in flash and read there in place) is built
//! for `thumbv7em-none-eabihf`, run under `qemu-system-arm` on the MPS2
//! AN386 board (Cortex-M4 with FPU), and every logit it prints is compared
//! with the host's for the same checkpoint and image (the host copies the
//! weights with `load_from_bytes`; it also checks there that the borrowed
//! models give bit-identical logits).
//!
//! Without `qemu-system-arm` on `PATH` these tests skip with a message,
//! unless `TYPEGRAD_REQUIRE_QEMU` is set (CI sets it, after installing
//! Debian's `qemu-system-arm`), in which case they fail.
#![cfg(feature = "std")]

extern crate alloc;

#[allow(dead_code)]
#[path = "../examples/embedded/src/model.rs"]
mod model;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use model::{argmax, lenet_from_checkpoint, lenet_input, lenet_zeros, mlp_input, Mlp};
use typegrad::data::IdxArray;
use typegrad::io::safetensors;
use typegrad::prelude::*;

const IMAGES: usize = 100;
const PIXELS: usize = 28 * 28;
/// The largest absolute difference allowed between a device logit and the
/// host's.
const TOLERANCE: f32 = 1e-5;
/// The RAM the firmware may take for the MLP, weights excluded (they stay
/// in flash): the heap's peak from building the model through inference,
/// plus the whole run's stack peak.
const RAM_GOAL: usize = 64 * 1024;
/// QEMU runs the firmware in about 3 s; this only stops a hung run.
const QEMU_TIMEOUT: Duration = Duration::from_secs(300);

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn asset(name: &str) -> Vec<u8> {
    let path = root().join("examples/embedded/assets").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// One image's result as the firmware printed it.
#[derive(Debug)]
struct Row {
    label: u8,
    pred: usize,
    logits: Vec<f32>,
}

/// The firmware's output, parsed.
#[derive(Debug, Default)]
struct Run {
    /// Per model (`mlp`, `lenet`): the rows in image order.
    rows: BTreeMap<String, Vec<Row>>,
    /// Per model: `(correct, total)`.
    accuracy: BTreeMap<String, (usize, usize)>,
    /// `shape` / `dtype`: the loader's message for the bad checkpoint load.
    refused: BTreeMap<String, String>,
    /// `figure` lines: name -> first number, and the whole line.
    figures: BTreeMap<String, (u64, String)>,
    passed: bool,
}

impl Run {
    fn figure(&self, name: &str) -> u64 {
        self.figures
            .get(name)
            .unwrap_or_else(|| panic!("the firmware printed no figure `{name}`"))
            .0
    }
}

fn parse(text: &str) -> Run {
    let mut run = Run::default();
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["logits", model, i, "label", label, "pred", pred, hex @ ..] => {
                let rows = run.rows.entry(model.to_string()).or_default();
                assert_eq!(i.parse::<usize>().unwrap(), rows.len(), "{line}");
                rows.push(Row {
                    label: label.parse().unwrap(),
                    pred: pred.parse().unwrap(),
                    logits: hex
                        .iter()
                        .map(|h| f32::from_bits(u32::from_str_radix(h, 16).unwrap()))
                        .collect(),
                });
            }
            ["accuracy", model, score] => {
                let (c, n) = score.split_once('/').unwrap();
                run.accuracy
                    .insert(model.to_string(), (c.parse().unwrap(), n.parse().unwrap()));
            }
            ["refused", what, ..] => {
                let (_, msg) = line.split_once(": ").unwrap();
                run.refused
                    .insert(what.trim_end_matches(':').to_string(), msg.to_string());
            }
            ["figure", name, value, ..] => {
                run.figures
                    .insert(name.to_string(), (value.parse().unwrap(), line.to_string()));
            }
            ["PASS"] => run.passed = true,
            _ => {}
        }
    }
    run
}

fn find_qemu() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("qemu-system-arm"))
        .find(|p| p.is_file())
}

/// Build the firmware (release, its own target dir so the outer cargo's
/// lock is not in the way) and return the ELF's path.
fn build_firmware() -> PathBuf {
    let dir = root().join("examples/embedded");
    let target_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("embedded-firmware");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(&dir)
        .args(["build", "--release", "--target-dir"])
        .arg(&target_dir)
        .output()
        .expect("run cargo");
    assert!(
        out.status.success(),
        "building examples/embedded for thumbv7em-none-eabihf failed \
         (is the target installed? `rustup target add thumbv7em-none-eabihf`):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    target_dir.join("thumbv7em-none-eabihf/release/typegrad-embedded")
}

/// Run the firmware under QEMU (the same command line as the runner in
/// `examples/embedded/.cargo/config.toml`); its stdout and exit status.
fn run_qemu(qemu: &Path, elf: &Path) -> (String, std::process::ExitStatus) {
    let mut child = Command::new(qemu)
        .args([
            "-machine",
            "mps2-an386",
            "-cpu",
            "cortex-m4",
            "-display",
            "none",
            "-serial",
            "null",
            "-monitor",
            "none",
            "-semihosting-config",
            "enable=on,target=native",
            "-icount",
            "shift=0",
            "-kernel",
        ])
        .arg(elf)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start qemu-system-arm");
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        stdout.read_to_string(&mut s).map(|_| s)
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > QEMU_TIMEOUT {
            child.kill().unwrap();
            let _ = child.wait();
            panic!("the firmware did not finish within {QEMU_TIMEOUT:?} under QEMU");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    (reader.join().unwrap().unwrap(), status)
}

/// The firmware's run, once for all tests; `None` when QEMU is absent.
fn device() -> Option<&'static Run> {
    static RUN: OnceLock<Option<Run>> = OnceLock::new();
    RUN.get_or_init(|| {
        let Some(qemu) = find_qemu() else {
            assert!(
                std::env::var_os("TYPEGRAD_REQUIRE_QEMU").is_none(),
                "TYPEGRAD_REQUIRE_QEMU is set but qemu-system-arm is not on PATH"
            );
            eprintln!(
                "skipping the embedded QEMU test: qemu-system-arm is not on PATH \
                 (Debian/Ubuntu: apt-get install qemu-system-arm)"
            );
            return None;
        };
        let elf = build_firmware();
        let (stdout, status) = run_qemu(&qemu, &elf);
        assert!(
            status.success(),
            "the firmware exited with {status} under QEMU; its output:\n{stdout}"
        );
        let run = parse(&stdout);
        assert!(run.passed, "the firmware did not print PASS:\n{stdout}");
        Some(run)
    })
    .as_ref()
}

/// The host's logits for every embedded image, one image at a time as on
/// the device.
fn host_logits(model: &str) -> Vec<Vec<f32>> {
    let dev = Cpu::default();
    let images = asset("mnist_test_images.u8");
    let chunks = images.chunks_exact(PIXELS);
    match model {
        "mlp" => {
            let mut m = Mlp::zeros(&dev);
            safetensors::load_from_bytes(&mut m, &asset("mnist_mlp.safetensors")).unwrap();
            chunks
                .map(|px| m.forward(mlp_input(px, &dev)).to_vec())
                .collect()
        }
        "lenet" => {
            let mut m = lenet_zeros(&dev);
            safetensors::load_from_bytes(&mut m, &asset("mnist_lenet.safetensors")).unwrap();
            chunks
                .map(|px| m.forward(lenet_input(px, &dev)).to_vec())
                .collect()
        }
        _ => unreachable!(),
    }
}

/// Every device logit within [`TOLERANCE`] of the host's, every
/// prediction identical, and the printed accuracy right.
fn check_model(name: &str) {
    let Some(run) = device() else { return };
    let rows = &run.rows[name];
    assert_eq!(rows.len(), IMAGES, "{name}: images classified");
    let labels = asset("mnist_test_labels.u8");
    let host = host_logits(name);
    let (mut worst, mut worst_abs) = (0f32, 0f32);
    for (i, (row, h)) in rows.iter().zip(&host).enumerate() {
        assert_eq!(row.label, labels[i], "{name} image {i}: label");
        assert_eq!(row.logits.len(), 10, "{name} image {i}: logits");
        for (j, (&d, &hv)) in row.logits.iter().zip(h).enumerate() {
            let err = (d - hv).abs() / hv.abs().max(1.0);
            worst = worst.max(err);
            worst_abs = worst_abs.max((d - hv).abs());
            // The issue asks for 1e-5 outright; the relative figure is
            // printed too because the logits reach about 20.
            assert!(
                (d - hv).abs() <= TOLERANCE,
                "{name} image {i} logit {j}: device {d:e}, host {hv:e}"
            );
        }
        assert_eq!(row.pred, argmax(h), "{name} image {i}: prediction");
        assert_eq!(row.pred, argmax(&row.logits), "{name} image {i}: argmax");
    }
    let correct = rows
        .iter()
        .filter(|r| r.pred == usize::from(r.label))
        .count();
    assert_eq!(run.accuracy[name], (correct, IMAGES), "{name}: accuracy");
    eprintln!(
        "{name}: device accuracy {correct}/{IMAGES}, predictions identical to the host's, \
         largest logit difference {worst:e} relative, {worst_abs:e} absolute"
    );
}

#[test]
fn mlp_on_the_device_equals_the_host() {
    check_model("mlp");
}

#[test]
fn lenet_on_the_device_equals_the_host() {
    check_model("lenet");
}

#[test]
fn bad_checkpoints_are_clear_errors_on_the_device() {
    let Some(run) = device() else { return };
    assert_eq!(
        run.refused["shape"],
        "safetensors: tensor `fc3.weight` has shape [10, 128] in the file, the model needs [12, 128]"
    );
    assert_eq!(
        run.refused["dtype"],
        "safetensors: tensor `fc3.weight` has dtype F32 in the file, the model needs F64"
    );
}

/// On the host, the models built on their (16-aligned) checkpoints read
/// every parameter in place and give bit for bit the logits of the models
/// that copied the weights (what the device's logits are compared with).
#[test]
fn borrowed_models_equal_copied_ones_on_the_host() {
    static MLP: &[u8] =
        typegrad::include_aligned!("../examples/embedded/assets/mnist_mlp.safetensors");
    static LENET: &[u8] =
        typegrad::include_aligned!("../examples/embedded/assets/mnist_lenet.safetensors");
    let dev = Cpu::default();
    let images = asset("mnist_test_images.u8");
    let (mlp, report) = Mlp::from_checkpoint(MLP, &dev).unwrap();
    assert_eq!((report.borrowed, report.borrowed_bytes), (6, 940_584));
    assert!(report.copied.is_empty());
    let (lenet, report) = lenet_from_checkpoint(LENET, &dev).unwrap();
    assert_eq!((report.borrowed, report.borrowed_bytes), (8, 422_024));
    let copied: Vec<Vec<f32>> = host_logits("mlp");
    for (px, want) in images.chunks_exact(PIXELS).zip(&copied) {
        assert_eq!(&mlp.forward(mlp_input(px, &dev)).to_vec(), want);
    }
    let copied: Vec<Vec<f32>> = host_logits("lenet");
    for (px, want) in images.chunks_exact(PIXELS).zip(&copied) {
        assert_eq!(&lenet.forward(lenet_input(px, &dev)).to_vec(), want);
    }
}

/// The committed images are the first 100 of MNIST's test set.
#[test]
fn embedded_images_are_the_mnist_test_set() {
    let mnist = root().join("data/mnist");
    let images = IdxArray::open(mnist.join("mnist-t10k-images-idx3-ubyte.gz")).unwrap();
    let labels = IdxArray::open(mnist.join("mnist-t10k-labels-idx1-ubyte.gz")).unwrap();
    assert_eq!(
        asset("mnist_test_images.u8"),
        images.data()[..IMAGES * PIXELS]
    );
    assert_eq!(asset("mnist_test_labels.u8"), labels.data()[..IMAGES]);
}

/// The memory figures: every parameter is read in place from flash (the
/// heap holds none of the weights), and the MLP, from building it through
/// its last inference, needs less than [`RAM_GOAL`] of RAM, stack
/// included.
#[test]
fn memory_figures() {
    let Some(run) = device() else { return };
    for (_, line) in run.figures.values() {
        eprintln!("{line}");
    }
    for name in ["mlp", "lenet"] {
        let params = run.figure(&format!("{name}.params")) as usize * 4;
        let borrowed = run.figure(&format!("{name}.borrowed")) as usize;
        assert_eq!(borrowed, params, "{name}: bytes read in place from flash");
        let line = &run.figures[&format!("{name}.borrowed")].1;
        assert!(line.ends_with(", 0 copied)"), "{line}");
        let weights = run.figure(&format!("{name}.heap_weights")) as usize;
        assert_eq!(weights, 0, "{name}: heap held after building the model");
        let checkpoint = &run.figures[&format!("{name}.checkpoint")].1;
        let address = u64::from_str_radix(checkpoint.rsplit("0x").next().unwrap(), 16).unwrap();
        assert!(
            address < 0x2000_0000,
            "{name}: checkpoint not in flash: {checkpoint}"
        );
    }
    let ram = run.figure("mlp.heap_peak") as usize + run.figure("stack.peak") as usize;
    assert!(
        ram < RAM_GOAL,
        "the MLP takes {ram} bytes of RAM (heap peak + stack peak), weights in flash"
    );
    // icount is on: the calibration loop's 2,000,000 instructions are
    // 50,000 ticks of the 25 MHz SysTick (1 ns per instruction), plus at
    // most one: the window also holds the few instructions that read the
    // counter, and starts at whatever phase of a tick the code's layout
    // gives it.
    assert_eq!(run.figure("calibration"), 2_000_000);
    let line = &run.figures["calibration"].1;
    let ticks: u64 = line
        .strip_suffix(" ticks")
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("no tick count in {line:?}"));
    assert!((50_000..=50_001).contains(&ticks), "{line}");
}
