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

/// One index of `x[...]`: an expression, or a slice `lo:hi` with either end optional.
#[derive(Clone, Debug, PartialEq)]
pub enum Index {
    Expr(Expr),
    Slice {
        lo: Option<Expr>,
        hi: Option<Expr>,
        span: Span,
    },
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
    Float(f64),
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
