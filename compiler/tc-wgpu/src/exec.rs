//! Device memory and running a compiled program.
//!
//! A [`DeviceTensor`] is an immutable tensor living in a device buffer. Programs take
//! host or device arguments ([`Arg`]) and return device tensors, so values that feed
//! the next call (a training loop's parameters and optimiser state) never leave the
//! device; only what the host reads back with [`DeviceTensor::to_host`] crosses the
//! bus. Every upload and read-back is counted per thread ([`crate::thread_transfers`]).
//!
//! Storage follows the memory plan: temps are ranges of one arena buffer placed by
//! `tc_kernel::plan::place_temps` with device element sizes and the device's binding
//! alignment (kept by the program between runs); in-place (`Shares`) buffers bind the
//! same range as the buffer they share; outputs get fresh buffers each run (they are
//! handed to the caller); constants are uploaded once at compile time.
//!
//! Uploads are queued with `Queue::write_buffer`: the bytes are copied to staging at
//! once and reach the device before the next submission, so the host can prepare the
//! next batch while the device computes the current step (see `upload` ahead of
//! `to_host` in the training loop).

use crate::device::Gpu;
use crate::wgsl::{device_elem, DeviceElem, ShaderKernel};
use crate::WgpuError;
use std::sync::Arc;
use tc_ir::Type;
use tc_kernel::{BufferId, BufferKind, KernelProgram};
use tc_tensor::{DType, Data, Tensor};

/// A tensor in device memory. Cloning shares the buffer (tensors are immutable).
#[derive(Clone)]
pub struct DeviceTensor {
    ty: Type,
    buffer: Arc<wgpu::Buffer>,
    gpu: Arc<Gpu>,
}

impl std::fmt::Debug for DeviceTensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DeviceTensor({} on {})", self.ty, self.gpu.info.name)
    }
}

/// An argument of a program: a host tensor (uploaded for this call) or a device one.
#[derive(Clone, Copy, Debug)]
pub enum Arg<'a> {
    Host(&'a Tensor),
    Device(&'a DeviceTensor),
}

/// Bytes of a device buffer holding `ty`: elements at their device size, rounded up to
/// whole 4-byte words (storage bindings are word arrays), never empty.
pub(crate) fn device_bytes(ty: &Type, elem: DeviceElem) -> usize {
    (ty.num_elements() * elem.size_bytes()).next_multiple_of(4).max(4)
}

/// A tensor's elements as the device stores them (u8 and bool widened to u32 words).
fn encode(t: &Tensor) -> Vec<u8> {
    let mut bytes = match t.data() {
        Data::U8(v) => v.iter().flat_map(|&x| u32::from(x).to_le_bytes()).collect(),
        Data::Bool(v) => v.iter().flat_map(|&x| u32::from(x).to_le_bytes()).collect(),
        other => other.to_le_bytes(),
    };
    bytes.resize(bytes.len().next_multiple_of(4).max(4), 0);
    bytes
}

/// The inverse of [`encode`]; `bytes` may have padding beyond the elements.
fn decode(ty: &Type, bytes: &[u8]) -> Tensor {
    let n = ty.num_elements();
    let words = bytes.chunks_exact(4).take(n).map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]));
    let data = match ty.dtype {
        DType::U8 => Data::U8(words.map(|w| w as u8).collect()),
        DType::Bool => Data::Bool(words.map(|w| w != 0).collect()),
        d => Data::from_le_bytes(d, &bytes[..n * d.size_bytes()]).expect("a device buffer holds whole elements"),
    };
    Tensor::new(ty.shape.clone(), data).expect("decoded data matches its type")
}

fn storage_buffer(gpu: &Gpu, bytes: usize, label: &str) -> Result<wgpu::Buffer, WgpuError> {
    let limit = gpu.limits.max_storage_buffer_binding_size as usize;
    if bytes > limit || bytes as u64 > gpu.limits.max_buffer_size {
        return Err(WgpuError::TooLarge { what: label.to_string(), bytes, limit });
    }
    gpu.checked(label, || {
        gpu.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: bytes as u64,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    })
}

impl DeviceTensor {
    /// Copy a host tensor to the device (queued; see the module docs).
    pub fn upload(gpu: &Arc<Gpu>, t: &Tensor) -> Result<DeviceTensor, WgpuError> {
        let elem = device_elem(t.dtype(), gpu.features).map_err(WgpuError::Codegen)?;
        let ty = Type::new(t.dtype(), t.shape().to_vec());
        let bytes = encode(t);
        debug_assert_eq!(bytes.len(), device_bytes(&ty, elem));
        let buffer = storage_buffer(gpu, bytes.len(), "tensor")?;
        gpu.checked("upload", || gpu.queue.write_buffer(&buffer, 0, &bytes))?;
        crate::device::count_transfer(bytes.len(), 0);
        Ok(DeviceTensor { ty, buffer: Arc::new(buffer), gpu: gpu.clone() })
    }

    pub fn ty(&self) -> &Type {
        &self.ty
    }

    /// Copy back to the host (waits for the work that produces it).
    pub fn to_host(&self) -> Result<Tensor, WgpuError> {
        Ok(download(&self.gpu, &[self])?.remove(0))
    }
}

/// Read several device tensors back with one submission and one wait.
pub fn download(gpu: &Gpu, tensors: &[&DeviceTensor]) -> Result<Vec<Tensor>, WgpuError> {
    let staging: Vec<wgpu::Buffer> = gpu.checked("read-back", || {
        let mut encoder = gpu.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("read-back") });
        let staging = tensors
            .iter()
            .map(|t| {
                let size = t.buffer.size();
                let s = gpu.device.create_buffer(&wgpu::BufferDescriptor { label: Some("staging"), size, usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST, mapped_at_creation: false });
                encoder.copy_buffer_to_buffer(&t.buffer, 0, &s, 0, size);
                s
            })
            .collect();
        gpu.queue.submit([encoder.finish()]);
        staging
    })?;
    let (sender, receiver) = std::sync::mpsc::channel();
    for (i, s) in staging.iter().enumerate() {
        let sender = sender.clone();
        s.map_async(wgpu::MapMode::Read, .., move |result| {
            let _ = sender.send((i, result));
        });
    }
    drop(sender);
    gpu.wait("read-back")?;
    for (i, result) in receiver.iter() {
        result.map_err(|e| WgpuError::Device(format!("mapping output {i} for read-back: {e}")))?;
    }
    let mut out = Vec::with_capacity(tensors.len());
    for (t, s) in tensors.iter().zip(&staging) {
        let view = s.get_mapped_range(..).map_err(|e| WgpuError::Device(format!("read-back: {e}")))?;
        crate::device::count_transfer(0, view.len());
        out.push(decode(&t.ty, &view));
    }
    Ok(out)
}

/// A compute pipeline and the layout of its one bind group.
pub(crate) struct Pipeline {
    pub pipeline: wgpu::ComputePipeline,
    pub layout: wgpu::BindGroupLayout,
}

/// Compile one shader. Every binding is a read-write storage buffer (see `wgsl`).
pub(crate) fn pipeline(gpu: &Gpu, shader: &ShaderKernel) -> Result<Pipeline, WgpuError> {
    let count = shader.bindings.len() + usize::from(shader.zero_word);
    let entries: Vec<wgpu::BindGroupLayoutEntry> = (0..count as u32)
        .map(|binding| wgpu::BindGroupLayoutEntry {
            binding,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Buffer { ty: wgpu::BufferBindingType::Storage { read_only: false }, has_dynamic_offset: false, min_binding_size: None },
            count: None,
        })
        .collect();
    let max = gpu.limits.max_storage_buffers_per_shader_stage as usize;
    if entries.len() > max {
        return Err(WgpuError::Device(format!("kernel {} binds {} buffers; this device allows {max}", shader.label, entries.len())));
    }
    gpu.checked(&format!("compiling kernel {}", shader.label), || {
        let layout = gpu.device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor { label: Some(&shader.label), entries: &entries });
        let pipeline_layout = gpu.device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor { label: Some(&shader.label), bind_group_layouts: &[Some(&layout)], immediate_size: 0 });
        let module = gpu.device.create_shader_module(wgpu::ShaderModuleDescriptor { label: Some(&shader.label), source: wgpu::ShaderSource::Wgsl(shader.wgsl.as_str().into()) });
        let pipeline = gpu.device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(&shader.label),
            layout: Some(&pipeline_layout),
            module: &module,
            entry_point: Some(&shader.entry),
            compilation_options: Default::default(),
            cache: None,
        });
        Pipeline { pipeline, layout }
    })
}

/// Where each buffer of a program lives for one run.
pub(crate) struct Placement<'a> {
    pub program: &'a KernelProgram,
    /// Per buffer: its arena offset, for temps.
    pub temp_offsets: &'a [Option<usize>],
    pub arena: &'a wgpu::Buffer,
    pub params: &'a [Arc<wgpu::Buffer>],
    /// Per buffer: the uploaded constant.
    pub consts: &'a [Option<Arc<wgpu::Buffer>>],
    /// Per buffer: this run's output buffer.
    pub outputs: &'a [Option<Arc<wgpu::Buffer>>],
    pub features: crate::wgsl::Features,
}

impl Placement<'_> {
    /// The buffer whose memory `b` uses, following in-place sharing.
    pub fn root(&self, mut b: BufferId) -> BufferId {
        while let BufferKind::Shares(o) = self.program.buffer(b).kind {
            b = o;
        }
        b
    }

    /// The device memory of `b`: a buffer and a byte range of it.
    pub fn binding(&self, b: BufferId) -> wgpu::BufferBinding<'_> {
        let ty = &self.program.buffer(b).ty;
        let elem = device_elem(ty.dtype, self.features).expect("types were checked at compile time");
        let size = wgpu::BufferSize::new(device_bytes(ty, elem) as u64);
        let root = self.root(b);
        let (buffer, offset) = match &self.program.buffer(root).kind {
            BufferKind::Param(i) => (&*self.params[*i], 0),
            BufferKind::Const(_) => (&**self.consts[root.index()].as_ref().expect("constants are uploaded"), 0),
            BufferKind::Output => (&**self.outputs[root.index()].as_ref().expect("outputs are allocated"), 0),
            BufferKind::Temp { .. } => (self.arena, self.temp_offsets[root.index()].expect("temps are placed") as u64),
            BufferKind::Shares(_) => unreachable!("root follows sharing"),
        };
        wgpu::BufferBinding { buffer, offset, size }
    }
}

/// Record and submit every kernel of the program, in order, in one compute pass.
pub(crate) fn dispatch(gpu: &Gpu, shaders: &[ShaderKernel], pipelines: &[Pipeline], place: &Placement) -> Result<(), WgpuError> {
    gpu.checked("running the program", || {
        let groups: Vec<Option<wgpu::BindGroup>> = shaders
            .iter()
            .zip(pipelines)
            .map(|(s, p)| {
                (s.workgroups.iter().all(|&w| w > 0)).then(|| {
                    let mut entries: Vec<wgpu::BindGroupEntry> = s.bindings.iter().enumerate().map(|(i, &b)| wgpu::BindGroupEntry { binding: i as u32, resource: wgpu::BindingResource::Buffer(place.binding(b)) }).collect();
                    if s.zero_word {
                        entries.push(wgpu::BindGroupEntry { binding: s.bindings.len() as u32, resource: gpu.zero_word.as_entire_binding() });
                    }
                    gpu.device.create_bind_group(&wgpu::BindGroupDescriptor { label: Some(&s.label), layout: &p.layout, entries: &entries })
                })
            })
            .collect();
        let mut encoder = gpu.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("program") });
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some("program"), timestamp_writes: None });
            for ((s, p), group) in shaders.iter().zip(pipelines).zip(&groups) {
                if let Some(group) = group {
                    pass.set_pipeline(&p.pipeline);
                    pass.set_bind_group(0, group, &[]);
                    pass.dispatch_workgroups(s.workgroups[0], s.workgroups[1], s.workgroups[2]);
                }
            }
        }
        gpu.queue.submit([encoder.finish()]);
    })
}

/// Upload once the constants that a shader binds (scalars are baked into the WGSL).
pub(crate) fn upload_consts(gpu: &Arc<Gpu>, program: &KernelProgram, shaders: &[ShaderKernel]) -> Result<Vec<Option<Arc<wgpu::Buffer>>>, WgpuError> {
    let bound: std::collections::HashSet<BufferId> = shaders.iter().flat_map(|s| s.bindings.iter().copied()).chain(program.outputs.iter().copied()).collect();
    program
        .buffers
        .iter()
        .enumerate()
        .map(|(i, b)| match &b.kind {
            BufferKind::Const(t) if bound.contains(&BufferId(i as u32)) => Ok(Some(DeviceTensor::upload(gpu, t)?.buffer)),
            _ => Ok(None),
        })
        .collect()
}

/// A fresh buffer for each output of the program.
pub(crate) fn allocate_outputs(gpu: &Gpu, program: &KernelProgram) -> Result<Vec<Option<Arc<wgpu::Buffer>>>, WgpuError> {
    program
        .buffers
        .iter()
        .map(|b| match b.kind {
            BufferKind::Output => {
                let elem = device_elem(b.ty.dtype, gpu.features).map_err(WgpuError::Codegen)?;
                Ok(Some(Arc::new(storage_buffer(gpu, device_bytes(&b.ty, elem), "output")?)))
            }
            _ => Ok(None),
        })
        .collect()
}

/// The arena buffer of `bytes`.
pub(crate) fn arena(gpu: &Gpu, bytes: usize) -> Result<wgpu::Buffer, WgpuError> {
    storage_buffer(gpu, bytes.max(4), "arena")
}

impl DeviceTensor {
    pub(crate) fn from_parts(ty: Type, buffer: Arc<wgpu::Buffer>, gpu: Arc<Gpu>) -> DeviceTensor {
        DeviceTensor { ty, buffer, gpu }
    }

    pub(crate) fn buffer(&self) -> &Arc<wgpu::Buffer> {
        &self.buffer
    }

    pub(crate) fn gpu(&self) -> &Arc<Gpu> {
        &self.gpu
    }
}
