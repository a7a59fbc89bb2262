//! Parameter donation: when an output takes over the storage of a parameter the caller
//! gave up ([`Graph::donations`], JAX's `donate_argnums`).
//!
//! A donation only says the storage *may* be reused. Whether the value of node `v`
//! is written into parameter `i`'s storage depends on the order the nodes run in, and
//! every memory model decides it by the same rule (the interpreter's measured peak,
//! `tc_remat::peak_bytes` and the planners' schedules), so that they agree:
//! - `v` is an output paired with `i`, and the first such pair naming `v` (one node has
//!   one storage); a parameter node itself is never written;
//! - parameter `i` is not an output itself (the caller gets it back unchanged);
//! - no node after `v` reads parameter `i`, and `v` reads it only if `v` is an
//!   elementwise op, which can overwrite each element right after reading it.
//!
//! Such a node costs no new bytes. Otherwise the output gets a fresh buffer as usual, so
//! a donation never makes a schedule wrong, only cheaper where it holds.
//! [`pair_by_type`] makes the donations for parameters a caller gives up.

use crate::graph::{Donation, Graph};
use crate::ops::Op;

/// Per node, the parameter whose storage its value may take: the first donation whose
/// output is that node, unless the node is a parameter.
pub fn donors(graph: &Graph) -> Vec<Option<usize>> {
    let mut donor = vec![None; graph.nodes.len()];
    for d in &graph.donations {
        if let Some(&o) = graph.outputs.get(d.output) {
            let slot = &mut donor[o.index()];
            if slot.is_none() && !matches!(graph.nodes[o.index()].op, Op::Param(_)) {
                *slot = Some(d.param);
            }
        }
    }
    donor
}

/// Whether `op` may write its result over an operand: an elementwise op reads each
/// element of its operands (which have the result's shape) only at the element it writes.
pub fn overwrites_operand(op: &Op) -> bool {
    matches!(op, Op::Unary(_) | Op::Binary(_) | Op::Select | Op::Cast)
}

/// Per node, whether its value is written into a donated parameter's storage when the
/// nodes run in order (the module's rule).
pub fn donated_nodes(graph: &Graph) -> Vec<bool> {
    let donor = donors(graph);
    let mut donated = vec![false; graph.nodes.len()];
    if graph.donations.is_empty() {
        return donated;
    }
    // Per parameter index: its last reader (with whether that reader may overwrite it
    // in place) and whether it is an output.
    let params = graph.param_types().len();
    let mut last_read: Vec<Option<usize>> = vec![None; params];
    let mut returned = vec![false; params];
    let param_of = |v: usize| match graph.nodes[v].op {
        Op::Param(i) if i < params => Some(i),
        _ => None,
    };
    for (k, node) in graph.nodes.iter().enumerate() {
        for input in &node.inputs {
            if let Some(i) = param_of(input.index()) {
                last_read[i] = Some(k);
            }
        }
    }
    for o in &graph.outputs {
        if let Some(i) = param_of(o.index()) {
            returned[i] = true;
        }
    }
    for (v, d) in donor.iter().enumerate() {
        let Some(i) = *d else { continue };
        if i >= params || returned[i] {
            continue;
        }
        donated[v] = match last_read[i] {
            None => true,
            Some(r) => r < v || (r == v && overwrites_operand(&graph.nodes[v].op)),
        };
    }
    donated
}

/// Donations for the parameters `params` given up by the caller, in order: each to the
/// first output of its type not paired yet (JAX's rule for `donate_argnums`). A
/// parameter with no such output is not donated.
pub fn pair_by_type(graph: &Graph, params: &[usize]) -> Vec<Donation> {
    let param_types = graph.param_types();
    let outputs = graph.output_types();
    let mut paired = vec![false; outputs.len()];
    let mut donations = Vec::new();
    for &param in params {
        let Some(ty) = param_types.get(param) else { continue };
        if donations.iter().any(|d: &Donation| d.param == param) {
            continue;
        }
        if let Some(output) = (0..outputs.len()).find(|&j| !paired[j] && &outputs[j] == ty) {
            paired[output] = true;
            donations.push(Donation { param, output });
        }
    }
    donations
}
