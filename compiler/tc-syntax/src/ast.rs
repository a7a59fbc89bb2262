//! The abstract syntax tree of a `.tc` file (SPEC §3). Every node that can be the
//! subject of a diagnostic carries a [`Span`] of byte offsets into its file.

/// Byte range `start..end` in one source file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// `a::b::c`
#[derive(Clone, Debug, PartialEq)]
pub struct Path {
    pub segments: Vec<Ident>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct File {
    pub items: Vec<Item>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    Use(UseItem),
    Const(ConstItem),
    Fn(FnItem),
}

/// `use nn;` or `use nn::{relu, softmax};` (`names` is `None` for the first form).
#[derive(Clone, Debug, PartialEq)]
pub struct UseItem {
    pub path: Path,
    pub names: Option<Vec<Ident>>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ConstItem {
    pub name: Ident,
    pub ty: Option<Type>,
    pub value: Expr,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct FnItem {
    /// The text of `///` comments before the item, one entry per line, without `///`.
    pub doc: Vec<String>,
    pub is_pub: bool,
    pub name: Ident,
    pub params: Vec<Param>,
    pub ret: Option<Type>,
    pub body: Block,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    pub name: Ident,
    pub ty: Option<Type>,
    pub default: Option<Expr>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Type {
    /// `f32`, `f32[2, N, ..B]`; `dims` is `None` when no brackets were written.
    Tensor {
        dtype: Ident,
        dims: Option<Vec<Dim>>,
        span: Span,
    },
    Tuple {
        elems: Vec<Type>,
        span: Span,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub enum Dim {
    Int(u64, Span),
    Var(Ident),
    Rest(Ident),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Block {
    pub lets: Vec<Let>,
    pub result: Box<Expr>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Let {
    pub pattern: Pattern,
    pub ty: Option<Type>,
    pub value: Expr,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Pattern {
    Name(Ident),
    Wildcard(Span),
    Tuple(Vec<Pattern>, Span),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    MatMul,
    Pow,
}

impl BinOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Or => "||",
            BinOp::And => "&&",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Rem => "%",
            BinOp::MatMul => "@",
            BinOp::Pow => "**",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnOp {
    Neg,
    Not,
}

/// One index of `x[...]`: an expression, a slice `lo:hi:step` with each part optional,
/// `...` or `None`.
#[derive(Clone, Debug, PartialEq)]
pub enum Index {
    Expr(Expr),
    Slice {
        lo: Option<Expr>,
        hi: Option<Expr>,
        step: Option<Expr>,
        span: Span,
    },
    /// `...`: full slices of every axis the other indices leave.
    Ellipsis(Span),
    /// `None`: a new axis of size 1.
    NewAxis(Span),
}

impl Index {
    /// An index expression; the name `None` is a new axis, as in NumPy.
    pub fn from_expr(e: Expr) -> Index {
        match &e.kind {
            ExprKind::Path(p) if p.segments.len() == 1 && p.segments[0].name == "None" => Index::NewAxis(e.span),
            _ => Index::Expr(e),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct KwArg {
    pub name: Ident,
    pub value: Expr,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    /// Integer literal; `u64` so that out-of-range values are reported by the checker.
    Int(u64),
    Float(FloatLit),
    /// A string literal: only `einsum`'s subscripts take one.
    Str(String),
    Bool(bool),
    Path(Path),
    Tuple(Vec<Expr>),
    /// Tensor literal `[a, b, c]` (nested for higher rank).
    Array(Vec<Expr>),
    Block(Block),
    Unary(UnOp, Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    Cast(Box<Expr>, Ident),
    Call {
        callee: Box<Expr>,
        args: Vec<Expr>,
        kwargs: Vec<KwArg>,
    },
    Index(Box<Expr>, Vec<Index>),
    /// `x.0`: element of a tuple.
    Field(Box<Expr>, u32, Span),
    /// `x.T`: reverse all axes.
    TransposeAll(Box<Expr>),
    /// Placeholder left by parser error recovery; never reaches the checker.
    Error,
}

/// A float literal, kept precisely enough to be rounded once, correctly, into any float
/// dtype (SPEC §4: a literal denotes its decimal value). The f64 nearest the decimal is
/// not enough on its own: rounding that f64 again to f32, f16 or bf16 can differ from
/// rounding the decimal directly when the f64 falls exactly halfway between two values
/// of the narrower format (double rounding).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FloatLit {
    /// The f64 nearest the decimal (ties to even): the literal's value in f64.
    pub nearest: f64,
    /// The decimal rounded to odd at f64's precision: `nearest` when the decimal is an
    /// f64, else whichever of the two f64s around it has an odd last mantissa bit.
    /// Rounding this to nearest in a format of at most 51 mantissa bits is the correct
    /// rounding of the decimal itself.
    pub to_odd: f64,
}

impl FloatLit {
    /// A literal whose value is exactly the f64 `value`.
    pub fn exact(value: f64) -> FloatLit {
        FloatLit { nearest: value, to_odd: value }
    }
}

impl std::ops::Neg for FloatLit {
    type Output = FloatLit;

    fn neg(self) -> FloatLit {
        FloatLit { nearest: -self.nearest, to_odd: -self.to_odd }
    }
}
