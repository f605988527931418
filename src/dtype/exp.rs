//! `e^x` by range reduction and a polynomial, written without branches or
//! calls so that a loop over it vectorises (SSE2 by default; AVX2/AVX-512
//! where the CPU kernels dispatch to them at run time).
//!
//! `x = n·ln 2 + r` with `n = round(x / ln 2)` and `|r| <= ln 2 / 2`
//! (Cody-Waite: `ln 2` split in a short high part, exact in `n·hi`, and a
//! low part); `e^r` from a polynomial (Cephes' minimax for f32, Taylor to
//! degree 13 for f64); `2^n` applied in two halves so that results in the
//! subnormal range and up to the largest finite value come out right.
//! Inputs are clamped first (NaN passes through the clamp), so `+inf`
//! gives `+inf`, `-inf` gives 0 and NaN gives NaN. Accuracy against
//! `libm` is tested over a sweep (within 2 ulp, see the tests).

/// Adding and subtracting this rounds an f32 of magnitude below 2^22 to
/// the nearest integer (ties to even), without a call.
const ROUND_F32: f32 = 12_582_912.0; // 1.5 · 2^23
/// The same for f64 below 2^51.
const ROUND_F64: f64 = 6_755_399_441_055_744.0; // 1.5 · 2^52

/// `e^x` for f32, within 2 ulp of `libm::expf` (see the module docs).
///
/// ```
/// use typegrad::dtype::exp_f32;
/// assert!((exp_f32(1.0) - core::f32::consts::E).abs() <= f32::EPSILON * 3.0);
/// assert_eq!(exp_f32(f32::NEG_INFINITY), 0.0);
/// assert_eq!(exp_f32(100.0), f32::INFINITY);
/// assert!(exp_f32(f32::NAN).is_nan());
/// ```
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    exp_f32_with::<false>(x)
}

/// `a · b + c`, fused into one rounding when `FMA` (for code compiled with
/// the FMA extension; elsewhere a fused multiply-add is a slow call).
#[inline(always)]
fn madd32<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    #[cfg(feature = "std")]
    if FMA {
        return a.mul_add(b, c);
    }
    a * b + c
}

#[inline(always)]
fn madd64<const FMA: bool>(a: f64, b: f64, c: f64) -> f64 {
    #[cfg(feature = "std")]
    if FMA {
        return a.mul_add(b, c);
    }
    a * b + c
}

/// [`exp_f32`] with fused multiply-adds when `FMA` (the same accuracy; for
/// kernels compiled with the FMA extension). Without `std`, `FMA` is
/// ignored.
#[doc(hidden)]
#[inline(always)]
pub fn exp_f32_with<const FMA: bool>(x: f32) -> f32 {
    const LOG2E: f32 = core::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4; // 355/512: n·LN2_HI is exact
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Past these the result is 0 or inf whatever the rounding; the clamp
    // keeps n within the two-step scaling's range. NaN stays NaN.
    let x = x.clamp(-104.0, 89.0);
    let t = madd32::<FMA>(x, LOG2E, ROUND_F32);
    let n = t - ROUND_F32;
    // The integer n read from t's mantissa (t and the rounding constant
    // share their exponent): integer vector ops, no float-to-int call.
    let k = (t.to_bits() as i32).wrapping_sub(ROUND_F32.to_bits() as i32);
    let r = madd32::<FMA>(-n, LN2_LO, madd32::<FMA>(-n, LN2_HI, x));
    // Cephes' expf minimax polynomial for e^r on [-ln2/2, ln2/2].
    let mut p = 1.987_569_2e-4f32;
    p = madd32::<FMA>(p, r, 1.398_2e-3);
    p = madd32::<FMA>(p, r, 8.333_452e-3);
    p = madd32::<FMA>(p, r, 4.166_579_6e-2);
    p = madd32::<FMA>(p, r, 1.666_666_5e-1);
    p = madd32::<FMA>(p, r, 5.000_000_1e-1);
    let e = madd32::<FMA>(p * r, r, r) + 1.0;
    // n in [-150, 129]: two factors 2^h and 2^(n-h), each a normal float.
    // (For NaN, k is meaningless and e is NaN.)
    let h = k >> 1;
    let s1 = f32::from_bits((h.wrapping_add(127) as u32) << 23);
    let s2 = f32::from_bits((k.wrapping_sub(h).wrapping_add(127) as u32) << 23);
    e * s1 * s2
}

/// `e^x` for f64, within 2 ulp of `libm::exp` (see the module docs).
///
/// ```
/// use typegrad::dtype::exp_f64;
/// assert!((exp_f64(1.0) - core::f64::consts::E).abs() <= f64::EPSILON * 3.0);
/// assert_eq!(exp_f64(-800.0), 0.0);
/// assert_eq!(exp_f64(f64::INFINITY), f64::INFINITY);
/// ```
#[inline(always)]
pub fn exp_f64(x: f64) -> f64 {
    exp_f64_with::<false>(x)
}

/// [`exp_f64`] with fused multiply-adds when `FMA` (see [`exp_f32_with`]).
#[doc(hidden)]
#[inline(always)]
pub fn exp_f64_with<const FMA: bool>(x: f64) -> f64 {
    const LOG2E: f64 = core::f64::consts::LOG2_E;
    const LN2_HI: f64 = 6.931_457_519_531_25e-1; // n·LN2_HI is exact
    const LN2_LO: f64 = 1.428_606_820_309_417_232_1e-6;
    let x = x.clamp(-746.0, 710.0);
    let t = madd64::<FMA>(x, LOG2E, ROUND_F64);
    let n = t - ROUND_F64;
    let k = (t.to_bits() as i64).wrapping_sub(ROUND_F64.to_bits() as i64);
    let r = madd64::<FMA>(-n, LN2_LO, madd64::<FMA>(-n, LN2_HI, x));
    // Taylor series to degree 13: the remainder is below 2^-53 for |r| <= ln2/2.
    let mut p = 1.0 / 6_227_020_800.0f64; // 1/13!
    p = madd64::<FMA>(p, r, 1.0 / 479_001_600.0);
    p = madd64::<FMA>(p, r, 1.0 / 39_916_800.0);
    p = madd64::<FMA>(p, r, 1.0 / 3_628_800.0);
    p = madd64::<FMA>(p, r, 1.0 / 362_880.0);
    p = madd64::<FMA>(p, r, 1.0 / 40_320.0);
    p = madd64::<FMA>(p, r, 1.0 / 5_040.0);
    p = madd64::<FMA>(p, r, 1.0 / 720.0);
    p = madd64::<FMA>(p, r, 1.0 / 120.0);
    p = madd64::<FMA>(p, r, 1.0 / 24.0);
    p = madd64::<FMA>(p, r, 1.0 / 6.0);
    p = madd64::<FMA>(p, r, 0.5);
    let e = madd64::<FMA>(p * r, r, r) + 1.0;
    // n in [-1077, 1025]: two factors, each a normal float.
    let h = k >> 1;
    let s1 = f64::from_bits((h.wrapping_add(1023) as u64) << 52);
    let s2 = f64::from_bits((k.wrapping_sub(h).wrapping_add(1023) as u64) << 52);
    e * s1 * s2
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;

    /// Distance in units in the last place (both finite, same sign, or
    /// equal).
    fn ulps32(a: f32, b: f32) -> u32 {
        if a == b {
            return 0;
        }
        (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs() as u32
    }
    fn ulps64(a: f64, b: f64) -> u64 {
        if a == b {
            return 0;
        }
        (a.to_bits() as i128 - b.to_bits() as i128).unsigned_abs() as u64
    }

    /// A dense sweep of [-110, 95] and every special value: within 2 ulp
    /// of libm, 0/inf/NaN where libm gives them.
    #[test]
    fn f32_matches_libm() {
        let mut worst = (0, 0.0f32);
        let mut check = |x: f32| {
            let (got, want) = (exp_f32(x), libm::expf(x));
            let fused = exp_f32_with::<true>(x);
            assert!(
                ulps32(fused, want) <= 2 || (want.is_nan() && fused.is_nan()),
                "fused exp({x}) = {fused}, libm {want}"
            );
            if want.is_nan() {
                assert!(got.is_nan(), "exp({x})");
                return;
            }
            let u = ulps32(got, want);
            if u > worst.0 {
                worst = (u, x);
            }
            assert!(u <= 2, "exp({x}) = {got}, libm {want} ({u} ulp)");
        };
        let n = 2_000_000;
        for i in 0..=n {
            check(-110.0 + 205.0 * i as f32 / n as f32);
        }
        for i in 0..100_000 {
            // Small arguments, where e^x ≈ 1 + x.
            check((i as f32 - 50_000.0) * 1e-9);
            check((i as f32 - 50_000.0) * 1e-5);
        }
        for x in [
            0.0,
            -0.0,
            1.0,
            -1.0,
            88.72283,
            88.72284,
            88.7,
            89.0,
            100.0,
            -87.33655,
            -103.0,
            -103.97,
            -104.0,
            -150.0,
            f32::MAX,
            f32::MIN,
            f32::MIN_POSITIVE,
            f32::EPSILON,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            -f32::NAN,
        ] {
            check(x);
        }
        assert_eq!(exp_f32(f32::INFINITY), f32::INFINITY);
        assert_eq!(exp_f32(f32::NEG_INFINITY), 0.0);
        assert_eq!(exp_f32(0.0), 1.0);
        // Sweep of bit patterns: every 997th float.
        let mut b = 0u32;
        while let Some(nb) = b.checked_add(997) {
            check(f32::from_bits(b));
            b = nb;
        }
        std::println!("f32 worst: {} ulp at {}", worst.0, worst.1);
    }

    #[test]
    fn f64_matches_libm() {
        let mut worst = (0, 0.0f64);
        let mut check = |x: f64| {
            let (got, want) = (exp_f64(x), libm::exp(x));
            let fused = exp_f64_with::<true>(x);
            assert!(
                ulps64(fused, want) <= 2 || (want.is_nan() && fused.is_nan()),
                "fused exp({x}) = {fused}, libm {want}"
            );
            if want.is_nan() {
                assert!(got.is_nan(), "exp({x})");
                return;
            }
            let u = ulps64(got, want);
            if u > worst.0 {
                worst = (u, x);
            }
            assert!(u <= 2, "exp({x}) = {got}, libm {want} ({u} ulp)");
        };
        let n = 2_000_000;
        for i in 0..=n {
            check(-750.0 + 1465.0 * i as f64 / n as f64);
        }
        for i in 0..100_000 {
            check((i as f64 - 50_000.0) * 1e-12);
            check((i as f64 - 50_000.0) * 1e-5);
        }
        for x in [
            0.0,
            -0.0,
            1.0,
            -1.0,
            709.78,
            709.79,
            710.0,
            -708.4,
            -744.4,
            -745.13,
            -746.0,
            -800.0,
            f64::MAX,
            f64::MIN,
            f64::MIN_POSITIVE,
            f64::EPSILON,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        ] {
            check(x);
        }
        let mut b = 0u64;
        while let Some(nb) = b.checked_add(0x0000_2000_0000_0001) {
            check(f64::from_bits(b));
            b = nb;
        }
        std::println!("f64 worst: {} ulp at {}", worst.0, worst.1);
    }
}
