//! f16 and bf16 in generated code: values are held as `f32` (every f16 and bf16 value is
//! exactly an f32) and converted at loads, stores and after each operation, all with
//! integer bit manipulation (no F16C needed):
//! - [`f16_bits_to_f32`] / [`bf16_bits_to_f32`]: exact widening (F. Giesen's
//!   `half_to_float`; bf16 is the high half of an f32);
//! - [`f32_to_f16_bits`] / [`f32_to_bf16_bits`]: round to nearest even, overflow to
//!   infinity, NaN stays NaN (Giesen's `float_to_half_fast3_rtne`);
//! - [`f64_to_f32_odd`]: f64 → f32 rounding to odd, after which rounding to f16 or bf16
//!   equals a single correct rounding of the f64 (f32 has more than `p + 1` extra bits),
//!   so results computed in f64 round exactly as the interpreter's.

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{types, InstBuilder, MemFlagsData, Value};
use cranelift_frontend::FunctionBuilder;

fn bits32(b: &mut FunctionBuilder, x: Value) -> Value {
    b.ins().bitcast(types::I32, MemFlagsData::new(), x)
}

fn float32(b: &mut FunctionBuilder, x: Value) -> Value {
    b.ins().bitcast(types::F32, MemFlagsData::new(), x)
}

/// f16 bits (the low 16 bits of an `i32`) to the exact `f32`.
pub fn f16_bits_to_f32(b: &mut FunctionBuilder, h: Value) -> Value {
    let o = b.ins().band_imm_s(h, 0x7fff);
    let o = b.ins().ishl_imm_s(o, 13);
    let exp = b.ins().band_imm_s(o, 0x0f80_0000);
    let o = b.ins().iadd_imm_s(o, 0x3800_0000); // (127 - 15) << 23
    // Infinity or NaN: move the exponent up to 255.
    let is_special = b.ins().icmp_imm_s(IntCC::Equal, exp, 0x0f80_0000);
    let o_special = b.ins().iadd_imm_s(o, 0x3800_0000);
    // Zero or subnormal: renormalise with a float subtraction.
    let o_low = b.ins().iadd_imm_s(o, 1 << 23);
    let f_low = float32(b, o_low);
    let magic = b.ins().f32const(f32::from_bits(113 << 23));
    let f_low = b.ins().fsub(f_low, magic);
    let o_low = bits32(b, f_low);
    let is_low = b.ins().icmp_imm_s(IntCC::Equal, exp, 0);
    let o = b.ins().select(is_special, o_special, o);
    let o = b.ins().select(is_low, o_low, o);
    let sign = b.ins().band_imm_s(h, 0x8000);
    let sign = b.ins().ishl_imm_s(sign, 16);
    let o = b.ins().bor(o, sign);
    float32(b, o)
}

/// An `f32` rounded to the nearest f16, as bits in the low 16 bits of an `i32`.
pub fn f32_to_f16_bits(b: &mut FunctionBuilder, x: Value) -> Value {
    let f = bits32(b, x);
    let sign = b.ins().band_imm_s(f, i32::MIN as i64);
    let f = b.ins().bxor(f, sign);
    // Overflow, infinity and NaN.
    let is_nan = b.ins().icmp_imm_s(IntCC::SignedGreaterThan, f, 0x7f80_0000);
    let qnan = b.ins().iconst(types::I32, 0x7e00);
    let inf = b.ins().iconst(types::I32, 0x7c00);
    let o_big = b.ins().select(is_nan, qnan, inf);
    let is_big = b.ins().icmp_imm_s(IntCC::SignedGreaterThanOrEqual, f, 0x4780_0000); // (127 + 16) << 23
    // Subnormal results (and zero): let the float adder round.
    let fl = float32(b, f);
    let magic = b.ins().f32const(f32::from_bits(0x3f00_0000)); // ((127 - 15) + (23 - 10) + 1) << 23
    let fl = b.ins().fadd(fl, magic);
    let o_low = bits32(b, fl);
    let o_low = b.ins().iadd_imm_s(o_low, -0x3f00_0000);
    let is_low = b.ins().icmp_imm_s(IntCC::SignedLessThan, f, 0x3880_0000); // 113 << 23
    // Normal results: rebias and round to nearest even.
    let odd = b.ins().ushr_imm_s(f, 13);
    let odd = b.ins().band_imm_s(odd, 1);
    let o_norm = b.ins().iadd_imm_s(f, ((15 - 127) << 23) + 0xfff);
    let o_norm = b.ins().iadd(o_norm, odd);
    let o_norm = b.ins().ushr_imm_s(o_norm, 13);
    let o = b.ins().select(is_low, o_low, o_norm);
    let o = b.ins().select(is_big, o_big, o);
    let sign = b.ins().ushr_imm_s(sign, 16);
    b.ins().bor(o, sign)
}

/// bf16 bits (the low 16 bits of an `i32`) to the exact `f32`.
pub fn bf16_bits_to_f32(b: &mut FunctionBuilder, h: Value) -> Value {
    let o = b.ins().ishl_imm_s(h, 16);
    float32(b, o)
}

/// An `f32` rounded to the nearest bf16, as bits in the low 16 bits of an `i32`.
pub fn f32_to_bf16_bits(b: &mut FunctionBuilder, x: Value) -> Value {
    let f = bits32(b, x);
    let odd = b.ins().ushr_imm_s(f, 16);
    let odd = b.ins().band_imm_s(odd, 1);
    let r = b.ins().iadd_imm_s(f, 0x7fff);
    let r = b.ins().iadd(r, odd);
    let r = b.ins().ushr_imm_s(r, 16);
    let quiet = b.ins().ushr_imm_s(f, 16);
    let quiet = b.ins().bor_imm_s(quiet, 0x40);
    let is_nan = b.ins().fcmp(FloatCC::Unordered, x, x);
    b.ins().select(is_nan, quiet, r)
}

/// An f64 rounded to f32 with round-to-odd (NaN stays NaN).
pub fn f64_to_f32_odd(b: &mut FunctionBuilder, x: Value) -> Value {
    let r = b.ins().fdemote(types::F32, x);
    let back = b.ins().fpromote(types::F64, r);
    let inexact = b.ins().fcmp(FloatCC::OrderedNotEqual, back, x);
    let rb = bits32(b, r);
    let even = b.ins().band_imm_s(rb, 1);
    let even = b.ins().icmp_imm_s(IntCC::Equal, even, 0);
    let ab = b.ins().fabs(back);
    let ax = b.ins().fabs(x);
    let away = b.ins().fcmp(FloatCC::GreaterThan, ab, ax);
    let down = b.ins().iadd_imm_s(rb, -1);
    let up = b.ins().iadd_imm_s(rb, 1);
    let adj = b.ins().select(away, down, up);
    let fix = b.ins().band(inexact, even);
    let o = b.ins().select(fix, adj, rb);
    float32(b, o)
}
