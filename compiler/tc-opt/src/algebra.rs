//! Algebraic identities that remove work without changing any value:
//!
//! - `x + 0`, `0 + x`, `x - 0`, `x * 1`, `1 * x`, `x / 1`, `x ** 1` are `x` (for floats
//!   the zero's sign matters, see below);
//! - `x * 0` and `0 * x` are the zero operand, for integer dtypes only: for floats
//!   `inf * 0` and `nan * 0` are NaN, so the product is not zero;
//! - `neg(neg(x))` is `x` (also for wrapping integers);
//! - reshape of a reshape is one reshape, and a reshape to the input's own shape is
//!   the input;
//! - transpose of a transpose is one transpose with the composed permutation, and the
//!   identity permutation is the input;
//! - broadcast of a broadcast is one broadcast with the composed `dims`, and a
//!   broadcast to the input's own type (identity `dims`) is the input;
//! - a cast to the input's own dtype, a slice covering the whole input, and a concat
//!   of one input are the input.
//!
//! "0" and "1" are constants whose every element is exactly zero or one, possibly
//! broadcast. A rewrite to an existing value happens only if that value has exactly
//! the node's type.
//!
//! Signed zeros: in IEEE arithmetic `-0.0 + 0.0` is `+0.0`, and the difference is
//! observable (`1 / x` is `-inf` or `inf`). So for floats only `x + (-0.0)` and
//! `x - (+0.0)` are `x` for every `x`; `x + 0.0` and `x - (-0.0)` stay (as in LLVM
//! without `nsz`). For integers any zero will do.
//!
//! Rewritten nodes leave their old inputs behind unused; `dce` removes them.

use crate::rebuild::Rebuild;
use tc_ir::{BinaryOp, Graph, NodeId, Op, Type, UnaryOp};
use tc_tensor::Data;

pub fn algebra(graph: &Graph) -> Graph {
    let mut r = Rebuild::new(graph);
    for node in &graph.nodes {
        let inputs = r.inputs(node);
        match rewrite(&mut r.new, &node.op, &inputs, &node.ty) {
            Some(id) => r.map_next(Some(id)),
            None => {
                r.copy(node);
            }
        }
    }
    r.finish()
}

/// The replacement of a node `op(inputs): ty` (ids in `g`), pushing any new nodes.
fn rewrite(g: &mut Graph, op: &Op, inputs: &[NodeId], ty: &Type) -> Option<NodeId> {
    // `x` if it has exactly the node's type.
    let same = |g: &Graph, x: NodeId| (g.ty(x) == ty).then_some(x);
    match op {
        Op::Binary(b) => {
            let (x, y) = (inputs[0], inputs[1]);
            match b {
                BinaryOp::Add if is_all(g, y, NEG_ZERO) => same(g, x),
                BinaryOp::Add if is_all(g, x, NEG_ZERO) => same(g, y),
                BinaryOp::Sub if is_all(g, y, POS_ZERO) => same(g, x),
                BinaryOp::Mul if is_all(g, y, ONE) => same(g, x),
                BinaryOp::Mul if is_all(g, x, ONE) => same(g, y),
                BinaryOp::Mul if ty.dtype.is_int() && is_all(g, y, POS_ZERO) => same(g, y),
                BinaryOp::Mul if ty.dtype.is_int() && is_all(g, x, POS_ZERO) => same(g, x),
                BinaryOp::Div | BinaryOp::Pow if is_all(g, y, ONE) => same(g, x),
                _ => None,
            }
        }
        Op::Unary(UnaryOp::Neg) => {
            let inner = g.node(inputs[0]);
            match inner.op {
                Op::Unary(UnaryOp::Neg) => same(g, inner.inputs[0]),
                _ => None,
            }
        }
        Op::Reshape => {
            let x = inputs[0];
            if let Some(x) = same(g, x) {
                return Some(x);
            }
            let inner = g.node(x);
            if inner.op == Op::Reshape {
                let y = inner.inputs[0];
                return Some(same(g, y).unwrap_or_else(|| g.push(Op::Reshape, vec![y], ty.clone())));
            }
            None
        }
        Op::Transpose { perm } => {
            let x = inputs[0];
            if is_identity(perm) {
                return same(g, x);
            }
            let inner = g.node(x);
            if let Op::Transpose { perm: first } = &inner.op {
                // Output axis i is the inner result's axis perm[i], which is the
                // original's axis first[perm[i]].
                let composed: Vec<usize> = perm.iter().map(|&p| first[p]).collect();
                let y = inner.inputs[0];
                if is_identity(&composed) {
                    return same(g, y);
                }
                return Some(g.push(Op::Transpose { perm: composed }, vec![y], ty.clone()));
            }
            None
        }
        Op::Broadcast { dims } => {
            let x = inputs[0];
            if let Some(x) = same(g, x) {
                return Some(x);
            }
            let inner = g.node(x);
            if let Op::Broadcast { dims: first } = &inner.op {
                // Input axis i went to axis first[i], which now goes to dims[first[i]].
                let composed: Vec<usize> = first.iter().map(|&d| dims[d]).collect();
                let y = inner.inputs[0];
                return Some(g.push(Op::Broadcast { dims: composed }, vec![y], ty.clone()));
            }
            None
        }
        Op::Cast => {
            let x = inputs[0];
            (g.ty(x).dtype == ty.dtype).then(|| same(g, x)).flatten()
        }
        Op::Slice { start, end } => {
            let x = inputs[0];
            (start.iter().all(|&s| s == 0) && *end == g.ty(x).shape).then(|| same(g, x)).flatten()
        }
        Op::Concat { .. } if inputs.len() == 1 => same(g, inputs[0]),
        _ => None,
    }
}

fn is_identity(perm: &[usize]) -> bool {
    perm.iter().enumerate().all(|(i, &p)| i == p)
}

/// A constant value to look for: the integer, and the float bits (as f64, which holds
/// every value of the narrower float dtypes exactly).
struct Value {
    int: i64,
    float: f64,
}

const POS_ZERO: Value = Value { int: 0, float: 0.0 };
const NEG_ZERO: Value = Value { int: 0, float: -0.0 };
const ONE: Value = Value { int: 1, float: 1.0 };

/// Whether `id` is a constant (possibly broadcast) whose every element is `v` (floats
/// bit for bit, so the sign of a zero counts). An empty constant counts. Stops at the
/// first other element, so large weights cost little.
fn is_all(g: &Graph, id: NodeId, v: Value) -> bool {
    let node = g.node(id);
    let bits = v.float.to_bits();
    match &node.op {
        Op::Const(t) => match t.data() {
            Data::F64(x) => x.iter().all(|e| e.to_bits() == bits),
            Data::F32(x) => x.iter().all(|&e| (e as f64).to_bits() == bits),
            Data::F16(x) => x.iter().all(|e| e.to_f64().to_bits() == bits),
            Data::BF16(x) => x.iter().all(|e| e.to_f64().to_bits() == bits),
            Data::I64(x) => x.iter().all(|&e| e == v.int),
            Data::I32(x) => x.iter().all(|&e| e as i64 == v.int),
            Data::U8(x) => x.iter().all(|&e| e as i64 == v.int),
            Data::Bool(_) => false,
        },
        Op::Broadcast { .. } => is_all(g, node.inputs[0], v),
        _ => false,
    }
}
