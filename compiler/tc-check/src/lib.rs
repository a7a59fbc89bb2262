//! Name resolution, modules, checking and specialisation: from parsed files to graph IR.
//!
//! `compile` parses the root file and every module it uses, resolves names and checks
//! every function it can (symbolically, with shape variables unbound). `specialize`
//! then elaborates one entry point for concrete argument types: every call is
//! specialised for its argument types and inlined, and the result is a `tc_ir::Graph`.

mod builtins;
mod elab;
mod literals;
mod modules;
mod resolve;
mod shapes;
mod unfold;
mod value;

use tc_ir::{Graph, Type};
use tc_tensor::DType;
use tc_syntax::ast::{self, Span};
use tc_syntax::diag::{Diagnostic, FileId, Loc, SourceMap};

use elab::{Elab, Env};
use modules::Module;
use value::{TVal, Value};

/// Finds the source of a module named in `use NAME;` (the stdlib is one such loader).
pub trait ModuleLoader: Sync {
    /// The module's display name (a path) and text, or `None` if there is none.
    /// `from` is the file that says `use`.
    fn load(&self, name: &str, from: &str) -> Option<(String, String)>;
}

/// What a caller passes for one entry parameter.
#[derive(Clone, Debug, PartialEq)]
pub enum ArgValue {
    /// A runtime tensor of this type (becomes a graph parameter).
    Tensor(Type),
    /// A runtime scalar typed like a literal (a number on the command line): a graph
    /// parameter of this dtype that takes the other operand's dtype, as a literal does.
    WeakScalar(DType),
    /// A tuple parameter; its leaves become graph parameters depth-first.
    Tuple(Vec<ArgValue>),
}

impl ArgValue {
    /// The types of the graph parameters this argument becomes, depth-first.
    fn leaf_types(&self) -> Vec<Type> {
        match self {
            ArgValue::Tensor(ty) => vec![ty.clone()],
            ArgValue::WeakScalar(dtype) => vec![Type::scalar(*dtype)],
            ArgValue::Tuple(items) => items.iter().flat_map(ArgValue::leaf_types).collect(),
        }
    }
}

/// The structure of a function's result: tensors are the graph's outputs in order.
#[derive(Clone, Debug, PartialEq)]
pub enum OutTree {
    Tensor,
    Tuple(Vec<OutTree>),
}

/// One parameter of a function, as declared.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamInfo {
    pub name: String,
    /// The annotation as written, if any (`f32[B, 784]`).
    pub annotation: Option<String>,
    /// The annotation's structure when it is a tensor type.
    pub tensor: Option<TensorAnnotation>,
    pub has_default: bool,
}

/// A tensor annotation, read structurally (for callers that pick input layouts or
/// scalar dtypes from a function's declaration).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TensorAnnotation {
    /// `None` when the name is not a dtype (the checker reports that).
    pub dtype: Option<DType>,
    /// How many dims are written in brackets; `None` without brackets (`f32`).
    pub rank: Option<usize>,
    /// Whether one of those dims is a rest dim `..B` (the rank is then open).
    pub rest: bool,
}

impl TensorAnnotation {
    fn of(ty: &ast::Type) -> Option<TensorAnnotation> {
        match ty {
            ast::Type::Tensor { dtype, dims, .. } => Some(TensorAnnotation {
                dtype: DType::from_name(&dtype.name),
                rank: dims.as_ref().map(Vec::len),
                rest: dims.iter().flatten().any(|d| matches!(d, ast::Dim::Rest(_))),
            }),
            ast::Type::Tuple { .. } => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct FnInfo {
    pub name: String,
    /// Where the name is written in the root file, for diagnostics about the function.
    pub span: Span,
    pub params: Vec<ParamInfo>,
    pub doc: Vec<String>,
}

/// An entry point elaborated for concrete argument types.
#[derive(Clone, Debug)]
pub struct Specialization {
    pub graph: Graph,
    pub outputs: OutTree,
}

/// Why `specialize` failed.
#[derive(Clone, Debug)]
pub enum SpecializeError {
    /// An argument does not fit the parameter's annotation (a runtime input error:
    /// wrong shape or dtype), or a required argument is missing.
    Argument { param: String, message: String },
    /// Compile errors found while elaborating.
    Diagnostics(Vec<Diagnostic>),
}

/// A checked program: the root file, every module it uses, and their items.
pub struct Program {
    sources: SourceMap,
    modules: Vec<Module>,
    limits: Limits,
}

/// What elaboration may ask for before it stops with an error (SPEC §4, resource
/// limits): one tensor's bytes (E0307) and the graph's nodes (E0316). The checker does
/// no I/O, so the caller says how much memory there is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The most bytes one tensor may take; `None` checks only that a tensor has at most
    /// 2^40 elements.
    pub memory: Option<MemoryLimit>,
    /// The most nodes elaboration may create; every inlined call counts as one more, so
    /// that calls which add no nodes cannot go on forever either.
    pub max_nodes: usize,
}

impl Limits {
    /// The node limit of SPEC §4.
    pub const DEFAULT_MAX_NODES: usize = 2_000_000;
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { memory: None, max_nodes: Limits::DEFAULT_MAX_NODES }
    }
}

/// The size in bytes no single tensor may exceed, and where it comes from (for the
/// message of E0307).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryLimit {
    pub bytes: u64,
    pub source: MemorySource,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemorySource {
    /// The session's memory budget (`--mem-budget`).
    Budget,
    /// The machine's physical memory.
    PhysicalMemory,
}

/// Parse `root` (already in `sources`) and every module it uses (added to `sources`),
/// resolve names and check every function whose parameters are all annotated (for the
/// errors that hold whatever sizes its shape variables take). All diagnostics are
/// returned, not just the first. Elaboration runs under the default [`Limits`].
pub fn compile(sources: &mut SourceMap, root: FileId, loader: &dyn ModuleLoader) -> Result<Program, Vec<Diagnostic>> {
    compile_with(sources, root, loader, Limits::default())
}

/// [`compile`] under `limits`, which the returned program's specialisations keep.
pub fn compile_with(sources: &mut SourceMap, root: FileId, loader: &dyn ModuleLoader, limits: Limits) -> Result<Program, Vec<Diagnostic>> {
    on_checker_stack(|| compile_here(sources, root, loader, limits))
}

/// How deep the checker's stack may grow. Elaboration recurses on the nesting of
/// expressions (at most `tc_syntax::MAX_NESTING` in a function) within the nesting of
/// calls (at most 64 levels): both are bounded, but their product is beyond a main
/// thread's 8 MiB (64 functions each nesting their call 120 deep overflowed it). The
/// checker runs on a thread whose stack covers that bound; it is address space, and
/// only as much of it is touched as a program nests.
const CHECKER_STACK_BYTES: usize = 1 << 30;

/// Runs `work` on a thread with [`CHECKER_STACK_BYTES`] of stack, passing on its panics.
fn on_checker_stack<T: Send>(work: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| {
        let thread = std::thread::Builder::new().name("tc-check".into()).stack_size(CHECKER_STACK_BYTES);
        let handle = thread.spawn_scoped(scope, work).expect("the system starts a checker thread");
        handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

fn compile_here(sources: &mut SourceMap, root: FileId, loader: &dyn ModuleLoader, limits: Limits) -> Result<Program, Vec<Diagnostic>> {
    let mut diags = Vec::new();
    let modules = modules::load_all(sources, root, loader, &mut diags);
    if diags.is_empty() {
        for (index, module) in modules.iter().enumerate() {
            if module.is_stdlib {
                continue;
            }
            diags.extend(resolve::check_dtypes(&modules, index));
            for item in &module.ast.items {
                match item {
                    ast::Item::Fn(f) if f.params.iter().all(|p| p.ty.is_some() || p.default.is_some()) => {
                        diags.extend(check_symbolically(&modules, index, f, limits));
                    }
                    ast::Item::Fn(f) => diags.extend(resolve::check_names(&modules, index, f)),
                    ast::Item::Const(c) => {
                        let mut e = Elab::new(&modules, &c.name.name, limits);
                        e.check_const(index, c);
                        diags.extend(e.diags);
                    }
                    _ => {}
                }
            }
        }
    }
    let diags = dedup(diags);
    if diags.is_empty() {
        Ok(Program { sources: sources.clone(), modules, limits })
    } else {
        Err(diags)
    }
}

/// Check a fully annotated function without a call: elaborate it twice, each shape
/// variable standing for a distinct size, with two different sets of sizes (and rest
/// variables of one dimension, then two), and keep the diagnostics both give alike. Those
/// hold whatever the sizes are (a dtype or name error, `f32[2, 3] + f32[4]`); an error
/// that depends on the sizes (a reshape that needs an even `N`, two variables that must be
/// equal, an index below `N`) differs between the two or names a stand-in size, and is
/// left to specialisation, which checks each call with its concrete sizes (SPEC §4).
/// A secondary label that differs between the two (one that names a stand-in size) is
/// left out of an error that is otherwise alike.
fn check_symbolically(modules: &[Module], module: usize, f: &ast::FnItem, limits: Limits) -> Vec<Diagnostic> {
    let first = elaborate_with_stand_ins(modules, module, f, StandIns::new(1009, 1), limits);
    let second = elaborate_with_stand_ins(modules, module, f, StandIns::new(5003, 2), limits);
    first
        .into_iter()
        .filter_map(|mut d| {
            let twin = second.iter().find(|s| s.code == d.code && s.primary == d.primary && s.message == d.message && s.hint == d.hint)?;
            d.secondary.retain(|label| twin.secondary.contains(label));
            Some(d)
        })
        .collect()
}

/// Elaborate `f` with its parameters' shape variables given sizes by `stand_ins`.
fn elaborate_with_stand_ins(modules: &[Module], module: usize, f: &ast::FnItem, mut stand_ins: StandIns, limits: Limits) -> Vec<Diagnostic> {
    let mut e = Elab::new(modules, &f.name.name, limits);
    let mut env = Env::new(module);
    let mut next_param = 0;
    for p in &f.params {
        let value = match (&p.ty, &p.default) {
            (Some(ann), _) => {
                let v = stand_ins.value(&mut e, ann, &mut next_param);
                // Inputs exist before the program runs: not tensors it makes.
                e.accept_existing_nodes();
                let v = e.check_annotation(&mut env, ann, v, p.span);
                e.declared(v, &env, p, module)
            }
            (None, Some(d)) => {
                let mut denv = Env::new(module);
                e.expr(&mut denv, d)
            }
            (None, None) => Value::Error,
        };
        env.vars.push((p.name.name.clone(), value));
    }
    let result = e.fn_body(&mut env, f);
    let mut leaves = Vec::new();
    result.leaves(&mut leaves);
    e.report_unfit_literals(&leaves.iter().map(|t| t.node).collect::<Vec<_>>());
    e.diags
}

/// Stand-in sizes for shape variables in symbolic checking: distinct primes from `first`
/// on (unlikely to coincide with sizes written in the program), `rest_rank` of them for
/// each rest variable.
struct StandIns {
    by_name: std::collections::HashMap<String, Vec<usize>>,
    next: usize,
    rest_rank: usize,
}

impl StandIns {
    fn new(first: usize, rest_rank: usize) -> StandIns {
        StandIns { by_name: std::collections::HashMap::new(), next: first, rest_rank }
    }

    fn prime(&mut self) -> usize {
        let mut candidate = self.next;
        while (2..candidate).take_while(|d| d * d <= candidate).any(|d| candidate.is_multiple_of(d)) {
            candidate += 1;
        }
        self.next = candidate + 1;
        candidate
    }

    fn sizes(&mut self, name: &str, rank: usize) -> Vec<usize> {
        if let Some(s) = self.by_name.get(name) {
            return s.clone();
        }
        let sizes: Vec<usize> = (0..rank).map(|_| self.prime()).collect();
        self.by_name.insert(name.to_string(), sizes.clone());
        sizes
    }

    fn value(&mut self, e: &mut Elab, ann: &ast::Type, next_param: &mut usize) -> Value {
        match ann {
            ast::Type::Tuple { elems, .. } => Value::Tuple(elems.iter().map(|t| self.value(e, t, next_param)).collect()),
            ast::Type::Tensor { dtype, dims, .. } => {
                let Some(dt) = tc_tensor::DType::from_name(&dtype.name) else { return Value::Error };
                let mut shape = Vec::new();
                for d in dims.iter().flatten() {
                    match d {
                        ast::Dim::Int(n, _) => shape.push(usize::try_from(*n).unwrap_or(usize::MAX)),
                        ast::Dim::Var(id) => shape.extend(self.sizes(&id.name, 1)),
                        ast::Dim::Rest(id) => shape.extend(self.sizes(&id.name, self.rest_rank)),
                    }
                }
                if !shapes::size_ok(&shape) {
                    // Too many stand-in dimensions to multiply out: the errors that
                    // involve this parameter are left to specialisation.
                    return Value::Error;
                }
                let node = e.graph.param(*next_param, Type::new(dt, shape));
                *next_param += 1;
                e.tensor(node)
            }
        }
    }
}

fn dedup(diags: Vec<Diagnostic>) -> Vec<Diagnostic> {
    let mut seen = std::collections::HashSet::new();
    diags.into_iter().filter(|d| seen.insert((d.code, d.primary.loc, d.message.clone()))).collect()
}

impl Program {
    pub fn sources(&self) -> &SourceMap {
        &self.sources
    }

    /// The functions of the root file, in source order.
    pub fn functions(&self) -> Vec<FnInfo> {
        self.modules[0]
            .ast
            .items
            .iter()
            .filter_map(|it| match it {
                ast::Item::Fn(f) => Some(FnInfo {
                    name: f.name.name.clone(),
                    span: f.name.span,
                    params: f
                        .params
                        .iter()
                        .map(|p| ParamInfo {
                            name: p.name.name.clone(),
                            annotation: p.ty.as_ref().map(shapes::type_text),
                            tensor: p.ty.as_ref().and_then(TensorAnnotation::of),
                            has_default: p.default.is_some(),
                        })
                        .collect(),
                    doc: f.doc.clone(),
                }),
                _ => None,
            })
            .collect()
    }

    /// Elaborate `entry` for the given arguments (one per parameter, in order; `None`
    /// takes the parameter's default). Errors: the entry does not exist (E0102), a
    /// missing argument without default, and every type error of the elaboration.
    pub fn specialize(&self, entry: &str, args: &[Option<ArgValue>]) -> Result<Specialization, SpecializeError> {
        on_checker_stack(|| self.specialize_here(entry, args))
    }

    fn specialize_here(&self, entry: &str, args: &[Option<ArgValue>]) -> Result<Specialization, SpecializeError> {
        let root = &self.modules[0];
        let Some(f) = root.fn_item(entry) else {
            let names: Vec<String> = self.functions().into_iter().map(|f| format!("`{}`", f.name)).collect();
            let hint = if names.is_empty() { "the file defines no functions".to_string() } else { format!("functions in this file: {}", names.join(", ")) };
            let d = Diagnostic::new("E0102", Loc { file: root.file, span: Span::new(0, 0) }, format!("no function named `{entry}` in {}", self.sources.name(root.file)))
                .with_label("entry point not found")
                .with_hint(hint);
            return Err(SpecializeError::Diagnostics(vec![d]));
        };
        let mut e = Elab::new(&self.modules, entry, self.limits);
        let mut env = Env::new(0);
        let mut next_param = 0;
        for (i, p) in f.params.iter().enumerate() {
            let value = match args.get(i).cloned().flatten() {
                Some(a) => {
                    if let Some(ty) = a.leaf_types().into_iter().find(|ty| !shapes::size_ok(&ty.shape)) {
                        let message = format!("{ty} has more than 2^40 elements");
                        return Err(SpecializeError::Argument { param: p.name.name.clone(), message });
                    }
                    let v = param_value(&mut e, &a, &mut next_param);
                    // Inputs exist before the program runs: not tensors it makes.
                    e.accept_existing_nodes();
                    v
                }
                None => match &p.default {
                    Some(d) => {
                        let mut denv = Env::new(0);
                        e.expr(&mut denv, d)
                    }
                    None => return Err(SpecializeError::Argument { param: p.name.name.clone(), message: "missing argument".to_string() }),
                },
            };
            let value = match &p.ty {
                Some(ann) => match e.match_type(&mut env, ann, value) {
                    Ok(v) => e.declared(v, &env, p, 0),
                    Err(found) => {
                        let message = format!("expected {}, got {found}", shapes::type_text(ann));
                        return Err(SpecializeError::Argument { param: p.name.name.clone(), message });
                    }
                },
                None => value,
            };
            env.vars.push((p.name.name.clone(), value));
        }
        let result = e.fn_body(&mut env, f);
        let outputs = flatten_result(&mut e, &result, f.body.result.span);
        e.report_unfit_literals(&outputs.1);
        if !e.diags.is_empty() {
            return Err(SpecializeError::Diagnostics(dedup(e.diags)));
        }
        let mut graph = e.graph;
        graph.outputs = outputs.1;
        Ok(Specialization { graph, outputs: outputs.0 })
    }
}

fn param_value(e: &mut Elab, a: &ArgValue, next_param: &mut usize) -> Value {
    match a {
        ArgValue::Tensor(ty) => {
            let node = e.graph.param(*next_param, ty.clone());
            *next_param += 1;
            e.tensor(node)
        }
        ArgValue::WeakScalar(dtype) => {
            let node = e.graph.param(*next_param, Type::scalar(*dtype));
            *next_param += 1;
            Value::Tensor(TVal { weak: true, ..e.tval(node) })
        }
        ArgValue::Tuple(items) => Value::Tuple(items.iter().map(|a| param_value(e, a, next_param)).collect()),
    }
}

/// The result's tensors depth-first, and its structure.
fn flatten_result(e: &mut Elab, v: &Value, span: Span) -> (OutTree, Vec<tc_ir::NodeId>) {
    match v {
        Value::Tensor(t) => (OutTree::Tensor, vec![t.node]),
        Value::Tuple(vs) => {
            let mut nodes = Vec::new();
            let mut trees = Vec::new();
            for v in vs {
                let (t, n) = flatten_result(e, v, span);
                trees.push(t);
                nodes.extend(n);
            }
            (OutTree::Tuple(trees), nodes)
        }
        Value::DType(d) => {
            let loc = Loc { file: e.modules[0].file, span };
            e.error(Diagnostic::new("E0310", loc, format!("a function cannot return the dtype `{d}`")));
            (OutTree::Tuple(vec![]), vec![])
        }
        Value::Error => (OutTree::Tuple(vec![]), vec![]),
    }
}
