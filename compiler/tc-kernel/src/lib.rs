//! Kernel programs: the backend-neutral lowered form of a graph, shared by every
//! backend (Cranelift now, WGSL and MLIR later).
//!
//! [`lower`] runs the pipeline, one pass per file ([`lower_with`] keeps every kernel
//! within a target's [`Limits`], after splitting concatenations wider than them):
//! 1. [`fuse`] — partition the graph into loop kernels (fused elementwise, layout and
//!    reduction chains) and library calls, and create buffers;
//! 2. [`coalesce`] — drop unit axes and merge contiguous axes of each loop's domain;
//! 3. [`plan`] — place intermediates in one arena by liveness, and write outputs into
//!    donated parameters where that is safe.
//!
//! [`program`] defines the data structures; [`print`] the stable text form
//! (`tensorc emit --stage kernels`); [`view`] the affine index maps fusion composes.
//! [`math`] writes the f32 transcendentals once, as small DAGs every backend lowers.

pub mod coalesce;
pub mod fuse;
pub mod math;
pub mod plan;
pub mod print;
pub mod program;
pub mod target;
pub mod view;

pub use fuse::Limits;
pub use print::print;
pub use program::{Action, Buffer, BufferId, BufferKind, CallKernel, Expr, ExprId, ExprOp, Kernel, KernelProgram, LoopKernel, Scalar, Stage, StoreTo, View};

use tc_ir::{Graph, NodeId, Op};

/// Lower a graph to a kernel program with no limit on its kernels. The graph must pass
/// `tc_ir::verify::verify`; otherwise the verifier's error is returned.
pub fn lower(graph: &Graph) -> Result<KernelProgram, tc_ir::verify::VerifyError> {
    lower_with(graph, &Limits::default())
}

/// Lower a graph to a kernel program whose kernels keep within a target's `limits`.
pub fn lower_with(graph: &Graph, limits: &Limits) -> Result<KernelProgram, tc_ir::verify::VerifyError> {
    tc_ir::verify::verify(graph)?;
    let narrowed = limits.max_buffers.and_then(|max| narrow_concats(graph, max.max(fuse::MIN_BUFFERS) - 1));
    let graph = narrowed.as_ref().unwrap_or(graph);
    let program = fuse::fuse(graph, limits);
    let program = coalesce::coalesce(program);
    Ok(plan::plan(program, &graph.donations))
}

/// The graph with every `concat` of more than `max_inputs` operands (a library call
/// binding them all and its result) rewritten as a concat of concats of consecutive
/// groups: the same values in the same order. `None` when no concat is that wide.
fn narrow_concats(graph: &Graph, max_inputs: usize) -> Option<Graph> {
    let wide = |op: &Op, inputs: usize| matches!(op, Op::Concat { .. }) && inputs > max_inputs;
    if !graph.nodes.iter().any(|n| wide(&n.op, n.inputs.len())) {
        return None;
    }
    let mut out = Graph { name: graph.name.clone(), nodes: Vec::with_capacity(graph.nodes.len()), outputs: Vec::new(), donations: graph.donations.clone() };
    let mut new_id: Vec<NodeId> = Vec::with_capacity(graph.nodes.len());
    for node in &graph.nodes {
        let mut inputs: Vec<NodeId> = node.inputs.iter().map(|i| new_id[i.index()]).collect();
        if let Op::Concat { axis } = node.op {
            while inputs.len() > max_inputs {
                inputs = inputs.chunks(max_inputs).map(|group| out.concat(group.to_vec(), axis)).collect();
            }
        }
        new_id.push(out.push(node.op.clone(), inputs, node.ty.clone()));
    }
    out.outputs = graph.outputs.iter().map(|o| new_id[o.index()]).collect();
    Some(out)
}
