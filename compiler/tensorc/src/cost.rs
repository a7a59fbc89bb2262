//! What a graph must move and compute, for `bench`: bytes (inputs read plus outputs
//! written), flops (2·M·N·K per matmul, 2·N·K·Ho·Wo·C·R·S per convolution, one per
//! element of elementwise results and of reduction inputs), and the peak of live
//! buffers.
//!
//! The peak comes from a liveness scan in execution order, as the reference
//! interpreter allocates: each node's result is live from its computation to its last
//! use (graph outputs to the end); parameters belong to the caller and are not
//! counted. This stands in for a measured peak until the interpreter reports one.

use tc_ir::{Graph, Op};

/// The cost of one execution of a graph.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cost {
    pub bytes: u64,
    pub flops: u64,
    pub peak_bytes: u64,
}

pub fn estimate(graph: &Graph) -> Cost {
    Cost { bytes: bytes(graph), flops: graph_flops(graph), peak_bytes: peak_bytes(graph) }
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
    graph
        .nodes
        .iter()
        .map(|node| {
            let out = node.ty.num_elements() as u64;
            let input = |i: usize| node.inputs.get(i).map(|&id| graph.ty(id));
            match &node.op {
                Op::Unary(_) | Op::Binary(_) | Op::Select | Op::Cast | Op::Random(_) => out,
                Op::Reduce { .. } | Op::ArgReduce { .. } => input(0).map_or(0, |t| t.num_elements() as u64),
                Op::ScatterAdd { .. } => input(1).map_or(0, |t| t.num_elements() as u64),
                Op::MatMul => {
                    let k = input(0).and_then(|t| t.shape.last().copied()).unwrap_or(0) as u64;
                    2 * out * k
                }
                Op::Conv2d { .. } => {
                    // w: [K, C, R, S]; each output element sums C·R·S products.
                    let window = input(1).map_or(0, |t| t.shape.iter().skip(1).product::<usize>()) as u64;
                    2 * out * window
                }
                Op::Pool { size, .. } => out * (size[0] * size[1]) as u64,
                Op::PoolGrad { size, .. } => input(1).map_or(0, |t| t.num_elements() as u64) * (size[0] * size[1]) as u64,
                Op::Param(_)
                | Op::Const(_)
                | Op::Iota { .. }
                | Op::Broadcast { .. }
                | Op::Reshape
                | Op::Transpose { .. }
                | Op::Reverse { .. }
                | Op::Slice { .. }
                | Op::Pad { .. }
                | Op::Concat { .. }
                | Op::Gather { .. } => 0,
            }
        })
        .sum()
}

fn peak_bytes(graph: &Graph) -> u64 {
    let n = graph.nodes.len();
    // The index of the last node that reads each node; outputs live to the end.
    let mut last_use: Vec<usize> = (0..n).collect();
    for (i, node) in graph.nodes.iter().enumerate() {
        for input in &node.inputs {
            last_use[input.index()] = last_use[input.index()].max(i);
        }
    }
    for output in &graph.outputs {
        last_use[output.index()] = n;
    }
    // Bytes freed after each step.
    let mut freed_after = vec![0u64; n + 1];
    let mut live = 0u64;
    let mut peak = 0u64;
    for (i, node) in graph.nodes.iter().enumerate() {
        if !matches!(node.op, Op::Param(_)) {
            let size = node.ty.size_bytes() as u64;
            live += size;
            freed_after[last_use[i]] += size;
        }
        peak = peak.max(live);
        live -= freed_after[i];
    }
    peak
}

#[cfg(test)]
mod tests {
    use super::*;
    use tc_ir::{BinaryOp, Type};
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
        // The matmul result and the sum are live together.
        assert_eq!(cost.peak_bytes, 4 * (24 + 24));
    }

    #[test]
    fn dead_intermediates_are_freed() {
        // x -> exp -> exp -> exp: at most two f32[100] results are live at once.
        let mut g = Graph::new("main");
        let ty = Type::new(DType::F32, vec![100]);
        let mut v = g.push(Op::Param(0), vec![], ty.clone());
        for _ in 0..3 {
            v = g.push(Op::Unary(tc_ir::UnaryOp::Exp), vec![v], ty.clone());
        }
        g.outputs.push(v);
        assert_eq!(estimate(&g).peak_bytes, 800);
    }
}
