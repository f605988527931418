//! CPU matrix-multiply kernels: runtime sizes, generic over `f32`/`f64` only.
//!
//! One entry point, `matmul`, computes `C[b] = op(A[b]) · op(B[b])` for a
//! batch of row-major contiguous matrices. Transposed operands are read
//! through strides (never copied) and a batch stride of 0 broadcasts one
//! matrix over the whole batch.
//!
//! Backend crate (chosen by measurement, see `docs/PERFORMANCE.md`,
//! section "sgemm"):
//! - with the `std` feature, `gemm` 0.18 (its AVX2/FMA kernels: on stable,
//!   gemm 0.18's AVX-512 kernels are behind its `nightly` feature, which we
//!   do not use), with rayon threads for large products and typegrad's own
//!   split of small ones (see `PAR_MIN_WORK`, `PAR_SPLIT_MIN_WORK`);
//! - without `std`, `matrixmultiply`, single-threaded.
//!
//! Measured 2026-11-28 on the 2-core AVX-512 AMD EPYC VM (idle: runs that
//! overlapped other processes were discarded), sgemm n×n×n, row-major,
//! fresh C each call, median of single iterations, GFLOPS = 2n³/t:
//!
//! | n    | threads | gemm 0.18 | matrixmultiply 0.3.11 (std+avx512) | gemm 0.19 `x86-v4` |
//! |------|---------|-----------|------------------------------------|--------------------|
//! | 1024 | 1       | 96.4      | 96.5                               | 105.1              |
//! | 256  | 1       | 110.5     | 102.2                              | 112.7              |
//! | 1024 | 2       | 205.9     | 189.0                              | 205.7              |
//! | 256  | 2       | 192.7     | 155.9                              | 217.5              |
//!
//! gemm 0.18 ties or beats matrixmultiply everywhere, and it threads
//! through rayon (so it respects the caller's `ThreadPool`), while
//! matrixmultiply's threading uses its own pool. Hence gemm under `std`.
//! (gemm 0.19 has a stable `x86-v4` feature with AVX-512 kernels, faster
//! still at 1024/1 thread and 256/2 threads; moving to it is a Cargo.toml
//! change.) Against NumPy's OpenBLAS in the same session, this kernel
//! reaches 1.01-1.07x (1 thread) and 0.94-1.19x (2 threads) its GFLOPS at
//! n = 1024 (2-thread figures on this VM move by 10-15% run to run).
//!
//! The module is public (and hidden) only for the [`bench_sgemm`] hook,
//! which times the kernel without the tensor layer; it is not part of the
//! API.
#![doc(hidden)]

#[cfg(test)]
use alloc::vec;
use alloc::vec::Vec;

/// Sizes and layout of a batched product `C[b] = op(A[b]) · op(B[b])`.
///
/// All buffers are row-major and contiguous per matrix:
/// - `A[b]` starts at `b * a_batch_stride` and is `m × k` (or `k × m` when
///   `a_t`, meaning `op(A) = Aᵀ`);
/// - `B[b]` starts at `b * b_batch_stride` and is `k × n` (or `n × k` when
///   `b_t`);
/// - `C` is `batch × m × n`, densely packed.
///
/// A batch stride of 0 uses the same matrix for every batch element.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct MatmulParams {
    /// Number of products.
    pub(crate) batch: usize,
    /// Rows of `op(A)` and of `C`.
    pub(crate) m: usize,
    /// Columns of `op(A)`, rows of `op(B)`.
    pub(crate) k: usize,
    /// Columns of `op(B)` and of `C`.
    pub(crate) n: usize,
    /// Elements between consecutive `A`s (0: one `A` for the whole batch).
    pub(crate) a_batch_stride: usize,
    /// Elements between consecutive `B`s (0: one `B` for the whole batch).
    pub(crate) b_batch_stride: usize,
    /// `A` is stored `k × m`.
    pub(crate) a_t: bool,
    /// `B` is stored `n × k`.
    pub(crate) b_t: bool,
    /// `C += …` instead of `C = …`.
    pub(crate) accumulate: bool,
}

/// Below this many multiply-adds (`m·n·k`) one product runs on one thread.
/// 2^22: LeNet-5's training step (products of 0.6M-2M multiply-adds) was
/// 1.2x slower on 2 threads than on 1 with the earlier `48·48·256`
/// (thread wake-ups on every small product), and equal with this one.
///
/// Above it, gemm's own heuristic (`48·48·256`) then decides how many of the offered
/// threads it really uses, per `k`-block.
#[cfg(feature = "std")]
pub(crate) const PAR_MIN_WORK: usize = 1 << 22;

/// Products below [`PAR_MIN_WORK`] (which gemm would run on one thread)
/// are spread over the threads by typegrad itself (whole products of a
/// batch, or blocks of rows) when the batch has at least this many
/// multiply-adds in all. Measured break-even on 2 threads for one product
/// alone: 64k-131k; inside a whole training step (other ops between the
/// products, threads asleep) the wake-ups cost more: 2^20.
#[cfg(feature = "std")]
pub(crate) const PAR_SPLIT_MIN_WORK: usize = 1 << 20;

/// One product's operands as strided views (element strides).
#[derive(Copy, Clone, Debug)]
pub(crate) struct Layout {
    pub(crate) m: usize,
    pub(crate) k: usize,
    pub(crate) n: usize,
    /// Row and column strides of `op(A)` (`m × k`).
    pub(crate) rsa: isize,
    pub(crate) csa: isize,
    /// Row and column strides of `op(B)` (`k × n`).
    pub(crate) rsb: isize,
    pub(crate) csb: isize,
    /// Row stride of `C` (its column stride is 1).
    pub(crate) rsc: isize,
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// The element types the CPU matmul supports (`f32`, `f64`), each mapped to
/// the right routine of the backend crate. Sealed.
pub(crate) trait CpuFloat:
    sealed::Sealed
    + Copy
    + Default
    + PartialEq
    + Send
    + Sync
    + 'static
    + core::ops::Add<Output = Self>
    + core::ops::Mul<Output = Self>
{
    /// Additive identity.
    const ZERO: Self;

    /// `C = op(A)·op(B)` (or `C += …` when `accumulate`) through `gemm`,
    /// offering it `threads` rayon threads (1: run on the calling thread).
    ///
    /// # Safety
    /// With `l` describing the layout, `a` must be valid for reads at every
    /// `i·rsa + p·csa` (`i < m`, `p < k`), `b` at every `p·rsb + j·csb`
    /// (`p < k`, `j < n`), and `c` valid for reads and writes at every
    /// `i·rsc + j` (`i < m`, `j < n`), not aliasing `a` or `b`.
    #[cfg(feature = "std")]
    unsafe fn gemm_crate(
        l: Layout,
        a: *const Self,
        b: *const Self,
        c: *mut Self,
        accumulate: bool,
        threads: usize,
    );

    /// Same contract as `gemm_crate`, single-threaded, through
    /// `matrixmultiply` (the `no_std` path).
    ///
    /// # Safety
    /// As for `gemm_crate`.
    #[cfg(any(test, not(feature = "std")))]
    unsafe fn matrixmultiply_crate(
        l: Layout,
        a: *const Self,
        b: *const Self,
        c: *mut Self,
        accumulate: bool,
    );
}

macro_rules! impl_cpu_float {
    ($t:ty, $mm:ident) => {
        impl CpuFloat for $t {
            const ZERO: Self = 0.0;

            #[cfg(feature = "std")]
            #[inline]
            unsafe fn gemm_crate(
                l: Layout,
                a: *const Self,
                b: *const Self,
                c: *mut Self,
                accumulate: bool,
                threads: usize,
            ) {
                let par = if threads > 1 {
                    gemm::Parallelism::Rayon(threads)
                } else {
                    gemm::Parallelism::None
                };
                // SAFETY: the caller guarantees every element gemm touches
                // (given these sizes and strides) is in bounds and that `c`
                // does not alias `a`/`b`. gemm computes
                // `dst = alpha·dst + beta·lhs·rhs`, reading `dst` only when
                // `read_dst` is true, so an overwrite never reads `c`.
                unsafe {
                    gemm::gemm::<$t>(
                        l.m, l.n, l.k, c, 1, l.rsc, accumulate, a, l.csa, l.rsa, b, l.csb, l.rsb,
                        1.0, 1.0, false, false, false, par,
                    );
                }
            }

            #[cfg(any(test, not(feature = "std")))]
            #[inline]
            unsafe fn matrixmultiply_crate(
                l: Layout,
                a: *const Self,
                b: *const Self,
                c: *mut Self,
                accumulate: bool,
            ) {
                let beta = if accumulate { 1.0 } else { 0.0 };
                // SAFETY: the caller guarantees the strided views are in
                // bounds and that `c` does not alias `a`/`b`; C's strides
                // (`rsc`, 1) with `rsc >= n` never alias each other. With
                // beta = 0, matrixmultiply does not read C.
                unsafe {
                    matrixmultiply::$mm(
                        l.m, l.k, l.n, 1.0, a, l.rsa, l.csa, b, l.rsb, l.csb, beta, c, l.rsc, 1,
                    );
                }
            }
        }
    };
}
impl_cpu_float!(f32, sgemm);
impl_cpu_float!(f64, dgemm);

/// Which backend crate runs the products (tests exercise both on std hosts).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Engine {
    #[cfg(feature = "std")]
    Gemm,
    #[cfg(any(test, not(feature = "std")))]
    MatrixMultiply,
}

impl Engine {
    const DEFAULT: Engine = {
        #[cfg(feature = "std")]
        {
            Engine::Gemm
        }
        #[cfg(not(feature = "std"))]
        {
            Engine::MatrixMultiply
        }
    };
}

/// `C[b] = op(A[b]) · op(B[b])` for each batch element `b` (or `C[b] += …`
/// when `p.accumulate`); see [`MatmulParams`] for the layout.
///
/// # Panics
/// If `c.len() != batch·m·n`, or `a`/`b` are too short for the sizes and
/// batch strides.
pub(crate) fn matmul<E: CpuFloat>(p: MatmulParams, a: &[E], b: &[E], c: &mut [E]) {
    matmul_with(Engine::DEFAULT, p, a, b, c);
}

/// [`matmul`] on the calling thread only: for kernels that already run
/// one product per rayon task (conv over a batch) or whose products are
/// too small to pay for waking other threads.
pub(crate) fn matmul_serial<E: CpuFloat>(p: MatmulParams, a: &[E], b: &[E], c: &mut [E]) {
    matmul_threads(Engine::DEFAULT, p, a, b, c, false);
}

fn matmul_with<E: CpuFloat>(engine: Engine, p: MatmulParams, a: &[E], b: &[E], c: &mut [E]) {
    matmul_threads(engine, p, a, b, c, true);
}

fn matmul_threads<E: CpuFloat>(
    engine: Engine,
    p: MatmulParams,
    a: &[E],
    b: &[E],
    c: &mut [E],
    allow_threads: bool,
) {
    #[cfg(not(feature = "std"))]
    let _ = allow_threads;
    let MatmulParams {
        batch,
        m,
        k,
        n,
        a_batch_stride,
        b_batch_stride,
        a_t,
        b_t,
        accumulate,
    } = p;
    let mn = m.checked_mul(n).expect("matmul: m·n overflows usize");
    let c_len = batch
        .checked_mul(mn)
        .expect("matmul: batch·m·n overflows usize");
    assert_eq!(
        c.len(),
        c_len,
        "matmul: C has {} elements, expected batch·m·n = {batch}·{m}·{n}",
        c.len()
    );
    if c_len == 0 {
        return;
    }
    if k == 0 {
        // An empty sum: C = 0, or C unchanged.
        if !accumulate {
            c.fill(E::ZERO);
        }
        return;
    }
    let a_len = m.checked_mul(k).expect("matmul: m·k overflows usize");
    let b_len = k.checked_mul(n).expect("matmul: k·n overflows usize");
    let need = |stride: usize, len: usize| {
        (batch - 1)
            .checked_mul(stride)
            .and_then(|x| x.checked_add(len))
    };
    assert!(
        need(a_batch_stride, a_len).is_some_and(|l| a.len() >= l),
        "matmul: A has {} elements, too few for batch {batch}, stride {a_batch_stride}, {m}·{k} each",
        a.len()
    );
    assert!(
        need(b_batch_stride, b_len).is_some_and(|l| b.len() >= l),
        "matmul: B has {} elements, too few for batch {batch}, stride {b_batch_stride}, {k}·{n} each",
        b.len()
    );
    // Every offset below is < a.len(), b.len() or c.len() <= isize::MAX
    // (slices never exceed isize::MAX bytes), so these casts are lossless.
    let (rsa, csa) = if a_t {
        (1, m as isize)
    } else {
        (k as isize, 1)
    };
    let (rsb, csb) = if b_t {
        (1, k as isize)
    } else {
        (n as isize, 1)
    };
    let l = Layout {
        m,
        k,
        n,
        rsa,
        csa,
        rsb,
        csb,
        rsc: n as isize,
    };

    // Rows `row0 ..` of the `i`-th product, written to `ci` (whole rows of
    // that product's C, so `ci.len() / n` rows).
    let one = |i: usize, row0: usize, ci: &mut [E], threads: usize| {
        let rows = ci.len() / n;
        debug_assert!(ci.len() == rows * n && row0 + rows <= m);
        let ai = &a[i * a_batch_stride..i * a_batch_stride + a_len];
        let bi = &b[i * b_batch_stride..i * b_batch_stride + b_len];
        // Row `row0` of op(A) starts at `row0·rsa` (< m·k, as row0 < m).
        let ai = &ai[row0 * rsa as usize..];
        let l = Layout { m: rows, ..l };
        #[cfg(feature = "std")]
        if engine == Engine::Gemm && threads == 1 && rows <= super::gemv::GEMV_MAX_ROWS {
            // A few rows (a Linear on one token): the gemm crate's packing
            // and dispatch cost more than the product (see `gemv`).
            super::gemv::gemv(l, ai, bi, ci, accumulate);
            return;
        }
        match engine {
            #[cfg(feature = "std")]
            // SAFETY: the original `ai` holds m·k elements and the strides
            // address exactly them (row-major m×k, or k×m read transposed);
            // from row `row0`, rows `row0..row0 + rows` (<= m) with the same
            // strides stay inside it, i.e. inside the re-sliced `ai`.
            // `bi` holds k·n elements, addressed the same way, and `ci`
            // holds `rows` full rows of n (row stride n). `ci` is a `&mut`
            // slice, so it cannot alias `ai`/`bi`.
            Engine::Gemm => unsafe {
                E::gemm_crate(
                    l,
                    ai.as_ptr(),
                    bi.as_ptr(),
                    ci.as_mut_ptr(),
                    accumulate,
                    threads,
                )
            },
            #[cfg(any(test, not(feature = "std")))]
            Engine::MatrixMultiply => {
                // matrixmultiply runs single-threaded here.
                let _ = threads;
                if rows <= super::gemv::GEMV_MAX_ROWS {
                    // A few rows (one sample through a Linear): no packing
                    // scratch (see `gemv`).
                    super::gemv::gemv(l, ai, bi, ci, accumulate);
                    return;
                }
                // SAFETY: as for the gemm arm above.
                unsafe {
                    E::matrixmultiply_crate(
                        l,
                        ai.as_ptr(),
                        bi.as_ptr(),
                        ci.as_mut_ptr(),
                        accumulate,
                    )
                }
            }
        }
    };

    #[cfg(feature = "std")]
    {
        let threads = rayon::current_num_threads();
        let work = mn.saturating_mul(k);
        if allow_threads && threads > 1 && engine == Engine::Gemm {
            if work.saturating_mul(batch) >= PAR_SPLIT_MIN_WORK {
                super::threads::warm();
            }
            if work >= PAR_MIN_WORK {
                // Large products: gemm threads inside each one.
                for (i, ci) in c.chunks_exact_mut(mn).enumerate() {
                    one(i, 0, ci, threads);
                }
                return;
            }
            if work.saturating_mul(batch) >= PAR_SPLIT_MIN_WORK {
                // Small products (gemm would stay on one thread): one task
                // per product, and with fewer products than threads, split
                // each product's rows too (blocks of a multiple of 8 rows).
                use rayon::prelude::*;
                let parts = if batch >= threads {
                    1
                } else {
                    threads.div_ceil(batch)
                };
                let rows_per = m.div_ceil(parts).next_multiple_of(8);
                c.par_chunks_exact_mut(mn).enumerate().for_each(|(i, ci)| {
                    if rows_per >= m {
                        one(i, 0, ci, 1);
                    } else {
                        ci.par_chunks_mut(rows_per * n)
                            .enumerate()
                            .for_each(|(r, cr)| one(i, r * rows_per, cr, 1));
                    }
                });
                return;
            }
        }
    }
    for (i, ci) in c.chunks_exact_mut(mn).enumerate() {
        one(i, 0, ci, 1);
    }
}

/// Benchmark hook: `C = A · B` for row-major `n × n` f32 matrices, into a
/// freshly allocated `C`. Not part of the API (used by `benches/kernels.rs`).
#[doc(hidden)]
pub fn bench_sgemm(n: usize, a: &[f32], b: &[f32]) -> Vec<f32> {
    let mut c = Vec::with_capacity(n * n);
    c.resize(n * n, 0.0);
    let p = MatmulParams {
        batch: 1,
        m: n,
        k: n,
        n,
        ..MatmulParams::default()
    };
    matmul(p, a, b, &mut c);
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use alloc::string::String;
    use proptest::prelude::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    /// Reference: naive triple loop in f64.
    fn naive(p: MatmulParams, a: &[f64], b: &[f64], c: &mut [f64]) {
        let MatmulParams {
            batch,
            m,
            k,
            n,
            a_batch_stride,
            b_batch_stride,
            a_t,
            b_t,
            accumulate,
        } = p;
        for bi in 0..batch {
            for i in 0..m {
                for j in 0..n {
                    let mut s = 0.0;
                    for q in 0..k {
                        let av = if a_t {
                            a[bi * a_batch_stride + q * m + i]
                        } else {
                            a[bi * a_batch_stride + i * k + q]
                        };
                        let bv = if b_t {
                            b[bi * b_batch_stride + j * k + q]
                        } else {
                            b[bi * b_batch_stride + q * n + j]
                        };
                        s += av * bv;
                    }
                    let o = &mut c[bi * m * n + i * n + j];
                    *o = if accumulate { *o + s } else { s };
                }
            }
        }
    }

    trait TestFloat: CpuFloat + core::fmt::Debug {
        const EPS: f64;
        fn from(x: f64) -> Self;
        fn to(self) -> f64;
    }
    impl TestFloat for f32 {
        const EPS: f64 = f32::EPSILON as f64;
        fn from(x: f64) -> Self {
            x as f32
        }
        fn to(self) -> f64 {
            self as f64
        }
    }
    impl TestFloat for f64 {
        const EPS: f64 = f64::EPSILON;
        fn from(x: f64) -> Self {
            x
        }
        fn to(self) -> f64 {
            self
        }
    }

    fn engines() -> Vec<Engine> {
        vec![
            #[cfg(feature = "std")]
            Engine::Gemm,
            Engine::MatrixMultiply,
        ]
    }

    /// Runs `p` through `engine` in E on random data (with `extra` unused
    /// trailing elements in A and B) and compares with the f64 reference.
    fn check<E: TestFloat>(engine: Engine, p: MatmulParams, seed: u64) -> Result<(), String> {
        let mut rng = StdRng::seed_from_u64(seed);
        let a_need = if p.batch == 0 {
            0
        } else {
            (p.batch - 1) * p.a_batch_stride + p.m * p.k
        };
        let b_need = if p.batch == 0 {
            0
        } else {
            (p.batch - 1) * p.b_batch_stride + p.k * p.n
        };
        // Values are exact in f32 (multiples of 1/8), so the f64
        // reference is exact up to rounding of the sums.
        let mut gen = |len: usize| -> Vec<f64> {
            (0..len)
                .map(|_| rng.random_range(-16i32..=16) as f64 / 8.0)
                .collect()
        };
        let a64 = gen(a_need + 3);
        let b64 = gen(b_need + 2);
        let c0 = gen(p.batch * p.m * p.n);
        let mut want = c0.clone();
        naive(p, &a64, &b64, &mut want);

        let a: Vec<E> = a64.iter().map(|&x| E::from(x)).collect();
        let b: Vec<E> = b64.iter().map(|&x| E::from(x)).collect();
        let mut c: Vec<E> = c0.iter().map(|&x| E::from(x)).collect();
        matmul_with(engine, p, &a, &b, &mut c);
        // |error| <= k·eps·Σ|a||b| + eps·|c0| (+ slack); Σ|a||b| <= 4k.
        let tol = (p.k as f64 + 2.0) * E::EPS * (4.0 * p.k as f64 + 4.0) * 4.0;
        for (idx, (&g, &w)) in c.iter().zip(&want).enumerate() {
            if (g.to() - w).abs() > tol {
                return Err(format!(
                    "{engine:?} {p:?}: C[{idx}] = {g:?}, want {w} (tol {tol})"
                ));
            }
        }
        Ok(())
    }

    fn check_all(p: MatmulParams, seed: u64) -> Result<(), String> {
        for e in engines() {
            check::<f32>(e, p, seed)?;
            check::<f64>(e, p, seed)?;
        }
        Ok(())
    }

    /// Batch strides for dense or broadcast operands.
    fn params(batch: usize, m: usize, k: usize, n: usize, flags: u8) -> MatmulParams {
        MatmulParams {
            batch,
            m,
            k,
            n,
            a_batch_stride: if flags & 8 != 0 { 0 } else { m * k },
            b_batch_stride: if flags & 16 != 0 { 0 } else { k * n },
            a_t: flags & 1 != 0,
            b_t: flags & 2 != 0,
            accumulate: flags & 4 != 0,
        }
    }

    #[test]
    fn matmul_random_sizes_all_flags() {
        let mut rng = StdRng::seed_from_u64(7);
        for case in 0..24 {
            let (m, k, n) = (
                rng.random_range(1..50),
                rng.random_range(1..50),
                rng.random_range(1..50),
            );
            let batch = rng.random_range(1..4);
            for flags in 0..32u8 {
                check_all(params(batch, m, k, n, flags), case * 32 + flags as u64).unwrap();
            }
        }
    }

    /// Products of 1-4 rows take the no_std `gemv` path (no packing
    /// scratch): every layout flag, sizes past its 4-way unrolling.
    #[test]
    fn matmul_few_rows_gemv_path() {
        // Every engine: with std the gemm engine sends these to `gemv` too
        // (and f32 rows of B through its AVX-512 kernel, four at a time:
        // 384 and 33 columns cover whole groups and a remainder).
        for m in 1..=super::super::gemv::GEMV_MAX_ROWS + 1 {
            for (k, n) in [(1, 1), (7, 3), (300, 70), (784, 10), (128, 384), (131, 33)] {
                for batch in [1, 2] {
                    for flags in 0..32u8 {
                        let p = params(batch, m, k, n, flags);
                        for engine in engines() {
                            check::<f32>(engine, p, flags as u64).unwrap();
                            check::<f64>(engine, p, flags as u64).unwrap();
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn matmul_known_values() {
        // [[1,2,3],[4,5,6]] @ [[7,8],[9,10],[11,12]] = [[58,64],[139,154]]
        let a = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
        let b = [7.0f32, 8.0, 9.0, 10.0, 11.0, 12.0];
        let mut c = [0.0f32; 4];
        matmul(
            MatmulParams {
                batch: 1,
                m: 2,
                k: 3,
                n: 2,
                ..Default::default()
            },
            &a,
            &b,
            &mut c,
        );
        assert_eq!(c, [58.0, 64.0, 139.0, 154.0]);
        // Aᵀ stored (3×2) and Bᵀ stored (2×3), accumulating onto ones.
        let at = [1.0f64, 4.0, 2.0, 5.0, 3.0, 6.0];
        let bt = [7.0f64, 9.0, 11.0, 8.0, 10.0, 12.0];
        let mut c = [1.0f64; 4];
        let p = MatmulParams {
            batch: 1,
            m: 2,
            k: 3,
            n: 2,
            a_t: true,
            b_t: true,
            accumulate: true,
            ..Default::default()
        };
        matmul(p, &at, &bt, &mut c);
        assert_eq!(c, [59.0, 65.0, 140.0, 155.0]);
    }

    #[test]
    fn matmul_empty_dims() {
        // k == 0: overwrite gives zeros, accumulate leaves C unchanged.
        let mut c = vec![5.0f32; 6];
        matmul(
            MatmulParams {
                batch: 2,
                m: 1,
                k: 0,
                n: 3,
                ..Default::default()
            },
            &[],
            &[],
            &mut c,
        );
        assert_eq!(c, [0.0; 6]);
        let mut c = vec![5.0f64; 6];
        matmul(
            MatmulParams {
                batch: 2,
                m: 3,
                k: 0,
                n: 1,
                accumulate: true,
                ..Default::default()
            },
            &[],
            &[],
            &mut c,
        );
        assert_eq!(c, [5.0; 6]);
        // m == 0, n == 0, batch == 0: nothing to do, empty C.
        let mut c: Vec<f32> = vec![];
        matmul(
            MatmulParams {
                batch: 1,
                m: 0,
                k: 4,
                n: 3,
                ..Default::default()
            },
            &[],
            &[0.0; 12],
            &mut c,
        );
        matmul(
            MatmulParams {
                batch: 1,
                m: 3,
                k: 4,
                n: 0,
                ..Default::default()
            },
            &[0.0; 12],
            &[],
            &mut c,
        );
        matmul(
            MatmulParams {
                batch: 0,
                m: 3,
                k: 4,
                n: 5,
                ..Default::default()
            },
            &[],
            &[],
            &mut c,
        );
        for flags in 0..32 {
            for (m, k, n) in [(0, 3, 4), (3, 0, 4), (3, 4, 0), (0, 0, 0)] {
                check_all(params(2, m, k, n, flags), flags as u64).unwrap();
            }
        }
    }

    #[test]
    #[should_panic(expected = "matmul: C has")]
    fn matmul_wrong_c_len_panics() {
        let mut c = [0.0f32; 3];
        matmul(
            MatmulParams {
                batch: 1,
                m: 2,
                k: 1,
                n: 2,
                ..Default::default()
            },
            &[1.0; 2],
            &[1.0; 2],
            &mut c,
        );
    }

    #[test]
    #[should_panic(expected = "matmul: B has")]
    fn matmul_short_b_panics() {
        let mut c = [0.0f32; 8];
        let p = MatmulParams {
            batch: 2,
            m: 2,
            k: 1,
            n: 2,
            a_batch_stride: 2,
            b_batch_stride: 2,
            ..Default::default()
        };
        matmul(p, &[1.0; 4], &[1.0; 3], &mut c);
    }

    /// Sizes above the thresholds take the threaded paths (inside one
    /// product, and across a batch of small ones).
    #[cfg(feature = "std")]
    #[test]
    fn matmul_threaded_paths() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        pool.install(|| {
            const { assert!(200 * 190 * 180 >= PAR_MIN_WORK) };
            for flags in [0u8, 1, 2, 3, 4, 8, 16, 31] {
                check::<f32>(Engine::Gemm, params(1, 200, 190, 180, flags), 1).unwrap();
                check::<f64>(Engine::Gemm, params(2, 130, 97, 160, flags), 2).unwrap();
                // 50 products of 33·20·35 each: batch-parallel.
                const { assert!(33 * 20 * 35 < PAR_MIN_WORK && 50 * 33 * 20 * 35 >= PAR_SPLIT_MIN_WORK) };
                check::<f32>(Engine::Gemm, params(50, 33, 20, 35, flags), 3).unwrap();
                check::<f64>(Engine::Gemm, params(50, 33, 20, 35, flags), 4).unwrap();
                // One product below gemm's threshold: split into row blocks
                // (67 + 60 rows; 8 + 1 rows).
                const { assert!(127 * 101 * 91 < PAR_MIN_WORK && 127 * 101 * 91 >= PAR_SPLIT_MIN_WORK) };
                check::<f32>(Engine::Gemm, params(1, 127, 101, 91, flags), 5).unwrap();
                check::<f64>(Engine::Gemm, params(1, 9, 1200, 100, flags), 6).unwrap();
            }
            // Three threads, two products: each product split in two.
            let pool3 = rayon::ThreadPoolBuilder::new()
                .num_threads(3)
                .build()
                .unwrap();
            pool3.install(|| {
                for flags in [0u8, 3, 7, 8, 16, 31] {
                    check::<f32>(Engine::Gemm, params(2, 50, 40, 45, flags), 7).unwrap();
                }
            });
        });
    }

    #[test]
    fn bench_hook_matches_naive() {
        let n = 37;
        let a: Vec<f32> = (0..n * n).map(|i| ((i * 7) % 11) as f32 - 5.0).collect();
        let b: Vec<f32> = (0..n * n).map(|i| ((i * 5) % 13) as f32 - 6.0).collect();
        let c = bench_sgemm(n, &a, &b);
        let a64: Vec<f64> = a.iter().map(|&x| x as f64).collect();
        let b64: Vec<f64> = b.iter().map(|&x| x as f64).collect();
        let mut want = vec![0.0; n * n];
        naive(
            MatmulParams {
                batch: 1,
                m: n,
                k: n,
                n,
                ..Default::default()
            },
            &a64,
            &b64,
            &mut want,
        );
        assert_eq!(c.iter().map(|&x| x as f64).collect::<Vec<_>>(), want);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn matmul_proptest_vs_naive(
            batch in 0usize..=3,
            m in 0usize..=17,
            k in 0usize..=17,
            n in 0usize..=17,
            flags in 0u8..32,
            seed in any::<u64>(),
        ) {
            if let Err(e) = check_all(params(batch, m, k, n, flags), seed) {
                prop_assert!(false, "{}", e);
            }
        }
    }
}
