//! The module the JIT compiles, as text: the program's function made private with a
//! wrapper, `@tc_entry`, that takes every parameter and output as a memref (parameters
//! become tensors with `bufferization.to_tensor`, the function is called, and each
//! result is written into its output memref with
//! `bufferization.materialize_in_destination`), and the pass pipelines that lower it
//! to the LLVM dialect. Kept apart from [`crate::jit`] so that the tests can lower the
//! same text with MLIR's command-line tools in a build without the JIT.

use crate::module::{function, symbol};
use crate::text::{elem, tensor_ty};
use crate::tiles::TileOptions;
use crate::MlirError;
use tc_kernel::KernelProgram;

/// From tensors on the JIT's module to the LLVM dialect.
pub const PIPELINE: &str = "builtin.module(inline,symbol-dce,canonicalize,cse,\
one-shot-bufferize,buffer-deallocation-pipeline,convert-linalg-to-loops,lower-affine,\
convert-scf-to-cf,expand-strided-metadata,lower-affine,finalize-memref-to-llvm,\
convert-math-to-libm,convert-math-to-llvm,arith-emulate-unsupported-floats{source-types=bf16 target-type=f32},\
arith-expand{include-bf16=true},convert-arith-to-llvm,convert-index-to-llvm,\
convert-cf-to-llvm,convert-func-to-llvm,reconcile-unrealized-casts)";

/// [`PIPELINE`] for a module with tile kernels ([`crate::tiles`]): the function is
/// bufferised across its boundary (the `amx` dialect has no inliner interface, so the
/// call stays), `scf.parallel` becomes tasks of MLIR's async runtime (one per
/// iteration when that many workers are free: an iteration is a whole row block, so
/// no minimum task size), and the final conversion is the dialect-generic `convert-to-llvm`,
/// which also converts the AMX tile type where it crosses blocks (the loop-carried
/// accumulators).
pub const TILES_PIPELINE: &str = "builtin.module(inline,symbol-dce,canonicalize,cse,\
one-shot-bufferize{bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map},\
buffer-deallocation-pipeline,async-parallel-for{async-dispatch=true min-task-size=1},async-to-async-runtime,\
func.func(async-runtime-ref-counting,async-runtime-ref-counting-opt),convert-async-to-llvm,\
convert-linalg-to-loops,lower-affine,convert-scf-to-cf,expand-strided-metadata,lower-affine,finalize-memref-to-llvm,\
convert-math-to-libm,convert-math-to-llvm,arith-emulate-unsupported-floats{source-types=bf16 target-type=f32},\
arith-expand{include-bf16=true},convert-vector-to-llvm{enable-amx},convert-to-llvm,reconcile-unrealized-casts)";

/// The JIT module: the program's function (private) and the memref wrapper.
pub fn jit_module(program: &KernelProgram, tiles: Option<TileOptions>) -> Result<String, MlirError> {
    let func = function(program, true, tiles)?;
    let ty = |b: tc_kernel::BufferId| {
        let t = &program.buffer(b).ty;
        (tensor_ty(&t.shape, elem(t.dtype)), tensor_ty(&t.shape, elem(t.dtype)).replacen("tensor", "memref", 1))
    };
    let mut args = Vec::new();
    let mut body = String::new();
    let mut call_args = Vec::new();
    let mut call_tys = Vec::new();
    for (i, &p) in program.params.iter().enumerate() {
        let (t, m) = ty(p);
        args.push(format!("%in{i}: {m}"));
        body.push_str(&format!("  %t{i} = bufferization.to_tensor %in{i} restrict : {m} to {t}\n"));
        call_args.push(format!("%t{i}"));
        call_tys.push(t);
    }
    let results: Vec<(String, String)> = program.outputs.iter().map(|&o| ty(o)).collect();
    for (i, (_, m)) in results.iter().enumerate() {
        args.push(format!("%out{i}: {m}"));
    }
    let rtys: Vec<&str> = results.iter().map(|(t, _)| t.as_str()).collect();
    let n = results.len();
    let lhs = match n {
        0 => String::new(),
        1 => "%r = ".into(),
        n => format!("%r:{n} = "),
    };
    body.push_str(&format!("  {lhs}func.call {}({}) : ({}) -> ({})\n", symbol(&program.name), call_args.join(", "), call_tys.join(", "), rtys.join(", ")));
    for (i, (t, m)) in results.iter().enumerate() {
        let r = if n == 1 { "%r".to_string() } else { format!("%r#{i}") };
        body.push_str(&format!("  bufferization.materialize_in_destination {r} in restrict writable %out{i} : ({t}, {m}) -> ()\n"));
    }
    Ok(format!("module {{\n{func}func.func @tc_entry({}) {{\n{body}  return\n}}\n}}\n", args.join(", ")))
}

