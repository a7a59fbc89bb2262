//! Float math emitted inline as Cranelift IR, for scalars (`f32`) and 4-lane vectors
//! (`f32x4`) alike: [`Fx`] is the lane-generic emitter, and `exp`, `log` and `sigmoid`
//! are polynomial approximations after Cephes' single-precision routines (`expf`,
//! `logf`), `tanh` a rational approximation (Eigen's), all accurate to a few ulp over
//! the whole f32 range, with IEEE special cases (NaN, ±inf, zero, subnormals) handled by
//! selects. The accuracy test
//! (`tests/accuracy.rs`) sweeps them against f64 libm.
//!
//! `max_nan`/`min_nan` are the graph IR's NaN-propagating maximum and minimum
//! (`a >= b ? a : b`, NaN if either is NaN), exact on every lane.

// Coefficients are quoted as published, with more digits than f32 keeps.
#![allow(clippy::excessive_precision)]

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{types, Endianness, InstBuilder, MemFlagsData, Type, Value};
use cranelift_frontend::FunctionBuilder;

/// Emits f32 math on `ty`, which is `F32` or `F32X4`.
pub struct Fx<'a, 'b> {
    pub b: &'a mut FunctionBuilder<'b>,
    pub ty: Type,
    /// Whether the host has fused multiply-add (polynomials then use it).
    pub fma: bool,
}

impl Fx<'_, '_> {
    fn vector(&self) -> bool {
        self.ty.is_vector()
    }

    /// The integer type with the same lanes.
    pub fn int_ty(&self) -> Type {
        if self.vector() {
            types::I32X4
        } else {
            types::I32
        }
    }

    fn flags(&self) -> MemFlagsData {
        MemFlagsData::new().with_endianness(Endianness::Little)
    }

    pub fn c(&mut self, v: f32) -> Value {
        let s = self.b.ins().f32const(v);
        if self.vector() {
            self.b.ins().splat(self.ty, s)
        } else {
            s
        }
    }

    pub fn ci(&mut self, v: i32) -> Value {
        let s = self.b.ins().iconst(types::I32, v as i64);
        if self.vector() {
            self.b.ins().splat(types::I32X4, s)
        } else {
            s
        }
    }

    pub fn bits(&mut self, x: Value) -> Value {
        let (t, f) = (self.int_ty(), self.flags());
        self.b.ins().bitcast(t, f, x)
    }

    pub fn from_bits(&mut self, x: Value) -> Value {
        let (t, f) = (self.ty, self.flags());
        self.b.ins().bitcast(t, f, x)
    }

    /// A float comparison: an `i8` for scalars, an all-ones lane mask for vectors.
    pub fn fcmp(&mut self, cc: FloatCC, a: Value, b: Value) -> Value {
        self.b.ins().fcmp(cc, a, b)
    }

    pub fn icmp(&mut self, cc: IntCC, a: Value, b: Value) -> Value {
        self.b.ins().icmp(cc, a, b)
    }

    /// `cond ? a : b` on floats, `cond` from [`Fx::fcmp`] or [`Fx::icmp`].
    pub fn select(&mut self, cond: Value, a: Value, b: Value) -> Value {
        if self.vector() {
            let ty = self.b.func.dfg.value_type(a);
            let m = if self.b.func.dfg.value_type(cond) == ty {
                cond
            } else {
                let f = self.flags();
                self.b.ins().bitcast(ty, f, cond)
            };
            self.b.ins().bitselect(m, a, b)
        } else {
            self.b.ins().select(cond, a, b)
        }
    }

    pub fn add(&mut self, a: Value, b: Value) -> Value {
        self.b.ins().fadd(a, b)
    }

    pub fn sub(&mut self, a: Value, b: Value) -> Value {
        self.b.ins().fsub(a, b)
    }

    pub fn mul(&mut self, a: Value, b: Value) -> Value {
        self.b.ins().fmul(a, b)
    }

    pub fn div(&mut self, a: Value, b: Value) -> Value {
        self.b.ins().fdiv(a, b)
    }

    /// `a * x + c` with constant `c` (fused when the host has FMA).
    fn madd(&mut self, a: Value, x: Value, c: f32) -> Value {
        let c = self.c(c);
        if self.fma {
            return self.b.ins().fma(a, x, c);
        }
        let p = self.mul(a, x);
        self.add(p, c)
    }

    /// Horner evaluation of `coeffs[0] * x^(n-1) + ... + coeffs[n-1]`.
    fn horner(&mut self, x: Value, coeffs: &[f32]) -> Value {
        let mut y = self.c(coeffs[0]);
        for &c in &coeffs[1..] {
            y = self.madd(y, x, c);
        }
        y
    }

    /// Maximum propagating NaN: `a >= b ? a : b`, or NaN when `a` is NaN.
    pub fn max_nan(&mut self, a: Value, b: Value) -> Value {
        let ge = self.fcmp(FloatCC::GreaterThanOrEqual, a, b);
        let m = self.select(ge, a, b);
        let nan = self.fcmp(FloatCC::Unordered, a, a);
        self.select(nan, a, m)
    }

    /// Minimum propagating NaN: `a <= b ? a : b`, or NaN when `a` is NaN.
    pub fn min_nan(&mut self, a: Value, b: Value) -> Value {
        let le = self.fcmp(FloatCC::LessThanOrEqual, a, b);
        let m = self.select(le, a, b);
        let nan = self.fcmp(FloatCC::Unordered, a, a);
        self.select(nan, a, m)
    }

    /// `2^n` for integer lanes `n` in the normal exponent range.
    fn pow2(&mut self, n: Value) -> Value {
        let bias = self.ci(127);
        let b = self.b.ins().iadd(n, bias);
        let b = self.b.ins().ishl_imm_s(b, 23);
        self.from_bits(b)
    }

    /// `x` clamped to `[lo, hi]` with compares and selects; NaN stays NaN.
    fn clamp(&mut self, x: Value, lo: f32, hi: f32) -> Value {
        let lo = self.c(lo);
        let hi = self.c(hi);
        let below = self.fcmp(FloatCC::LessThan, x, lo);
        let x = self.select(below, lo, x);
        let above = self.fcmp(FloatCC::GreaterThan, x, hi);
        self.select(above, hi, x)
    }

    /// `e^x` (Cephes `expf`): `x = n ln2 + r`, a degree-7 polynomial for `e^r`, and a
    /// two-step scaling by `2^n` so subnormal results round once. `n` is rounded with
    /// the magic-number trick (adding `1.5 * 2^23` leaves `n` in the low mantissa bits).
    pub fn exp(&mut self, x: Value) -> Value {
        let x = self.clamp(x, -104.0, 89.0);
        let log2e = self.c(std::f32::consts::LOG2_E);
        let magic = self.c(12_582_912.0);
        let t = self.mul(x, log2e);
        let t = self.add(t, magic);
        let fx = self.sub(t, magic);
        let c1 = self.c(0.693_359_4);
        let c2 = self.c(-2.121_944_4e-4);
        let a = self.mul(fx, c1);
        let r = self.sub(x, a);
        let a = self.mul(fx, c2);
        let r = self.sub(r, a);
        let p = self.horner(r, &[1.987_569_2e-4, 1.398_2e-3, 8.333_452e-3, 4.166_579_6e-2, 1.666_666_5e-1, 5.000_000_1e-1]);
        let r2 = self.mul(r, r);
        let p = self.mul(p, r2);
        let p = self.add(p, r);
        let one = self.c(1.0);
        let y = self.add(p, one);
        let tb = self.bits(t);
        let mb = self.ci(0x4b40_0000); // bits of 1.5 * 2^23
        let n = self.b.ins().isub(tb, mb);
        let n1 = self.b.ins().sshr_imm_s(n, 1);
        let n2 = self.b.ins().isub(n, n1);
        let s1 = self.pow2(n1);
        let s2 = self.pow2(n2);
        let y = self.mul(y, s1);
        self.mul(y, s2)
    }

    /// `ln x` (Cephes `logf`): `x = m 2^e` with `m` in `[√½, √2)`, a degree-9
    /// polynomial in `m - 1`. Subnormals are scaled by `2^23` first; negative → NaN,
    /// zero → -inf, +inf → +inf, NaN → NaN.
    pub fn log(&mut self, x0: Value) -> Value {
        let tiny = self.c(f32::MIN_POSITIVE);
        let is_sub = self.fcmp(FloatCC::LessThan, x0, tiny);
        let scale = self.c(8_388_608.0); // 2^23
        let scaled = self.mul(x0, scale);
        let x = self.select(is_sub, scaled, x0);
        let zero_i = self.ci(0);
        let adj_i = self.ci(-23);
        let e_adj = self.select(is_sub, adj_i, zero_i);
        let bits = self.bits(x);
        let e = self.b.ins().ushr_imm_s(bits, 23);
        let mask = self.ci(0xff);
        let e = self.b.ins().band(e, mask);
        let bias = self.ci(126);
        let e = self.b.ins().isub(e, bias);
        let e = self.b.ins().iadd(e, e_adj);
        let mmask = self.ci(0x007f_ffff);
        let half = self.ci(0x3f00_0000);
        let m = self.b.ins().band(bits, mmask);
        let m = self.b.ins().bor(m, half);
        let m = self.from_bits(m); // in [0.5, 1)
        let sqrthf = self.c(std::f32::consts::FRAC_1_SQRT_2);
        let small = self.fcmp(FloatCC::LessThan, m, sqrthf);
        let one = self.c(1.0);
        let m2 = self.add(m, m);
        let m_small = self.sub(m2, one);
        let m_big = self.sub(m, one);
        let m = self.select(small, m_small, m_big);
        let ef = {
            let ity = self.ty;
            let ef = self.b.ins().fcvt_from_sint(ity, e);
            let ef1 = self.sub(ef, one);
            self.select(small, ef1, ef)
        };
        let z = self.mul(m, m);
        let p = self.horner(
            m,
            &[7.037_683_6e-2, -1.151_461e-1, 1.167_699_9e-1, -1.242_014_1e-1, 1.424_932_3e-1, -1.666_805_8e-1, 2.000_071_4e-1, -2.499_999_4e-1, 3.333_333e-1],
        );
        let p = self.mul(p, m);
        let y = self.mul(p, z);
        let c = self.c(-2.121_944_4e-4);
        let t = self.mul(ef, c);
        let y = self.add(y, t);
        let h = self.c(-0.5);
        let t = self.mul(z, h);
        let y = self.add(y, t);
        let r = self.add(m, y);
        let c = self.c(0.693_359_4);
        let t = self.mul(ef, c);
        let r = self.add(r, t);
        // Special cases, innermost last.
        let inf = self.c(f32::INFINITY);
        let is_inf = self.fcmp(FloatCC::Equal, x0, inf);
        let r = self.select(is_inf, inf, r);
        let zero = self.c(0.0);
        let is_zero = self.fcmp(FloatCC::Equal, x0, zero);
        let ninf = self.c(f32::NEG_INFINITY);
        let r = self.select(is_zero, ninf, r);
        let nan = self.c(f32::NAN);
        let is_neg = self.fcmp(FloatCC::LessThan, x0, zero);
        let r = self.select(is_neg, nan, r);
        let is_nan = self.fcmp(FloatCC::Unordered, x0, x0);
        self.select(is_nan, x0, r)
    }

    /// `tanh x`: a 13/6 odd/even rational minimax approximation on `|x| <= 7.905`
    /// (clamped beyond, as in Eigen and XLA, where it gives ±0.99999976); exactly ±1
    /// from `|x| >= 9.02`, where tanh rounds to ±1 in f32 (so `1 + tanh(-inf)` is 0,
    /// as `gelu(-inf)` needs); `x` itself below `4e-4`. One division and no exponential.
    pub fn tanh(&mut self, x: Value) -> Value {
        let lim = 7.905_311_f32;
        let xc = self.clamp(x, -lim, lim);
        let x2 = self.mul(xc, xc);
        let p = self.horner(x2, &[-2.760_768_5e-16, 2.000_187_9e-13, -8.604_672e-11, 5.122_297e-8, 1.485_722_4e-5, 6.372_619_3e-4, 4.893_524_6e-3]);
        let p = self.mul(p, xc);
        let q = self.horner(x2, &[1.198_258_4e-6, 1.185_347_1e-4, 2.268_434_7e-3, 4.893_525e-3]);
        let t = self.div(p, q);
        let a = self.b.ins().fabs(x);
        let tiny = self.c(4e-4);
        let small = self.fcmp(FloatCC::LessThan, a, tiny);
        let t = self.select(small, x, t);
        let saturated = self.c(9.02);
        let big = self.fcmp(FloatCC::GreaterThanOrEqual, a, saturated);
        let (one, minus_one, zero) = (self.c(1.0), self.c(-1.0), self.c(0.0));
        let negative = self.fcmp(FloatCC::LessThan, x, zero);
        let sign_one = self.select(negative, minus_one, one);
        self.select(big, sign_one, t)
    }

    /// `1 / (1 + e^{-x})`, as `e / (1 + e)` with `e = e^x` for negative `x` so tiny
    /// results keep their precision.
    pub fn sigmoid(&mut self, x: Value) -> Value {
        let a = self.b.ins().fabs(x);
        let n = self.b.ins().fneg(a);
        let e = self.exp(n);
        let one = self.c(1.0);
        let d = self.add(one, e);
        let pos = self.div(one, d);
        let neg = self.div(e, d);
        let zero = self.c(0.0);
        let nonneg = self.fcmp(FloatCC::GreaterThanOrEqual, x, zero);
        self.select(nonneg, pos, neg)
    }
}
