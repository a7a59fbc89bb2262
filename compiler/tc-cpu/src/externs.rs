//! Rust functions that generated code calls: the f64 math that is not inlined, with the
//! interpreter's exact semantics (they are the interpreter's own functions), and exact
//! conversions of integers to f16/bf16. Each is registered with the JIT from [`symbols`].
//!
//! f64 kernels call these for every transcendental; f32 kernels call them (through f64,
//! rounding once) for `pow` and float `rem` (the other f32 transcendentals are the
//! shared inline routines of `tc_kernel::math`), and f16/bf16 kernels for every function
//! that is not correctly rounded in f32 arithmetic.

use half::{bf16, f16};
use tc_interp::elementwise::{erf, float_mod, sigmoid};

extern "C" fn tc_exp(x: f64) -> f64 {
    x.exp()
}

extern "C" fn tc_log(x: f64) -> f64 {
    x.ln()
}

extern "C" fn tc_sin(x: f64) -> f64 {
    x.sin()
}

extern "C" fn tc_cos(x: f64) -> f64 {
    x.cos()
}

extern "C" fn tc_tanh(x: f64) -> f64 {
    x.tanh()
}

extern "C" fn tc_erf(x: f64) -> f64 {
    erf(x)
}

extern "C" fn tc_atan(x: f64) -> f64 {
    x.atan()
}

extern "C" fn tc_sigmoid(x: f64) -> f64 {
    sigmoid(x)
}

extern "C" fn tc_pow(x: f64, y: f64) -> f64 {
    x.powf(y)
}

extern "C" fn tc_mod(x: f64, y: f64) -> f64 {
    float_mod(x, y)
}

/// The interpreter's correctly rounded i64 → f16/bf16 conversion, through the public
/// cast (an i64 tensor of one element).
fn int_to_narrow(x: i64, dtype: tc_tensor::DType) -> tc_tensor::Data {
    let t = tc_tensor::Tensor::new(vec![], tc_tensor::Data::I64(vec![x])).expect("a scalar");
    tc_interp::elementwise::cast(&t, dtype).into_data()
}

extern "C" fn tc_i64_to_f16(x: i64) -> i32 {
    match int_to_narrow(x, tc_tensor::DType::F16) {
        tc_tensor::Data::F16(v) => v[0].to_bits() as i32,
        _ => f16::NAN.to_bits() as i32,
    }
}

extern "C" fn tc_i64_to_bf16(x: i64) -> i32 {
    match int_to_narrow(x, tc_tensor::DType::BF16) {
        tc_tensor::Data::BF16(v) => v[0].to_bits() as i32,
        _ => bf16::NAN.to_bits() as i32,
    }
}

/// The shape of an extern's signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sig {
    /// `f64 -> f64`
    F1,
    /// `(f64, f64) -> f64`
    F2,
    /// `i64 -> i32` (narrow float bits)
    IntToBits,
}

/// Every extern: its symbol name, signature and address.
pub fn symbols() -> [(&'static str, Sig, *const u8); 12] {
    [
        ("tc_exp", Sig::F1, tc_exp as *const u8),
        ("tc_log", Sig::F1, tc_log as *const u8),
        ("tc_sin", Sig::F1, tc_sin as *const u8),
        ("tc_cos", Sig::F1, tc_cos as *const u8),
        ("tc_tanh", Sig::F1, tc_tanh as *const u8),
        ("tc_erf", Sig::F1, tc_erf as *const u8),
        ("tc_atan", Sig::F1, tc_atan as *const u8),
        ("tc_sigmoid", Sig::F1, tc_sigmoid as *const u8),
        ("tc_pow", Sig::F2, tc_pow as *const u8),
        ("tc_mod", Sig::F2, tc_mod as *const u8),
        ("tc_i64_to_f16", Sig::IntToBits, tc_i64_to_f16 as *const u8),
        ("tc_i64_to_bf16", Sig::IntToBits, tc_i64_to_bf16 as *const u8),
    ]
}
