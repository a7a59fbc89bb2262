//! The wgpu backend as the driver sees it ([`tc_kernel::target`]): kernel programs
//! within the device's binding limits, sized in device bytes.

use std::any::Any;

use tc_ir::Graph;
use tc_kernel::target::{CodegenOptions, Executable, Target};
use tc_kernel::{KernelProgram, Limits};
use tc_tensor::Tensor;

use crate::WgpuProgram;

/// WGSL compute shaders on the process's GPU (`--backend wgpu`).
pub struct Wgpu;

impl Target for Wgpu {
    fn name(&self) -> &'static str {
        "wgpu"
    }

    fn limits(&self) -> Result<Option<Limits>, String> {
        let gpu = crate::gpu().map_err(|e| e.to_string())?;
        Ok(Some(crate::limits(&gpu)))
    }

    fn planned_peak(&self, kernels: &KernelProgram, _donated: bool) -> usize {
        // The device keeps outputs apart from inputs: donation saves nothing here.
        match crate::gpu() {
            Ok(gpu) => crate::device_peak_bytes(&gpu, kernels),
            Err(_) => kernels.peak_bytes(),
        }
    }

    fn compile(&self, graph: &Graph, kernels: Option<KernelProgram>, _: &CodegenOptions) -> Result<Box<dyn Executable>, String> {
        let failed = |e: crate::WgpuError| format!("wgpu backend: {e}");
        let gpu = crate::gpu().map_err(failed)?;
        let program = match kernels {
            Some(kernels) => crate::compile_kernels_on(&gpu, kernels),
            None => crate::compile_on(&gpu, graph),
        };
        Ok(Box::new(program.map_err(failed)?))
    }
}

impl Executable for WgpuProgram {
    fn run(&self, inputs: &[Tensor]) -> Result<Vec<Tensor>, String> {
        WgpuProgram::run(self, inputs).map_err(|e| e.to_string())
    }

    fn peak_bytes(&self) -> usize {
        WgpuProgram::peak_bytes(self)
    }

    fn host_bytes(&self) -> Option<u128> {
        None
    }


    fn as_any(&self) -> &dyn Any {
        self
    }
}
