//! The CPU backend as the driver sees it ([`tc_kernel::target`]): kernel programs
//! without limits, JIT-compiled by [`crate::compile_kernels`].

use std::any::Any;

use tc_ir::Graph;
use tc_kernel::target::{CodegenOptions, Executable, Returned, Target};
use tc_kernel::{KernelProgram, Limits};
use tc_tensor::{Arg, Tensor, TensorRef};

use crate::CpuProgram;

/// The Cranelift JIT (`--backend cpu`).
pub struct Cpu;

impl Target for Cpu {
    fn name(&self) -> &'static str {
        "cpu"
    }

    fn limits(&self) -> Result<Option<Limits>, String> {
        Ok(Some(Limits::default()))
    }

    fn compile(&self, graph: &Graph, kernels: Option<KernelProgram>, _: &CodegenOptions) -> Result<Box<dyn Executable>, String> {
        let program = match kernels {
            Some(kernels) => crate::compile_kernels(kernels),
            None => crate::compile(graph),
        };
        Ok(Box::new(program.map_err(|e| format!("CPU code generation failed: {e}"))?))
    }
}

impl Executable for CpuProgram {
    fn run(&self, inputs: &[Tensor]) -> Result<Vec<Tensor>, String> {
        CpuProgram::run(self, inputs).map_err(|e| e.to_string())
    }

    fn run_refs(&self, inputs: &[TensorRef<'_>]) -> Result<Vec<Tensor>, String> {
        CpuProgram::run_refs(self, inputs).map_err(|e| e.to_string())
    }

    fn run_donated(&self, inputs: Vec<Tensor>) -> Result<Vec<Tensor>, String> {
        CpuProgram::run_donated(self, inputs).map_err(|e| e.to_string())
    }

    fn run_lent(&self, args: &mut [Arg<'_>]) -> Result<Vec<Returned>, String> {
        CpuProgram::run_lent(self, args).map_err(|e| e.to_string())
    }

    fn peak_bytes(&self) -> usize {
        CpuProgram::peak_bytes(self)
    }

    fn donated_peak_bytes(&self) -> usize {
        CpuProgram::donated_peak_bytes(self)
    }


    fn as_any(&self) -> &dyn Any {
        self
    }
}
