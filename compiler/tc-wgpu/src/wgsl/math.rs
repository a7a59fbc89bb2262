//! WGSL helper functions that shaders include on demand: the graph IR's exact semantics
//! where WGSL's built-ins differ or are underspecified.
//!
//! WGSL leaves NaN, infinities, out-of-range conversions and the accuracy of `exp`,
//! `log`, `sin`, ... to the implementation, so every function whose result the
//! interpreter defines precisely is written out here with integer bit tests instead of
//! relying on them:
//! - `exp`, `log`, `tanh`, `sigmoid`, `sin`, `cos`, `erf` are generated from the shared
//!   routines of `tc_kernel::math` (the CPU backend lowers the same ones), one `let` per
//!   node, and give the bits of their `eval` without fused multiply-adds: a few ulp;
//! - `pow` is `exp(b · log |a|)` with C's special cases and the sign of odd integer
//!   powers of negative bases (relative error grows with |b · ln a|, about
//!   |b · ln a| · 2⁻²⁴; squares are exact);
//! - float `rem` is an exact `fmod` on the bits (musl's `fmodf`) and NumPy's sign rule;
//! - `q16` rounds an f32 to the nearest f16 (ties to even), so f16 values held in f32
//!   registers round exactly as the interpreter rounds them;
//! - integer division and remainder floor (Python), 0 for a zero divisor; float→int
//!   conversions truncate and saturate (NaN → 0); i32→f32 and u32→f32 round to nearest
//!   even;
//! - `sign`, `max`, `min` decide NaN and zero by their bits, so `sign(±0)` is +0 and
//!   NaN wins either operand of `max`/`min`;
//! - `exact` hides a float value from the driver's optimiser (see [`Helper::Exact`]).

use super::expr::{f32_plain, i32_lit};
use std::collections::BTreeSet;
use tc_kernel::math::{Bin, Cmp, Conv, Func, ICmp, Int, Node, Ty, Un, V};

/// One helper function (or constant pair).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Helper {
    /// `exact(x)` and `exact_alt(x)`: `x`, passed through an integer operation with a
    /// zero the compiler cannot see (`EXACT_ZERO`, which [`super::Shader::finish`] reads
    /// from the device's zero word, a storage buffer holding 0). WGSL lets implementations assume that no NaN, infinity
    /// or signed zero occurs, and drivers rewrite float arithmetic on that assumption
    /// (Mesa folds `x * 0.0` and `x - x` to 0, `x + 0.0` to `x`, `0.0 / x` to 0,
    /// reassociates `(x * 3.0) * 5.0` into `x * 15.0`, distributes `x * y + x * 3.0`).
    /// Every float result and constant of the generated code goes through `exact`, so
    /// each operation the optimiser sees has operands it knows nothing about and is
    /// evaluated as written; `exact_alt` is a second, distinct barrier for an operation
    /// whose two operands are the same value (`x - x`).
    Exact,
    IsNan,
    NanInf,
    MaxNan,
    MinNan,
    SignF,
    Q16,
    /// A shared routine of `tc_kernel::math`, as `{name}_f`.
    Math(Func),
    Pow,
    Fmod,
    Mod,
    IDiv,
    IRem,
    UDiv,
    URem,
    F2I,
    F2U8,
    I2F,
    U2F,
    MulWide,
    Philox,
}

impl Helper {
    fn deps(self) -> Vec<Helper> {
        use Helper::*;
        match self {
            Exact | NanInf | IDiv | IRem | UDiv | URem | I2F | U2F | MulWide | IsNan => vec![],
            Philox => vec![MulWide],
            MaxNan | MinNan | SignF | F2I | F2U8 => vec![IsNan],
            Q16 => vec![IsNan, NanInf],
            Math(f) => {
                let mut h = Helpers::default();
                routine(f, &mut h);
                h.0.into_iter().collect()
            }
            Pow => vec![IsNan, NanInf, Math(Func::Exp), Math(Func::Log)],
            Fmod => vec![IsNan, NanInf],
            Mod => vec![Fmod],
        }
    }

    fn text(self) -> String {
        let text = match self {
            Helper::Exact => EXACT,
            Helper::IsNan => IS_NAN,
            Helper::NanInf => NAN_INF,
            Helper::MaxNan => MAX_NAN,
            Helper::MinNan => MIN_NAN,
            Helper::SignF => SIGN_F,
            Helper::Q16 => Q16,
            Helper::Math(f) => return routine(f, &mut Helpers::default()),
            Helper::Pow => POW,
            Helper::Fmod => FMOD,
            Helper::Mod => MOD,
            Helper::IDiv => IDIV,
            Helper::IRem => IREM,
            Helper::UDiv => UDIV,
            Helper::URem => UREM,
            Helper::F2I => F2I,
            Helper::F2U8 => F2U8,
            Helper::I2F => I2F,
            Helper::U2F => U2F,
            Helper::MulWide => MUL_WIDE,
            Helper::Philox => PHILOX,
        };
        text.to_string()
    }
}

/// The helpers a shader uses, with their dependencies.
#[derive(Default, Debug)]
pub struct Helpers(BTreeSet<Helper>);

impl Helpers {
    pub fn need(&mut self, h: Helper) {
        if self.0.insert(h) {
            for d in h.deps() {
                self.need(d);
            }
        }
    }

    pub fn uses(&self, h: Helper) -> bool {
        self.0.contains(&h)
    }

    /// The WGSL text of every needed helper, in a fixed order.
    pub fn text(&self) -> String {
        self.0.iter().map(|h| h.text()).collect::<Vec<_>>().join("\n")
    }
}

/// The WGSL function `{name}_f(x: f32) -> f32` computing `f`: one `let` per node of
/// the shared routine, its helpers added to `h`. Every float result passes through
/// `exact`, so the driver evaluates each operation as written (no contraction into
/// fused multiply-adds, folding or reassociation). The routine's multiply-add steps
/// round twice: WGSL's `fma` may or may not fuse (llvmpipe's does not), a product
/// behind `exact` never does, so every device computes the routine's unfused `eval`.
/// NaN inputs are decided by bit tests in the routine, so the driver's choice for
/// comparisons with NaN never reaches a result.
fn routine(f: Func, h: &mut Helpers) -> String {
    let r = f.routine();
    let name = |v: V| match r.nodes[v.index()] {
        Node::Arg => "x".to_string(),
        _ => format!("{}{}", r.names[v.index()].unwrap_or("v"), v.0),
    };
    // A shift amount: u32, a literal where it is constant.
    let amount = |v: V| match r.nodes[v.index()] {
        Node::I(k) => format!("{}u", k as u32),
        _ => format!("bitcast<u32>({})", name(v)),
    };
    let mut out = format!("fn {}_f(x: f32) -> f32 {{\n", f.name());
    for (i, node) in r.nodes.iter().enumerate() {
        let rhs = match *node {
            Node::Arg => continue,
            Node::F(c) => f32_plain(c as f64, h),
            Node::I(c) => i32_lit(c as i64),
            Node::Un(op, a) => {
                let a = name(a);
                match op {
                    Un::Neg => format!("-{a}"),
                    Un::Abs => format!("abs({a})"),
                    Un::Floor => format!("floor({a})"),
                    Un::Round => format!("round({a})"),
                }
            }
            Node::Bin(op, a, b) => {
                let sym = match op {
                    Bin::Add => "+",
                    Bin::Sub => "-",
                    Bin::Mul => "*",
                    Bin::Div => "/",
                };
                // Two equal operands: a second barrier keeps `m + m` from being rewritten.
                let second = if a == b {
                    h.need(Helper::Exact);
                    format!("exact_alt({})", name(b))
                } else {
                    name(b)
                };
                format!("{} {sym} {second}", name(a))
            }
            Node::MulAdd(a, b, c) => {
                h.need(Helper::Exact);
                format!("exact({} * {}) + {}", name(a), name(b), name(c))
            }
            Node::FCmp(op, a, b) => {
                let sym = match op {
                    Cmp::Lt => "<",
                    Cmp::Le => "<=",
                    Cmp::Eq => "==",
                };
                format!("{} {sym} {}", name(a), name(b))
            }
            Node::Int(op, a, b) => {
                let (x, y) = (name(a), name(b));
                match op {
                    Int::Add => format!("{x} + {y}"),
                    Int::Sub => format!("{x} - {y}"),
                    Int::Mul => format!("{x} * {y}"),
                    Int::And => format!("{x} & {y}"),
                    Int::Or => format!("{x} | {y}"),
                    Int::Shl => format!("{x} << {}", amount(b)),
                    Int::Shr => format!("{x} >> {}", amount(b)),
                    Int::UShr => format!("bitcast<i32>(bitcast<u32>({x}) >> {})", amount(b)),
                }
            }
            Node::ICmp(op, a, b) => {
                let (x, y) = (name(a), name(b));
                match op {
                    ICmp::Eq => format!("{x} == {y}"),
                    ICmp::Lt => format!("{x} < {y}"),
                    ICmp::Ult => format!("bitcast<u32>({x}) < bitcast<u32>({y})"),
                }
            }
            Node::Conv(op, a) => {
                let a = name(a);
                let (helper, text) = match op {
                    Conv::Bits => (None, format!("bitcast<i32>({a})")),
                    Conv::FromBits => (None, format!("bitcast<f32>({a})")),
                    Conv::ToInt => (Some(Helper::F2I), format!("f2i({a})")),
                    Conv::FromInt => (Some(Helper::I2F), format!("i2f({a})")),
                    Conv::FromUint => (Some(Helper::U2F), format!("u2f(bitcast<u32>({a}))")),
                };
                if let Some(helper) = helper {
                    h.need(helper);
                }
                text
            }
            Node::And(a, b) => format!("{} && {}", name(a), name(b)),
            Node::Or(a, b) => format!("{} || {}", name(a), name(b)),
            Node::Not(a) => format!("!{}", name(a)),
            Node::Select(c, a, b) => format!("select({}, {}, {})", name(b), name(a), name(c)),
        };
        let ty = r.tys[i];
        let computed = !matches!(node, Node::F(_));
        let rhs = if ty == Ty::F32 && computed {
            h.need(Helper::Exact);
            format!("exact({rhs})")
        } else {
            rhs
        };
        let wgsl_ty = match ty {
            Ty::F32 => "f32",
            Ty::I32 => "i32",
            Ty::Bool => "bool",
        };
        out.push_str(&format!("    let {}: {wgsl_ty} = {rhs};\n", name(V(i as u32))));
    }
    out.push_str(&format!("    return {};\n}}\n", name(r.result)));
    out
}

const EXACT: &str = "var<private> EXACT_ZERO: u32;
fn exact(x: f32) -> f32 {
    return bitcast<f32>(bitcast<u32>(x) ^ EXACT_ZERO);
}
fn exact_alt(x: f32) -> f32 {
    return bitcast<f32>(bitcast<u32>(x) | EXACT_ZERO);
}
";

const IS_NAN: &str = "fn is_nan(x: f32) -> bool {
    return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u;
}
";

// Built from bits at run time: WGSL has no literal for them, and a constant expression
// may not be infinite or NaN.
const NAN_INF: &str = "var<private> NAN_BITS: u32 = 0x7fc00000u;
var<private> INF_BITS: u32 = 0x7f800000u;
fn nan_f32() -> f32 {
    return bitcast<f32>(NAN_BITS);
}
fn inf_f32() -> f32 {
    return bitcast<f32>(INF_BITS);
}
";

// NaN is tested on the bits of both operands: WGSL leaves comparisons with NaN to the
// implementation.
const MAX_NAN: &str = "fn max_nan(a: f32, b: f32) -> f32 {
    return select(select(b, a, a >= b), select(b, a, is_nan(a)), is_nan(a) || is_nan(b));
}
";

const MIN_NAN: &str = "fn min_nan(a: f32, b: f32) -> f32 {
    return select(select(b, a, a <= b), select(b, a, is_nan(a)), is_nan(a) || is_nan(b));
}
";

// On the bits: NaN stays, ±0 gives +0, anything else ±1 with its sign.
const SIGN_F: &str = "fn sign_f(x: f32) -> f32 {
    let bits = bitcast<u32>(x);
    let one = select((bits & 0x80000000u) | 0x3f800000u, 0u, (bits << 1u) == 0u);
    return bitcast<f32>(select(one, bits, is_nan(x)));
}
";

const Q16: &str = "fn q16(x: f32) -> f32 {
    if (is_nan(x)) {
        return x;
    }
    let a = abs(x);
    var r: f32;
    if (a >= 65520.0) {
        r = inf_f32();
    } else if (a < 6.103515625e-05) {
        r = round(a * 16777216.0) * 5.9604644775390625e-08;
    } else {
        let u = bitcast<u32>(a);
        r = bitcast<f32>((u + 0x0fffu + ((u >> 13u) & 1u)) & 0xffffe000u);
    }
    return bitcast<f32>(bitcast<u32>(r) | (bitcast<u32>(x) & 0x80000000u));
}
";

const POW: &str = "fn pow_f(a: f32, b: f32) -> f32 {
    if (b == 0.0 || a == 1.0) {
        return 1.0;
    }
    if (is_nan(a) || is_nan(b)) {
        return nan_f32();
    }
    if (b == 1.0) {
        return a;
    }
    if (b == 2.0) {
        return a * a;
    }
    let ab = abs(a);
    let b_int = floor(b) == b;
    if (a < 0.0 && !b_int && a != -inf_f32()) {
        return nan_f32();
    }
    let odd = b_int && abs(b) < 16777216.0 && (i32(b) & 1) == 1;
    var r: f32;
    if (ab == 0.0) {
        r = select(inf_f32(), 0.0, b > 0.0);
    } else if (ab == 1.0) {
        r = 1.0;
    } else {
        r = exp_f(b * log_f(ab));
    }
    return select(r, -r, odd && (bitcast<u32>(a) >> 31u) == 1u);
}
";

const FMOD: &str = "fn fmod_f(x: f32, y: f32) -> f32 {
    var ux = bitcast<u32>(x);
    var uy = bitcast<u32>(y);
    var ex = i32((ux >> 23u) & 0xffu);
    var ey = i32((uy >> 23u) & 0xffu);
    let sx = ux & 0x80000000u;
    if ((uy << 1u) == 0u || is_nan(y) || ex == 0xff) {
        return nan_f32();
    }
    if ((ux << 1u) <= (uy << 1u)) {
        if ((ux << 1u) == (uy << 1u)) {
            return bitcast<f32>(sx);
        }
        return x;
    }
    if (ex == 0) {
        var i = ux << 9u;
        while ((i >> 31u) == 0u) {
            ex = ex - 1;
            i = i << 1u;
        }
        ux = ux << u32(1 - ex);
    } else {
        ux = (ux & 0x007fffffu) | 0x00800000u;
    }
    if (ey == 0) {
        var i = uy << 9u;
        while ((i >> 31u) == 0u) {
            ey = ey - 1;
            i = i << 1u;
        }
        uy = uy << u32(1 - ey);
    } else {
        uy = (uy & 0x007fffffu) | 0x00800000u;
    }
    while (ex > ey) {
        let i = ux - uy;
        if ((i >> 31u) == 0u) {
            if (i == 0u) {
                return bitcast<f32>(sx);
            }
            ux = i;
        }
        ux = ux << 1u;
        ex = ex - 1;
    }
    let i = ux - uy;
    if ((i >> 31u) == 0u) {
        if (i == 0u) {
            return bitcast<f32>(sx);
        }
        ux = i;
    }
    while ((ux >> 23u) == 0u) {
        ux = ux << 1u;
        ex = ex - 1;
    }
    if (ex > 0) {
        ux = (ux - 0x00800000u) | (u32(ex) << 23u);
    } else {
        ux = ux >> u32(1 - ex);
    }
    return bitcast<f32>(ux | sx);
}
";

const MOD: &str = "// NumPy's float mod: the remainder takes the divisor's sign.
fn mod_f(a: f32, b: f32) -> f32 {
    let r = fmod_f(a, b);
    if (r == 0.0) {
        return bitcast<f32>(bitcast<u32>(b) & 0x80000000u);
    }
    if ((r < 0.0) != (b < 0.0)) {
        return r + b;
    }
    return r;
}
";

const IDIV: &str = "fn idiv(a: i32, b: i32) -> i32 {
    if (b == 0) {
        return 0;
    }
    if (b == -1) {
        return 0 - a;
    }
    let q = a / b;
    let r = a % b;
    return select(q, q - 1, r != 0 && ((r < 0) != (b < 0)));
}
";

const IREM: &str = "fn irem(a: i32, b: i32) -> i32 {
    if (b == 0 || b == -1) {
        return 0;
    }
    let r = a % b;
    return select(r, r + b, r != 0 && ((r < 0) != (b < 0)));
}
";

const UDIV: &str = "fn udiv(a: u32, b: u32) -> u32 {
    return select(a / max(b, 1u), 0u, b == 0u);
}
";

const UREM: &str = "fn urem(a: u32, b: u32) -> u32 {
    return select(a % max(b, 1u), 0u, b == 0u);
}
";

const F2I: &str = "fn f2i(x: f32) -> i32 {
    if (is_nan(x)) {
        return 0;
    }
    if (x >= 2147483648.0) {
        return 2147483647;
    }
    if (x <= -2147483648.0) {
        return -2147483647 - 1;
    }
    return i32(x);
}
";

const F2U8: &str = "fn f2u8(x: f32) -> u32 {
    if (is_nan(x) || !(x > 0.0)) {
        return 0u;
    }
    return u32(min(x, 255.0));
}
";

// Both parts convert exactly, so the one addition rounds correctly.
const I2F: &str = "fn i2f(x: i32) -> f32 {
    return f32(x & -256) + f32(x & 255);
}
";

// As `i2f`: both parts convert exactly, so the one addition rounds correctly.
const U2F: &str = "fn u2f(x: u32) -> f32 {
    return f32(x & 0xffffff00u) + f32(x & 255u);
}
";

const MUL_WIDE: &str = "// The high and low words of a 32 x 32 -> 64-bit product.
fn mul_wide(a: u32, b: u32) -> vec2<u32> {
    let a0 = a & 0xffffu;
    let a1 = a >> 16u;
    let b0 = b & 0xffffu;
    let b1 = b >> 16u;
    let p00 = a0 * b0;
    let p01 = a0 * b1;
    let p10 = a1 * b0;
    let p11 = a1 * b1;
    let mid = (p00 >> 16u) + (p01 & 0xffffu) + (p10 & 0xffffu);
    let hi = p11 + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u);
    return vec2<u32>(hi, a * b);
}
";

const PHILOX: &str = "// Philox-4x32-10, as tc_interp::random::philox4x32_10.
fn philox(counter: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
    var c = counter;
    var k = key;
    for (var r = 0u; r < 10u; r = r + 1u) {
        if (r > 0u) {
            k = k + vec2<u32>(0x9e3779b9u, 0xbb67ae85u);
        }
        let p0 = mul_wide(0xd2511f53u, c.x);
        let p1 = mul_wide(0xcd9e8d57u, c.z);
        c = vec4<u32>(p1.x ^ c.y ^ k.x, p1.y, p0.x ^ c.w ^ k.y, p0.y);
    }
    return c;
}
";
