//! The built-in operations of SPEC §5: argument binding, checking, and lowering of
//! each to primitive IR ops. The v1 additions built from primitive ops are in
//! `elementwise.rs`, `reductions.rs`, `scans.rs`, `shape.rs`, `sorting.rs` and `einsum.rs`.

mod einsum;
mod elementwise;
mod reductions;
mod scans;
mod shape;
mod sorting;

pub(crate) use einsum::einsum;

use tc_ir::{ArgOp, BinaryOp, Dist, PoolKind, ReduceOp, Type, UnaryOp};
use tc_syntax::ast::{self, Expr, ExprKind, Span};
use tc_syntax::diag::Diagnostic;
use tc_tensor::DType;

use crate::elab::{Args, Elab, Env};
use crate::shapes::broadcast_shapes;
use crate::value::{Konst, TVal, Value};

/// Every built-in name but the v1 families', for lookups and "did you mean" hints.
const CORE: &[&str] = &[
    "neg", "abs", "sign", "exp", "log", "sqrt", "rsqrt", "sin", "cos", "tanh", "sigmoid", "erf", "atan", "floor", "ceil", "round", "maximum", "minimum", "floor_div", "where", "sum",
    "mean", "max", "min", "prod", "argmax", "argmin", "conv2d", "max_pool2d", "avg_pool2d", "reshape", "transpose", "swapaxes", "broadcast_to", "expand_dims", "squeeze",
    "concat", "stack", "pad", "flatten", "take", "one_hot", "shape", "size", "zeros", "ones", "full", "arange", "eye", "random_uniform", "random_normal", "grad", "einsum",
];

/// Every built-in name, for lookups and "did you mean" hints.
pub(crate) fn names() -> impl Iterator<Item = &'static str> {
    [CORE, elementwise::NAMES, reductions::NAMES, scans::NAMES, shape::NAMES, sorting::NAMES].into_iter().flatten().copied()
}

pub(crate) fn is_builtin(name: &str) -> bool {
    names().any(|n| n == name)
}

/// The built-in constants: weak float literals with these exact values (SPEC §2).
pub(crate) const CONSTANTS: &[(&str, f64)] = &[("inf", f64::INFINITY), ("nan", f64::NAN)];

/// The value of the built-in constant `name`.
pub(crate) fn constant(name: &str) -> Option<f64> {
    CONSTANTS.iter().find(|(n, _)| *n == name).map(|&(_, v)| v)
}

fn unary_op(name: &str) -> Option<UnaryOp> {
    UnaryOp::ALL.into_iter().find(|u| u.name() == name && *u != UnaryOp::Not)
}

/// Parameter names of each built-in, in positional order.
fn params(name: &str) -> &'static [&'static str] {
    match name {
        "maximum" | "minimum" | "floor_div" => &["a", "b"],
        "atan2" => &["y", "x"],
        "clip" => &["x", "lo", "hi"],
        "any" | "all" | "logsumexp" => &["x", "axis", "keepdims"],
        "cumsum" | "cumprod" | "cummax" | "cummin" => &["x", "axis"],
        "sort" | "argsort" => &["x", "axis", "descending"],
        "top_k" => &["x", "k"],
        "var" | "std" => &["x", "axis", "keepdims", "ddof"],
        "moveaxis" => &["x", "source", "destination"],
        "flip" => &["x", "axis"],
        "roll" => &["x", "shift", "axis"],
        "tile" => &["x", "reps"],
        "repeat" => &["x", "repeats", "axis"],
        "tril" | "triu" => &["x", "k"],
        "zeros_like" | "ones_like" => &["x", "dtype"],
        "full_like" => &["x", "value", "dtype"],
        "linspace" => &["start", "stop", "n", "dtype"],
        "take_along_axis" => &["x", "idx", "axis"],
        "index_add" => &["x", "idx", "v", "axis"],
        "where" => &["cond", "a", "b"],
        "sum" | "mean" | "max" | "min" | "prod" | "argmax" | "argmin" => &["x", "axis", "keepdims"],
        "conv2d" => &["x", "w", "stride", "padding"],
        "max_pool2d" | "avg_pool2d" => &["x", "size", "stride"],
        "reshape" | "broadcast_to" => &["x", "shape"],
        "transpose" => &["x", "perm"],
        "swapaxes" => &["x", "axis1", "axis2"],
        "expand_dims" | "squeeze" | "size" => &["x", "axis"],
        "concat" | "stack" => &["xs", "axis"],
        "pad" => &["x", "pads", "value"],
        "take" => &["x", "idx", "axis"],
        "one_hot" => &["idx", "n", "dtype"],
        "zeros" | "ones" => &["shape", "dtype"],
        "full" => &["shape", "value", "dtype"],
        "arange" | "eye" => &["n", "dtype"],
        "random_uniform" | "random_normal" => &["seed", "shape", "dtype"],
        _ => &["x"],
    }
}

/// Which parameters may be omitted.
fn optional(name: &str, param: &str) -> bool {
    matches!(
        (name, param),
        (_, "axis" | "keepdims" | "dtype" | "perm" | "padding" | "value" | "ddof")
            | ("conv2d", "stride")
            | ("max_pool2d" | "avg_pool2d", "stride")
            | ("tril" | "triu", "k")
            | ("sort" | "argsort", "descending")
    ) && !(matches!(name, "expand_dims" | "take_along_axis") && param == "axis")
        && !(matches!(name, "full" | "full_like") && param == "value")
}

type Bound = Vec<Option<(Value, Span)>>;

pub(crate) fn call(e: &mut Elab, env: &mut Env, name: &str, args: Args) -> Value {
    let span = args.span;
    let names = params(name);
    let Some(bound) = e.bind_args(env, name, names, args) else { return Value::Error };
    if bound.iter().flatten().any(|(v, _)| v.is_error()) {
        return Value::Error;
    }
    for (p, a) in names.iter().zip(&bound) {
        if a.is_none() && !optional(name, p) {
            return e.error(Diagnostic::new("E0206", e.loc(env, span), format!("missing argument `{p}` of `{name}`")).with_label("argument missing"));
        }
    }
    let mut b = Builtin { e, env, bound, span };
    b.dispatch(name).unwrap_or(Value::Error)
}

struct Builtin<'e, 'a, 'v> {
    e: &'e mut Elab<'a>,
    env: &'v mut Env,
    bound: Bound,
    span: Span,
}

impl Builtin<'_, '_, '_> {
    fn dispatch(&mut self, name: &str) -> Option<Value> {
        if let Some(op) = unary_op(name) {
            return self.unary(op, name);
        }
        match name {
            "maximum" | "minimum" => {
                let (a, b) = (self.tensor(0)?, self.tensor(1)?);
                let op = if name == "maximum" { BinaryOp::Max } else { BinaryOp::Min };
                let (nodes, dtype, _) = self.e.unify_operands(self.env, &[a, b], self.span)?;
                if dtype == DType::Bool {
                    return Some(self.e.wrong_dtype(self.env, &format!("`{name}`"), "numbers", dtype, self.span, None));
                }
                let node = self.e.graph.binary(op, nodes[0], nodes[1]);
                Some(self.e.tensor(node))
            }
            "floor_div" => {
                let (a, b) = (self.tensor(0)?, self.tensor(1)?);
                let (nodes, dtype, _) = self.e.unify_operands(self.env, &[a, b], self.span)?;
                if dtype == DType::Bool {
                    return Some(self.e.wrong_dtype(self.env, "`floor_div`", "numbers", dtype, self.span, None));
                }
                // The IR's integer division already rounds toward negative infinity
                // (and gives 0 for a zero divisor); floats floor the quotient.
                let node = if dtype.is_float() {
                    let quotient = self.e.graph.div(nodes[0], nodes[1]);
                    self.e.graph.unary(UnaryOp::Floor, quotient)
                } else {
                    self.e.graph.div(nodes[0], nodes[1])
                };
                Some(self.e.tensor(node))
            }
            "where" => {
                let (c, a, b) = (self.tensor(0)?, self.tensor(1)?, self.tensor(2)?);
                if c.ty.dtype != DType::Bool {
                    let s = self.arg_span(0);
                    return Some(self.e.wrong_dtype(self.env, "the condition of `where`", "bool", c.ty.dtype, s, Some("compare to get a bool, e.g. `x > 0.0`")));
                }
                let (nodes, _, _) = self.e.unify_operands(self.env, &[a, b], self.span)?;
                let shape = self.broadcast_all(&[&c.ty.shape, &self.e.graph.ty(nodes[0]).shape.clone()])?;
                let cn = self.e.graph.broadcast(c.node, &shape);
                let an = self.e.graph.broadcast(nodes[0], &shape);
                let bn = self.e.graph.broadcast(nodes[1], &shape);
                let node = self.e.graph.select(cn, an, bn);
                Some(self.e.tensor(node))
            }
            "sum" | "mean" | "max" | "min" | "prod" => self.reduce(name),
            "any" | "all" => self.any_all(name),
            "var" | "std" => self.variance(name),
            "logsumexp" => self.logsumexp(),
            n if elementwise::NAMES.contains(&n) => self.elementwise_v1(n),
            n if scans::NAMES.contains(&n) => self.scan(n),
            n if sorting::NAMES.contains(&n) => self.sorting(n),
            n if shape::NAMES.contains(&n) => self.shape_v1(n),
            "argmax" | "argmin" => self.arg_reduce(name),
            "conv2d" => self.conv2d(),
            "max_pool2d" | "avg_pool2d" => self.pool(if name == "max_pool2d" { PoolKind::Max } else { PoolKind::Avg }),
            "reshape" => self.reshape(),
            "transpose" => {
                let x = self.tensor(0)?;
                let rank = x.ty.rank();
                let perm = match self.bound[1].clone() {
                    None => (0..rank).rev().collect(),
                    Some((v, s)) => {
                        let perm = self.ints(v, s, "a permutation")?;
                        let mut sorted: Vec<i64> = perm.clone();
                        sorted.sort_unstable();
                        if sorted != (0..rank as i64).collect::<Vec<_>>() {
                            return Some(self.err("E0306", s, format!("{perm:?} is not a permutation of the {rank} axes")));
                        }
                        perm.into_iter().map(|p| p as usize).collect::<Vec<usize>>()
                    }
                };
                let node = self.e.graph.transpose(x.node, &perm);
                Some(self.e.tensor(node))
            }
            "swapaxes" => {
                let x = self.tensor(0)?;
                let (a, b) = (self.axis(1, x.ty.rank())?, self.axis(2, x.ty.rank())?);
                let mut perm: Vec<usize> = (0..x.ty.rank()).collect();
                perm.swap(a, b);
                let x = self.e.strong(x);
                let node = self.e.graph.transpose(x.node, &perm);
                Some(self.e.tensor(node))
            }
            "broadcast_to" => {
                let x = self.tensor(0)?;
                let shape = self.shape_arg(1)?;
                let x = self.e.strong(x);
                if broadcast_shapes(&x.ty.shape, &shape).as_deref() != Some(&shape[..]) {
                    let (a, b) = (self.e.show_shape(&x.ty.shape), self.e.show_shape(&shape));
                    return Some(self.err("E0301", self.span, format!("cannot broadcast {a} to {b}")));
                }
                let node = self.e.graph.broadcast(x.node, &shape);
                Some(self.e.tensor(node))
            }
            "expand_dims" => {
                let x = self.tensor(0)?;
                let axis = self.axis(1, x.ty.rank() + 1)?;
                let mut shape = x.ty.shape.clone();
                shape.insert(axis, 1);
                let node = self.e.graph.reshape(x.node, &shape);
                Some(self.e.tensor(node))
            }
            "squeeze" => {
                let x = self.tensor(0)?;
                let axes = match self.bound[1].is_some() {
                    true => self.axes(1, x.ty.rank())?,
                    false => (0..x.ty.rank()).filter(|&a| x.ty.shape[a] == 1).collect(),
                };
                if let Some(&a) = axes.iter().find(|&&a| x.ty.shape[a] != 1) {
                    let d = x.ty.shape[a];
                    let s = self.arg_span(1);
                    return Some(self.err("E0307", s, format!("cannot squeeze axis {a} of size {d}; only size-1 axes can be squeezed")));
                }
                let shape: Vec<usize> = (0..x.ty.rank()).filter(|a| !axes.contains(a)).map(|a| x.ty.shape[a]).collect();
                let node = self.e.graph.reshape(x.node, &shape);
                Some(self.e.tensor(node))
            }
            "concat" | "stack" => self.concat(name == "stack"),
            "pad" => self.pad(),
            "flatten" => {
                let x = self.tensor(0)?;
                let node = self.e.graph.reshape(x.node, &[x.ty.num_elements()]);
                Some(self.e.tensor(node))
            }
            "take" => {
                let x = self.tensor(0)?;
                let idx = self.tensor(1)?;
                if !idx.ty.dtype.is_int() {
                    let s = self.arg_span(1);
                    return Some(self.e.wrong_dtype(self.env, "the index of `take`", "an integer dtype", idx.ty.dtype, s, None));
                }
                if x.ty.rank() == 0 {
                    return Some(self.err("E0306", self.span, "`take` needs a tensor of rank at least 1".to_string()));
                }
                let axis = if self.bound[2].is_some() { self.axis(2, x.ty.rank())? } else { 0 };
                if x.ty.shape[axis] == 0 && idx.ty.num_elements() > 0 {
                    let shown = self.e.show(&x.ty);
                    let d = Diagnostic::new("E0309", self.e.loc(self.env, self.span), format!("`take` gathers from axis {axis} of {shown}, which is empty"))
                        .with_label("no element to take")
                        .with_hint("an index into an empty axis has no value, not even after clamping");
                    return Some(self.e.error(d));
                }
                let x = self.e.strong(x);
                let node = self.e.graph.gather(x.node, idx.node, axis);
                Some(self.e.tensor(node))
            }
            "one_hot" => {
                let idx = self.tensor(0)?;
                if !idx.ty.dtype.is_int() {
                    let s = self.arg_span(0);
                    return Some(self.e.wrong_dtype(self.env, "the index of `one_hot`", "an integer dtype", idx.ty.dtype, s, None));
                }
                let n = self.count(1)?;
                let dtype = self.dtype_or(2, DType::F32)?;
                // u8 widens to i32: the positions it is compared with (up to n) must not wrap.
                let idx = self.e.convert(&idx, if idx.weak || idx.ty.dtype == DType::U8 { DType::I32 } else { idx.ty.dtype });
                let mut shape = idx.ty.shape.clone();
                shape.push(n);
                let rank = shape.len();
                let iota = self.e.graph.iota(Type::new(idx.ty.dtype, shape.clone()), rank - 1);
                let dims: Vec<usize> = (0..rank - 1).collect();
                let b = self.e.graph.broadcast_in_dim(idx.node, &shape, dims);
                let eq = self.e.graph.binary(BinaryOp::Eq, b, iota);
                let node = self.e.graph.cast(eq, dtype);
                Some(self.e.tensor(node))
            }
            "shape" => {
                let x = self.tensor(0)?;
                let at = self.e.loc(self.env, self.span);
                Some(Value::Tuple(x.ty.shape.iter().map(|&d| self.e.int_value(d as i64, at)).collect()))
            }
            "size" => {
                let x = self.tensor(0)?;
                let n = match self.bound[1].is_some() {
                    true => x.ty.shape[self.axis(1, x.ty.rank())?],
                    false => x.ty.num_elements(),
                };
                let at = self.e.loc(self.env, self.span);
                Some(self.e.int_value(n as i64, at))
            }
            "zeros" | "ones" => {
                let shape = self.shape_arg(0)?;
                let dtype = self.dtype_or(1, DType::F32)?;
                let node = self.e.graph.full(&Type::new(dtype, shape), if name == "ones" { 1.0 } else { 0.0 });
                Some(self.e.tensor(node))
            }
            "full" => {
                let shape = self.shape_arg(0)?;
                let v = self.tensor(1)?;
                let default = if v.weak { v.konst.map_or(v.ty.dtype, |k| k.default_dtype()) } else { v.ty.dtype };
                let dtype = self.dtype_or(2, default)?;
                if !v.ty.shape.is_empty() {
                    let s = self.arg_span(1);
                    return Some(self.err("E0307", s, "the value of `full` must be a scalar".to_string()));
                }
                let v = self.e.convert(&v, dtype);
                let node = self.e.graph.broadcast(v.node, &shape);
                Some(self.e.tensor(node))
            }
            "arange" => {
                let n = self.count(0)?;
                let dtype = self.dtype_or(1, DType::I32)?;
                let node = self.e.graph.iota(Type::new(dtype, vec![n]), 0);
                Some(self.e.tensor(node))
            }
            "eye" => {
                let n = self.count(0)?;
                let s = self.arg_span(0);
                self.fits(&[n, n], s)?;
                let dtype = self.dtype_or(1, DType::F32)?;
                let rows = self.e.graph.iota(Type::new(DType::I32, vec![n, n]), 0);
                let cols = self.e.graph.iota(Type::new(DType::I32, vec![n, n]), 1);
                let eq = self.e.graph.binary(BinaryOp::Eq, rows, cols);
                let node = self.e.graph.cast(eq, dtype);
                Some(self.e.tensor(node))
            }
            "random_uniform" | "random_normal" => {
                let seed = self.tensor(0)?;
                if !seed.ty.dtype.is_int() || !seed.ty.shape.is_empty() {
                    let (s, shown) = (self.arg_span(0), self.e.show(&seed.ty));
                    return Some(self.err("E0305", s, format!("the seed must be an integer scalar, found {shown}")));
                }
                let seed = if seed.weak { self.e.convert(&seed, DType::I64) } else { seed };
                let shape = self.shape_arg(1)?;
                let dtype = self.dtype_or(2, DType::F32)?;
                if !dtype.is_float() {
                    let s = self.arg_span(2);
                    return Some(self.e.wrong_dtype(self.env, "random numbers", "a float dtype", dtype, s, None));
                }
                let dist = if name == "random_uniform" { Dist::Uniform } else { Dist::Normal };
                let node = self.e.graph.random(dist, seed.node, Type::new(dtype, shape));
                Some(self.e.tensor(node))
            }
            other => unreachable!("builtin `{other}` has no lowering"),
        }
    }

    // ----- argument helpers ------------------------------------------------------------

    fn arg_span(&self, i: usize) -> Span {
        self.bound[i].as_ref().map_or(self.span, |(_, s)| *s)
    }

    fn err(&mut self, code: &'static str, span: Span, msg: String) -> Value {
        let loc = self.e.loc(self.env, span);
        self.e.error(Diagnostic::new(code, loc, msg))
    }

    fn tensor(&mut self, i: usize) -> Option<TVal> {
        let (v, s) = self.bound[i].clone()?;
        self.e.expect_tensor(self.env, v, s)
    }

    fn int(&mut self, i: usize, what: &str) -> Option<i64> {
        let (v, s) = self.bound[i].clone()?;
        self.e.const_int(self.env, v, s, what)
    }

    /// A non-negative compile-time count.
    fn count(&mut self, i: usize) -> Option<usize> {
        let n = self.int(i, "a size")?;
        let s = self.arg_span(i);
        if n < 0 {
            self.err("E0307", s, format!("a size must not be negative, found {n}"));
            return None;
        }
        self.fits(&[n as usize], s)?;
        Some(n as usize)
    }

    /// A diagnostic unless a tensor of `shape` is within the size limit.
    fn fits(&mut self, shape: &[usize], s: Span) -> Option<()> {
        if crate::shapes::size_ok(shape) {
            return Some(());
        }
        let shown = self.e.show_shape(shape);
        self.err("E0307", s, format!("a tensor of shape {shown} has more than 2^40 elements"));
        None
    }

    /// An int or a tuple of ints, all compile-time.
    fn ints(&mut self, v: Value, s: Span, what: &str) -> Option<Vec<i64>> {
        match v {
            Value::Tuple(vs) => vs.into_iter().map(|v| self.e.const_int(self.env, v, s, what)).collect(),
            v => Some(vec![self.e.const_int(self.env, v, s, what)?]),
        }
    }

    fn norm_axis(&mut self, a: i64, rank: usize, s: Span) -> Option<usize> {
        let r = rank as i64;
        if a < -r || a >= r {
            self.err("E0306", s, format!("axis {a} is out of range for rank {rank}"));
            return None;
        }
        Some(if a < 0 { (a + r) as usize } else { a as usize })
    }

    fn axis(&mut self, i: usize, rank: usize) -> Option<usize> {
        let a = self.int(i, "an axis")?;
        let s = self.arg_span(i);
        self.norm_axis(a, rank, s)
    }

    /// One or several distinct axes (an int or a tuple).
    fn axes(&mut self, i: usize, rank: usize) -> Option<Vec<usize>> {
        let (v, s) = self.bound[i].clone()?;
        let raw = self.ints(v, s, "an axis")?;
        let mut out = Vec::new();
        for a in raw {
            let a = self.norm_axis(a, rank, s)?;
            if out.contains(&a) {
                self.err("E0306", s, format!("axis {a} is repeated"));
                return None;
            }
            out.push(a);
        }
        Some(out)
    }

    fn shape_arg(&mut self, i: usize) -> Option<Vec<usize>> {
        let (v, s) = self.bound[i].clone()?;
        let dims = self.ints(v, s, "a shape")?;
        if let Some(d) = dims.iter().find(|&&d| d < 0) {
            self.err("E0307", s, format!("a shape cannot have the negative dimension {d}"));
            return None;
        }
        let shape: Vec<usize> = dims.into_iter().map(|d| d as usize).collect();
        self.fits(&shape, s)?;
        Some(shape)
    }

    fn dtype_or(&mut self, i: usize, default: DType) -> Option<DType> {
        match self.bound[i].clone() {
            None => Some(default),
            Some((Value::DType(d), _)) => Some(d),
            Some((other, s)) => {
                let d = self.e.describe(&other);
                self.err("E0315", s, format!("expected a dtype such as `f32`, found {d}"));
                None
            }
        }
    }

    /// An int or a pair of ints (`stride=2` or `stride=(2, 1)`).
    fn pair(&mut self, i: usize, default: [usize; 2], what: &str) -> Option<[usize; 2]> {
        let Some((v, s)) = self.bound[i].clone() else { return Some(default) };
        let vals = self.ints(v, s, what)?;
        let ok = vals.iter().all(|&x| x >= 0);
        match (vals.as_slice(), ok) {
            ([a], true) => Some([*a as usize; 2]),
            ([a, b], true) => Some([*a as usize, *b as usize]),
            _ => {
                self.err("E0307", s, format!("{what} must be a non-negative int or a pair of them"));
                None
            }
        }
    }

    fn broadcast_all(&mut self, shapes: &[&Vec<usize>]) -> Option<Vec<usize>> {
        let mut out = Vec::new();
        for s in shapes {
            match broadcast_shapes(&out, s) {
                Some(b) => out = b,
                None => {
                    let (a, b) = (self.e.show_shape(&out), self.e.show_shape(s));
                    self.err("E0301", self.span, format!("cannot broadcast shapes {a} and {b}"));
                    return None;
                }
            }
        }
        Some(out)
    }

    // ----- families --------------------------------------------------------------------

    fn unary(&mut self, op: UnaryOp, name: &str) -> Option<Value> {
        let x = self.tensor(0)?;
        let x = if x.weak && op.float_only() { self.e.convert(&x, DType::F32) } else { self.e.strong(x) };
        if op.float_only() && !x.ty.dtype.is_float() {
            let s = self.arg_span(0);
            return Some(self.e.wrong_dtype(self.env, &format!("`{name}`"), "floats", x.ty.dtype, s, Some("convert first, e.g. `x as f32`")));
        }
        if x.ty.dtype == DType::Bool {
            let s = self.arg_span(0);
            return Some(self.e.wrong_dtype(self.env, &format!("`{name}`"), "numbers", x.ty.dtype, s, None));
        }
        let node = self.e.graph.unary(op, x.node);
        Some(self.e.tensor(node))
    }

    fn reduce(&mut self, name: &str) -> Option<Value> {
        let x = self.tensor(0)?;
        let x = self.e.strong(x);
        let rank = x.ty.rank();
        let axes = if self.bound[1].is_some() { self.axes(1, rank)? } else { (0..rank).collect() };
        let keepdims = self.keepdims(2)?;
        let dtype = x.ty.dtype;
        if dtype == DType::Bool && matches!(name, "max" | "min") {
            return self.any_all(name);
        }
        if dtype == DType::Bool || (name == "mean" && !dtype.is_float()) {
            let needs = if name == "mean" { "floats" } else { "numbers" };
            let s = self.arg_span(0);
            return Some(self.e.wrong_dtype(self.env, &format!("`{name}`"), needs, dtype, s, Some("convert first, e.g. `x as f32`")));
        }
        let op = match name {
            "sum" | "mean" => ReduceOp::Sum,
            "max" => ReduceOp::Max,
            "min" => ReduceOp::Min,
            _ => ReduceOp::Prod,
        };
        let mut node = self.e.graph.reduce(op, x.node, &axes);
        if name == "mean" {
            let count: usize = axes.iter().map(|&a| x.ty.shape[a]).product();
            let c = self.e.graph.full(&self.e.graph.ty(node).clone(), count as f64);
            node = self.e.graph.div(node, c);
        }
        Some(self.keep(node, &x.ty.shape, &axes, keepdims))
    }

    fn keepdims(&mut self, i: usize) -> Option<bool> {
        self.flag(i, "keepdims")
    }

    /// A compile-time bool argument (default false).
    fn flag(&mut self, i: usize, what: &str) -> Option<bool> {
        match self.bound[i].clone() {
            None => Some(false),
            Some((Value::Tensor(TVal { konst: Some(Konst::Bool(b)), .. }), _)) => Some(b),
            Some((Value::Error, _)) => None,
            Some((_, s)) => {
                self.err("E0208", s, format!("`{what}` must be `true` or `false`"));
                None
            }
        }
    }

    /// Re-insert reduced axes as size 1 when `keepdims`.
    fn keep(&mut self, node: tc_ir::NodeId, in_shape: &[usize], axes: &[usize], keepdims: bool) -> Value {
        if !keepdims {
            return self.e.tensor(node);
        }
        let shape: Vec<usize> = in_shape.iter().enumerate().map(|(i, &d)| if axes.contains(&i) { 1 } else { d }).collect();
        let node = self.e.graph.reshape(node, &shape);
        self.e.tensor(node)
    }

    fn arg_reduce(&mut self, name: &str) -> Option<Value> {
        let x = self.tensor(0)?;
        let x = self.e.strong(x);
        if x.ty.dtype == DType::Bool {
            let s = self.arg_span(0);
            return Some(self.e.wrong_dtype(self.env, &format!("`{name}`"), "numbers", x.ty.dtype, s, None));
        }
        let op = if name == "argmax" { ArgOp::ArgMax } else { ArgOp::ArgMin };
        let keepdims = self.keepdims(2)?;
        let (node, axis, shape) = if self.bound[1].is_some() {
            let axis = self.axis(1, x.ty.rank())?;
            (x.node, axis, x.ty.shape.clone())
        } else {
            let n = x.ty.num_elements();
            (self.e.graph.reshape(x.node, &[n]), 0, vec![n])
        };
        if shape.is_empty() || shape[axis] == 0 {
            return Some(self.err("E0306", self.span, format!("`{name}` of an empty axis has no answer")));
        }
        let node = self.e.graph.arg_reduce(op, node, axis);
        let in_shape = if self.bound[1].is_some() { x.ty.shape.clone() } else { vec![1; x.ty.rank()] };
        let axes: Vec<usize> = if self.bound[1].is_some() { vec![axis] } else { (0..x.ty.rank()).collect() };
        Some(self.keep(node, &in_shape, &axes, keepdims))
    }

    fn conv2d(&mut self, ) -> Option<Value> {
        let (x, w) = (self.tensor(0)?, self.tensor(1)?);
        let (nodes, dtype, _) = self.e.unify_operands_no_broadcast(self.env, &[x.clone(), w.clone()], self.span)?;
        if !dtype.is_float() {
            let s = self.arg_span(0);
            return Some(self.e.wrong_dtype(self.env, "`conv2d`", "floats", dtype, s, None));
        }
        if x.ty.rank() != 4 || w.ty.rank() != 4 {
            let (a, b) = (self.e.show(&x.ty), self.e.show(&w.ty));
            return Some(self.err("E0312", self.span, format!("`conv2d` needs x: [N, C, H, W] and w: [K, C, R, S], found {a} and {b}")));
        }
        if x.ty.shape[1] != w.ty.shape[1] {
            let (a, b) = (x.ty.shape[1], w.ty.shape[1]);
            return Some(self.err("E0312", self.span, format!("`conv2d` channels differ: x has {a}, w has {b}")));
        }
        let stride = self.pair(2, [1, 1], "stride")?;
        let padding = self.pair(3, [0, 0], "padding")?;
        if stride.contains(&0) {
            let s = self.arg_span(2);
            return Some(self.err("E0307", s, "stride must be at least 1".to_string()));
        }
        for (i, pad) in padding.iter().enumerate() {
            if w.ty.shape[2 + i] == 0 {
                return Some(self.err("E0312", self.span, "`conv2d` window is empty: w's spatial sizes must be at least 1".to_string()));
            }
            if x.ty.shape[2 + i] + 2 * pad < w.ty.shape[2 + i] {
                return Some(self.err("E0312", self.span, "`conv2d` window is larger than the padded input".to_string()));
            }
        }
        let node = self.e.graph.conv2d(nodes[0], nodes[1], stride, [(padding[0], padding[0]), (padding[1], padding[1])], [1, 1]);
        Some(self.e.tensor(node))
    }

    fn pool(&mut self, kind: PoolKind) -> Option<Value> {
        let x = self.tensor(0)?;
        let x = self.e.strong(x);
        if x.ty.rank() != 4 || !x.ty.dtype.is_float() {
            let a = self.e.show(&x.ty);
            return Some(self.err("E0312", self.span, format!("pooling needs a float x: [N, C, H, W], found {a}")));
        }
        let size = self.pair(1, [1, 1], "size")?;
        let stride = self.pair(2, size, "stride")?;
        if size.contains(&0) || stride.contains(&0) || size[0] > x.ty.shape[2] || size[1] > x.ty.shape[3] {
            return Some(self.err("E0312", self.span, format!("pool window {size:?} with stride {stride:?} does not fit the input")));
        }
        let node = self.e.graph.pool(kind, x.node, size, stride);
        Some(self.e.tensor(node))
    }

    fn reshape(&mut self) -> Option<Value> {
        let x = self.tensor(0)?;
        let (v, s) = self.bound[1].clone()?;
        let dims = self.ints(v, s, "a shape")?;
        let total = x.ty.num_elements();
        let unknown: Vec<usize> = dims.iter().enumerate().filter(|(_, &d)| d == -1).map(|(i, _)| i).collect();
        if unknown.len() > 1 || dims.iter().any(|&d| d < -1) {
            return Some(self.err("E0307", s, "a shape may have one `-1` and no other negative dimension".to_string()));
        }
        let known: usize = dims.iter().filter(|&&d| d >= 0).map(|&d| d as usize).product();
        let mut shape: Vec<usize> = dims.iter().map(|&d| d.max(0) as usize).collect();
        if let Some(&i) = unknown.first() {
            if known == 0 || total % known != 0 {
                return Some(self.err("E0307", s, format!("cannot reshape {} elements into {dims:?}", total)));
            }
            shape[i] = total / known;
        }
        if shape.iter().product::<usize>() != total {
            let shown = self.e.show(&x.ty);
            return Some(self.err("E0307", s, format!("cannot reshape {shown} ({total} elements) into {dims:?}")));
        }
        let x = self.e.strong(x);
        let node = self.e.graph.reshape(x.node, &shape);
        Some(self.e.tensor(node))
    }

    fn concat(&mut self, stack: bool) -> Option<Value> {
        let (v, s) = self.bound[0].clone()?;
        let Value::Tuple(items) = v else {
            let d = self.e.describe(&v);
            return Some(self.err("E0310", s, format!("expected a tuple of tensors, found {d}")));
        };
        let mut ts = Vec::new();
        for it in items {
            ts.push(self.e.expect_tensor(self.env, it, s)?);
        }
        if ts.is_empty() {
            return Some(self.err("E0313", s, "nothing to join: the tuple is empty".to_string()));
        }
        let dtype = self.e.common_dtype(self.env, &ts, self.span)?;
        let first = ts[0].ty.shape.clone();
        let rank = first.len() + usize::from(stack);
        let axis = if self.bound[1].is_some() { self.axis(1, rank)? } else { 0 };
        if !stack && rank == 0 {
            return Some(self.err("E0313", s, "cannot concatenate scalars; use `stack`".to_string()));
        }
        let mut nodes = Vec::new();
        for t in &ts {
            let same = if stack {
                t.ty.shape == first
            } else {
                t.ty.rank() == first.len() && (0..first.len()).all(|a| a == axis || t.ty.shape[a] == first[a])
            };
            if !same {
                let (a, b) = (self.e.show_shape(&first), self.e.show_shape(&t.ty.shape));
                return Some(self.err("E0313", s, format!("cannot join shapes {a} and {b} along axis {axis}")));
            }
            let t = self.e.convert(t, dtype);
            let node = if stack {
                let mut shape = first.clone();
                shape.insert(axis, 1);
                self.e.graph.reshape(t.node, &shape)
            } else {
                t.node
            };
            nodes.push(node);
        }
        let node = self.e.graph.concat(nodes, axis);
        Some(self.e.tensor(node))
    }

    fn pad(&mut self) -> Option<Value> {
        let x = self.tensor(0)?;
        let x = self.e.strong(x);
        let (v, s) = self.bound[1].clone()?;
        let rank = x.ty.rank();
        let pairs: Vec<Value> = match v {
            Value::Tuple(vs) => vs,
            other => vec![other],
        };
        let mut lohi = Vec::new();
        for p in pairs {
            let pair = self.ints(p, s, "a padding")?;
            match pair.as_slice() {
                [lo, hi] if *lo >= 0 && *hi >= 0 => lohi.push((*lo as usize, *hi as usize)),
                _ => {
                    self.err("E0307", s, "padding is a tuple of (lo, hi) pairs of non-negative ints, one per axis".to_string());
                    return None;
                }
            }
        }
        if lohi.len() == 1 && rank > 1 {
            lohi = vec![lohi[0]; rank];
        }
        if lohi.len() != rank {
            return Some(self.err("E0307", s, format!("padding has {} pairs for a tensor of rank {rank}", lohi.len())));
        }
        let padded: Vec<usize> = x.ty.shape.iter().zip(&lohi).map(|(d, (lo, hi))| d.saturating_add(*lo).saturating_add(*hi)).collect();
        self.fits(&padded, s)?;
        let value = match self.bound[2].is_some() {
            true => self.tensor(2)?,
            false => match self.e.int_value(0, self.e.loc(self.env, self.span)) {
                Value::Tensor(t) => t,
                _ => return None,
            },
        };
        if !value.ty.shape.is_empty() {
            let s = self.arg_span(2);
            return Some(self.err("E0307", s, "the padding value must be a scalar".to_string()));
        }
        let dtype = self.e.common_dtype(self.env, &[x.clone(), value.clone()], self.span)?;
        let value = self.e.convert(&value, dtype);
        let node = self.e.graph.pad(x.node, value.node, lohi.iter().map(|p| p.0).collect(), lohi.iter().map(|p| p.1).collect());
        Some(self.e.tensor(node))
    }
}

/// `a @ b` with `numpy.matmul` semantics.
pub(crate) fn matmul(e: &mut Elab, env: &Env, a: TVal, b: TVal, span: Span) -> Value {
    let Some((nodes, dtype, _)) = e.unify_operands_no_broadcast(env, &[a.clone(), b.clone()], span) else { return Value::Error };
    if dtype == DType::Bool {
        return e.wrong_dtype(env, "`@`", "numbers", dtype, span, None);
    }
    if a.ty.rank() == 0 || b.ty.rank() == 0 {
        return e.error(Diagnostic::new("E0308", e.loc(env, span), "`@` needs operands of rank at least 1").with_hint("use `*` to scale by a scalar"));
    }
    let mut ashape = a.ty.shape.clone();
    let mut bshape = b.ty.shape.clone();
    let (a_vec, b_vec) = (ashape.len() == 1, bshape.len() == 1);
    if a_vec {
        ashape.insert(0, 1);
    }
    if b_vec {
        bshape.push(1);
    }
    let (m, k) = (ashape[ashape.len() - 2], ashape[ashape.len() - 1]);
    let (k2, n) = (bshape[bshape.len() - 2], bshape[bshape.len() - 1]);
    if k != k2 {
        let (sa, sb) = (e.show(&a.ty), e.show(&b.ty));
        return e.error(
            Diagnostic::new("E0308", e.loc(env, span), format!("cannot multiply {sa} by {sb}"))
                .with_label(format!("inner dimensions {k} and {k2} differ"))
                .with_hint("`a @ b` needs a: [..., M, K] and b: [..., K, N]"),
        );
    }
    let Some(batch) = broadcast_shapes(&ashape[..ashape.len() - 2], &bshape[..bshape.len() - 2]) else {
        let (sa, sb) = (e.show(&a.ty), e.show(&b.ty));
        return e.error(Diagnostic::new("E0301", e.loc(env, span), format!("cannot broadcast the batch dimensions of {sa} and {sb}")));
    };
    let a_full: Vec<usize> = batch.iter().copied().chain([m, k]).collect();
    let b_full: Vec<usize> = batch.iter().copied().chain([k, n]).collect();
    let an = e.graph.reshape(nodes[0], &ashape);
    let an = e.graph.broadcast(an, &a_full);
    let bn = e.graph.reshape(nodes[1], &bshape);
    let bn = e.graph.broadcast(bn, &b_full);
    let out = e.graph.matmul(an, bn);
    let mut shape = batch;
    if !a_vec {
        shape.push(m);
    }
    if !b_vec {
        shape.push(n);
    }
    let node = e.graph.reshape(out, &shape);
    e.tensor(node)
}

/// `grad(y, x)`: `x` must name values of the current function (or a tuple of them).
pub(crate) fn grad(e: &mut Elab, env: &mut Env, args: &[Expr], kwargs: &[ast::KwArg], span: Span) -> Value {
    if args.len() != 2 || !kwargs.is_empty() {
        return e.error(Diagnostic::new("E0203", e.loc(env, span), "`grad` takes exactly two arguments: `grad(y, x)`"));
    }
    if !names_only(&args[1]) {
        return e.error(
            Diagnostic::new("E0209", e.loc(env, args[1].span), "`grad` differentiates with respect to named values")
                .with_label("not a name or a tuple of names")
                .with_hint("bind the value with `let` and pass its name"),
        );
    }
    let y = e.expr(env, &args[0]);
    let x = e.expr(env, &args[1]);
    let Some(y) = e.expect_tensor(env, y, args[0].span) else { return Value::Error };
    if x.is_error() {
        return Value::Error;
    }
    if !y.ty.shape.is_empty() || !y.ty.dtype.is_float() {
        let shown = e.show(&y.ty);
        return e.error(
            Diagnostic::new("E0209", e.loc(env, args[0].span), format!("`grad` needs a scalar float to differentiate, found {shown}"))
                .with_hint("reduce to a scalar first, e.g. `sum(y)` or `mean(y)`"),
        );
    }
    let mut leaves = Vec::new();
    x.leaves(&mut leaves);
    if let Some(bad) = leaves.iter().find(|t| !t.ty.dtype.is_float()) {
        let shown = e.show(&bad.ty);
        return e.error(Diagnostic::new("E0209", e.loc(env, args[1].span), format!("cannot differentiate with respect to the non-float value {shown}")));
    }
    let xs: Vec<tc_ir::NodeId> = leaves.iter().map(|t| t.node).collect();
    // What was folded between `x` and `y` is differentiated as computed.
    let y = e.unfolded(y.node, &xs);
    match tc_grad::vjp(&mut e.graph, y, &xs) {
        Ok(grads) => rebuild(e, &x, &mut grads.into_iter()),
        Err(msg) => e.error(Diagnostic::new("E0209", e.loc(env, span), format!("cannot differentiate: {msg}"))),
    }
}

fn names_only(x: &Expr) -> bool {
    match &x.kind {
        ExprKind::Path(_) => true,
        ExprKind::Tuple(items) => items.iter().all(names_only),
        _ => false,
    }
}

/// Give gradient nodes the tuple structure of the value they differentiate by.
fn rebuild(e: &Elab, like: &Value, grads: &mut impl Iterator<Item = tc_ir::NodeId>) -> Value {
    match like {
        Value::Tensor(_) => e.tensor(grads.next().expect("one gradient per leaf")),
        Value::Tuple(vs) => Value::Tuple(vs.iter().map(|v| rebuild(e, v, grads)).collect()),
        other => other.clone(),
    }
}
