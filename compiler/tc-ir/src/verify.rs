//! The verifier: checks that a graph is well formed and that every node follows its
//! op's typing rule as stated in [`crate::ops`].
//!
//! - [`verify`] checks a whole graph: topological order, parameter numbering, outputs,
//!   and every node ([`check_node`]).
//! - [`infer_type`] gives the result type of ops whose type follows from their inputs
//!   and attributes; ops whose type is carried by the node (`Param`, `Const`, `Iota`,
//!   `Random`, `Cast`, `Broadcast`, `Reshape`, `ScatterAdd`) are only checked for
//!   consistency by [`check_node`].
//!
//! Dtype rules beyond ops.rs, stated once here: "numbers" are the int and float dtypes
//! (not bool). Elementwise arithmetic (`add`..`rem`, `neg`, `abs`, `sign`), `matmul`,
//! `conv2d`, `scatter_add` and max pooling are on numbers; binary `max`/`min` (on bool:
//! or/and), comparisons, `select`, reductions (as the interpreter defines them on bool),
//! `iota`, shape ops, `gather` and arg-reductions take any dtype; `pow`, the float-only
//! unary ops, average pooling and `pool_grad` take floats; `and`/`or`/`not` take bool.

use crate::graph::{Graph, NodeId, Type};
use crate::ops::{BinaryOp, Op, PoolKind, UnaryOp};
use tc_tensor::DType;

/// What is wrong with a graph: the node (if the problem is in one), its mnemonic, and
/// a message. Displays as `%7 (add): operand types differ: f32[3] and f32[2]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyError {
    pub node: Option<NodeId>,
    pub op: Option<&'static str>,
    pub message: String,
}

impl std::fmt::Display for VerifyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.node, self.op) {
            (Some(id), Some(op)) => write!(f, "{id} ({op}): {}", self.message),
            (Some(id), None) => write!(f, "{id}: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for VerifyError {}

/// Check the whole graph; the first problem found is returned.
pub fn verify(graph: &Graph) -> Result<(), VerifyError> {
    let graph_error = |message: String| VerifyError { node: None, op: None, message };
    let mut params: Vec<(usize, NodeId)> = Vec::new();
    for (i, node) in graph.nodes.iter().enumerate() {
        let id = NodeId(i as u32);
        let node_error = |message: String| VerifyError { node: Some(id), op: Some(node.op.mnemonic()), message };
        let mut inputs = Vec::with_capacity(node.inputs.len());
        for &input in &node.inputs {
            if input.index() >= graph.nodes.len() {
                return Err(node_error(format!("input {input} does not exist")));
            }
            if input.index() >= i {
                return Err(node_error(format!(
                    "input {input} is not defined before this node (nodes must be in topological order)"
                )));
            }
            inputs.push(&graph.nodes[input.index()].ty);
        }
        if checked_elements(&node.ty.shape).is_none() {
            return Err(node_error(format!("the element count of {} overflows", node.ty)));
        }
        check_node(&node.op, &inputs, &node.ty).map_err(node_error)?;
        if let Op::Param(p) = node.op {
            params.push((p, id));
        }
    }
    params.sort();
    for (expect, pair) in params.iter().enumerate() {
        let (p, id) = *pair;
        if p < expect {
            let first = params[expect - 1].1;
            return Err(VerifyError {
                node: Some(id),
                op: Some("param"),
                message: format!("parameter {p} is also {first}"),
            });
        }
        if p > expect {
            return Err(graph_error(format!(
                "parameter {expect} is missing (parameters must be numbered 0 to n-1; {id} is parameter {p})"
            )));
        }
    }
    for (k, &o) in graph.outputs.iter().enumerate() {
        if o.index() >= graph.nodes.len() {
            return Err(graph_error(format!("output {k} is {o}, which does not exist")));
        }
    }
    verify_donations(graph, &params)
}

/// Each donation pairs an existing parameter with an existing output of its type, and
/// names each of them at most once.
fn verify_donations(graph: &Graph, params: &[(usize, NodeId)]) -> Result<(), VerifyError> {
    let error = |message: String| Err(VerifyError { node: None, op: None, message });
    for (k, d) in graph.donations.iter().enumerate() {
        let Some(&(_, param)) = params.get(d.param) else {
            return error(format!("donation {k} names parameter {}, which does not exist", d.param));
        };
        let Some(&out) = graph.outputs.get(d.output) else {
            return error(format!("donation {k} names output {}, which does not exist", d.output));
        };
        let (pt, ot) = (graph.ty(param), graph.ty(out));
        if pt != ot {
            return error(format!("donation {k}: parameter {} is {pt} but output {} is {ot}", d.param, d.output));
        }
        if let Some(e) = graph.donations[..k].iter().find(|e| e.param == d.param || e.output == d.output) {
            let (what, n) = if e.param == d.param { ("parameter", d.param) } else { ("output", d.output) };
            return error(format!("{what} {n} is donated twice"));
        }
    }
    Ok(())
}

/// Check one node: `ty` is its type and `inputs` the types of its inputs.
pub fn check_node(op: &Op, inputs: &[&Type], ty: &Type) -> Result<(), String> {
    match op {
        Op::Param(_) => arity(inputs, 0),
        Op::Const(t) => {
            arity(inputs, 0)?;
            if t.dtype() != ty.dtype || t.shape() != ty.shape.as_slice() {
                return Err(format!("the constant is {}, the node's type is {ty}", t.type_string()));
            }
            Ok(())
        }
        Op::Iota { axis } => {
            arity(inputs, 0)?;
            axis_in_range(*axis, ty.rank(), "axis")
        }
        Op::Random(_) => {
            arity(inputs, 1)?;
            let seed = inputs[0];
            if !seed.dtype.is_int() || seed.rank() != 0 {
                return Err(format!("the seed must be an integer scalar, found {seed}"));
            }
            if !ty.dtype.is_float() {
                return Err(format!("random numbers must have a float dtype, found {}", ty.dtype));
            }
            Ok(())
        }
        Op::Cast => {
            arity(inputs, 1)?;
            if inputs[0].shape != ty.shape {
                return Err(format!("a cast keeps the shape: {} to {ty}", inputs[0]));
            }
            Ok(())
        }
        Op::Broadcast { dims } => {
            arity(inputs, 1)?;
            let x = inputs[0];
            same_dtype(x.dtype, ty.dtype)?;
            if dims.len() != x.rank() {
                return Err(format!("dims has {} entries for an input of rank {}", dims.len(), x.rank()));
            }
            if dims.windows(2).any(|w| w[0] >= w[1]) {
                return Err(format!("dims {dims:?} must be strictly increasing"));
            }
            for (i, &d) in dims.iter().enumerate() {
                axis_in_range(d, ty.rank(), "dims entry")?;
                if x.shape[i] != ty.shape[d] && x.shape[i] != 1 {
                    return Err(format!(
                        "input axis {i} of size {} cannot broadcast to output axis {d} of size {}",
                        x.shape[i], ty.shape[d]
                    ));
                }
            }
            Ok(())
        }
        Op::Reshape => {
            arity(inputs, 1)?;
            let x = inputs[0];
            same_dtype(x.dtype, ty.dtype)?;
            if checked_elements(&x.shape) != checked_elements(&ty.shape) {
                return Err(format!("cannot reshape {x} to {ty}: the element counts differ"));
            }
            Ok(())
        }
        Op::ScatterAdd { axis } => {
            arity(inputs, 2)?;
            let (idx, updates) = (inputs[0], inputs[1]);
            integer(idx.dtype, "the indices")?;
            number(ty.dtype, "scatter_add")?;
            same_dtype(updates.dtype, ty.dtype)?;
            axis_in_range(*axis, ty.rank(), "axis")?;
            let want = gathered_shape(&ty.shape, &idx.shape, *axis);
            if updates.shape != want {
                return Err(format!(
                    "the updates must be {} for indices {idx} into {ty}, found {updates}",
                    Type::new(ty.dtype, want)
                ));
            }
            if ty.shape[*axis] == 0 && checked_elements(&idx.shape) != Some(0) {
                return Err(format!("scatters into axis {axis} of size 0"));
            }
            Ok(())
        }
        _ => {
            let want = infer_type(op, inputs)?;
            if want != *ty {
                return Err(format!("the result type should be {want}, the node says {ty}"));
            }
            Ok(())
        }
    }
}

/// The result type of `op` applied to inputs of these types, for ops whose type follows
/// from inputs and attributes; an error says why the inputs do not fit (or that the op's
/// type is carried by its node).
pub fn infer_type(op: &Op, inputs: &[&Type]) -> Result<Type, String> {
    match op {
        Op::Param(_)
        | Op::Const(_)
        | Op::Iota { .. }
        | Op::Random(_)
        | Op::Cast
        | Op::Broadcast { .. }
        | Op::Reshape
        | Op::ScatterAdd { .. } => {
            Err(format!("the result type of `{}` is given by its node, not inferred", op.mnemonic()))
        }
        Op::Unary(u) => {
            arity(inputs, 1)?;
            let x = inputs[0];
            match u {
                UnaryOp::Not => is_bool(x.dtype, "`not`")?,
                u if u.float_only() => float(x.dtype, &format!("`{}`", u.name()))?,
                u => number(x.dtype, &format!("`{}`", u.name()))?,
            }
            Ok(x.clone())
        }
        Op::Binary(b) => {
            arity(inputs, 2)?;
            let (x, y) = (inputs[0], inputs[1]);
            if x != y {
                return Err(format!("operand types differ: {x} and {y}"));
            }
            let what = format!("`{}`", b.name());
            match b {
                BinaryOp::And | BinaryOp::Or => is_bool(x.dtype, &what)?,
                BinaryOp::Pow => float(x.dtype, &what)?,
                BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Rem => {
                    number(x.dtype, &what)?
                }
                _ => {}
            }
            Ok(x.with_dtype(b.result_dtype(x.dtype)))
        }
        Op::Select => {
            arity(inputs, 3)?;
            let (c, a, b) = (inputs[0], inputs[1], inputs[2]);
            is_bool(c.dtype, "the condition")?;
            if a != b {
                return Err(format!("the branches' types differ: {a} and {b}"));
            }
            if c.shape != a.shape {
                return Err(format!("the condition is {c}, the branches {a}"));
            }
            Ok(a.clone())
        }
        Op::Reduce { axes, .. } => {
            arity(inputs, 1)?;
            let x = inputs[0];
            if axes.windows(2).any(|w| w[0] >= w[1]) {
                return Err(format!("axes {axes:?} must be sorted and distinct"));
            }
            for &a in axes {
                axis_in_range(a, x.rank(), "axis")?;
            }
            let shape = x.shape.iter().enumerate().filter(|(i, _)| !axes.contains(i)).map(|(_, &d)| d).collect();
            Ok(Type::new(x.dtype, shape))
        }
        Op::ArgReduce { axis, .. } => {
            arity(inputs, 1)?;
            let x = inputs[0];
            axis_in_range(*axis, x.rank(), "axis")?;
            if x.shape[*axis] == 0 {
                return Err(format!("axis {axis} of {x} is empty"));
            }
            let mut shape = x.shape.clone();
            shape.remove(*axis);
            Ok(Type::new(DType::I32, shape))
        }
        Op::ArgSort { axis, .. } => {
            arity(inputs, 1)?;
            let x = inputs[0];
            axis_in_range(*axis, x.rank(), "axis")?;
            if x.dtype == DType::Bool {
                return Err(format!("argsort of {x}: bool has no order here"));
            }
            Ok(Type::new(DType::I32, x.shape.clone()))
        }
        Op::Transpose { perm } => {
            arity(inputs, 1)?;
            let x = inputs[0];
            let mut seen = vec![false; x.rank()];
            if perm.len() != x.rank() || !perm.iter().all(|&p| p < x.rank() && !std::mem::replace(&mut seen[p], true)) {
                return Err(format!("perm {perm:?} is not a permutation of the {} axes of {x}", x.rank()));
            }
            Ok(Type::new(x.dtype, perm.iter().map(|&p| x.shape[p]).collect()))
        }
        Op::Reverse { axes } => {
            arity(inputs, 1)?;
            let x = inputs[0];
            for (i, &a) in axes.iter().enumerate() {
                axis_in_range(a, x.rank(), "axis")?;
                if axes[..i].contains(&a) {
                    return Err(format!("axis {a} is repeated"));
                }
            }
            Ok(x.clone())
        }
        Op::Slice { start, end } => {
            arity(inputs, 1)?;
            let x = inputs[0];
            if start.len() != x.rank() || end.len() != x.rank() {
                return Err(format!(
                    "start and end need {} entries for {x}, found {} and {}",
                    x.rank(),
                    start.len(),
                    end.len()
                ));
            }
            for (i, ((&s, &e), &d)) in start.iter().zip(end).zip(&x.shape).enumerate() {
                if !(s <= e && e <= d) {
                    return Err(format!("axis {i}: the slice {s}..{e} is not within 0..{d} (start <= end <= size)"));
                }
            }
            Ok(Type::new(x.dtype, start.iter().zip(end).map(|(s, e)| e - s).collect()))
        }
        Op::Pad { lo, hi } => {
            arity(inputs, 2)?;
            let (x, v) = (inputs[0], inputs[1]);
            if v.rank() != 0 || v.dtype != x.dtype {
                return Err(format!("the padding value must be a {} scalar, found {v}", x.dtype));
            }
            if lo.len() != x.rank() || hi.len() != x.rank() {
                return Err(format!(
                    "lo and hi need {} entries for {x}, found {} and {}",
                    x.rank(),
                    lo.len(),
                    hi.len()
                ));
            }
            let shape = x
                .shape
                .iter()
                .zip(lo.iter().zip(hi))
                .map(|(&d, (&l, &h))| d.checked_add(l).and_then(|s| s.checked_add(h)))
                .collect::<Option<Vec<usize>>>()
                .ok_or("the padded size overflows")?;
            result(x.dtype, shape)
        }
        Op::Concat { axis } => {
            let Some(first) = inputs.first() else {
                return Err("concat needs at least one input".to_string());
            };
            axis_in_range(*axis, first.rank(), "axis")?;
            let mut total: usize = 0;
            for (k, x) in inputs.iter().enumerate() {
                same_dtype(x.dtype, first.dtype)?;
                let fits = x.rank() == first.rank()
                    && x.shape.iter().zip(&first.shape).enumerate().all(|(i, (a, b))| i == *axis || a == b);
                if !fits {
                    return Err(format!("input {k} is {x}, which does not match {first} except along axis {axis}"));
                }
                total = total.checked_add(x.shape[*axis]).ok_or("the concatenated size overflows")?;
            }
            let mut shape = first.shape.clone();
            shape[*axis] = total;
            result(first.dtype, shape)
        }
        Op::Gather { axis } => {
            arity(inputs, 2)?;
            let (x, idx) = (inputs[0], inputs[1]);
            integer(idx.dtype, "the indices")?;
            axis_in_range(*axis, x.rank(), "axis")?;
            if x.shape[*axis] == 0 && checked_elements(&idx.shape) != Some(0) {
                return Err(format!("gathers from axis {axis} of size 0"));
            }
            result(x.dtype, gathered_shape(&x.shape, &idx.shape, *axis))
        }
        Op::MatMul => {
            arity(inputs, 2)?;
            let (a, b) = (inputs[0], inputs[1]);
            same_dtype(a.dtype, b.dtype)?;
            number(a.dtype, "`matmul`")?;
            if a.rank() < 2 || b.rank() < 2 {
                return Err(format!("both operands need rank >= 2, found {a} and {b}"));
            }
            let (r, s) = (a.rank(), b.rank());
            if a.shape[..r - 2] != b.shape[..s - 2] {
                return Err(format!("batch dimensions differ: {a} and {b}"));
            }
            if a.shape[r - 1] != b.shape[s - 2] {
                return Err(format!("inner dimensions differ: {a} @ {b}"));
            }
            let mut shape = a.shape[..r - 1].to_vec();
            shape.push(b.shape[s - 1]);
            Ok(Type::new(a.dtype, shape))
        }
        Op::Conv2d { stride, pad, dilation } => {
            arity(inputs, 2)?;
            let (x, w) = (inputs[0], inputs[1]);
            same_dtype(x.dtype, w.dtype)?;
            number(x.dtype, "`conv2d`")?;
            if x.rank() != 4 || w.rank() != 4 {
                return Err(format!("x must be [N, C, H, W] and w [K, C, R, S], found {x} and {w}"));
            }
            if x.shape[1] != w.shape[1] {
                return Err(format!("channels differ: x is {x}, w is {w}"));
            }
            positive(stride, "stride")?;
            positive(dilation, "dilation")?;
            let mut shape = vec![x.shape[0], w.shape[0]];
            for i in 0..2 {
                let (size, k) = (x.shape[2 + i], w.shape[2 + i]);
                if k == 0 {
                    return Err(format!("the kernel {w} is empty"));
                }
                let padded = size.checked_add(pad[i].0).and_then(|s| s.checked_add(pad[i].1));
                let window = dilation[i].checked_mul(k - 1).and_then(|s| s.checked_add(1));
                match (padded, window) {
                    (Some(p), Some(win)) if p >= win => shape.push((p - win) / stride[i] + 1),
                    _ => return Err(format!("axis {}: the dilated kernel is larger than the padded input", 2 + i)),
                }
            }
            Ok(Type::new(x.dtype, shape))
        }
        Op::Pool { kind, size, stride } => {
            arity(inputs, 1)?;
            let x = inputs[0];
            pool_dtype(*kind, x.dtype, "`pool`")?;
            Ok(Type::new(x.dtype, pooled_shape(x, size, stride)?))
        }
        Op::PoolGrad { kind, size, stride } => {
            arity(inputs, 2)?;
            let (x, dy) = (inputs[0], inputs[1]);
            float(x.dtype, "`pool_grad`")?;
            pool_dtype(*kind, x.dtype, "`pool_grad`")?;
            same_dtype(dy.dtype, x.dtype)?;
            let want = pooled_shape(x, size, stride)?;
            if dy.shape != want {
                return Err(format!(
                    "dy must be shaped like the pool's result {}, found {dy}",
                    Type::new(x.dtype, want)
                ));
            }
            Ok(x.clone())
        }
    }
}

fn pooled_shape(x: &Type, size: &[usize; 2], stride: &[usize; 2]) -> Result<Vec<usize>, String> {
    if x.rank() != 4 {
        return Err(format!("x must be [N, C, H, W], found {x}"));
    }
    positive(size, "size")?;
    positive(stride, "stride")?;
    let mut shape = x.shape[..2].to_vec();
    for i in 0..2 {
        let d = x.shape[2 + i];
        if d < size[i] {
            return Err(format!("axis {}: the window {} is larger than the input {d}", 2 + i, size[i]));
        }
        shape.push((d - size[i]) / stride[i] + 1);
    }
    Ok(shape)
}

fn pool_dtype(kind: PoolKind, dtype: DType, what: &str) -> Result<(), String> {
    match kind {
        PoolKind::Max => number(dtype, what),
        PoolKind::Avg => float(dtype, &format!("average {what}")),
    }
}

/// `outer.shape[..axis] ++ idx ++ outer.shape[axis+1..]`.
fn gathered_shape(outer: &[usize], idx: &[usize], axis: usize) -> Vec<usize> {
    let mut shape = outer[..axis].to_vec();
    shape.extend_from_slice(idx);
    shape.extend_from_slice(&outer[axis + 1..]);
    shape
}

fn checked_elements(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d))
}

fn result(dtype: DType, shape: Vec<usize>) -> Result<Type, String> {
    if checked_elements(&shape).is_none() {
        return Err(format!("the result's element count overflows ({shape:?})"));
    }
    Ok(Type::new(dtype, shape))
}

fn arity(inputs: &[&Type], n: usize) -> Result<(), String> {
    if inputs.len() != n {
        return Err(format!("expects {n} input{}, found {}", if n == 1 { "" } else { "s" }, inputs.len()));
    }
    Ok(())
}

fn axis_in_range(axis: usize, rank: usize, what: &str) -> Result<(), String> {
    if axis >= rank {
        return Err(format!("{what} {axis} is out of range for rank {rank}"));
    }
    Ok(())
}

fn positive(v: &[usize; 2], what: &str) -> Result<(), String> {
    if v.contains(&0) {
        return Err(format!("{what} {v:?} must be positive"));
    }
    Ok(())
}

fn same_dtype(a: DType, b: DType) -> Result<(), String> {
    if a != b {
        return Err(format!("dtypes differ: {a} and {b}"));
    }
    Ok(())
}

fn number(d: DType, what: &str) -> Result<(), String> {
    if d == DType::Bool {
        return Err(format!("{what} needs a number dtype, found bool"));
    }
    Ok(())
}

fn float(d: DType, what: &str) -> Result<(), String> {
    if !d.is_float() {
        return Err(format!("{what} needs a float dtype, found {d}"));
    }
    Ok(())
}

fn integer(d: DType, what: &str) -> Result<(), String> {
    if !d.is_int() {
        return Err(format!("{what} must have an integer dtype, found {d}"));
    }
    Ok(())
}

fn is_bool(d: DType, what: &str) -> Result<(), String> {
    if d != DType::Bool {
        return Err(format!("{what} needs bool, found {d}"));
    }
    Ok(())
}
