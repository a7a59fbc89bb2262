//! Common subexpression elimination: two nodes with the same op and attributes, the
//! same inputs and the same type compute the same value, so the later one is replaced
//! by the earlier. Constants compare by their bits (`Op::key`), so `0.0` and `-0.0`
//! stay apart and a NaN constant matches its own bits. `Random` is a pure function of
//! its seed, so identical `Random` nodes merge too. `Param` nodes never merge.
//!
//! Commutative ops (`add`, `mul`, `eq`, `ne`, `and`, `or`) match with their operands in
//! either order (a NaN result may then carry the other operand's payload). Not `max`
//! and `min`: `max(0.0, -0.0)` is `0.0` but `max(-0.0, 0.0)` is `-0.0`.

use crate::rebuild::Rebuild;
use std::collections::HashMap;
use tc_ir::identity::OpKey;
use tc_ir::{BinaryOp, Graph, NodeId, Op, Type};

pub fn cse(graph: &Graph) -> Graph {
    let mut r = Rebuild::new(graph);
    let mut seen: HashMap<(OpKey, Vec<NodeId>, Type), NodeId> = HashMap::new();
    for node in &graph.nodes {
        if matches!(node.op, Op::Param(_)) {
            r.copy(node);
            continue;
        }
        let mut inputs = r.inputs(node);
        if let Op::Binary(b) = node.op {
            if is_commutative(b) {
                inputs.sort();
            }
        }
        let key = (node.op.key(), inputs, node.ty.clone());
        match seen.get(&key) {
            Some(&existing) => r.map_next(Some(existing)),
            None => {
                let id = r.copy(node);
                seen.insert(key, id);
            }
        }
    }
    r.finish()
}

fn is_commutative(b: BinaryOp) -> bool {
    matches!(b, BinaryOp::Add | BinaryOp::Mul | BinaryOp::Eq | BinaryOp::Ne | BinaryOp::And | BinaryOp::Or)
}
