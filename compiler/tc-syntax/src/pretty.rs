//! A stable, indented s-expression rendering of the AST, with spans as `@start..end`:
//! the text of `tensorc emit --stage ast` and of the parser's snapshot tests.
//!
//! Each node is `(head ... @start..end children...)`. A node that fits in [`WIDTH`]
//! columns is printed on one line; otherwise its children go on their own lines,
//! indented by two spaces. Types and patterns are printed in source form.

use crate::ast::{
    Block, Dim, Expr, ExprKind, File, Index, Item, Let, Param, Path, Pattern, Span, Type, UnOp,
};

/// The line width the layout aims for.
const WIDTH: usize = 88;

/// Renders `file`, one item after another, each ending with a newline.
pub fn pretty(file: &File) -> String {
    let mut out = String::new();
    for item in &file.items {
        layout(&item_sx(item), 0, &mut out);
        out.push('\n');
    }
    out
}

/// Renders one expression the way [`pretty`] renders expressions inside items.
pub fn pretty_expr(expr: &Expr) -> String {
    let mut out = String::new();
    layout(&expr_sx(expr), 0, &mut out);
    out
}

/// An s-expression: an atom or a parenthesised list.
enum Sx {
    Atom(String),
    List(Vec<Sx>),
}

fn atom(text: impl Into<String>) -> Sx {
    Sx::Atom(text.into())
}

fn span(span: Span) -> Sx {
    Sx::Atom(format!("@{}..{}", span.start, span.end))
}

/// `(head span children...)`.
fn node(head: &str, at: Span, children: impl IntoIterator<Item = Sx>) -> Sx {
    let mut items = vec![atom(head), span(at)];
    items.extend(children);
    Sx::List(items)
}

fn flat(sx: &Sx, out: &mut String) {
    match sx {
        Sx::Atom(text) => out.push_str(text),
        Sx::List(items) => {
            out.push('(');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                flat(item, out);
            }
            out.push(')');
        }
    }
}

fn layout(sx: &Sx, indent: usize, out: &mut String) {
    let mut one_line = String::new();
    flat(sx, &mut one_line);
    let Sx::List(items) = sx else {
        out.push_str(&one_line);
        return;
    };
    if indent + one_line.len() <= WIDTH {
        out.push_str(&one_line);
        return;
    }
    // The leading atoms (head, names, span) stay on the first line.
    let split = items
        .iter()
        .position(|item| matches!(item, Sx::List(_)))
        .unwrap_or(items.len());
    out.push('(');
    for (i, item) in items[..split].iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        flat(item, out);
    }
    for item in &items[split..] {
        out.push('\n');
        out.push_str(&" ".repeat(indent + 2));
        layout(item, indent + 2, out);
    }
    out.push(')');
}

fn item_sx(item: &Item) -> Sx {
    match item {
        Item::Use(item) => {
            let path = path_text(&item.path);
            let names = item.names.iter().map(|names| {
                let mut list = vec![atom("names")];
                list.extend(names.iter().map(|name| atom(name.name.as_str())));
                Sx::List(list)
            });
            Sx::List(
                [atom("use"), atom(path), span(item.span)]
                    .into_iter()
                    .chain(names)
                    .collect(),
            )
        }
        Item::Const(item) => {
            let ty = item.ty.iter().map(type_sx);
            let mut list = vec![
                atom("const"),
                atom(item.name.name.as_str()),
                span(item.span),
            ];
            list.extend(ty);
            list.push(expr_sx(&item.value));
            Sx::List(list)
        }
        Item::Fn(item) => {
            let mut list = vec![atom("fn"), atom(item.name.name.as_str())];
            if item.is_pub {
                list.push(atom("pub"));
            }
            list.push(span(item.span));
            for line in &item.doc {
                list.push(Sx::List(vec![atom("doc"), atom(format!("{line:?}"))]));
            }
            let mut params = vec![atom("params")];
            params.extend(item.params.iter().map(param_sx));
            list.push(Sx::List(params));
            if let Some(ret) = &item.ret {
                list.push(Sx::List(vec![atom("ret"), type_sx(ret)]));
            }
            list.push(block_sx(&item.body));
            Sx::List(list)
        }
    }
}

fn path_text(path: &Path) -> String {
    path.segments
        .iter()
        .map(|segment| segment.name.as_str())
        .collect::<Vec<_>>()
        .join("::")
}

fn param_sx(param: &Param) -> Sx {
    let mut list = vec![
        atom("param"),
        atom(param.name.name.as_str()),
        span(param.span),
    ];
    list.extend(param.ty.iter().map(type_sx));
    if let Some(default) = &param.default {
        list.push(Sx::List(vec![atom("default"), expr_sx(default)]));
    }
    Sx::List(list)
}

fn type_sx(ty: &Type) -> Sx {
    let at = match ty {
        Type::Tensor { span, .. } | Type::Tuple { span, .. } => *span,
    };
    Sx::List(vec![atom("type"), atom(type_text(ty)), span(at)])
}

/// A type in source form: `f32[B, ..R]`, `(f32[N], i32)`.
fn type_text(ty: &Type) -> String {
    match ty {
        Type::Tensor {
            dtype, dims: None, ..
        } => dtype.name.clone(),
        Type::Tensor {
            dtype,
            dims: Some(dims),
            ..
        } => {
            let dims: Vec<String> = dims
                .iter()
                .map(|dim| match dim {
                    Dim::Int(n, _) => n.to_string(),
                    Dim::Var(name) => name.name.clone(),
                    Dim::Rest(name) => format!("..{}", name.name),
                })
                .collect();
            format!("{}[{}]", dtype.name, dims.join(", "))
        }
        Type::Tuple { elems, .. } => tuple_text(elems.iter().map(type_text).collect()),
    }
}

/// `(a, b)`, with the trailing comma of a 1-tuple: `(a,)`.
fn tuple_text(elems: Vec<String>) -> String {
    match elems.as_slice() {
        [one] => format!("({one},)"),
        _ => format!("({})", elems.join(", ")),
    }
}

fn pattern_text(pattern: &Pattern) -> String {
    match pattern {
        Pattern::Name(name) => name.name.clone(),
        Pattern::Wildcard(_) => "_".to_string(),
        Pattern::Tuple(elems, _) => tuple_text(elems.iter().map(pattern_text).collect()),
    }
}

fn pattern_span(pattern: &Pattern) -> Span {
    match pattern {
        Pattern::Name(name) => name.span,
        Pattern::Wildcard(span) | Pattern::Tuple(_, span) => *span,
    }
}

fn block_sx(block: &Block) -> Sx {
    node(
        "block",
        block.span,
        block
            .lets
            .iter()
            .map(let_sx)
            .chain([expr_sx(&block.result)]),
    )
}

fn let_sx(stmt: &Let) -> Sx {
    let pattern = Sx::List(vec![
        atom("pat"),
        atom(pattern_text(&stmt.pattern)),
        span(pattern_span(&stmt.pattern)),
    ]);
    node(
        "let",
        stmt.span,
        [pattern]
            .into_iter()
            .chain(stmt.ty.iter().map(type_sx))
            .chain([expr_sx(&stmt.value)]),
    )
}

fn expr_sx(expr: &Expr) -> Sx {
    let at = expr.span;
    match &expr.kind {
        ExprKind::Int(n) => Sx::List(vec![atom("int"), atom(n.to_string()), span(at)]),
        ExprKind::Float(x) => Sx::List(vec![atom("float"), atom(format!("{:?}", x.nearest)), span(at)]),
        ExprKind::Str(text) => Sx::List(vec![atom("str"), atom(format!("{text:?}")), span(at)]),
        ExprKind::Bool(b) => Sx::List(vec![atom("bool"), atom(b.to_string()), span(at)]),
        ExprKind::Path(path) => Sx::List(vec![atom("path"), atom(path_text(path)), span(at)]),
        ExprKind::Tuple(elems) => node("tuple", at, elems.iter().map(expr_sx)),
        ExprKind::Array(elems) => node("array", at, elems.iter().map(expr_sx)),
        ExprKind::Block(block) => block_sx(block),
        ExprKind::Unary(op, operand) => {
            let symbol = match op {
                UnOp::Neg => "-",
                UnOp::Not => "!",
            };
            Sx::List(vec![
                atom("unary"),
                atom(symbol),
                span(at),
                expr_sx(operand),
            ])
        }
        ExprKind::Binary(op, a, b) => Sx::List(vec![
            atom("binary"),
            atom(op.symbol()),
            span(at),
            expr_sx(a),
            expr_sx(b),
        ]),
        ExprKind::Cast(operand, dtype) => Sx::List(vec![
            atom("as"),
            atom(dtype.name.as_str()),
            span(at),
            expr_sx(operand),
        ]),
        ExprKind::Call {
            callee,
            args,
            kwargs,
        } => {
            let kwargs = kwargs.iter().map(|kw| {
                Sx::List(vec![
                    atom("kw"),
                    atom(kw.name.name.as_str()),
                    expr_sx(&kw.value),
                ])
            });
            node(
                "call",
                at,
                [expr_sx(callee)]
                    .into_iter()
                    .chain(args.iter().map(expr_sx))
                    .chain(kwargs),
            )
        }
        ExprKind::Index(base, indices) => {
            let indices = indices.iter().map(|index| match index {
                Index::Expr(e) => expr_sx(e),
                Index::Slice { lo, hi, step, span } => {
                    let bound = |e: &Option<Expr>| e.as_ref().map_or_else(|| atom("_"), expr_sx);
                    match step {
                        None => node("slice", *span, [bound(lo), bound(hi)]),
                        Some(_) => node("slice", *span, [bound(lo), bound(hi), bound(step)]),
                    }
                }
                Index::Ellipsis(span) => node("ellipsis", *span, []),
                Index::NewAxis(span) => node("newaxis", *span, []),
            });
            node("index", at, [expr_sx(base)].into_iter().chain(indices))
        }
        ExprKind::Field(base, index, _) => Sx::List(vec![
            atom("field"),
            atom(index.to_string()),
            span(at),
            expr_sx(base),
        ]),
        ExprKind::TransposeAll(base) => node("transpose", at, [expr_sx(base)]),
        ExprKind::Error => node("error", at, []),
    }
}
