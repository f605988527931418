//! How many threads the CPU kernels use, and keeping those threads awake
//! between the kernels of a step.
//!
//! The kernels run on rayon's current pool (the global one unless the
//! caller installed another). [`init`] builds the global pool the way
//! `torch.set_num_threads(n)` sets up OpenMP: `n` threads *including* the
//! calling thread, which works on every parallel kernel it starts instead
//! of sleeping until the pool is done.
//!
//! Between two parallel kernels a rayon worker soon goes to sleep, and the
//! next kernel pays for waking it (tens of microseconds on a busy VM, more
//! than a small kernel takes). OpenMP runtimes, PyTorch's among them, let
//! their workers spin for a while after a parallel region instead. The
//! kernels here do the same: starting a parallel kernel keeps the other
//! threads of the pool polling for work (executing whatever rayon work is
//! pending, from any caller) until none has come for [`spin_time`]
//! (default 1 ms; [`set_spin_time`] changes it, zero turns it off). During
//! a training step the workers then never sleep; a second after the last
//! kernel they are asleep again and use no CPU.
//!
//! ```
//! use std::time::Duration;
//! use typegrad::backend::cpu::threads;
//! // Two threads, this one included (an error if rayon's global pool was
//! // already built, for example by an earlier call).
//! let _ = threads::init(2);
//! threads::set_spin_time(Duration::from_micros(500));
//! assert_eq!(threads::spin_time(), Duration::from_micros(500));
//! threads::set_spin_time(Duration::from_millis(1));
//! ```

use core::fmt;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::cell::Cell;
use std::time::{Duration, Instant};

/// Microseconds an idle worker keeps polling after its last piece of work.
static SPIN_US: AtomicU64 = AtomicU64::new(1000);

/// Spinning jobs alive (queued or running), over all pools.
static SPINNERS: AtomicUsize = AtomicUsize::new(0);

std::thread_local! {
    /// Whether this thread is running a spinning job (a nested one, stolen
    /// while polling, returns at once).
    static SPINNING: Cell<bool> = const { Cell::new(false) };
}

/// Rayon's global pool could not be built as asked (see [`init`]).
#[derive(Debug)]
pub struct ThreadsError(rayon::ThreadPoolBuildError);

impl fmt::Display for ThreadsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot set up typegrad's CPU threads: {} (call threads::init once, \
             before anything uses rayon's global pool)",
            self.0
        )
    }
}

impl std::error::Error for ThreadsError {}

/// Build rayon's global pool with `n` threads, the calling thread being
/// one of them (`n = 0`: one per core). Call it once, early, from the
/// thread that runs the model (usually `main`); it is an error if rayon's
/// global pool exists already. Returns the number of threads.
///
/// Without it the kernels use whatever pool rayon has (by default one
/// thread per core, the caller not among them: it sleeps while they work).
///
/// ```
/// use typegrad::backend::cpu::threads;
/// match threads::init(2) {
///     Ok(n) => assert_eq!(n, 2),
///     Err(e) => assert!(e.to_string().contains("threads::init")),
/// }
/// ```
pub fn init(n: usize) -> Result<usize, ThreadsError> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .use_current_thread()
        .build_global()
        .map_err(ThreadsError)?;
    Ok(rayon::current_num_threads())
}

/// How long the pool's other threads keep polling for work after a
/// parallel kernel started (see the module docs).
///
/// ```
/// assert!(typegrad::backend::cpu::threads::spin_time().as_micros() > 0);
/// ```
pub fn spin_time() -> Duration {
    Duration::from_micros(SPIN_US.load(Ordering::Relaxed))
}

/// Set [`spin_time`] for every pool (`Duration::ZERO`: workers sleep as
/// soon as rayon lets them, and each parallel kernel wakes them).
///
/// ```
/// use std::time::Duration;
/// use typegrad::backend::cpu::threads;
/// let before = threads::spin_time();
/// threads::set_spin_time(Duration::ZERO);
/// assert_eq!(threads::spin_time(), Duration::ZERO);
/// threads::set_spin_time(before);
/// ```
pub fn set_spin_time(d: Duration) {
    SPIN_US.store(
        d.as_micros().min(u64::MAX as u128) as u64,
        Ordering::Relaxed,
    );
}

/// The threads of the current pool, for a kernel about to split its work
/// over them: with more than one, the others are kept polling for work
/// (see the module docs).
pub(crate) fn parallel_threads() -> usize {
    let n = rayon::current_num_threads();
    if n > 1 {
        keep_warm(n);
    }
    n
}

/// Keep the current pool's other threads polling for work (a kernel that
/// decided to go parallel by itself).
pub(crate) fn warm() {
    let _ = parallel_threads();
}

/// Start spinning jobs until one per thread that is not the caller is
/// alive.
fn keep_warm(n: usize) {
    if SPIN_US.load(Ordering::Relaxed) == 0 || super::team::active() {
        return;
    }
    let want = if rayon::current_thread_index().is_some() {
        n - 1
    } else {
        n
    };
    let mut have = SPINNERS.load(Ordering::Relaxed);
    while have < want {
        match SPINNERS.compare_exchange_weak(have, have + 1, Ordering::AcqRel, Ordering::Relaxed) {
            Ok(_) => {
                let origin = rayon::current_thread_index();
                rayon::spawn(move || spin(origin));
                have += 1;
            }
            Err(now) => have = now,
        }
    }
}

/// A spinning job: run pending rayon work as it comes, return once none
/// has come for [`spin_time`]. On the thread that queued it (which took it
/// back while waiting), or nested in another, it returns at once.
fn spin(origin: Option<usize>) {
    struct Alive;
    impl Drop for Alive {
        fn drop(&mut self) {
            SPINNERS.fetch_sub(1, Ordering::AcqRel);
        }
    }
    let _alive = Alive;
    if rayon::current_thread_index() == origin || SPINNING.with(|s| s.replace(true)) {
        return;
    }
    struct Done;
    impl Drop for Done {
        fn drop(&mut self) {
            SPINNING.with(|s| s.set(false));
        }
    }
    let _done = Done;
    let mut last = Instant::now();
    loop {
        match rayon::yield_now() {
            Some(rayon::Yield::Executed) => last = Instant::now(),
            Some(rayon::Yield::Idle) => {
                if last.elapsed() >= spin_time() {
                    return;
                }
                // A few pauses between polls: a pause is 10-140 cycles,
                // and the poll itself a few hundred.
                for _ in 0..4 {
                    core::hint::spin_loop();
                }
            }
            None => return,
        }
    }
}

/// Whether spinning jobs are alive: the other threads take work within
/// about a microsecond, so smaller kernels are worth splitting.
#[inline]
pub(crate) fn hot() -> bool {
    spinners() > 0
}

/// Spinning jobs alive now.
fn spinners() -> usize {
    SPINNERS.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(n: usize) -> rayon::ThreadPool {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .unwrap()
    }

    /// A parallel kernel leaves one spinner per other thread, the
    /// spinners run the pool's work, and they are gone a little after
    /// the spin time (so an idle program uses no CPU).
    #[test]
    fn spinners_start_run_work_and_stop() {
        let p = pool(3);
        let sum: u64 = p.install(|| {
            assert_eq!(parallel_threads(), 3);
            use rayon::prelude::*;
            (0..100_000u64).into_par_iter().sum()
        });
        assert_eq!(sum, 100_000 * 99_999 / 2);
        assert!(spinners() <= 2);
        let t0 = Instant::now();
        while spinners() > 0 {
            assert!(
                // Other tests' kernels may keep re-arming them for a while.
                t0.elapsed() < spin_time() + Duration::from_secs(60),
                "spinners still alive long after the spin time"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// One thread: nothing to keep awake.
    #[test]
    fn one_thread_starts_no_spinner() {
        pool(1).install(|| assert_eq!(parallel_threads(), 1));
    }
}
