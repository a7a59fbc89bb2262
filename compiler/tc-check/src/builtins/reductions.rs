//! The v1 reductions built from the primitive ones: `any`, `all` (and `max`/`min` on
//! bool), `var`, `std` and `logsumexp`. Each is one or two passes over the input, as
//! NumPy's are; the element-wise parts fuse into the reduction loops.

use tc_ir::{BinaryOp, ReduceOp, UnaryOp};
use tc_tensor::DType;

use super::Builtin;
use crate::value::{TVal, Value};

/// The names this file lowers.
pub(crate) const NAMES: &[&str] = &["any", "all", "var", "std", "logsumexp"];

impl Builtin<'_, '_, '_> {
    /// The reduced axes (argument 1, default all) and `keepdims` (argument 2).
    fn reduced_axes(&mut self, x: &TVal) -> Option<(Vec<usize>, bool)> {
        let rank = x.ty.rank();
        let axes = if self.bound[1].is_some() { self.axes(1, rank)? } else { (0..rank).collect() };
        Some((axes, self.keepdims(2)?))
    }

    /// `any`/`all` of a bool tensor: the max/min of it as 0/1 integers.
    pub(super) fn any_all(&mut self, name: &str) -> Option<Value> {
        let x = self.tensor(0)?;
        let x = self.e.strong(x);
        if x.ty.dtype != DType::Bool {
            let s = self.arg_span(0);
            let hint = Some("compare to get a bool, e.g. `any(x > 0.0)`");
            return Some(self.e.wrong_dtype(self.env, &format!("`{name}`"), "bool", x.ty.dtype, s, hint));
        }
        let (axes, keepdims) = self.reduced_axes(&x)?;
        let op = if matches!(name, "any" | "max") { ReduceOp::Max } else { ReduceOp::Min };
        let ints = self.e.graph.cast(x.node, DType::I32);
        let r = self.e.graph.reduce(op, ints, &axes);
        let node = self.e.graph.cast(r, DType::Bool);
        Some(self.keep(node, &x.ty.shape, &axes, keepdims))
    }

    /// `var(x, axis, keepdims, ddof=0)` (two passes: the mean, then the squared
    /// deviations) and `std`, its square root.
    pub(super) fn variance(&mut self, name: &str) -> Option<Value> {
        let x = self.float_arg(0, name)?;
        let (axes, keepdims) = self.reduced_axes(&x)?;
        let ddof = match self.bound[3].is_some() {
            true => self.int(3, "`ddof`")?,
            false => 0,
        };
        let count: usize = axes.iter().map(|&a| x.ty.shape[a]).product();
        let g = &mut self.e.graph;
        let kept: Vec<usize> = x.ty.shape.iter().enumerate().map(|(i, &d)| if axes.contains(&i) { 1 } else { d }).collect();
        let total = g.reduce(ReduceOp::Sum, x.node, &axes);
        let reduced_ty = g.ty(total).clone();
        let n = g.full(&reduced_ty, count as f64);
        let mean = g.div(total, n);
        let mean = g.reshape(mean, &kept);
        let mean = g.broadcast(mean, &x.ty.shape);
        let dev = g.sub(x.node, mean);
        let sq = g.mul(dev, dev);
        let ss = g.reduce(ReduceOp::Sum, sq, &axes);
        // NumPy: a divisor of zero or less gives inf or NaN, not an error.
        let d = g.full(&reduced_ty, (count as i64 - ddof) as f64);
        let mut node = g.div(ss, d);
        if name == "std" {
            node = g.unary(UnaryOp::Sqrt, node);
        }
        Some(self.keep(node, &x.ty.shape, &axes, keepdims))
    }

    /// `logsumexp(x, axis, keepdims)`: `m + log(Σ exp(x - m))` with `m` the maximum
    /// (taken as 0 where it is infinite, so all -inf gives -inf and +inf gives +inf).
    pub(super) fn logsumexp(&mut self) -> Option<Value> {
        let x = self.float_arg(0, "logsumexp")?;
        let (axes, keepdims) = self.reduced_axes(&x)?;
        let g = &mut self.e.graph;
        let kept: Vec<usize> = x.ty.shape.iter().enumerate().map(|(i, &d)| if axes.contains(&i) { 1 } else { d }).collect();
        let m = g.reduce(ReduceOp::Max, x.node, &axes);
        let reduced_ty = g.ty(m).clone();
        let abs = g.unary(UnaryOp::Abs, m);
        let inf = g.full(&reduced_ty, f64::INFINITY);
        let finite = g.binary(BinaryOp::Lt, abs, inf);
        let zero = g.full(&reduced_ty, 0.0);
        let m = g.select(finite, m, zero);
        let mb = g.reshape(m, &kept);
        let mb = g.broadcast(mb, &x.ty.shape);
        let shifted = g.sub(x.node, mb);
        let e = g.unary(UnaryOp::Exp, shifted);
        let s = g.reduce(ReduceOp::Sum, e, &axes);
        let l = g.unary(UnaryOp::Log, s);
        let node = g.add(l, m);
        Some(self.keep(node, &x.ty.shape, &axes, keepdims))
    }
}
