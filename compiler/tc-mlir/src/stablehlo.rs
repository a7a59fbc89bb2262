//! The optimised graph as StableHLO (`tensorc emit --stage stablehlo`): one op per graph
//! node, the portable input of XLA (and so of TPUs) and of IREE.
//!
//! Most graph ops have a direct StableHLO op. Where StableHLO's semantics differ from
//! tensorc's (SPEC §4, `tc_ir::ops`), the emitted ops compute tensorc's:
//! - integer `/` and `%` are floored and give 0 for a zero divisor (StableHLO's divide
//!   truncates); float `%` takes the divisor's sign (StableHLO's remainder, the dividend's);
//! - `take`/`scatter_add` indices count from the end when negative and are clamped
//!   before `gather`/`scatter`;
//! - `argmax`/`argmin` reduce (value, index) pairs with a total order: NaN is the
//!   largest (and smallest), ties go to the first index;
//! - max pooling's gradient shares each window's gradient among all its maxima (not
//!   `select_and_scatter`'s first one): for each window offset a strided slice is
//!   compared with the window maxima, and the shares are put back with interior
//!   padding;
//! - `random_*` is Philox-4x32-10 written out in 64-bit integer ops, bit-exact;
//! - float→int casts truncate toward zero and saturate, NaN giving 0 (StableHLO's
//!   convert is implementation-defined out of range): out-of-range values and NaN are
//!   selected away before the convert and their results selected after it;
//! - `sign` gives +0 for -0.0 (StableHLO's keeps the zero's sign).
//!
//! Floats are computed in their own dtype (reductions too), so results differ from the
//! interpreter's f64-accumulated sums by rounding.

use crate::module::symbol;
use crate::MlirError;
use tc_ir::{ArgOp, BinaryOp, Dist, Graph, NodeId, Op, PoolKind, ReduceOp, Type, UnaryOp};
use tc_tensor::{DType, Data, Tensor};

/// The StableHLO element type (unsigned bytes are `ui8`).
fn elem(d: DType) -> &'static str {
    match d {
        DType::U8 => "ui8",
        d => crate::text::elem(d),
    }
}

fn ty(shape: &[usize], d: DType) -> String {
    crate::text::tensor_ty(shape, elem(d))
}

fn tty(t: &Type) -> String {
    ty(&t.shape, t.dtype)
}

fn list(v: &[usize]) -> String {
    v.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(", ")
}

/// The compare type of a dtype.
fn compare_type(d: DType) -> &'static str {
    match d {
        d if d.is_float() => "FLOAT",
        DType::U8 | DType::Bool => "UNSIGNED",
        _ => "SIGNED",
    }
}

/// The function being emitted: lines and a value counter.
struct Hlo {
    body: String,
    next: usize,
}

impl Hlo {
    fn op(&mut self, rhs: impl AsRef<str>) -> String {
        self.next += 1;
        let v = format!("%h{}", self.next);
        self.body.push_str(&format!("  {v} = {}\n", rhs.as_ref()));
        v
    }

    /// A constant tensor of `shape` filled with `x` (a literal of dtype `d`).
    fn splat(&mut self, lit: &str, shape: &[usize], d: DType) -> String {
        self.op(format!("stablehlo.constant dense<{lit}> : {}", ty(shape, d)))
    }

    fn float(&mut self, x: f64, shape: &[usize], d: DType) -> String {
        let lit = crate::text::float_lit(x, d);
        self.splat(&lit, shape, d)
    }

    fn int(&mut self, x: i64, shape: &[usize], d: DType) -> String {
        let lit = match d {
            DType::Bool => (x != 0).to_string(),
            _ => x.to_string(),
        };
        self.splat(&lit, shape, d)
    }

    fn bin(&mut self, name: &str, a: &str, b: &str, t: &str) -> String {
        self.op(format!("stablehlo.{name} {a}, {b} : {t}"))
    }

    fn un(&mut self, name: &str, a: &str, t: &str) -> String {
        self.op(format!("stablehlo.{name} {a} : {t}"))
    }

    fn cmp(&mut self, dir: &str, a: &str, b: &str, shape: &[usize], d: DType) -> String {
        let t = ty(shape, d);
        self.op(format!("stablehlo.compare {dir}, {a}, {b}, {} : ({t}, {t}) -> {}", compare_type(d), ty(shape, DType::Bool)))
    }

    fn select(&mut self, c: &str, a: &str, b: &str, shape: &[usize], d: DType) -> String {
        self.op(format!("stablehlo.select {c}, {a}, {b} : {}, {}", ty(shape, DType::Bool), ty(shape, d)))
    }

    fn convert(&mut self, x: &str, shape: &[usize], from: DType, to: DType) -> String {
        if from == to {
            return x.to_string();
        }
        self.op(format!("stablehlo.convert {x} : ({}) -> {}", ty(shape, from), ty(shape, to)))
    }
}

/// A dense constant of `t` with its shape.
fn constant(t: &Tensor) -> String {
    let shaped = ty(t.shape(), t.dtype());
    if t.is_empty() {
        return format!("stablehlo.constant dense<> : {shaped}");
    }
    match t.data() {
        Data::Bool(v) => {
            // A flat list (the caller reshapes): bool literals must otherwise nest like the shape.
            let items: Vec<&str> = v.iter().map(|&b| if b { "true" } else { "false" }).collect();
            format!("stablehlo.constant dense<[{}]> : {}", items.join(", "), ty(&[v.len()], DType::Bool))
        }
        d => {
            let hex: String = d.to_le_bytes().iter().map(|b| format!("{b:02X}")).collect();
            format!("stablehlo.constant dense<\"0x{hex}\"> : {shaped}")
        }
    }
}

pub fn module(graph: &Graph) -> Result<String, MlirError> {
    let mut h = Hlo { body: String::new(), next: 0 };
    let mut names: Vec<String> = Vec::with_capacity(graph.nodes.len());
    let params = graph.param_types();
    for (i, node) in graph.nodes.iter().enumerate() {
        let ins: Vec<&str> = node.inputs.iter().map(|n| names[n.index()].as_str()).collect();
        let v = emit_node(&mut h, graph, NodeId(i as u32), &ins)?;
        names.push(v);
    }
    let args: Vec<String> = params.iter().enumerate().map(|(i, t)| format!("%arg{i}: {}", tty(t))).collect();
    let outs: Vec<&str> = graph.outputs.iter().map(|o| names[o.index()].as_str()).collect();
    let out_tys: Vec<String> = graph.outputs.iter().map(|&o| tty(graph.ty(o))).collect();
    let ret = if outs.is_empty() { "  return\n".to_string() } else { format!("  return {} : {}\n", outs.join(", "), out_tys.join(", ")) };
    Ok(format!("module {{\nfunc.func {}({}) -> ({}) {{\n{}{ret}}}\n}}\n", symbol(&graph.name), args.join(", "), out_tys.join(", "), h.body))
}

fn emit_node(h: &mut Hlo, graph: &Graph, id: NodeId, ins: &[&str]) -> Result<String, MlirError> {
    let node = graph.node(id);
    let out = &node.ty;
    let (shape, d) = (&out.shape[..], out.dtype);
    let t = tty(out);
    let in_ty = |k: usize| graph.ty(graph.node(id).inputs[k]).clone();
    Ok(match &node.op {
        Op::Param(i) => format!("%arg{i}"),
        Op::Const(c) => {
            let v = h.op(constant(c));
            if c.dtype() == DType::Bool && !c.is_empty() {
                h.op(format!("stablehlo.reshape {v} : ({}) -> {t}", ty(&[c.len()], DType::Bool)))
            } else {
                v
            }
        }
        Op::Iota { axis } => {
            if d == DType::Bool {
                return Err(MlirError::Unsupported("iota of bool".into()));
            }
            h.op(format!("stablehlo.iota dim = {axis} : {t}"))
        }
        Op::Random(dist) => random(h, ins[0], &in_ty(0), out, *dist)?,
        Op::Unary(op) => unary(h, *op, ins[0], shape, d)?,
        Op::Binary(op) => binary(h, *op, ins[0], ins[1], shape, in_ty(0).dtype)?,
        Op::Select => h.select(ins[0], ins[1], ins[2], shape, d),
        Op::Cast => {
            let from = in_ty(0).dtype;
            if d == DType::Bool && from != DType::Bool {
                let zero = if from.is_float() { h.float(0.0, shape, from) } else { h.int(0, shape, from) };
                h.cmp("NE", ins[0], &zero, shape, from)
            } else if from.is_float() && d.is_int() {
                float_to_int(h, ins[0], shape, from, d)
            } else {
                h.convert(ins[0], shape, from, d)
            }
        }
        Op::Reduce { op, axes } => reduce(h, *op, ins[0], &in_ty(0), axes, out)?,
        Op::ArgReduce { op, axis } => arg_reduce(h, *op, ins[0], &in_ty(0), *axis, out)?,
        Op::ArgSort { axis, descending } => arg_sort(h, ins[0], &in_ty(0), *axis, *descending)?,
        Op::Broadcast { dims } => h.op(format!("stablehlo.broadcast_in_dim {}, dims = [{}] : ({}) -> {t}", ins[0], list(dims), tty(&in_ty(0)))),
        Op::Reshape => h.op(format!("stablehlo.reshape {} : ({}) -> {t}", ins[0], tty(&in_ty(0)))),
        Op::Transpose { perm } => h.op(format!("stablehlo.transpose {}, dims = [{}] : ({}) -> {t}", ins[0], list(perm), tty(&in_ty(0)))),
        Op::Reverse { axes } => h.op(format!("stablehlo.reverse {}, dims = [{}] : {t}", ins[0], list(axes))),
        Op::Slice { start, end } => {
            let ranges: Vec<String> = start.iter().zip(end).map(|(a, b)| format!("{a}:{b}")).collect();
            h.op(format!("stablehlo.slice {} [{}] : ({}) -> {t}", ins[0], ranges.join(", "), tty(&in_ty(0))))
        }
        Op::Pad { lo, hi } => {
            let zeros = vec![0; lo.len()];
            h.op(format!(
                "stablehlo.pad {}, {}, low = [{}], high = [{}], interior = [{}] : ({}, {}) -> {t}",
                ins[0],
                ins[1],
                list(lo),
                list(hi),
                list(&zeros),
                tty(&in_ty(0)),
                tty(&in_ty(1))
            ))
        }
        Op::Concat { axis } => {
            let tys: Vec<String> = (0..ins.len()).map(|k| tty(&in_ty(k))).collect();
            h.op(format!("stablehlo.concatenate {}, dim = {axis} : ({}) -> {t}", ins.join(", "), tys.join(", ")))
        }
        Op::Gather { axis } => gather(h, ins[0], &in_ty(0), ins[1], &in_ty(1), *axis, out),
        Op::ScatterAdd { axis } => scatter_add(h, ins[0], &in_ty(0), ins[1], &in_ty(1), *axis, out)?,
        Op::MatMul => {
            let r = shape.len();
            let batch: Vec<usize> = (0..r - 2).collect();
            h.op(format!(
                "stablehlo.dot_general {}, {}, batching_dims = [{}] x [{}], contracting_dims = [{}] x [{}] : ({}, {}) -> {t}",
                ins[0],
                ins[1],
                list(&batch),
                list(&batch),
                r - 1,
                r - 2,
                tty(&in_ty(0)),
                tty(&in_ty(1))
            ))
        }
        Op::Conv2d { stride, pad, dilation } => h.op(format!(
            "stablehlo.convolution({}, {}) dim_numbers = [b, f, 0, 1]x[o, i, 0, 1]->[b, f, 0, 1], window = {{stride = [{}, {}], pad = [[{}, {}], [{}, {}]], rhs_dilate = [{}, {}]}} {{batch_group_count = 1 : i64, feature_group_count = 1 : i64}} : ({}, {}) -> {t}",
            ins[0],
            ins[1],
            stride[0],
            stride[1],
            pad[0].0,
            pad[0].1,
            pad[1].0,
            pad[1].1,
            dilation[0],
            dilation[1],
            tty(&in_ty(0)),
            tty(&in_ty(1))
        )),
        Op::Pool { kind, size, stride } => pool(h, *kind, ins[0], &in_ty(0), *size, *stride, out)?,
        Op::PoolGrad { kind, size, stride } => pool_grad(h, *kind, ins[0], &in_ty(0), ins[1], &in_ty(1), *size, *stride)?,
    })
}

/// Float `x` to the integer dtype `to` as tensorc casts: toward zero, saturating at the
/// dtype's bounds, NaN to 0. StableHLO's convert of a value out of range (NaN included)
/// is implementation-defined, so such values are replaced by 0 before it and by the
/// bound (or 0) after it.
fn float_to_int(h: &mut Hlo, x: &str, shape: &[usize], from: DType, to: DType) -> String {
    let range = to.int_range().expect("an integer dtype");
    // The first value above the range is a power of two and the lowest value in range is
    // 0 or minus one, so both are exact in every float dtype (or infinite in f16, which
    // then holds no finite value beyond them).
    let (lo, above) = (*range.start() as f64, *range.end() as f64 + 1.0);
    let (lo_f, above_f) = (h.float(lo, shape, from), h.float(above, shape, from));
    let high = h.cmp("GE", x, &above_f, shape, from);
    let low = h.cmp("LE", x, &lo_f, shape, from);
    let nan = h.cmp("NE", x, x, shape, from);
    let bools = ty(shape, DType::Bool);
    let out_of_range = h.bin("or", &high, &low, &bools);
    let replaced = h.bin("or", &out_of_range, &nan, &bools);
    let zero_f = h.float(0.0, shape, from);
    let safe = h.select(&replaced, &zero_f, x, shape, from);
    let truncated = h.convert(&safe, shape, from, to);
    let (lo_i, hi_i) = (h.int(*range.start(), shape, to), h.int(*range.end(), shape, to));
    let saturated = h.select(&high, &hi_i, &truncated, shape, to);
    h.select(&low, &lo_i, &saturated, shape, to)
}

fn unary(h: &mut Hlo, op: UnaryOp, x: &str, shape: &[usize], d: DType) -> Result<String, MlirError> {
    let t = ty(shape, d);
    let name = match op {
        UnaryOp::Neg => "negate",
        UnaryOp::Abs if d == DType::U8 => return Ok(x.to_string()),
        UnaryOp::Abs => "abs",
        UnaryOp::Sign if d == DType::U8 => {
            let (zero, one) = (h.int(0, shape, d), h.int(1, shape, d));
            let nz = h.cmp("NE", x, &zero, shape, d);
            return Ok(h.select(&nz, &one, &zero, shape, d));
        }
        UnaryOp::Sign if d.is_float() => {
            // StableHLO's sign keeps -0.0; tensorc's is +0 for both zeros (NaN stays NaN).
            let zero = h.float(0.0, shape, d);
            let is_zero = h.cmp("EQ", x, &zero, shape, d);
            let s = h.un("sign", x, &t);
            return Ok(h.select(&is_zero, &zero, &s, shape, d));
        }
        UnaryOp::Sign => "sign",
        UnaryOp::Exp => "exponential",
        UnaryOp::Log => "log",
        UnaryOp::Sqrt => "sqrt",
        UnaryOp::Rsqrt => "rsqrt",
        UnaryOp::Sin => "sine",
        UnaryOp::Cos => "cosine",
        UnaryOp::Tanh => "tanh",
        UnaryOp::Sigmoid => "logistic",
        UnaryOp::Erf => return Ok(h.op(format!("chlo.erf {x} : {t} -> {t}"))),
        UnaryOp::Atan => {
            let one = h.float(1.0, shape, d);
            return Ok(h.bin("atan2", x, &one, &t));
        }
        UnaryOp::Floor => "floor",
        UnaryOp::Ceil => "ceil",
        UnaryOp::Round => "round_nearest_even",
        UnaryOp::Not => "not",
    };
    Ok(h.un(name, x, &t))
}

fn binary(h: &mut Hlo, op: BinaryOp, a: &str, b: &str, shape: &[usize], d: DType) -> Result<String, MlirError> {
    let t = ty(shape, d);
    if op.is_comparison() {
        let dir = match op {
            BinaryOp::Eq => "EQ",
            BinaryOp::Ne => "NE",
            BinaryOp::Lt => "LT",
            BinaryOp::Le => "LE",
            BinaryOp::Gt => "GT",
            _ => "GE",
        };
        return Ok(h.cmp(dir, a, b, shape, d));
    }
    Ok(match op {
        BinaryOp::Add if d == DType::Bool => h.bin("or", a, b, &t),
        BinaryOp::Add => h.bin("add", a, b, &t),
        BinaryOp::Sub => h.bin("subtract", a, b, &t),
        BinaryOp::Mul => h.bin("multiply", a, b, &t),
        BinaryOp::Div if d.is_float() => h.bin("divide", a, b, &t),
        BinaryOp::Div | BinaryOp::Rem if !d.is_float() => int_div_rem(h, op == BinaryOp::Rem, a, b, shape, d),
        BinaryOp::Rem => {
            // NumPy's mod: fmod, then the divisor's sign.
            let r = h.bin("remainder", a, b, &t);
            let zero = h.float(0.0, shape, d);
            let rnz = h.cmp("NE", &r, &zero, shape, d);
            let rneg = h.cmp("LT", &r, &zero, shape, d);
            let bneg = h.cmp("LT", b, &zero, shape, d);
            let bool_t = ty(shape, DType::Bool);
            let differ = h.bin("xor", &rneg, &bneg, &bool_t);
            let adjust = h.bin("and", &rnz, &differ, &bool_t);
            let rb = h.bin("add", &r, b, &t);
            let adjusted = h.select(&adjust, &rb, &r, shape, d);
            let mzero = h.float(-0.0, shape, d);
            let signed_zero = h.select(&bneg, &mzero, &zero, shape, d);
            let rz = h.cmp("EQ", &r, &zero, shape, d);
            h.select(&rz, &signed_zero, &adjusted, shape, d)
        }
        BinaryOp::Pow => h.bin("power", a, b, &t),
        BinaryOp::Max if d == DType::Bool => h.bin("or", a, b, &t),
        BinaryOp::Min if d == DType::Bool => h.bin("and", a, b, &t),
        BinaryOp::Max => h.bin("maximum", a, b, &t),
        BinaryOp::Min => h.bin("minimum", a, b, &t),
        BinaryOp::And => h.bin("and", a, b, &t),
        BinaryOp::Or => h.bin("or", a, b, &t),
        other => return Err(MlirError::Unsupported(format!("{} on {d} in StableHLO", other.name()))),
    })
}

/// Floored integer division or remainder with tensorc's zero-divisor rule.
fn int_div_rem(h: &mut Hlo, rem: bool, a: &str, b: &str, shape: &[usize], d: DType) -> String {
    let t = ty(shape, d);
    let bool_t = ty(shape, DType::Bool);
    let (zero, one) = (h.int(0, shape, d), h.int(1, shape, d));
    let by0 = h.cmp("EQ", b, &zero, shape, d);
    if d == DType::U8 {
        let safe = h.select(&by0, &one, b, shape, d);
        let r = h.bin(if rem { "remainder" } else { "divide" }, a, &safe, &t);
        return h.select(&by0, &zero, &r, shape, d);
    }
    let m1 = h.int(-1, shape, d);
    let bym1 = h.cmp("EQ", b, &m1, shape, d);
    let special = h.bin("or", &by0, &bym1, &bool_t);
    let safe = h.select(&special, &one, b, shape, d);
    let q = h.bin("divide", a, &safe, &t);
    let r = h.bin("remainder", a, &safe, &t);
    let rnz = h.cmp("NE", &r, &zero, shape, d);
    let rneg = h.cmp("LT", &r, &zero, shape, d);
    let bneg = h.cmp("LT", b, &zero, shape, d);
    let differ = h.bin("xor", &rneg, &bneg, &bool_t);
    let adjust = h.bin("and", &rnz, &differ, &bool_t);
    let (fixed, by_m1) = if rem {
        let rb = h.bin("add", &r, b, &t);
        (h.select(&adjust, &rb, &r, shape, d), zero.clone())
    } else {
        let q1 = h.bin("subtract", &q, &one, &t);
        (h.select(&adjust, &q1, &q, shape, d), h.un("negate", a, &t))
    };
    let v = h.select(&bym1, &by_m1, &fixed, shape, d);
    h.select(&by0, &zero, &v, shape, d)
}

/// The scalar identity of a reduction of `d` and the combining op's name.
fn reduction(h: &mut Hlo, op: ReduceOp, d: DType) -> (String, &'static str) {
    let init = match (op, d) {
        (ReduceOp::Sum, DType::Bool) => h.int(0, &[], d),
        (ReduceOp::Prod, DType::Bool) => h.int(1, &[], d),
        (ReduceOp::Sum, d) if d.is_float() => h.float(0.0, &[], d),
        (ReduceOp::Prod, d) if d.is_float() => h.float(1.0, &[], d),
        (ReduceOp::Max, d) if d.is_float() => h.float(f64::NEG_INFINITY, &[], d),
        (ReduceOp::Min, d) if d.is_float() => h.float(f64::INFINITY, &[], d),
        (ReduceOp::Sum, d) => h.int(0, &[], d),
        (ReduceOp::Prod, d) => h.int(1, &[], d),
        (ReduceOp::Max, DType::Bool) | (ReduceOp::Max, DType::U8) => h.int(0, &[], d),
        (ReduceOp::Min, DType::Bool) => h.int(1, &[], d),
        (ReduceOp::Min, DType::U8) => h.int(255, &[], d),
        (ReduceOp::Max, DType::I32) => h.int(i32::MIN as i64, &[], d),
        (ReduceOp::Min, DType::I32) => h.int(i32::MAX as i64, &[], d),
        (ReduceOp::Max, _) => h.int(i64::MIN, &[], d),
        (ReduceOp::Min, _) => h.int(i64::MAX, &[], d),
    };
    let combine = match (op, d) {
        (ReduceOp::Sum | ReduceOp::Max, DType::Bool) => "or",
        (ReduceOp::Prod | ReduceOp::Min, DType::Bool) => "and",
        (ReduceOp::Sum, _) => "add",
        (ReduceOp::Prod, _) => "multiply",
        (ReduceOp::Max, _) => "maximum",
        (ReduceOp::Min, _) => "minimum",
    };
    (init, combine)
}

fn reduce(h: &mut Hlo, op: ReduceOp, x: &str, xt: &Type, axes: &[usize], out: &Type) -> Result<String, MlirError> {
    let d = xt.dtype;
    let (init, combine) = reduction(h, op, d);
    let s = ty(&[], d);
    Ok(h.op(format!(
        "stablehlo.reduce({x} init: {init}) applies stablehlo.{combine} across dimensions = [{}] : ({}, {s}) -> {}",
        list(axes),
        tty(xt),
        tty(out)
    )))
}

fn arg_reduce(h: &mut Hlo, op: ArgOp, x: &str, xt: &Type, axis: usize, out: &Type) -> Result<String, MlirError> {
    let mut d = xt.dtype;
    let mut x = x.to_string();
    if d == DType::Bool {
        x = h.convert(&x, &xt.shape, d, DType::I32);
        d = DType::I32;
    }
    let idx = h.op(format!("stablehlo.iota dim = {axis} : {}", ty(&xt.shape, DType::I32)));
    let max = op == ArgOp::ArgMax;
    let init_v = match d {
        d if d.is_float() => h.float(if max { f64::NEG_INFINITY } else { f64::INFINITY }, &[], d),
        DType::U8 => h.int(if max { 0 } else { 255 }, &[], d),
        DType::I32 => h.int(if max { i32::MIN as i64 } else { i32::MAX as i64 }, &[], d),
        _ => h.int(if max { i64::MIN } else { i64::MAX }, &[], d),
    };
    let init_i = h.int(0, &[], DType::I32);
    let (s, si, sb) = (ty(&[], d), ty(&[], DType::I32), ty(&[], DType::Bool));
    let ct = compare_type(d);
    let cmp = |dir: &str, a: &str, b: &str, t: &str| format!("stablehlo.compare {dir}, {a}, {b}, {} : ({t}, {t}) -> {sb}", if t == s { ct } else { "SIGNED" });
    // (a, b) the accumulated value and index, (c, e) the other pair.
    let mut r = String::new();
    r.push_str(&format!("    ^bb0(%a: {s}, %b: {si}, %c: {s}, %e: {si}):\n"));
    r.push_str(&format!("      %better = {}\n", cmp(if max { "GT" } else { "LT" }, "%a", "%c", &s)));
    r.push_str(&format!("      %same = {}\n", cmp("EQ", "%a", "%c", &s)));
    r.push_str(&format!("      %first = {}\n", cmp("LT", "%b", "%e", &si)));
    r.push_str(&format!("      %tie = stablehlo.and %same, %first : {sb}\n"));
    r.push_str(&format!("      %keep0 = stablehlo.or %better, %tie : {sb}\n"));
    if d.is_float() {
        // NaN first: a NaN beats a number; two NaNs go by index.
        r.push_str(&format!("      %anan = {}\n", cmp("NE", "%a", "%a", &s)));
        r.push_str(&format!("      %cnan = {}\n", cmp("NE", "%c", "%c", &s)));
        r.push_str(&format!("      %cnum = stablehlo.not %cnan : {sb}\n"));
        r.push_str(&format!("      %nan_wins = stablehlo.and %anan, %cnum : {sb}\n"));
        r.push_str(&format!("      %both = stablehlo.and %anan, %cnan : {sb}\n"));
        r.push_str(&format!("      %both_first = stablehlo.and %both, %first : {sb}\n"));
        r.push_str(&format!("      %keep1 = stablehlo.or %keep0, %nan_wins : {sb}\n"));
        r.push_str(&format!("      %keep2 = stablehlo.or %keep1, %both_first : {sb}\n"));
        r.push_str(&format!("      %anum = stablehlo.not %anan : {sb}\n"));
        r.push_str(&format!("      %lose = stablehlo.and %anum, %cnan : {sb}\n"));
        r.push_str(&format!("      %notlose = stablehlo.not %lose : {sb}\n"));
        r.push_str(&format!("      %keep = stablehlo.and %keep2, %notlose : {sb}\n"));
    }
    let keep = if d.is_float() { "%keep" } else { "%keep0" };
    r.push_str(&format!("      %v = stablehlo.select {keep}, %a, %c : {sb}, {s}\n"));
    r.push_str(&format!("      %i = stablehlo.select {keep}, %b, %e : {sb}, {si}\n"));
    r.push_str(&format!("      stablehlo.return %v, %i : {s}, {si}\n"));
    let (xt2, it) = (ty(&xt.shape, d), ty(&xt.shape, DType::I32));
    let (ov, oi) = (ty(&out.shape, d), tty(out));
    h.next += 1;
    let v = format!("%h{}", h.next);
    h.body.push_str(&format!(
        "  {v}:2 = \"stablehlo.reduce\"({x}, {idx}, {init_v}, {init_i}) ({{\n{r}  }}) {{dimensions = array<i64: {axis}>}} : ({xt2}, {it}, {s}, {si}) -> ({ov}, {oi})\n"
    ));
    Ok(format!("{v}#1"))
}

/// `stablehlo.sort` of `x` with an iota beside it, NaN last; the iota's sorted copy is
/// the permutation. The comparator breaks ties by the index, so the order is total and
/// the result does not depend on the sort's own stability.
fn arg_sort(h: &mut Hlo, x: &str, xt: &Type, axis: usize, descending: bool) -> Result<String, MlirError> {
    let d = xt.dtype;
    let idx = h.op(format!("stablehlo.iota dim = {axis} : {}", ty(&xt.shape, DType::I32)));
    let (s, si, sb) = (ty(&[], d), ty(&[], DType::I32), ty(&[], DType::Bool));
    let ct = compare_type(d);
    let mut r = String::new();
    r.push_str(&format!("    ^bb0(%a: {s}, %c: {s}, %b: {si}, %e: {si}):\n"));
    let dir = if descending { "GT" } else { "LT" };
    r.push_str(&format!("      %strictly = stablehlo.compare {dir}, %a, %c, {ct} : ({s}, {s}) -> {sb}\n"));
    r.push_str(&format!("      %same = stablehlo.compare EQ, %a, %c, {ct} : ({s}, {s}) -> {sb}\n"));
    r.push_str(&format!("      %first = stablehlo.compare LT, %b, %e, SIGNED : ({si}, {si}) -> {sb}\n"));
    r.push_str(&format!("      %tie = stablehlo.and %same, %first : {sb}\n"));
    r.push_str(&format!("      %ordered = stablehlo.or %strictly, %tie : {sb}\n"));
    let result = if d.is_float() {
        // A number goes before a NaN; NaNs go by index.
        r.push_str(&format!("      %anan = stablehlo.compare NE, %a, %a, {ct} : ({s}, {s}) -> {sb}\n"));
        r.push_str(&format!("      %cnan = stablehlo.compare NE, %c, %c, {ct} : ({s}, {s}) -> {sb}\n"));
        r.push_str(&format!("      %anum = stablehlo.not %anan : {sb}\n"));
        r.push_str(&format!("      %num_first = stablehlo.and %anum, %cnan : {sb}\n"));
        r.push_str(&format!("      %both = stablehlo.and %anan, %cnan : {sb}\n"));
        r.push_str(&format!("      %nan_order = stablehlo.and %both, %first : {sb}\n"));
        r.push_str(&format!("      %lt0 = stablehlo.or %ordered, %num_first : {sb}\n"));
        r.push_str(&format!("      %lt = stablehlo.or %lt0, %nan_order : {sb}\n"));
        "%lt"
    } else {
        "%ordered"
    };
    r.push_str(&format!("      stablehlo.return {result} : {sb}\n"));
    let (xt2, it) = (ty(&xt.shape, d), ty(&xt.shape, DType::I32));
    h.next += 1;
    let v = format!("%h{}", h.next);
    h.body.push_str(&format!(
        "  {v}:2 = \"stablehlo.sort\"({x}, {idx}) ({{\n{r}  }}) {{dimension = {axis} : i64, is_stable = true}} : ({xt2}, {it}) -> ({xt2}, {it})\n"
    ));
    Ok(format!("{v}#1"))
}

/// Indices counted from the end when negative, clamped into `[0, size - 1]`, as i32
/// with a trailing unit axis (the index vector).
fn normalized_indices(h: &mut Hlo, idx: &str, it: &Type, size: usize) -> String {
    let shape = &it.shape[..];
    let i = h.convert(idx, shape, it.dtype, DType::I32);
    let (zero, n, last) = (h.int(0, shape, DType::I32), h.int(size as i64, shape, DType::I32), h.int(size.max(1) as i64 - 1, shape, DType::I32));
    let t = ty(shape, DType::I32);
    let neg = h.cmp("LT", &i, &zero, shape, DType::I32);
    let wrapped = h.bin("add", &i, &n, &t);
    let i = h.select(&neg, &wrapped, &i, shape, DType::I32);
    let i = h.op(format!("stablehlo.clamp {zero}, {i}, {last} : {t}"));
    let mut vshape = shape.to_vec();
    vshape.push(1);
    h.op(format!("stablehlo.reshape {i} : ({t}) -> {}", ty(&vshape, DType::I32)))
}

fn gather(h: &mut Hlo, x: &str, xt: &Type, idx: &str, it: &Type, axis: usize, out: &Type) -> String {
    let r = xt.shape.len();
    let k = it.shape.len();
    let iv = normalized_indices(h, idx, it, xt.shape[axis]);
    let mut vshape = it.shape.clone();
    vshape.push(1);
    let offset_dims: Vec<usize> = (0..axis).chain(axis + k..r - 1 + k).collect();
    let mut sizes = xt.shape.clone();
    sizes[axis] = 1;
    h.op(format!(
        "\"stablehlo.gather\"({x}, {iv}) {{dimension_numbers = #stablehlo.gather<offset_dims = [{}], collapsed_slice_dims = [{axis}], start_index_map = [{axis}], index_vector_dim = {k}>, slice_sizes = array<i64: {}>, indices_are_sorted = false}} : ({}, {}) -> {}",
        list(&offset_dims),
        list(&sizes),
        tty(xt),
        ty(&vshape, DType::I32),
        tty(out)
    ))
}

fn scatter_add(h: &mut Hlo, idx: &str, it: &Type, upd: &str, ut: &Type, axis: usize, out: &Type) -> Result<String, MlirError> {
    let d = out.dtype;
    let k = it.shape.len();
    let r = out.shape.len();
    let iv = normalized_indices(h, idx, it, out.shape[axis]);
    let mut vshape = it.shape.clone();
    vshape.push(1);
    let zero = if d.is_float() { h.float(0.0, &out.shape, d) } else { h.int(0, &out.shape, d) };
    let window: Vec<usize> = (0..axis).chain(axis + k..r - 1 + k).collect();
    let s = ty(&[], d);
    let add = if d == DType::Bool { "or" } else { "add" };
    Ok(h.op(format!(
        "\"stablehlo.scatter\"({zero}, {iv}, {upd}) ({{\n    ^bb0(%a: {s}, %b: {s}):\n      %s = stablehlo.{add} %a, %b : {s}\n      stablehlo.return %s : {s}\n  }}) {{scatter_dimension_numbers = #stablehlo.scatter<update_window_dims = [{}], inserted_window_dims = [{axis}], scatter_dims_to_operand_dims = [{axis}], index_vector_dim = {k}>, indices_are_sorted = false, unique_indices = false}} : ({}, {}, {}) -> {}",
        list(&window),
        tty(out),
        ty(&vshape, DType::I32),
        tty(ut),
        tty(out)
    )))
}

#[allow(clippy::too_many_arguments)]
fn reduce_window(h: &mut Hlo, x: &str, xt: &Type, init: &str, combine: &str, size: [usize; 2], stride: [usize; 2], out: &Type) -> String {
    let s = ty(&[], xt.dtype);
    h.op(format!(
        "\"stablehlo.reduce_window\"({x}, {init}) ({{\n    ^bb0(%a: {s}, %b: {s}):\n      %m = stablehlo.{combine} %a, %b : {s}\n      stablehlo.return %m : {s}\n  }}) {{window_dimensions = array<i64: 1, 1, {}, {}>, window_strides = array<i64: 1, 1, {}, {}>}} : ({}, {s}) -> {}",
        size[0],
        size[1],
        stride[0],
        stride[1],
        tty(xt),
        tty(out)
    ))
}

fn pool(h: &mut Hlo, kind: PoolKind, x: &str, xt: &Type, size: [usize; 2], stride: [usize; 2], out: &Type) -> Result<String, MlirError> {
    let d = xt.dtype;
    let (init, combine) = reduction(h, if kind == PoolKind::Max { ReduceOp::Max } else { ReduceOp::Sum }, d);
    let folded = reduce_window(h, x, xt, &init, combine, size, stride, out);
    if kind == PoolKind::Max {
        return Ok(folded);
    }
    let n = h.float((size[0] * size[1]) as f64, &out.shape, d);
    Ok(h.bin("divide", &folded, &n, &tty(out)))
}

/// The gradient of pooling, as a sum over window offsets (module docs).
#[allow(clippy::too_many_arguments)]
fn pool_grad(h: &mut Hlo, kind: PoolKind, x: &str, xt: &Type, dy: &str, dt: &Type, size: [usize; 2], stride: [usize; 2]) -> Result<String, MlirError> {
    let d = xt.dtype;
    let (ds, xs) = (&dt.shape[..], &xt.shape[..]);
    let (ho, wo) = (ds[2], ds[3]);
    let dty = tty(dt);
    let (max, ties) = if kind == PoolKind::Max {
        let m = pool(h, PoolKind::Max, x, xt, size, stride, dt)?;
        // Count the maxima of each window.
        let mut count = h.float(0.0, ds, d);
        for r in 0..size[0] {
            for s in 0..size[1] {
                let part = strided(h, x, xt, r, s, stride, ho, wo, dt);
                let hit = is_max(h, &part, &m, ds, d);
                let (one, zero) = (h.float(1.0, ds, d), h.float(0.0, ds, d));
                let add = h.select(&hit, &one, &zero, ds, d);
                count = h.bin("add", &count, &add, &dty);
            }
        }
        (Some(m), Some(count))
    } else {
        (None, None)
    };
    let mut total = h.float(0.0, xs, d);
    let share = match &ties {
        Some(t) => h.bin("divide", dy, t, &dty),
        None => {
            let n = h.float((size[0] * size[1]) as f64, ds, d);
            h.bin("divide", dy, &n, &dty)
        }
    };
    let pad_value = h.float(0.0, &[], d);
    for r in 0..size[0] {
        for s in 0..size[1] {
            let contribution = match &max {
                Some(m) => {
                    let part = strided(h, x, xt, r, s, stride, ho, wo, dt);
                    let hit = is_max(h, &part, m, ds, d);
                    let zero = h.float(0.0, ds, d);
                    h.select(&hit, &share, &zero, ds, d)
                }
                None => share.clone(),
            };
            // Back to x's positions: element (i, j) goes to (i*stride0 + r, j*stride1 + s).
            let high0 = xs[2] - (r + (ho.max(1) - 1) * stride[0] + 1).min(xs[2]);
            let high1 = xs[3] - (s + (wo.max(1) - 1) * stride[1] + 1).min(xs[3]);
            let placed = h.op(format!(
                "stablehlo.pad {contribution}, {pad_value}, low = [0, 0, {r}, {s}], high = [0, 0, {high0}, {high1}], interior = [0, 0, {}, {}] : ({dty}, {}) -> {}",
                stride[0] - 1,
                stride[1] - 1,
                ty(&[], d),
                tty(xt)
            ));
            total = h.bin("add", &total, &placed, &tty(xt));
        }
    }
    Ok(total)
}

/// The elements at window offset (r, s) of every window: a strided slice of x.
#[allow(clippy::too_many_arguments)]
fn strided(h: &mut Hlo, x: &str, xt: &Type, r: usize, s: usize, stride: [usize; 2], ho: usize, wo: usize, dt: &Type) -> String {
    let xs = &xt.shape;
    h.op(format!(
        "stablehlo.slice {x} [0:{}, 0:{}, {r}:{}:{}, {s}:{}:{}] : ({}) -> {}",
        xs[0],
        xs[1],
        r + (ho.max(1) - 1) * stride[0] + 1,
        stride[0],
        s + (wo.max(1) - 1) * stride[1] + 1,
        stride[1],
        tty(xt),
        tty(dt)
    ))
}

/// Whether `v` is its window's maximum `m` (NaN maxima are the NaNs).
fn is_max(h: &mut Hlo, v: &str, m: &str, shape: &[usize], d: DType) -> String {
    let eq = h.cmp("EQ", v, m, shape, d);
    let vnan = h.cmp("NE", v, v, shape, d);
    let mnan = h.cmp("NE", m, m, shape, d);
    h.select(&mnan, &vnan, &eq, shape, DType::Bool)
}

/// Philox-4x32-10 per element in 64-bit unsigned arithmetic (bit-exact with
/// `tc_interp::random`).
fn random(h: &mut Hlo, seed: &str, st: &Type, out: &Type, dist: Dist) -> Result<String, MlirError> {
    if !out.dtype.is_float() {
        return Err(MlirError::Unsupported(format!("random of {}", out.dtype)));
    }
    let n = out.num_elements();
    let sh = [n];
    let u64t = ty(&sh, DType::I64).replace("i64", "ui64");
    let u64s = "tensor<ui64>";
    // Words live in ui64 tensors holding 32-bit values.
    let konst = |h: &mut Hlo, x: u64| h.op(format!("stablehlo.constant dense<{x}> : {u64t}"));
    let seed64 = h.convert(seed, &[], st.dtype, DType::I64);
    let seed_u = h.op(format!("stablehlo.bitcast_convert {seed64} : (tensor<i64>) -> {u64s}"));
    let seed_b = h.op(format!("stablehlo.broadcast_in_dim {seed_u}, dims = [] : ({u64s}) -> {u64t}"));
    let mask = konst(h, 0xFFFF_FFFF);
    let c32 = konst(h, 32);
    let lo = |h: &mut Hlo, x: &str| h.bin("and", x, &mask, &u64t);
    let hi = |h: &mut Hlo, x: &str| h.op(format!("stablehlo.shift_right_logical {x}, {c32} : {u64t}"));
    let mut key = [lo(h, &seed_b), hi(h, &seed_b)];
    let index = h.op(format!("stablehlo.iota dim = 0 : {u64t}"));
    let zero = konst(h, 0);
    let mut c = [lo(h, &index), hi(h, &index), zero.clone(), zero];
    let m = [konst(h, 0xD251_1F53), konst(h, 0xCD9E_8D57)];
    let w = [konst(h, 0x9E37_79B9), konst(h, 0xBB67_AE85)];
    for round in 0..10 {
        if round > 0 {
            let k0 = h.bin("add", &key[0], &w[0], &u64t);
            let k1 = h.bin("add", &key[1], &w[1], &u64t);
            key = [lo(h, &k0), lo(h, &k1)];
        }
        let p0 = h.bin("multiply", &m[0], &c[0], &u64t);
        let p1 = h.bin("multiply", &m[1], &c[2], &u64t);
        let (hi0, lo0, hi1, lo1) = (hi(h, &p0), lo(h, &p0), hi(h, &p1), lo(h, &p1));
        let x0 = h.bin("xor", &hi1, &c[1], &u64t);
        let x0 = h.bin("xor", &x0, &key[0], &u64t);
        let x2 = h.bin("xor", &hi0, &c[3], &u64t);
        let x2 = h.bin("xor", &x2, &key[1], &u64t);
        c = [x0, lo1, x2, lo0];
    }
    let eight = konst(h, 8);
    let f64t = ty(&sh, DType::F64);
    let top24 = |h: &mut Hlo, x: &str| {
        let s = h.op(format!("stablehlo.shift_right_logical {x}, {eight} : {u64t}"));
        h.op(format!("stablehlo.convert {s} : ({u64t}) -> {f64t}"))
    };
    let scale = h.float(1.0 / 16_777_216.0, &sh, DType::F64);
    let v = match dist {
        Dist::Uniform => {
            let u = top24(h, &c[0]);
            h.bin("multiply", &u, &scale, &f64t)
        }
        Dist::Normal => {
            let one = h.float(1.0, &sh, DType::F64);
            let a = top24(h, &c[0]);
            let a1 = h.bin("add", &a, &one, &f64t);
            let u1 = h.bin("multiply", &a1, &scale, &f64t);
            let b = top24(h, &c[1]);
            let u2 = h.bin("multiply", &b, &scale, &f64t);
            let m2 = h.float(-2.0, &sh, DType::F64);
            let ln = h.un("log", &u1, &f64t);
            let r2 = h.bin("multiply", &m2, &ln, &f64t);
            let r = h.un("sqrt", &r2, &f64t);
            let tau = h.float(std::f64::consts::TAU, &sh, DType::F64);
            let th = h.bin("multiply", &tau, &u2, &f64t);
            let cs = h.un("cosine", &th, &f64t);
            h.bin("multiply", &r, &cs, &f64t)
        }
    };
    let v = h.convert(&v, &sh, DType::F64, out.dtype);
    Ok(h.op(format!("stablehlo.reshape {v} : ({}) -> {}", ty(&sh, out.dtype), tty(out))))
}
