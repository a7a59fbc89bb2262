//! WGSL generation: one compute shader per kernel of the kernel program.
//!
//! [`generate`] turns every [`Kernel`] of a [`KernelProgram`] into a [`ShaderKernel`]:
//! WGSL source, the buffers it binds (binding `i` of group 0 is `bindings[i]`) and the
//! workgroup grid to dispatch. Buffers are stored on the device as arrays of their
//! [`device_elem`] type; the runtime (`crate::exec`) allocates, uploads and binds them.
//!
//! - `loops`: loop kernels (pointwise, and row kernels with workgroup tree reductions);
//! - `gemm`: matmul and conv2d (a tiled kernel in workgroup memory; integer fallbacks);
//! - `calls`: the other library calls (pooling, gathers, pad, concat, argreduce, random);
//! - `expr`: scalar WGSL for expression DAGs, loads and stores, the value representation;
//! - `math`: helper functions with the interpreter's semantics (NaN, rounding, integer
//!   division, transcendentals).
//!
//! Every shader's entry point is `main`, with 256 invocations per workgroup. Shapes are
//! baked in (programs are specialised per shape), so there are no uniforms. Index
//! arithmetic is i32/u32: a kernel whose indices would pass 2^31 is refused. A buffer
//! that shares another's memory in place is accessed through that buffer's binding, so
//! one dispatch never binds the same memory twice; a constant random seed is baked into
//! its shader and is never bound. Results agree with the interpreter exactly for
//! integers, bools, moves and exact float ops; float arithmetic runs in f32 (f16 values
//! are held in f32 and rounded to f16 after each op), and the deviations of sums and
//! transcendentals are documented where they arise.

mod calls;
#[cfg(test)]
mod exact_tests;
mod expr;
mod gemm;
mod loops;
mod math;
#[cfg(test)]
mod math_tests;
#[cfg(test)]
mod run_tests;
#[cfg(test)]
mod tests;

use math::{Helper, Helpers};
use std::fmt;
use tc_kernel::{BufferId, BufferKind, Kernel, KernelProgram, View};
use tc_tensor::DType;

/// What the device offers that changes code generation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Features {
    /// `shader-f16`: f16 storage and arithmetic.
    pub shader_f16: bool,
}

/// How elements of a dtype are stored in device buffers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceElem {
    F32,
    I32,
    /// u8 and bool are widened to one `u32` per element (storage buffers hold 4-byte words).
    U32,
    /// Needs [`Features::shader_f16`].
    F16,
}

impl DeviceElem {
    pub fn size_bytes(self) -> usize {
        match self {
            DeviceElem::F16 => 2,
            _ => 4,
        }
    }

    /// The WGSL scalar type name.
    pub fn wgsl(self) -> &'static str {
        match self {
            DeviceElem::F32 => "f32",
            DeviceElem::I32 => "i32",
            DeviceElem::U32 => "u32",
            DeviceElem::F16 => "f16",
        }
    }
}

/// The device storage of `dtype`, or why there is none.
pub fn device_elem(dtype: DType, features: Features) -> Result<DeviceElem, CodegenError> {
    match dtype {
        DType::F32 => Ok(DeviceElem::F32),
        DType::I32 => Ok(DeviceElem::I32),
        DType::U8 | DType::Bool => Ok(DeviceElem::U32),
        DType::F16 if features.shader_f16 => Ok(DeviceElem::F16),
        DType::F16 => Err(CodegenError::NoShaderF16),
        DType::F64 | DType::BF16 | DType::I64 => Err(CodegenError::UnsupportedDType(dtype)),
    }
}

/// One compute shader and how to dispatch it.
#[derive(Clone, Debug, PartialEq)]
pub struct ShaderKernel {
    /// A name for messages and `emit --stage wgsl`, e.g. `k3_loop`, `k7_matmul`.
    pub label: String,
    pub wgsl: String,
    /// The entry point's name in `wgsl`.
    pub entry: String,
    /// Binding `i` of group 0 is `bindings[i]`, declared `var<storage, read_write>` as an
    /// array of the buffer's [`device_elem`] type, or of `vec4`s of it in a vectorised
    /// pointwise kernel (read-write even when only read, so that bindings of one arena
    /// may alias in place).
    pub bindings: Vec<BufferId>,
    /// Whether binding `bindings.len()` is the device's zero word (a `u32` 0 that the
    /// shader reads as `EXACT_ZERO`: its float results pass through an XOR with it, which
    /// keeps the driver from folding them on the assumption that no NaN, infinity or
    /// signed zero occurs).
    pub zero_word: bool,
    /// Workgroups to dispatch in x, y, z (each at most 65535).
    pub workgroups: [u32; 3],
}

/// Why a program has no WGSL form.
#[derive(Clone, Debug, PartialEq)]
pub enum CodegenError {
    UnsupportedDType(DType),
    NoShaderF16,
    /// An op or construct this backend does not lower (names it).
    Unsupported(String),
}

impl fmt::Display for CodegenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CodegenError::UnsupportedDType(d) => write!(f, "the wgpu backend does not support {d} tensors (supported: f32, i32, u8, bool, and f16 on devices with shader-f16)"),
            CodegenError::NoShaderF16 => write!(f, "this program uses f16, but the GPU does not offer the shader-f16 feature"),
            CodegenError::Unsupported(what) => write!(f, "the wgpu backend cannot lower {what}"),
        }
    }
}

impl std::error::Error for CodegenError {}

/// One shader per kernel, in kernel order.
pub fn generate(program: &KernelProgram, features: Features) -> Result<Vec<ShaderKernel>, CodegenError> {
    for &b in program.params.iter().chain(&program.outputs) {
        device_elem(program.buffer(b).ty.dtype, features)?;
    }
    program.kernels.iter().enumerate().map(|(i, k)| generate_kernel(program, i, k, features)).collect()
}

fn generate_kernel(program: &KernelProgram, index: usize, kernel: &Kernel, features: Features) -> Result<ShaderKernel, CodegenError> {
    let sh = Shader::new(program, features);
    match kernel {
        Kernel::Loop(k) => loops::generate(sh, index, k),
        Kernel::Call(c) => calls::generate(sh, index, c),
    }
}

/// Validate WGSL with naga as wgpu would (every capability, plus f16 arithmetic with
/// `shader-f16`); the error is naga's message with the source location.
pub fn validate(wgsl: &str, features: Features) -> Result<(), String> {
    let module = naga::front::wgsl::parse_str(wgsl).map_err(|e| e.emit_to_string(wgsl))?;
    let mut caps = naga::valid::Capabilities::all();
    if !features.shader_f16 {
        caps.remove(naga::valid::Capabilities::SHADER_FLOAT16);
    }
    naga::valid::Validator::new(naga::valid::ValidationFlags::all(), caps).validate(&module).map_err(|e| e.emit_to_string(wgsl))?;
    Ok(())
}

/// Threads per workgroup of the one-dimensional kernels.
pub(crate) const WG: u32 = 256;

/// The most workgroups one dispatch dimension may have.
const MAX_GRID: u64 = 65535;

/// A shader under construction: its bindings (registered as the code names them) and
/// the helper functions it uses.
pub(crate) struct Shader<'a> {
    pub program: &'a KernelProgram,
    pub features: Features,
    pub bindings: Vec<BufferId>,
    /// Bindings declared as arrays of `vec4` of their element type.
    pub vec4: Vec<BufferId>,
    pub helpers: Helpers,
}

impl<'a> Shader<'a> {
    fn new(program: &'a KernelProgram, features: Features) -> Shader<'a> {
        Shader { program, features, bindings: Vec::new(), vec4: Vec::new(), helpers: Helpers::default() }
    }

    /// The WGSL name of `buffer`'s binding, registering it. A buffer that shares
    /// another's memory (in place) is accessed through that buffer's binding, so no
    /// memory is ever bound twice in one dispatch.
    pub fn name(&mut self, buffer: BufferId) -> String {
        let root = self.root(buffer);
        if !self.bindings.contains(&root) {
            self.bindings.push(root);
        }
        format!("b{}", root.0)
    }

    /// The buffer whose binding accesses `buffer`: the one it shares memory with, if any.
    pub fn root(&self, buffer: BufferId) -> BufferId {
        match self.program.buffer(buffer).kind {
            BufferKind::Shares(other) => other,
            _ => buffer,
        }
    }

    /// The complete shader: `enable f16` if needed, the bindings, helpers, `decls`
    /// (workgroup variables), and `body` as the entry point `main` with `wid` (the
    /// workgroup id) and `lid` (the local invocation index) in scope.
    pub fn finish(self, label: String, workgroup_size: u32, workgroups: [u32; 3], decls: &str, body: &str) -> Result<ShaderKernel, CodegenError> {
        let mut out = String::new();
        let mut binds = String::new();
        let mut half = false;
        for (i, &b) in self.bindings.iter().enumerate() {
            let elem = device_elem(self.program.buffer(b).ty.dtype, self.features)?;
            half |= elem == DeviceElem::F16;
            let ty = if self.vec4.contains(&b) { format!("vec4<{}>", elem.wgsl()) } else { elem.wgsl().to_string() };
            binds.push_str(&format!("@group(0) @binding({i}) var<storage, read_write> b{}: array<{ty}>;\n", b.0));
        }
        let zero_word = self.helpers.uses(Helper::Exact);
        if zero_word {
            binds.push_str(&format!("@group(0) @binding({}) var<storage, read_write> zero_word: array<u32>;\n", self.bindings.len()));
        }
        if half {
            out.push_str("enable f16;\n\n");
        }
        out.push_str(&binds);
        let helpers = self.helpers.text();
        if !helpers.is_empty() {
            out.push('\n');
            out.push_str(&helpers);
        }
        if !decls.is_empty() {
            out.push('\n');
            out.push_str(decls);
        }
        out.push_str(&format!("\n@compute @workgroup_size({workgroup_size})\nfn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {{\n"));
        if zero_word {
            // A zero read from memory: the compiler cannot know it.
            out.push_str("    EXACT_ZERO = zero_word[0];\n");
        }
        out.push_str(body);
        out.push_str("}\n");
        Ok(ShaderKernel { label, wgsl: out, entry: "main".into(), bindings: self.bindings, zero_word, workgroups })
    }
}

/// `count` workgroups laid out on a grid of at most 65535 per dimension: the dispatch
/// size and the WGSL expression of the linear workgroup index (which may exceed
/// `count - 1` in the last row: callers bound it).
pub(crate) fn grid(count: u64) -> Result<([u32; 3], String), CodegenError> {
    if count == 0 {
        return Ok(([0, 1, 1], "wid.x".into()));
    }
    let gx = count.min(MAX_GRID);
    let gy = count.div_ceil(gx);
    if gy > MAX_GRID {
        return Err(CodegenError::Unsupported(format!("a dispatch of {count} workgroups")));
    }
    let linear = if gy == 1 { "wid.x".to_string() } else { format!("(wid.y * {gx}u + wid.x)") };
    Ok(([gx as u32, gy as u32, 1], linear))
}

/// Device buffers hold fewer than 2^31 elements, so index arithmetic is i32: this
/// checks that every element index of `view` over `domain` (and the domain's point
/// count) fits.
pub(crate) fn check_view(view: &View, domain: &[usize]) -> Result<(), CodegenError> {
    check_count(domain)?;
    let (mut lo, mut hi) = (view.offset as i128, view.offset as i128);
    for (&s, &n) in view.strides.iter().zip(domain) {
        let span = s as i128 * (n.max(1) as i128 - 1);
        lo += span.min(0);
        hi += span.max(0);
    }
    if lo < i32::MIN as i128 || hi > i32::MAX as i128 {
        return Err(CodegenError::Unsupported(format!("element indices beyond 2^31 (a view reaching {hi})")));
    }
    Ok(())
}

/// Checks that a space of `shape` has fewer than 2^31 points.
pub(crate) fn check_count(shape: &[usize]) -> Result<u64, CodegenError> {
    let n = shape.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d as u64)).unwrap_or(u64::MAX);
    if n > i32::MAX as u64 {
        return Err(CodegenError::Unsupported(format!("a loop over {n} points (more than 2^31)")));
    }
    Ok(n)
}

/// WGSL lines defining i32 variables `names[d]` as the digits of the linear index
/// `linear` (a u32 expression) over `shape`, C order.
pub(crate) fn unflatten(linear: &str, shape: &[usize], names: &[String], indent: &str) -> String {
    let mut out = String::new();
    let mut inner = 1u64;
    for d in (0..shape.len()).rev() {
        // An empty dimension leaves nothing to run (no workgroups are dispatched), but the
        // shader must still validate: `% 0u` is a constant division by zero to naga.
        let size = (shape[d] as u64).max(1);
        let q = if inner == 1 { linear.to_string() } else { format!("({linear} / {inner}u)") };
        let v = if d == 0 { q } else { format!("({q} % {size}u)") };
        out.push_str(&format!("{indent}let {} = i32({v});\n", names[d]));
        inner *= size;
    }
    out
}

/// Every shader of a program, for `tensorc emit --stage wgsl`.
pub fn print(kernels: &[ShaderKernel]) -> String {
    let mut out = String::new();
    for k in kernels {
        let bindings: Vec<String> = k.bindings.iter().map(|b| format!("b{}", b.0)).collect();
        out.push_str(&format!("// {}: bindings [{}], workgroups {:?}\n", k.label, bindings.join(", "), k.workgroups));
        out.push_str(&k.wgsl);
        if !k.wgsl.ends_with('\n') {
            out.push('\n');
        }
        out.push('\n');
    }
    out
}
