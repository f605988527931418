//! Instruction counts from SysTick. QEMU does not model the DWT cycle
//! counter, but with `-icount shift=0` its virtual clock advances exactly
//! 1 ns per guest instruction, and SysTick counts that clock at the board's
//! 25 MHz: one tick per 40 instructions. [`calibrate`] measures a loop of
//! known length, so the printed ratio shows whether icount was on.

use cortex_m::peripheral::syst::SystClkSource;
use cortex_m::peripheral::SYST;

/// The 24-bit down-counter's range.
const WRAP: u32 = 1 << 24;

/// SysTick free-running on the core clock, no interrupt.
pub struct Ticks {
    syst: SYST,
}

impl Ticks {
    /// Start the counter.
    pub fn start(mut syst: SYST) -> Self {
        syst.set_clock_source(SystClkSource::Core);
        syst.set_reload(WRAP - 1);
        syst.clear_current();
        syst.enable_counter();
        Ticks { syst }
    }

    /// Ticks spent running `f`. Valid up to 2^24 ticks (0.67 s of board
    /// time, 671 million instructions under icount): far above one
    /// inference of either network.
    pub fn time<R>(&mut self, f: impl FnOnce() -> R) -> (R, u32) {
        let _ = &self.syst;
        let t0 = SYST::get_current();
        let r = f();
        let t1 = SYST::get_current();
        (r, t0.wrapping_sub(t1) & (WRAP - 1))
    }
}

/// Instructions executed by [`calibrate`]'s loop.
pub const CALIBRATION_INSTRUCTIONS: u32 = 2_000_000;

/// Ticks for a loop of exactly [`CALIBRATION_INSTRUCTIONS`] instructions
/// (`subs` + `bne`, 1,000,000 times).
pub fn calibrate(ticks: &mut Ticks) -> u32 {
    ticks
        .time(|| {
            let mut n: u32 = CALIBRATION_INSTRUCTIONS / 2;
            // SAFETY: a register-only countdown loop.
            unsafe {
                core::arch::asm!(
                    "2:",
                    "subs {n}, {n}, #1",
                    "bne 2b",
                    n = inout(reg) n,
                    options(nomem, nostack)
                );
            }
            n
        })
        .1
}
