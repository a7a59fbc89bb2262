//! The reference interpreter as a backend ([`tc_kernel::target`]): the optimised graph
//! itself, run node by node by `tc_interp`, without kernel programs.

use std::any::Any;

use tc_ir::Graph;
use tc_kernel::target::{CodegenOptions, Executable, Target};
use tc_kernel::{KernelProgram, Limits};
use tc_tensor::Tensor;

/// `--backend interp`.
pub struct Interp;

impl Target for Interp {
    fn name(&self) -> &'static str {
        "interp"
    }

    fn limits(&self) -> Result<Option<Limits>, String> {
        Ok(None)
    }

    fn compile(&self, graph: &Graph, _: Option<KernelProgram>, _: &CodegenOptions) -> Result<Box<dyn Executable>, String> {
        Ok(Box::new(InterpProgram { graph: graph.clone(), peak_bytes: tc_remat::peak_bytes(graph) }))
    }
}

struct InterpProgram {
    graph: Graph,
    /// The graph-level memory model's peak, which the interpreter's allocations follow.
    peak_bytes: usize,
}

impl Executable for InterpProgram {
    fn run(&self, inputs: &[Tensor]) -> Result<Vec<Tensor>, String> {
        tc_interp::run(&self.graph, inputs).map_err(|e| e.to_string())
    }

    fn run_measured(&self, inputs: &[Tensor]) -> Result<(Vec<Tensor>, usize), String> {
        tc_interp::run_with_stats(&self.graph, inputs).map(|(outputs, stats)| (outputs, stats.peak_bytes)).map_err(|e| e.to_string())
    }

    fn peak_bytes(&self) -> usize {
        self.peak_bytes
    }

    /// The interpreter keeps every element in 8 bytes, whatever its dtype.
    fn host_bytes(&self) -> Option<u128> {
        let narrowest = self.graph.nodes.iter().map(|n| n.ty.dtype.size_bytes()).min().unwrap_or(8).max(1) as u128;
        Some(self.peak_bytes as u128 * 8 / narrowest)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
