//! Peak memory of a graph as the reference interpreter measures it
//! (`tc_interp::run_with_stats`), computed from the graph alone.
//!
//! The model: nodes run in order. Running node `i` allocates its result (every op but
//! `Param` owns a fresh buffer of `ty.size_bytes()`; parameters are the caller's and cost
//! nothing) while its inputs are still alive; the peak is taken right then. Afterwards
//! every input whose last reader was `i` is freed, and so is `i` itself when nothing
//! reads it and it is not an output. Outputs stay alive to the end. An output written
//! into a donated parameter's storage (`tc_ir::donate`'s rule) costs nothing.

use tc_ir::donate::donated_nodes;
use tc_ir::{Graph, Op};

/// Bytes a node's value owns while it is alive: 0 for parameters, its type's size otherwise.
pub fn owned_bytes(graph: &Graph, index: usize) -> usize {
    let node = &graph.nodes[index];
    match node.op {
        Op::Param(_) => 0,
        _ => node.ty.size_bytes(),
    }
}

/// The peak bytes of the program's own buffers alive at once when `graph` runs on the
/// reference interpreter: exactly `run_with_stats(..).peak_bytes`.
pub fn peak_bytes(graph: &Graph) -> usize {
    let n = graph.nodes.len();
    let mut last_use: Vec<usize> = (0..n).collect();
    for (i, node) in graph.nodes.iter().enumerate() {
        for input in &node.inputs {
            last_use[input.index()] = i;
        }
    }
    for out in &graph.outputs {
        last_use[out.index()] = usize::MAX;
    }
    let donated = donated_nodes(graph);
    let bytes = |i: usize| if donated[i] { 0 } else { owned_bytes(graph, i) };
    let mut alive = vec![false; n];
    let (mut live, mut peak) = (0usize, 0usize);
    for (i, node) in graph.nodes.iter().enumerate() {
        let bytes_i = bytes(i);
        live += bytes_i;
        peak = peak.max(live);
        alive[i] = true;
        for input in &node.inputs {
            let j = input.index();
            if last_use[j] == i && alive[j] {
                alive[j] = false;
                live -= bytes(j);
            }
        }
        if last_use[i] == i && alive[i] {
            alive[i] = false;
            live -= bytes_i;
        }
    }
    peak
}
