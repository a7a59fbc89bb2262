//! Scalar semantics in `arith` and `math`: each function emits the ops computing one
//! elementwise operation of `tc_ir::ops` on SSA values and returns the result's name.
//!
//! The reference interpreter computes floats in f64 and rounds once to the dtype.
//! `+ - * /`, `sqrt`, comparisons, `floor`/`ceil`/`round`, `abs` and `neg` give the same
//! bits when computed in the dtype itself (f16/bf16/f32 have fewer than half of f64's
//! significand bits, so the double rounding is innocuous); the transcendental functions,
//! `rsqrt`, `sigmoid`, `pow` and `rem` are computed in f64 exactly as the interpreter
//! does and rounded once. Integers wrap; integer division is floored, and a zero divisor
//! gives 0 (the divisor fed to the hardware division is never 0 or −1, so nothing traps).

use crate::text::{elem, Block};
use crate::MlirError;
use tc_ir::{BinaryOp, ReduceOp, UnaryOp};
use tc_tensor::DType;

fn is_f(d: DType) -> bool {
    d.is_float()
}

/// `x` (of float dtype `d`) widened to f64.
pub fn to_f64(b: &mut Block, x: &str, d: DType) -> String {
    if d == DType::F64 {
        x.to_string()
    } else {
        b.op(format!("arith.extf {x} : {} to f64", elem(d)))
    }
}

/// The f64 value `x` rounded to float dtype `d`. bf16 goes through f32 (the only bf16
/// rounding MLIR expands without compiler-rt); the double rounding can differ from a
/// direct rounding only for values within 2^-29 relative of a bf16 halfway point.
pub fn from_f64(b: &mut Block, x: &str, d: DType) -> String {
    match d {
        DType::F64 => x.to_string(),
        DType::BF16 => {
            let f = b.op(format!("arith.truncf {x} : f64 to f32"));
            b.op(format!("arith.truncf {f} : f32 to bf16"))
        }
        _ => b.op(format!("arith.truncf {x} : f64 to {}", elem(d))),
    }
}

fn cmpf(b: &mut Block, pred: &str, x: &str, y: &str, d: DType) -> String {
    b.op(format!("arith.cmpf {pred}, {x}, {y} : {}", elem(d)))
}

fn cmpi(b: &mut Block, pred: &str, x: &str, y: &str, d: DType) -> String {
    b.op(format!("arith.cmpi {pred}, {x}, {y} : {}", elem(d)))
}

fn sel(b: &mut Block, c: &str, x: &str, y: &str, d: DType) -> String {
    b.op(format!("arith.select {c}, {x}, {y} : {}", elem(d)))
}

fn arith(b: &mut Block, op: &str, x: &str, y: &str, d: DType) -> String {
    b.op(format!("arith.{op} {x}, {y} : {}", elem(d)))
}

/// An f64 math-dialect function of `x` (float dtype `d`), rounded back to `d`.
fn via_f64(b: &mut Block, d: DType, x: &str, f: impl FnOnce(&mut Block, &str) -> String) -> String {
    let w = to_f64(b, x, d);
    let r = f(b, &w);
    from_f64(b, &r, d)
}

fn math64(b: &mut Block, name: &str, x: &str) -> String {
    b.op(format!("math.{name} {x} : f64"))
}

/// Maximum (`max`) or minimum propagating NaN, ties to the first operand, as the
/// interpreter's `fmax_nan`/`fmin_nan`.
fn fmax_nan(b: &mut Block, max: bool, x: &str, y: &str, d: DType) -> String {
    let unordered = cmpf(b, "uno", x, y, d);
    let nan = arith(b, "addf", x, y, d);
    let first = cmpf(b, if max { "oge" } else { "ole" }, x, y, d);
    let pick = sel(b, &first, x, y, d);
    sel(b, &unordered, &nan, &pick, d)
}

pub fn unary(b: &mut Block, op: UnaryOp, x: &str, d: DType) -> Result<String, MlirError> {
    let t = elem(d);
    if is_f(d) {
        return Ok(match op {
            UnaryOp::Neg => b.op(format!("arith.negf {x} : {t}")),
            UnaryOp::Abs => b.op(format!("math.absf {x} : {t}")),
            UnaryOp::Sign => {
                let (one, mone, zero) = (b.float(1.0, d), b.float(-1.0, d), b.float(0.0, d));
                let pos = cmpf(b, "ogt", x, &zero, d);
                let neg = cmpf(b, "olt", x, &zero, d);
                let s0 = sel(b, &neg, &mone, &zero, d);
                let s1 = sel(b, &pos, &one, &s0, d);
                let nan = cmpf(b, "uno", x, x, d);
                sel(b, &nan, x, &s1, d)
            }
            UnaryOp::Exp => via_f64(b, d, x, |b, w| math64(b, "exp", w)),
            UnaryOp::Log => via_f64(b, d, x, |b, w| math64(b, "log", w)),
            UnaryOp::Sin => via_f64(b, d, x, |b, w| math64(b, "sin", w)),
            UnaryOp::Cos => via_f64(b, d, x, |b, w| math64(b, "cos", w)),
            UnaryOp::Tanh => via_f64(b, d, x, |b, w| math64(b, "tanh", w)),
            UnaryOp::Erf => via_f64(b, d, x, |b, w| math64(b, "erf", w)),
            UnaryOp::Atan => via_f64(b, d, x, |b, w| math64(b, "atan", w)),
            UnaryOp::Sqrt => b.op(format!("math.sqrt {x} : {t}")),
            UnaryOp::Rsqrt => via_f64(b, d, x, |b, w| {
                let s = math64(b, "sqrt", w);
                let one = b.float(1.0, DType::F64);
                b.op(format!("arith.divf {one}, {s} : f64"))
            }),
            UnaryOp::Sigmoid => via_f64(b, d, x, |b, w| {
                // 1 / (1 + exp(-x)) for x >= 0, e / (1 + e) with e = exp(x) below.
                let (one, zero) = (b.float(1.0, DType::F64), b.float(0.0, DType::F64));
                let nx = b.op(format!("arith.negf {w} : f64"));
                let en = math64(b, "exp", &nx);
                let dn = b.op(format!("arith.addf {one}, {en} : f64"));
                let hi = b.op(format!("arith.divf {one}, {dn} : f64"));
                let e = math64(b, "exp", w);
                let de = b.op(format!("arith.addf {one}, {e} : f64"));
                let lo = b.op(format!("arith.divf {e}, {de} : f64"));
                let ge = b.op(format!("arith.cmpf oge, {w}, {zero} : f64"));
                b.op(format!("arith.select {ge}, {hi}, {lo} : f64"))
            }),
            UnaryOp::Floor => b.op(format!("math.floor {x} : {t}")),
            UnaryOp::Ceil => b.op(format!("math.ceil {x} : {t}")),
            UnaryOp::Round => b.op(format!("math.roundeven {x} : {t}")),
            UnaryOp::Not => return Err(MlirError::Unsupported(format!("not on {d}"))),
        });
    }
    Ok(match (op, d) {
        (UnaryOp::Not, DType::Bool) => {
            let one = b.int(1, d);
            arith(b, "xori", x, &one, d)
        }
        (UnaryOp::Neg, DType::I32 | DType::I64 | DType::U8) => {
            let zero = b.int(0, d);
            arith(b, "subi", &zero, x, d)
        }
        (UnaryOp::Abs, DType::I32 | DType::I64) => {
            // Wrapping: abs(MIN) is MIN.
            let zero = b.int(0, d);
            let neg = cmpi(b, "slt", x, &zero, d);
            let negated = arith(b, "subi", &zero, x, d);
            sel(b, &neg, &negated, x, d)
        }
        (UnaryOp::Abs, DType::U8) => x.to_string(),
        (UnaryOp::Sign, DType::I32 | DType::I64) => {
            let (one, mone, zero) = (b.int(1, d), b.int(-1, d), b.int(0, d));
            let pos = cmpi(b, "sgt", x, &zero, d);
            let neg = cmpi(b, "slt", x, &zero, d);
            let s0 = sel(b, &neg, &mone, &zero, d);
            sel(b, &pos, &one, &s0, d)
        }
        (UnaryOp::Sign, DType::U8) => {
            let (one, zero) = (b.int(1, d), b.int(0, d));
            let nz = cmpi(b, "ne", x, &zero, d);
            sel(b, &nz, &one, &zero, d)
        }
        (op, d) => return Err(MlirError::Unsupported(format!("{} on {d}", op.name()))),
    })
}

/// Floored integer division or remainder (`rem`), 0 for a zero divisor.
fn floor_div_rem(b: &mut Block, rem: bool, x: &str, y: &str, d: DType) -> String {
    let (zero, one, mone) = (b.int(0, d), b.int(1, d), b.int(-1, d));
    if d == DType::U8 {
        let is0 = cmpi(b, "eq", y, &zero, d);
        let safe = sel(b, &is0, &one, y, d);
        let r = arith(b, if rem { "remui" } else { "divui" }, x, &safe, d);
        return sel(b, &is0, &zero, &r, d);
    }
    let is0 = cmpi(b, "eq", y, &zero, d);
    let ism1 = cmpi(b, "eq", y, &mone, d);
    let special = b.op(format!("arith.ori {is0}, {ism1} : i1"));
    let safe = sel(b, &special, &one, y, d);
    let q = arith(b, "divsi", x, &safe, d);
    let r = arith(b, "remsi", x, &safe, d);
    let rnz = cmpi(b, "ne", &r, &zero, d);
    let rneg = cmpi(b, "slt", &r, &zero, d);
    let yneg = cmpi(b, "slt", y, &zero, d);
    let differ = b.op(format!("arith.xori {rneg}, {yneg} : i1"));
    let adjust = b.op(format!("arith.andi {rnz}, {differ} : i1"));
    // x / -1 is -x (wrapping) and x % -1 is 0; x / 0 and x % 0 are 0.
    let by_m1 = if rem { zero.clone() } else { arith(b, "subi", &zero, x, d) };
    let fixed = if rem {
        let ry = arith(b, "addi", &r, y, d);
        sel(b, &adjust, &ry, &r, d)
    } else {
        let q1 = arith(b, "subi", &q, &one, d);
        sel(b, &adjust, &q1, &q, d)
    };
    let m1 = sel(b, &ism1, &by_m1, &fixed, d);
    sel(b, &is0, &zero, &m1, d)
}

/// NumPy's float `mod` (sign of the divisor), computed in f64 like the interpreter.
fn float_mod(b: &mut Block, x: &str, y: &str, d: DType) -> String {
    let (xw, yw) = (to_f64(b, x, d), to_f64(b, y, d));
    let f = DType::F64;
    let zero = b.float(0.0, f);
    let r = arith(b, "remf", &xw, &yw, f);
    let rz = cmpf(b, "oeq", &r, &zero, f);
    // copysign(0, y): y is negative or -0 exactly when 1 / y < 0.
    let one = b.float(1.0, f);
    let inv = arith(b, "divf", &one, &yw, f);
    let yneg_or_mzero = cmpf(b, "olt", &inv, &zero, f);
    let mzero = b.float(-0.0, f);
    let signed_zero = sel(b, &yneg_or_mzero, &mzero, &zero, f);
    let rneg = cmpf(b, "olt", &r, &zero, f);
    let yneg = cmpf(b, "olt", &yw, &zero, f);
    let differ = b.op(format!("arith.xori {rneg}, {yneg} : i1"));
    let ry = arith(b, "addf", &r, &yw, f);
    let adj = sel(b, &differ, &ry, &r, f);
    let out = sel(b, &rz, &signed_zero, &adj, f);
    from_f64(b, &out, d)
}

pub fn binary(b: &mut Block, op: BinaryOp, x: &str, y: &str, d: DType) -> Result<String, MlirError> {
    use BinaryOp::*;
    if op.is_comparison() {
        let pred = match (is_f(d), d == DType::U8 || d == DType::Bool, op) {
            (true, _, Eq) => "oeq",
            (true, _, Ne) => "une",
            (true, _, Lt) => "olt",
            (true, _, Le) => "ole",
            (true, _, Gt) => "ogt",
            (true, _, Ge) => "oge",
            (false, _, Eq) => "eq",
            (false, _, Ne) => "ne",
            (false, true, Lt) => "ult",
            (false, true, Le) => "ule",
            (false, true, Gt) => "ugt",
            (false, true, Ge) => "uge",
            (false, false, Lt) => "slt",
            (false, false, Le) => "sle",
            (false, false, Gt) => "sgt",
            (false, false, Ge) => "sge",
            _ => unreachable!(),
        };
        return Ok(if is_f(d) { cmpf(b, pred, x, y, d) } else { cmpi(b, pred, x, y, d) });
    }
    if is_f(d) {
        return Ok(match op {
            Add => arith(b, "addf", x, y, d),
            Sub => arith(b, "subf", x, y, d),
            Mul => arith(b, "mulf", x, y, d),
            Div => arith(b, "divf", x, y, d),
            Rem => float_mod(b, x, y, d),
            Pow => {
                let (xw, yw) = (to_f64(b, x, d), to_f64(b, y, d));
                let p = b.op(format!("math.powf {xw}, {yw} : f64"));
                from_f64(b, &p, d)
            }
            Max => fmax_nan(b, true, x, y, d),
            Min => fmax_nan(b, false, x, y, d),
            _ => return Err(MlirError::Unsupported(format!("{} on {d}", op.name()))),
        });
    }
    let unsigned = d == DType::U8;
    Ok(match (op, d) {
        (And | Min, DType::Bool) => arith(b, "andi", x, y, d),
        (Or | Max, DType::Bool) => arith(b, "ori", x, y, d),
        (_, DType::Bool) => return Err(MlirError::Unsupported(format!("{} on bool", op.name()))),
        (Add, _) => arith(b, "addi", x, y, d),
        (Sub, _) => arith(b, "subi", x, y, d),
        (Mul, _) => arith(b, "muli", x, y, d),
        (Div, _) => floor_div_rem(b, false, x, y, d),
        (Rem, _) => floor_div_rem(b, true, x, y, d),
        (Max, _) => arith(b, if unsigned { "maxui" } else { "maxsi" }, x, y, d),
        (Min, _) => arith(b, if unsigned { "minui" } else { "minsi" }, x, y, d),
        (op, d) => return Err(MlirError::Unsupported(format!("{} on {d}", op.name()))),
    })
}

pub fn select(b: &mut Block, c: &str, x: &str, y: &str, d: DType) -> String {
    sel(b, c, x, y, d)
}

/// The largest and smallest values of an integer dtype, as f64 bounds a float is
/// clamped to before conversion (the top bound of i64, 2^63, is not an i64).
fn int_bounds(d: DType) -> (f64, f64) {
    match d {
        DType::I32 => (i32::MIN as f64, i32::MAX as f64),
        DType::I64 => (i64::MIN as f64, 9_223_372_036_854_774_784.0),
        _ => (0.0, 255.0),
    }
}

/// Conversion with `tc_ir::Op::Cast`'s semantics.
pub fn cast(b: &mut Block, x: &str, from: DType, to: DType) -> String {
    if from == to {
        return x.to_string();
    }
    let (ft, tt) = (elem(from), elem(to));
    match (is_f(from), is_f(to)) {
        (true, true) => {
            if from == DType::F64 && to != DType::F32 {
                from_f64(b, x, to)
            } else if from == DType::F64 || to == DType::F64 || from == DType::F32 || to == DType::F32 {
                let widen = from.size_bytes() < to.size_bytes();
                b.op(format!("arith.{} {x} : {ft} to {tt}", if widen { "extf" } else { "truncf" }))
            } else {
                // f16 <-> bf16 through f32 (exact widening, one rounding).
                let w = b.op(format!("arith.extf {x} : {ft} to f32"));
                b.op(format!("arith.truncf {w} : f32 to {tt}"))
            }
        }
        (true, false) if to == DType::Bool => {
            let zero = b.float(0.0, from);
            cmpf(b, "une", x, &zero, from)
        }
        (true, false) => {
            // Truncate toward zero, saturating, NaN -> 0; done in f64 where the bounds are exact.
            let f = DType::F64;
            let wide = to_f64(b, x, from);
            let zero = b.float(0.0, f);
            let nan = cmpf(b, "uno", &wide, &wide, f);
            let w = sel(b, &nan, &zero, &wide, f);
            let (lo, hi) = int_bounds(to);
            let (lo_c, hi_c) = (b.float(lo, f), b.float(hi, f));
            let below = cmpf(b, "olt", &w, &lo_c, f);
            let w = sel(b, &below, &lo_c, &w, f);
            let above = cmpf(b, "ogt", &w, &hi_c, f);
            let w = sel(b, &above, &hi_c, &w, f);
            let conv = if to == DType::U8 { "fptoui" } else { "fptosi" };
            let r = b.op(format!("arith.{conv} {w} : f64 to {tt}"));
            if to == DType::I64 {
                // Values from 2^63 up saturate to i64::MAX (the clamp stopped just below).
                let top = b.float(9_223_372_036_854_775_808.0, f);
                let over = cmpf(b, "oge", &wide, &top, f);
                let max = b.int(i64::MAX, to);
                sel(b, &over, &max, &r, to)
            } else {
                r
            }
        }
        (false, true) => {
            let conv = if from == DType::U8 || from == DType::Bool { "uitofp" } else { "sitofp" };
            b.op(format!("arith.{conv} {x} : {ft} to {tt}"))
        }
        (false, false) if to == DType::Bool => {
            let zero = b.int(0, from);
            cmpi(b, "ne", x, &zero, from)
        }
        (false, false) => {
            if to.size_bytes() < from.size_bytes() {
                b.op(format!("arith.trunci {x} : {ft} to {tt}"))
            } else {
                let ext = if from == DType::U8 || from == DType::Bool { "extui" } else { "extsi" };
                b.op(format!("arith.{ext} {x} : {ft} to {tt}"))
            }
        }
    }
}

/// The accumulator dtype of a reduction of `d`: float sums and products in f64.
pub fn acc_dtype(op: ReduceOp, d: DType) -> DType {
    match op {
        ReduceOp::Sum | ReduceOp::Prod if is_f(d) => DType::F64,
        _ => d,
    }
}

/// The identity of a reduction, as an `arith.constant` of the accumulator dtype.
pub fn acc_init(b: &mut Block, op: ReduceOp, d: DType) -> String {
    let a = acc_dtype(op, d);
    match (op, a) {
        (ReduceOp::Sum, a) if is_f(a) => b.float(0.0, a),
        (ReduceOp::Prod, a) if is_f(a) => b.float(1.0, a),
        (ReduceOp::Max, a) if is_f(a) => b.float(f64::NEG_INFINITY, a),
        (ReduceOp::Min, a) if is_f(a) => b.float(f64::INFINITY, a),
        (ReduceOp::Sum, a) => b.int(0, a),
        (ReduceOp::Prod, a) => b.int(1, a),
        (ReduceOp::Max, DType::Bool) => b.int(0, a),
        (ReduceOp::Min, DType::Bool) => b.int(1, a),
        (ReduceOp::Max, DType::U8) => b.int(0, a),
        (ReduceOp::Min, DType::U8) => b.int(255, a),
        (ReduceOp::Max, DType::I32) => b.int(i32::MIN as i64, a),
        (ReduceOp::Min, DType::I32) => b.int(i32::MAX as i64, a),
        (ReduceOp::Max, _) => b.int(i64::MIN, a),
        (ReduceOp::Min, _) => b.int(i64::MAX, a),
    }
}

/// One step of a reduction: the accumulator `acc` combined with value `v` (dtype `d`).
pub fn combine(b: &mut Block, op: ReduceOp, acc: &str, v: &str, d: DType) -> Result<String, MlirError> {
    let a = acc_dtype(op, d);
    let v = if a != d { to_f64(b, v, d) } else { v.to_string() };
    let bop = match (op, d) {
        (ReduceOp::Sum, DType::Bool) => BinaryOp::Or,
        (ReduceOp::Prod, DType::Bool) => BinaryOp::And,
        (ReduceOp::Sum, _) => BinaryOp::Add,
        (ReduceOp::Prod, _) => BinaryOp::Mul,
        (ReduceOp::Max, _) => BinaryOp::Max,
        (ReduceOp::Min, _) => BinaryOp::Min,
    };
    binary(b, bop, acc, &v, a)
}

/// The reduction's result in dtype `d` from its accumulator.
pub fn finalize(b: &mut Block, op: ReduceOp, acc: &str, d: DType) -> String {
    if acc_dtype(op, d) != d {
        from_f64(b, acc, d)
    } else {
        acc.to_string()
    }
}
