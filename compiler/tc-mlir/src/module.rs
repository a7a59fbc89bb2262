//! A kernel program as one MLIR function on tensors.
//!
//! `func.func @NAME(%arg0: tensor<...>, ...) -> (tensor<...>, ...)` takes the parameters
//! and returns the outputs with their real shapes. Inside, every buffer is a 1-D tensor
//! (parameters are collapsed on entry, outputs expanded on return); kernels run in order
//! and each written buffer gets a new SSA value ([`Func::cur`]), so in-place sharing of
//! the kernel program (`BufferKind::Shares`) needs nothing here: bufferisation decides
//! where each tensor lives. The module uses only upstream dialects (`func`, `arith`,
//! `math`, `tensor`, `linalg`), so any MLIR-based compiler (IREE among them) takes it.

use crate::text::{elem, flat_ty, tensor_ty, Block, Ssa};
use crate::tiles::TileOptions;
use crate::{calls, loops, MlirError};
use tc_kernel::{BufferId, BufferKind, Kernel, KernelProgram};
use tc_tensor::{DType, Data, Tensor};

/// The function being emitted.
pub struct Func<'p> {
    pub program: &'p KernelProgram,
    pub ssa: Ssa,
    /// Lines of the function body.
    pub body: String,
    /// The current 1-D tensor value of each buffer, once written.
    pub cur: Vec<Option<String>>,
    /// Matmuls that go to a tile unit ([`crate::tiles`]), if any.
    pub tiles: Option<TileOptions>,
}

impl<'p> Func<'p> {
    /// A block emitting at function level.
    pub fn top(&mut self) -> Block<'_> {
        Block::new(&mut self.ssa, &mut self.body, 1)
    }

    /// The current value of `buffer`.
    pub fn current(&self, buffer: BufferId) -> Result<String, MlirError> {
        self.cur[buffer.index()].clone().ok_or_else(|| MlirError::Internal(format!("buffer {} read before it is written", buffer.0)))
    }

    pub fn dtype(&self, buffer: BufferId) -> DType {
        self.program.buffer(buffer).ty.dtype
    }

    pub fn shape(&self, buffer: BufferId) -> Vec<usize> {
        self.program.buffer(buffer).ty.shape.clone()
    }

    pub fn flat_type(&self, buffer: BufferId) -> String {
        let ty = &self.program.buffer(buffer).ty;
        flat_ty(ty.num_elements(), elem(ty.dtype))
    }

    /// The current value of `buffer` with its own shape.
    pub fn shaped(&mut self, buffer: BufferId) -> Result<String, MlirError> {
        let flat = self.current(buffer)?;
        let (shape, d) = (self.shape(buffer), self.dtype(buffer));
        Ok(from_flat(&mut self.top(), &flat, &shape, elem(d)))
    }
}

/// `x` (of `shape`) as a 1-D tensor.
pub fn to_flat(b: &mut Block, x: &str, shape: &[usize], e: &str) -> String {
    let n: usize = shape.iter().product();
    match shape.len() {
        0 => b.op(format!("tensor.expand_shape {x} [] output_shape [1] : {} into {}", tensor_ty(shape, e), flat_ty(1, e))),
        1 => x.to_string(),
        r => b.op(format!("tensor.collapse_shape {x} [{}] : {} into {}", group(r), tensor_ty(shape, e), flat_ty(n, e))),
    }
}

/// The 1-D tensor `x` with `shape`.
pub fn from_flat(b: &mut Block, x: &str, shape: &[usize], e: &str) -> String {
    let n: usize = shape.iter().product();
    match shape.len() {
        0 => b.op(format!("tensor.collapse_shape {x} [] : {} into {}", flat_ty(1, e), tensor_ty(shape, e))),
        1 => x.to_string(),
        r => {
            let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
            b.op(format!("tensor.expand_shape {x} [{}] output_shape [{}] : {} into {}", group(r), dims.join(", "), flat_ty(n, e), tensor_ty(shape, e)))
        }
    }
}

/// `[0, 1, .., r-1]`: one reassociation group of all `r` dimensions.
fn group(r: usize) -> String {
    format!("[{}]", (0..r).map(|d| d.to_string()).collect::<Vec<_>>().join(", "))
}

/// A dense constant attribute holding exactly `t`'s elements.
pub fn dense(t: &Tensor) -> String {
    let ty = flat_ty(t.len(), elem(t.dtype()));
    if t.is_empty() {
        return format!("dense<> : {ty}");
    }
    let body = match t.data() {
        Data::Bool(v) => {
            let items: Vec<&str> = v.iter().map(|&x| if x { "true" } else { "false" }).collect();
            return format!("dense<[{}]> : {ty}", items.join(", "));
        }
        other => other.to_le_bytes(),
    };
    let hex: String = body.iter().map(|b| format!("{b:02X}")).collect();
    format!("dense<\"0x{hex}\"> : {ty}")
}

/// A symbol name for the function: the graph's name if it is a plain identifier.
pub fn symbol(name: &str) -> String {
    if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && !name.starts_with(|c: char| c.is_ascii_digit()) {
        format!("@{name}")
    } else {
        format!("@\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

/// The function's text. `private` makes it `func.func private` (the JIT calls it from a
/// wrapper and inlines it); `tiles` sends matmuls to a tile unit.
pub fn function(program: &KernelProgram, private: bool, tiles: Option<TileOptions>) -> Result<String, MlirError> {
    let mut f = Func { program, ssa: Ssa::default(), body: String::new(), cur: vec![None; program.buffers.len()], tiles };
    let mut args = Vec::new();
    for (i, &p) in program.params.iter().enumerate() {
        let (shape, d) = (f.shape(p), f.dtype(p));
        let ty = tensor_ty(&shape, elem(d));
        args.push(format!("%arg{i}: {ty}"));
        let flat = to_flat(&mut f.top(), &format!("%arg{i}"), &shape, elem(d));
        f.cur[p.index()] = Some(flat);
    }
    for (i, buf) in program.buffers.iter().enumerate() {
        if let BufferKind::Const(t) = &buf.kind {
            let v = f.top().op(format!("arith.constant {}", dense(t)));
            f.cur[i] = Some(v);
        }
    }
    for k in &program.kernels {
        match k {
            Kernel::Loop(l) => loops::emit(&mut f, l)?,
            Kernel::Call(c) => calls::emit(&mut f, c)?,
        }
    }
    let mut results = Vec::new();
    let mut result_tys = Vec::new();
    for &o in &program.outputs {
        let v = f.shaped(o)?;
        results.push(v);
        result_tys.push(tensor_ty(&f.shape(o), elem(f.dtype(o))));
    }
    let vis = if private { "private " } else { "" };
    let mut text = format!("func.func {vis}{}({}) -> ({}) {{\n", symbol(&program.name), args.join(", "), result_tys.join(", "));
    text.push_str(&f.body);
    text.push_str(&format!("  return {} : {}\n}}\n", results.join(", "), result_tys.join(", ")));
    if results.is_empty() {
        text = text.replace("  return  : \n", "  return\n");
    }
    Ok(text)
}
