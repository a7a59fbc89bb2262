//! Correctly rounded conversions from f64 and i64 to the narrow float formats.
//!
//! `half`'s own `from_f64` is not correctly rounded (it drops low mantissa bits before
//! rounding and on x86 with F16C goes through f32, rounding twice); tensorc rounds every
//! value exactly once, to nearest, ties to even, so every backend can match the oracle.

use half::{bf16, f16};

/// `2^e` for `e` in the normal exponent range of f64.
pub fn pow2(e: i32) -> f64 {
    assert!((-1022..=1023).contains(&e), "pow2 exponent {e} out of range");
    f64::from_bits(((e + 1023) as u64) << 52)
}

/// Round `x` to nearest (ties to even) in a binary format with `mant` explicit mantissa
/// bits, minimum normal exponent `emin` (subnormals below it) and largest finite value
/// `max`; the result is returned as the (exactly representable) f64 value.
/// Valid for formats with at most 51 mantissa bits and `emin >= -1000`.
pub fn round_to_format(x: f64, mant: i32, emin: i32, max: f64) -> f64 {
    if !x.is_finite() || x == 0.0 {
        return x;
    }
    let a = x.abs();
    let biased = (a.to_bits() >> 52) as i32;
    if biased == 0 {
        // An f64 subnormal is far below half the smallest subnormal of the format.
        return 0.0f64.copysign(x);
    }
    let e = biased - 1023;
    // Exponent of one unit in the last place of the target format at this magnitude.
    let q = e.max(emin) - mant;
    // Both scalings are by powers of two and exact; `round_ties_even` of a value below
    // 2^53 is exact, so this is the single correct rounding.
    let r = (a * pow2(-q)).round_ties_even() * pow2(q);
    let r = if r > max { f64::INFINITY } else { r };
    r.copysign(x)
}

/// Correctly rounded f64 → f16.
pub fn f64_to_f16(x: f64) -> f16 {
    if x.is_nan() {
        return f16::NAN;
    }
    // The rounded value is exactly representable in f32 and f16, so these conversions are exact.
    f16::from_f32(round_to_format(x, 10, -14, 65504.0) as f32)
}

/// Correctly rounded f64 → bf16.
pub fn f64_to_bf16(x: f64) -> bf16 {
    if x.is_nan() {
        return bf16::NAN;
    }
    bf16::from_f32(round_to_format(x, 7, -126, BF16_MAX) as f32)
}

/// Largest finite bf16: (2 - 2^-7) * 2^127.
pub const BF16_MAX: f64 = 3.3895313892515355e38;

/// An i64 as f64 rounded to odd at 53 bits: exact when |x| < 2^53, and otherwise a value
/// whose subsequent round-to-nearest to any format of at most 51 bits equals the
/// correctly rounded conversion of `x` (no double-rounding error).
pub fn i64_to_f64_round_odd(x: i64) -> f64 {
    let u = x.unsigned_abs();
    let bits = 64 - u.leading_zeros() as i32;
    let v = if bits <= 53 {
        u as f64
    } else {
        let shift = bits - 53;
        let mut kept = u >> shift;
        if u & ((1u64 << shift) - 1) != 0 {
            kept |= 1;
        }
        kept as f64 * pow2(shift)
    };
    if x < 0 {
        -v
    } else {
        v
    }
}


#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn f16_rounding_is_correct_where_half_is_not() {
        // 1 + 2^-11 is exactly halfway between f16 neighbours 1 and 1 + 2^-10: ties to even.
        assert_eq!(f64_to_f16(1.0 + pow2(-11)), f16::from_f64(1.0));
        // A hair above the tie must round up; the sticky bit lives in the low f64 bits.
        let above = 1.0 + pow2(-11) + pow2(-40);
        assert_eq!(f64_to_f16(above).to_f64(), 1.0 + pow2(-10));
        // Same for bf16 (7 mantissa bits).
        let above = 1.0 + pow2(-8) + pow2(-45);
        assert_eq!(f64_to_bf16(above).to_f64(), 1.0 + pow2(-7));
        assert_eq!(f64_to_bf16(1.0 + pow2(-8)).to_f64(), 1.0);
        assert_eq!(f64_to_bf16(1.0 + 3.0 * pow2(-8)).to_f64(), 1.0 + pow2(-6));
        // Overflow and subnormals.
        assert_eq!(f64_to_f16(65504.0).to_f64(), 65504.0);
        assert_eq!(f64_to_f16(65519.99).to_f64(), 65504.0);
        assert!(f64_to_f16(65520.0).is_infinite());
        assert_eq!(f64_to_f16(pow2(-24)).to_f64(), pow2(-24));
        assert_eq!(f64_to_f16(pow2(-25)).to_f64(), 0.0); // tie with 0: even
        assert_eq!(f64_to_f16(pow2(-25) * 1.0001).to_f64(), pow2(-24));
        assert_eq!(f64_to_f16(-1e-30).to_bits(), 0x8000);
        assert!(f64_to_f16(f64::NAN).is_nan());
        assert_eq!(f64_to_bf16(1e39).to_f64(), f64::INFINITY);
        assert_eq!(f64_to_bf16(BF16_MAX).to_f64(), BF16_MAX);
        assert_eq!(bf16::MAX.to_f64(), BF16_MAX);
    }

    #[test]
    fn big_i64_to_narrow_floats_round_once() {
        // 2^60 + 2^52 + 1: as f64 it would round to 2^60 + 2^52 (a tie for bf16 and ties
        // to even go down), but the exact value is above the tie and must round up.
        let x: i64 = (1 << 60) + (1 << 52) + 1;
        assert_eq!(f64_to_bf16(i64_to_f64_round_odd(x)).to_f64(), (pow2(60)) * (1.0 + pow2(-7)));
        assert_eq!(i64_to_f64_round_odd(-5), -5.0);
        assert_eq!(i64_to_f64_round_odd(i64::MIN), -pow2(63));
    }

    proptest! {
        /// The generic rounding agrees with the hardware's f64 → f32 conversion.
        #[test]
        fn round_to_format_matches_f32(bits in any::<u64>()) {
            let x = f64::from_bits(bits);
            prop_assume!(!x.is_nan());
            let ours = round_to_format(x, 23, -126, f32::MAX as f64);
            prop_assert_eq!(ours.to_bits(), ((x as f32) as f64).to_bits());
        }

        /// Near f32's range too (random exponents rarely land there).
        #[test]
        fn round_to_format_matches_f32_near_one(m in any::<u64>(), e in -160i32..140) {
            let x = (1.0 + (m >> 12) as f64 * pow2(-52)) * pow2(e);
            let ours = round_to_format(x, 23, -126, f32::MAX as f64);
            prop_assert_eq!(ours.to_bits(), ((x as f32) as f64).to_bits());
        }

        /// f16 agrees with half's conversion from f32 whenever the f64 is exactly an f32
        /// (then half's f32 path rounds once and correctly).
        #[test]
        fn f16_matches_half_from_f32(bits in any::<u32>()) {
            let x = f32::from_bits(bits);
            prop_assume!(!x.is_nan());
            prop_assert_eq!(f64_to_f16(x as f64).to_bits(), f16::from_f32(x).to_bits());
        }

        #[test]
        fn i64_round_odd_then_f32_matches_direct(x in any::<i64>()) {
            prop_assert_eq!(i64_to_f64_round_odd(x) as f32, x as f32);
        }
    }
}
