//! Elementwise ops: `Unary`, `Binary`, `Select` and `Cast`.
//!
//! Operands are widened exactly (floats to f64, integers to i64), the function is
//! applied, and the result is rounded once to nearest even (floats) or wrapped
//! (integers) to the result dtype. Integer `Div` floors and `Rem` takes the divisor's
//! sign, both giving 0 for a zero divisor; float `Rem` is NumPy's `mod`; `Max`/`Min`
//! propagate NaN; `Round` is half to even; `Sign(NaN)` is NaN.

use crate::util::{self, concat_data, invalid, take, unsupported, vals, vals_to_data, Vals};
use crate::InterpError;
use tc_ir::{BinaryOp, UnaryOp};
use tc_tensor::{DType, Data, Tensor};

/// The error function in f64 (fdlibm's algorithm, via `libm`).
pub fn erf(x: f64) -> f64 {
    libm::erf(x)
}

/// `1 / (1 + exp(-x))`, without overflow for large negative `x`.
pub fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// NumPy's float `mod`: the remainder with the sign of the divisor, as Python's `%`.
pub fn float_mod(a: f64, b: f64) -> f64 {
    let r = a % b; // fmod: exact
    if r == 0.0 {
        // A zero remainder takes the divisor's sign (NaN divisors cannot reach here).
        0.0f64.copysign(b)
    } else if (r < 0.0) != (b < 0.0) {
        r + b
    } else {
        r
    }
}

/// Integer division rounding toward negative infinity; 0 for a zero divisor.
pub fn floor_div(a: i64, b: i64) -> i64 {
    if b == 0 {
        return 0;
    }
    let q = a.wrapping_div(b);
    let r = a.wrapping_rem(b);
    if r != 0 && ((r < 0) != (b < 0)) {
        q - 1
    } else {
        q
    }
}

/// Integer remainder with the sign of the divisor; 0 for a zero divisor.
pub fn floor_rem(a: i64, b: i64) -> i64 {
    if b == 0 {
        return 0;
    }
    let r = a.wrapping_rem(b);
    if r != 0 && ((r < 0) != (b < 0)) {
        r + b
    } else {
        r
    }
}

/// Maximum propagating NaN.
pub fn fmax_nan(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if a >= b {
        a
    } else {
        b
    }
}

/// Minimum propagating NaN.
pub fn fmin_nan(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if a <= b {
        a
    } else {
        b
    }
}

fn float_unary(op: UnaryOp, x: f64) -> Option<f64> {
    Some(match op {
        UnaryOp::Neg => -x,
        UnaryOp::Abs => x.abs(),
        UnaryOp::Sign => {
            if x.is_nan() {
                x
            } else if x > 0.0 {
                1.0
            } else if x < 0.0 {
                -1.0
            } else {
                0.0
            }
        }
        UnaryOp::Exp => x.exp(),
        UnaryOp::Log => x.ln(),
        UnaryOp::Sqrt => x.sqrt(),
        UnaryOp::Rsqrt => 1.0 / x.sqrt(),
        UnaryOp::Sin => x.sin(),
        UnaryOp::Cos => x.cos(),
        UnaryOp::Tanh => x.tanh(),
        UnaryOp::Sigmoid => sigmoid(x),
        UnaryOp::Erf => erf(x),
        UnaryOp::Atan => x.atan(),
        UnaryOp::Floor => x.floor(),
        UnaryOp::Ceil => x.ceil(),
        UnaryOp::Round => x.round_ties_even(),
        UnaryOp::Not => return None,
    })
}

fn int_unary(op: UnaryOp, x: i64) -> Option<i64> {
    Some(match op {
        UnaryOp::Neg => x.wrapping_neg(),
        UnaryOp::Abs => x.wrapping_abs(),
        UnaryOp::Sign => x.signum(),
        _ => return None,
    })
}

/// `Unary(op)` on `x`; the result keeps `x`'s dtype.
pub fn unary(op: UnaryOp, x: &Tensor) -> Result<Tensor, InterpError> {
    let dtype = x.dtype();
    let name = op.name();
    let out = match vals(x) {
        Vals::F(v) => Vals::F(v.into_iter().map(|a| float_unary(op, a).ok_or(unsupported(name, dtype))).collect::<Result<_, _>>()?),
        Vals::I(v) => Vals::I(v.into_iter().map(|a| int_unary(op, a).ok_or(unsupported(name, dtype))).collect::<Result<_, _>>()?),
        Vals::B(v) => match op {
            UnaryOp::Not => Vals::B(v.into_iter().map(|a| !a).collect()),
            _ => return Err(unsupported(name, dtype)),
        },
    };
    util::tensor(x.shape().to_vec(), vals_to_data(out, dtype))
}

fn compare<T: PartialOrd>(op: BinaryOp, a: T, b: T) -> bool {
    match op {
        BinaryOp::Eq => a == b,
        BinaryOp::Ne => a != b,
        BinaryOp::Lt => a < b,
        BinaryOp::Le => a <= b,
        BinaryOp::Gt => a > b,
        BinaryOp::Ge => a >= b,
        _ => unreachable!("not a comparison: {op:?}"),
    }
}

fn float_binary(op: BinaryOp, a: f64, b: f64) -> Option<f64> {
    Some(match op {
        BinaryOp::Add => a + b,
        BinaryOp::Sub => a - b,
        BinaryOp::Mul => a * b,
        BinaryOp::Div => a / b,
        BinaryOp::Rem => float_mod(a, b),
        BinaryOp::Pow => a.powf(b),
        BinaryOp::Max => fmax_nan(a, b),
        BinaryOp::Min => fmin_nan(a, b),
        _ => return None,
    })
}

fn int_binary(op: BinaryOp, a: i64, b: i64) -> Option<i64> {
    Some(match op {
        BinaryOp::Add => a.wrapping_add(b),
        BinaryOp::Sub => a.wrapping_sub(b),
        BinaryOp::Mul => a.wrapping_mul(b),
        BinaryOp::Div => floor_div(a, b),
        BinaryOp::Rem => floor_rem(a, b),
        BinaryOp::Max => a.max(b),
        BinaryOp::Min => a.min(b),
        _ => return None,
    })
}

fn bool_binary(op: BinaryOp, a: bool, b: bool) -> Option<bool> {
    Some(match op {
        BinaryOp::And => a && b,
        BinaryOp::Or => a || b,
        // On bool, max is `or` and min is `and`.
        BinaryOp::Max => a || b,
        BinaryOp::Min => a && b,
        _ => return None,
    })
}

/// `Binary(op)` on `a` and `b` (one dtype, one shape). Comparisons give bool; the rest
/// keep the dtype.
pub fn binary(op: BinaryOp, a: &Tensor, b: &Tensor) -> Result<Tensor, InterpError> {
    let name = op.name();
    let dtype = a.dtype();
    if b.dtype() != dtype {
        return Err(invalid(name, format!("operands have dtypes {} and {}", dtype, b.dtype())));
    }
    if a.shape() != b.shape() {
        return Err(invalid(name, format!("operands have shapes {:?} and {:?}", a.shape(), b.shape())));
    }
    let err = || unsupported(name, dtype);
    let out = match (vals(a), vals(b)) {
        (Vals::F(x), Vals::F(y)) if op.is_comparison() => Vals::B(x.iter().zip(&y).map(|(&p, &q)| compare(op, p, q)).collect()),
        (Vals::I(x), Vals::I(y)) if op.is_comparison() => Vals::B(x.iter().zip(&y).map(|(&p, &q)| compare(op, p, q)).collect()),
        (Vals::B(x), Vals::B(y)) if op.is_comparison() => Vals::B(x.iter().zip(&y).map(|(&p, &q)| compare(op, p, q)).collect()),
        (Vals::F(x), Vals::F(y)) => {
            Vals::F(x.iter().zip(&y).map(|(&p, &q)| float_binary(op, p, q).ok_or_else(err)).collect::<Result<_, _>>()?)
        }
        (Vals::I(x), Vals::I(y)) => {
            Vals::I(x.iter().zip(&y).map(|(&p, &q)| int_binary(op, p, q).ok_or_else(err)).collect::<Result<_, _>>()?)
        }
        (Vals::B(x), Vals::B(y)) => {
            Vals::B(x.iter().zip(&y).map(|(&p, &q)| bool_binary(op, p, q).ok_or_else(err)).collect::<Result<_, _>>()?)
        }
        _ => return Err(InterpError::Internal("operands of one dtype widened differently".into())),
    };
    util::tensor(a.shape().to_vec(), vals_to_data(out, op.result_dtype(dtype)))
}

/// `where(cond, a, b)`.
pub fn select(cond: &Tensor, a: &Tensor, b: &Tensor) -> Result<Tensor, InterpError> {
    let Data::Bool(c) = cond.data() else {
        return Err(invalid("select", format!("condition has dtype {}, not bool", cond.dtype())));
    };
    if a.dtype() != b.dtype() {
        return Err(invalid("select", format!("branches have dtypes {} and {}", a.dtype(), b.dtype())));
    }
    if cond.shape() != a.shape() || a.shape() != b.shape() {
        return Err(invalid("select", format!("shapes {:?}, {:?} and {:?} differ", cond.shape(), a.shape(), b.shape())));
    }
    let n = a.len();
    let both = concat_data(&[a.data(), b.data()]).ok_or_else(|| InterpError::Internal("select concat".into()))?;
    let idx: Vec<usize> = c.iter().enumerate().map(|(i, &t)| if t { i } else { n + i }).collect();
    util::tensor(a.shape().to_vec(), take(&both, &idx))
}

/// Conversion to `to`: float→int truncates toward zero and saturates (NaN → 0);
/// anything→bool is `x != 0` (so NaN → true); bool→number is 0 or 1; int→float and
/// float→float round once to nearest even; int→int wraps.
pub fn cast(x: &Tensor, to: DType) -> Tensor {
    let data = match vals(x) {
        Vals::F(v) if to == DType::Bool => Data::Bool(v.iter().map(|&a| a != 0.0).collect()),
        // Float → int: Rust's `as` from f64 truncates toward zero, saturates, and maps NaN to 0.
        Vals::F(v) if to == DType::I64 => Data::I64(v.iter().map(|&a| a as i64).collect()),
        Vals::F(v) if to == DType::I32 => Data::I32(v.iter().map(|&a| a as i32).collect()),
        Vals::F(v) if to == DType::U8 => Data::U8(v.iter().map(|&a| a as u8).collect()),
        other => vals_to_data(other, to),
    };
    Tensor::new(x.shape().to_vec(), data).expect("cast keeps the element count")
}

#[cfg(test)]
mod tests {
    use super::*;
    use half::{bf16, f16};

    fn f64t(v: &[f64]) -> Tensor {
        Tensor::new(vec![v.len()], Data::F64(v.to_vec())).unwrap()
    }
    fn f32t(v: &[f32]) -> Tensor {
        Tensor::new(vec![v.len()], Data::F32(v.to_vec())).unwrap()
    }
    fn i64t(v: &[i64]) -> Tensor {
        Tensor::new(vec![v.len()], Data::I64(v.to_vec())).unwrap()
    }
    fn i32t(v: &[i32]) -> Tensor {
        Tensor::new(vec![v.len()], Data::I32(v.to_vec())).unwrap()
    }
    fn u8t(v: &[u8]) -> Tensor {
        Tensor::new(vec![v.len()], Data::U8(v.to_vec())).unwrap()
    }
    fn boolt(v: &[bool]) -> Tensor {
        Tensor::new(vec![v.len()], Data::Bool(v.to_vec())).unwrap()
    }
    fn f16t(v: &[f64]) -> Tensor {
        Tensor::new(vec![v.len()], Data::F16(v.iter().map(|&x| f16::from_f64(x)).collect())).unwrap()
    }
    fn bf16t(v: &[f64]) -> Tensor {
        Tensor::new(vec![v.len()], Data::BF16(v.iter().map(|&x| bf16::from_f64(x)).collect())).unwrap()
    }
    fn f64s(t: &Tensor) -> Vec<f64> {
        t.data().to_f64_vec()
    }
    fn same_bits(a: &[f64], b: &[f64]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x.is_nan() && y.is_nan()) || x.to_bits() == y.to_bits())
    }

    #[test]
    fn int_div_rem_python_style() {
        let a = i64t(&[7, -7, 7, -7, 5, 0, 3]);
        let b = i64t(&[2, 2, -2, -2, 0, 3, -5]);
        let d = binary(BinaryOp::Div, &a, &b).unwrap();
        assert_eq!(d.data(), &Data::I64(vec![3, -4, -4, 3, 0, 0, -1]));
        let r = binary(BinaryOp::Rem, &a, &b).unwrap();
        assert_eq!(r.data(), &Data::I64(vec![1, 1, -1, -1, 0, 0, -2]));
        // i64::MIN / -1 wraps; remainder is 0.
        let d = binary(BinaryOp::Div, &i64t(&[i64::MIN]), &i64t(&[-1])).unwrap();
        assert_eq!(d.data(), &Data::I64(vec![i64::MIN]));
        let r = binary(BinaryOp::Rem, &i64t(&[i64::MIN]), &i64t(&[-1])).unwrap();
        assert_eq!(r.data(), &Data::I64(vec![0]));
        // i32::MIN / -1 wraps to i32::MIN.
        let d = binary(BinaryOp::Div, &i32t(&[i32::MIN, -9]), &i32t(&[-1, 4])).unwrap();
        assert_eq!(d.data(), &Data::I32(vec![i32::MIN, -3]));
    }

    #[test]
    fn float_mod_numpy_style() {
        let a = f64t(&[7.0, -7.0, 7.0, -7.0, 5.5, -0.0, 6.0, -6.0, 1.0, -1.0, f64::INFINITY]);
        let b = f64t(&[2.0, 2.0, -2.0, -2.0, 0.0, 3.0, 3.0, 3.0, f64::INFINITY, f64::INFINITY, 2.0]);
        let r = f64s(&binary(BinaryOp::Rem, &a, &b).unwrap());
        let want = [1.0, 1.0, -1.0, -1.0, f64::NAN, 0.0, 0.0, 0.0, 1.0, f64::INFINITY, f64::NAN];
        assert!(same_bits(&r, &want), "{r:?}");
        // Zero remainders take the divisor's sign.
        let r = f64s(&binary(BinaryOp::Rem, &f64t(&[4.0]), &f64t(&[-2.0])).unwrap());
        assert_eq!(r[0].to_bits(), (-0.0f64).to_bits());
        // Fractions: -0.5 mod 0.3 == 0.1 (computed exactly by fmod then adjusted).
        let r = f64s(&binary(BinaryOp::Rem, &f64t(&[-0.5, 5.3]), &f64t(&[0.3, -2.0])).unwrap());
        assert_eq!(r, vec![(-0.5f64 % 0.3) + 0.3, (5.3f64 % -2.0) - 2.0]);
        assert!((r[0] - 0.1).abs() < 1e-15 && (r[1] + 0.7).abs() < 1e-14);
        // f32: computed in f64, rounded once.
        let r = binary(BinaryOp::Rem, &f32t(&[-1.5]), &f32t(&[4.0])).unwrap();
        assert_eq!(r.as_f32().unwrap(), &[2.5]);
    }

    #[test]
    fn int_wraparound_across_dtypes() {
        let r = binary(BinaryOp::Add, &i32t(&[i32::MAX, i32::MIN]), &i32t(&[1, -1])).unwrap();
        assert_eq!(r.data(), &Data::I32(vec![i32::MIN, i32::MAX]));
        let r = binary(BinaryOp::Mul, &i32t(&[65536]), &i32t(&[65536])).unwrap();
        assert_eq!(r.data(), &Data::I32(vec![0]));
        let r = binary(BinaryOp::Mul, &i64t(&[i64::MAX]), &i64t(&[2])).unwrap();
        assert_eq!(r.data(), &Data::I64(vec![-2]));
        let r = binary(BinaryOp::Sub, &u8t(&[3, 250]), &u8t(&[5, 0])).unwrap();
        assert_eq!(r.data(), &Data::U8(vec![254, 250]));
        let r = binary(BinaryOp::Add, &u8t(&[200]), &u8t(&[100])).unwrap();
        assert_eq!(r.data(), &Data::U8(vec![44]));
        let r = binary(BinaryOp::Div, &u8t(&[200, 7]), &u8t(&[7, 0])).unwrap();
        assert_eq!(r.data(), &Data::U8(vec![28, 0]));
        let r = unary(UnaryOp::Neg, &u8t(&[5, 0])).unwrap();
        assert_eq!(r.data(), &Data::U8(vec![251, 0]));
        let r = unary(UnaryOp::Abs, &i32t(&[i32::MIN, -3, 4])).unwrap();
        assert_eq!(r.data(), &Data::I32(vec![i32::MIN, 3, 4]));
        let r = unary(UnaryOp::Neg, &i64t(&[i64::MIN])).unwrap();
        assert_eq!(r.data(), &Data::I64(vec![i64::MIN]));
        let r = unary(UnaryOp::Sign, &i32t(&[-7, 0, 9])).unwrap();
        assert_eq!(r.data(), &Data::I32(vec![-1, 0, 1]));
        let r = unary(UnaryOp::Sign, &u8t(&[0, 200])).unwrap();
        assert_eq!(r.data(), &Data::U8(vec![0, 1]));
    }

    #[test]
    fn round_half_to_even_and_friends() {
        let x = f64t(&[0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4, 2.6, -2.6]);
        assert_eq!(f64s(&unary(UnaryOp::Round, &x).unwrap()), vec![0.0, 2.0, 2.0, -0.0, -2.0, -2.0, 2.0, 3.0, -3.0]);
        assert_eq!(f64s(&unary(UnaryOp::Floor, &x).unwrap()), vec![0.0, 1.0, 2.0, -1.0, -2.0, -3.0, 2.0, 2.0, -3.0]);
        assert_eq!(f64s(&unary(UnaryOp::Ceil, &x).unwrap()), vec![1.0, 2.0, 3.0, -0.0, -1.0, -2.0, 3.0, 3.0, -2.0]);
        // f16 round: 2.5 is exact in f16.
        let r = unary(UnaryOp::Round, &f16t(&[2.5, 3.5])).unwrap();
        assert_eq!(f64s(&r), vec![2.0, 4.0]);
    }

    #[test]
    fn sign_and_nan() {
        let r = f64s(&unary(UnaryOp::Sign, &f64t(&[-3.0, 0.0, -0.0, 2.0, f64::NAN, f64::NEG_INFINITY])).unwrap());
        assert_eq!(&r[..4], &[-1.0, 0.0, 0.0, 1.0]);
        assert!(r[4].is_nan());
        assert_eq!(r[5], -1.0);
    }

    #[test]
    fn max_min_propagate_nan() {
        let a = f32t(&[1.0, f32::NAN, 3.0, -0.0]);
        let b = f32t(&[f32::NAN, 2.0, 2.0, 5.0]);
        let mx = binary(BinaryOp::Max, &a, &b).unwrap();
        let mx = mx.as_f32().unwrap();
        assert!(mx[0].is_nan() && mx[1].is_nan());
        assert_eq!(&mx[2..], &[3.0, 5.0]);
        let mn = binary(BinaryOp::Min, &a, &b).unwrap();
        let mn = mn.as_f32().unwrap();
        assert!(mn[0].is_nan() && mn[1].is_nan());
        assert_eq!(&mn[2..], &[2.0, -0.0]);
        let r = binary(BinaryOp::Max, &i32t(&[-5, 7]), &i32t(&[3, -8])).unwrap();
        assert_eq!(r.data(), &Data::I32(vec![3, 7]));
    }

    #[test]
    fn comparisons_and_logic() {
        let a = f64t(&[1.0, f64::NAN, 2.0]);
        let b = f64t(&[1.0, f64::NAN, 3.0]);
        assert_eq!(binary(BinaryOp::Eq, &a, &b).unwrap().data(), &Data::Bool(vec![true, false, false]));
        assert_eq!(binary(BinaryOp::Ne, &a, &b).unwrap().data(), &Data::Bool(vec![false, true, true]));
        assert_eq!(binary(BinaryOp::Lt, &a, &b).unwrap().data(), &Data::Bool(vec![false, false, true]));
        assert_eq!(binary(BinaryOp::Ge, &a, &b).unwrap().data(), &Data::Bool(vec![true, false, false]));
        let x = u8t(&[0, 255, 7]);
        let y = u8t(&[1, 254, 7]);
        assert_eq!(binary(BinaryOp::Gt, &x, &y).unwrap().data(), &Data::Bool(vec![false, true, false]));
        assert_eq!(binary(BinaryOp::Le, &x, &y).unwrap().data(), &Data::Bool(vec![true, false, true]));
        let p = boolt(&[true, true, false, false]);
        let q = boolt(&[true, false, true, false]);
        assert_eq!(binary(BinaryOp::And, &p, &q).unwrap().data(), &Data::Bool(vec![true, false, false, false]));
        assert_eq!(binary(BinaryOp::Or, &p, &q).unwrap().data(), &Data::Bool(vec![true, true, true, false]));
        assert_eq!(binary(BinaryOp::Lt, &p, &q).unwrap().data(), &Data::Bool(vec![false, false, true, false]));
        assert_eq!(unary(UnaryOp::Not, &p).unwrap().data(), &Data::Bool(vec![false, false, true, true]));
    }

    #[test]
    fn unsupported_dtypes_are_errors() {
        assert!(matches!(unary(UnaryOp::Exp, &i32t(&[1])), Err(InterpError::Unsupported { op: "exp", dtype: DType::I32 })));
        assert!(unary(UnaryOp::Not, &f32t(&[1.0])).is_err());
        assert!(unary(UnaryOp::Neg, &boolt(&[true])).is_err());
        assert!(binary(BinaryOp::Pow, &i32t(&[2]), &i32t(&[3])).is_err());
        assert!(binary(BinaryOp::And, &i32t(&[2]), &i32t(&[3])).is_err());
        assert!(binary(BinaryOp::Add, &boolt(&[true]), &boolt(&[true])).is_err());
        assert!(binary(BinaryOp::Add, &i32t(&[2]), &i64t(&[3])).is_err());
        assert!(binary(BinaryOp::Add, &i32t(&[2]), &i32t(&[3, 4])).is_err());
    }

    #[test]
    fn float_functions() {
        let x = f64t(&[0.0, 1.0, -1.0, 0.5, -40.0, 800.0, -800.0]);
        let s = f64s(&unary(UnaryOp::Sigmoid, &x).unwrap());
        assert_eq!(s[0], 0.5);
        assert!((s[1] - 0.7310585786300049).abs() < 1e-16);
        assert!((s[2] - 0.2689414213699951).abs() < 1e-16);
        assert!((s[4] - 4.248354255291589e-18).abs() < 1e-30);
        assert_eq!(s[5], 1.0);
        assert_eq!(s[6], 0.0);
        let e = f64s(&unary(UnaryOp::Erf, &x).unwrap());
        assert_eq!(e[0], 0.0);
        assert!((e[1] - 0.8427007929497149).abs() <= 1e-16);
        assert!((e[2] + 0.8427007929497149).abs() <= 1e-16);
        assert!((e[3] - 0.5204998778130465).abs() <= 1e-16);
        assert_eq!(e[4], -1.0);
        let e = f64s(&unary(UnaryOp::Erf, &f64t(&[1e-10, 3.0, f64::NAN])).unwrap());
        assert!((e[0] - 1.1283791670955126e-10).abs() < 1e-25);
        assert!((e[1] - 0.9999779095030014).abs() <= 1e-16);
        assert!(e[2].is_nan());
        let r = f64s(&unary(UnaryOp::Rsqrt, &f64t(&[4.0, 0.0, -1.0])).unwrap());
        assert_eq!(r[0], 0.5);
        assert_eq!(r[1], f64::INFINITY);
        assert!(r[2].is_nan());
        let p = f64s(&binary(BinaryOp::Pow, &f64t(&[2.0, 0.0, -8.0]), &f64t(&[10.0, -1.0, 1.0 / 3.0])).unwrap());
        assert_eq!(p[0], 1024.0);
        assert_eq!(p[1], f64::INFINITY);
        assert!(p[2].is_nan());
    }

    #[test]
    fn f16_and_bf16_round_once() {
        // 1 + 2^-11 + 2^-12 is not an f16; the exact sum of two f16 values rounds up.
        let a = f16t(&[1.0, 2048.0, 0.1]);
        let b = f16t(&[0.000732421875, 1.0, 0.2]); // 2^-11 + 2^-12, 1, ~0.2
        let r = binary(BinaryOp::Add, &a, &b).unwrap();
        let want_third = f16::from_f32(f16::from_f64(0.1).to_f32() + f16::from_f64(0.2).to_f32());
        assert_eq!(r.data(), &Data::F16(vec![f16::from_f64(1.0009765625), f16::from_f64(2048.0), want_third]));
        // 2048 + 1 is a tie in f16 (spacing 2) and rounds to even, 2048.
        // bf16: 256 + 1 is a tie (spacing 2), 256 + 3 rounds to 260 (even of 258/260 is 260).
        let r = binary(BinaryOp::Add, &bf16t(&[256.0, 256.0]), &bf16t(&[1.0, 3.0])).unwrap();
        assert_eq!(f64s(&r), vec![256.0, 260.0]);
        // Products are exact in f64 then rounded once: 1.5 * 1.5 = 2.25 is a bf16;
        // 5 * 103 = 515 is not (spacing 4 above 512) and rounds to 516.
        let r = binary(BinaryOp::Mul, &bf16t(&[1.5, 5.0]), &bf16t(&[1.5, 103.0])).unwrap();
        assert_eq!(f64s(&r), vec![2.25, 516.0]);
        // Overflow to infinity in f16.
        let r = binary(BinaryOp::Mul, &f16t(&[300.0]), &f16t(&[300.0])).unwrap();
        assert_eq!(f64s(&r), vec![f64::INFINITY]);
    }

    #[test]
    fn select_any_dtype() {
        let c = boolt(&[true, false, true]);
        let r = select(&c, &i32t(&[1, 2, 3]), &i32t(&[10, 20, 30])).unwrap();
        assert_eq!(r.data(), &Data::I32(vec![1, 20, 3]));
        let r = select(&c, &f16t(&[1.0, 2.0, 3.0]), &f16t(&[10.0, 20.0, 30.0])).unwrap();
        assert_eq!(f64s(&r), vec![1.0, 20.0, 3.0]);
        assert!(select(&i32t(&[1, 0, 1]), &i32t(&[1, 2, 3]), &i32t(&[1, 2, 3])).is_err());
    }

    #[test]
    fn casts() {
        let x = f64t(&[1.9, -1.9, 300.7, -300.0, f64::NAN, f64::INFINITY, -0.5, 1e20]);
        assert_eq!(cast(&x, DType::I32).data(), &Data::I32(vec![1, -1, 300, -300, 0, i32::MAX, 0, i32::MAX]));
        assert_eq!(cast(&x, DType::U8).data(), &Data::U8(vec![1, 0, 255, 0, 0, 255, 0, 255]));
        assert_eq!(cast(&x, DType::I64).data(), &Data::I64(vec![1, -1, 300, -300, 0, i64::MAX, 0, 100000000000000000000f64 as i64]));
        assert_eq!(cast(&x, DType::Bool).data(), &Data::Bool(vec![true, true, true, true, true, true, true, true]));
        assert_eq!(cast(&f64t(&[0.0, -0.0]), DType::Bool).data(), &Data::Bool(vec![false, false]));
        // int -> int wraps, int -> bool is != 0, bool -> number is 0/1.
        assert_eq!(cast(&i32t(&[256, -1, 511]), DType::U8).data(), &Data::U8(vec![0, 255, 255]));
        assert_eq!(cast(&i64t(&[1 << 32, (1 << 31) + 5]), DType::I32).data(), &Data::I32(vec![0, i32::MIN + 5]));
        assert_eq!(cast(&i32t(&[0, 2, -1]), DType::Bool).data(), &Data::Bool(vec![false, true, true]));
        assert_eq!(cast(&boolt(&[true, false]), DType::F16).data(), &Data::F16(vec![f16::ONE, f16::ZERO]));
        assert_eq!(cast(&boolt(&[true, false]), DType::U8).data(), &Data::U8(vec![1, 0]));
        // float -> float rounds to nearest even.
        let r = cast(&f64t(&[1.0 + 2f64.powi(-11), 1.0 + 3.0 * 2f64.powi(-11), 70000.0]), DType::F16);
        assert_eq!(f64s(&r), vec![1.0, 1.0 + 2f64.powi(-9), f64::INFINITY]);
        let r = cast(&f32t(&[1.0 + 2f32.powi(-8), 1.0 + 3.0 * 2f32.powi(-8)]), DType::BF16); // a tie, above a tie
        assert_eq!(f64s(&r), vec![1.0, 1.015625]);
        let r = cast(&f16t(&[65504.0]), DType::BF16);
        assert_eq!(f64s(&r), vec![65536.0]);
        // i64 -> f32 is correctly rounded (no double rounding through f64).
        let big: i64 = (1 << 62) + (1 << 38) + 1; // just above an f32 tie
        let r = cast(&i64t(&[big]), DType::F32);
        assert_eq!(r.as_f32().unwrap()[0] as f64, 2f64.powi(62) + 2f64.powi(39));
        assert_eq!(cast(&u8t(&[255]), DType::F32).as_f32().unwrap(), &[255.0]);
        // f16 -> i32 truncates.
        assert_eq!(cast(&f16t(&[-2.75, 65504.0]), DType::I32).data(), &Data::I32(vec![-2, 65504]));
    }
}
