//! The elaborator: evaluates a function body over [`Value`]s, checking types, dtypes
//! and shapes and building graph IR as it goes. Every call of a user function is
//! specialised for its argument types and inlined, so the graph of an entry point has
//! concrete shapes throughout. Errors become diagnostics and the erroneous expression
//! evaluates to `Value::Error`, so one run reports every independent error.


use std::collections::HashMap;

use tc_ir::{BinaryOp, Graph, NodeId, Op, Type, UnaryOp};
use tc_syntax::ast::{self, BinOp, Expr, ExprKind, Span, UnOp};
use tc_syntax::diag::{Diagnostic, Label, Loc};
use tc_tensor::{DType, Data, Tensor};

use crate::modules::Module;
use crate::shapes::{broadcast_shapes, DimEnv};
use crate::unfold::Unfolded;
use crate::value::{Konst, Origin, TVal, Value};
use crate::{Limits, MemorySource};

/// Inlining deeper than this is reported as (probable) recursion.
const MAX_CALL_DEPTH: usize = 64;

/// A diagnostic inside called functions gets at most this many "in this call" labels:
/// the innermost calls and, in the last one, the outermost (the caller's own code).
const MAX_CALL_LABELS: u8 = 3;

pub(crate) struct Elab<'a> {
    pub modules: &'a [Module],
    pub graph: Graph,
    pub diags: Vec<Diagnostic>,
    depth: usize,
    /// Constants being evaluated, to report cycles.
    const_stack: Vec<(usize, String)>,
    /// The value of each constant item evaluated so far, by module and name: a constant
    /// is one value wherever it is used (`grad(C * C, C)` follows every use).
    const_values: HashMap<(usize, String), Value>,
    limits: Limits,
    /// Nodes below this index have had their size checked against the memory limit.
    sized_nodes: usize,
    /// Calls inlined so far; each counts against the node limit like a node.
    inlined_calls: usize,
    /// The calls being elaborated, outermost first: the callee and the call site.
    call_stack: Vec<(String, Loc)>,
    /// Set when the node limit is exceeded (E0316): every expression after that is an
    /// error, so elaboration unwinds at once.
    out_of_nodes: bool,
    /// "In this call" labels added to each diagnostic so far, by index in `diags`.
    call_labels: Vec<u8>,
    /// The weak literals made so far.
    pub literals: crate::literals::Literals,
    /// How the constants folded so far were computed, for `grad`.
    pub folds: crate::unfold::Folds,
}

/// The scope of one function body being elaborated.
pub(crate) struct Env {
    pub module: usize,
    pub vars: Vec<(String, Value)>,
    pub dims: DimEnv,
}

impl Env {
    pub fn new(module: usize) -> Env {
        Env { module, vars: Vec::new(), dims: DimEnv::default() }
    }

    fn lookup(&self, name: &str) -> Option<&Value> {
        self.vars.iter().rev().find(|(n, _)| n == name).map(|(_, v)| v)
    }
}

/// What a callee path names.
pub(crate) enum Callee {
    User { module: usize, name: String },
    Builtin(String),
}

/// An evaluated argument list.
pub(crate) struct Args {
    pub pos: Vec<(Value, Span)>,
    pub kw: Vec<(String, Value, Span)>,
    pub span: Span,
}

impl<'a> Elab<'a> {
    pub fn new(modules: &'a [Module], name: &str, limits: Limits) -> Elab<'a> {
        Elab {
            modules,
            graph: Graph::new(name),
            diags: Vec::new(),
            depth: 0,
            const_stack: Vec::new(),
            const_values: HashMap::new(),
            limits,
            sized_nodes: 0,
            inlined_calls: 0,
            call_stack: Vec::new(),
            out_of_nodes: false,
            call_labels: Vec::new(),
            literals: Default::default(),
            folds: Default::default(),
        }
    }

    /// The nodes so far are inputs (parameters), not tensors the program makes: they
    /// are not checked against the memory limit.
    pub fn accept_existing_nodes(&mut self) {
        self.sized_nodes = self.graph.nodes.len();
    }

    pub fn loc(&self, env: &Env, span: Span) -> Loc {
        Loc { file: self.modules[env.module].file, span }
    }

    pub fn error(&mut self, d: Diagnostic) -> Value {
        self.diags.push(d);
        Value::Error
    }

    /// A type as users read it: `f32[2, 3]`, `f32`.
    pub fn show(&self, ty: &Type) -> String {
        if ty.shape.is_empty() {
            ty.dtype.to_string()
        } else {
            format!("{}{}", ty.dtype, self.show_shape(&ty.shape))
        }
    }

    pub fn show_shape(&self, shape: &[usize]) -> String {
        let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
        format!("[{}]", dims.join(", "))
    }

    pub fn describe(&self, v: &Value) -> String {
        v.describe(&|t| self.show(t))
    }

    // ----- tensor value constructors -------------------------------------------------

    pub fn tval(&self, node: NodeId) -> TVal {
        TVal { node, ty: self.graph.ty(node).clone(), weak: false, konst: None, origin: None }
    }

    pub fn tensor(&self, node: NodeId) -> Value {
        Value::Tensor(self.tval(node))
    }

    /// A compile-time scalar; `weak` literals adapt to the other operand's dtype.
    pub fn konst(&mut self, k: Konst, dtype: DType, weak: bool) -> Value {
        let node = self.graph.constant(Tensor::new(vec![], crate::value::konst_data(&[k], dtype)).expect("one element for a scalar"));
        // A weak value keeps its exact value, to be made again in the dtype it takes; a
        // strong one knows what its constant node holds, after rounding to `dtype`.
        let konst = if weak { k } else { self.const_value(node).expect("a scalar constant") };
        Value::Tensor(TVal { node, ty: Type::scalar(dtype), weak, konst: Some(konst), origin: None })
    }

    /// A compile-time integer (a size, a shape variable) found at `loc`: a weak literal.
    pub fn int_value(&mut self, i: i64, loc: Loc) -> Value {
        self.weak_literal(Konst::Int(i), DType::I32, loc)
    }

    /// Give a weak value the dtype `dtype` (a constant is re-made, anything else cast).
    pub fn convert(&mut self, t: &TVal, dtype: DType) -> TVal {
        if t.ty.dtype == dtype {
            return TVal { weak: false, ..t.clone() };
        }
        if let Some(v) = self.literal_in(t, dtype) {
            return v;
        }
        if let (Some(k), true) = (t.konst, t.ty.shape.is_empty()) {
            if let Value::Tensor(v) = self.konst(k, dtype, false) {
                self.record_fold(v.node, Unfolded::Op(Op::Cast, vec![t.node]));
                return v;
            }
        }
        let node = self.graph.cast(t.node, dtype);
        self.tval(node)
    }

    /// Fix a weak value to its own dtype (used when a value leaves an expression).
    pub fn strong(&mut self, t: TVal) -> TVal {
        TVal { weak: false, ..t }
    }

    // ----- resource limits -------------------------------------------------------------

    /// Check the nodes made since the last check against the memory limit (E0307 at
    /// `span`, the expression that made them) and the node count against the node
    /// limit (E0316); either makes `v` an error.
    fn check_limits(&mut self, env: &Env, span: Span, v: Value) -> Value {
        let new = self.sized_nodes..self.graph.nodes.len();
        self.sized_nodes = new.end;
        if self.out_of_nodes {
            return Value::Error;
        }
        if let Some(first) = new.clone().find(|&i| self.too_large(&self.graph.nodes[i].ty).is_some()) {
            // Name the expression's own result if it is too large (`eye(n)`'s f32 rather
            // than the i32 indices it compares).
            let result = match &v {
                Value::Tensor(t) if new.contains(&t.node.index()) && self.too_large(&t.ty).is_some() => t.node.index(),
                _ => first,
            };
            let ty = self.graph.nodes[result].ty.clone();
            let (message, hint) = self.too_large(&ty).expect("found above");
            return self.error(Diagnostic::new("E0307", self.loc(env, span), message).with_label("this tensor is too large").with_hint(hint));
        }
        if self.over_node_limit() {
            self.node_limit_exceeded(env, span);
            return Value::Error;
        }
        v
    }

    fn over_node_limit(&self) -> bool {
        self.graph.nodes.len().saturating_add(self.inlined_calls) > self.limits.max_nodes
    }

    /// Why a tensor of type `ty` cannot be made, and a hint, or `None` if it can: more
    /// than 2^40 elements, or more bytes than the memory limit.
    fn too_large(&self, ty: &Type) -> Option<(String, String)> {
        let elements = ty.shape.iter().try_fold(1u128, |n, &d| n.checked_mul(d as u128)).filter(|&n| n <= crate::shapes::MAX_ELEMENTS);
        let Some(elements) = elements else {
            let shown = self.show(ty);
            return Some((format!("a tensor of type {shown} has more than 2^40 elements"), "compute in smaller pieces".to_string()));
        };
        let limit = self.limits.memory?;
        let bytes = elements * ty.dtype.size_bytes() as u128;
        if bytes <= u128::from(limit.bytes) {
            return None;
        }
        let shown = self.show(ty);
        let (what, hint) = match limit.source {
            MemorySource::Budget => ("the memory budget (`--mem-budget`)", "raise `--mem-budget`, or compute in smaller pieces"),
            MemorySource::PhysicalMemory => ("this machine's physical memory", "shapes are static, so this program cannot run here; compute in smaller pieces"),
        };
        let message = format!("a tensor of type {shown} takes {}, more than {what} of {}", bytes_text(bytes), bytes_text(u128::from(limit.bytes)));
        Some((message, hint.to_string()))
    }

    /// Report E0316 at the outermost call being elaborated (or at `span` outside any
    /// call), naming the chain of calls, and stop elaborating.
    fn node_limit_exceeded(&mut self, env: &Env, span: Span) {
        self.out_of_nodes = true;
        let names: Vec<String> = std::iter::once(self.graph.name.clone()).chain(self.call_stack.iter().map(|(name, _)| name.clone())).map(|n| format!("`{n}`")).collect();
        let chain = if names.len() > 8 {
            let hidden = names.len() - 6;
            format!("{} -> ({hidden} more) -> {}", names[..3].join(" -> "), names[names.len() - 3..].join(" -> "))
        } else {
            names.join(" -> ")
        };
        let max = self.limits.max_nodes;
        let (at, label) = match self.call_stack.first() {
            Some((_, site)) => (*site, "elaborating this call exceeds the node limit"),
            None => (self.loc(env, span), "the node limit is exceeded here"),
        };
        let mut d = Diagnostic::new("E0316", at, format!("the program elaborates to more than {max} graph nodes, in the calls {chain}"))
            .with_label(label)
            .with_hint("every call is inlined, so a function that calls another twice doubles the graph at each level; call once and reuse the result with `let`");
        for (name, site) in self.call_stack.iter().skip(1).take(3) {
            d = d.with_secondary(*site, format!("which calls `{name}` here"));
        }
        self.error(d);
    }

    // ----- expressions -----------------------------------------------------------------

    pub fn expr(&mut self, env: &mut Env, e: &Expr) -> Value {
        if self.out_of_nodes {
            return Value::Error;
        }
        let v = self.eval(env, e);
        self.check_limits(env, e.span, v)
    }

    fn eval(&mut self, env: &mut Env, e: &Expr) -> Value {
        match &e.kind {
            // Beyond i32 an integer literal needs to take i64 (see `literals`).
            ExprKind::Int(i) => match i64::try_from(*i) {
                Ok(i) => self.weak_literal(Konst::Int(i), DType::I32, self.loc(env, e.span)),
                Err(_) => self.error(Diagnostic::new("E0314", self.loc(env, e.span), format!("integer literal {i} does not fit in i64")).with_label("too large")),
            },
            ExprKind::Float(f) => self.weak_literal(Konst::Float(*f), DType::F32, self.loc(env, e.span)),
            ExprKind::Str(_) => self.error(
                Diagnostic::new("E0310", self.loc(env, e.span), "a string is not a value")
                    .with_label("a string here")
                    .with_hint("strings are only `einsum`'s subscripts, e.g. `einsum(\"ij,jk->ik\", a, b)`"),
            ),
            ExprKind::Bool(b) => self.weak_literal(Konst::Bool(*b), DType::Bool, self.loc(env, e.span)),
            ExprKind::Path(p) => self.path(env, p),
            ExprKind::Tuple(items) => Value::Tuple(items.iter().map(|x| self.expr(env, x)).collect()),
            ExprKind::Array(items) => self.array(env, items, e.span),
            ExprKind::Block(b) => self.block(env, b),
            ExprKind::Unary(op, x) => {
                let v = self.expr(env, x);
                self.unop(env, *op, v, e.span)
            }
            ExprKind::Binary(op, a, b) => {
                let va = self.expr(env, a);
                let vb = self.expr(env, b);
                self.binop(env, *op, va, vb, e.span)
            }
            ExprKind::Cast(x, dt) => {
                let v = self.expr(env, x);
                self.cast(env, v, dt, e.span)
            }
            ExprKind::Call { callee, args, kwargs } => self.call_expr(env, callee, args, kwargs, e.span),
            ExprKind::Index(x, idx) => {
                let v = self.expr(env, x);
                self.index(env, v, idx, e.span)
            }
            ExprKind::Field(x, n, span) => match self.expr(env, x) {
                Value::Tuple(vs) => match vs.get(*n as usize) {
                    Some(v) => v.clone(),
                    None => self.error(
                        Diagnostic::new("E0310", self.loc(env, *span), format!("tuple has {} elements, no element {n}", vs.len())).with_label("no such element"),
                    ),
                },
                Value::Error => Value::Error,
                other => {
                    let d = self.describe(&other);
                    self.error(Diagnostic::new("E0310", self.loc(env, e.span), format!("`.{n}` needs a tuple, found {d}")).with_label("not a tuple"))
                }
            },
            ExprKind::TransposeAll(x) => {
                let v = self.expr(env, x);
                match self.expect_tensor(env, v, x.span) {
                    Some(t) => {
                        let perm: Vec<usize> = (0..t.ty.rank()).rev().collect();
                        let node = self.graph.transpose(t.node, &perm);
                        self.tensor(node)
                    }
                    None => Value::Error,
                }
            }
            ExprKind::Error => Value::Error,
        }
    }

    pub fn expect_tensor(&mut self, env: &Env, v: Value, span: Span) -> Option<TVal> {
        match v {
            Value::Tensor(t) => Some(t),
            Value::Error => None,
            other => {
                let d = self.describe(&other);
                self.error(Diagnostic::new("E0310", self.loc(env, span), format!("expected a tensor, found {d}")).with_label("not a tensor"));
                None
            }
        }
    }

    fn path(&mut self, env: &mut Env, p: &ast::Path) -> Value {
        if p.segments.len() == 1 {
            let name = &p.segments[0].name;
            if let Some(v) = env.lookup(name) {
                return v.clone();
            }
            let module = &self.modules[env.module];
            if module.consts.contains_key(name) {
                return self.const_item_value(env.module, name, p.span, env);
            }
            if let Some((m, item, _)) = module.imports.get(name).cloned() {
                if self.modules[m].consts.contains_key(&item) {
                    return self.const_item_value(m, &item, p.span, env);
                }
                if self.modules[m].fns.contains_key(&item) {
                    return self.not_a_value(env, name, p.span);
                }
            }
            if module.fns.contains_key(name) || crate::builtins::is_builtin(name) {
                return self.not_a_value(env, name, p.span);
            }
            // After the file's own names, so that a `const inf` or `fn nan` wins.
            if let Some(x) = crate::builtins::constant(name) {
                return self.weak_literal(Konst::Float(ast::FloatLit::exact(x)), DType::F32, self.loc(env, p.span));
            }
            if let Some(d) = DType::from_name(name) {
                return Value::DType(d);
            }
            return self.unknown_name(env, name, p.span);
        }
        match self.module_item(env, p) {
            Some((m, item)) if self.modules[m].consts.contains_key(&item) => self.const_item_value(m, &item, p.span, env),
            Some((_, item)) => self.not_a_value(env, &item, p.span),
            None => Value::Error,
        }
    }

    fn not_a_value(&mut self, env: &Env, name: &str, span: Span) -> Value {
        self.error(
            Diagnostic::new("E0202", self.loc(env, span), format!("`{name}` is a function, not a value"))
                .with_label("functions can only be called")
                .with_hint(format!("call it: `{name}(...)`")),
        )
    }

    fn unknown_name(&mut self, env: &Env, name: &str, span: Span) -> Value {
        let mut d = Diagnostic::new("E0201", self.loc(env, span), format!("cannot find `{name}` in this scope")).with_label("not found");
        if let Some(similar) = self.similar_name(env, name) {
            d = d.with_hint(format!("a similar name exists: `{similar}`"));
        }
        self.error(d)
    }

    fn similar_name(&self, env: &Env, name: &str) -> Option<String> {
        let module = &self.modules[env.module];
        let builtins: Vec<&str> = crate::builtins::names().collect();
        let candidates = env
            .vars
            .iter()
            .map(|(n, _)| n.as_str())
            .chain(module.fns.keys().map(String::as_str))
            .chain(module.consts.keys().map(String::as_str))
            .chain(builtins)
            .chain(crate::builtins::CONSTANTS.iter().map(|&(n, _)| n));
        candidates
            .filter(|c| {
                let d = edit_distance(c, name);
                d <= (name.len() / 3).max(1) && d < name.len()
            }).min_by_key(|c| edit_distance(c, name)).map(str::to_string)
    }

    /// Resolve `m::item` to (module index, item name), reporting unknown modules/items.
    fn module_item(&mut self, env: &Env, p: &ast::Path) -> Option<(usize, String)> {
        let first = &p.segments[0];
        let last = p.segments.last().expect("paths are non-empty");
        let Some(&m) = self.modules[env.module].modules.get(&first.name) else {
            let hint = format!("add `use {};` at the top of the file", first.name);
            self.error(Diagnostic::new("E0201", self.loc(env, first.span), format!("unknown module `{}`", first.name)).with_label("not imported").with_hint(hint));
            return None;
        };
        if p.segments.len() > 2 {
            self.error(Diagnostic::new("E0201", self.loc(env, p.span), "nested module paths are not supported").with_label("use the module's own name"));
            return None;
        }
        let target = &self.modules[m];
        if m != env.module && target.is_private_fn(&last.name) {
            self.error(crate::modules::private_item(self.modules, m, &last.name, self.loc(env, p.span)));
            return None;
        }
        if target.fns.contains_key(&last.name) || target.consts.contains_key(&last.name) {
            return Some((m, last.name.clone()));
        }
        self.error(Diagnostic::new("E0104", self.loc(env, p.span), format!("module `{}` has no item named `{}`", first.name, last.name)).with_label("not found"));
        None
    }

    /// Evaluate the constant `name` of `module` for its diagnostics (a constant that
    /// nothing uses is still checked).
    pub fn check_const(&mut self, module: usize, item: &ast::ConstItem) {
        let env = Env::new(module);
        self.const_item_value(module, &item.name.name, item.name.span, &env);
    }

    fn const_item_value(&mut self, module: usize, name: &str, span: Span, env: &Env) -> Value {
        if let Some(v) = self.const_values.get(&(module, name.to_string())) {
            return v.clone();
        }
        if self.const_stack.iter().any(|(m, n)| *m == module && n == name) {
            return self.error(Diagnostic::new("E0208", self.loc(env, span), format!("constant `{name}` depends on itself")).with_label("cycle"));
        }
        let item = self.modules[module].const_item(name).expect("const exists").clone();
        self.const_stack.push((module, name.to_string()));
        let mut cenv = Env::new(module);
        let v = self.expr(&mut cenv, &item.value);
        let v = match &item.ty {
            Some(ann) => self.check_annotation(&mut cenv, ann, v, item.value.span),
            None => v,
        };
        self.const_stack.pop();
        self.const_values.insert((module, name.to_string()), v.clone());
        v
    }

    fn block(&mut self, env: &mut Env, b: &ast::Block) -> Value {
        let mark = env.vars.len();
        for l in &b.lets {
            let v = self.expr(env, &l.value);
            let v = match &l.ty {
                Some(ann) => self.check_annotation(env, ann, v, l.value.span),
                None => v,
            };
            self.bind_pattern(env, &l.pattern, v);
        }
        let result = self.expr(env, &b.result);
        env.vars.truncate(mark);
        result
    }

    pub fn bind_pattern(&mut self, env: &mut Env, p: &ast::Pattern, v: Value) {
        match p {
            ast::Pattern::Name(id) => env.vars.push((id.name.clone(), v)),
            ast::Pattern::Wildcard(_) => {}
            ast::Pattern::Tuple(ps, span) => match v {
                Value::Tuple(vs) if vs.len() == ps.len() => {
                    for (p, v) in ps.iter().zip(vs) {
                        self.bind_pattern(env, p, v);
                    }
                }
                Value::Error => {
                    for p in ps {
                        self.bind_pattern(env, p, Value::Error);
                    }
                }
                other => {
                    let d = self.describe(&other);
                    self.error(
                        Diagnostic::new("E0311", self.loc(env, *span), format!("a pattern of {} elements cannot match {d}", ps.len())).with_label("pattern arity differs"),
                    );
                    for p in ps {
                        self.bind_pattern(env, p, Value::Error);
                    }
                }
            },
        }
    }

    /// Check `v` against an annotation in `env`'s shape-variable scope; a weak literal
    /// takes the annotated dtype.
    pub fn check_annotation(&mut self, env: &mut Env, ann: &ast::Type, v: Value, span: Span) -> Value {
        match self.match_type(env, ann, v) {
            Ok(v) => v,
            Err(msg) => {
                let ann_text = crate::shapes::type_text(ann);
                self.error(Diagnostic::new("E0303", self.loc(env, span), format!("expected {ann_text}, found {msg}")).with_label("type differs from the annotation"))
            }
        }
    }

    /// Match a value against an annotation, binding shape variables; `Err` holds a
    /// description of what was found and why it does not fit.
    pub fn match_type(&mut self, env: &mut Env, ann: &ast::Type, v: Value) -> Result<Value, String> {
        match (ann, v) {
            (_, Value::Error) => Ok(Value::Error),
            (ast::Type::Tuple { elems, .. }, Value::Tuple(vs)) if elems.len() == vs.len() => {
                let mut out = Vec::new();
                for (a, v) in elems.iter().zip(vs) {
                    out.push(self.match_type(env, a, v)?);
                }
                Ok(Value::Tuple(out))
            }
            (ast::Type::Tensor { dtype, dims, .. }, Value::Tensor(t)) => {
                // An unknown dtype is E0315, found by `resolve::check_dtypes` in every
                // annotation before anything is elaborated.
                let Some(want) = DType::from_name(&dtype.name) else { return Ok(Value::Error) };
                let t = if t.ty.dtype != want {
                    if t.weak && weak_fits(t.ty.dtype, want) {
                        self.convert(&t, want)
                    } else {
                        return Err(self.show(&t.ty));
                    }
                } else {
                    // The literal takes exactly its provisional dtype.
                    self.settle_literal(&t);
                    t
                };
                let empty = Vec::new();
                let dims = dims.as_ref().unwrap_or(&empty);
                if let Err(why) = env.dims.unify(dims, &t.ty.shape) {
                    return Err(format!("{} ({why})", self.show(&t.ty)));
                }
                Ok(Value::Tensor(t))
            }
            (_, other) => Err(self.describe(&other)),
        }
    }

    fn array(&mut self, env: &mut Env, items: &[Expr], span: Span) -> Value {
        let vals: Vec<(Value, Span)> = items.iter().map(|x| (self.expr(env, x), x.span)).collect();
        let mut tvals = Vec::new();
        for (v, s) in vals {
            match self.expect_tensor(env, v, s) {
                Some(t) => tvals.push(t),
                None => return Value::Error,
            }
        }
        let first_shape = tvals[0].ty.shape.clone();
        if let Some(bad) = tvals.iter().find(|t| t.ty.shape != first_shape) {
            let (a, b) = (self.show_shape(&first_shape), self.show_shape(&bad.ty.shape));
            return self.error(Diagnostic::new("E0314", self.loc(env, span), format!("tensor literal rows differ in shape: {a} and {b}")).with_label("ragged literal"));
        }
        let Some(dtype) = self.common_dtype(env, &tvals, span) else { return Value::Error };
        let weak = tvals.iter().all(|t| t.weak);
        let mut shape = vec![tvals.len()];
        shape.extend_from_slice(&first_shape);
        // A literal of literals keeps its exact values until it takes a dtype.
        let exact: Option<Vec<Konst>> = if weak {
            tvals.iter().map(|t| self.literal_values(t)).collect::<Option<Vec<_>>>().map(|rows| rows.concat())
        } else {
            None
        };
        if let Some(values) = exact {
            let t = self.weak_tensor_literal(values, shape, dtype, self.loc(env, span));
            self.record_fold(t.node, Unfolded::Rows(tvals.iter().map(|row| row.node).collect()));
            return Value::Tensor(t);
        }
        if tvals.iter().all(|t| t.konst.is_some()) {
            let rows: Vec<TVal> = tvals.iter().map(|t| self.convert(t, dtype)).collect();
            let values: Vec<Konst> = rows.iter().map(|row| row.konst.expect("a constant stays one")).collect();
            let data = crate::value::konst_data(&values, dtype);
            let node = self.graph.constant(Tensor::new(shape, data).expect("one element per row"));
            self.record_fold(node, Unfolded::Rows(rows.iter().map(|row| row.node).collect()));
            return Value::Tensor(TVal { weak, ..self.tval(node) });
        }
        if first_shape.iter().product::<usize>() > 0 && tvals.iter().all(|t| matches!(self.graph.node(t.node).op, tc_ir::Op::Const(_))) {
            // Nested literal: concatenate the constant rows directly.
            let mut values = Vec::new();
            let mut rows = Vec::new();
            for t in &tvals {
                let row = self.convert(t, dtype);
                if let tc_ir::Op::Const(c) = &self.graph.node(row.node).op {
                    values.extend(c.data().to_f64_vec());
                }
                rows.push(row.node);
            }
            let node = self.graph.constant(Tensor::new(shape, Data::from_f64(dtype, &values)).expect("sizes multiply"));
            self.record_fold(node, Unfolded::Rows(rows));
            return Value::Tensor(TVal { weak, ..self.tval(node) });
        }
        let rows: Vec<NodeId> = tvals
            .iter()
            .map(|t| {
                let t = self.convert(t, dtype);
                let mut s = vec![1];
                s.extend_from_slice(&first_shape);
                self.graph.reshape(t.node, &s)
            })
            .collect();
        let node = self.graph.concat(rows, 0);
        Value::Tensor(TVal { weak, ..self.tval(node) })
    }

    /// The dtype several operands share under the weak-literal rule, or an error.
    pub fn common_dtype(&mut self, env: &Env, ts: &[TVal], span: Span) -> Option<DType> {
        let strong: Vec<&TVal> = ts.iter().filter(|t| !t.weak).collect();
        if let Some(first) = strong.first() {
            let d = first.ty.dtype;
            if let Some(other) = strong.iter().find(|t| t.ty.dtype != d) {
                self.mismatch(env, d, other.ty.dtype, span);
                return None;
            }
            for t in ts.iter().filter(|t| t.weak) {
                if !weak_fits(t.ty.dtype, d) {
                    let what = if t.ty.dtype.is_float() { "a float literal" } else { "a literal" };
                    self.error(
                        Diagnostic::new("E0302", self.loc(env, span), format!("{what} of dtype {} cannot take dtype {d}", t.ty.dtype))
                            .with_label("dtypes differ")
                            .with_hint(format!("write the literal in the dtype {d}, or convert the other operand with `as`")),
                    );
                    return None;
                }
                if let (Some(Konst::Int(v)), Some(range)) = (t.konst, d.int_range()) {
                    if !range.contains(&v) {
                        // As NumPy 2 does: a literal is never wrapped into a narrower integer.
                        self.error(
                            Diagnostic::new("E0314", self.loc(env, span), format!("integer literal {v} does not fit in {d}"))
                                .with_label(format!("the other operand is {d}"))
                                .with_hint(format!("{d} holds {} to {}", range.start(), range.end())),
                        );
                        return None;
                    }
                }
            }
            return Some(d);
        }
        // All weak: float wins over int, int over bool.
        let rank = |d: DType| if d.is_float() { 2 } else if d.is_int() { 1 } else { 0 };
        ts.iter().map(|t| t.ty.dtype).max_by_key(|&d| (rank(d), d == DType::I64))
    }

    pub fn mismatch(&mut self, env: &Env, a: DType, b: DType, span: Span) {
        self.error(
            Diagnostic::new("E0302", self.loc(env, span), format!("mismatched dtypes {a} and {b}"))
                .with_label(format!("{a} and {b} operands"))
                .with_hint(format!("dtypes are never promoted implicitly; convert one side, e.g. `x as {a}`")),
        );
    }

    fn unop(&mut self, env: &Env, op: UnOp, v: Value, span: Span) -> Value {
        let Some(t) = self.expect_tensor(env, v, span) else { return Value::Error };
        match op {
            UnOp::Neg => {
                if t.ty.dtype == DType::Bool {
                    return self.wrong_dtype(env, "negation", "numbers", t.ty.dtype, span, Some("use `!` for logical not"));
                }
                if let Some(k) = t.konst {
                    let k = match k {
                        Konst::Int(i) => Konst::Int(i.wrapping_neg()),
                        Konst::Float(f) => Konst::Float(-f),
                        b => b,
                    };
                    let v = if t.weak { self.weak_literal(k, t.ty.dtype, self.loc(env, span)) } else { self.konst(k, t.ty.dtype, false) };
                    if let Value::Tensor(folded) = &v {
                        self.record_fold(folded.node, Unfolded::Op(Op::Unary(UnaryOp::Neg), vec![t.node]));
                    }
                    return v;
                }
                let node = self.graph.unary(UnaryOp::Neg, t.node);
                self.tensor(node)
            }
            UnOp::Not => {
                if t.ty.dtype != DType::Bool {
                    return self.wrong_dtype(env, "`!`", "bool", t.ty.dtype, span, Some("compare first, e.g. `x != 0`"));
                }
                let node = self.graph.unary(UnaryOp::Not, t.node);
                self.tensor(node)
            }
        }
    }

    pub fn wrong_dtype(&mut self, env: &Env, what: &str, needs: &str, got: DType, span: Span, hint: Option<&str>) -> Value {
        let mut d = Diagnostic::new("E0305", self.loc(env, span), format!("{what} needs {needs}, found {got}")).with_label(format!("this is {got}"));
        if let Some(h) = hint {
            d = d.with_hint(h);
        }
        self.error(d)
    }

    fn cast(&mut self, env: &Env, v: Value, dt: &ast::Ident, span: Span) -> Value {
        let Some(dtype) = DType::from_name(&dt.name) else {
            return self.error(crate::resolve::unknown_dtype(self.loc(env, dt.span), &dt.name));
        };
        let Some(t) = self.expect_tensor(env, v, span) else { return Value::Error };
        // A literal cast takes the dtype: `0.1 as f64` is exact, `300 as u8` an error.
        if let Some(v) = self.literal_in(&t, dtype) {
            return Value::Tensor(v);
        }
        if let (Some(k), true) = (t.konst, t.ty.shape.is_empty()) {
            let v = self.konst(k, dtype, false);
            if let Value::Tensor(folded) = &v {
                self.record_fold(folded.node, Unfolded::Op(Op::Cast, vec![t.node]));
            }
            return v;
        }
        let node = self.graph.cast(t.node, dtype);
        self.tensor(node)
    }

    /// Bring operands to one dtype and one broadcast shape.
    pub fn unify_operands(&mut self, env: &Env, ts: &[TVal], span: Span) -> Option<(Vec<NodeId>, DType, bool)> {
        let dtype = self.common_dtype(env, ts, span)?;
        let mut shape: Vec<usize> = Vec::new();
        for t in ts {
            match broadcast_shapes(&shape, &t.ty.shape) {
                Some(s) => shape = s,
                None => {
                    let a = format!("{dtype}{}", self.show_shape(&shape));
                    let b = self.show(&t.ty);
                    let (sa, sb) = (self.show_shape(&shape), self.show_shape(&t.ty.shape));
                    let d = Diagnostic::new("E0301", self.loc(env, span), format!("cannot broadcast {a} with {b}"))
                        .with_label(format!("shapes {sa} and {sb} {}", first_difference(&shape, &t.ty.shape)))
                        .with_hint("shapes are aligned at the right; each dimension must be equal or 1");
                    self.error(with_origins(d, ts));
                    return None;
                }
            }
        }
        let weak = ts.iter().all(|t| t.weak);
        let nodes = ts
            .iter()
            .map(|t| {
                let t = self.convert(t, dtype);
                self.graph.broadcast(t.node, &shape)
            })
            .collect();
        Some((nodes, dtype, weak))
    }

    /// Bring operands to one dtype without broadcasting them.
    pub fn unify_operands_no_broadcast(&mut self, env: &Env, ts: &[TVal], span: Span) -> Option<(Vec<NodeId>, DType, bool)> {
        let dtype = self.common_dtype(env, ts, span)?;
        let weak = ts.iter().all(|t| t.weak);
        Some((ts.iter().map(|t| self.convert(t, dtype).node).collect(), dtype, weak))
    }

    pub fn binop(&mut self, env: &Env, op: BinOp, a: Value, b: Value, span: Span) -> Value {
        let (Some(a), Some(b)) = (self.expect_tensor(env, a, span), self.expect_tensor(env, b, span)) else {
            return Value::Error;
        };
        if op == BinOp::MatMul {
            return crate::builtins::matmul(self, env, a, b, span);
        }
        let ir_op = match op {
            BinOp::Or => BinaryOp::Or,
            BinOp::And => BinaryOp::And,
            BinOp::Eq => BinaryOp::Eq,
            BinOp::Ne => BinaryOp::Ne,
            BinOp::Lt => BinaryOp::Lt,
            BinOp::Le => BinaryOp::Le,
            BinOp::Gt => BinaryOp::Gt,
            BinOp::Ge => BinaryOp::Ge,
            BinOp::Add => BinaryOp::Add,
            BinOp::Sub => BinaryOp::Sub,
            BinOp::Mul => BinaryOp::Mul,
            BinOp::Div => BinaryOp::Div,
            BinOp::Rem => BinaryOp::Rem,
            BinOp::Pow => BinaryOp::Pow,
            BinOp::MatMul => unreachable!("handled above"),
        };
        // Two weak integer literals divided give a weak float, as in Python.
        let (a, b) = if matches!(op, BinOp::Div | BinOp::Pow) && a.weak && b.weak && !a.ty.dtype.is_float() && !b.ty.dtype.is_float() {
            (self.convert(&a, DType::F32), self.convert(&b, DType::F32))
        } else {
            (a, b)
        };
        let konsts = (a.konst, b.konst);
        let Some((nodes, dtype, weak)) = self.unify_operands(env, &[a, b], span) else { return Value::Error };
        let sym = op.symbol();
        let ok = match ir_op {
            BinaryOp::Div | BinaryOp::Pow => dtype.is_float(),
            BinaryOp::And | BinaryOp::Or => dtype == DType::Bool,
            BinaryOp::Eq | BinaryOp::Ne => true,
            _ => dtype != DType::Bool,
        };
        if !ok {
            let (needs, hint) = match ir_op {
                BinaryOp::Div => ("floats", Some("convert first, e.g. `x as f32`; integer literals alone are f32 here (`7 / 2` is 3.5), an integer tensor is not. Floor division of integers is `floor_div(a, b)`")),
                BinaryOp::Pow => ("floats", Some("convert first, e.g. `x as f32`; integer literals alone are f32 here (`2 ** 3` is 8.0), an integer tensor is not")),
                BinaryOp::And | BinaryOp::Or => ("bool", None),
                _ => ("numbers", Some("bool values support `==`, `!=`, `&&`, `||` and `!`")),
            };
            return self.wrong_dtype(env, &format!("`{sym}`"), needs, dtype, span, hint);
        }
        // Literals alone fold exactly (in f64 or i64) and stay weak; otherwise the folded
        // operands are the constants in `dtype`, as the op would see them.
        let konsts = if weak { konsts } else { (self.const_value(nodes[0]), self.const_value(nodes[1])) };
        if let (Some(ka), Some(kb)) = konsts {
            let fold_dtype = if weak && dtype.is_int() { DType::I64 } else { dtype };
            if let Some(k) = fold_binary(ir_op, ka, kb, fold_dtype) {
                // Only `inf` and `nan` are infinite or NaN literals: finite ones never
                // overflow into them (`1.0 / 0.0`, `1e300 * 1e300`).
                let finite = |k: Konst| !matches!(k, Konst::Float(f) if !f.nearest.is_finite());
                if weak && finite(ka) && finite(kb) && !finite(k) {
                    return self.error(
                        Diagnostic::new("E0314", self.loc(env, span), format!("`{sym}` on these literals gives {k}"))
                            .with_label("literals are never made infinite or NaN")
                            .with_hint("write `inf` or `nan` for those values, or compute on a tensor"),
                    );
                }
                let out_dtype = ir_op.result_dtype(dtype);
                let v = if weak && out_dtype == dtype { self.weak_literal(k, out_dtype, self.loc(env, span)) } else { self.konst(k, out_dtype, false) };
                if let Value::Tensor(folded) = &v {
                    self.record_fold(folded.node, Unfolded::Op(Op::Binary(ir_op), nodes));
                }
                return v;
            }
        }
        let node = self.graph.binary(ir_op, nodes[0], nodes[1]);
        let weak = weak && !ir_op.is_comparison();
        Value::Tensor(TVal { weak, ..self.tval(node) })
    }

    // ----- calls -----------------------------------------------------------------------

    fn call_expr(&mut self, env: &mut Env, callee: &Expr, args: &[Expr], kwargs: &[ast::KwArg], span: Span) -> Value {
        let ExprKind::Path(path) = &callee.kind else {
            // Evaluate for its own errors, then refuse.
            let v = self.expr(env, callee);
            if v.is_error() {
                return Value::Error;
            }
            return self.error(Diagnostic::new("E0202", self.loc(env, callee.span), "only named functions can be called").with_label("not a function name"));
        };
        let Some(target) = self.resolve_callee(env, path) else { return Value::Error };
        if let Callee::Builtin(name) = &target {
            if name == "grad" {
                return crate::builtins::grad(self, env, args, kwargs, span);
            }
            if name == "einsum" {
                return crate::builtins::einsum(self, env, args, kwargs, span);
            }
        }
        let evaluated = Args {
            pos: args.iter().map(|a| (self.expr(env, a), a.span)).collect(),
            kw: kwargs.iter().map(|k| (k.name.name.clone(), self.expr(env, &k.value), k.name.span.to(k.value.span))).collect(),
            span,
        };
        match target {
            Callee::Builtin(name) => crate::builtins::call(self, env, &name, evaluated),
            Callee::User { module, name } => self.call_user(env, module, &name, evaluated),
        }
    }

    pub fn resolve_callee(&mut self, env: &Env, path: &ast::Path) -> Option<Callee> {
        if path.segments.len() == 1 {
            let name = &path.segments[0].name;
            if env.lookup(name).is_some() {
                self.error(Diagnostic::new("E0202", self.loc(env, path.span), format!("`{name}` is a value, not a function")).with_label("not callable"));
                return None;
            }
            let module = &self.modules[env.module];
            if module.fns.contains_key(name) {
                return Some(Callee::User { module: env.module, name: name.clone() });
            }
            if let Some((m, item, _)) = module.imports.get(name) {
                if self.modules[*m].fns.contains_key(item) {
                    return Some(Callee::User { module: *m, name: item.clone() });
                }
            }
            if crate::builtins::is_builtin(name) {
                return Some(Callee::Builtin(name.clone()));
            }
            if module.consts.contains_key(name) || crate::builtins::constant(name).is_some() {
                self.error(Diagnostic::new("E0202", self.loc(env, path.span), format!("`{name}` is a constant, not a function")).with_label("not callable"));
                return None;
            }
            self.unknown_name(env, name, path.span);
            return None;
        }
        let (m, item) = self.module_item(env, path)?;
        if self.modules[m].fns.contains_key(&item) {
            Some(Callee::User { module: m, name: item })
        } else {
            self.error(Diagnostic::new("E0202", self.loc(env, path.span), format!("`{item}` is a constant, not a function")).with_label("not callable"));
            None
        }
    }

    /// Specialise and inline a call of a user function.
    pub fn call_user(&mut self, env: &Env, module: usize, name: &str, args: Args) -> Value {
        let f = self.modules[module].fn_item(name).expect("resolved function exists").clone();
        if self.out_of_nodes {
            return Value::Error;
        }
        let display_name = self.callee_name(env, module, name);
        let site = self.loc(env, args.span);
        self.inlined_calls += 1;
        if self.over_node_limit() {
            self.call_stack.push((display_name, site));
            self.node_limit_exceeded(env, args.span);
            self.call_stack.pop();
            return Value::Error;
        }
        if self.depth >= MAX_CALL_DEPTH {
            return self.error(
                Diagnostic::new("E0207", self.loc(env, args.span), format!("calls nest deeper than {MAX_CALL_DEPTH} levels at `{name}`"))
                    .with_label("probably recursion")
                    .with_hint("functions are inlined when specialised, so recursion is not supported"),
            );
        }
        let param_names: Vec<&str> = f.params.iter().map(|p| p.name.name.as_str()).collect();
        let call_span = args.span;
        let Some(bound) = self.bind_args(env, name, &param_names, args) else { return Value::Error };
        let mut callee_env = Env::new(module);
        for (param, arg) in f.params.iter().zip(bound) {
            let (value, span, from_caller) = match arg {
                Some((v, s)) => (v, s, true),
                None => match &param.default {
                    Some(d) => {
                        let mut denv = Env::new(module);
                        (self.expr(&mut denv, d), d.span, false)
                    }
                    None => {
                        self.error(
                            Diagnostic::new("E0206", self.loc(env, call_span), format!("missing argument `{}` of `{name}`", param.name.name))
                                .with_secondary(Loc { file: self.modules[module].file, span: param.name.span }, "parameter declared here"),
                        );
                        return Value::Error;
                    }
                },
            };
            let value = match &param.ty {
                Some(ann) => match self.match_type(&mut callee_env, ann, value) {
                    Ok(v) => self.declared(v, &callee_env, param, module),
                    Err(found) => {
                        let ann_text = crate::shapes::type_text(ann);
                        let at = if from_caller { self.loc(env, span) } else { Loc { file: self.modules[module].file, span } };
                        self.error(
                            Diagnostic::new("E0303", at, format!("argument `{}` of `{name}` expects {ann_text}, found {found}", param.name.name))
                                .with_label("argument type differs from the parameter's")
                                .with_secondary(Loc { file: self.modules[module].file, span: param.span }, "parameter declared here"),
                        );
                        Value::Error
                    }
                },
                None => value,
            };
            callee_env.vars.push((param.name.name.clone(), value));
        }
        let first_new_diag = self.diags.len();
        self.call_stack.push((display_name, site));
        self.depth += 1;
        let result = self.fn_body(&mut callee_env, &f);
        self.depth -= 1;
        let (display_name, site) = self.call_stack.pop().expect("pushed above");
        if self.diags.len() > first_new_diag {
            let text = format!("in this call of `{display_name}`{}", self.specialised_for(&f, &callee_env));
            for i in first_new_diag..self.diags.len() {
                self.add_call_label(i, site, &text);
            }
        }
        result
    }

    /// How the caller names a function: `nn::softmax` for a module's, else its name.
    fn callee_name(&self, env: &Env, module: usize, name: &str) -> String {
        if module == env.module {
            return name.to_string();
        }
        let mut aliases: Vec<&String> = self.modules[env.module].modules.iter().filter(|(_, &m)| m == module).map(|(alias, _)| alias).collect();
        aliases.sort();
        match aliases.first() {
            Some(alias) => format!("{alias}::{name}"),
            None => name.to_string(),
        }
    }

    /// ", specialised for x: f32[4], axis = 1": the types (and compile-time values) the
    /// parameters of `f` were bound to, the first ones of `env.vars`.
    fn specialised_for(&self, f: &ast::FnItem, env: &Env) -> String {
        let parts: Vec<String> = f
            .params
            .iter()
            .zip(&env.vars)
            .filter_map(|(p, (_, v))| {
                let name = &p.name.name;
                Some(match v {
                    Value::Error => return None,
                    Value::Tensor(TVal { konst: Some(k), weak: true, .. }) => match k {
                        Konst::Int(i) => format!("{name} = {i}"),
                        Konst::Float(x) => format!("{name} = {x:?}"),
                        Konst::Bool(b) => format!("{name} = {b}"),
                    },
                    Value::DType(d) => format!("{name} = {d}"),
                    other => format!("{name}: {}", self.describe(other)),
                })
            })
            .collect();
        if parts.is_empty() {
            String::new()
        } else {
            format!(", specialised for {}", parts.join(", "))
        }
    }

    /// Point diagnostic `index`, found inside a call, at the call site (as rustc's "in
    /// this instantiation"); past [`MAX_CALL_LABELS`] the outermost call replaces the
    /// previous outermost. Errors about the chain of calls itself name it already.
    fn add_call_label(&mut self, index: usize, site: Loc, text: &str) {
        if matches!(self.diags[index].code, "E0207" | "E0316") {
            return;
        }
        self.call_labels.resize(self.diags.len(), 0);
        let label = Label { loc: site, message: text.to_string() };
        let secondary = &mut self.diags[index].secondary;
        if self.call_labels[index] < MAX_CALL_LABELS {
            secondary.push(label);
            self.call_labels[index] += 1;
        } else if let Some(outermost) = secondary.last_mut() {
            *outermost = label;
        }
    }

    /// Mark a parameter's value with where and how it was declared (for hints).
    pub fn declared(&self, v: Value, env: &Env, param: &ast::Param, module: usize) -> Value {
        let (Value::Tensor(t), Some(ann)) = (&v, &param.ty) else { return v };
        let bound: Vec<String> = crate::shapes::dim_vars(ann).into_iter().filter_map(|n| env.dims.dims.get(&n).map(|d| format!("{n} = {d}")))
            .collect();
        let with = if bound.is_empty() { String::new() } else { format!(" with {}", bound.join(", ")) };
        let text = format!("`{}` was declared {}{with}", param.name.name, crate::shapes::type_text(ann));
        let loc = Loc { file: self.modules[module].file, span: param.span };
        Value::Tensor(TVal { origin: Some(Origin { loc, text }), ..t.clone() })
    }

    /// Elaborate a function body whose parameters are already bound in `env`.
    pub fn fn_body(&mut self, env: &mut Env, f: &ast::FnItem) -> Value {
        self.bind_dim_vars(env, self.loc(env, f.name.span));
        let result = self.block(env, &f.body);
        match &f.ret {
            Some(ann) => self.check_annotation(env, ann, result, f.body.result.span),
            None => result,
        }
    }

    /// Shape variables bound by the parameters become compile-time ints in the body.
    /// `at` is the function, where a size beyond i32 used as a value is reported.
    pub fn bind_dim_vars(&mut self, env: &mut Env, at: Loc) {
        let dims: Vec<(String, usize)> = env.dims.dims.iter().map(|(k, v)| (k.clone(), *v)).collect();
        for (name, size) in dims {
            let v = self.int_value(size as i64, at);
            env.vars.push((name, v));
        }
    }

    /// Match positional and keyword arguments to parameter names.
    pub fn bind_args(&mut self, env: &Env, fname: &str, params: &[&str], args: Args) -> Option<Vec<Option<(Value, Span)>>> {
        let mut out: Vec<Option<(Value, Span)>> = vec![None; params.len()];
        if args.pos.len() > params.len() {
            let extra = args.pos[params.len()].1;
            let (n, given) = (params.len(), args.pos.len());
            let (s, were) = (if n == 1 { "" } else { "s" }, if given == 1 { "was" } else { "were" });
            self.error(
                Diagnostic::new("E0203", self.loc(env, extra), format!("`{fname}` takes {n} argument{s} but {given} {were} given"))
                    .with_label("unexpected argument"),
            );
            return None;
        }
        for (i, a) in args.pos.into_iter().enumerate() {
            out[i] = Some(a);
        }
        let mut ok = true;
        for (name, v, span) in args.kw {
            match params.iter().position(|p| *p == name) {
                Some(i) if out[i].is_some() => {
                    self.error(Diagnostic::new("E0205", self.loc(env, span), format!("argument `{name}` of `{fname}` is given twice")).with_label("given again here"));
                    ok = false;
                }
                Some(i) => out[i] = Some((v, span)),
                None => {
                    let list = params.join(", ");
                    self.error(
                        Diagnostic::new("E0204", self.loc(env, span), format!("`{fname}` has no parameter named `{name}`"))
                            .with_label("unknown keyword argument")
                            .with_hint(format!("parameters: {list}")),
                    );
                    ok = false;
                }
            }
        }
        ok.then_some(out)
    }

    // ----- indexing --------------------------------------------------------------------

    fn index(&mut self, env: &mut Env, v: Value, idx: &[ast::Index], span: Span) -> Value {
        let Some(t) = self.expect_tensor(env, v, span) else { return Value::Error };
        let ellipses: Vec<Span> = idx.iter().filter_map(|ix| if let ast::Index::Ellipsis(s) = ix { Some(*s) } else { None }).collect();
        if ellipses.len() > 1 {
            return self.error(Diagnostic::new("E0309", self.loc(env, ellipses[1]), "an index may have one `...`").with_label("a second `...`"));
        }
        let consuming = idx.iter().filter(|ix| matches!(ix, ast::Index::Expr(_) | ast::Index::Slice { .. })).count();
        if consuming > t.ty.rank() {
            let shown = self.show(&t.ty);
            return self.error(
                Diagnostic::new("E0309", self.loc(env, span), format!("{consuming} indices for a tensor of rank {} ({shown})", t.ty.rank())).with_label("too many indices"),
            );
        }
        // Each index item against the input axes it covers; `...` covers the rest, and
        // missing trailing axes are full slices.
        let covered_by_ellipsis = t.ty.rank() - consuming;
        let mut start = vec![0; t.ty.rank()];
        let mut end = t.ty.shape.clone();
        let mut steps: Vec<(usize, Stride)> = Vec::new();
        let mut dropped = Vec::new();
        let mut gathers: Vec<(usize, TVal)> = Vec::new();
        // The output's axes in order: an input axis, or a new one of size 1.
        let mut out_axes: Vec<Option<usize>> = Vec::new();
        let mut axis = 0;
        for ix in idx {
            let size = t.ty.shape.get(axis).copied().unwrap_or(0) as i64;
            match ix {
                ast::Index::NewAxis(_) => out_axes.push(None),
                ast::Index::Ellipsis(_) => {
                    out_axes.extend((axis..axis + covered_by_ellipsis).map(Some));
                    axis += covered_by_ellipsis;
                }
                ast::Index::Expr(e) => {
                    let iv = self.expr(env, e);
                    let Some(it) = self.expect_tensor(env, iv, e.span) else { return Value::Error };
                    if !it.ty.dtype.is_int() || !it.ty.shape.is_empty() {
                        let shown = self.show(&it.ty);
                        return self.error(
                            Diagnostic::new("E0309", self.loc(env, e.span), format!("an index must be an integer scalar, found {shown}"))
                                .with_hint("use `take(x, idx, axis)` to gather with an index tensor"),
                        );
                    }
                    match it.konst {
                        Some(Konst::Int(i)) => {
                            let j = if i < 0 { i + size } else { i };
                            if j < 0 || j >= size {
                                return self.error(
                                    Diagnostic::new("E0309", self.loc(env, e.span), format!("index {i} is out of range for axis {axis} of size {size}")).with_label("out of range"),
                                );
                            }
                            start[axis] = j as usize;
                            end[axis] = j as usize + 1;
                            dropped.push(axis);
                        }
                        _ if size == 0 => {
                            let shown = self.show(&t.ty);
                            return self.error(
                                Diagnostic::new("E0309", self.loc(env, e.span), format!("a run-time index into axis {axis} of {shown}, which is empty"))
                                    .with_label("no element to index")
                                    .with_hint("an index into an empty axis has no value, not even after clamping"),
                            );
                        }
                        _ => gathers.push((axis, it)),
                    }
                    axis += 1;
                }
                ast::Index::Slice { lo, hi, step, .. } => {
                    let mut constant = |this: &mut Self, e: &Option<Expr>, what: &str| -> Option<Option<i64>> {
                        match e {
                            None => Some(None),
                            Some(e) => {
                                let v = this.expr(env, e);
                                this.const_int(env, v, e.span, what).map(Some)
                            }
                        }
                    };
                    let (Some(l), Some(h), Some(st)) = (constant(self, lo, "a slice bound"), constant(self, hi, "a slice bound"), constant(self, step, "a slice step")) else {
                        return Value::Error;
                    };
                    let st = st.unwrap_or(1);
                    if st == 0 {
                        let s = step.as_ref().map_or(span, |e| e.span);
                        return self.error(Diagnostic::new("E0309", self.loc(env, s), "a slice step must not be zero").with_label("zero step"));
                    }
                    let stride = Stride::of(l, h, st, size);
                    if st == 1 {
                        start[axis] = stride.first;
                        end[axis] = stride.first + stride.count;
                    } else {
                        steps.push((axis, stride));
                    }
                    out_axes.push(Some(axis));
                    axis += 1;
                }
            }
        }
        out_axes.extend((axis..t.ty.rank()).map(Some));
        let mut node = self.graph.slice(t.node, start.clone(), end.clone());
        let mut sizes: Vec<usize> = start.iter().zip(&end).map(|(s, e)| e - s).collect();
        for (a, stride) in &steps {
            node = self.strided(node, *a, stride);
            sizes[*a] = stride.count;
        }
        // Runtime integer indices gather along their axis (a scalar index drops it).
        for (k, (axis, it)) in gathers.iter().enumerate() {
            node = self.graph.gather(node, it.node, axis - k);
        }
        // An integer index drops its axis, so it has no place in `out_axes`.
        let shape: Vec<usize> = out_axes.iter().map(|a| a.map_or(1, |a| sizes[a])).collect();
        let node = self.graph.reshape(node, &shape);
        self.tensor(node)
    }

    /// Elements `first, first + step, ...` (`count` of them, `step` possibly negative) of
    /// `axis`: a reversal for a negative step, then a slice, a pad to a whole number of
    /// steps, and a reshape that keeps every `step`th element: views, no gather.
    fn strided(&mut self, x: NodeId, axis: usize, s: &Stride) -> NodeId {
        let ty = self.graph.ty(x).clone();
        let size = ty.shape[axis];
        if s.count == 0 {
            let mut end = ty.shape.clone();
            end[axis] = 0;
            return self.graph.slice(x, vec![0; ty.rank()], end);
        }
        let (x, first) = match s.step < 0 {
            true => (self.graph.reverse(x, vec![axis]), size - 1 - s.first),
            false => (x, s.first),
        };
        let step = s.step.unsigned_abs() as usize;
        let mut start = vec![0; ty.rank()];
        let mut end = ty.shape.clone();
        start[axis] = first;
        let span = s.count.saturating_mul(step);
        end[axis] = (first + span).min(size);
        let mut node = self.graph.slice(x, start, end.clone());
        let short = first + span - end[axis];
        if short > 0 {
            let lo = vec![0; ty.rank()];
            let mut hi = vec![0; ty.rank()];
            hi[axis] = short;
            let zero = self.graph.scalar(ty.dtype, 0.0);
            node = self.graph.pad(node, zero, lo, hi);
        }
        let mut split = ty.shape.clone();
        split[axis] = s.count;
        split.insert(axis + 1, step);
        node = self.graph.reshape(node, &split);
        let mut take_end = split.clone();
        take_end[axis + 1] = 1;
        node = self.graph.slice(node, vec![0; split.len()], take_end);
        let mut out = ty.shape.clone();
        out[axis] = s.count;
        self.graph.reshape(node, &out)
    }

    /// A compile-time integer, or a diagnostic saying one was needed.
    pub fn const_int(&mut self, env: &Env, v: Value, span: Span, what: &str) -> Option<i64> {
        match v {
            Value::Tensor(TVal { konst: Some(Konst::Int(i)), .. }) => Some(i),
            Value::Error => None,
            other => {
                let d = self.describe(&other);
                self.error(
                    Diagnostic::new("E0208", self.loc(env, span), format!("{what} must be a compile-time integer, found {d}"))
                        .with_label("not known at compile time")
                        .with_hint("use a literal, a `const`, a shape variable or `size(x, axis)`"),
                );
                None
            }
        }
    }
}

/// Point at the declarations of annotated parameters among `operands`.
pub(crate) fn with_origins(mut d: Diagnostic, operands: &[TVal]) -> Diagnostic {
    for o in operands.iter().filter_map(|t| t.origin.as_ref()) {
        d = d.with_secondary(o.loc, o.text.clone());
    }
    d
}

/// Whether a weak literal of `from` (value `k`) may take dtype `to`.
pub(crate) fn weak_fits(from: DType, to: DType) -> bool {
    if from == to {
        return true;
    }
    match (from.is_float(), to.is_float(), to) {
        (_, _, DType::Bool) => from == DType::Bool,
        (false, true, _) => from != DType::Bool,
        (true, false, _) => false,
        (true, true, _) => true,
        (false, false, _) => from != DType::Bool,
    }
}

/// Compile-time evaluation of a binary op on scalars, mirroring the IR semantics.
fn fold_binary(op: BinaryOp, a: Konst, b: Konst, dtype: DType) -> Option<Konst> {
    if dtype.is_float() {
        let (x, y) = (a.as_f64(), b.as_f64());
        let r = match op {
            BinaryOp::Add => x + y,
            BinaryOp::Sub => x - y,
            BinaryOp::Mul => x * y,
            BinaryOp::Div => x / y,
            BinaryOp::Rem => {
                let r = x % y;
                if r != 0.0 && (r < 0.0) != (y < 0.0) {
                    r + y
                } else {
                    r
                }
            }
            BinaryOp::Pow => x.powf(y),
            op if op.is_comparison() => return compare(op, x, y).map(Konst::Bool),
            _ => return None,
        };
        return Some(Konst::Float(ast::FloatLit::exact(r)));
    }
    if dtype == DType::Bool {
        let (x, y) = (a.as_f64() != 0.0, b.as_f64() != 0.0);
        return Some(Konst::Bool(match op {
            BinaryOp::And => x && y,
            BinaryOp::Or => x || y,
            BinaryOp::Eq => x == y,
            BinaryOp::Ne => x != y,
            _ => return None,
        }));
    }
    let (Konst::Int(x), Konst::Int(y)) = (a, b) else { return None };
    let r = match op {
        BinaryOp::Add => x.checked_add(y)?,
        BinaryOp::Sub => x.checked_sub(y)?,
        BinaryOp::Mul => x.checked_mul(y)?,
        BinaryOp::Rem => {
            if y == 0 {
                0
            } else {
                x.rem_euclid(y) + if y < 0 && x.rem_euclid(y) != 0 { y } else { 0 }
            }
        }
        op if op.is_comparison() => return compare(op, x, y).map(Konst::Bool),
        _ => return None,
    };
    // Only fold when the result is exact in the dtype; otherwise build the op.
    let fits = match dtype {
        DType::I32 => i32::try_from(r).is_ok(),
        DType::U8 => u8::try_from(r).is_ok(),
        _ => true,
    };
    fits.then_some(Konst::Int(r))
}

/// A comparison op applied to two scalars (`None` for any other op).
fn compare<T: PartialOrd>(op: BinaryOp, x: T, y: T) -> Option<bool> {
    Some(match op {
        BinaryOp::Eq => x == y,
        BinaryOp::Ne => x != y,
        BinaryOp::Lt => x < y,
        BinaryOp::Le => x <= y,
        BinaryOp::Gt => x > y,
        BinaryOp::Ge => x >= y,
        _ => return None,
    })
}

/// Words for where two shapes first differ, counting from the right.
fn first_difference(a: &[usize], b: &[usize]) -> String {
    let n = a.len().min(b.len());
    for i in 0..n {
        let (x, y) = (a[a.len() - 1 - i], b[b.len() - 1 - i]);
        if x != y && x != 1 && y != 1 {
            return match i {
                0 => "differ in the last dimension".to_string(),
                1 => "differ in the second-to-last dimension".to_string(),
                _ => format!("differ in dimension {} from the end", i + 1),
            };
        }
    }
    "differ".to_string()
}

/// "40000000000 bytes (37.3 GiB)".
fn bytes_text(bytes: u128) -> String {
    const TIB: f64 = (1u64 << 40) as f64;
    const GIB: f64 = (1u64 << 30) as f64;
    const MIB: f64 = (1u64 << 20) as f64;
    let b = bytes as f64;
    if b >= TIB {
        format!("{bytes} bytes ({:.1} TiB)", b / TIB)
    } else if b >= GIB {
        format!("{bytes} bytes ({:.1} GiB)", b / GIB)
    } else if b >= MIB {
        format!("{bytes} bytes ({:.1} MiB)", b / MIB)
    } else {
        format!("{bytes} bytes")
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// A slice `lo:hi:step` of an axis of `size` resolved as NumPy's `slice.indices` does:
/// the first element and how many there are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stride {
    first: usize,
    count: usize,
    step: i64,
}

impl Stride {
    fn of(lo: Option<i64>, hi: Option<i64>, step: i64, size: i64) -> Stride {
        // Bounds count from the end when negative, then clamp: into [0, size] for a
        // positive step, into [-1, size - 1] for a negative one (-1: before the start).
        let (floor, ceil) = if step > 0 { (0, size) } else { (-1, size - 1) };
        let clamp = |b: i64| (if b < 0 { b + size } else { b }).clamp(floor, ceil);
        let first = lo.map_or(if step > 0 { 0 } else { size - 1 }, clamp);
        let stop = hi.map_or(if step > 0 { size } else { -1 }, clamp);
        let count = if step > 0 { (stop - first + step - 1) / step } else { (first - stop + (-step) - 1) / -step };
        Stride { first: first.max(0) as usize, count: count.max(0) as usize, step }
    }
}
