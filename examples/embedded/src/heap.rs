//! The heap: embedded-alloc's linked-list first-fit allocator over a
//! static buffer, wrapped to count the bytes in use and their high-water
//! mark (what `figures` reports as heap RAM).

use core::alloc::{GlobalAlloc, Layout};
use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use embedded_alloc::LlffHeap;

/// Heap size: the weights stay in flash, so the heap only holds the
/// models' small tensors and scratch: LeNet's inference is the most (its
/// convolutions' scratch, 166 KiB), with room for the allocator's
/// fragmentation.
pub const HEAP_SIZE: usize = 256 * 1024;

/// The allocator with its counters.
pub struct CountingHeap {
    heap: LlffHeap,
    used: AtomicUsize,
    peak: AtomicUsize,
}

impl CountingHeap {
    /// An empty heap; [`CountingHeap::init`] gives it its memory.
    pub const fn empty() -> Self {
        CountingHeap {
            heap: LlffHeap::empty(),
            used: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
        }
    }

    /// Hand the static buffer to the allocator. Call once, first thing.
    pub fn init(&self) {
        static mut MEMORY: [MaybeUninit<u8>; HEAP_SIZE] = [MaybeUninit::uninit(); HEAP_SIZE];
        // SAFETY: called once at start-up, before any allocation; the
        // buffer is used by nothing else.
        unsafe { self.heap.init(&raw mut MEMORY as usize, HEAP_SIZE) }
    }

    /// Bytes allocated now (requested sizes, not the allocator's overhead).
    pub fn used(&self) -> usize {
        self.used.load(Relaxed)
    }

    /// The most bytes allocated at once since the last
    /// [`CountingHeap::reset_peak`].
    pub fn peak(&self) -> usize {
        self.peak.load(Relaxed)
    }

    /// Start a new high-water mark from what is allocated now.
    pub fn reset_peak(&self) {
        self.peak.store(self.used(), Relaxed);
    }
}

// SAFETY: every call goes to the inner allocator unchanged; the counters
// only observe sizes.
unsafe impl GlobalAlloc for CountingHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is passed on unchanged.
        let p = unsafe { self.heap.alloc(layout) };
        if !p.is_null() {
            let now = self.used.fetch_add(layout.size(), Relaxed) + layout.size();
            self.peak.fetch_max(now, Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { self.heap.dealloc(ptr, layout) };
        self.used.fetch_sub(layout.size(), Relaxed);
    }
}
