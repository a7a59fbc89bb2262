//! The primitive ops of the graph IR. Every built-in of SPEC §5 and every function of
//! the standard library lowers to these. The typing rule and exact semantics of each
//! op are stated here; the reference interpreter implements them literally and every
//! backend must agree with it.
//!
//! Shared conventions:
//! - Elementwise ops (`Unary`, `Binary`, `Select`, `Cast`) take operands of identical
//!   shape; broadcasting is always explicit (`Broadcast`).
//! - Axes are non-negative and in range; the front end normalises negative axes.
//! - Floats compute as if in f64 and round to the result dtype once; integers use
//!   two's-complement wrapping arithmetic of the result dtype.

use tc_tensor::{DType, Tensor};

#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    /// The function's parameter number `i`. No inputs.
    Param(usize),
    /// A literal tensor; its type is the node's type. No inputs.
    Const(Tensor),
    /// `[0, 1, ..., n-1]` along `axis` of the node's shape, broadcast along the other
    /// axes, in the node's dtype. No inputs.
    Iota { axis: usize },
    /// Counter-based random numbers of the node's type (a float dtype). Input: the seed,
    /// an integer scalar. Philox-4x32-10 with key = (low 32 bits of seed, high 32 bits)
    /// and counter = (low 32 bits of the element index, high 32 bits, 0, 0), giving
    /// words x0..x3. Uniform: `(x0 >> 8) * 2^-24`, in [0, 1). Normal (Box–Muller):
    /// `u1 = ((x0 >> 8) + 1) * 2^-24`, `u2 = (x1 >> 8) * 2^-24`,
    /// `sqrt(-2 ln u1) * cos(2π u2)`. Computed in f64, rounded to the dtype.
    Random(Dist),
    /// Elementwise function of one operand; result dtype as in [`UnaryOp`].
    Unary(UnaryOp),
    /// Elementwise function of two operands of one dtype; result dtype as in [`BinaryOp`].
    Binary(BinaryOp),
    /// `where(cond, a, b)`: inputs `cond: bool`, `a`, `b` of one dtype, all one shape.
    Select,
    /// Conversion to the node's dtype. Float→int truncates toward zero and saturates
    /// (NaN → 0); anything→bool is `x != 0`; bool→number is 0 or 1; float→float rounds
    /// to nearest even.
    Cast,
    /// Reduction over `axes` (sorted, distinct), which are removed from the shape.
    /// Empty reductions give the identity: sum 0, prod 1, max -inf (or the dtype's
    /// minimum), min +inf (or maximum). Max and min propagate NaN.
    Reduce { op: ReduceOp, axes: Vec<usize> },
    /// Index of the first maximum (minimum) along `axis`, which is removed; result `i32`.
    /// NaN counts as the maximum (and minimum), as in NumPy. The axis is non-empty.
    ArgReduce { op: ArgOp, axis: usize },
    /// The `i32` positions that sort `x` along `axis` (the result has x's shape): a
    /// stable sort, ascending or descending, with NaN last in both orders and equal
    /// elements (`-0` and `+0` included) in their original order.
    ArgSort { axis: usize, descending: bool },
    /// Broadcast to the node's shape: input axis `i` becomes output axis `dims[i]`
    /// (strictly increasing); an input axis must have the output's size or size 1.
    Broadcast { dims: Vec<usize> },
    /// Same elements in C order, the node's shape (same element count).
    Reshape,
    /// Output axis `i` is input axis `perm[i]`.
    Transpose { perm: Vec<usize> },
    /// Reverse the order of elements along each of `axes`.
    Reverse { axes: Vec<usize> },
    /// `x[start[0]..end[0], ...]` with step 1; `start <= end <= size` on every axis.
    Slice { start: Vec<usize>, end: Vec<usize> },
    /// Inputs `x` and a scalar `value` of x's dtype; `lo[i]` and `hi[i]` elements of
    /// `value` are added before and after axis `i`.
    Pad { lo: Vec<usize>, hi: Vec<usize> },
    /// Join the inputs (one dtype, equal shapes except along `axis`) along `axis`.
    Concat { axis: usize },
    /// `take(x, idx, axis)`: inputs `x` and an integer tensor `idx`; the result shape is
    /// `x.shape[..axis] ++ idx.shape ++ x.shape[axis+1..]`. A negative index counts from
    /// the end; indices are then clamped into `[0, size - 1]` (no out-of-bounds reads).
    Gather { axis: usize },
    /// The transpose of `Gather`: inputs an integer `idx` and `updates` (shaped like a
    /// gather's result); the result (the node's type) starts at zero and each update is
    /// added at its index along `axis`, indices normalised as in `Gather`.
    ScatterAdd { axis: usize },
    /// Batched matrix product: `a: [..., M, K]`, `b: [..., K, N]` with identical batch
    /// dims, result `[..., M, N]`. Both rank >= 2 (the front end promotes 1-D operands).
    MatMul,
    /// Cross-correlation. Inputs `x: [N, C, H, W]`, `w: [K, C, R, S]`; result
    /// `[N, K, Ho, Wo]` with `Ho = (H + pad[0].0 + pad[0].1 - dilation[0] * (R - 1) - 1) / stride[0] + 1`.
    /// `out[n,k,i,j] = Σ_{c,r,s} xpad[n, c, i*stride0 + r*dil0, j*stride1 + s*dil1] * w[k,c,r,s]`.
    Conv2d { stride: [usize; 2], pad: [(usize, usize); 2], dilation: [usize; 2] },
    /// Pooling over windows of `size` moved by `stride`, no padding, on `x: [N, C, H, W]`;
    /// result `[N, C, (H - size0) / stride0 + 1, (W - size1) / stride1 + 1]`.
    Pool { kind: PoolKind, size: [usize; 2], stride: [usize; 2] },
    /// Gradient of `Pool`: inputs `x` and `dy` (shaped like the pool's result); result
    /// shaped like `x`. Max: each window's `dy` is shared equally among the window's
    /// maxima. Avg: each window's `dy / (size0 * size1)` goes to every element.
    PoolGrad { kind: PoolKind, size: [usize; 2], stride: [usize; 2] },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dist {
    Uniform,
    Normal,
}

/// Unary elementwise functions. All keep the operand's dtype except `Not` (bool only).
/// The float-only ones (`Exp` to `Round`) apply to floats only; `Neg`, `Abs` and `Sign`
/// apply to numbers (ints wrap).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    Neg,
    Abs,
    /// -1, 0 or 1 (NaN stays NaN).
    Sign,
    Exp,
    Log,
    Sqrt,
    /// `1 / sqrt(x)`.
    Rsqrt,
    Sin,
    Cos,
    Tanh,
    /// `1 / (1 + exp(-x))`.
    Sigmoid,
    Erf,
    /// Arc tangent, in (-π/2, π/2).
    Atan,
    Floor,
    Ceil,
    /// Half to even, as NumPy's `round`.
    Round,
    /// Logical not, on bool.
    Not,
}

/// Binary elementwise functions on two operands of one dtype.
/// Arithmetic (`Add`..`Min`) keeps the dtype; comparisons give `bool`; `And`/`Or` are
/// on bool. Integer `Div` rounds toward negative infinity and `Rem` has the sign of the
/// divisor (Python); an integer division or remainder by zero gives 0. Float `Rem` is
/// NumPy's `mod` (sign of the divisor). `Pow` is on floats. `Max`/`Min` propagate NaN.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Pow,
    Max,
    Min,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReduceOp {
    Sum,
    Prod,
    Max,
    Min,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ArgOp {
    ArgMax,
    ArgMin,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PoolKind {
    Max,
    Avg,
}

impl UnaryOp {
    pub const ALL: [UnaryOp; 17] = [
        UnaryOp::Neg,
        UnaryOp::Abs,
        UnaryOp::Sign,
        UnaryOp::Exp,
        UnaryOp::Log,
        UnaryOp::Sqrt,
        UnaryOp::Rsqrt,
        UnaryOp::Sin,
        UnaryOp::Cos,
        UnaryOp::Tanh,
        UnaryOp::Sigmoid,
        UnaryOp::Erf,
        UnaryOp::Atan,
        UnaryOp::Floor,
        UnaryOp::Ceil,
        UnaryOp::Round,
        UnaryOp::Not,
    ];

    pub fn name(self) -> &'static str {
        match self {
            UnaryOp::Neg => "neg",
            UnaryOp::Abs => "abs",
            UnaryOp::Sign => "sign",
            UnaryOp::Exp => "exp",
            UnaryOp::Log => "log",
            UnaryOp::Sqrt => "sqrt",
            UnaryOp::Rsqrt => "rsqrt",
            UnaryOp::Sin => "sin",
            UnaryOp::Cos => "cos",
            UnaryOp::Tanh => "tanh",
            UnaryOp::Sigmoid => "sigmoid",
            UnaryOp::Erf => "erf",
            UnaryOp::Atan => "atan",
            UnaryOp::Floor => "floor",
            UnaryOp::Ceil => "ceil",
            UnaryOp::Round => "round",
            UnaryOp::Not => "not",
        }
    }

    /// Whether the op is defined on floats only.
    pub fn float_only(self) -> bool {
        !matches!(self, UnaryOp::Neg | UnaryOp::Abs | UnaryOp::Sign | UnaryOp::Not)
    }
}

impl BinaryOp {
    pub const ALL: [BinaryOp; 16] = [
        BinaryOp::Add,
        BinaryOp::Sub,
        BinaryOp::Mul,
        BinaryOp::Div,
        BinaryOp::Rem,
        BinaryOp::Pow,
        BinaryOp::Max,
        BinaryOp::Min,
        BinaryOp::Eq,
        BinaryOp::Ne,
        BinaryOp::Lt,
        BinaryOp::Le,
        BinaryOp::Gt,
        BinaryOp::Ge,
        BinaryOp::And,
        BinaryOp::Or,
    ];

    pub fn name(self) -> &'static str {
        match self {
            BinaryOp::Add => "add",
            BinaryOp::Sub => "sub",
            BinaryOp::Mul => "mul",
            BinaryOp::Div => "div",
            BinaryOp::Rem => "rem",
            BinaryOp::Pow => "pow",
            BinaryOp::Max => "max",
            BinaryOp::Min => "min",
            BinaryOp::Eq => "eq",
            BinaryOp::Ne => "ne",
            BinaryOp::Lt => "lt",
            BinaryOp::Le => "le",
            BinaryOp::Gt => "gt",
            BinaryOp::Ge => "ge",
            BinaryOp::And => "and",
            BinaryOp::Or => "or",
        }
    }

    pub fn is_comparison(self) -> bool {
        matches!(self, BinaryOp::Eq | BinaryOp::Ne | BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge)
    }

    pub fn is_logical(self) -> bool {
        matches!(self, BinaryOp::And | BinaryOp::Or)
    }

    /// Result dtype for operands of `dtype`.
    pub fn result_dtype(self, dtype: DType) -> DType {
        if self.is_comparison() {
            DType::Bool
        } else {
            dtype
        }
    }
}

impl ReduceOp {
    pub fn name(self) -> &'static str {
        match self {
            ReduceOp::Sum => "sum",
            ReduceOp::Prod => "prod",
            ReduceOp::Max => "max",
            ReduceOp::Min => "min",
        }
    }
}

impl ArgOp {
    pub fn name(self) -> &'static str {
        match self {
            ArgOp::ArgMax => "argmax",
            ArgOp::ArgMin => "argmin",
        }
    }
}

impl PoolKind {
    pub fn name(self) -> &'static str {
        match self {
            PoolKind::Max => "max",
            PoolKind::Avg => "avg",
        }
    }
}

impl Dist {
    pub fn name(self) -> &'static str {
        match self {
            Dist::Uniform => "uniform",
            Dist::Normal => "normal",
        }
    }
}

impl Op {
    /// The op's mnemonic in the IR text form.
    pub fn mnemonic(&self) -> &'static str {
        match self {
            Op::Param(_) => "param",
            Op::Const(_) => "const",
            Op::Iota { .. } => "iota",
            Op::Random(_) => "random",
            Op::Unary(u) => u.name(),
            Op::Binary(b) => b.name(),
            Op::Select => "select",
            Op::Cast => "cast",
            Op::Reduce { .. } => "reduce",
            Op::ArgReduce { .. } => "argreduce",
            Op::ArgSort { .. } => "argsort",
            Op::Broadcast { .. } => "broadcast",
            Op::Reshape => "reshape",
            Op::Transpose { .. } => "transpose",
            Op::Reverse { .. } => "reverse",
            Op::Slice { .. } => "slice",
            Op::Pad { .. } => "pad",
            Op::Concat { .. } => "concat",
            Op::Gather { .. } => "gather",
            Op::ScatterAdd { .. } => "scatter_add",
            Op::MatMul => "matmul",
            Op::Conv2d { .. } => "conv2d",
            Op::Pool { .. } => "pool",
            Op::PoolGrad { .. } => "pool_grad",
        }
    }
}
