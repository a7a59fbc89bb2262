//! The v1 elementwise built-ins that are exact compositions of primitive ops: `tan`, the
//! inverse and hyperbolic functions, `log1p`, `expm1`, `log2`, `exp2`, `square`,
//! `reciprocal`, `atan2`, `clip` and the float classifiers.
//!
//! Each lowers to a handful of elementwise nodes that fuse into the surrounding loop, so
//! it costs what a dedicated op would (one pass, no temporaries), runs on every backend
//! unchanged, and gets its gradient from the primitives'. The formulas are the
//! cancellation-free ones (Kahan's `log1p`/`expm1`, `asinh` through `log1p`, `atan2` on
//! the ratio of magnitude at most 1), so they are accurate in every float dtype and not
//! just in f32; branches a `select` discards are fed safe operands, so their gradients
//! are never `0 · inf`.

use tc_ir::{BinaryOp, Graph, NodeId, Type, UnaryOp};
use tc_tensor::DType;

use super::Builtin;
use crate::value::Value;

/// The names this file lowers.
pub(crate) const NAMES: &[&str] = &[
    "tan", "asin", "acos", "sinh", "cosh", "asinh", "acosh", "atanh", "log1p", "expm1", "log2", "exp2", "square", "reciprocal", "atan2", "clip", "isnan", "isinf",
    "isfinite",
];

/// Elementwise node building over one type.
struct Ew<'g> {
    g: &'g mut Graph,
    ty: Type,
}

impl Ew<'_> {
    fn c(&mut self, v: f64) -> NodeId {
        self.g.full(&self.ty, v)
    }
    fn un(&mut self, op: UnaryOp, x: NodeId) -> NodeId {
        self.g.unary(op, x)
    }
    fn bin(&mut self, op: BinaryOp, a: NodeId, b: NodeId) -> NodeId {
        self.g.binary(op, a, b)
    }
    fn add(&mut self, a: NodeId, b: NodeId) -> NodeId {
        self.g.add(a, b)
    }
    fn sub(&mut self, a: NodeId, b: NodeId) -> NodeId {
        self.g.sub(a, b)
    }
    fn mul(&mut self, a: NodeId, b: NodeId) -> NodeId {
        self.g.mul(a, b)
    }
    fn div(&mut self, a: NodeId, b: NodeId) -> NodeId {
        self.g.div(a, b)
    }
    fn sel(&mut self, c: NodeId, a: NodeId, b: NodeId) -> NodeId {
        self.g.select(c, a, b)
    }
    fn eq_c(&mut self, x: NodeId, v: f64) -> NodeId {
        let c = self.c(v);
        self.bin(BinaryOp::Eq, x, c)
    }
    fn lt_c(&mut self, x: NodeId, v: f64) -> NodeId {
        let c = self.c(v);
        self.bin(BinaryOp::Lt, x, c)
    }
    fn is_inf(&mut self, x: NodeId) -> NodeId {
        let a = self.un(UnaryOp::Abs, x);
        self.eq_c(a, f64::INFINITY)
    }
    /// `x`, or `safe` where `bad` holds: what a discarded branch computes on.
    fn guard(&mut self, bad: NodeId, safe: f64, x: NodeId) -> NodeId {
        let s = self.c(safe);
        self.sel(bad, s, x)
    }
    /// Whether `x` is negative, `-0` included (`1 / -0` is `-inf`).
    fn sign_bit(&mut self, x: NodeId) -> NodeId {
        let zero = self.eq_c(x, 0.0);
        let one = self.c(1.0);
        let inv = self.div(one, x);
        let inv_neg = self.lt_c(inv, 0.0);
        let neg = self.lt_c(x, 0.0);
        self.sel(zero, inv_neg, neg)
    }
    /// `r` with the sign of `x`, zeros keeping their own sign.
    fn odd(&mut self, x: NodeId, r: NodeId) -> NodeId {
        let neg = self.lt_c(x, 0.0);
        let rn = self.g.neg(r);
        let signed = self.sel(neg, rn, r);
        let zero = self.eq_c(x, 0.0);
        self.sel(zero, x, signed)
    }

    /// Kahan: `log(u) · x / (u - 1)` with `u = 1 + x` corrects the rounding of `u`.
    fn log1p(&mut self, x: NodeId) -> NodeId {
        let one = self.c(1.0);
        let u = self.add(one, x);
        let d = self.sub(u, one);
        let exact = self.eq_c(d, 0.0);
        let inf = self.eq_c(u, f64::INFINITY);
        let bad = self.g.binary(BinaryOp::Or, exact, inf);
        let d_safe = self.guard(bad, 1.0, d);
        let u_safe = self.guard(bad, 2.0, u);
        let l = self.un(UnaryOp::Log, u_safe);
        let q = self.div(x, d_safe);
        let r = self.mul(l, q);
        // For u == 1 the answer is x itself; for x == inf it is inf (= x).
        self.sel(bad, x, r)
    }

    /// Kahan: `(u - 1) · x / log(u)` with `u = exp(x)`.
    fn expm1(&mut self, x: NodeId) -> NodeId {
        let u = self.un(UnaryOp::Exp, x);
        let one = self.c(1.0);
        let d = self.sub(u, one);
        let tiny = self.eq_c(u, 1.0);
        let minus_one = self.eq_c(d, -1.0);
        let inf = self.eq_c(u, f64::INFINITY);
        let bad = self.g.binary(BinaryOp::Or, tiny, minus_one);
        let bad = self.g.binary(BinaryOp::Or, bad, inf);
        let u_safe = self.guard(bad, 2.0, u);
        let d_safe = self.sub(u_safe, one);
        let l = self.un(UnaryOp::Log, u_safe);
        let q = self.div(x, l);
        let r = self.mul(d_safe, q);
        let r = self.sel(minus_one, d, r);
        let r = self.sel(inf, u, r);
        self.sel(tiny, x, r)
    }

    /// `atan2(y, x)`: `atan(y/x)` where `|y| <= |x|`, `±π/2 - atan(x/y)` elsewhere, so
    /// the ratio never exceeds 1; the two zeros and the two infinities as IEEE says.
    fn atan2(&mut self, y: NodeId, x: NodeId) -> NodeId {
        use std::f64::consts::{FRAC_PI_2, FRAC_PI_4, PI};
        let (ay, ax) = (self.un(UnaryOp::Abs, y), self.un(UnaryOp::Abs, x));
        let (y_neg, x_neg) = (self.sign_bit(y), self.sign_bit(x));
        let flat = self.bin(BinaryOp::Le, ay, ax);
        let steep = self.g.unary(UnaryOp::Not, flat);
        let y_zero = self.eq_c(y, 0.0);
        let x_zero = self.eq_c(x, 0.0);
        let origin = self.g.binary(BinaryOp::And, y_zero, x_zero);
        let (y_inf, x_inf) = (self.is_inf(y), self.is_inf(x));
        let corner = self.g.binary(BinaryOp::And, y_inf, x_inf);
        let special = self.g.binary(BinaryOp::Or, origin, corner);
        // Flat: atan(y / x) plus ±π for x < 0.
        let bad_flat = self.g.binary(BinaryOp::Or, steep, special);
        let x_safe = self.guard(bad_flat, 1.0, x);
        let q = self.div(y, x_safe);
        let t = self.un(UnaryOp::Atan, q);
        let (pi, mpi, zero) = (self.c(PI), self.c(-PI), self.c(0.0));
        let turn = self.sel(y_neg, mpi, pi);
        let turn = self.sel(x_neg, turn, zero);
        let flat_r = self.add(t, turn);
        // Steep: ±π/2 - atan(x / y).
        let bad_steep = self.g.binary(BinaryOp::Or, flat, special);
        let y_safe = self.guard(bad_steep, 1.0, y);
        let q = self.div(x, y_safe);
        let t = self.un(UnaryOp::Atan, q);
        let (hp, mhp) = (self.c(FRAC_PI_2), self.c(-FRAC_PI_2));
        let quarter = self.sel(y_neg, mhp, hp);
        let steep_r = self.sub(quarter, t);
        let r = self.sel(flat, flat_r, steep_r);
        // Both zero: ±0 for x = +0, ±π for x = -0. Both infinite: ±π/4 or ±3π/4.
        let at_origin = self.sel(x_neg, turn, y);
        let (q1, q3) = (self.c(FRAC_PI_4), self.c(3.0 * FRAC_PI_4));
        let corner_r = self.sel(x_neg, q3, q1);
        let corner_rn = self.g.neg(corner_r);
        let corner_r = self.sel(y_neg, corner_rn, corner_r);
        let r = self.sel(corner, corner_r, r);
        self.sel(origin, at_origin, r)
    }

    /// `√(1 - x) · √(1 + x)`, the cosine of `asin(x)`, without cancellation near ±1 (as
    /// two roots, so that at ±1 the gradient is the root's infinity, not `inf · 0`).
    fn cos_of_asin(&mut self, x: NodeId) -> NodeId {
        let one = self.c(1.0);
        let a = self.sub(one, x);
        let b = self.add(one, x);
        let ra = self.un(UnaryOp::Sqrt, a);
        let rb = self.un(UnaryOp::Sqrt, b);
        self.mul(ra, rb)
    }

    /// Above this magnitude `asinh`/`acosh` are `log(2|x|)` to the dtype's precision
    /// (the neglected term is `1 / (4 x²)`), and `x²` is not formed.
    fn large(&self) -> f64 {
        match self.ty.dtype {
            DType::F64 => 2f64.powi(28),
            _ => 4096.0,
        }
    }

    fn log_2x(&mut self, a: NodeId) -> NodeId {
        let l = self.un(UnaryOp::Log, a);
        let ln2 = self.c(std::f64::consts::LN_2);
        self.add(l, ln2)
    }

    fn asinh(&mut self, x: NodeId) -> NodeId {
        let a = self.un(UnaryOp::Abs, x);
        let big = self.c(self.large());
        let is_big = self.bin(BinaryOp::Ge, a, big);
        // asinh(a) = log1p(a + a² / (1 + sqrt(1 + a²))) below, log(2a) above.
        let a_small = self.guard(is_big, 1.0, a);
        let one = self.c(1.0);
        let sq = self.mul(a_small, a_small);
        let s = self.add(one, sq);
        let s = self.un(UnaryOp::Sqrt, s);
        let s = self.add(one, s);
        let f = self.div(sq, s);
        let f = self.add(a_small, f);
        let small_r = self.log1p(f);
        let a_big = self.sel(is_big, a, one);
        let big_r = self.log_2x(a_big);
        let r = self.sel(is_big, big_r, small_r);
        self.odd(x, r)
    }

    fn acosh(&mut self, x: NodeId) -> NodeId {
        let big = self.c(self.large());
        let is_big = self.bin(BinaryOp::Ge, x, big);
        // acosh(x) = log1p(t + √t · √(t + 2)) with t = x - 1 below, log(2x) above.
        let one = self.c(1.0);
        let x_small = self.sel(is_big, one, x);
        let t = self.sub(x_small, one);
        let two = self.c(2.0);
        let tt = self.add(t, two);
        let rt = self.un(UnaryOp::Sqrt, t);
        let rtt = self.un(UnaryOp::Sqrt, tt);
        let s = self.mul(rt, rtt);
        let f = self.add(t, s);
        let small_r = self.log1p(f);
        let x_big = self.sel(is_big, x, one);
        let big_r = self.log_2x(x_big);
        self.sel(is_big, big_r, small_r)
    }

    fn atanh(&mut self, x: NodeId) -> NodeId {
        // ½ log1p(2x / (1 - x))
        let one = self.c(1.0);
        let d = self.sub(one, x);
        let two_x = self.add(x, x);
        let q = self.div(two_x, d);
        let l = self.log1p(q);
        let half = self.c(0.5);
        self.mul(half, l)
    }

    fn sinh(&mut self, x: NodeId) -> NodeId {
        // ½ (E + E / (E + 1)) with E = expm1(|x|), odd in x.
        let a = self.un(UnaryOp::Abs, x);
        let e = self.expm1(a);
        let inf = self.eq_c(e, f64::INFINITY);
        let e_safe = self.guard(inf, 1.0, e);
        let one = self.c(1.0);
        let ep = self.add(e_safe, one);
        let q = self.div(e_safe, ep);
        let s = self.add(e_safe, q);
        let half = self.c(0.5);
        let s = self.mul(half, s);
        let s = self.sel(inf, e, s);
        self.odd(x, s)
    }

    fn cosh(&mut self, x: NodeId) -> NodeId {
        // ½ (e + 1/e) with e = exp(|x|).
        let a = self.un(UnaryOp::Abs, x);
        let e = self.un(UnaryOp::Exp, a);
        let one = self.c(1.0);
        let inv = self.div(one, e);
        let s = self.add(e, inv);
        let half = self.c(0.5);
        self.mul(half, s)
    }
}

impl Builtin<'_, '_, '_> {
    /// Argument `i` as a float tensor (a weak literal becomes f32), or a diagnostic.
    pub(super) fn float_arg(&mut self, i: usize, name: &str) -> Option<crate::value::TVal> {
        let x = self.tensor(i)?;
        let x = if x.weak { self.e.convert(&x, DType::F32) } else { x };
        if !x.ty.dtype.is_float() {
            let s = self.arg_span(i);
            self.e.wrong_dtype(self.env, &format!("`{name}`"), "floats", x.ty.dtype, s, Some("convert first, e.g. `x as f32`"));
            return None;
        }
        Some(x)
    }

    /// Arguments `0..n` brought to one float dtype and one broadcast shape.
    fn float_operands(&mut self, n: usize, name: &str) -> Option<(Vec<NodeId>, Type)> {
        let mut ts = Vec::new();
        for i in 0..n {
            ts.push(self.tensor(i)?);
        }
        let (nodes, dtype, weak) = self.e.unify_operands(self.env, &ts, self.span)?;
        let nodes = if weak {
            nodes.into_iter().map(|n| self.e.graph.cast(n, DType::F32)).collect()
        } else {
            nodes
        };
        let dtype = if weak { DType::F32 } else { dtype };
        if !dtype.is_float() {
            self.e.wrong_dtype(self.env, &format!("`{name}`"), "floats", dtype, self.span, Some("convert first, e.g. `x as f32`"));
            return None;
        }
        let ty = self.e.graph.ty(nodes[0]).clone();
        Some((nodes, ty))
    }

    pub(super) fn elementwise_v1(&mut self, name: &str) -> Option<Value> {
        match name {
            "square" => {
                let x = self.tensor(0)?;
                let x = self.e.strong(x);
                if x.ty.dtype == DType::Bool {
                    let s = self.arg_span(0);
                    return Some(self.e.wrong_dtype(self.env, "`square`", "numbers", x.ty.dtype, s, None));
                }
                let node = self.e.graph.mul(x.node, x.node);
                return Some(self.e.tensor(node));
            }
            "isnan" | "isinf" | "isfinite" => {
                let x = self.tensor(0)?;
                let x = self.e.strong(x);
                if x.ty.dtype == DType::Bool {
                    let s = self.arg_span(0);
                    return Some(self.e.wrong_dtype(self.env, &format!("`{name}`"), "numbers", x.ty.dtype, s, None));
                }
                let ty = Type::new(DType::Bool, x.ty.shape.clone());
                // Integers are never NaN or infinite.
                let node = if !x.ty.dtype.is_float() {
                    self.e.graph.full(&ty, if name == "isfinite" { 1.0 } else { 0.0 })
                } else {
                    let mut ew = Ew { g: &mut self.e.graph, ty: x.ty.clone() };
                    match name {
                        "isnan" => ew.bin(BinaryOp::Ne, x.node, x.node),
                        "isinf" => ew.is_inf(x.node),
                        _ => {
                            let a = ew.un(UnaryOp::Abs, x.node);
                            ew.lt_c(a, f64::INFINITY)
                        }
                    }
                };
                return Some(self.e.tensor(node));
            }
            "atan2" | "clip" => {
                let (nodes, ty) = if name == "clip" { self.clip_operands()? } else { self.float_operands(2, name)? };
                let mut ew = Ew { g: &mut self.e.graph, ty };
                let node = if name == "atan2" {
                    ew.atan2(nodes[0], nodes[1])
                } else {
                    let lo = ew.bin(BinaryOp::Max, nodes[0], nodes[1]);
                    ew.bin(BinaryOp::Min, lo, nodes[2])
                };
                return Some(self.e.tensor(node));
            }
            _ => {}
        }
        let x = self.float_arg(0, name)?;
        let mut ew = Ew { g: &mut self.e.graph, ty: x.ty.clone() };
        let x = x.node;
        let node = match name {
            "tan" => {
                let s = ew.un(UnaryOp::Sin, x);
                let c = ew.un(UnaryOp::Cos, x);
                ew.div(s, c)
            }
            "asin" => {
                let c = ew.cos_of_asin(x);
                ew.atan2(x, c)
            }
            "acos" => {
                let c = ew.cos_of_asin(x);
                ew.atan2(c, x)
            }
            "sinh" => ew.sinh(x),
            "cosh" => ew.cosh(x),
            "asinh" => ew.asinh(x),
            "acosh" => ew.acosh(x),
            "atanh" => ew.atanh(x),
            "log1p" => ew.log1p(x),
            "expm1" => ew.expm1(x),
            "log2" => {
                let l = ew.un(UnaryOp::Log, x);
                let c = ew.c(std::f64::consts::LOG2_E);
                ew.mul(l, c)
            }
            "exp2" => {
                let two = ew.c(2.0);
                ew.bin(BinaryOp::Pow, two, x)
            }
            "reciprocal" => {
                let one = ew.c(1.0);
                ew.div(one, x)
            }
            other => unreachable!("`{other}` is not a v1 elementwise built-in"),
        };
        Some(self.e.tensor(node))
    }

    /// `clip(x, lo, hi)`: numbers of one dtype (bool excluded), broadcast together.
    fn clip_operands(&mut self) -> Option<(Vec<NodeId>, Type)> {
        let ts = vec![self.tensor(0)?, self.tensor(1)?, self.tensor(2)?];
        let (nodes, dtype, _) = self.e.unify_operands(self.env, &ts, self.span)?;
        if dtype == DType::Bool {
            self.e.wrong_dtype(self.env, "`clip`", "numbers", dtype, self.span, None);
            return None;
        }
        let ty = self.e.graph.ty(nodes[0]).clone();
        Some((nodes, ty))
    }
}
