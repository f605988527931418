//! Kernels compiled for the widest vector extension the CPU has.
//!
//! The crate is built for the baseline target (SSE2 on x86-64), so a loop
//! over [`Dtype::fast_exp`](crate::dtype::Dtype::fast_exp) vectorises 4
//! f32 wide. [`wide_fn!`] defines a kernel function three times: its body
//! as an `#[inline(always)]` function, and two callers of it compiled with
//! AVX-512 or AVX2 + FMA enabled (the body, and whatever it inlines, is
//! vectorised 16 or 8 wide there); the one the CPU supports is chosen at
//! run time through std's cached feature detection. Without `std`, or on
//! other architectures, the body runs as compiled.
//!
//! The body sees a `const FMA: bool`, true in the AVX versions, which it
//! can pass on (`x.fast_exp_with::<FMA>()`): fused multiply-adds are one
//! instruction there and a slow call in the baseline build.

/// `wide_fn! { fn name<E: Dtype>(args...) -> Ret { body } }`: see the
/// module docs. Arguments are plain `name: Type` pairs.
macro_rules! wide_fn {
    ($(#[$m:meta])* $vis:vis fn $name:ident<$E:ident: $B:path>($($a:ident: $t:ty),* $(,)?) -> $r:ty $body:block) => {
        $(#[$m])*
        #[allow(clippy::too_many_arguments)]
        $vis fn $name<$E: $B>($($a: $t),*) -> $r {
            #[inline(always)]
            #[allow(clippy::too_many_arguments)]
            fn body<const FMA: bool, $E: $B>($($a: $t),*) -> $r $body
            #[cfg(all(feature = "std", target_arch = "x86_64"))]
            {
                #[target_feature(enable = "avx512f,avx2,fma")]
                #[allow(clippy::too_many_arguments)]
                fn avx512<$E: $B>($($a: $t),*) -> $r {
                    body::<true, $E>($($a),*)
                }
                #[target_feature(enable = "avx2,fma")]
                #[allow(clippy::too_many_arguments)]
                fn avx2<$E: $B>($($a: $t),*) -> $r {
                    body::<true, $E>($($a),*)
                }
                if std::is_x86_feature_detected!("avx512f") {
                    // SAFETY: the CPU supports AVX-512F (checked just
                    // above), the only requirement of calling a function
                    // compiled for it.
                    return unsafe { avx512($($a),*) };
                }
                if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                    // SAFETY: the CPU supports AVX2 and FMA (checked just
                    // above).
                    return unsafe { avx2($($a),*) };
                }
            }
            body::<false, $E>($($a),*)
        }
    };
}
pub(crate) use wide_fn;

/// Partial sums of [`lane_dot`]: independent additions keep a pipelined
/// FPU busy, and in vector registers they are two AVX-512 (four AVX2)
/// lanes of f32.
pub(crate) const DOT_LANES: usize = 32;

/// `Σ x[p]·y[p]` in [`DOT_LANES`] partial sums (`madd(x, y, s)` adds one
/// product to a sum: a multiply-add, fused or not), added pairwise at the
/// end, then the tail. Vectorises inside a [`wide_fn!`] body.
#[inline(always)]
pub(crate) fn lane_dot<T: Copy + core::ops::Add<Output = T>>(
    x: &[T],
    y: &[T],
    zero: T,
    madd: impl Fn(T, T, T) -> T,
) -> T {
    let mut acc = [zero; DOT_LANES];
    let (xs, ys) = (x.chunks_exact(DOT_LANES), y.chunks_exact(DOT_LANES));
    let (xr, yr) = (xs.remainder(), ys.remainder());
    for (xc, yc) in xs.zip(ys) {
        for q in 0..DOT_LANES {
            acc[q] = madd(xc[q], yc[q], acc[q]);
        }
    }
    let mut w = DOT_LANES;
    while w > 1 {
        w /= 2;
        for q in 0..w {
            acc[q] = acc[q] + acc[q + w];
        }
    }
    let mut s = acc[0];
    for (&xv, &yv) in xr.iter().zip(yr) {
        s = madd(xv, yv, s);
    }
    s
}

#[cfg(test)]
mod tests {
    use crate::dtype::Dtype;
    use alloc::vec::Vec;

    wide_fn! {
        /// `e^x` of every element, compiled wide.
        fn exps<E: Dtype>(x: &[E]) -> Vec<E> {
            x.iter().map(|&v| v.fast_exp_with::<FMA>()).collect()
        }
    }

    /// Whatever path runs, the result is the body's.
    #[test]
    fn wide_fn_runs_the_body() {
        let x: Vec<f32> = (0..1000).map(|i| i as f32 * 0.01 - 5.0).collect();
        let y = exps(&x);
        for (&a, &b) in x.iter().zip(&y) {
            assert!((b - crate::dtype::exp_f32(a)).abs() <= 2.0 * f32::EPSILON * b);
        }
    }
}
