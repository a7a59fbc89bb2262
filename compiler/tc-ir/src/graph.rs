//! The graph IR: an SSA dataflow graph of primitive ops with concrete types.
//!
//! Nodes are stored in topological order (every input of node `i` has an index below
//! `i`); the verifier checks this and every op's typing rule. A graph is one
//! specialised function: its parameters are `Param(i)` nodes, its results are the
//! flattened list `outputs` (tuples are flattened depth-first by the front end), and
//! `donations` says which outputs may take over a parameter's storage (`crate::donate`).

use crate::ops::Op;
use tc_tensor::{type_string, DType};

/// A concrete tensor type: dtype and shape (rank 0 is a scalar).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Type {
    pub dtype: DType,
    pub shape: Vec<usize>,
}

impl Type {
    pub fn new(dtype: DType, shape: Vec<usize>) -> Type {
        Type { dtype, shape }
    }

    pub fn scalar(dtype: DType) -> Type {
        Type { dtype, shape: vec![] }
    }

    pub fn rank(&self) -> usize {
        self.shape.len()
    }

    pub fn num_elements(&self) -> usize {
        self.shape.iter().product()
    }

    pub fn size_bytes(&self) -> usize {
        self.num_elements() * self.dtype.size_bytes()
    }

    pub fn with_dtype(&self, dtype: DType) -> Type {
        Type { dtype, shape: self.shape.clone() }
    }
}

impl std::fmt::Display for Type {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&type_string(self.dtype, &self.shape))
    }
}

/// Index of a node in its graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub u32);

impl NodeId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl std::fmt::Display for NodeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "%{}", self.0)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub op: Op,
    pub inputs: Vec<NodeId>,
    pub ty: Type,
}

/// "Output `output` may be written into the storage of parameter `param`": the caller
/// gives that parameter up (JAX's `donate_argnums`). Both have the same type (the
/// verifier checks it); when the storage is actually reused is `crate::donate`'s rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Donation {
    pub param: usize,
    pub output: usize,
}

/// One specialised function.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Graph {
    pub name: String,
    pub nodes: Vec<Node>,
    pub outputs: Vec<NodeId>,
    /// Parameters the caller gives up to outputs of their type (none by default).
    pub donations: Vec<Donation>,
}

impl Graph {
    pub fn new(name: impl Into<String>) -> Graph {
        Graph { name: name.into(), nodes: Vec::new(), outputs: Vec::new(), donations: Vec::new() }
    }

    /// Append a node; the caller guarantees `ty` follows the op's typing rule
    /// (the verifier checks it in tests and debug builds).
    pub fn push(&mut self, op: Op, inputs: Vec<NodeId>, ty: Type) -> NodeId {
        self.nodes.push(Node { op, inputs, ty });
        NodeId(self.nodes.len() as u32 - 1)
    }

    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id.index()]
    }

    pub fn ty(&self, id: NodeId) -> &Type {
        &self.nodes[id.index()].ty
    }

    /// Types of the parameters, in parameter order.
    pub fn param_types(&self) -> Vec<Type> {
        let mut params: Vec<(usize, Type)> = self
            .nodes
            .iter()
            .filter_map(|n| match n.op {
                Op::Param(i) => Some((i, n.ty.clone())),
                _ => None,
            })
            .collect();
        params.sort_by_key(|(i, _)| *i);
        params.into_iter().map(|(_, t)| t).collect()
    }

    pub fn output_types(&self) -> Vec<Type> {
        self.outputs.iter().map(|&o| self.ty(o).clone()).collect()
    }
}
