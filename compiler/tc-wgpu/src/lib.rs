//! The GPU backend: lowers kernel programs to WGSL compute shaders and runs them
//! through wgpu on any Vulkan, Metal or DX12 device.
//!
//! ```no_run
//! # fn demo(graph: &tc_ir::Graph, x: &tc_tensor::Tensor, w: &tc_tensor::Tensor) -> Result<(), tc_wgpu::WgpuError> {
//! use tc_wgpu::{Arg, DeviceTensor};
//! let program = tc_wgpu::compile(graph)?;             // WGSL + pipelines: once per shape
//! let outputs = program.run(&[x.clone(), w.clone()])?; // host in, host out
//! // Device-resident: `w` is uploaded once, results stay on the device.
//! let w_dev = DeviceTensor::upload(program.gpu(), w)?;
//! let out = program.run_device(&[Arg::Host(x), Arg::Device(&w_dev)])?;
//! let first = out[0].to_host()?;
//! # Ok(()) }
//! ```
//!
//! [`wgsl`] generates one shader per kernel of `tc_kernel::lower`'s program; [`device`]
//! opens the GPU (`TENSORC_WGPU_ADAPTER` chooses); [`exec`] owns device memory (one
//! arena per program following the memory plan) and submits the kernels. Transfers
//! each way are counted ([`Transfers`]) so callers can show that a training loop moves
//! only its batches.

pub mod device;
pub mod exec;
pub mod target;
pub mod wgsl;

pub use device::{gpu, thread_transfers, Gpu, Transfers};
pub use exec::{download, Arg, DeviceTensor};

use exec::{Pipeline, Placement};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tc_ir::{Graph, Type};
use tc_kernel::{BufferKind, KernelProgram};
use tc_tensor::Tensor;
use wgsl::{device_elem, CodegenError, ShaderKernel};

/// Why a program could not be compiled or run on the GPU.
#[derive(Clone, Debug, PartialEq)]
pub enum WgpuError {
    /// No Vulkan, Metal or DX12 adapter with compute shaders.
    NoAdapter,
    /// `TENSORC_WGPU_ADAPTER` names no adapter.
    AdapterNotFound { choice: String, available: String },
    /// The device reported an error (validation, out of memory, loss).
    Device(String),
    /// The program has no WGSL form on this device.
    Codegen(CodegenError),
    /// The graph is not well formed.
    Verify(String),
    InputCount { expected: usize, got: usize },
    /// Argument `index` does not have its parameter's type.
    InputType { index: usize, expected: Type, got: Type },
    /// A buffer is larger than the device can bind.
    TooLarge { what: String, bytes: usize, limit: usize },
    /// A device tensor from another device was passed.
    ForeignTensor { index: usize },
}

impl fmt::Display for WgpuError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WgpuError::NoAdapter => write!(f, "no GPU adapter found (Vulkan, Metal or DX12 with compute shaders); on Linux without a GPU, install Mesa's software Vulkan driver: apt-get install mesa-vulkan-drivers"),
            WgpuError::AdapterNotFound { choice, available } => write!(f, "{}={choice:?} matches no adapter; available: {available}", device::ADAPTER_ENV),
            WgpuError::Device(e) => write!(f, "GPU error: {e}"),
            WgpuError::Codegen(e) => write!(f, "{e}"),
            WgpuError::Verify(e) => write!(f, "invalid graph: {e}"),
            WgpuError::InputCount { expected, got } => write!(f, "expected {expected} input(s), got {got}"),
            WgpuError::InputType { index, expected, got } => write!(f, "parameter {index}: expected {expected}, got {got}"),
            WgpuError::TooLarge { what, bytes, limit } => write!(f, "{what} needs {bytes} bytes, more than the {limit} bytes this GPU can bind at once"),
            WgpuError::ForeignTensor { index } => write!(f, "argument {index} lives on another device"),
        }
    }
}

impl std::error::Error for WgpuError {}

/// A graph compiled for the GPU: shaders compiled into pipelines, constants uploaded.
pub struct WgpuProgram {
    gpu: Arc<Gpu>,
    program: KernelProgram,
    shaders: Vec<ShaderKernel>,
    pipelines: Vec<Pipeline>,
    consts: Vec<Option<Arc<wgpu::Buffer>>>,
    temp_offsets: Vec<Option<usize>>,
    arena_bytes: usize,
    /// The arena, kept between runs (a concurrent run allocates its own).
    arena: Mutex<Option<wgpu::Buffer>>,
    compile_time: Duration,
}

/// The WGSL of every kernel of a graph for `features`, without a device
/// (`tensorc emit --stage wgsl`).
pub fn generate(graph: &Graph, features: wgsl::Features) -> Result<Vec<ShaderKernel>, WgpuError> {
    let program = tc_kernel::lower(graph).map_err(|e| WgpuError::Verify(e.to_string()))?;
    wgsl::generate(&program, features).map_err(WgpuError::Codegen)
}

/// Compile a verified graph for the process's GPU ([`gpu`]).
pub fn compile(graph: &Graph) -> Result<WgpuProgram, WgpuError> {
    compile_on(&gpu()?, graph)
}

/// Compile a verified graph for `gpu`.
pub fn compile_on(gpu: &Arc<Gpu>, graph: &Graph) -> Result<WgpuProgram, WgpuError> {
    let program = tc_kernel::lower_with(graph, &limits(gpu)).map_err(|e| WgpuError::Verify(e.to_string()))?;
    compile_kernels_on(gpu, program)
}

/// What kernels on `gpu` must keep within: fusion splits kernels so that none binds
/// more buffers than the device allows, keeping one binding for the zero word
/// (`ShaderKernel::zero_word`).
pub fn limits(gpu: &Gpu) -> tc_kernel::Limits {
    tc_kernel::Limits { max_buffers: Some((gpu.limits.max_storage_buffers_per_shader_stage as usize).saturating_sub(1)) }
}

/// Compile a kernel program lowered within [`limits`] for `gpu`.
pub fn compile_kernels_on(gpu: &Arc<Gpu>, program: KernelProgram) -> Result<WgpuProgram, WgpuError> {
    let start = Instant::now();
    let shaders = wgsl::generate(&program, gpu.features).map_err(WgpuError::Codegen)?;
    let pipelines = shaders.iter().map(|s| exec::pipeline(gpu, s)).collect::<Result<Vec<_>, _>>()?;
    let consts = exec::upload_consts(gpu, &program, &shaders)?;
    let (temp_offsets, arena_bytes) = place_temps(gpu, &program);
    Ok(WgpuProgram { gpu: gpu.clone(), program, shaders, pipelines, consts, temp_offsets, arena_bytes, arena: Mutex::new(None), compile_time: start.elapsed() })
}

/// Device bytes of one buffer: wider than the host's for the types WGSL lacks. Temps
/// no shader binds (their dtype unchecked) keep their host size.
fn device_size(gpu: &Gpu, buffer: &tc_kernel::Buffer) -> usize {
    device_elem(buffer.ty.dtype, gpu.features).map_or(buffer.ty.size_bytes(), |e| exec::device_bytes(&buffer.ty, e))
}

/// Each temp's offset in the device arena, and the arena's size.
fn place_temps(gpu: &Gpu, program: &KernelProgram) -> (Vec<Option<usize>>, usize) {
    let align = gpu.limits.min_storage_buffer_offset_alignment as usize;
    tc_kernel::plan::place_temps(program, |b| device_size(gpu, b), align)
}

/// Device bytes of a program's own buffers at peak on `gpu`: the arena plus the outputs.
pub fn device_peak_bytes(gpu: &Gpu, program: &KernelProgram) -> usize {
    let outputs: usize = program.buffers.iter().filter(|b| b.kind == BufferKind::Output).map(|b| device_size(gpu, b)).sum();
    place_temps(gpu, program).1 + outputs
}

impl WgpuProgram {
    /// Run on host inputs (one per parameter, each exactly of its type) and read every
    /// output back.
    pub fn run(&self, inputs: &[Tensor]) -> Result<Vec<Tensor>, WgpuError> {
        let args: Vec<Arg> = inputs.iter().map(Arg::Host).collect();
        let outputs = self.run_device(&args)?;
        download(&self.gpu, &outputs.iter().collect::<Vec<_>>())
    }

    /// Run on host or device arguments; the outputs stay on the device. Host arguments
    /// are uploaded for this call; device arguments are read in place.
    pub fn run_device(&self, args: &[Arg]) -> Result<Vec<DeviceTensor>, WgpuError> {
        let params: Vec<&Type> = self.program.params.iter().map(|&b| &self.program.buffer(b).ty).collect();
        if args.len() != params.len() {
            return Err(WgpuError::InputCount { expected: params.len(), got: args.len() });
        }
        let mut inputs = Vec::with_capacity(args.len());
        for (index, (arg, &expected)) in args.iter().zip(&params).enumerate() {
            let got = match arg {
                Arg::Host(t) => Type::new(t.dtype(), t.shape().to_vec()),
                Arg::Device(d) => d.ty().clone(),
            };
            if &got != expected {
                return Err(WgpuError::InputType { index, expected: expected.clone(), got });
            }
            inputs.push(match arg {
                Arg::Host(t) => DeviceTensor::upload(&self.gpu, t)?,
                Arg::Device(d) if Arc::ptr_eq(d.gpu(), &self.gpu) => (*d).clone(),
                Arg::Device(_) => return Err(WgpuError::ForeignTensor { index }),
            });
        }
        let param_buffers: Vec<Arc<wgpu::Buffer>> = inputs.iter().map(|t| t.buffer().clone()).collect();
        let outputs = exec::allocate_outputs(&self.gpu, &self.program)?;
        let cached = self.arena.lock().ok().and_then(|mut a| a.take());
        let arena = match cached {
            Some(a) => a,
            None => exec::arena(&self.gpu, self.arena_bytes)?,
        };
        let place = Placement {
            program: &self.program,
            temp_offsets: &self.temp_offsets,
            arena: &arena,
            params: &param_buffers,
            consts: &self.consts,
            outputs: &outputs,
            features: self.gpu.features,
        };
        let result = exec::dispatch(&self.gpu, &self.shaders, &self.pipelines, &place);
        let results = self
            .program
            .outputs
            .iter()
            .map(|&b| {
                let root = place.root(b);
                let buffer = match &self.program.buffer(root).kind {
                    BufferKind::Param(i) => param_buffers[*i].clone(),
                    BufferKind::Const(_) => self.consts[root.index()].clone().expect("constants are uploaded"),
                    _ => outputs[root.index()].clone().expect("graph outputs are output buffers"),
                };
                DeviceTensor::from_parts(self.program.buffer(b).ty.clone(), buffer, self.gpu.clone())
            })
            .collect();
        if let Ok(mut slot) = self.arena.lock() {
            *slot = Some(arena);
        }
        result.map(|()| results)
    }

    pub fn gpu(&self) -> &Arc<Gpu> {
        &self.gpu
    }

    /// Device bytes of the program's own buffers at peak: the arena plus the outputs.
    pub fn peak_bytes(&self) -> usize {
        let outputs: usize = self.program.buffers.iter().filter(|b| b.kind == BufferKind::Output).map(|b| device_size(&self.gpu, b)).sum();
        self.arena_bytes + outputs
    }

    /// Time spent lowering, generating WGSL and compiling pipelines.
    pub fn compile_time(&self) -> Duration {
        self.compile_time
    }

    /// The shaders, one per kernel.
    pub fn shaders(&self) -> &[ShaderKernel] {
        &self.shaders
    }

    /// The kernel program this was compiled from.
    pub fn kernel_program(&self) -> &KernelProgram {
        &self.program
    }
}
