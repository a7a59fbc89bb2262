//! WGSL helper functions that shaders include on demand: the graph IR's exact semantics
//! where WGSL's built-ins differ or are underspecified.
//!
//! WGSL leaves NaN, infinities, out-of-range conversions and the accuracy of `exp`,
//! `log`, `sin`, ... to the implementation, so every function whose result the
//! interpreter defines precisely is written out here with integer bit tests instead of
//! relying on them:
//! - `exp`, `log`, `tanh`, `sigmoid` are the CPU backend's polynomial approximations
//!   (Cephes `expf`/`logf`, Eigen's rational `tanh`), a few ulp over the whole f32 range;
//! - `sin`/`cos` reduce by π/2 (three Cody–Waite parts below 8192, Payne–Hanek with
//!   96 bits of 2/π above) and use Cephes' `sinf`/`cosf` polynomials: a few ulp;
//! - `erf` is Eigen's odd/even rational approximation on [-4, 4] (±1 beyond), within a
//!   few ulp;
//! - `pow` is `exp(b · log |a|)` with C's special cases and the sign of odd integer
//!   powers of negative bases (relative error grows with |b · ln a|, about
//!   |b · ln a| · 2⁻²⁴; squares are exact);
//! - float `rem` is an exact `fmod` on the bits (musl's `fmodf`) and NumPy's sign rule;
//! - `q16` rounds an f32 to the nearest f16 (ties to even), so f16 values held in f32
//!   registers round exactly as the interpreter rounds them;
//! - integer division and remainder floor (Python), 0 for a zero divisor; float→int
//!   conversions truncate and saturate (NaN → 0); i32→f32 rounds to nearest even;
//! - `sign`, `max`, `min` decide NaN and zero by their bits, so `sign(±0)` is +0 and
//!   NaN wins either operand of `max`/`min`;
//! - `exact` hides a float value from the driver's optimiser (see [`Helper::Exact`]).

use std::collections::BTreeSet;

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
    Exp,
    Log,
    Tanh,
    Sigmoid,
    SinCos,
    Erf,
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
    MulWide,
    Philox,
}

impl Helper {
    fn deps(self) -> &'static [Helper] {
        use Helper::*;
        match self {
            Exact | NanInf | IDiv | IRem | UDiv | URem | I2F | MulWide => &[],
            Philox => &[MulWide],
            IsNan => &[],
            MaxNan | MinNan | SignF | F2I | F2U8 => &[IsNan],
            Q16 => &[IsNan, NanInf],
            Exp => &[],
            Log => &[IsNan, NanInf],
            Tanh => &[IsNan],
            Sigmoid => &[Exp],
            SinCos => &[IsNan, NanInf, MulWide],
            Erf => &[IsNan],
            Pow => &[IsNan, NanInf, Exp, Log],
            Fmod => &[IsNan, NanInf],
            Mod => &[Fmod],
        }
    }

    fn text(self) -> &'static str {
        match self {
            Helper::Exact => EXACT,
            Helper::IsNan => IS_NAN,
            Helper::NanInf => NAN_INF,
            Helper::MaxNan => MAX_NAN,
            Helper::MinNan => MIN_NAN,
            Helper::SignF => SIGN_F,
            Helper::Q16 => Q16,
            Helper::Exp => EXP,
            Helper::Log => LOG,
            Helper::Tanh => TANH,
            Helper::Sigmoid => SIGMOID,
            Helper::SinCos => SIN_COS,
            Helper::Erf => ERF,
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
            Helper::MulWide => MUL_WIDE,
            Helper::Philox => PHILOX,
        }
    }
}

/// The helpers a shader uses, with their dependencies.
#[derive(Default, Debug)]
pub struct Helpers(BTreeSet<Helper>);

impl Helpers {
    pub fn need(&mut self, h: Helper) {
        if self.0.insert(h) {
            for &d in h.deps() {
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

const EXP: &str = "fn pow2i(n: i32) -> f32 {
    return bitcast<f32>(u32(n + 127) << 23u);
}
fn exp_f(x0: f32) -> f32 {
    let x = select(select(x0, 89.0, x0 > 89.0), -104.0, x0 < -104.0);
    let fx = round(x * 1.44269504);
    var r = x - fx * 0.693359375;
    r = r - fx * -2.12194440e-4;
    var p = 1.9875691500e-4;
    p = p * r + 1.3981999507e-3;
    p = p * r + 8.3334519073e-3;
    p = p * r + 4.1665795894e-2;
    p = p * r + 1.6666665459e-1;
    p = p * r + 5.0000001201e-1;
    let y = p * (r * r) + r + 1.0;
    let n = i32(fx);
    let n1 = n >> 1u;
    return y * pow2i(n1) * pow2i(n - n1);
}
";

const LOG: &str = "fn log_f(x0: f32) -> f32 {
    let sub = x0 < 1.17549435e-38;
    let x = select(x0, x0 * 8388608.0, sub);
    let bits = bitcast<u32>(x);
    var e = i32((bits >> 23u) & 0xffu) - 126 + select(0, -23, sub);
    var m = bitcast<f32>((bits & 0x007fffffu) | 0x3f000000u);
    var ef: f32;
    if (m < 0.707106781) {
        m = m + m - 1.0;
        ef = f32(e) - 1.0;
    } else {
        m = m - 1.0;
        ef = f32(e);
    }
    let z = m * m;
    var p = 7.0376836292e-2;
    p = p * m - 1.1514610310e-1;
    p = p * m + 1.1676998740e-1;
    p = p * m - 1.2420140846e-1;
    p = p * m + 1.4249322787e-1;
    p = p * m - 1.6668057665e-1;
    p = p * m + 2.0000714765e-1;
    p = p * m - 2.4999993993e-1;
    p = p * m + 3.3333331174e-1;
    var y = p * m * z;
    y = y + ef * -2.12194440e-4;
    y = y - 0.5 * z;
    var r = m + y + ef * 0.693359375;
    if (x0 == inf_f32()) {
        r = x0;
    }
    if (x0 == 0.0) {
        r = -inf_f32();
    }
    if (x0 < 0.0) {
        r = nan_f32();
    }
    return select(r, x0, is_nan(x0));
}
";

const TANH: &str = "fn tanh_f(x: f32) -> f32 {
    let xc = clamp(x, -7.90531110, 7.90531110);
    let x2 = xc * xc;
    var p = -2.76076847742355e-16;
    p = p * x2 + 2.00018790482477e-13;
    p = p * x2 - 8.60467152213735e-11;
    p = p * x2 + 5.12229709037114e-08;
    p = p * x2 + 1.48572235717979e-05;
    p = p * x2 + 6.37261928875436e-04;
    p = p * x2 + 4.89352455891786e-03;
    p = p * xc;
    var q = 1.19825839466702e-06;
    q = q * x2 + 1.18534705686654e-04;
    q = q * x2 + 2.26843463243900e-03;
    q = q * x2 + 4.89352518554385e-03;
    return select(p / q, x, abs(x) < 4e-4 || is_nan(x));
}
";

const SIGMOID: &str = "fn sigmoid_f(x: f32) -> f32 {
    let e = exp_f(-abs(x));
    let d = 1.0 + e;
    return select(e / d, 1.0 / d, x >= 0.0);
}
";

const SIN_COS: &str = "// The 2/π fraction bits 1..256 (after a zero word for bits -31..0), for Payne–Hanek.
var<private> TWO_OVER_PI: array<u32, 9> = array<u32, 9>(0u, 0xa2f9836eu, 0x4e441529u, 0xfc2757d1u, 0xf534ddc0u, 0xdb629599u, 0x3c439041u, 0xfe5163abu, 0xdebbc561u);
// 32 bits of TWO_OVER_PI starting at bit `sh` of word `i`.
fn two_over_pi_bits(i: u32, sh: u32) -> u32 {
    return (TWO_OVER_PI[i] << sh) | ((TWO_OVER_PI[i + 1u] >> 1u) >> (31u - sh));
}
// a = q π/2 + r (mod 2π) for finite a >= 8192: (r, q) with |r| <= π/4, q in 0..3.
// With a = m 2^(e-23), a · 2/π mod 4 is m times the 96 bits of 2/π from bit e - 24.
fn reduce_big(a: f32) -> vec2<f32> {
    let bits = bitcast<u32>(a);
    let g = ((bits >> 23u) & 0xffu) - 120u;
    let m = (bits & 0x007fffffu) | 0x00800000u;
    let wi = g / 32u;
    let sh = g % 32u;
    let p0 = mul_wide(m, two_over_pi_bits(wi, sh));
    let p1 = mul_wide(m, two_over_pi_bits(wi + 1u, sh));
    let p2 = mul_wide(m, two_over_pi_bits(wi + 2u, sh));
    let r1 = p1.y + p2.x;
    let r0 = p0.y + p1.x + select(0u, 1u, r1 < p1.y);
    var q = r0 >> 30u;
    var hi = (r0 << 2u) | (r1 >> 30u);
    var lo = (r1 << 2u) | (p2.y >> 30u);
    var sign = 1.0;
    if (hi >= 0x80000000u) {
        hi = ~hi;
        lo = ~lo + 1u;
        hi = hi + select(0u, 1u, lo == 0u);
        q = q + 1u;
        sign = -1.0;
    }
    let turns = f32(hi) * 2.3283064365386963e-10 + f32(lo) * 5.421010862427522e-20;
    return vec2<f32>(sign * turns * 1.57079632679489662, f32(q & 3u));
}
// sin(x + k π/2): x = q π/2 + r by three Cody–Waite parts below 8192, Payne–Hanek above.
fn sin_quadrant(x: f32, k: i32) -> f32 {
    var q: f32;
    var r: f32;
    if (abs(x) < 8192.0) {
        q = round(x * 0.636619772);
        r = ((x - q * 1.5703125) - q * 4.837512969970703125e-4) - q * 7.54978995489188216e-8;
    } else {
        let red = reduce_big(abs(x));
        q = select(red.y, -red.y, x < 0.0);
        r = select(red.x, -red.x, x < 0.0);
    }
    let z = r * r;
    let s = ((-1.9515295891e-4 * z + 8.3321608736e-3) * z - 1.6666654611e-1) * z * r + r;
    let c = ((2.443315711809948e-5 * z - 1.388731625493765e-3) * z + 4.166664568298827e-2) * z * z - 0.5 * z + 1.0;
    let j = (i32(q) + k) & 3;
    var v = select(s, c, (j & 1) == 1);
    v = select(v, -v, j >= 2);
    return select(v, nan_f32(), is_nan(x) || abs(x) == inf_f32());
}
// sin(±0) is ±0: the zero is returned as it came, sign included.
fn sin_f(x: f32) -> f32 {
    return select(sin_quadrant(x, 0), x, (bitcast<u32>(x) << 1u) == 0u);
}
fn cos_f(x: f32) -> f32 {
    return sin_quadrant(x, 1);
}
";

const ERF: &str = "fn erf_f(x0: f32) -> f32 {
    let x = clamp(x0, -4.0, 4.0);
    let x2 = x * x;
    var p = -2.72614225801306e-10;
    p = p * x2 + 2.77068142495902e-08;
    p = p * x2 - 2.10102402082508e-06;
    p = p * x2 - 5.69250639462346e-05;
    p = p * x2 - 7.34990630326855e-04;
    p = p * x2 - 2.95459980854025e-03;
    p = p * x2 - 1.60960333262415e-02;
    p = p * x;
    var q = -1.45660718464996e-05;
    q = q * x2 - 2.13374055278905e-04;
    q = q * x2 - 1.68282697438203e-03;
    q = q * x2 - 7.37332916720468e-03;
    q = q * x2 - 1.42647390514189e-02;
    // Near zero erf(x) = 2x/√π, rounded once (also for subnormal x).
    let r = select(p / q, x0 * 1.12837917, abs(x0) < 1e-20);
    return select(r, x0, is_nan(x0));
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
