//! The MLIR JIT (feature `jit`): parse, verify, lower and run a module through melior.
//!
//! The module of [`crate::emit_mlir`] (its function made private) gets the memref
//! wrapper of [`crate::entry`]. The
//! pipeline [`PIPELINE`] inlines the function, bufferises (one-shot; temporaries are
//! freed by the ownership-based deallocation pipeline), lowers linalg to loops and
//! everything to the LLVM dialect; `math` functions become libm calls (`exp`, `log`,
//! `tanh`, `erf`, ... in f64, the same functions the interpreter calls). MLIR's
//! execution engine compiles it with LLVM at `-O3`, whose loop vectoriser vectorises the
//! elementwise loops (reductions stay in order: no reassociation is allowed).
//!
//! A call passes each memref as its expanded descriptor (allocated and aligned pointer,
//! offset, sizes, strides) to the packed wrapper `_mlir_tc_entry`, looked up once at
//! compile time; running is a plain call, safe from several threads at once.

use crate::entry::{jit_module, PIPELINE, TILES_PIPELINE};
use crate::module::function;
use crate::tiles::{self, TileOptions, TileUnit};
use crate::{kernel_program, MlirError};
use melior::dialect::DialectRegistry;
use melior::ir::operation::OperationLike;
use melior::ir::Module;
use melior::pass::PassManager;
use melior::utility::{parse_pass_pipeline, register_all_dialects, register_all_llvm_translations, register_all_passes};
use melior::{Context, ExecutionEngine};
use std::ffi::CString;
use std::mem::ManuallyDrop;
use std::sync::{Arc, Mutex, Once, OnceLock};
use std::time::{Duration, Instant};
use tc_ir::{Graph, Type};
use tc_kernel::KernelProgram;
use tc_tensor::Tensor;

/// The packed entry point: one pointer per scalar of the expanded arguments.
type Packed = unsafe extern "C" fn(*mut *mut ());

/// A graph compiled by MLIR and LLVM into this process.
pub struct MlirProgram {
    entry: Packed,
    params: Vec<Type>,
    outputs: Vec<Type>,
    mlir: String,
    /// The kernel program's planned peak: its arena and outputs.
    peak_bytes: usize,
    compile_time: Duration,
    // The engine owns the machine code; both are dropped after `entry`'s last use,
    // engine first, unless `keep_code`.
    engine: ManuallyDrop<ExecutionEngine>,
    context: ManuallyDrop<Context>,
    /// The code runs tasks on MLIR's async runtime, whose worker threads may still be
    /// leaving a task's coroutine when the run that awaited it returns, and the runtime
    /// offers no way to wait for that: such code is never freed (a program's code is
    /// compiled once per specialisation, so this is bounded by the programs compiled).
    keep_code: bool,
}

impl Drop for MlirProgram {
    fn drop(&mut self) {
        if !self.keep_code {
            // SAFETY: dropped once, here, engine before the context it came from.
            unsafe {
                ManuallyDrop::drop(&mut self.engine);
                ManuallyDrop::drop(&mut self.context);
            }
        }
    }
}

// SAFETY: after construction the engine and context are never touched again (dropping
// aside); running calls the compiled function, which only reads its inputs and writes
// its own outputs and temporaries.
unsafe impl Send for MlirProgram {}
unsafe impl Sync for MlirProgram {}

fn context() -> Context {
    static PASSES: Once = Once::new();
    PASSES.call_once(register_all_passes);
    let registry = DialectRegistry::new();
    register_all_dialects(&registry);
    let context = Context::new();
    context.append_dialect_registry(&registry);
    context.load_all_available_dialects();
    register_all_llvm_translations(&context);
    context
}

/// MLIR's async runtime (the worker pool behind `scf.parallel` in tile kernels), from
/// the LLVM 22 the backend was built against.
fn async_runtime_path() -> String {
    format!("{}/lib/libmlir_async_runtime.so", option_env!("MLIR_SYS_220_PREFIX").unwrap_or("/usr/lib/llvm-22"))
}

/// The runtime's entry points that lowered async code calls (LLVM spells one
/// `mlirAsyncRuntimGetNumWorkerThreads`).
const ASYNC_SYMBOLS: [&str; 23] = [
    "mlirAsyncRuntimGetNumWorkerThreads",
    "mlirAsyncRuntimeAddRef",
    "mlirAsyncRuntimeAddTokenToGroup",
    "mlirAsyncRuntimeAwaitAllInGroup",
    "mlirAsyncRuntimeAwaitAllInGroupAndExecute",
    "mlirAsyncRuntimeAwaitToken",
    "mlirAsyncRuntimeAwaitTokenAndExecute",
    "mlirAsyncRuntimeAwaitValue",
    "mlirAsyncRuntimeAwaitValueAndExecute",
    "mlirAsyncRuntimeCreateGroup",
    "mlirAsyncRuntimeCreateToken",
    "mlirAsyncRuntimeCreateValue",
    "mlirAsyncRuntimeDropRef",
    "mlirAsyncRuntimeEmplaceToken",
    "mlirAsyncRuntimeEmplaceValue",
    "mlirAsyncRuntimeExecute",
    "mlirAsyncRuntimeGetValueStorage",
    "mlirAsyncRuntimeIsGroupError",
    "mlirAsyncRuntimeIsTokenError",
    "mlirAsyncRuntimeIsValueError",
    "mlirAsyncRuntimePrintCurrentThreadId",
    "mlirAsyncRuntimeSetTokenError",
    "mlirAsyncRuntimeSetValueError",
];

/// The async runtime's entry points, from one `dlopen` kept for the life of the
/// process. Engines get them by `register_symbol` rather than by loading the library
/// themselves: an engine that loaded it would, when dropped, call the library's
/// `__mlir_execution_engine_destroy`, which deletes the one process-wide runtime under
/// every other program.
fn async_runtime() -> Result<&'static [(&'static str, usize)], MlirError> {
    static SYMBOLS: OnceLock<Result<Vec<(&'static str, usize)>, String>> = OnceLock::new();
    let loaded = SYMBOLS.get_or_init(|| {
        let path = async_runtime_path();
        let c_path = CString::new(path.as_str()).map_err(|_| format!("bad path {path}"))?;
        // SAFETY: dlopen of a shared library by path; the handle is never closed.
        let handle = unsafe { libc::dlopen(c_path.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
        if handle.is_null() {
            return Err(format!("{path} could not be loaded (Debian: apt-get install libmlir-22-dev)"));
        }
        ASYNC_SYMBOLS
            .iter()
            .map(|&name| {
                let c_name = CString::new(name).expect("no NUL in a symbol");
                // SAFETY: looking a symbol up in a handle that stays open.
                let address = unsafe { libc::dlsym(handle, c_name.as_ptr()) };
                if address.is_null() {
                    Err(format!("{path} has no symbol {name}"))
                } else {
                    Ok((name, address as usize))
                }
            })
            .collect()
    });
    loaded.as_deref().map_err(|e| MlirError::Unavailable(e.clone()))
}

/// Parse, verify and lower `text` by `pipeline` in `context`, and JIT-compile it
/// (with the async runtime's symbols for [`TILES_PIPELINE`]).
fn engine(context: &Context, text: &str, pipeline: &str) -> Result<ExecutionEngine, MlirError> {
    let diagnostics = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = diagnostics.clone();
    context.attach_diagnostic_handler(move |d| {
        sink.lock().expect("diagnostics").push(format!("{} (at {})", d, d.location()));
        true
    });
    let failed = |what: &str| {
        let d = diagnostics.lock().expect("diagnostics").join("\n");
        MlirError::Mlir(format!("{what}: {d}"))
    };
    let mut module = Module::parse(context, text).ok_or_else(|| failed("the emitted module does not parse"))?;
    if !module.as_operation().verify() {
        return Err(failed("the emitted module does not verify"));
    }
    let pm = PassManager::new(context);
    parse_pass_pipeline(pm.as_operation_pass_manager(), pipeline).map_err(|e| MlirError::Mlir(format!("pass pipeline: {e}")))?;
    pm.run(&mut module).map_err(|_| failed("lowering failed"))?;
    let runtime = if pipeline == TILES_PIPELINE { async_runtime()? } else { &[] };
    let engine = ExecutionEngine::new(&module, 3, &[], false, false);
    for &(name, address) in runtime {
        // SAFETY: the runtime's own function, loaded for the life of the process.
        unsafe { engine.register_symbol(name, address as *mut ()) };
    }
    // SAFETY: `memref_copy` has the C signature MLIR's lowering of `memref.copy` calls.
    unsafe { engine.register_symbol("memrefCopy", memref_copy as *mut ()) };
    // LLVM turns some bf16 roundings back into these compiler-rt calls, which a Rust
    // process does not link; they return the bf16 bits in the low half of xmm0.
    unsafe { engine.register_symbol("__truncsfbf2", truncsfbf2 as *mut ()) };
    unsafe { engine.register_symbol("__truncdfbf2", truncdfbf2 as *mut ()) };
    Ok(engine)
}

/// Compile a verified graph.
pub fn compile(graph: &Graph) -> Result<MlirProgram, MlirError> {
    compile_with(graph, None)
}

/// Compile a verified graph with its matmuls on a tile unit ([`tiles`]). With
/// [`TileUnit::Amx`] the CPU must have AMX: [`MlirError::Unavailable`] otherwise.
pub fn compile_with(graph: &Graph, tiles: Option<TileOptions>) -> Result<MlirProgram, MlirError> {
    compile_kernels(kernel_program(graph)?, tiles)
}

/// Compile a lowered kernel program, with its matmuls on a tile unit as [`compile_with`].
pub fn compile_kernels(program: KernelProgram, tiles: Option<TileOptions>) -> Result<MlirProgram, MlirError> {
    let start = Instant::now();
    if tiles.is_some_and(|t| t.unit == TileUnit::Amx) {
        tiles::amx_available().map_err(|e| MlirError::Unavailable(format!("AMX: {e}")))?;
    }
    let text = jit_module(&program, tiles)?;
    let context = context();
    let pipeline = if tiles.is_some() { TILES_PIPELINE } else { PIPELINE };
    let engine = engine(&context, &text, pipeline)?;
    let entry = engine.lookup("_mlir_tc_entry");
    if entry.is_null() {
        return Err(MlirError::Mlir("the execution engine did not produce the entry point".into()));
    }
    // SAFETY: `_mlir_tc_entry` is the packed wrapper MLIR generates: void(void**).
    let entry: Packed = unsafe { std::mem::transmute::<*mut (), Packed>(entry) };
    let params = program.params.iter().map(|&b| program.buffer(b).ty.clone()).collect();
    let outputs = program.outputs.iter().map(|&b| program.buffer(b).ty.clone()).collect();
    let mlir = emit_public(&program, tiles)?;
    let (engine, context) = (ManuallyDrop::new(engine), ManuallyDrop::new(context));
    let peak_bytes = program.peak_bytes();
    Ok(MlirProgram { entry, params, outputs, mlir, peak_bytes, compile_time: start.elapsed(), engine, context, keep_code: tiles.is_some() })
}

fn emit_public(program: &KernelProgram, tiles: Option<TileOptions>) -> Result<String, MlirError> {
    Ok(format!("module {{\n{}}}\n", function(program, false, tiles)?))
}

extern "C" fn truncsfbf2(x: f32) -> f32 {
    f32::from_bits(half::bf16::from_f32(x).to_bits() as u32)
}

extern "C" fn truncdfbf2(x: f64) -> f32 {
    f32::from_bits(half::bf16::from_f64(x).to_bits() as u32)
}

/// An unranked memref as MLIR passes it to runtime functions.
#[repr(C)]
struct UnrankedMemRef {
    rank: i64,
    descriptor: *const i64,
}

/// `memrefCopy(elem_bytes, src, dst)`: the runtime function MLIR's LLVM lowering calls
/// for a `memref.copy` between strided memrefs (bufferised slices). Copies element by
/// element in row-major order of the common shape.
unsafe extern "C" fn memref_copy(elem_bytes: i64, src: *const UnrankedMemRef, dst: *const UnrankedMemRef) {
    // SAFETY: MLIR passes two valid descriptors of equal rank and shape.
    unsafe {
        let rank = (*src).rank as usize;
        let (s, d) = ((*src).descriptor, (*dst).descriptor);
        // Descriptor words: allocated, aligned, offset, sizes[rank], strides[rank].
        let field = |p: *const i64, i: usize| *p.add(i);
        let (s_base, d_base) = (field(s, 1) as *const u8, field(d, 1) as *mut u8);
        let (s_off, d_off) = (field(s, 2), field(d, 2));
        let sizes: Vec<i64> = (0..rank).map(|i| field(s, 3 + i)).collect();
        if sizes.contains(&0) {
            return;
        }
        let s_str: Vec<i64> = (0..rank).map(|i| field(s, 3 + rank + i)).collect();
        let d_str: Vec<i64> = (0..rank).map(|i| field(d, 3 + rank + i)).collect();
        let eb = elem_bytes as usize;
        let mut idx = vec![0i64; rank];
        loop {
            let so: i64 = s_off + idx.iter().zip(&s_str).map(|(i, st)| i * st).sum::<i64>();
            let dof: i64 = d_off + idx.iter().zip(&d_str).map(|(i, st)| i * st).sum::<i64>();
            std::ptr::copy_nonoverlapping(s_base.add(so as usize * eb), d_base.add(dof as usize * eb), eb);
            let mut a = rank;
            loop {
                if a == 0 {
                    return;
                }
                a -= 1;
                idx[a] += 1;
                if idx[a] < sizes[a] {
                    break;
                }
                idx[a] = 0;
            }
        }
    }
}

/// Append the expanded memref descriptor of a dense tensor at `ptr` with `shape`.
fn push_descriptor(words: &mut Vec<u64>, ptr: *mut u8, shape: &[usize]) {
    words.push(ptr as usize as u64);
    words.push(ptr as usize as u64);
    words.push(0);
    words.extend(shape.iter().map(|&d| d as u64));
    let mut strides = vec![1u64; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        strides[i] = strides[i + 1] * shape[i + 1] as u64;
    }
    words.extend(strides);
}

impl MlirProgram {
    /// Run on host inputs, one per parameter, each exactly of its type.
    pub fn run(&self, inputs: &[Tensor]) -> Result<Vec<Tensor>, MlirError> {
        if inputs.len() != self.params.len() {
            return Err(MlirError::InputCount { expected: self.params.len(), got: inputs.len() });
        }
        for (index, (t, ty)) in inputs.iter().zip(&self.params).enumerate() {
            if t.dtype() != ty.dtype || t.shape() != ty.shape.as_slice() {
                return Err(MlirError::InputType { index, expected: ty.to_string(), got: t.type_string() });
            }
        }
        let outputs: Vec<Tensor> = self.outputs.iter().map(|t| Tensor::zeros(t.dtype, t.shape.clone())).collect();
        let mut words: Vec<u64> = Vec::new();
        for t in inputs.iter().chain(&outputs) {
            push_descriptor(&mut words, t.data().base_ptr(), t.shape());
        }
        let mut slots: Vec<*mut ()> = words.iter_mut().map(|w| w as *mut u64 as *mut ()).collect();
        // SAFETY: the descriptors describe live, dense buffers of exactly the types the
        // function was compiled for (checked above); outputs are distinct allocations.
        unsafe { (self.entry)(slots.as_mut_ptr()) };
        Ok(outputs)
    }

    /// The MLIR module (as `emit_mlir` prints it).
    pub fn mlir(&self) -> &str {
        &self.mlir
    }

    /// Bytes of the program's own buffers at peak, as its kernel program plans them.
    pub fn peak_bytes(&self) -> usize {
        self.peak_bytes
    }

    /// Time to emit, verify, lower and JIT-compile.
    pub fn compile_time(&self) -> Duration {
        self.compile_time
    }
}

/// The AMX peak this machine measures: bf16 GFLOP/s of `threads` threads at once (their
/// sum), each running `iterations` rounds of four independent `tdpbf16ps` (16·16·32·2
/// flops each) on tiles held in registers — the ceiling a matmul on the tiles is
/// measured against. An error where the CPU has no AMX.
pub fn amx_peak_gflops(iterations: u64, threads: usize) -> Result<f64, MlirError> {
    tiles::amx_available().map_err(|e| MlirError::Unavailable(format!("AMX: {e}")))?;
    let context = context();
    let engine = engine(&context, tiles::PEAK_KERNEL, TILES_PIPELINE)?;
    let entry = engine.lookup("_mlir_tc_tile_peak");
    if entry.is_null() {
        return Err(MlirError::Mlir("the execution engine did not produce the peak kernel".into()));
    }
    // SAFETY: the packed wrapper MLIR generates for `@tc_tile_peak`: void(void**).
    let entry: Packed = unsafe { std::mem::transmute::<*mut (), Packed>(entry) };
    let run = || {
        let input = vec![0u16; 16 * 32];
        let mut output = vec![0f32; 16 * 16];
        let mut words: Vec<u64> = vec![iterations];
        push_descriptor(&mut words, input.as_ptr() as *mut u8, &[16, 32]);
        push_descriptor(&mut words, output.as_mut_ptr() as *mut u8, &[16, 16]);
        let mut slots: Vec<*mut ()> = words.iter_mut().map(|w| w as *mut u64 as *mut ()).collect();
        // SAFETY: an index and two dense memrefs of exactly the kernel's types.
        unsafe { entry(slots.as_mut_ptr()) };
        std::hint::black_box(output);
    };
    run();
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(run);
        }
    });
    let flops = 4.0 * (16 * 16 * 32 * 2) as f64 * iterations as f64 * threads as f64;
    Ok(flops / start.elapsed().as_secs_f64() / 1e9)
}
