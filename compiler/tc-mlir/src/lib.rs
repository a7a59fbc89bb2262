//! The MLIR backend.
//!
//! - [`emit_mlir`]: a graph's kernel program (`tc_kernel::lower`) as an MLIR module of
//!   upstream dialects on tensors — `linalg.generic` with `arith`/`math` bodies for the
//!   fused loops, `linalg.batch_matmul` and `linalg.conv_2d_nchw_fchw` for contractions,
//!   `tensor` for layout — one `func.func` named after the graph (`tensorc emit --stage
//!   mlir`). Files: [`module`] (the function, buffers as 1-D tensors), [`loops`] (loop
//!   kernels), [`calls`] (library calls), [`scalar`] (the ops' exact semantics),
//!   [`text`] (types, literals, names).
//! - [`emit_stablehlo`]: the graph itself as StableHLO ([`stablehlo`]), the portable
//!   input of XLA and IREE (`--stage stablehlo`).
//! - [`tiles`]: matmuls on a tile unit (Intel AMX through the `amx` dialect, or the
//!   same tiles as `vector` ops), for bf16 programs and `--precision bf16`.
//! - [`entry`]: the module the JIT compiles (a memref wrapper) and its pass pipelines.
//! - With feature `jit`, [`jit::compile`] parses and verifies the module with MLIR
//!   (through melior), lowers it by a pass pipeline (bufferisation, loops, LLVM) and runs
//!   it in MLIR's execution engine (`--backend mlir`).
//!
//! Both text forms are built as text and checked by MLIR's own parser and verifier
//! (the JIT parses exactly what `emit_mlir` returns; the tests verify every emitted
//! module with `mlir-opt` when it is installed).

pub mod calls;
pub mod entry;
pub mod loops;
pub mod module;
pub mod scalar;
pub mod stablehlo;
pub mod text;
pub mod tiles;

#[cfg(feature = "jit")]
pub mod jit;
#[cfg(feature = "jit")]
pub mod target;

use std::fmt;
use tc_ir::Graph;

/// Why a graph has no MLIR form, or the MLIR could not be compiled or run.
#[derive(Clone, Debug, PartialEq)]
pub enum MlirError {
    /// The graph is not well formed.
    Verify(String),
    /// An op or dtype the backend does not lower.
    Unsupported(String),
    /// A broken invariant of the kernel program (a bug).
    Internal(String),
    /// MLIR rejected the module or a pass failed; the diagnostics.
    Mlir(String),
    /// The hardware asked for is not there (the message says what is missing).
    Unavailable(String),
    InputCount { expected: usize, got: usize },
    /// Argument `index` does not have its parameter's type.
    InputType { index: usize, expected: String, got: String },
}

impl fmt::Display for MlirError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MlirError::Verify(e) => write!(f, "invalid graph: {e}"),
            MlirError::Unsupported(what) => write!(f, "the MLIR backend does not support {what}"),
            MlirError::Internal(e) => write!(f, "internal error in the MLIR backend: {e}"),
            MlirError::Mlir(e) => write!(f, "MLIR: {e}"),
            MlirError::Unavailable(e) => write!(f, "{e}"),
            MlirError::InputCount { expected, got } => write!(f, "expected {expected} input(s), got {got}"),
            MlirError::InputType { index, expected, got } => write!(f, "parameter {index}: expected {expected}, got {got}"),
        }
    }
}

impl std::error::Error for MlirError {}

/// The kernel program of a verified graph.
pub fn kernel_program(graph: &Graph) -> Result<tc_kernel::KernelProgram, MlirError> {
    tc_kernel::lower(graph).map_err(|e| MlirError::Verify(e.to_string()))
}

/// The graph's kernel program as an MLIR module on tensors (see the crate docs).
pub fn emit_mlir(graph: &Graph) -> Result<String, MlirError> {
    emit_mlir_kernels(&kernel_program(graph)?)
}

/// A lowered kernel program as an MLIR module on tensors.
pub fn emit_mlir_kernels(program: &tc_kernel::KernelProgram) -> Result<String, MlirError> {
    Ok(format!("module {{\n{}}}\n", module::function(program, false, None)?))
}

/// The graph as a StableHLO module.
pub fn emit_stablehlo(graph: &Graph) -> Result<String, MlirError> {
    tc_ir::verify::verify(graph).map_err(|e| MlirError::Verify(e.to_string()))?;
    stablehlo::module(graph)
}
