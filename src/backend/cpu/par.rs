//! Parallel loops for large CPU kernels: rayon with `std`, sequential without.

#[cfg(feature = "std")]
/// Below this many elements a kernel runs on one thread (rayon's overhead
/// exceeds the work).
pub(crate) const PAR_THRESHOLD: usize = 1 << 15;

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
        if out.len() >= PAR_THRESHOLD && rayon::current_num_threads() > 1 {
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
        if n >= PAR_THRESHOLD {
            let t = rayon::current_num_threads().max(1);
            return n.div_ceil(4 * t).max(4096);
        }
    }
    n.max(1)
}
