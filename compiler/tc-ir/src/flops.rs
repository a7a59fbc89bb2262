//! The arithmetic each op performs, the one count every cost model shares (`bench`'s
//! GFLOP/s, the rematerialisation planner's roofline): 2·M·N·K per matmul,
//! 2·N·K·Ho·Wo·C·R·S per convolution, one per element of elementwise results, of
//! reduction inputs and of scattered updates, the window per pooled element; layout
//! ops and constants compute nothing.

use crate::{Graph, NodeId, Op};

impl Graph {
    /// Floating-point (or integer) operations node `id` performs.
    pub fn flops(&self, id: NodeId) -> u64 {
        let node = self.node(id);
        let out = node.ty.num_elements() as u64;
        let input = |i: usize| node.inputs.get(i).map(|&inp| self.ty(inp));
        let elements = |i: usize| input(i).map_or(0, |t| t.num_elements() as u64);
        match &node.op {
            Op::Unary(_) | Op::Binary(_) | Op::Select | Op::Cast | Op::Random(_) => out,
            Op::Reduce { .. } | Op::ArgReduce { .. } | Op::ArgSort { .. } => elements(0),
            Op::ScatterAdd { .. } => elements(1),
            Op::MatMul => 2 * out * input(0).and_then(|t| t.shape.last().copied()).unwrap_or(0) as u64,
            // w: [K, C, R, S]; each output element sums C·R·S products.
            Op::Conv2d { .. } => 2 * out * input(1).map_or(0, |t| t.shape.iter().skip(1).product::<usize>()) as u64,
            Op::Pool { size, .. } => out * (size[0] * size[1]) as u64,
            Op::PoolGrad { size, .. } => elements(1) * (size[0] * size[1]) as u64,
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
    }
}
