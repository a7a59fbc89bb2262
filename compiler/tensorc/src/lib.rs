//! The tensorc embedding API (SPEC §9): compile `.tc` programs and call their functions
//! on host tensors.
//!
//! ```no_run
//! # fn main() -> Result<(), tensorc::Error> {
//! let session = tensorc::Session::new(tensorc::Backend::Interp)?;
//! let module = session.compile_file("mlp.tc")?; // diagnostics on error
//! let x = tensorc::Tensor::from_f32(vec![2, 2], vec![1.0, 2.0, 3.0, 4.0]).expect("4 elements");
//! let out: Vec<tensorc::Tensor> = module.call("main", &[x])?;
//! # let _ = out;
//! # Ok(())
//! # }
//! ```
//!
//! A [`Module`] caches one compiled specialisation per (function, argument types):
//! calling again with the same types does not compile again ([`Module::compile_count`]).
//! The crate also renders diagnostics ([`render`]), prints the text of each compiler stage
//! ([`emit`]) and checks sizes against the machine's memory ([`memory`]). It has no
//! command-line parsing, line editing or progress bars: the `tensorc` binary is crate
//! `tensorc-cli`, and training and federated simulation are crate `tc-train`.

pub mod emit;
mod error;
mod interp;
mod files;
mod loader;
pub mod memory;
pub mod render;
mod value;

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use error::{Diagnostics, Error};
pub use files::{load_npy, load_safetensors, read_source, save_npy, save_npy_results, save_safetensors};
pub use loader::{FsLoader, STDLIB};
pub use tc_check::{ArgValue, FnInfo, OutTree, ParamInfo, Specialization, TensorAnnotation};
pub use tc_ir::{Graph, Type};
pub use tc_kernel::target::Returned;
pub use tc_tensor::{Arg, DType, Data, DataRef, Tensor, TensorMut, TensorRef};
pub use value::{arg_type_string, out_type_string, parse_type, Value};

use tc_check::{Program, SpecializeError};
use tc_kernel::target::{CodegenOptions, Executable, Target};
use tc_kernel::KernelProgram;
use tc_syntax::diag::{FileId, SourceMap};

/// Where compiled programs run (SPEC §7 `--backend`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Backend {
    /// The reference interpreter of the graph IR.
    Interp,
    /// Cranelift JIT on a thread pool.
    Cpu,
    /// WGSL compute shaders through wgpu.
    Wgpu,
    /// MLIR through melior (cargo feature `mlir`).
    Mlir,
}

impl Backend {
    /// Every backend of the specification, built or not.
    pub const ALL: [Backend; 4] = [Backend::Cpu, Backend::Interp, Backend::Wgpu, Backend::Mlir];

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Interp => "interp",
            Backend::Cpu => "cpu",
            Backend::Wgpu => "wgpu",
            Backend::Mlir => "mlir",
        }
    }

    /// The backend called `name`; a usage error lists the backends this build has otherwise.
    pub fn parse(name: &str) -> Result<Backend, Error> {
        Backend::ALL.into_iter().find(|b| b.name() == name).ok_or_else(|| {
            Error::Usage(format!("unknown backend `{name}`; expected one of: {}", names(&Backend::available())))
        })
    }

    /// The backends this build can run.
    pub fn available() -> Vec<Backend> {
        Backend::ALL.into_iter().filter(|b| b.is_available()).collect()
    }

    pub fn is_available(self) -> bool {
        self.target().is_some()
    }

    /// The implementation behind this backend, `None` when this build lacks it: the one
    /// place a backend is registered.
    fn target(self) -> Option<&'static dyn Target> {
        match self {
            Backend::Interp => Some(&interp::Interp),
            Backend::Cpu => Some(&tc_cpu::target::Cpu),
            Backend::Wgpu => Some(&tc_wgpu::target::Wgpu),
            #[cfg(feature = "mlir")]
            Backend::Mlir => Some(&tc_mlir::target::Mlir),
            #[cfg(not(feature = "mlir"))]
            Backend::Mlir => None,
        }
    }
}

/// The interpreter until the Cranelift JIT lands; then `Cpu`, as SPEC §7 says.
impl Default for Backend {
    /// The Cranelift JIT, as SPEC §7 says.
    fn default() -> Backend {
        Backend::Cpu
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

fn names(backends: &[Backend]) -> String {
    backends.iter().map(|b| b.name()).collect::<Vec<_>>().join(", ")
}

/// How f32 matmuls and convolutions compute (`--precision`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Precision {
    /// Exactly as written.
    #[default]
    F32,
    /// Operands rounded to bf16, products accumulated in f32 or wider: what a bf16
    /// matrix unit computes ([`tc_opt::precision::bf16_contractions`]).
    Bf16,
}

impl Precision {
    /// `f32` or `bf16`; anything else is a usage error naming the choices.
    pub fn parse(s: &str) -> Result<Precision, String> {
        match s {
            "f32" => Ok(Precision::F32),
            "bf16" => Ok(Precision::Bf16),
            other => Err(format!("unknown precision `{other}`; choose f32 or bf16")),
        }
    }
}

/// Compiles programs for one backend.
#[derive(Clone, Debug)]
pub struct Session {
    backend: Backend,
    mem_budget: Option<u64>,
    precision: Precision,
    amx: bool,
    module_dirs: Vec<PathBuf>,
    /// The most graph nodes one specialisation may elaborate to (E0316).
    max_nodes: usize,
}

impl Session {
    /// A session on `backend`; a usage error if this build lacks it.
    pub fn new(backend: Backend) -> Result<Session, Error> {
        let Some(target) = backend.target() else {
            return Err(Error::Usage(format!(
                "backend `{backend}` is not available in this build; available: {}",
                names(&Backend::available())
            )));
        };
        // A backend that needs a device finds it now.
        target.limits().map_err(|e| Error::Runtime(format!("--backend {backend}: {e}")))?;
        Ok(Session { backend, mem_budget: None, precision: Precision::F32, amx: false, module_dirs: Vec::new(), max_nodes: tc_check::Limits::DEFAULT_MAX_NODES })
    }

    /// Round the operands of f32 matmuls and convolutions to bf16 (`--precision bf16`):
    /// a usage error on wgpu, whose shaders have no bf16.
    pub fn with_precision(mut self, precision: Precision) -> Result<Session, Error> {
        if precision == Precision::Bf16 && self.backend == Backend::Wgpu {
            return Err(Error::Usage("--precision bf16 is not available on --backend wgpu (WGSL has no bf16)".into()));
        }
        self.precision = precision;
        Ok(self)
    }

    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// Run bf16 matmuls (the program's own, and f32 ones under `--precision bf16`) on
    /// the CPU's AMX tiles (`--amx`): the mlir backend only, and a runtime error
    /// naming what is missing when this CPU or kernel has no AMX.
    pub fn with_amx(mut self, amx: bool) -> Result<Session, Error> {
        if amx {
            if self.backend != Backend::Mlir {
                return Err(Error::Usage(format!("--amx needs --backend mlir (this is --backend {})", self.backend)));
            }
            tc_mlir::tiles::amx_available().map_err(|e| Error::Runtime(format!("--amx: {e}")))?;
        }
        self.amx = amx;
        Ok(self)
    }

    pub fn amx(&self) -> bool {
        self.amx
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Cap the peak memory of compiled programs (`--mem-budget`). Backends that plan
    /// memory honour it; the interpreter does not plan memory and ignores it.
    pub fn with_mem_budget(mut self, bytes: Option<u64>) -> Session {
        self.mem_budget = bytes;
        self
    }

    pub fn mem_budget(&self) -> Option<u64> {
        self.mem_budget
    }

    /// Cap the nodes a specialisation may elaborate to (default 2,000,000): beyond it,
    /// exponential inlining is the compile error E0316.
    pub fn with_max_nodes(mut self, max_nodes: usize) -> Session {
        self.max_nodes = max_nodes;
        self
    }

    /// Search `dir` for `use`d modules after the importing file's own directory and
    /// before the standard library.
    pub fn add_module_dir(&mut self, dir: impl Into<PathBuf>) {
        self.module_dirs.push(dir.into());
    }

    /// The directories added with [`Session::add_module_dir`].
    pub fn module_dirs(&self) -> &[PathBuf] {
        &self.module_dirs
    }

    /// Read, parse and check the program in `path` and every module it uses.
    pub fn compile_file(&self, path: impl AsRef<Path>) -> Result<Module, Error> {
        let path = path.as_ref();
        let text = files::read_source(path)?;
        self.compile_source(path.display().to_string(), text)
    }

    /// Parse and check `text`, shown in diagnostics as the file `name`.
    pub fn compile_source(&self, name: impl Into<String>, text: impl Into<String>) -> Result<Module, Error> {
        let mut sources = SourceMap::new();
        let root = sources.add(name, text);
        let loader = FsLoader::new(self.module_dirs.clone());
        // A tensor beyond the budget, else beyond physical memory, is E0307.
        let limits = tc_check::Limits { memory: memory::tensor_limit(self.mem_budget), max_nodes: self.max_nodes };
        match tc_check::compile_with(&mut sources, root, &loader, limits) {
            Ok(program) => Ok(Module {
                functions: program.functions(),
                program,
                root,
                backend: self.backend,
                mem_budget: self.mem_budget,
                precision: self.precision,
                amx: self.amx,
                cache: Mutex::new(HashMap::new()),
                compiles: AtomicUsize::new(0),
            }),
            Err(diagnostics) => Err(Error::Compile(Diagnostics { sources, root, diagnostics })),
        }
    }
}

/// An entry point compiled for one list of argument types: the optimised graph and
/// the backend's program for it.
pub struct Compiled {
    /// The graph after `tc_opt::simplify` (and rematerialisation under a budget).
    pub graph: Graph,
    /// How the graph's flat outputs form the function's result.
    pub outputs: OutTree,
    /// Time spent specialising, optimising and generating code.
    pub compile_time: Duration,
    /// The program the session's backend compiled.
    pub program: Box<dyn Executable>,
}

impl Compiled {
    /// Refuses to run (a runtime error, exit 3) a program whose buffers would not fit
    /// in the memory the machine has available, instead of letting the allocation
    /// abort the process. Single tensors beyond memory are compile errors (E0307);
    /// this catches programs whose live tensors together outgrow the machine. Device
    /// backends report their own failures.
    fn check_host_memory(&self) -> Result<(), Error> {
        match self.program.host_bytes() {
            Some(bytes) => memory::check_memory("running this program", bytes),
            None => Ok(()),
        }
    }

    /// The wgpu program, for running on device tensors.
    pub fn wgpu(&self) -> Option<&tc_wgpu::WgpuProgram> {
        self.program.as_any().downcast_ref()
    }
}

/// An entry point after the middle of the pipeline, before code generation: what
/// [`Module::compile`] generates code from and `tensorc emit` prints.
pub struct Lowered {
    /// The optimised graph, rematerialised to fit a memory budget.
    pub graph: Graph,
    /// Its kernel program, for backends that compile kernel programs.
    pub kernels: Option<KernelProgram>,
    /// How the graph's flat outputs form the function's result.
    pub outputs: OutTree,
}

/// A tensor where the backend computes: on the host, or in GPU memory on the wgpu
/// backend, where results stay until read back (a training loop's parameters).
#[derive(Clone, Debug)]
pub enum Held {
    Host(Tensor),
    Device(tc_wgpu::DeviceTensor),
}

/// The hashable form of one argument's type, the cache key of a specialisation.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum ArgKey {
    Default,
    Tensor(Type),
    WeakScalar(DType),
    Tuple(Vec<ArgKey>),
}

impl ArgKey {
    fn of(arg: &Option<ArgValue>) -> ArgKey {
        match arg {
            None => ArgKey::Default,
            Some(value) => ArgKey::of_value(value),
        }
    }

    fn of_value(value: &ArgValue) -> ArgKey {
        match value {
            ArgValue::Tensor(ty) => ArgKey::Tensor(ty.clone()),
            ArgValue::WeakScalar(dtype) => ArgKey::WeakScalar(*dtype),
            ArgValue::Tuple(elems) => ArgKey::Tuple(elems.iter().map(ArgKey::of_value).collect()),
        }
    }
}

/// Lower `graph` for `target` and, under a budget, rematerialise it until the planned
/// peak of its kernel program (its arena and outputs, after fusion and in-place reuse,
/// with donated inputs handed over) fits; machine code is generated afterwards, once.
/// Remat plans in the interpreter's memory model, which fusion only improves on, so the
/// planning budget starts at the budget scaled by how much fusion saves and shrinks
/// until the kernel program fits. Fusion does not shrink every plan alike, so once the
/// planning budget drops below remat's smallest feasible peak, budgets across the whole
/// feasible range are tried, the largest (least recomputation) first. A backend without
/// kernel programs is planned on the graph-level model directly.
fn fit(graph: Graph, budget: Option<usize>, target: &dyn Target, backend: Backend) -> Result<(Graph, Option<KernelProgram>), Error> {
    const GRID: usize = 10;
    let limits = target.limits().map_err(|e| Error::Runtime(format!("--backend {backend}: {e}")))?;
    let Some(limits) = limits else {
        let graph = match budget {
            Some(b) => tc_remat::rematerialize(&graph, b, &tc_remat::Options::default()).map_err(|e| Error::Usage(format!("--mem-budget: {e}")))?,
            None => graph,
        };
        return Ok((graph, None));
    };
    let lower = |g: &Graph| tc_kernel::lower_with(g, &limits).map_err(|e| Error::Runtime(format!("kernel lowering failed: {e}")));
    let kernels = lower(&graph)?;
    let Some(budget) = budget else { return Ok((graph, Some(kernels))) };
    let peak = |k: &KernelProgram| target.planned_peak(k, true);
    if peak(&kernels) <= budget {
        return Ok((graph, Some(kernels)));
    }
    let model_peak = tc_remat::peak_bytes(&graph);
    let mut planning = (budget as f64 * model_peak as f64 / peak(&kernels).max(1) as f64) as usize;
    let mut smallest = peak(&kernels);
    let mut grid: Option<Vec<usize>> = None;
    for _ in 0..12 + GRID {
        match tc_remat::rematerialize(&graph, planning, &tc_remat::Options::default()) {
            Ok(planned) => {
                let kernels = lower(&planned)?;
                if peak(&kernels) <= budget {
                    return Ok((planned, Some(kernels)));
                }
                smallest = smallest.min(peak(&kernels));
            }
            Err(tc_remat::RematError::Infeasible { min_feasible_bytes: min, .. }) if grid.is_none() => {
                // Ascending, so that `pop` takes the largest first.
                grid = Some((0..GRID).map(|k| min + model_peak.saturating_sub(min) * k / GRID).collect());
            }
            Err(tc_remat::RematError::Infeasible { .. }) => {}
            Err(e) => return Err(Error::Usage(format!("--mem-budget: {e}"))),
        }
        planning = match &mut grid {
            Some(grid) => match grid.pop() {
                Some(next) => next,
                None => break,
            },
            None => planning * 9 / 10,
        };
    }
    Err(Error::Usage(format!(
        "--mem-budget: budget {budget} bytes is below the smallest peak the {backend} backend reached for this program, {smallest} bytes"
    )))
}

/// What a compiled program is cached under.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum CacheKey {
    /// A function of the program: (name, argument types, donated inputs).
    Entry(String, Vec<ArgKey>, Vec<usize>),
    /// A graph the caller built ([`Module::compile_graph`]): (its key, donated inputs).
    Graph(String, Vec<usize>),
}

/// Compiled programs by what they were compiled from.
type Cache = HashMap<CacheKey, Arc<Compiled>>;

/// A checked program, ready to call.
pub struct Module {
    program: Program,
    /// The root file's functions, read once from the program.
    functions: Vec<FnInfo>,
    /// The compiled file, first of the program's sources.
    root: FileId,
    backend: Backend,
    /// Peak-memory cap: graphs are rematerialised to fit it (`tc_remat`).
    mem_budget: Option<u64>,
    precision: Precision,
    /// bf16 matmuls on AMX (mlir backend).
    amx: bool,
    cache: Mutex<Cache>,
    compiles: AtomicUsize,
}

impl Module {
    /// The functions of the root file, in source order.
    pub fn functions(&self) -> Vec<FnInfo> {
        self.functions.clone()
    }

    /// The function `name` of the root file; a compile error (E0102, from the checker)
    /// if there is none.
    pub fn function(&self, name: &str) -> Result<FnInfo, Error> {
        self.function_ref(name).cloned()
    }

    /// Whether the root file defines a function `name`.
    pub fn has_function(&self, name: &str) -> bool {
        self.functions.iter().any(|f| f.name == name)
    }

    /// [`Module::function`], borrowed.
    fn function_ref(&self, name: &str) -> Result<&FnInfo, Error> {
        match self.functions.iter().find(|f| f.name == name) {
            Some(info) => Ok(info),
            None => Err(match self.specialize(name, &[]) {
                Err(error) => error,
                Ok(_) => Error::Usage(format!("no function `{name}`")),
            }),
        }
    }

    /// The compiled file's id in [`Module::sources`], for diagnostics that point into it.
    pub fn root(&self) -> FileId {
        self.root
    }

    /// The program's source files (the root first), for rendering diagnostics.
    pub fn sources(&self) -> &SourceMap {
        self.program.sources()
    }

    /// Order named arguments as `entry`'s parameters: `None` for a parameter with a
    /// default that was not given. An unknown or repeated name, or a missing argument
    /// without default, is a usage error naming it.
    pub fn bind<T>(&self, entry: &str, named: Vec<(String, T)>) -> Result<Vec<Option<T>>, Error> {
        let info = self.function(entry)?;
        let mut bound: Vec<Option<T>> = info.params.iter().map(|_| None).collect();
        for (name, value) in named {
            let Some(i) = info.params.iter().position(|p| p.name == name) else {
                let params: Vec<&str> = info.params.iter().map(|p| p.name.as_str()).collect();
                return Err(Error::Usage(format!(
                    "`{entry}` has no parameter `{name}`; its parameters are: {}",
                    if params.is_empty() { "(none)".to_string() } else { params.join(", ") }
                )));
            };
            if bound[i].replace(value).is_some() {
                return Err(Error::Usage(format!("argument `{name}` is given twice")));
            }
        }
        let missing: Vec<&str> = info
            .params
            .iter()
            .zip(&bound)
            .filter(|(p, b)| b.is_none() && !p.has_default)
            .map(|(p, _)| p.name.as_str())
            .collect();
        if !missing.is_empty() {
            let list = missing.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", ");
            let noun = if missing.len() == 1 { "argument" } else { "arguments" };
            return Err(Error::Usage(format!("missing {noun} {list} of `{entry}` (no default)")));
        }
        Ok(bound)
    }

    /// Elaborate `entry` for argument types (one per parameter; `None` takes the
    /// default), without optimising and without caching: the `ir` stage.
    pub fn specialize(&self, entry: &str, args: &[Option<ArgValue>]) -> Result<Specialization, Error> {
        self.program.specialize(entry, args).map_err(|e| match e {
            SpecializeError::Argument { param, message } => Error::Argument { param, message },
            SpecializeError::Diagnostics(diagnostics) => Error::Compile(Diagnostics {
                sources: self.program.sources().clone(),
                root: self.root,
                diagnostics,
            }),
        })
    }

    /// The optimised graph of `entry` for these argument types, compiled at most once
    /// per (function, argument types).
    pub fn compile(&self, entry: &str, args: &[Option<ArgValue>]) -> Result<Arc<Compiled>, Error> {
        self.compile_donating(entry, args, &[])
    }

    /// [`Module::compile`] for a caller that gives up the flat inputs `donate` (indices
    /// into the tensors of the arguments, depth-first): each may be overwritten by the
    /// first output of its type not yet paired (`tc_ir::donate`), which then takes no
    /// new memory. Under a budget the program fits it when run by
    /// [`Module::run_donated`] or [`Module::run_held`], which hand the inputs over.
    pub fn compile_donating(&self, entry: &str, args: &[Option<ArgValue>], donate: &[usize]) -> Result<Arc<Compiled>, Error> {
        let key = CacheKey::Entry(entry.to_string(), args.iter().map(ArgKey::of).collect(), donate.to_vec());
        self.compile_cached(key, || self.lower(entry, args, donate))
    }

    /// Compile a graph the caller built (from a [`Module::specialize`]d function,
    /// extended with `tc_ir`'s builder and `tc_grad`: a generated training step) through
    /// the same pipeline as [`Module::compile_donating`], donating the flat inputs
    /// `donate`. Cached by `key`, which must name the graph: a key compiled before gives
    /// the same program again, whatever `spec` is. A graph that fails `tc_ir`'s verifier
    /// is a runtime error, not a crash in a backend.
    pub fn compile_graph(&self, key: &str, spec: Specialization, donate: &[usize]) -> Result<Arc<Compiled>, Error> {
        let cache_key = CacheKey::Graph(key.to_string(), donate.to_vec());
        self.compile_cached(cache_key, || {
            tc_ir::verify::verify(&spec.graph).map_err(|e| Error::Runtime(format!("the graph `{key}` is malformed: {e}")))?;
            self.lower_spec(spec, donate)
        })
    }

    /// The compiled program under `key`, lowered by `lower` and generated on a miss.
    fn compile_cached(&self, key: CacheKey, lower: impl FnOnce() -> Result<Lowered, Error>) -> Result<Arc<Compiled>, Error> {
        let mut cache = self.cache.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(compiled) = cache.get(&key) {
            return Ok(Arc::clone(compiled));
        }
        let start = Instant::now();
        let lowered = lower()?;
        let options = CodegenOptions { amx: self.amx, f32_matmuls_on_tiles: self.precision == Precision::Bf16 };
        let program = self.target().compile(&lowered.graph, lowered.kernels, &options).map_err(Error::Runtime)?;
        let compiled = Arc::new(Compiled { graph: lowered.graph, outputs: lowered.outputs, compile_time: start.elapsed(), program });
        self.compiles.fetch_add(1, Ordering::Relaxed);
        cache.insert(key, Arc::clone(&compiled));
        Ok(compiled)
    }

    /// The pipeline up to code generation, as [`Module::compile_donating`] runs it:
    /// specialise `entry`, round contractions under `--precision bf16`, optimise, pair
    /// donated inputs with outputs, lower for the backend and fit the memory budget.
    pub fn lower(&self, entry: &str, args: &[Option<ArgValue>], donate: &[usize]) -> Result<Lowered, Error> {
        let spec = self.specialize(entry, args)?;
        self.lower_spec(spec, donate)
    }

    /// [`Module::lower`] after specialisation.
    fn lower_spec(&self, spec: Specialization, donate: &[usize]) -> Result<Lowered, Error> {
        // Rounded before simplification, so that folding constants rounds them too.
        let mut graph = match self.precision {
            Precision::F32 => optimize(&spec.graph),
            Precision::Bf16 => optimize(&tc_opt::precision::bf16_contractions(&spec.graph)),
        };
        let target = self.target();
        if target.donates() {
            graph.donations = tc_ir::donate::pair_by_type(&graph, donate);
        }
        let budget = self.mem_budget.map(|b| usize::try_from(b).unwrap_or(usize::MAX));
        let (graph, kernels) = fit(graph, budget, target, self.backend)?;
        Ok(Lowered { graph, kernels, outputs: spec.outputs })
    }

    fn target(&self) -> &'static dyn Target {
        self.backend.target().expect("a session has only backends this build has")
    }

    /// How many specialisations this module has compiled (cache misses).
    pub fn compile_count(&self) -> usize {
        self.compiles.load(Ordering::Relaxed)
    }

    /// Run a compiled graph on its flat inputs (the tensors of the arguments, depth-first).
    pub fn run(&self, compiled: &Compiled, inputs: &[Tensor]) -> Result<Vec<Tensor>, Error> {
        self.run_measured(compiled, inputs).map(|(outputs, _)| outputs)
    }

    /// [`Module::run`], also giving the peak bytes of the program's own buffers: the
    /// interpreter's measured peak, or the compiled program's arena and outputs, which
    /// is exactly what it allocates. The inputs are kept, so on the CPU the outputs of
    /// a donating compile get memory of their own; the interpreter, which never writes
    /// its inputs, counts them as donated either way.
    pub fn run_measured(&self, compiled: &Compiled, inputs: &[Tensor]) -> Result<(Vec<Tensor>, usize), Error> {
        compiled.check_host_memory()?;
        compiled.program.run_measured(inputs).map_err(Error::Runtime)
    }

    /// [`Module::run`] on borrowed inputs (a host application's buffers, one per flat
    /// input): the CPU backend reads them in place for the duration of the call, without
    /// copying them and without writing them; other backends copy them first.
    pub fn run_refs(&self, compiled: &Compiled, inputs: &[TensorRef<'_>]) -> Result<Vec<Tensor>, Error> {
        compiled.check_host_memory()?;
        compiled.program.run_refs(inputs).map_err(Error::Runtime)
    }

    /// [`Module::run_refs`] where some inputs are lent (a host's writable buffers,
    /// [`Arg::Lent`]): an output that [`Module::compile_donating`] paired with a lent
    /// input may be written into its storage, and is then returned as
    /// [`Returned::InLent`] (on the cpu backend; the others return new tensors).
    pub fn run_lent(&self, compiled: &Compiled, args: &mut [Arg<'_>]) -> Result<Vec<Returned>, Error> {
        compiled.check_host_memory()?;
        compiled.program.run_lent(args).map_err(Error::Runtime)
    }

    /// [`Module::run_measured`], handing the inputs over: outputs that
    /// [`Module::compile_donating`] paired with inputs are written into those inputs'
    /// storage, and the peak counts them as no new memory (the wgpu backend keeps its
    /// outputs apart).
    pub fn run_donated(&self, compiled: &Compiled, inputs: Vec<Tensor>) -> Result<(Vec<Tensor>, usize), Error> {
        compiled.check_host_memory()?;
        let outputs = compiled.program.run_donated(inputs).map_err(Error::Runtime)?;
        Ok((outputs, compiled.program.donated_peak_bytes()))
    }

    /// Make `tensor` an argument that stays where this module's backend computes: on
    /// the wgpu backend it is uploaded now (and the upload overlaps work already
    /// submitted); elsewhere it stays on the host.
    pub fn hold(&self, tensor: Tensor) -> Result<Held, Error> {
        match self.backend {
            Backend::Wgpu => {
                let gpu = tc_wgpu::gpu().map_err(|e| Error::Runtime(e.to_string()))?;
                tc_wgpu::DeviceTensor::upload(&gpu, &tensor).map(Held::Device).map_err(|e| Error::Runtime(e.to_string()))
            }
            _ => Ok(Held::Host(tensor)),
        }
    }

    /// Run a compiled graph on held inputs; on the wgpu backend the outputs stay on the
    /// device (read them with [`Module::read`]), so results that feed the next call
    /// never cross the bus. Host inputs are moved, not copied, on host backends, and
    /// handed over ([`Module::run_donated`]).
    pub fn run_held(&self, compiled: &Compiled, inputs: Vec<Held>) -> Result<Vec<Held>, Error> {
        if let Some(program) = compiled.wgpu() {
            let args: Vec<tc_wgpu::Arg> = inputs
                .iter()
                .map(|h| match h {
                    Held::Host(t) => tc_wgpu::Arg::Host(t),
                    Held::Device(d) => tc_wgpu::Arg::Device(d),
                })
                .collect();
            let outputs = program.run_device(&args).map_err(|e| Error::Runtime(e.to_string()))?;
            return Ok(outputs.into_iter().map(Held::Device).collect());
        }
        let host: Vec<Tensor> = inputs.into_iter().map(|h| self.into_host(h)).collect::<Result<_, _>>()?;
        Ok(self.run_donated(compiled, host)?.0.into_iter().map(Held::Host).collect())
    }

    /// The host tensor of a held one, read back from the device for `Held::Device`.
    pub fn into_host(&self, held: Held) -> Result<Tensor, Error> {
        match held {
            Held::Host(t) => Ok(t),
            Held::Device(d) => d.to_host().map_err(|e| Error::Runtime(e.to_string())),
        }
    }

    /// The host copy of a held tensor (a read-back from the device for `Held::Device`).
    pub fn read(&self, held: &Held) -> Result<Tensor, Error> {
        match held {
            Held::Host(t) => Ok(t.clone()),
            Held::Device(d) => d.to_host().map_err(|e| Error::Runtime(e.to_string())),
        }
    }

    /// Call `name` with one argument per parameter (`None` takes the default) and
    /// give the result with its tuple structure.
    pub fn call_bound(&self, name: &str, args: &[Option<Value>]) -> Result<Value, Error> {
        let types: Vec<Option<ArgValue>> = args.iter().map(|a| a.as_ref().map(Value::arg_type)).collect();
        let compiled = self.compile(name, &types)?;
        let inputs: Vec<Tensor> = args.iter().flatten().flat_map(|v| v.leaves()).cloned().collect();
        let outputs = self.run(&compiled, &inputs)?;
        Value::from_outputs(&compiled.outputs, outputs)
            .ok_or_else(|| Error::Runtime(format!("`{name}` gave a different number of results than its type says")))
    }

    /// Call `name` with values for its leading parameters (the rest take their
    /// defaults); the result tensors flattened depth-first.
    pub fn call_values(&self, name: &str, args: &[Value]) -> Result<Vec<Tensor>, Error> {
        let params = self.function(name)?.params.len();
        if args.len() > params {
            return Err(Error::Usage(format!("`{name}` takes {params} arguments, got {}", args.len())));
        }
        let mut bound: Vec<Option<Value>> = args.iter().cloned().map(Some).collect();
        bound.resize(params, None);
        Ok(self.call_bound(name, &bound)?.into_leaves())
    }

    /// Call `name` with tensors for its leading parameters; the result tensors
    /// flattened depth-first.
    pub fn call(&self, name: &str, args: &[Tensor]) -> Result<Vec<Tensor>, Error> {
        let views: Vec<TensorRef<'_>> = args.iter().map(Tensor::view).collect();
        self.call_refs(name, &views)
    }

    /// [`Module::call`] on borrowed tensors (a host application's buffers), read in
    /// place on the CPU backend ([`Module::run_refs`]): no argument is copied.
    pub fn call_refs(&self, name: &str, args: &[TensorRef<'_>]) -> Result<Vec<Tensor>, Error> {
        let params = self.function_ref(name)?.params.len();
        if args.len() > params {
            return Err(Error::Usage(format!("`{name}` takes {params} arguments, got {}", args.len())));
        }
        let mut types: Vec<Option<ArgValue>> =
            args.iter().map(|t| Some(ArgValue::Tensor(Type::new(t.dtype(), t.shape().to_vec())))).collect();
        types.resize(params, None);
        let compiled = self.compile(name, &types)?;
        self.run_refs(&compiled, args)
    }
}

/// The graph after the optimiser: what `emit --stage opt` prints and what runs.
pub fn optimize(graph: &Graph) -> Graph {
    tc_opt::simplify(graph)
}
