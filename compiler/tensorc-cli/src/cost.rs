//! What a graph must move and compute, for `bench`: bytes (inputs read plus outputs
//! written), flops (2·M·N·K per matmul, 2·N·K·Ho·Wo·C·R·S per convolution, one per
//! element of elementwise results and of reduction inputs). The peak memory is not
//! estimated here: the backends measure it (`Module::run_measured`).

use tc_ir::{Graph, NodeId};

/// The cost of one execution of a graph.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cost {
    pub bytes: u64,
    pub flops: u64,
}

pub fn estimate(graph: &Graph) -> Cost {
    Cost { bytes: bytes(graph), flops: graph_flops(graph) }
}

fn bytes(graph: &Graph) -> u64 {
    let inputs: usize = graph.param_types().iter().map(|t| t.size_bytes()).sum();
    let mut outputs = graph.outputs.clone();
    outputs.sort();
    outputs.dedup();
    let outputs: usize = outputs.iter().map(|&o| graph.ty(o).size_bytes()).sum();
    (inputs + outputs) as u64
}

fn graph_flops(graph: &Graph) -> u64 {
    (0..graph.nodes.len()).map(|i| graph.flops(NodeId(i as u32))).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tc_ir::{BinaryOp, Op, Type};
    use tc_tensor::DType;

    #[test]
    fn matmul_plus_bias() {
        // a: f32[4, 5] @ b: f32[5, 6] + c: f32[4, 6]
        let mut g = Graph::new("main");
        let a = g.push(Op::Param(0), vec![], Type::new(DType::F32, vec![4, 5]));
        let b = g.push(Op::Param(1), vec![], Type::new(DType::F32, vec![5, 6]));
        let c = g.push(Op::Param(2), vec![], Type::new(DType::F32, vec![4, 6]));
        let m = g.push(Op::MatMul, vec![a, b], Type::new(DType::F32, vec![4, 6]));
        let s = g.push(Op::Binary(BinaryOp::Add), vec![m, c], Type::new(DType::F32, vec![4, 6]));
        g.outputs.push(s);
        let cost = estimate(&g);
        assert_eq!(cost.flops, 2 * 4 * 6 * 5 + 24);
        assert_eq!(cost.bytes, 4 * (20 + 30 + 24 + 24));
    }
}
