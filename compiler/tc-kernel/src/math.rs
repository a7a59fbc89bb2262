//! The f32 transcendentals, written once for every backend.
//!
//! Each function (`exp`, `log`, `tanh`, `sigmoid`, `sin`, `cos`, `erf`) is a
//! [`Routine`]: a DAG of a few primitive scalar operations ([`Node`]) over one f32
//! argument — f32 arithmetic, comparisons and selects, and i32 bit manipulation on the
//! float's bits. A backend lowers the nodes one by one, in order (every operand comes
//! before its user), so the emitted code is linear in the routine's size; `tc-cpu` emits
//! Cranelift IR for f32 and f32x4 lanes, `tc-wgpu` a WGSL function. [`Routine::eval`]
//! evaluates the same nodes in Rust, and is what the accuracy tests sweep against f64
//! libm; the backends' output matches it bit for bit.
//!
//! The algorithms:
//! - `exp`, `log`: Cephes' `expf`/`logf` (a degree-7 polynomial after `x = n ln2 + r`,
//!   scaled by `2^n` in two steps so subnormal results round once; a degree-9
//!   polynomial in the mantissa in `[√½, √2)`, subnormals scaled by `2^23` first);
//! - `tanh`: Eigen's 13/6 rational approximation on `|x| <= 7.905`, exactly ±1 from
//!   `|x| >= 9.02` (where tanh rounds to ±1), `x` below `4e-4`;
//! - `sigmoid`: `1 / (1 + e)` or `e / (1 + e)` with `e = exp(-|x|)`;
//! - `sin`, `cos`: reduction by π/2 (three Cody–Waite parts below 8192, Payne–Hanek
//!   with 2/π to 256 bits above) and Cephes' `sinf`/`cosf` polynomials;
//! - `erf`: Eigen's odd/even rational approximation on `[-4, 4]`, `2x/√π` below `1e-20`;
//! - `atan`: Cephes' `atanf` (`|x|` reduced by `tan(π/8)` and `tan(3π/8)`, a degree-9 odd
//!   polynomial), the sign taken from the sign bit so that `atan(-0)` is -0.
//!
//! All are within a few ulp of the correctly rounded result over the whole f32 range
//! (the bounds are in `tests/math.rs`), with IEEE special values exact: NaN gives NaN,
//! the infinities and zeros give the limits (`sin(-0)` is -0, `log(0)` is -inf,
//! `log(-1)` and `sin(inf)` are NaN). NaN inputs are recognised by a bit test at the
//! end of each routine, never by a float comparison, so a target whose comparisons
//! with NaN are unspecified (WGSL) still returns NaN.
//!
//! [`Node::MulAdd`] is the polynomial step `a * b + c`: fused (one rounding) where the
//! target has a fused multiply-add, two roundings elsewhere; every other operation
//! rounds once, in the order written, and a backend must not reassociate or fuse it.

// Coefficients are quoted as published, with more digits than f32 keeps.
#![allow(clippy::excessive_precision)]

use std::collections::HashMap;
use tc_ir::UnaryOp;

/// A value of a routine: the index of the node that computes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct V(pub u32);

impl V {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// The type of a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ty {
    F32,
    I32,
    Bool,
}

/// f32 → f32.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Un {
    Neg,
    Abs,
    Floor,
    /// To the nearest integer, ties to even.
    Round,
}

/// f32 × f32 → f32, correctly rounded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bin {
    Add,
    Sub,
    Mul,
    Div,
}

/// An f32 comparison: false when either operand is NaN.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmp {
    Lt,
    Le,
    Eq,
}

/// i32 × i32 → i32, wrapping; shift amounts are taken modulo 32.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Int {
    Add,
    Sub,
    Mul,
    And,
    Or,
    Shl,
    /// Arithmetic shift right.
    Shr,
    /// Logical shift right.
    UShr,
}

/// An i32 comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ICmp {
    Eq,
    Lt,
    /// Unsigned less-than.
    Ult,
}

/// A conversion between f32 and i32.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conv {
    /// The bits of an f32.
    Bits,
    /// The f32 with the given bits.
    FromBits,
    /// Truncation toward zero, saturating; NaN gives 0.
    ToInt,
    /// Signed i32 → f32, to nearest even.
    FromInt,
    /// The i32 read as a u32 → f32, to nearest even.
    FromUint,
}

/// One operation of a routine.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Node {
    /// The routine's f32 argument.
    Arg,
    F(f32),
    I(i32),
    Un(Un, V),
    Bin(Bin, V, V),
    /// `a * b + c`: fused where the target has FMA (see the module doc).
    MulAdd(V, V, V),
    FCmp(Cmp, V, V),
    Int(Int, V, V),
    ICmp(ICmp, V, V),
    Conv(Conv, V),
    /// Bool and, or, not.
    And(V, V),
    Or(V, V),
    Not(V),
    /// `cond ? a : b`, on any type.
    Select(V, V, V),
}

/// The f32 functions written here.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Func {
    Exp,
    Log,
    Tanh,
    Sigmoid,
    Sin,
    Cos,
    Erf,
    Atan,
}

impl Func {
    pub const ALL: [Func; 8] = [Func::Exp, Func::Log, Func::Tanh, Func::Sigmoid, Func::Sin, Func::Cos, Func::Erf, Func::Atan];

    /// The function computing graph op `op`, if it is one of these.
    pub fn of(op: UnaryOp) -> Option<Func> {
        Some(match op {
            UnaryOp::Exp => Func::Exp,
            UnaryOp::Log => Func::Log,
            UnaryOp::Tanh => Func::Tanh,
            UnaryOp::Sigmoid => Func::Sigmoid,
            UnaryOp::Sin => Func::Sin,
            UnaryOp::Cos => Func::Cos,
            UnaryOp::Erf => Func::Erf,
            UnaryOp::Atan => Func::Atan,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Func::Exp => "exp",
            Func::Log => "log",
            Func::Tanh => "tanh",
            Func::Sigmoid => "sigmoid",
            Func::Sin => "sin",
            Func::Cos => "cos",
            Func::Erf => "erf",
            Func::Atan => "atan",
        }
    }

    /// The routine computing this function.
    pub fn routine(self) -> Routine {
        let mut b = B::default();
        let x = b.push(Node::Arg, Ty::F32);
        let r = match self {
            Func::Exp => exp(&mut b, x),
            Func::Log => log(&mut b, x),
            Func::Tanh => tanh(&mut b, x),
            Func::Sigmoid => sigmoid(&mut b, x),
            Func::Sin => sin(&mut b, x),
            Func::Cos => sin_quadrant(&mut b, x, 1),
            Func::Erf => erf(&mut b, x),
            Func::Atan => atan(&mut b, x),
        };
        Routine { nodes: b.nodes, tys: b.tys, names: b.names, result: r }
    }
}

/// A function as a DAG of [`Node`]s: node `i`'s operands are nodes before `i`.
#[derive(Clone, Debug)]
pub struct Routine {
    pub nodes: Vec<Node>,
    /// The type of each node's value.
    pub tys: Vec<Ty>,
    /// A name for some nodes, for readable output.
    pub names: Vec<Option<&'static str>>,
    /// The node computing the function's value.
    pub result: V,
}

impl Routine {
    /// The routine's value at `x`, with fused multiply-adds when `fma`.
    pub fn eval(&self, x: f32, fma: bool) -> f32 {
        self.eval_all(&[x], fma)[0]
    }

    /// The routine's value at each of `xs`.
    pub fn eval_all(&self, xs: &[f32], fma: bool) -> Vec<f32> {
        // Every value as its 32 bits (a bool as 0 or 1).
        let mut vals = vec![0u32; self.nodes.len()];
        xs.iter()
            .map(|&x| {
                for (i, node) in self.nodes.iter().enumerate() {
                    vals[i] = step(node, x, &vals, fma);
                }
                f32::from_bits(vals[self.result.index()])
            })
            .collect()
    }
}

/// The bits of `node`'s value, at argument `x` with earlier values `vals`.
fn step(node: &Node, x: f32, vals: &[u32], fma: bool) -> u32 {
    let f = |v: V| f32::from_bits(vals[v.index()]);
    let i = |v: V| vals[v.index()] as i32;
    let fl = |x: f32| x.to_bits();
    match *node {
        Node::Arg => fl(x),
        Node::F(c) => fl(c),
        Node::I(c) => c as u32,
        Node::Un(op, a) => fl(match op {
            Un::Neg => -f(a),
            Un::Abs => f(a).abs(),
            Un::Floor => f(a).floor(),
            Un::Round => f(a).round_ties_even(),
        }),
        Node::Bin(op, a, b) => fl(match op {
            Bin::Add => f(a) + f(b),
            Bin::Sub => f(a) - f(b),
            Bin::Mul => f(a) * f(b),
            Bin::Div => f(a) / f(b),
        }),
        Node::MulAdd(a, b, c) if fma => fl(f(a).mul_add(f(b), f(c))),
        Node::MulAdd(a, b, c) => fl(f(a) * f(b) + f(c)),
        Node::FCmp(op, a, b) => u32::from(match op {
            Cmp::Lt => f(a) < f(b),
            Cmp::Le => f(a) <= f(b),
            Cmp::Eq => f(a) == f(b),
        }),
        Node::Int(op, a, b) => {
            let (a, b) = (i(a), i(b));
            (match op {
                Int::Add => a.wrapping_add(b),
                Int::Sub => a.wrapping_sub(b),
                Int::Mul => a.wrapping_mul(b),
                Int::And => a & b,
                Int::Or => a | b,
                Int::Shl => a.wrapping_shl(b as u32),
                Int::Shr => a.wrapping_shr(b as u32),
                Int::UShr => (a as u32).wrapping_shr(b as u32) as i32,
            }) as u32
        }
        Node::ICmp(op, a, b) => u32::from(match op {
            ICmp::Eq => i(a) == i(b),
            ICmp::Lt => i(a) < i(b),
            ICmp::Ult => (i(a) as u32) < (i(b) as u32),
        }),
        Node::Conv(op, a) => match op {
            Conv::Bits | Conv::FromBits => vals[a.index()],
            Conv::ToInt => f(a) as i32 as u32,
            Conv::FromInt => fl(i(a) as f32),
            Conv::FromUint => fl(vals[a.index()] as f32),
        },
        Node::And(a, b) => vals[a.index()] & vals[b.index()],
        Node::Or(a, b) => vals[a.index()] | vals[b.index()],
        Node::Not(a) => vals[a.index()] ^ 1,
        Node::Select(c, a, b) => {
            if vals[c.index()] != 0 {
                vals[a.index()]
            } else {
                vals[b.index()]
            }
        }
    }
}

/// Builds a routine; constants are shared.
#[derive(Default)]
struct B {
    nodes: Vec<Node>,
    tys: Vec<Ty>,
    names: Vec<Option<&'static str>>,
    floats: HashMap<u32, V>,
    ints: HashMap<i32, V>,
}

impl B {
    fn push(&mut self, n: Node, ty: Ty) -> V {
        self.nodes.push(n);
        self.tys.push(ty);
        self.names.push(None);
        V(self.nodes.len() as u32 - 1)
    }

    fn ty(&self, v: V) -> Ty {
        self.tys[v.index()]
    }

    /// `v`, named `name` in the output.
    fn name(&mut self, v: V, name: &'static str) -> V {
        self.names[v.index()] = Some(name);
        v
    }

    fn c(&mut self, x: f32) -> V {
        if let Some(&v) = self.floats.get(&x.to_bits()) {
            return v;
        }
        let v = self.push(Node::F(x), Ty::F32);
        self.floats.insert(x.to_bits(), v);
        v
    }

    fn ci(&mut self, x: i32) -> V {
        if let Some(&v) = self.ints.get(&x) {
            return v;
        }
        let v = self.push(Node::I(x), Ty::I32);
        self.ints.insert(x, v);
        v
    }

    fn un(&mut self, op: Un, a: V) -> V {
        debug_assert_eq!(self.ty(a), Ty::F32);
        self.push(Node::Un(op, a), Ty::F32)
    }

    fn bin(&mut self, op: Bin, a: V, b: V) -> V {
        debug_assert_eq!((self.ty(a), self.ty(b)), (Ty::F32, Ty::F32));
        self.push(Node::Bin(op, a, b), Ty::F32)
    }

    fn add(&mut self, a: V, b: V) -> V {
        self.bin(Bin::Add, a, b)
    }

    fn sub(&mut self, a: V, b: V) -> V {
        self.bin(Bin::Sub, a, b)
    }

    fn mul(&mut self, a: V, b: V) -> V {
        self.bin(Bin::Mul, a, b)
    }

    fn div(&mut self, a: V, b: V) -> V {
        self.bin(Bin::Div, a, b)
    }

    fn fcmp(&mut self, op: Cmp, a: V, b: V) -> V {
        debug_assert_eq!((self.ty(a), self.ty(b)), (Ty::F32, Ty::F32));
        self.push(Node::FCmp(op, a, b), Ty::Bool)
    }

    fn lt(&mut self, a: V, b: V) -> V {
        self.fcmp(Cmp::Lt, a, b)
    }

    fn int(&mut self, op: Int, a: V, b: V) -> V {
        debug_assert_eq!((self.ty(a), self.ty(b)), (Ty::I32, Ty::I32));
        self.push(Node::Int(op, a, b), Ty::I32)
    }

    /// `op` with a constant second operand.
    fn int_c(&mut self, op: Int, a: V, b: i32) -> V {
        let b = self.ci(b);
        self.int(op, a, b)
    }

    fn icmp(&mut self, op: ICmp, a: V, b: V) -> V {
        debug_assert_eq!((self.ty(a), self.ty(b)), (Ty::I32, Ty::I32));
        self.push(Node::ICmp(op, a, b), Ty::Bool)
    }

    fn icmp_c(&mut self, op: ICmp, a: V, b: i32) -> V {
        let b = self.ci(b);
        self.icmp(op, a, b)
    }

    fn conv(&mut self, op: Conv, a: V) -> V {
        let (from, to) = match op {
            Conv::Bits | Conv::ToInt => (Ty::F32, Ty::I32),
            Conv::FromBits | Conv::FromInt | Conv::FromUint => (Ty::I32, Ty::F32),
        };
        debug_assert_eq!(self.ty(a), from);
        self.push(Node::Conv(op, a), to)
    }

    fn select(&mut self, c: V, a: V, b: V) -> V {
        debug_assert_eq!(self.ty(c), Ty::Bool);
        debug_assert_eq!(self.ty(a), self.ty(b));
        let ty = self.ty(a);
        self.push(Node::Select(c, a, b), ty)
    }

    /// `a * x + c` with constant `c`, fused where the target fuses.
    fn madd(&mut self, a: V, x: V, c: f32) -> V {
        let c = self.c(c);
        self.push(Node::MulAdd(a, x, c), Ty::F32)
    }

    /// Horner evaluation of `coeffs[0] * x^(n-1) + ... + coeffs[n-1]`.
    fn horner(&mut self, x: V, coeffs: &[f32]) -> V {
        let mut y = self.c(coeffs[0]);
        for &c in &coeffs[1..] {
            y = self.madd(y, x, c);
        }
        y
    }

    /// `x` clamped to `[lo, hi]` by compares and selects.
    fn clamp(&mut self, x: V, lo: f32, hi: f32) -> V {
        let (lo, hi) = (self.c(lo), self.c(hi));
        let below = self.lt(x, lo);
        let x = self.select(below, lo, x);
        let above = self.lt(hi, x);
        self.select(above, hi, x)
    }

    /// `|x|`'s bits, for bit tests.
    fn abs_bits(&mut self, x: V) -> V {
        let bits = self.conv(Conv::Bits, x);
        self.int_c(Int::And, bits, 0x7fff_ffff)
    }

    /// Whether `x` is NaN, on its bits.
    fn is_nan(&mut self, x: V) -> V {
        let inf = self.ci(0x7f80_0000);
        let a = self.abs_bits(x);
        self.icmp(ICmp::Lt, inf, a)
    }

    /// `x` itself where it is NaN, else `r`.
    fn nan_stays(&mut self, x: V, r: V) -> V {
        let nan = self.is_nan(x);
        self.select(nan, x, r)
    }

    /// `2^n` for `n` in the normal exponent range.
    fn pow2(&mut self, n: V) -> V {
        let e = self.int_c(Int::Add, n, 127);
        let e = self.int_c(Int::Shl, e, 23);
        self.conv(Conv::FromBits, e)
    }

    /// The high and low words of the 64-bit product of two u32s.
    fn mul_wide(&mut self, a: V, b: V) -> (V, V) {
        let a0 = self.int_c(Int::And, a, 0xffff);
        let a1 = self.int_c(Int::UShr, a, 16);
        let b0 = self.int_c(Int::And, b, 0xffff);
        let b1 = self.int_c(Int::UShr, b, 16);
        let p00 = self.int(Int::Mul, a0, b0);
        let p01 = self.int(Int::Mul, a0, b1);
        let p10 = self.int(Int::Mul, a1, b0);
        let p11 = self.int(Int::Mul, a1, b1);
        let lo16 = |b: &mut B, v: V| b.int_c(Int::And, v, 0xffff);
        let hi16 = |b: &mut B, v: V| b.int_c(Int::UShr, v, 16);
        let (t0, t1, t2) = (hi16(self, p00), lo16(self, p01), lo16(self, p10));
        let mid = self.int(Int::Add, t0, t1);
        let mid = self.int(Int::Add, mid, t2);
        let (h1, h2, h3) = (hi16(self, p01), hi16(self, p10), hi16(self, mid));
        let hi = self.int(Int::Add, p11, h1);
        let hi = self.int(Int::Add, hi, h2);
        let hi = self.int(Int::Add, hi, h3);
        let lo = self.int(Int::Mul, a, b);
        (hi, lo)
    }
}

/// `e^x`. `n = round(x log2 e)` by the magic-number trick (adding `1.5 · 2^23` leaves
/// `n` in the low mantissa bits), `r = x - n ln2` in two parts.
fn exp(b: &mut B, x0: V) -> V {
    let x = b.clamp(x0, -104.0, 89.0);
    let (log2e, magic) = (b.c(std::f32::consts::LOG2_E), b.c(12_582_912.0));
    let t = b.mul(x, log2e);
    let t = b.add(t, magic);
    let t = b.name(t, "t");
    let fx = b.sub(t, magic);
    let (c1, c2) = (b.c(0.693_359_4), b.c(-2.121_944_4e-4));
    let a = b.mul(fx, c1);
    let r = b.sub(x, a);
    let a = b.mul(fx, c2);
    let r = b.sub(r, a);
    let r = b.name(r, "r");
    let p = b.horner(r, &[1.987_569_2e-4, 1.398_2e-3, 8.333_452e-3, 4.166_579_6e-2, 1.666_666_5e-1, 5.000_000_1e-1]);
    let r2 = b.mul(r, r);
    let p = b.mul(p, r2);
    let p = b.add(p, r);
    let one = b.c(1.0);
    let y = b.add(p, one);
    let tb = b.conv(Conv::Bits, t);
    let n = b.int_c(Int::Sub, tb, 0x4b40_0000); // the bits of 1.5 · 2^23
    let n1 = b.int_c(Int::Shr, n, 1);
    let n2 = b.int(Int::Sub, n, n1);
    let (s1, s2) = (b.pow2(n1), b.pow2(n2));
    let y = b.mul(y, s1);
    let y = b.mul(y, s2);
    b.nan_stays(x0, y)
}

/// `ln x`: `x = m 2^e` with `m` in `[√½, √2)`, a polynomial in `m - 1`.
fn log(b: &mut B, x0: V) -> V {
    let tiny = b.c(f32::MIN_POSITIVE);
    let sub = b.lt(x0, tiny);
    let scale = b.c(8_388_608.0); // 2^23
    let scaled = b.mul(x0, scale);
    let x = b.select(sub, scaled, x0);
    let (zero_i, adj_i) = (b.ci(0), b.ci(-23));
    let e_adj = b.select(sub, adj_i, zero_i);
    let bits = b.conv(Conv::Bits, x);
    let e = b.int_c(Int::UShr, bits, 23);
    let e = b.int_c(Int::And, e, 0xff);
    let e = b.int_c(Int::Sub, e, 126);
    let e = b.int(Int::Add, e, e_adj);
    let m = b.int_c(Int::And, bits, 0x007f_ffff);
    let m = b.int_c(Int::Or, m, 0x3f00_0000);
    let m = b.conv(Conv::FromBits, m); // in [0.5, 1)
    let sqrthf = b.c(std::f32::consts::FRAC_1_SQRT_2);
    let small = b.lt(m, sqrthf);
    let one = b.c(1.0);
    let m2 = b.add(m, m);
    let m_small = b.sub(m2, one);
    let m_big = b.sub(m, one);
    let m = b.select(small, m_small, m_big);
    let m = b.name(m, "m");
    let ef = b.conv(Conv::FromInt, e);
    let ef1 = b.sub(ef, one);
    let ef = b.select(small, ef1, ef);
    let z = b.mul(m, m);
    let p = b.horner(m, &[7.037_683_6e-2, -1.151_461e-1, 1.167_699_9e-1, -1.242_014_1e-1, 1.424_932_3e-1, -1.666_805_8e-1, 2.000_071_4e-1, -2.499_999_4e-1, 3.333_333e-1]);
    let p = b.mul(p, m);
    let y = b.mul(p, z);
    let c = b.c(-2.121_944_4e-4);
    let t = b.mul(ef, c);
    let y = b.add(y, t);
    let h = b.c(-0.5);
    let t = b.mul(z, h);
    let y = b.add(y, t);
    let r = b.add(m, y);
    let c = b.c(0.693_359_4);
    let t = b.mul(ef, c);
    let r = b.add(r, t);
    // Special cases, innermost last.
    let inf = b.c(f32::INFINITY);
    let is_inf = b.fcmp(Cmp::Eq, x0, inf);
    let r = b.select(is_inf, inf, r);
    let zero = b.c(0.0);
    let is_zero = b.fcmp(Cmp::Eq, x0, zero);
    let ninf = b.c(f32::NEG_INFINITY);
    let r = b.select(is_zero, ninf, r);
    let nan = b.c(f32::NAN);
    let is_neg = b.lt(x0, zero);
    let r = b.select(is_neg, nan, r);
    b.nan_stays(x0, r)
}

/// `tanh x`: the rational approximation on the clamped argument (where it gives
/// ±0.99999976 at the clamp), exactly ±1 where tanh rounds to ±1 (so `1 + tanh(-inf)`
/// is 0, as `gelu(-inf)` needs), `x` itself near zero.
fn tanh(b: &mut B, x: V) -> V {
    let lim = 7.905_311_f32;
    let xc = b.clamp(x, -lim, lim);
    let x2 = b.mul(xc, xc);
    let p = b.horner(x2, &[-2.760_768_5e-16, 2.000_187_9e-13, -8.604_672e-11, 5.122_297e-8, 1.485_722_4e-5, 6.372_619_3e-4, 4.893_524_6e-3]);
    let p = b.mul(p, xc);
    let q = b.horner(x2, &[1.198_258_4e-6, 1.185_347_1e-4, 2.268_434_7e-3, 4.893_525e-3]);
    let t = b.div(p, q);
    let a = b.un(Un::Abs, x);
    let tiny = b.c(4e-4);
    let small = b.lt(a, tiny);
    let t = b.select(small, x, t);
    let saturated = b.c(9.02);
    let big = b.fcmp(Cmp::Le, saturated, a);
    let (one, minus_one, zero) = (b.c(1.0), b.c(-1.0), b.c(0.0));
    let negative = b.lt(x, zero);
    let sign_one = b.select(negative, minus_one, one);
    let t = b.select(big, sign_one, t);
    b.nan_stays(x, t)
}

/// `1 / (1 + e^{-x})`, as `e / (1 + e)` with `e = e^x` for negative `x` so tiny
/// results keep their precision.
fn sigmoid(b: &mut B, x: V) -> V {
    let a = b.un(Un::Abs, x);
    let n = b.un(Un::Neg, a);
    let e = exp(b, n);
    let one = b.c(1.0);
    let d = b.add(one, e);
    let pos = b.div(one, d);
    let neg = b.div(e, d);
    let zero = b.c(0.0);
    let nonneg = b.fcmp(Cmp::Le, zero, x);
    let r = b.select(nonneg, pos, neg);
    b.nan_stays(x, r)
}

/// The fraction bits 1..256 of 2/π, after a zero word for bits -31..0 (Payne–Hanek).
const TWO_OVER_PI: [u32; 9] = [0, 0xa2f9_836e, 0x4e44_1529, 0xfc27_57d1, 0xf534_ddc0, 0xdb62_9599, 0x3c43_9041, 0xfe51_63ab, 0xdebb_c561];

/// `a = q π/2 + r (mod 2π)` for finite `a >= 8192`: `(r, q)` with `|r| <= π/4`, `q` in
/// 0..3. With `a = m 2^(e-23)`, `a · 2/π mod 4` is `m` times the 96 bits of 2/π from
/// bit `e - 24`, read as 32-bit windows of the table.
fn reduce_big(b: &mut B, a: V) -> (V, V) {
    let bits = b.conv(Conv::Bits, a);
    let g = b.int_c(Int::UShr, bits, 23);
    let g = b.int_c(Int::And, g, 0xff);
    let g = b.int_c(Int::Sub, g, 120);
    let m = b.int_c(Int::And, bits, 0x007f_ffff);
    let m = b.int_c(Int::Or, m, 0x0080_0000);
    let wi = b.int_c(Int::UShr, g, 5); // at most 4 for a finite `a`
    let sh = b.int_c(Int::And, g, 31);
    // Word `wi + k` of the table, by selects on `wi`.
    let words: Vec<V> = (0..4)
        .map(|k| {
            let mut w = b.ci(TWO_OVER_PI[k] as i32);
            for i in 1..5 {
                let hit = b.icmp_c(ICmp::Eq, wi, i as i32);
                let wk = b.ci(TWO_OVER_PI[i + k] as i32);
                w = b.select(hit, wk, w);
            }
            w
        })
        .collect();
    let thirty_one = b.ci(31);
    let back = b.int(Int::Sub, thirty_one, sh);
    // The 32 bits of the table from bit `sh` of word `wi + k`.
    let window = |b: &mut B, k: usize| {
        let hi = b.int(Int::Shl, words[k], sh);
        let lo = b.int_c(Int::UShr, words[k + 1], 1);
        let lo = b.int(Int::UShr, lo, back);
        b.int(Int::Or, hi, lo)
    };
    let (w0, w1, w2) = (window(b, 0), window(b, 1), window(b, 2));
    let (_, p0_lo) = b.mul_wide(m, w0);
    let (p1_hi, p1_lo) = b.mul_wide(m, w1);
    let (p2_hi, p2_lo) = b.mul_wide(m, w2);
    let r1 = b.int(Int::Add, p1_lo, p2_hi);
    let carry = b.icmp(ICmp::Ult, r1, p1_lo);
    let (one, zero) = (b.ci(1), b.ci(0));
    let carry = b.select(carry, one, zero);
    let r0 = b.int(Int::Add, p0_lo, p1_hi);
    let r0 = b.int(Int::Add, r0, carry);
    let q = b.int_c(Int::UShr, r0, 30);
    let hi = b.int_c(Int::Shl, r0, 2);
    let t = b.int_c(Int::UShr, r1, 30);
    let hi = b.int(Int::Or, hi, t);
    let lo = b.int_c(Int::Shl, r1, 2);
    let t = b.int_c(Int::UShr, p2_lo, 30);
    let lo = b.int(Int::Or, lo, t);
    // A fraction of a quarter turn above ½: the remainder is negative from the next `q`.
    let neg = b.icmp(ICmp::Lt, hi, zero);
    let minus_one = b.ci(-1);
    let hi_n = b.int(Int::Sub, minus_one, hi);
    let lo_n = b.int(Int::Sub, zero, lo);
    let lo_zero = b.icmp(ICmp::Eq, lo_n, zero);
    let inc = b.select(lo_zero, one, zero);
    let hi_n = b.int(Int::Add, hi_n, inc);
    let hi = b.select(neg, hi_n, hi);
    let lo = b.select(neg, lo_n, lo);
    let q1 = b.int(Int::Add, q, one);
    let q = b.select(neg, q1, q);
    let q = b.int_c(Int::And, q, 3);
    let (hf, lf) = (b.conv(Conv::FromUint, hi), b.conv(Conv::FromUint, lo));
    let (s32, s64) = (b.c(2.3283064365386963e-10), b.c(5.421010862427522e-20)); // 2^-32, 2^-64
    let th = b.mul(hf, s32);
    let tl = b.mul(lf, s64);
    let turns = b.add(th, tl);
    let turns_n = b.un(Un::Neg, turns);
    let turns = b.select(neg, turns_n, turns);
    let half_pi = b.c(std::f32::consts::FRAC_PI_2);
    let r = b.mul(turns, half_pi);
    (r, q)
}

/// `sin(x + k π/2)`.
fn sin_quadrant(b: &mut B, x: V, k: i32) -> V {
    let ax = b.un(Un::Abs, x);
    // Below 8192: three Cody–Waite parts of π/2.
    let c = b.c(std::f32::consts::FRAC_2_PI);
    let q = b.mul(x, c);
    let q = b.un(Un::Round, q);
    let mut r = x;
    for part in [1.5703125, 4.837512969970703125e-4, 7.54978995489188216e-8] {
        let p = b.c(part);
        let t = b.mul(q, p);
        r = b.sub(r, t);
    }
    let q_small = b.conv(Conv::ToInt, q);
    // Above: Payne–Hanek on |x|, the sign restored after.
    let (rb, qb) = reduce_big(b, ax);
    let zero = b.c(0.0);
    let negative = b.lt(x, zero);
    let rb_n = b.un(Un::Neg, rb);
    let rb = b.select(negative, rb_n, rb);
    let zero_i = b.ci(0);
    let qb_n = b.int(Int::Sub, zero_i, qb);
    let qb = b.select(negative, qb_n, qb);
    let limit = b.c(8192.0);
    let small = b.lt(ax, limit);
    let r = b.select(small, r, rb);
    let r = b.name(r, "r");
    let q = b.select(small, q_small, qb);
    let z = b.mul(r, r);
    let s = b.horner(z, &[-1.9515295891e-4, 8.3321608736e-3, -1.6666654611e-1]);
    let s = b.mul(s, z);
    let s = b.mul(s, r);
    let s = b.add(s, r);
    let cp = b.horner(z, &[2.443315711809948e-5, -1.388731625493765e-3, 4.166664568298827e-2]);
    let cp = b.mul(cp, z);
    let cp = b.mul(cp, z);
    let half = b.c(0.5);
    let hz = b.mul(half, z);
    let cp = b.sub(cp, hz);
    let one = b.c(1.0);
    let cp = b.add(cp, one);
    let j = b.int_c(Int::Add, q, k);
    let odd = b.int_c(Int::And, j, 1);
    let odd = b.icmp_c(ICmp::Eq, odd, 1);
    let v = b.select(odd, cp, s);
    let upper = b.int_c(Int::And, j, 2);
    let upper = b.icmp_c(ICmp::Eq, upper, 2);
    let v_n = b.un(Un::Neg, v);
    let v = b.select(upper, v_n, v);
    // NaN and the infinities give NaN.
    let a = b.abs_bits(x);
    let inf = b.ci(0x7f80_0000);
    let finite = b.icmp(ICmp::Lt, a, inf);
    let nan = b.c(f32::NAN);
    b.select(finite, v, nan)
}

/// `sin x`; `sin(±0)` is the zero itself, sign included.
fn sin(b: &mut B, x: V) -> V {
    let v = sin_quadrant(b, x, 0);
    let a = b.abs_bits(x);
    let zero = b.icmp_c(ICmp::Eq, a, 0);
    b.select(zero, x, v)
}

/// `erf x`.
fn erf(b: &mut B, x0: V) -> V {
    let x = b.clamp(x0, -4.0, 4.0);
    let x2 = b.mul(x, x);
    let p = b.horner(
        x2,
        &[-2.72614225801306e-10, 2.77068142495902e-08, -2.10102402082508e-06, -5.69250639462346e-05, -7.34990630326855e-04, -2.95459980854025e-03, -1.60960333262415e-02],
    );
    let p = b.mul(p, x);
    let q = b.horner(x2, &[-1.45660718464996e-05, -2.13374055278905e-04, -1.68282697438203e-03, -7.37332916720468e-03, -1.42647390514189e-02]);
    let r = b.div(p, q);
    // Near zero erf(x) = 2x/√π, rounded once (also for subnormal x).
    let a = b.un(Un::Abs, x0);
    let tiny = b.c(1e-20);
    let small = b.lt(a, tiny);
    let c = b.c(std::f32::consts::FRAC_2_SQRT_PI);
    let lin = b.mul(x0, c);
    let r = b.select(small, lin, r);
    b.nan_stays(x0, r)
}

/// `atan x`.
fn atan(b: &mut B, x0: V) -> V {
    let x = b.un(Un::Abs, x0);
    let (t3, t1) = (b.c(2.414_213_562_373_095), b.c(0.414_213_562_373_095));
    let big = b.lt(t3, x);
    let mid = b.lt(t1, x);
    let one = b.c(1.0);
    // Above tan(3π/8): π/2 + atan(-1/x); above tan(π/8): π/4 + atan((x-1)/(x+1)).
    let m1 = b.c(-1.0);
    let inv = b.div(m1, x);
    let xm = b.sub(x, one);
    let xp = b.add(x, one);
    let shifted = b.div(xm, xp);
    let r = b.select(mid, shifted, x);
    let r = b.select(big, inv, r);
    let zero = b.c(0.0);
    let quarter = b.c(std::f32::consts::FRAC_PI_4);
    let half = b.c(std::f32::consts::FRAC_PI_2);
    let base = b.select(mid, quarter, zero);
    let base = b.select(big, half, base);
    let z = b.mul(r, r);
    let p = b.horner(z, &[8.05374449538e-2, -1.38776856032e-1, 1.99777106478e-1, -3.33329491539e-1]);
    let p = b.mul(p, z);
    let p = b.mul(p, r);
    let p = b.add(p, r);
    let y = b.add(base, p);
    let bits = b.conv(Conv::Bits, x0);
    let zero_i = b.ci(0);
    let negative = b.icmp(ICmp::Lt, bits, zero_i);
    let y_n = b.un(Un::Neg, y);
    let y = b.select(negative, y_n, y);
    b.nan_stays(x0, y)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every operand comes before its user and has the type the operation takes.
    #[test]
    fn routines_are_well_typed_dags() {
        for f in Func::ALL {
            let r = f.routine();
            let ty = |v: &V, i: usize| {
                assert!(v.index() < i, "{}: node {i} uses a later node", f.name());
                r.tys[v.index()]
            };
            for (i, n) in r.nodes.iter().enumerate() {
                let (want, got) = match n {
                    Node::Arg | Node::F(_) | Node::I(_) => continue,
                    Node::Un(_, a) => (vec![Ty::F32], vec![ty(a, i)]),
                    Node::Bin(_, a, b) | Node::FCmp(_, a, b) => (vec![Ty::F32; 2], vec![ty(a, i), ty(b, i)]),
                    Node::MulAdd(a, b, c) => (vec![Ty::F32; 3], vec![ty(a, i), ty(b, i), ty(c, i)]),
                    Node::Int(_, a, b) | Node::ICmp(_, a, b) => (vec![Ty::I32; 2], vec![ty(a, i), ty(b, i)]),
                    Node::Conv(Conv::Bits | Conv::ToInt, a) => (vec![Ty::F32], vec![ty(a, i)]),
                    Node::Conv(_, a) => (vec![Ty::I32], vec![ty(a, i)]),
                    Node::And(a, b) | Node::Or(a, b) => (vec![Ty::Bool; 2], vec![ty(a, i), ty(b, i)]),
                    Node::Not(a) => (vec![Ty::Bool], vec![ty(a, i)]),
                    Node::Select(c, a, b) => (vec![Ty::Bool, r.tys[i], r.tys[i]], vec![ty(c, i), ty(a, i), ty(b, i)]),
                };
                assert_eq!(want, got, "{}: node {i} {n:?}", f.name());
            }
            assert_eq!(r.tys[r.result.index()], Ty::F32);
        }
    }
}
