//! Kernel programs: the backend-neutral lowered form of a graph, shared by every
//! backend (Cranelift now, WGSL and MLIR later).
//!
//! [`lower`] runs the pipeline, one pass per file:
//! 1. [`fuse`] — partition the graph into loop kernels (fused elementwise, layout and
//!    reduction chains) and library calls, and create buffers;
//! 2. [`coalesce`] — drop unit axes and merge contiguous axes of each loop's domain;
//! 3. [`plan`] — place intermediates in one arena by liveness, and write outputs into
//!    donated parameters where that is safe.
//!
//! [`program`] defines the data structures; [`print`] the stable text form
//! (`tensorc emit --stage kernels`); [`view`] the affine index maps fusion composes.

pub mod coalesce;
pub mod fuse;
pub mod plan;
pub mod print;
pub mod program;
pub mod view;

pub use fuse::Limits;
pub use print::print;
pub use program::{Action, Buffer, BufferId, BufferKind, CallKernel, Expr, ExprId, ExprOp, Kernel, KernelProgram, LoopKernel, Scalar, Stage, StoreTo, View};

use tc_ir::Graph;

/// Lower a graph to a kernel program with no limit on its kernels. The graph must pass
/// `tc_ir::verify::verify`; otherwise the verifier's error is returned.
pub fn lower(graph: &Graph) -> Result<KernelProgram, tc_ir::verify::VerifyError> {
    lower_with(graph, &Limits::default())
}

/// Lower a graph to a kernel program whose kernels keep within a target's `limits`.
pub fn lower_with(graph: &Graph, limits: &Limits) -> Result<KernelProgram, tc_ir::verify::VerifyError> {
    tc_ir::verify::verify(graph)?;
    let program = fuse::fuse(graph, limits);
    let program = coalesce::coalesce(program);
    Ok(plan::plan(program, &graph.donations))
}
