//! Reference interpreter of the graph IR: slow and obviously right, the oracle every
//! compiled backend is tested against.
//!
//! [`run`] evaluates a whole [`Graph`] node by node in order, freeing each intermediate
//! after its last use; [`eval_op`] evaluates one op on host tensors (constant folding
//! uses it). Every op follows the semantics written in `tc_ir::ops` literally:
//! floats compute in f64 and are rounded once (to nearest even) to the result dtype,
//! integers compute in i64 and wrap to the result dtype.
//!
//! The op families live in [`elementwise`], [`reduce`], [`layout`], [`linalg`] and
//! [`random`] (which also exports the Philox generator, [`philox4x32_10`]).

pub mod elementwise;
pub mod layout;
pub mod linalg;
pub mod random;
pub mod reduce;
mod util;

use std::borrow::Cow;
use std::fmt;

use tc_ir::{Graph, NodeId, Op, Type};
use tc_tensor::{DType, Tensor};

pub use random::philox4x32_10;

/// Why a graph or op could not be evaluated.
#[derive(Clone, Debug, PartialEq)]
pub enum InterpError {
    /// `run` was given the wrong number of inputs.
    InputCount { expected: usize, got: usize },
    /// Input `index` does not have its parameter's type.
    InputType { index: usize, expected: Type, got: Type },
    /// A `Param` node outside `run` (in `eval_op`), or naming a parameter with no input.
    Param(usize),
    /// The op is not defined on this dtype (e.g. `exp` on an integer).
    Unsupported { op: &'static str, dtype: DType },
    /// The op's attributes, inputs or result type break its typing rule.
    Invalid { op: &'static str, message: String },
    /// The graph itself is malformed (an input that is not an earlier node, a bad output).
    Graph(String),
    /// An error raised while evaluating node `node`.
    AtNode { node: NodeId, op: &'static str, error: Box<InterpError> },
    /// A bug in the interpreter.
    Internal(String),
}

impl fmt::Display for InterpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InterpError::InputCount { expected, got } => {
                write!(f, "expected {expected} input(s), got {got}")
            }
            InterpError::InputType { index, expected, got } => {
                write!(f, "parameter {index}: expected {expected}, got {got}")
            }
            InterpError::Param(i) => write!(f, "parameter {i} cannot be evaluated here (no input for it)"),
            InterpError::Unsupported { op, dtype } => write!(f, "`{op}` is not defined on {dtype}"),
            InterpError::Invalid { op, message } => write!(f, "invalid `{op}`: {message}"),
            InterpError::Graph(msg) => write!(f, "malformed graph: {msg}"),
            InterpError::AtNode { node, op, error } => write!(f, "at node {node} (`{op}`): {error}"),
            InterpError::Internal(msg) => write!(f, "internal interpreter error: {msg}"),
        }
    }
}

impl std::error::Error for InterpError {}

/// The type of a tensor value.
fn type_of(t: &Tensor) -> Type {
    Type::new(t.dtype(), t.shape().to_vec())
}

/// Measurements of one [`run_with_stats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunStats {
    /// The most bytes of the program's own buffers (intermediates and outputs, not the
    /// caller's inputs) alive at once. An output that takes over a donated parameter's
    /// storage (`tc_ir::donate`'s rule) costs nothing: the caller gave that storage up.
    pub peak_bytes: usize,
}

/// Evaluate `graph` on `inputs` (one per parameter, in parameter order) and return its
/// outputs. Inputs must match `graph.param_types()` exactly in count, dtype and shape.
/// Nodes are evaluated in order; each intermediate is dropped right after its last use.
pub fn run(graph: &Graph, inputs: &[Tensor]) -> Result<Vec<Tensor>, InterpError> {
    run_with_stats(graph, inputs).map(|(outputs, _)| outputs)
}

/// [`run`], also measuring the peak memory of the program's own buffers.
pub fn run_with_stats(graph: &Graph, inputs: &[Tensor]) -> Result<(Vec<Tensor>, RunStats), InterpError> {
    let params = graph.param_types();
    if inputs.len() != params.len() {
        return Err(InterpError::InputCount { expected: params.len(), got: inputs.len() });
    }
    for (index, (input, expected)) in inputs.iter().zip(&params).enumerate() {
        let got = type_of(input);
        if &got != expected {
            return Err(InterpError::InputType { index, expected: expected.clone(), got });
        }
    }

    // Index of the last node reading each value; outputs live to the end.
    let n = graph.nodes.len();
    let mut last_use: Vec<usize> = (0..n).collect();
    for (i, node) in graph.nodes.iter().enumerate() {
        for input in &node.inputs {
            if input.index() >= i {
                return Err(InterpError::Graph(format!("node {} reads {input}, which does not come before it", NodeId(i as u32))));
            }
            last_use[input.index()] = i;
        }
    }
    for out in &graph.outputs {
        if out.index() >= n {
            return Err(InterpError::Graph(format!("output {out} is not a node")));
        }
        last_use[out.index()] = usize::MAX;
    }

    let mut values: Vec<Option<Cow<'_, Tensor>>> = (0..n).map(|_| None).collect();
    // Bytes each value counts while alive: its own buffer, unless it is a parameter or
    // written into a donated parameter's storage. (This interpreter never writes its
    // inputs, so the caller's tensors stay intact either way.)
    let donated = tc_ir::donate::donated_nodes(graph);
    let mut counted = vec![0usize; n];
    let (mut live, mut peak) = (0usize, 0usize);
    for (i, node) in graph.nodes.iter().enumerate() {
        let id = NodeId(i as u32);
        let at = |error: InterpError| InterpError::AtNode { node: id, op: node.op.mnemonic(), error: Box::new(error) };
        let value = match &node.op {
            Op::Param(p) => Cow::Borrowed(inputs.get(*p).ok_or_else(|| at(InterpError::Param(*p)))?),
            op => {
                let args = node
                    .inputs
                    .iter()
                    .map(|a| {
                        values[a.index()]
                            .as_deref()
                            .ok_or_else(|| InterpError::Internal(format!("value of {a} was freed before its last use")))
                    })
                    .collect::<Result<Vec<&Tensor>, _>>()
                    .map_err(at)?;
                Cow::Owned(eval_op(op, &args, &node.ty).map_err(at)?)
            }
        };
        let got = type_of(&value);
        if got != node.ty {
            return Err(at(InterpError::Invalid {
                op: node.op.mnemonic(),
                message: format!("value has type {got}, node has type {}", node.ty),
            }));
        }
        if let (Cow::Owned(t), false) = (&value, donated[i]) {
            counted[i] = t.len() * t.dtype().size_bytes();
        }
        live += counted[i];
        peak = peak.max(live);
        values[i] = Some(value);
        for input in &node.inputs {
            let j = input.index();
            if last_use[j] == i && values[j].take().is_some() {
                live -= counted[j];
            }
        }
        if last_use[i] == i && values[i].take().is_some() {
            live -= counted[i];
        }
    }

    let outputs = graph
        .outputs
        .iter()
        .map(|out| {
            values[out.index()]
                .as_deref()
                .cloned()
                .ok_or_else(|| InterpError::Internal(format!("output {out} was freed")))
        })
        .collect::<Result<Vec<Tensor>, InterpError>>()?;
    Ok((outputs, RunStats { peak_bytes: peak }))
}

/// Evaluate one op on `inputs`; `ty` is the node's type (the result's type, which some
/// ops read: `Iota`, `Random`, `Cast`, `Broadcast`, `Reshape`, `ScatterAdd`). The result
/// is checked to have type `ty`. `Param` is an error here.
pub fn eval_op(op: &Op, inputs: &[&Tensor], ty: &Type) -> Result<Tensor, InterpError> {
    let name = op.mnemonic();
    let arity = |k: usize| -> Result<(), InterpError> {
        if inputs.len() == k {
            Ok(())
        } else {
            Err(util::invalid(name, format!("takes {k} input(s), got {}", inputs.len())))
        }
    };
    let result = match op {
        Op::Param(i) => return Err(InterpError::Param(*i)),
        Op::Const(t) => {
            arity(0)?;
            t.clone()
        }
        Op::Iota { axis } => {
            arity(0)?;
            layout::iota(*axis, ty)?
        }
        Op::Random(dist) => {
            arity(1)?;
            random::random(*dist, inputs[0], ty)?
        }
        Op::Unary(u) => {
            arity(1)?;
            elementwise::unary(*u, inputs[0])?
        }
        Op::Binary(b) => {
            arity(2)?;
            elementwise::binary(*b, inputs[0], inputs[1])?
        }
        Op::Select => {
            arity(3)?;
            elementwise::select(inputs[0], inputs[1], inputs[2])?
        }
        Op::Cast => {
            arity(1)?;
            elementwise::cast(inputs[0], ty.dtype)
        }
        Op::Reduce { op, axes } => {
            arity(1)?;
            reduce::reduce(*op, axes, inputs[0])?
        }
        Op::ArgReduce { op, axis } => {
            arity(1)?;
            reduce::arg_reduce(*op, *axis, inputs[0])?
        }
        Op::ArgSort { axis, descending } => {
            arity(1)?;
            reduce::arg_sort(*axis, *descending, inputs[0])?
        }
        Op::Broadcast { dims } => {
            arity(1)?;
            layout::broadcast(inputs[0], dims, &ty.shape)?
        }
        Op::Reshape => {
            arity(1)?;
            layout::reshape(inputs[0], &ty.shape)?
        }
        Op::Transpose { perm } => {
            arity(1)?;
            layout::transpose(inputs[0], perm)?
        }
        Op::Reverse { axes } => {
            arity(1)?;
            layout::reverse(inputs[0], axes)?
        }
        Op::Slice { start, end } => {
            arity(1)?;
            layout::slice(inputs[0], start, end)?
        }
        Op::Pad { lo, hi } => {
            arity(2)?;
            layout::pad(inputs[0], inputs[1], lo, hi)?
        }
        Op::Concat { axis } => layout::concat(inputs, *axis)?,
        Op::Gather { axis } => {
            arity(2)?;
            layout::gather(inputs[0], inputs[1], *axis)?
        }
        Op::ScatterAdd { axis } => {
            arity(2)?;
            layout::scatter_add(inputs[0], inputs[1], *axis, &ty.shape)?
        }
        Op::MatMul => {
            arity(2)?;
            linalg::matmul(inputs[0], inputs[1])?
        }
        Op::Conv2d { stride, pad, dilation } => {
            arity(2)?;
            linalg::conv2d(inputs[0], inputs[1], *stride, *pad, *dilation)?
        }
        Op::Pool { kind, size, stride } => {
            arity(1)?;
            linalg::pool(*kind, inputs[0], *size, *stride)?
        }
        Op::PoolGrad { kind, size, stride } => {
            arity(2)?;
            linalg::pool_grad(*kind, inputs[0], inputs[1], *size, *stride)?
        }
    };
    let got = type_of(&result);
    if &got != ty {
        return Err(util::invalid(name, format!("result has type {got}, but the node's type is {ty}")));
    }
    Ok(result)
}

#[cfg(test)]
mod tests;
