//! Parallel loops for large CPU kernels: rayon with `std`, sequential without.

#[cfg(feature = "std")]
/// Below this much work (elements touched) a kernel runs on one thread:
/// waking a second rayon thread costs 10-20 µs on the 2-core machine, more
/// when it is busy. Measured at 2 threads against 1 (`docs/PERFORMANCE.md`,
/// "Small kernels"): an add of 2^17 f32 took 14-19 µs against 15 µs, a
/// sum of 2^17 17-48 µs against 20 µs, an add of 2^15 23 µs against 4 µs
/// (the old threshold was 2^15); at 2^18 two threads win (add 30 µs
/// against 94 µs, exp 61 µs against 99 µs) when the second core is free.
pub(crate) const PAR_THRESHOLD: usize = 1 << 18;

/// The threshold while the pool's other threads are awake and polling for
/// work (see [`super::threads`]): handing them a chunk then costs about a
/// microsecond, not a wake-up, so an add of 2^14 f32 (5-10 µs) splits.
#[cfg(feature = "std")]
pub(crate) const PAR_THRESHOLD_HOT: usize = 1 << 14;

/// Elements of work from which a kernel splits over the threads:
/// [`PAR_THRESHOLD_HOT`] while the other threads are awake, else
/// [`PAR_THRESHOLD`].
#[cfg(feature = "std")]
#[inline]
pub(crate) fn par_threshold() -> usize {
    if super::threads::hot() {
        PAR_THRESHOLD_HOT
    } else {
        PAR_THRESHOLD
    }
}

/// `out[i] = f(i-th chunk)`, over chunks of `chunk` elements of `out`.
#[inline]
pub(crate) fn for_each_chunk<T: Send>(
    out: &mut [T],
    chunk: usize,
    f: impl Fn(usize, &mut [T]) + Sync + Send,
) {
    let chunk = chunk.max(1);
    #[cfg(feature = "std")]
    {
        use rayon::prelude::*;
        if out.len() >= par_threshold() && super::threads::parallel_threads() > 1 {
            out.par_chunks_mut(chunk)
                .enumerate()
                .for_each(|(i, c)| f(i, c));
            return;
        }
    }
    out.chunks_mut(chunk).enumerate().for_each(|(i, c)| f(i, c));
}

/// Chunk size giving a few chunks per thread for `n` elements.
#[inline]
pub(crate) fn chunk_for(n: usize) -> usize {
    #[cfg(feature = "std")]
    {
        if n >= par_threshold() {
            let t = rayon::current_num_threads().max(1);
            return n.div_ceil(4 * t).max(4096);
        }
    }
    n.max(1)
}

/// `f` over `x`, collected without zero-filling the output first (rayon's
/// indexed `collect` writes each element once).
#[inline]
pub(crate) fn map1<E: Copy + Send + Sync, U: Send>(
    x: &[E],
    f: impl Fn(E) -> U + Sync + Send,
) -> alloc::vec::Vec<U> {
    #[cfg(feature = "std")]
    {
        use rayon::prelude::*;
        if x.len() >= par_threshold() && super::threads::parallel_threads() > 1 {
            let mut out = output_vec(x.len());
            x.par_iter()
                .with_min_len(4096)
                .map(|&v| f(v))
                .collect_into_vec(&mut out);
            return out;
        }
    }
    let mut out = output_vec(x.len());
    out.extend(x.iter().map(|&v| f(v)));
    out
}

/// `f` over pairs of `a` and `b` (same length), collected like [`map1`].
#[inline]
pub(crate) fn map2<E: Copy + Send + Sync, U: Send>(
    a: &[E],
    b: &[E],
    f: impl Fn(E, E) -> U + Sync + Send,
) -> alloc::vec::Vec<U> {
    debug_assert_eq!(a.len(), b.len());
    #[cfg(feature = "std")]
    {
        use rayon::prelude::*;
        if a.len() >= par_threshold() && super::threads::parallel_threads() > 1 {
            let mut out = output_vec(a.len());
            a.par_iter()
                .zip(b.par_iter())
                .with_min_len(4096)
                .map(|(&x, &y)| f(x, y))
                .collect_into_vec(&mut out);
            return out;
        }
    }
    let mut out = output_vec(a.len());
    out.extend(a.iter().zip(b).map(|(&x, &y)| f(x, y)));
    out
}

/// `n` copies of `v`, written by the threads when large.
pub(crate) fn full<E: Copy + Send + Sync>(n: usize, v: E) -> alloc::vec::Vec<E> {
    #[cfg(feature = "std")]
    if n >= par_threshold() && super::threads::parallel_threads() > 1 {
        use rayon::prelude::*;
        let mut out = output_vec(n);
        out.par_extend(rayon::iter::repeat_n(v, n));
        return out;
    }
    alloc::vec![v; n]
}

/// `rows` copies of `row`, one after the other (a bias broadcast over the
/// rows of a product's output), written by the threads when large and
/// never zero-filled first.
pub(crate) fn repeat_rows<E: Copy + Send + Sync>(row: &[E], rows: usize) -> alloc::vec::Vec<E> {
    for_rows(rows, row.len(), |_, out| {
        for (d, &s) in out.iter_mut().zip(row) {
            d.write(s);
        }
    })
}

/// A buffer of `rows` rows of `len` values, each row written by
/// `row(row_index, out_row)`, in parallel chunks of rows when large. The
/// buffer is not zero-filled first (at ResNet sizes that fill was a third
/// of the batch-norm forward): `row` must write every element of its row.
pub(crate) fn for_rows<E: Send>(
    rows: usize,
    len: usize,
    row: impl Fn(usize, &mut [core::mem::MaybeUninit<E>]) + Sync + Send,
) -> alloc::vec::Vec<E> {
    let n = rows
        .checked_mul(len)
        .expect("for_rows: length overflows usize");
    let mut out = output_vec(n);
    if len == 0 {
        return out;
    }
    let per = (chunk_for(n) / len).max(1);
    for_each_chunk(&mut out.spare_capacity_mut()[..n], per * len, |i, o| {
        for (j, r) in o.chunks_mut(len).enumerate() {
            row(i * per + j, r);
        }
    });
    // SAFETY: the chunks above cover all `n` spare slots (chunks of whole
    // rows of `len`), every row is passed to `row`, and every caller's
    // `row` writes each element of its row: batch norm's zip the row with
    // an input row of the same length `len` (checked by `check_rows`),
    // `repeat_rows`' with `row` itself (`len` long). So the first `n`
    // elements are initialised.
    unsafe { out.set_len(n) };
    out
}

/// An empty `Vec` with room for `n` elements. On Linux, buffers of 4 MiB or
/// more are advised to use transparent huge pages before their first touch.
pub(crate) fn output_vec<U>(n: usize) -> alloc::vec::Vec<U> {
    let v = alloc::vec::Vec::with_capacity(n);
    #[cfg(all(feature = "std", target_os = "linux"))]
    advise_huge_pages(v.as_ptr() as usize, n * core::mem::size_of::<U>());
    v
}

#[cfg(all(feature = "std", target_os = "linux"))]
fn advise_huge_pages(addr: usize, bytes: usize) {
    const HUGE: usize = 2 << 20;
    if bytes < 2 * HUGE {
        return;
    }
    // Only whole 2 MiB pages inside the allocation are advised.
    let start = addr.div_ceil(HUGE) * HUGE;
    let end = (addr + bytes) / HUGE * HUGE;
    if end > start {
        // SAFETY: [start, end) lies inside the live allocation just made by
        // `Vec::with_capacity` (start >= addr, end <= addr + bytes), and
        // MADV_HUGEPAGE only changes how the kernel backs those pages: it
        // never changes their contents or validity. A failure is harmless
        // (the pages stay small), so the return value is ignored. Tested by
        // `par::tests::huge_buffers_are_correct`.
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
        }
    }
}

/// Keeps glibc's heap from giving freed buffers back to the system after
/// every step (called once, when the first [`Cpu`](super::Cpu) is made).
///
/// glibc serves a request from fresh `mmap`ed pages above its mmap
/// threshold and returns the top of the heap to the system (`brk`) when
/// more than the trim threshold is free there. Both thresholds start at
/// 128 KiB / 256 KiB and only rise when an mmapped buffer is freed (to that
/// buffer's size, at most 32 MiB). A training step frees its activations
/// (LeNet at batch 64: several of 0.9 MiB) at the end, so the heap was
/// trimmed and grown again every step (6 `brk`s), and every large buffer
/// was first touched through page faults and the kernel's zeroing: 7 % of
/// a LeNet step in page faults, more in `brk`'s bookkeeping. Here the
/// mmap threshold is set to where glibc's own dynamic rule ends (32 MiB),
/// so the steady state does not depend on which buffers happened to be
/// freed first, and the trim threshold to 1 GiB: a ResNet-18 step at
/// batch 16 frees more than the 64 MiB glibc's rule ends at in one go, and
/// with 64 MiB the next step re-faulted 3-10k pages (its time moved with
/// them, 234-271 ms against 228-237 ms at 1 GiB, same binary). Freed
/// memory up to 1 GiB stays in the process, as a caching allocator would
/// keep it. Skipped when the user configures malloc through
/// `GLIBC_TUNABLES`, or sets `TYPEGRAD_MALLOC_TUNING=0`.
pub(crate) fn tune_allocator() {
    #[cfg(all(feature = "std", target_os = "linux", target_env = "gnu"))]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            let user = std::env::var("GLIBC_TUNABLES").is_ok_and(|t| t.contains("malloc"));
            let opted_out = std::env::var("TYPEGRAD_MALLOC_TUNING").is_ok_and(|v| v == "0");
            if user || opted_out {
                return;
            }
            // SAFETY: `mallopt` only changes glibc's allocation policy
            // (thresholds, no memory is touched); it is thread-safe (takes
            // the arena lock) and a rejected value leaves the policy as it
            // was, so the results are ignored.
            unsafe {
                libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
                libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    /// Every element of a [`for_rows`] buffer is written, on one thread and
    /// on several (the sizes reach the parallel path), whole rows at a time.
    #[test]
    fn for_rows_writes_every_element() {
        let run = || {
            for (rows, len) in [(0, 3), (3, 0), (1, 1), (7, 5), (3000, 33), (64, 1 << 12)] {
                let out: Vec<f64> = for_rows(rows, len, |r, o| {
                    assert_eq!(o.len(), len);
                    for (j, v) in o.iter_mut().enumerate() {
                        v.write((r * len + j) as f64);
                    }
                });
                assert_eq!(out.len(), rows * len);
                assert!(out.iter().enumerate().all(|(i, &v)| v == i as f64));
            }
        };
        run();
        #[cfg(feature = "std")]
        for threads in [1, 2, 3] {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(run);
        }
    }

    #[test]
    fn huge_buffers_are_correct() {
        // 8 Mi elements (32 MiB): past the huge-page threshold and the
        // parallel threshold.
        let n = 8 << 20;
        let a: alloc::vec::Vec<f32> = (0..n).map(|i| i as f32).collect();
        let b = map2(&a, &a, |x, y| x + y);
        assert_eq!(b.len(), n);
        assert!(b.iter().enumerate().all(|(i, &v)| v == 2.0 * i as f32));
        let c = map1(&a, |x| -x);
        assert_eq!(c[n - 1], -((n - 1) as f32));
        let e: alloc::vec::Vec<u8> = output_vec(64 << 20);
        assert!(e.is_empty() && e.capacity() >= 64 << 20);
    }
}
