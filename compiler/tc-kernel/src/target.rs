//! What a backend gives the driver (crate `tensorc`), so that every backend runs behind
//! one pipeline: the driver optimises the graph, lowers it once to a [`KernelProgram`]
//! within the backend's [`Target::limits`], fits it to a memory budget on the program's
//! own planned peak ([`Target::planned_peak`]), and hands the result to
//! [`Target::compile`], which generates code once. A backend that compiles graphs
//! directly (MLIR, the interpreter) has no limits and gets no kernel program.
//!
//! Adding a backend is an implementation of [`Target`] and [`Executable`] in its own
//! crate, and one line registering it in `tensorc`.

use std::any::Any;

use tc_ir::Graph;
use tc_tensor::{Arg, Tensor, TensorRef};

use crate::{KernelProgram, Limits};

/// Choices of the session that change generated code.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CodegenOptions {
    /// Run bf16 matmuls on the CPU's AMX tiles (the mlir backend).
    pub amx: bool,
    /// With `amx`: f32 matmuls too, their operands rounded to bf16 (`--precision bf16`).
    pub f32_matmuls_on_tiles: bool,
}

/// A backend: how graphs become programs it runs.
pub trait Target: Sync {
    /// The name used on the command line (`--backend NAME`).
    fn name(&self) -> &'static str;

    /// The limits its kernels must keep within, or `None` for a backend that compiles
    /// the graph itself instead of a kernel program. An error when the backend cannot
    /// run here (no device).
    fn limits(&self) -> Result<Option<Limits>, String>;

    /// Whether outputs may be written into donated inputs (`tc_ir::donate`); the driver
    /// pairs none for a backend that gives every output its own buffer.
    fn donates(&self) -> bool {
        true
    }

    /// The bytes of its own buffers a program lowered to `kernels` takes at peak;
    /// `donated`: when its donated inputs are handed over. Backends whose buffers are
    /// sized differently from the host's (wider device types) say so here.
    fn planned_peak(&self, kernels: &KernelProgram, donated: bool) -> usize {
        if donated {
            kernels.donated_peak_bytes()
        } else {
            kernels.peak_bytes()
        }
    }

    /// Generate code for `graph`, lowered to `kernels` when [`Target::limits`] is `Some`.
    fn compile(&self, graph: &Graph, kernels: Option<KernelProgram>, options: &CodegenOptions) -> Result<Box<dyn Executable>, String>;
}

/// One output of [`Executable::run_lent`].
#[derive(Debug, PartialEq)]
pub enum Returned {
    /// In memory of its own.
    Tensor(Tensor),
    /// Written into the storage of the lent input of this index.
    InLent(usize),
}

/// A compiled program: reusable, callable from several threads.
pub trait Executable: Send + Sync {
    /// Run on one tensor per parameter (each of its parameter's type); the inputs are
    /// only read.
    fn run(&self, inputs: &[Tensor]) -> Result<Vec<Tensor>, String>;

    /// [`Executable::run`] on borrowed inputs (a host application's buffers): a backend
    /// whose code reads host memory reads them in place, without copying; the others
    /// copy them into tensors first, as this default does.
    fn run_refs(&self, inputs: &[TensorRef<'_>]) -> Result<Vec<Tensor>, String> {
        let owned: Vec<Tensor> = inputs.iter().map(TensorRef::to_tensor).collect();
        self.run(&owned)
    }

    /// [`Executable::run`], handing the inputs over, so that outputs paired with donated
    /// inputs may be written into their storage.
    fn run_donated(&self, inputs: Vec<Tensor>) -> Result<Vec<Tensor>, String> {
        self.run(&inputs)
    }

    /// [`Executable::run_refs`] where some inputs are lent ([`Arg::Lent`]): an output
    /// that the compile paired with a lent input (donation) may be written into that
    /// input's storage, and is then returned as [`Returned::InLent`]. This default
    /// reads every input and returns every output as a new tensor.
    fn run_lent(&self, args: &mut [Arg<'_>]) -> Result<Vec<Returned>, String> {
        let views: Vec<TensorRef<'_>> = args.iter().map(Arg::view).collect();
        Ok(self.run_refs(&views)?.into_iter().map(Returned::Tensor).collect())
    }

    /// [`Executable::run`] and the peak bytes of the program's own buffers in that run.
    fn run_measured(&self, inputs: &[Tensor]) -> Result<(Vec<Tensor>, usize), String> {
        Ok((self.run(inputs)?, self.peak_bytes()))
    }

    /// Bytes of its own buffers at peak in [`Executable::run`].
    fn peak_bytes(&self) -> usize;

    /// Bytes of its own buffers at peak in [`Executable::run_donated`].
    fn donated_peak_bytes(&self) -> usize {
        self.peak_bytes()
    }

    /// The bytes of host memory a run needs, checked against what the machine has
    /// before running; `None` when the buffers live on a device.
    fn host_bytes(&self) -> Option<u128> {
        Some(self.peak_bytes() as u128)
    }

    /// The concrete program, for callers that use a backend's own features (device
    /// tensors on wgpu).
    fn as_any(&self) -> &dyn Any;
}
