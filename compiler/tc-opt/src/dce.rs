//! Dead code elimination: drop every node that no output depends on. `Param` nodes are
//! always kept, so the function's signature does not change. The kept nodes stay in
//! their order and are renumbered densely.

use crate::rebuild::Rebuild;
use tc_ir::{Graph, Op};

pub fn dce(graph: &Graph) -> Graph {
    let mut live = vec![false; graph.nodes.len()];
    for o in &graph.outputs {
        live[o.index()] = true;
    }
    for (i, node) in graph.nodes.iter().enumerate().rev() {
        if matches!(node.op, Op::Param(_)) {
            live[i] = true;
        }
        if live[i] {
            for input in &node.inputs {
                live[input.index()] = true;
            }
        }
    }
    let mut r = Rebuild::new(graph);
    for (node, &keep) in graph.nodes.iter().zip(&live) {
        if keep {
            r.copy(node);
        } else {
            r.map_next(None);
        }
    }
    r.finish()
}
