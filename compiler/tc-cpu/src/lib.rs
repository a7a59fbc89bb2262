//! The CPU backend: compiles a graph to native code with Cranelift and runs it.
//!
//! ```no_run
//! # fn demo(graph: &tc_ir::Graph, inputs: &[tc_tensor::Tensor]) -> Result<(), tc_cpu::CpuError> {
//! let program = tc_cpu::compile(graph)?;      // lower, fuse, plan, JIT: once
//! let outputs = program.run(inputs)?;         // as often as needed, from any thread
//! println!("{} bytes at peak", program.peak_bytes());
//! # Ok(()) }
//! ```
//!
//! Pipeline: `tc_kernel::lower` (fusion, coalescing, memory planning), then [`jit`]
//! compiles each loop kernel with [`codegen`] (inline math from [`math`], f16/bf16 from
//! [`narrow`], calls to [`externs`]); [`exec`] runs the kernels, library calls through
//! [`library`] (native ones in [`kernels`], `argsort` in [`sort`]), on the rayon thread
//! pool. Semantics are those of `tc_ir::ops`, checked against `tc_interp` by the tests;
//! see `docs/cpu-backend.md`.

pub mod codegen;
pub mod exec;
pub mod externs;
pub mod jit;
pub mod kernels;
pub mod library;
pub mod math;
pub mod narrow;
pub mod sort;
pub mod target;

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tc_ir::{Graph, Type};
use tc_kernel::target::Returned;
use tc_kernel::KernelProgram;
use tc_tensor::{Arg, DType, Tensor, TensorRef};

/// Why a graph could not be compiled or run.
#[derive(Debug)]
pub enum CpuError {
    /// The graph is not well formed (`tc_ir::verify`).
    Verify(tc_ir::verify::VerifyError),
    /// Cranelift could not compile a kernel (a bug, or an unsupported host).
    Jit(String),
    /// `run` was given the wrong number of inputs.
    InputCount { expected: usize, got: usize },
    /// Input `index` does not have its parameter's type.
    InputType { index: usize, expected: Type, got: Type },
    /// A library call failed (an op outside its typing rule).
    Library(tc_interp::InterpError),
}

impl fmt::Display for CpuError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CpuError::Verify(e) => write!(f, "invalid graph: {e}"),
            CpuError::Jit(e) => write!(f, "code generation failed: {e}"),
            CpuError::InputCount { expected, got } => write!(f, "expected {expected} input(s), got {got}"),
            CpuError::InputType { index, expected, got } => write!(f, "parameter {index}: expected {expected}, got {got}"),
            CpuError::Library(e) => write!(f, "library call failed: {e}"),
        }
    }
}

impl std::error::Error for CpuError {}

/// A graph compiled for the CPU: reusable, `Send + Sync`.
pub struct CpuProgram {
    program: KernelProgram,
    jitted: jit::Jitted,
    /// Per kernel, [`sort::sort_prefixes`].
    sort_prefixes: Vec<usize>,
    /// The arena, kept between runs (a concurrent run allocates its own).
    arena: Mutex<Option<exec::Arena>>,
    compile_time: Duration,
}

/// Compile a verified graph: lower it to a kernel program and JIT its loops.
pub fn compile(graph: &Graph) -> Result<CpuProgram, CpuError> {
    compile_kernels(tc_kernel::lower(graph).map_err(CpuError::Verify)?)
}

/// JIT the loops of a lowered kernel program.
pub fn compile_kernels(program: KernelProgram) -> Result<CpuProgram, CpuError> {
    let start = Instant::now();
    let jitted = jit::jit(&program).map_err(CpuError::Jit)?;
    JIT_COMPILATIONS.fetch_add(1, Ordering::Relaxed);
    let sort_prefixes = sort::sort_prefixes(&program);
    Ok(CpuProgram { program, jitted, sort_prefixes, arena: Mutex::new(None), compile_time: start.elapsed() })
}

static JIT_COMPILATIONS: AtomicUsize = AtomicUsize::new(0);

/// How many kernel programs this process has JIT-compiled: lets tests check that a
/// pipeline generates machine code once.
pub fn jit_compilations() -> usize {
    JIT_COMPILATIONS.load(Ordering::Relaxed)
}

impl CpuProgram {
    /// Run on `inputs` (one per parameter, in order, each exactly of its parameter's
    /// type) and return the outputs. The inputs are only read; donated outputs get
    /// their own memory.
    pub fn run(&self, inputs: &[Tensor]) -> Result<Vec<Tensor>, CpuError> {
        let views: Vec<TensorRef<'_>> = inputs.iter().map(Tensor::view).collect();
        self.run_refs(&views)
    }

    /// [`CpuProgram::run`] on borrowed inputs, read in place (never copied or written).
    pub fn run_refs(&self, inputs: &[TensorRef<'_>]) -> Result<Vec<Tensor>, CpuError> {
        self.check(inputs.iter().map(|t| (t.dtype(), t.shape())), inputs.len())?;
        self.execute(exec::Inputs::Borrowed(inputs)).map(new_tensors)
    }

    /// [`CpuProgram::run_refs`] where some inputs are lent ([`Arg::Lent`]): an output the
    /// graph's donations place in a lent parameter is written into its storage and
    /// returned as [`Returned::InLent`].
    pub fn run_lent(&self, args: &mut [Arg<'_>]) -> Result<Vec<Returned>, CpuError> {
        self.check(args.iter().map(|a| match a {
            Arg::Read(t) => (t.dtype(), t.shape()),
            Arg::Lent(t) => (t.dtype(), t.shape()),
        }), args.len())?;
        self.execute(exec::Inputs::Lent(&*args))
    }

    /// [`CpuProgram::run`], handing the inputs over: an output the graph's donations
    /// place in a parameter (`tc_ir::Graph::donations`, where planning found it safe) is
    /// written into that input's storage and returned in it.
    pub fn run_donated(&self, inputs: Vec<Tensor>) -> Result<Vec<Tensor>, CpuError> {
        self.check(inputs.iter().map(|t| (t.dtype(), t.shape())), inputs.len())?;
        self.execute(exec::Inputs::Owned(inputs)).map(new_tensors)
    }

    /// Inputs must match the parameters in count and type.
    fn check<'a>(&self, inputs: impl Iterator<Item = (DType, &'a [usize])>, count: usize) -> Result<(), CpuError> {
        let params = &self.program.params;
        if count != params.len() {
            return Err(CpuError::InputCount { expected: params.len(), got: count });
        }
        for (index, ((dtype, shape), &b)) in inputs.zip(params).enumerate() {
            let expected = &self.program.buffer(b).ty;
            if dtype != expected.dtype || shape != &expected.shape[..] {
                return Err(CpuError::InputType { index, expected: expected.clone(), got: Type::new(dtype, shape.to_vec()) });
            }
        }
        Ok(())
    }

    fn execute(&self, inputs: exec::Inputs<'_>) -> Result<Vec<Returned>, CpuError> {
        let cached = self.arena.lock().ok().and_then(|mut a| a.take());
        let mut arena = cached.unwrap_or_else(|| exec::Arena::new(self.program.arena_bytes));
        let result = exec::execute(&self.program, &self.jitted.fns, &self.sort_prefixes, inputs, &mut arena).map_err(CpuError::Library);
        if let Ok(mut slot) = self.arena.lock() {
            *slot = Some(arena);
        }
        result
    }

    /// Bytes of the program's own buffers at peak in [`CpuProgram::run`]: the arena
    /// plus the outputs.
    pub fn peak_bytes(&self) -> usize {
        self.program.peak_bytes()
    }

    /// Bytes of the program's own buffers at peak in [`CpuProgram::run_donated`]: the
    /// outputs written into donated inputs take no new memory.
    pub fn donated_peak_bytes(&self) -> usize {
        self.program.donated_peak_bytes()
    }

    /// Time spent lowering and compiling.
    pub fn compile_time(&self) -> Duration {
        self.compile_time
    }

    /// The Cranelift IR of the compiled loop kernels (`tensorc emit --stage clif`).
    pub fn clif_text(&self) -> &str {
        &self.jitted.clif
    }

    /// The kernel program's text form (`tensorc emit --stage kernels`).
    pub fn kernels_text(&self) -> String {
        tc_kernel::print(&self.program)
    }

    /// The kernel program this was compiled from.
    pub fn kernel_program(&self) -> &KernelProgram {
        &self.program
    }
}

/// The outputs of a run that lent nothing: all in memory of their own.
fn new_tensors(outputs: Vec<Returned>) -> Vec<Tensor> {
    outputs
        .into_iter()
        .map(|r| match r {
            Returned::Tensor(t) => t,
            Returned::InLent(_) => unreachable!("no input was lent"),
        })
        .collect()
}
