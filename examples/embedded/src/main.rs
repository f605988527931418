//! MNIST on a Cortex-M4F with typegrad, `no_std`: the MLP trained by
//! `examples/mnist_mlp.rs` and the LeNet trained by
//! `examples/mnist_lenet.rs`, their safetensors checkpoints embedded in
//! flash (16-byte aligned) and read there in place by the library's own
//! loader (no copy of the weights in RAM), classify 100 MNIST test
//! images. Every logit is printed (as f32 bits in hex) through semihosting
//! for `tests/embedded_qemu.rs` to compare with the host's, with the
//! accuracy, two checkpoint errors the loader must report (wrong shape,
//! wrong dtype), and the memory and instruction figures.
//!
//! Run under QEMU with `cargo run --release` in this folder (see
//! `docs/EMBEDDED.md`). Exits with status 0 when both models loaded, both
//! bad loads were refused, and both scored at least 95%.

#![no_std]
#![no_main]

extern crate alloc;

#[macro_use]
mod out;
mod heap;
mod model;
mod stack;
mod ticks;

use alloc::vec::Vec;
use core::panic::PanicInfo;
use core::ptr::addr_of;
use cortex_m_rt::{entry, exception, ExceptionFrame};
use cortex_m_semihosting::debug::{self, EXIT_FAILURE, EXIT_SUCCESS};
use cortex_m_semihosting::heprintln;
use typegrad::io::safetensors;

use typegrad::prelude::*;

use heap::CountingHeap;
use model::{argmax, lenet_from_checkpoint, lenet_input, mlp_input, Mlp, WrongDtype, WrongWidth};
use out::Out;
use ticks::Ticks;

#[global_allocator]
static HEAP: CountingHeap = CountingHeap::empty();

/// `examples/mnist_mlp.rs`'s checkpoint (copied from
/// `target/mnist_mlp.safetensors`), 16-byte aligned so that its f32
/// tensors can be read in place.
static MLP_WEIGHTS: &[u8] = typegrad::include_aligned!("../assets/mnist_mlp.safetensors");
/// `examples/mnist_lenet.rs`'s checkpoint.
static LENET_WEIGHTS: &[u8] = typegrad::include_aligned!("../assets/mnist_lenet.safetensors");
/// The first 100 MNIST test images, 28x28 bytes each, and their labels.
static IMAGES: &[u8] = include_bytes!("../assets/mnist_test_images.u8");
static LABELS: &[u8] = include_bytes!("../assets/mnist_test_labels.u8");
const PIXELS: usize = 28 * 28;
/// Below this many correct out of 100 the run fails (both networks score
/// about 98-99% on the whole test set).
const MIN_CORRECT: usize = 95;

extern "C" {
    // cortex-m-rt's section bounds.
    static __stext: u8;
    static __etext: u8;
    static __srodata: u8;
    static __erodata: u8;
    static __sdata: u8;
    static __edata: u8;
    static __sbss: u8;
    static __ebss: u8;
}

#[entry]
fn main() -> ! {
    stack::paint();
    HEAP.init();
    let mut out = Out::open();
    let peripherals = cortex_m::Peripherals::take().expect("first and only take");
    let mut ticks = Ticks::start(peripherals.SYST);
    let ok = run(&mut out, &mut ticks);
    outln!(out, "figure stack.peak {} bytes", stack::peak());
    outln!(out, "figure stack.size {} bytes", stack::size());
    outln!(out, "{}", if ok { "PASS" } else { "FAIL" });
    debug::exit(if ok { EXIT_SUCCESS } else { EXIT_FAILURE });
    loop {
        cortex_m::asm::wfi();
    }
}

fn run(out: &mut Out, ticks: &mut Ticks) -> bool {
    outln!(
        out,
        "typegrad on a Cortex-M4F: MNIST, {} test images",
        LABELS.len()
    );
    sections(out);
    let calib = ticks::calibrate(ticks);
    outln!(
        out,
        "figure calibration {} instructions in {} ticks",
        ticks::CALIBRATION_INSTRUCTIONS,
        calib
    );
    let dev = Cpu::default();
    let mut ok = true;

    // The MLP: build it on its checkpoint in flash, classify, then the
    // two loads that must fail.
    let base = HEAP.used();
    HEAP.reset_peak();
    let (mlp, report) = match Mlp::from_checkpoint(MLP_WEIGHTS, &dev) {
        Ok(m) => m,
        Err(e) => {
            outln!(out, "error mlp load: {e}");
            return false;
        }
    };
    let load_peak = weights_figures(out, "mlp", mlp.num_params(), MLP_WEIGHTS, &report, base);
    ok &= classify(out, ticks, "mlp", |px| {
        mlp.forward(mlp_input(px, &dev)).to_vec()
    });
    heap_figures(out, "mlp", base, load_peak);
    drop(mlp);
    ok &= refused(
        out,
        "shape",
        safetensors::load_static(&mut WrongWidth::zeros(&dev), MLP_WEIGHTS).map(drop),
    );
    ok &= refused(
        out,
        "dtype",
        safetensors::load_static(&mut WrongDtype::zeros(&dev), MLP_WEIGHTS).map(drop),
    );

    // LeNet.
    let base = HEAP.used();
    HEAP.reset_peak();
    let (lenet, report) = match lenet_from_checkpoint(LENET_WEIGHTS, &dev) {
        Ok(m) => m,
        Err(e) => {
            outln!(out, "error lenet load: {e}");
            return false;
        }
    };
    let load_peak = weights_figures(
        out,
        "lenet",
        lenet.num_params(),
        LENET_WEIGHTS,
        &report,
        base,
    );
    ok &= classify(out, ticks, "lenet", |px| {
        lenet.forward(lenet_input(px, &dev)).to_vec()
    });
    heap_figures(out, "lenet", base, load_peak);
    ok
}

/// The heap during inference beyond what the model holds, and the heap's
/// peak from before the model was built through the last inference.
fn heap_figures(out: &mut Out, name: &str, base: usize, load_peak: usize) {
    outln!(
        out,
        "figure {name}.heap_inference {} bytes beyond the model",
        HEAP.peak() - HEAP.used()
    );
    outln!(
        out,
        "figure {name}.heap_peak {} bytes from building the model through inference",
        load_peak.max(HEAP.peak() - base)
    );
}

/// Flash and static RAM from the linker's section bounds.
fn sections(out: &mut Out) {
    let (text, rodata, data, bss) = (
        addr_of!(__etext) as usize - addr_of!(__stext) as usize,
        addr_of!(__erodata) as usize - addr_of!(__srodata) as usize,
        addr_of!(__edata) as usize - addr_of!(__sdata) as usize,
        addr_of!(__ebss) as usize - addr_of!(__sbss) as usize,
    );
    outln!(out, "figure flash.text {text} bytes");
    outln!(out, "figure flash.rodata {rodata} bytes");
    outln!(out, "figure flash.data {data} bytes");
    outln!(
        out,
        "figure ram.bss {bss} bytes (heap {} bytes)",
        heap::HEAP_SIZE
    );
}

/// What building the model cost the heap, against the parameters' own
/// bytes, what it reads in place, and where the checkpoint lives (flash is
/// below 0x2000_0000). Returns the heap's peak while building, beyond
/// `base`.
fn weights_figures(
    out: &mut Out,
    name: &str,
    params: usize,
    checkpoint: &[u8],
    report: &safetensors::StaticLoad,
    base: usize,
) -> usize {
    outln!(
        out,
        "figure {name}.params {params} parameters ({} bytes of f32)",
        params * 4
    );
    outln!(
        out,
        "figure {name}.checkpoint {} bytes in flash at {:#010x}",
        checkpoint.len(),
        checkpoint.as_ptr() as usize
    );
    outln!(
        out,
        "figure {name}.borrowed {} bytes read in place from flash ({} tensors, {} copied)",
        report.borrowed_bytes,
        report.borrowed,
        report.copied.len()
    );
    outln!(
        out,
        "figure {name}.heap_weights {} bytes",
        HEAP.used() - base
    );
    let load_peak = HEAP.peak() - base;
    outln!(out, "figure {name}.heap_load_peak {load_peak} bytes");
    HEAP.reset_peak();
    load_peak
}

/// Classify every embedded image with `forward`, printing each image's
/// logits as f32 bits, the accuracy and the instructions per inference.
fn classify(
    out: &mut Out,
    ticks: &mut Ticks,
    name: &str,
    mut forward: impl FnMut(&[u8]) -> Vec<f32>,
) -> bool {
    let (mut correct, mut total_ticks) = (0usize, 0u64);
    for (i, (pixels, &label)) in IMAGES.chunks_exact(PIXELS).zip(LABELS).enumerate() {
        let (logits, t) = ticks.time(|| forward(pixels));
        total_ticks += u64::from(t);
        let pred = argmax(&logits);
        correct += usize::from(pred == usize::from(label));
        let mut hex = [0u32; 10];
        for (h, v) in hex.iter_mut().zip(&logits) {
            *h = v.to_bits();
        }
        outln!(
            out,
            "logits {name} {i} label {label} pred {pred} {:08x} {:08x} {:08x} {:08x} {:08x} {:08x} {:08x} {:08x} {:08x} {:08x}",
            hex[0], hex[1], hex[2], hex[3], hex[4], hex[5], hex[6], hex[7], hex[8], hex[9]
        );
    }
    let n = LABELS.len();
    outln!(out, "accuracy {name} {correct}/{n}");
    outln!(
        out,
        "figure {name}.ticks_per_inference {}",
        total_ticks / n as u64
    );
    correct >= MIN_CORRECT
}

/// Print the loader's error for a checkpoint that does not fit; a load that
/// succeeds is the failure here.
fn refused(out: &mut Out, what: &str, r: Result<(), safetensors::SafetensorsError>) -> bool {
    match r {
        Err(e) => {
            outln!(out, "refused {what}: {e}");
            true
        }
        Ok(()) => {
            outln!(out, "error: the wrong-{what} model loaded");
            false
        }
    }
}

#[panic_handler]
fn panic(info: &PanicInfo<'_>) -> ! {
    heprintln!("panic: {}", info);
    debug::exit(EXIT_FAILURE);
    loop {
        cortex_m::asm::wfi();
    }
}

#[exception]
unsafe fn HardFault(frame: &ExceptionFrame) -> ! {
    heprintln!("hard fault: {:?}", frame);
    debug::exit(EXIT_FAILURE);
    loop {
        cortex_m::asm::wfi();
    }
}
