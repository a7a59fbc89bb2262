//! The kernel program: the backend-neutral lowered form of a graph.
//!
//! A [`KernelProgram`] is a list of [`Buffer`]s and an ordered list of [`Kernel`]s.
//! Running the kernels in order, each reading buffers written by earlier kernels (or the
//! inputs and constants), computes the graph's outputs. A kernel is either
//! - a [`LoopKernel`]: a loop nest over a `domain` (a shape) that evaluates small
//!   expression DAGs ([`Expr`]) per domain point, storing results or reducing them; or
//! - a [`CallKernel`]: one graph op run by a library routine (matmul, conv2d, gather, ...).
//!
//! Index arithmetic is affine: every load, store and index value is described by a
//! [`View`] — an offset plus one stride per domain axis, in elements of the buffer.
//!
//! A loop kernel's domain is split in two: `domain[..outer]` is the *outer* space and
//! `domain[outer..]` the *inner* space. For each outer point, the kernel's stages run in
//! order, each a loop over the inner space: a `Reduce` stage folds a value over the
//! inner space into a per-outer-point scalar (its *slot*), which later stages read with
//! [`ExprOp::Slot`]; a `Store` stage writes values at every inner point. A row softmax
//! is one kernel with three stages (max, sum of exponentials, normalise), each outer
//! point being one row. A purely elementwise kernel has `outer == 0` and one `Store` stage.

use tc_ir::{BinaryOp, Op, ReduceOp, Type, UnaryOp};
use tc_tensor::{DType, Tensor};

/// Index of a buffer in [`KernelProgram::buffers`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BufferId(pub u32);

impl BufferId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// Where a buffer's storage comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum BufferKind {
    /// The caller's input for parameter `i` (read only).
    Param(usize),
    /// A constant owned by the program (read only).
    Const(Tensor),
    /// An intermediate in the arena at byte `offset` (set by memory planning).
    Temp { offset: usize },
    /// A graph output: its own allocation, handed to the caller after the run.
    Output,
    /// In place: the memory of another buffer, which the same kernel writes at the same
    /// points after this one's last read (set by memory planning).
    Shares(BufferId),
}

/// A dense C-order tensor in memory.
#[derive(Clone, Debug, PartialEq)]
pub struct Buffer {
    pub ty: Type,
    pub kind: BufferKind,
}

/// An affine index map over a kernel's domain: the element index of domain point `j`
/// is `offset + Σ strides[d] * j[d]` (`strides.len()` is the domain's rank).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct View {
    pub offset: isize,
    pub strides: Vec<isize>,
}

impl View {
    /// The C-order (row-major) view of a buffer of `shape` over a domain of that shape.
    pub fn contiguous(shape: &[usize]) -> View {
        View { offset: 0, strides: c_strides(shape).into_iter().map(|s| s as isize).collect() }
    }
}

/// Row-major strides of `shape`, in elements.
pub fn c_strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1usize; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// A scalar immediate; the expression's dtype says how to read it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Scalar {
    /// A float value (exactly representable in the dtype).
    F(f64),
    /// An integer value (within the dtype's range).
    I(i64),
    B(bool),
}

/// Index of an expression in its stage's [`Stage::exprs`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ExprId(pub u32);

impl ExprId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// One operation of a stage's expression DAG, evaluated at a domain point.
#[derive(Clone, Debug, PartialEq)]
pub enum ExprOp {
    /// The element of `buffer` at `view`.
    Load { buffer: BufferId, view: View },
    /// The value of the affine map `view` itself, as an `i64` (for `iota`).
    Index { view: View },
    /// An immediate.
    Const(Scalar),
    /// The result of reduce stage number `stage` (an earlier stage of this kernel) at
    /// the current outer point.
    Slot { stage: usize },
    Unary(UnaryOp, ExprId),
    Binary(BinaryOp, ExprId, ExprId),
    /// `cond ? a : b`.
    Select(ExprId, ExprId, ExprId),
    /// Conversion to the expression's dtype (semantics of `tc_ir::Op::Cast`).
    Cast(ExprId),
}

/// An expression and its dtype.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub op: ExprOp,
    pub dtype: DType,
}

/// What a stage does with its expressions at each inner point.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Store each value at its view of its buffer.
    Store(Vec<StoreTo>),
    /// Fold `value` over the inner space with `op` (semantics of `tc_ir::Op::Reduce`:
    /// float sums and products accumulate in f64 and round once). The result is the
    /// stage's slot and, if `store` is set, is written to that buffer at that view
    /// (whose inner strides are zero).
    Reduce { op: ReduceOp, value: ExprId, store: Option<(BufferId, View)> },
}

#[derive(Clone, Debug, PartialEq)]
pub struct StoreTo {
    pub buffer: BufferId,
    pub view: View,
    pub value: ExprId,
}

/// One pass over the inner space, for each outer point.
#[derive(Clone, Debug, PartialEq)]
pub struct Stage {
    /// The expression DAG in topological order (operands come first).
    pub exprs: Vec<Expr>,
    pub action: Action,
}

/// A fused loop nest; see the module docs.
#[derive(Clone, Debug, PartialEq)]
pub struct LoopKernel {
    pub domain: Vec<usize>,
    /// `domain[..outer]` is the outer space.
    pub outer: usize,
    pub stages: Vec<Stage>,
}

/// A graph op run by a library routine: reads `inputs`, writes all of `output`.
#[derive(Clone, Debug, PartialEq)]
pub struct CallKernel {
    pub op: Op,
    pub inputs: Vec<BufferId>,
    /// Per input: the op's operand is the buffer with its last two axes swapped (only
    /// matmul operands; the library reads them with strides instead of a copy).
    pub transposed: Vec<bool>,
    pub output: BufferId,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Kernel {
    Loop(LoopKernel),
    Call(CallKernel),
}

impl Kernel {
    /// Buffers the kernel reads, in first-use order, without repeats.
    pub fn reads(&self) -> Vec<BufferId> {
        let mut out = Vec::new();
        let mut add = |b: BufferId| {
            if !out.contains(&b) {
                out.push(b);
            }
        };
        match self {
            Kernel::Call(c) => c.inputs.iter().for_each(|&b| add(b)),
            Kernel::Loop(l) => {
                for s in &l.stages {
                    for e in &s.exprs {
                        if let ExprOp::Load { buffer, .. } = e.op {
                            add(buffer);
                        }
                    }
                }
            }
        }
        out
    }

    /// Buffers the kernel writes, in order, without repeats.
    pub fn writes(&self) -> Vec<BufferId> {
        match self {
            Kernel::Call(c) => vec![c.output],
            Kernel::Loop(l) => {
                let mut out = Vec::new();
                for s in &l.stages {
                    let targets: Vec<BufferId> = match &s.action {
                        Action::Store(v) => v.iter().map(|st| st.buffer).collect(),
                        Action::Reduce { store, .. } => store.iter().map(|(b, _)| *b).collect(),
                    };
                    for b in targets {
                        if !out.contains(&b) {
                            out.push(b);
                        }
                    }
                }
                out
            }
        }
    }
}

/// The lowered form of one graph; see the module docs.
#[derive(Clone, Debug, PartialEq)]
pub struct KernelProgram {
    pub name: String,
    pub buffers: Vec<Buffer>,
    /// The buffer of each parameter, in parameter order.
    pub params: Vec<BufferId>,
    /// The buffer holding each graph output, in output order. The same buffer may
    /// appear twice, and may be a parameter or a constant.
    pub outputs: Vec<BufferId>,
    pub kernels: Vec<Kernel>,
    /// Bytes of the arena holding every `Temp` buffer.
    pub arena_bytes: usize,
    /// Outputs written into a donated parameter's storage when the caller hands that
    /// input over: (output buffer, parameter index). Set by memory planning.
    pub donated: Vec<(BufferId, usize)>,
}

impl KernelProgram {
    pub fn buffer(&self, id: BufferId) -> &Buffer {
        &self.buffers[id.index()]
    }

    /// Bytes of the output buffers the program allocates (outputs that are parameters
    /// or constants are copies made by the host, not counted).
    pub fn output_bytes(&self) -> usize {
        self.buffers.iter().filter(|b| b.kind == BufferKind::Output).map(|b| b.ty.size_bytes()).sum()
    }

    /// Bytes of the outputs that go into donated parameters' storage.
    pub fn donated_bytes(&self) -> usize {
        self.donated.iter().map(|&(b, _)| self.buffer(b).ty.size_bytes()).sum()
    }

    /// The peak memory of the program's own buffers: the arena plus the outputs.
    pub fn peak_bytes(&self) -> usize {
        self.arena_bytes + self.output_bytes()
    }

    /// [`KernelProgram::peak_bytes`] when the caller hands its donated inputs over: the
    /// outputs written into them take no new memory.
    pub fn donated_peak_bytes(&self) -> usize {
        self.peak_bytes() - self.donated_bytes()
    }
}
