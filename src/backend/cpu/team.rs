//! A two-thread team for latency-bound chains of tiny products (KV-cache
//! decoding): one helper thread that spins for work instead of sleeping.
//!
//! Decoding one token is a chain of one-row products (`gemv`) whose weights
//! do not fit one core's L2 together (GPT-mini: 3.2 MB against 2 MB), so a
//! lone core streams them from L3 for every token. Splitting each product's
//! output columns between two cores, always the same half to the same core,
//! keeps each core's half of every weight in its own L2. The split only pays
//! if handing a product to the other core costs far less than the product
//! (a few microseconds): rayon wakes its workers through futexes, which
//! costs more than that, so the helper here spins on an atomic instead, for
//! the duration of [`with_team`] only.

use core::cell::{Cell, UnsafeCell};
use core::sync::atomic::{AtomicU32, Ordering};

/// No job posted.
const IDLE: u32 = 0;
/// A job is posted for the helper.
const POSTED: u32 = 1;
/// The helper finished the posted job.
const DONE: u32 = 2;
/// The team is over: the helper returns.
const STOP: u32 = 3;

/// Spins before a waiting thread starts yielding its core between checks
/// (so work outside the products, rayon, or a thread the OS preempted is
/// not starved); about 10-50 µs of spinning.
const SPINS_BEFORE_YIELD: u32 = 1 << 14;

/// A job with its lifetime erased: valid from its posting until the
/// poster sees [`DONE`] (see [`run_split`]).
type Job = *mut (dyn FnMut() + Send + 'static);

struct Team {
    state: AtomicU32,
    job: UnsafeCell<Option<Job>>,
    panicked: AtomicU32,
}

// SAFETY: `job` is written only by the posting thread while the state is
// IDLE (the helper does not read it then) and read only by the helper after
// it observes POSTED (Acquire, pairing with the poster's Release); the
// poster does not touch it again until it observes DONE. The pointed-to
// closure is `Send`.
unsafe impl Sync for Team {}

std::thread_local! {
    /// The team of this thread, while [`with_team`] runs on it.
    static TEAM: Cell<*const Team> = const { Cell::new(core::ptr::null()) };
}

/// Whether a team is active on this thread (its helper already spins).
pub(crate) fn active() -> bool {
    TEAM.with(|t| !t.get().is_null())
}

/// Run `f` with a spinning helper thread available to [`run_split`] on
/// this thread (nothing changes if rayon's pool has one thread, or a team
/// is already active here). The helper spins, so keep `f` to a
/// latency-bound loop such as token-by-token generation.
pub(crate) fn with_team<R>(f: impl FnOnce() -> R) -> R {
    let active = TEAM.with(|t| !t.get().is_null());
    if active || rayon::current_num_threads() < 2 {
        return f();
    }
    let team = Team {
        state: AtomicU32::new(IDLE),
        job: UnsafeCell::new(None),
        panicked: AtomicU32::new(0),
    };
    std::thread::scope(|s| {
        s.spawn(|| helper(&team));
        // Clears the thread-local and stops the helper even if `f` panics
        // (the scope then joins the helper before unwinding further).
        struct Guard<'a>(&'a Team);
        impl Drop for Guard<'_> {
            fn drop(&mut self) {
                TEAM.with(|t| t.set(core::ptr::null()));
                self.0.state.store(STOP, Ordering::Release);
            }
        }
        let _guard = Guard(&team);
        TEAM.with(|t| t.set(&team));
        f()
    })
}

fn helper(team: &Team) {
    let mut idle = 0u32;
    loop {
        match team.state.load(Ordering::Acquire) {
            POSTED => {
                // SAFETY: POSTED was stored (Release) after the job was
                // written, and the poster keeps the closure alive until it
                // sees DONE below.
                let job = unsafe { (*team.job.get()).take() };
                if let Some(job) = job {
                    // SAFETY: see above; the closure is used by this thread
                    // only, until DONE.
                    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| unsafe {
                        (*job)()
                    }));
                    if run.is_err() {
                        team.panicked.store(1, Ordering::Relaxed);
                    }
                }
                team.state.store(DONE, Ordering::Release);
                idle = 0;
            }
            STOP => return,
            _ => {
                idle = idle.saturating_add(1);
                if idle < SPINS_BEFORE_YIELD {
                    core::hint::spin_loop();
                } else {
                    std::thread::yield_now();
                }
            }
        }
    }
}

/// Run `mine` here and `theirs` on the team's helper at the same time, and
/// return once both are done; `false` (and nothing run) when this thread
/// has no team (see [`with_team`]). A panic in `theirs` panics here.
pub(crate) fn run_split(mine: impl FnOnce(), theirs: impl FnOnce() + Send) -> bool {
    let team = TEAM.with(|t| t.get());
    if team.is_null() {
        return false;
    }
    // SAFETY: the pointer was set by `with_team` on this thread and is
    // cleared before that team is dropped.
    let team = unsafe { &*team };
    let mut theirs = Some(theirs);
    let mut job = move || {
        if let Some(f) = theirs.take() {
            f()
        }
    };
    let job: &mut (dyn FnMut() + Send + '_) = &mut job;
    // SAFETY: only the lifetime is erased; `job` lives on this frame until
    // after the helper reports DONE below, and is not touched here before.
    let job: Job = unsafe { core::mem::transmute(job) };
    // SAFETY: the state is IDLE (every posting below waits for DONE and
    // resets it), so the helper does not read `job` now.
    unsafe { *team.job.get() = Some(job) };
    team.state.store(POSTED, Ordering::Release);
    mine();
    // Spin while the helper is likely running; yield if it is not (a
    // machine with more runnable threads than cores).
    let mut spins = 0u32;
    while team.state.load(Ordering::Acquire) != DONE {
        spins = spins.saturating_add(1);
        if spins < SPINS_BEFORE_YIELD {
            core::hint::spin_loop();
        } else {
            std::thread::yield_now();
        }
    }
    team.state.store(IDLE, Ordering::Relaxed);
    if team.panicked.swap(0, Ordering::Relaxed) != 0 {
        panic!("a product split over the decoding team panicked on its helper thread");
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_threads<R: Send>(f: impl FnOnce() -> R + Send) -> R {
        rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap()
            .install(f)
    }

    #[test]
    fn without_a_team_nothing_runs() {
        let mut ran = false;
        assert!(!run_split(|| ran = true, || ()));
        assert!(!ran);
    }

    #[test]
    fn both_halves_run_and_write_their_own_parts() {
        two_threads(|| {
            with_team(|| {
                for round in 0..1000usize {
                    let mut v = vec![0usize; 64];
                    let (a, b) = v.split_at_mut(32);
                    let split = run_split(
                        || a.iter_mut().enumerate().for_each(|(i, x)| *x = i + round),
                        || {
                            b.iter_mut()
                                .enumerate()
                                .for_each(|(i, x)| *x = 32 + i + round)
                        },
                    );
                    assert!(split);
                    assert!(v.iter().enumerate().all(|(i, &x)| x == i + round));
                }
            })
        });
        // The team is gone afterwards.
        assert!(!run_split(|| (), || ()));
    }

    #[test]
    fn one_thread_has_no_team() {
        rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap()
            .install(|| with_team(|| assert!(!run_split(|| (), || ()))));
    }

    #[test]
    fn a_panic_on_the_helper_reaches_the_caller() {
        let r = std::panic::catch_unwind(|| {
            two_threads(|| with_team(|| run_split(|| (), || panic!("boom"))))
        });
        assert!(r.is_err());
    }
}
