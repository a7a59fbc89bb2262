//! Constant folding: a node whose inputs are all constant is evaluated at compile time
//! with the reference interpreter (`tc_interp::eval_op`, so folding cannot disagree
//! with the semantics every backend is tested against) and replaced by a `Const`.
//!
//! What counts as constant: `Const`, `Iota`, and `Broadcast` of a constant. Those
//! three are left as they are (they already are constants, and materialising an iota
//! or a broadcast only makes the IR bigger); their consumers fold. `Param` is never
//! constant, and `Random` folds only when its seed does.
//!
//! Splats (a scalar constant, possibly broadcast, or a constant whose elements are all
//! the same bits) stay splats: an elementwise op (`Unary`, `Binary`, `Select`, `Cast`)
//! on splats only, or a layout op (`Reshape`, `Transpose`, `Reverse`, `Slice`) of one,
//! becomes a scalar `Const` broadcast to the node's type, computed on the scalar.
//!
//! Every other fold needs its result, and each constant input that has to be
//! materialised for the interpreter, to have at most [`MAX_FOLD_ELEMENTS`] elements (a
//! result whose elements all have the same bits is then emitted as a splat). Why a
//! limit: a folded constant lives in the IR, in every compiled program and in every
//! `emit` dump; a large one costs memory and compile time, while the op it replaces
//! runs once per call (often fused into a neighbouring loop). Small constants are where
//! folding pays: they feed further folding and the algebraic identities.
//!
//! A node whose evaluation fails (the interpreter's error) is left unfolded, so the
//! error surfaces when the program runs.

use crate::rebuild::Rebuild;
use tc_interp::eval_op;
use tc_ir::{Graph, Node, NodeId, Op, Type};
use tc_tensor::{Data, Tensor};

/// The largest constant (in elements) that folding creates or materialises.
pub const MAX_FOLD_ELEMENTS: usize = 4096;

pub fn fold(graph: &Graph) -> Graph {
    let mut r = Rebuild::new(graph);
    for node in &graph.nodes {
        let inputs = r.inputs(node);
        match fold_node(&mut r.new, node, &inputs) {
            Some(id) => r.map_next(Some(id)),
            None => {
                r.copy(node);
            }
        }
    }
    r.finish()
}

/// The folded replacement of `node` (whose inputs are `inputs` in `g`), pushed to `g`.
fn fold_node(g: &mut Graph, node: &Node, inputs: &[NodeId]) -> Option<NodeId> {
    let op = &node.op;
    let ty = &node.ty;
    if inputs.is_empty() || matches!(op, Op::Param(_) | Op::Const(_) | Op::Iota { .. } | Op::Broadcast { .. }) {
        return None;
    }
    if !inputs.iter().all(|&i| is_constant(g, i)) {
        return None;
    }
    let elementwise = matches!(op, Op::Unary(_) | Op::Binary(_) | Op::Select | Op::Cast);
    let layout = matches!(op, Op::Reshape | Op::Transpose { .. } | Op::Reverse { .. } | Op::Slice { .. });
    if elementwise || layout {
        if let Some(scalars) = inputs.iter().map(|&i| splat(g, i)).collect::<Option<Vec<Tensor>>>() {
            let value = if elementwise {
                let args: Vec<&Tensor> = scalars.iter().collect();
                eval_op(op, &args, &Type::scalar(ty.dtype)).ok()?
            } else {
                scalars.into_iter().next()?
            };
            return Some(push_splat(g, value, ty));
        }
    }
    if ty.num_elements() > MAX_FOLD_ELEMENTS {
        return None;
    }
    let values = inputs.iter().map(|&i| materialise(g, i)).collect::<Option<Vec<Tensor>>>()?;
    let args: Vec<&Tensor> = values.iter().collect();
    let value = eval_op(op, &args, ty).ok()?;
    // `eval_op` checks the result type; a mismatch would be the interpreter's bug, and
    // then the node is better left alone than replaced by a constant of another type.
    if value.dtype() != ty.dtype || value.shape() != ty.shape.as_slice() {
        return None;
    }
    // A result of one repeated value is kept as a splat, like the splat cases above.
    if value.len() > 1 {
        if let Some(v) = uniform_value(&value) {
            return Some(push_splat(g, v, ty));
        }
    }
    Some(g.push(Op::Const(value), vec![], ty.clone()))
}

/// Whether `id` is a compile-time constant form: `Const`, `Iota`, `Broadcast` of one.
fn is_constant(g: &Graph, id: NodeId) -> bool {
    let node = g.node(id);
    match node.op {
        Op::Const(_) | Op::Iota { .. } => true,
        Op::Broadcast { .. } => is_constant(g, node.inputs[0]),
        _ => false,
    }
}

/// The one value of a splat, as a rank-0 tensor.
pub(crate) fn splat(g: &Graph, id: NodeId) -> Option<Tensor> {
    let node = g.node(id);
    match &node.op {
        Op::Const(t) => uniform_value(t),
        Op::Broadcast { .. } => splat(g, node.inputs[0]),
        _ => None,
    }
}

/// The value of a tensor whose elements all have the same bits (at least one).
fn uniform_value(t: &Tensor) -> Option<Tensor> {
    let size = t.dtype().size_bytes();
    let bytes = t.data().to_le_bytes();
    let first = bytes.get(..size)?;
    if !bytes.chunks_exact(size).all(|c| c == first) {
        return None;
    }
    Tensor::new(vec![], Data::from_le_bytes(t.dtype(), first)?).ok()
}

/// `value` (rank 0) as a node of type `ty`: a scalar `Const`, broadcast if `ty` is not
/// a scalar.
pub(crate) fn push_splat(g: &mut Graph, value: Tensor, ty: &Type) -> NodeId {
    let scalar = Type::scalar(ty.dtype);
    let c = g.push(Op::Const(value), vec![], scalar);
    if ty.rank() == 0 {
        c
    } else {
        g.push(Op::Broadcast { dims: vec![] }, vec![c], ty.clone())
    }
}

/// The value of a constant form, if it is small enough to hold.
fn materialise(g: &Graph, id: NodeId) -> Option<Tensor> {
    let node = g.node(id);
    if node.ty.num_elements() > MAX_FOLD_ELEMENTS {
        return None;
    }
    match &node.op {
        Op::Const(t) => Some(t.clone()),
        Op::Iota { .. } => eval_op(&node.op, &[], &node.ty).ok(),
        Op::Broadcast { .. } => {
            let x = materialise(g, node.inputs[0])?;
            eval_op(&node.op, &[&x], &node.ty).ok()
        }
        _ => None,
    }
}
