//! Name resolution for functions that cannot be checked symbolically (some parameter
//! has neither annotation nor default): every name must refer to a local, an item, an
//! import, a built-in or a dtype. Type errors in such functions surface when they are
//! specialised for concrete arguments. Also the dtype names of every written type
//! (E0315), which need no types to check.

use tc_syntax::ast::{self, Expr, ExprKind, Pattern};
use tc_syntax::diag::{Diagnostic, Loc};

use crate::modules::Module;

pub(crate) fn check_names(modules: &[Module], module: usize, f: &ast::FnItem) -> Vec<Diagnostic> {
    let mut r = Resolver { modules, module, scope: Vec::new(), diags: Vec::new() };
    for p in &f.params {
        if let Some(d) = &p.default {
            r.expr(d);
        }
        r.scope.push(p.name.name.clone());
    }
    for p in &f.params {
        if let Some(ast::Type::Tensor { dims: Some(dims), .. }) = &p.ty {
            for d in dims {
                if let ast::Dim::Var(id) = d {
                    r.scope.push(id.name.clone());
                }
            }
        }
    }
    r.block(&f.body);
    r.diags
}

struct Resolver<'a> {
    modules: &'a [Module],
    module: usize,
    scope: Vec<String>,
    diags: Vec<Diagnostic>,
}

impl Resolver<'_> {
    fn block(&mut self, b: &ast::Block) {
        let mark = self.scope.len();
        for l in &b.lets {
            self.expr(&l.value);
            self.pattern(&l.pattern);
        }
        self.expr(&b.result);
        self.scope.truncate(mark);
    }

    fn pattern(&mut self, p: &Pattern) {
        match p {
            Pattern::Name(id) => self.scope.push(id.name.clone()),
            Pattern::Wildcard(_) => {}
            Pattern::Tuple(ps, _) => ps.iter().for_each(|p| self.pattern(p)),
        }
    }

    fn expr(&mut self, e: &Expr) {
        match &e.kind {
            ExprKind::Path(p) => self.path(p),
            ExprKind::Tuple(xs) | ExprKind::Array(xs) => xs.iter().for_each(|x| self.expr(x)),
            ExprKind::Block(b) => self.block(b),
            ExprKind::Unary(_, x) | ExprKind::Cast(x, _) | ExprKind::Field(x, _, _) | ExprKind::TransposeAll(x) => self.expr(x),
            ExprKind::Binary(_, a, b) => {
                self.expr(a);
                self.expr(b);
            }
            ExprKind::Call { callee, args, kwargs } => {
                self.expr(callee);
                args.iter().for_each(|a| self.expr(a));
                kwargs.iter().for_each(|k| self.expr(&k.value));
            }
            ExprKind::Index(x, idx) => {
                self.expr(x);
                for i in idx {
                    match i {
                        ast::Index::Expr(e) => self.expr(e),
                        ast::Index::Slice { lo, hi, step, .. } => lo.iter().chain(hi).chain(step).for_each(|e| self.expr(e)),
                        ast::Index::Ellipsis(_) | ast::Index::NewAxis(_) => {}
                    }
                }
            }
            ExprKind::Int(_) | ExprKind::Float(_) | ExprKind::Str(_) | ExprKind::Bool(_) | ExprKind::Error => {}
        }
    }

    fn path(&mut self, p: &ast::Path) {
        let m = &self.modules[self.module];
        let loc = |span| Loc { file: m.file, span };
        let first = &p.segments[0];
        if p.segments.len() == 1 {
            let n = &first.name;
            let known = self.scope.contains(n)
                || m.fns.contains_key(n)
                || m.consts.contains_key(n)
                || m.imports.contains_key(n)
                || crate::builtins::is_builtin(n)
                || crate::builtins::constant(n).is_some()
                || tc_tensor::DType::from_name(n).is_some();
            if !known {
                self.diags.push(Diagnostic::new("E0201", loc(p.span), format!("cannot find `{n}` in this scope")).with_label("not found"));
            }
            return;
        }
        match m.modules.get(&first.name) {
            None => self.diags.push(
                Diagnostic::new("E0201", loc(first.span), format!("unknown module `{}`", first.name))
                    .with_label("not imported")
                    .with_hint(format!("add `use {};` at the top of the file", first.name)),
            ),
            Some(&target) => {
                let last = p.segments.last().expect("paths are non-empty");
                let t = &self.modules[target];
                if !t.fns.contains_key(&last.name) && !t.consts.contains_key(&last.name) {
                    self.diags.push(
                        Diagnostic::new("E0104", loc(last.span), format!("module `{}` has no item named `{}`", first.name, last.name)).with_label("not found"),
                    );
                } else if target != self.module && t.is_private_fn(&last.name) {
                    self.diags.push(crate::modules::private_item(self.modules, target, &last.name, loc(p.span)));
                }
            }
        }
    }
}

/// E0315 for a dtype name that is none of SPEC §4's.
pub(crate) fn unknown_dtype(loc: Loc, name: &str) -> Diagnostic {
    Diagnostic::new("E0315", loc, format!("unknown dtype `{name}`")).with_label("not a dtype").with_hint("dtypes are f64 f32 f16 bf16 i64 i32 u8 bool")
}

/// E0315 for every unknown dtype written in `module`: in parameter, return, `let` and
/// `const` annotations and in casts, whether or not the function is ever called.
pub(crate) fn check_dtypes(modules: &[Module], module: usize) -> Vec<Diagnostic> {
    let mut walk = DtypeWalk { file: modules[module].file, diags: Vec::new() };
    for item in &modules[module].ast.items {
        match item {
            ast::Item::Fn(f) => {
                for p in &f.params {
                    p.ty.iter().for_each(|t| walk.ty(t));
                    p.default.iter().for_each(|d| walk.expr(d));
                }
                f.ret.iter().for_each(|t| walk.ty(t));
                walk.block(&f.body);
            }
            ast::Item::Const(c) => {
                c.ty.iter().for_each(|t| walk.ty(t));
                walk.expr(&c.value);
            }
            ast::Item::Use(_) => {}
        }
    }
    walk.diags
}

struct DtypeWalk {
    file: tc_syntax::diag::FileId,
    diags: Vec<Diagnostic>,
}

impl DtypeWalk {
    fn dtype(&mut self, id: &ast::Ident) {
        if tc_tensor::DType::from_name(&id.name).is_none() {
            self.diags.push(unknown_dtype(Loc { file: self.file, span: id.span }, &id.name));
        }
    }

    fn ty(&mut self, t: &ast::Type) {
        match t {
            ast::Type::Tensor { dtype, .. } => self.dtype(dtype),
            ast::Type::Tuple { elems, .. } => elems.iter().for_each(|t| self.ty(t)),
        }
    }

    fn block(&mut self, b: &ast::Block) {
        for l in &b.lets {
            l.ty.iter().for_each(|t| self.ty(t));
            self.expr(&l.value);
        }
        self.expr(&b.result);
    }

    /// Expressions nest as deep as the parser allows (E0006), so recursion is bounded.
    fn expr(&mut self, e: &Expr) {
        match &e.kind {
            ExprKind::Cast(x, dtype) => {
                self.expr(x);
                self.dtype(dtype);
            }
            ExprKind::Block(b) => self.block(b),
            ExprKind::Tuple(xs) | ExprKind::Array(xs) => xs.iter().for_each(|x| self.expr(x)),
            ExprKind::Unary(_, x) | ExprKind::Field(x, _, _) | ExprKind::TransposeAll(x) => self.expr(x),
            ExprKind::Binary(_, a, b) => {
                self.expr(a);
                self.expr(b);
            }
            ExprKind::Call { callee, args, kwargs } => {
                self.expr(callee);
                args.iter().for_each(|a| self.expr(a));
                kwargs.iter().for_each(|k| self.expr(&k.value));
            }
            ExprKind::Index(x, idx) => {
                self.expr(x);
                for i in idx {
                    match i {
                        ast::Index::Expr(e) => self.expr(e),
                        ast::Index::Slice { lo, hi, step, .. } => lo.iter().chain(hi).chain(step).for_each(|e| self.expr(e)),
                        ast::Index::Ellipsis(_) | ast::Index::NewAxis(_) => {}
                    }
                }
            }
            ExprKind::Path(_) | ExprKind::Int(_) | ExprKind::Float(_) | ExprKind::Str(_) | ExprKind::Bool(_) | ExprKind::Error => {}
        }
    }
}
