//! The compute-cost model every strategy minimises: an estimated run time per node from
//! a roofline, `max(flops / flop_rate, bytes_touched / bandwidth)`, in nanoseconds, with
//! the flops of `Graph::flops` (the count `bench` reports too).
//!
//! Matmul and convolution are flop-bound; elementwise, layout and reduction ops are
//! bandwidth-bound and so cost little next to them, which is what makes recomputing a
//! (fusable) elementwise chain cheap and evicting its outputs attractive. `Param` and
//! `Const` nodes are free. The model is a plain value in [`crate::Options`], so a backend
//! can swap in its own rates; every strategy and the MILP read the same numbers.

use tc_ir::{Graph, NodeId, Op};

/// Machine rates of the roofline. The defaults are the CI-class CPU of the design guide:
/// about 300 GFLOP/s for an f32 GEMM and 29 GB/s for a 2-thread triad.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CostModel {
    /// Floating-point operations per nanosecond (GFLOP/s).
    pub flops_per_ns: f64,
    /// Bytes moved per nanosecond (GB/s).
    pub bytes_per_ns: f64,
}

impl Default for CostModel {
    fn default() -> CostModel {
        CostModel { flops_per_ns: 300.0, bytes_per_ns: 29.0 }
    }
}

impl CostModel {
    /// Estimated nanoseconds to compute node `index` of `graph`.
    pub fn node_cost(&self, graph: &Graph, index: usize) -> f64 {
        let node = &graph.nodes[index];
        if matches!(node.op, Op::Param(_) | Op::Const(_)) {
            return 0.0;
        }
        let flops = graph.flops(NodeId(index as u32)) as f64;
        let in_bytes: usize = node.inputs.iter().map(|&i| graph.ty(i).size_bytes()).sum();
        let bytes = (in_bytes + node.ty.size_bytes()) as f64;
        (flops / self.flops_per_ns).max(bytes / self.bytes_per_ns)
    }

    /// Estimated nanoseconds of one run of the whole graph.
    pub fn graph_cost(&self, graph: &Graph) -> f64 {
        (0..graph.nodes.len()).map(|i| self.node_cost(graph, i)).sum()
    }
}
