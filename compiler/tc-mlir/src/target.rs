//! The mlir backend as the driver sees it ([`tc_kernel::target`]): kernel programs
//! without limits, compiled by MLIR and LLVM; every output gets its own buffer, so the
//! driver pairs no donations.

use std::any::Any;

use tc_ir::Graph;
use tc_kernel::target::{CodegenOptions, Executable, Target};
use tc_kernel::{KernelProgram, Limits};
use tc_tensor::Tensor;

use crate::jit::{self, MlirProgram};
use crate::tiles::{TileOptions, TileUnit};

/// MLIR through melior (`--backend mlir`).
pub struct Mlir;

impl Target for Mlir {
    fn name(&self) -> &'static str {
        "mlir"
    }

    fn limits(&self) -> Result<Option<Limits>, String> {
        Ok(Some(Limits::default()))
    }

    fn donates(&self) -> bool {
        false
    }

    fn compile(&self, graph: &Graph, kernels: Option<KernelProgram>, options: &CodegenOptions) -> Result<Box<dyn Executable>, String> {
        let tiles = options.amx.then_some(TileOptions { unit: TileUnit::Amx, f32_matmuls: options.f32_matmuls_on_tiles });
        let program = match kernels {
            Some(kernels) => jit::compile_kernels(kernels, tiles),
            None => jit::compile_with(graph, tiles),
        };
        Ok(Box::new(program.map_err(|e| format!("mlir backend: {e}"))?))
    }
}

impl Executable for MlirProgram {
    fn run(&self, inputs: &[Tensor]) -> Result<Vec<Tensor>, String> {
        MlirProgram::run(self, inputs).map_err(|e| e.to_string())
    }

    fn peak_bytes(&self) -> usize {
        MlirProgram::peak_bytes(self)
    }


    fn as_any(&self) -> &dyn Any {
        self
    }
}
