//! Folded constants that `grad` differentiates through.
//!
//! The elaborator computes arithmetic on values known at compile time (`let x = 3.0 as
//! f32; x * x` is the constant 9): that is how literals keep exact values and how sizes
//! stay known. Folding cuts the graph's path from a value to what is computed from it,
//! so each fold records how its constant was computed, and `grad(y, x)` differentiates
//! a copy of the part of the graph between `x` and `y` in which those folds are real
//! ops again. The derivative is then the one of the computation as written, as in JAX,
//! where `x` is a traced input; the program's values still come from the folded
//! constants.

use std::collections::HashMap;

use tc_ir::{NodeId, Op};

use crate::elab::Elab;

/// How a folded constant was computed.
#[derive(Clone, Debug)]
pub(crate) enum Unfolded {
    /// `op` (a binary op, a negation or a cast) applied to these nodes, giving the
    /// constant's type.
    Op(Op, Vec<NodeId>),
    /// A tensor literal of these rows (scalars or tensors of one shape), stacked along
    /// a new first axis; a row of another dtype is converted to the literal's.
    Rows(Vec<NodeId>),
}

/// The folds of one elaboration, by the constant node each made.
#[derive(Default)]
pub(crate) struct Folds {
    by_node: HashMap<NodeId, Unfolded>,
}

impl Elab<'_> {
    /// Record that the constant `folded` is `how` computed. Only float constants are
    /// kept: a gradient flows through nothing else.
    pub fn record_fold(&mut self, folded: NodeId, how: Unfolded) {
        if self.graph.ty(folded).dtype.is_float() {
            self.folds.by_node.insert(folded, how);
        }
    }

    /// A node computing what `y` computes, in which every constant that was folded from
    /// values depending on `xs` is computed by real ops again, so that differentiating
    /// it by `xs` follows those values. Nodes that do not depend on `xs` are shared, and
    /// `y` itself is returned when nothing between `xs` and `y` was folded.
    pub fn unfolded(&mut self, y: NodeId, xs: &[NodeId]) -> NodeId {
        let n = y.index() + 1;
        // Node ids are in order of creation, and a fold's inputs exist before its
        // constant: one forward pass finds, and rebuilds, what depends on `xs`.
        let mut from_x = vec![false; n];
        let mut rebuilt: HashMap<NodeId, NodeId> = HashMap::new();
        for x in xs.iter().filter(|x| x.index() < n) {
            from_x[x.index()] = true;
        }
        for i in 0..n {
            let node = NodeId(i as u32);
            if from_x[i] {
                continue;
            }
            let how = self.folds.by_node.get(&node);
            let inputs = match how {
                Some(Unfolded::Op(_, inputs) | Unfolded::Rows(inputs)) => inputs,
                None => &self.graph.nodes[i].inputs,
            };
            if !inputs.iter().any(|input| from_x[input.index()]) {
                continue;
            }
            from_x[i] = true;
            let inputs: Vec<NodeId> = inputs.iter().map(|input| *rebuilt.get(input).unwrap_or(input)).collect();
            let how = how.cloned();
            let ty = self.graph.ty(node).clone();
            let new = match how {
                // A literal re-made in its own dtype is no conversion.
                Some(Unfolded::Op(Op::Cast, _)) => self.graph.cast(inputs[0], ty.dtype),
                Some(Unfolded::Op(op, _)) => self.graph.push(op, inputs, ty),
                Some(Unfolded::Rows(_)) => {
                    let mut row_shape = vec![1];
                    row_shape.extend_from_slice(&ty.shape[1..]);
                    let rows = inputs
                        .into_iter()
                        .map(|row| {
                            let row = self.graph.cast(row, ty.dtype);
                            self.graph.reshape(row, &row_shape)
                        })
                        .collect();
                    self.graph.concat(rows, 0)
                }
                None if inputs == self.graph.nodes[i].inputs => continue,
                None => {
                    let op = self.graph.nodes[i].op.clone();
                    self.graph.push(op, inputs, ty)
                }
            };
            rebuilt.insert(node, new);
        }
        rebuilt.get(&y).copied().unwrap_or(y)
    }
}
