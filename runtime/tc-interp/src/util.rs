//! Shared helpers: C-order strides and strided offset iteration, exact rounding of
//! f64 values to every dtype, the widened value representation the op families compute
//! in, and dtype-generic gathering of elements by flat index.
//!
//! Rounding is done here rather than with `half`'s `from_f64`, because that one is not
//! correctly rounded: it drops the low 32 mantissa bits before rounding (losing the
//! sticky bit) and on x86 with F16C goes through f32 (double rounding). The oracle
//! rounds every f64 exactly once, to nearest, ties to even.

use crate::InterpError;
use half::{bf16, f16};
use tc_tensor::{DType, Data, Tensor};

/// Row-major (C order) strides of `shape`, in elements.
pub(crate) fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1usize; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

pub(crate) fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// For every multi-index of `shape` in C order, the offset `base + Σ idx[i] * strides[i]`.
/// This one helper expresses transpose, broadcast, slice, reverse, pad, concat and the
/// output mapping of reductions. Linear in the element count.
pub(crate) fn offsets(shape: &[usize], strides: &[isize], base: isize) -> Vec<usize> {
    debug_assert_eq!(shape.len(), strides.len());
    let n = numel(shape);
    let mut out = Vec::with_capacity(n);
    if n == 0 {
        return out;
    }
    let rank = shape.len();
    let mut idx = vec![0usize; rank];
    let mut off = base;
    loop {
        debug_assert!(off >= 0);
        out.push(off as usize);
        // Odometer increment from the last axis.
        let mut ax = rank;
        loop {
            if ax == 0 {
                return out;
            }
            ax -= 1;
            idx[ax] += 1;
            off += strides[ax];
            if idx[ax] < shape[ax] {
                break;
            }
            off -= strides[ax] * shape[ax] as isize;
            idx[ax] = 0;
        }
    }
}

/// `2^e` for `e` in the normal exponent range of f64.
pub(crate) fn pow2(e: i32) -> f64 {
    assert!((-1022..=1023).contains(&e), "pow2 exponent {e} out of range");
    f64::from_bits(((e + 1023) as u64) << 52)
}

/// Round `x` to nearest (ties to even) in a binary format with `mant` explicit mantissa
/// bits, minimum normal exponent `emin` (subnormals below it) and largest finite value
/// `max`; the result is returned as the (exactly representable) f64 value.
/// Valid for formats with at most 51 mantissa bits and `emin >= -1000`.
pub(crate) fn round_to_format(x: f64, mant: i32, emin: i32, max: f64) -> f64 {
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
pub(crate) fn f64_to_f16(x: f64) -> f16 {
    if x.is_nan() {
        return f16::NAN;
    }
    // The rounded value is exactly representable in f32 and f16, so these conversions are exact.
    f16::from_f32(round_to_format(x, 10, -14, 65504.0) as f32)
}

/// Correctly rounded f64 → bf16.
pub(crate) fn f64_to_bf16(x: f64) -> bf16 {
    if x.is_nan() {
        return bf16::NAN;
    }
    bf16::from_f32(round_to_format(x, 7, -126, BF16_MAX) as f32)
}

/// Largest finite bf16: (2 - 2^-7) * 2^127.
pub(crate) const BF16_MAX: f64 = 3.3895313892515355e38;

/// An i64 as f64 rounded to odd at 53 bits: exact when |x| < 2^53, and otherwise a value
/// whose subsequent round-to-nearest to any format of at most 51 bits equals the
/// correctly rounded conversion of `x` (no double-rounding error).
pub(crate) fn i64_to_f64_round_odd(x: i64) -> f64 {
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

/// Storage of float `dtype` from f64 values, each rounded once to nearest even.
pub(crate) fn floats_to_data(dtype: DType, v: Vec<f64>) -> Data {
    match dtype {
        DType::F64 => Data::F64(v),
        DType::F32 => Data::F32(v.iter().map(|&x| x as f32).collect()),
        DType::F16 => Data::F16(v.iter().map(|&x| f64_to_f16(x)).collect()),
        DType::BF16 => Data::BF16(v.iter().map(|&x| f64_to_bf16(x)).collect()),
        other => panic!("floats_to_data called with non-float dtype {other}"),
    }
}

/// Storage of `dtype` from i64 values: integers wrap (two's complement), bool is
/// `!= 0`, floats are the correctly rounded conversion.
pub(crate) fn ints_to_data(dtype: DType, v: Vec<i64>) -> Data {
    match dtype {
        DType::I64 => Data::I64(v),
        DType::I32 | DType::U8 | DType::Bool => Data::from_i64(dtype, &v),
        DType::F64 => Data::F64(v.iter().map(|&x| x as f64).collect()),
        DType::F32 => Data::F32(v.iter().map(|&x| x as f32).collect()),
        DType::F16 => Data::F16(v.iter().map(|&x| f64_to_f16(i64_to_f64_round_odd(x))).collect()),
        DType::BF16 => Data::BF16(v.iter().map(|&x| f64_to_bf16(i64_to_f64_round_odd(x))).collect()),
    }
}

/// Elements widened to what the op families compute in: f64 for floats (exact),
/// i64 for integers (exact), bool as is.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Vals {
    F(Vec<f64>),
    I(Vec<i64>),
    B(Vec<bool>),
}

pub(crate) fn vals(t: &Tensor) -> Vals {
    match t.data() {
        Data::Bool(b) => Vals::B(b.clone()),
        d if d.dtype().is_float() => Vals::F(d.to_f64_vec()),
        d => Vals::I(d.to_i64_vec()),
    }
}

/// Pack computed values as `dtype` (floats rounded once, integers wrapped).
pub(crate) fn vals_to_data(v: Vals, dtype: DType) -> Data {
    match v {
        Vals::F(f) if dtype.is_float() => floats_to_data(dtype, f),
        Vals::F(f) => Data::from_f64(dtype, &f),
        Vals::I(i) => ints_to_data(dtype, i),
        Vals::B(b) => match dtype {
            DType::Bool => Data::Bool(b),
            other => ints_to_data(other, b.into_iter().map(i64::from).collect()),
        },
    }
}

/// The elements of `d` at the flat positions `idx`, in that order (any dtype, no conversion).
pub(crate) fn take(d: &Data, idx: &[usize]) -> Data {
    macro_rules! pick {
        ($($variant:ident),*) => {
            match d {
                $(Data::$variant(v) => Data::$variant(idx.iter().map(|&i| v[i]).collect()),)*
            }
        };
    }
    pick!(F64, F32, F16, BF16, I64, I32, U8, Bool)
}

/// The storages of `parts` (all of one dtype) joined end to end; `None` if the dtypes
/// differ or `parts` is empty.
pub(crate) fn concat_data(parts: &[&Data]) -> Option<Data> {
    let first = parts.first()?;
    macro_rules! join {
        ($($variant:ident),*) => {
            match first {
                $(Data::$variant(_) => {
                    let mut out = Vec::with_capacity(parts.iter().map(|p| p.len()).sum());
                    for p in parts {
                        match p {
                            Data::$variant(v) => out.extend_from_slice(v),
                            _ => return None,
                        }
                    }
                    Data::$variant(out)
                })*
            }
        };
    }
    Some(join!(F64, F32, F16, BF16, I64, I32, U8, Bool))
}

/// A tensor from a shape and storage that the caller built to match.
pub(crate) fn tensor(shape: Vec<usize>, data: Data) -> Result<Tensor, InterpError> {
    Tensor::new(shape, data).map_err(|e| InterpError::Internal(format!("built a malformed tensor: {e}")))
}

pub(crate) fn invalid(op: &'static str, message: impl Into<String>) -> InterpError {
    InterpError::Invalid { op, message: message.into() }
}

pub(crate) fn unsupported(op: &'static str, dtype: DType) -> InterpError {
    InterpError::Unsupported { op, dtype }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn strides_and_offsets() {
        assert_eq!(strides(&[2, 3, 4]), vec![12, 4, 1]);
        assert_eq!(strides(&[]), Vec::<usize>::new());
        assert_eq!(offsets(&[], &[], 5), vec![5]);
        assert_eq!(offsets(&[2, 0], &[1, 1], 0), Vec::<usize>::new());
        // Transposed view of a 2x3 matrix.
        assert_eq!(offsets(&[3, 2], &[1, 3], 0), vec![0, 3, 1, 4, 2, 5]);
        // Reversed axis.
        assert_eq!(offsets(&[3], &[-1], 2), vec![2, 1, 0]);
    }

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
