//! Stack high-water mark by painting: fill the unused stack with a
//! pattern early, and later find the deepest word that was overwritten.

use core::ptr::{addr_of, read_volatile, write_volatile};

extern "C" {
    // cortex-m-rt's linker script: the stack grows down from
    // `_stack_start` (the top of RAM) towards `_stack_end` (the end of
    // .bss, where the heap's static buffer is).
    static _stack_start: u32;
    static _stack_end: u32;
}

const PAINT: u32 = 0xC0FF_EE11;
/// Left unpainted below the current stack pointer: the frames of `paint`
/// itself and an exception frame.
const MARGIN: usize = 256;

fn bounds() -> (usize, usize) {
    (
        addr_of!(_stack_end) as usize,
        addr_of!(_stack_start) as usize,
    )
}

/// Paint the stack from its limit up to just below the current frame.
pub fn paint() {
    let (bottom, _) = bounds();
    let sp = cortex_m::register::msp::read() as usize;
    let mut a = bottom;
    while a + 4 <= sp - MARGIN {
        // SAFETY: [bottom, sp - MARGIN) is stack memory no frame uses yet.
        unsafe { write_volatile(a as *mut u32, PAINT) };
        a += 4;
    }
}

/// The most stack used since start-up, in bytes: from the top of RAM down
/// to the deepest overwritten word.
pub fn peak() -> usize {
    let (bottom, top) = bounds();
    let mut a = bottom;
    // SAFETY: reads of stack memory, all of it within RAM.
    while a < top && unsafe { read_volatile(a as *const u32) } == PAINT {
        a += 4;
    }
    top - a
}

/// The stack's size: from the end of .bss to the top of RAM.
pub fn size() -> usize {
    let (bottom, top) = bounds();
    top - bottom
}
