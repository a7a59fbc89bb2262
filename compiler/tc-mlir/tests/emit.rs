//! The emitted text, without the JIT: snapshots of representative modules, and every
//! module of a set of programs checked by MLIR's own parser and verifier (`mlir-opt`,
//! from LLVM 22, when it is installed: `scripts/test.sh` installs it).

mod common;
use common::{graph_of, t};
use std::io::Write;
use std::process::{Command, Stdio};
use tc_ir::Type;
use tc_tensor::DType;

const F32: DType = DType::F32;

/// Programs covering every kind of kernel and library call.
fn programs() -> Vec<(&'static str, Vec<Type>)> {
    vec![
        ("fn main(x, y) { exp(x) * y + tanh(x) }", vec![t(F32, &[4, 6]), t(F32, &[6])]),
        ("use nn;\nfn main(x) { nn::softmax(x) }", vec![t(F32, &[5, 7])]),
        ("fn main(m) { (sum(m), max(m, axis=0), argmax(m, axis=1), prod(m, axis=1)) }", vec![t(F32, &[5, 7])]),
        ("fn main(a, b) { (a @ b, a.T @ a) }", vec![t(F32, &[3, 5]), t(F32, &[5, 4])]),
        ("fn main(a, b) { a @ b }", vec![t(DType::I32, &[2, 3, 5]), t(DType::I32, &[2, 5, 4])]),
        ("fn main(x, w) { let y = max_pool2d(conv2d(x, w, stride=1, padding=1), 2); (y, grad(sum(y), w), grad(sum(avg_pool2d(x, 2)), x)) }", vec![t(F32, &[2, 3, 8, 8]), t(F32, &[4, 3, 3, 3])]),
        ("fn main(m, i) { (take(m, i, axis=1), grad(sum(take(m, i, axis=0)), m)) }", vec![t(F32, &[5, 4]), t(DType::I32, &[3])]),
        ("fn main(a, b) { (pad(a, ((1, 0), (2, 1)), value=0.5), concat((a, b), 1), a[1:, :2]) }", vec![t(F32, &[3, 4]), t(F32, &[3, 2])]),
        ("fn main(x) { (random_uniform(7, (3, 4)), random_normal(11, (5,)) + x, x as i32, (x > 0.0) as u8, x % 1.5) }", vec![t(F32, &[5])]),
        ("fn main(x) { (x * 2.0, exp(x), x as bf16) }", vec![t(DType::F16, &[9])]),
    ]
}

fn mlir_opt() -> Option<String> {
    let path = "/usr/lib/llvm-22/bin/mlir-opt";
    std::path::Path::new(path).exists().then(|| path.to_string())
}

#[test]
fn every_emitted_module_parses_and_verifies_in_mlir() {
    let Some(opt) = mlir_opt() else {
        eprintln!("mlir-opt (LLVM 22) is not installed; skipping");
        return;
    };
    for (src, types) in programs() {
        let text = tc_mlir::emit_mlir(&graph_of(src, "main", &types)).unwrap_or_else(|e| panic!("{src}: {e}"));
        let mut child = Command::new(&opt).args(["-", "-o", "/dev/null"]).stdin(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{src}:\n{}\n{text}", String::from_utf8_lossy(&out.stderr));
    }
}

#[test]
fn every_program_has_a_stablehlo_form() {
    for (src, types) in programs() {
        let text = tc_mlir::emit_stablehlo(&graph_of(src, "main", &types)).unwrap_or_else(|e| panic!("{src}: {e}"));
        assert!(text.starts_with("module {\nfunc.func @main("), "{text}");
    }
}

#[test]
fn snapshots() {
    let g = graph_of("use nn;\nfn main(x, w) { nn::softmax(x @ w) }", "main", &[t(F32, &[2, 3]), t(F32, &[3, 4])]);
    insta::assert_snapshot!("softmax_matmul_mlir", tc_mlir::emit_mlir(&g).unwrap());
    insta::assert_snapshot!("softmax_matmul_stablehlo", tc_mlir::emit_stablehlo(&g).unwrap());
}

#[test]
fn unsupported_is_a_clear_error() {
    // The front end only makes float convolutions; the graph IR also allows integers.
    let mut g = tc_ir::Graph::new("main");
    let x = g.param(0, t(DType::I32, &[1, 1, 4, 4]));
    let w = g.param(1, t(DType::I32, &[1, 1, 3, 3]));
    let y = g.push(tc_ir::Op::Conv2d { stride: [1, 1], pad: [(0, 0), (0, 0)], dilation: [1, 1] }, vec![x, w], t(DType::I32, &[1, 1, 2, 2]));
    g.outputs.push(y);
    tc_ir::verify::verify(&g).unwrap();
    let e = tc_mlir::emit_mlir(&g).unwrap_err();
    assert_eq!(e.to_string(), "the MLIR backend does not support conv2d on i32");
}

/// Matmuls that go to the tiles: bf16 programs, f32 ones under `--precision bf16`,
/// transposed operands, batches, sizes that are not multiples of a tile.
fn tiled_programs() -> Vec<(&'static str, Vec<Type>)> {
    let bf = DType::BF16;
    vec![
        ("fn main(a, b) { a @ b }", vec![t(bf, &[64, 96]), t(bf, &[96, 32])]),
        ("fn main(a, b) { a @ b }", vec![t(F32, &[5, 7]), t(F32, &[7, 3])]),
        ("fn main(a, b) { (a.T @ b.T, a.T @ a) }", vec![t(bf, &[33, 17]), t(bf, &[40, 33])]),
        ("fn main(a, b) { a @ b }", vec![t(F32, &[3, 20, 50]), t(F32, &[3, 50, 36])]),
    ]
}

fn tool(name: &str) -> Option<String> {
    let path = format!("/usr/lib/llvm-22/bin/{name}");
    std::path::Path::new(&path).exists().then_some(path)
}

fn pipe(cmd: &str, args: &[&str], input: &[u8]) -> Result<Vec<u8>, String> {
    let mut child = Command::new(cmd).args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn have_llvm_tools() -> bool {
    ["mlir-opt", "mlir-translate", "opt", "llc"].iter().all(|t| tool(t).is_some())
}

/// A tile module lowered by the JIT's pipeline: its LLVM IR, and x86 assembly for an
/// AMX target after LLVM's `-O3` (as the execution engine compiles it: the async
/// runtime's coroutines are split there).
fn lower(text: &str) -> Result<(String, String), String> {
    let pipeline = format!("--pass-pipeline={}", tc_mlir::entry::TILES_PIPELINE);
    let llvm_dialect = pipe(&tool("mlir-opt").unwrap(), &[&pipeline], text.as_bytes())?;
    let ir = pipe(&tool("mlir-translate").unwrap(), &["--mlir-to-llvmir"], &llvm_dialect)?;
    let amx = "-mattr=+amx-tile,+amx-bf16";
    let optimised = pipe(&tool("opt").unwrap(), &["-O3", amx, "-S"], &ir)?;
    let asm = pipe(&tool("llc").unwrap(), &["-O3", amx, "-o", "-"], &optimised)?;
    Ok((String::from_utf8(ir).unwrap(), String::from_utf8(asm).unwrap()))
}

/// The peak kernel keeps its four accumulators in tile registers through the loop.
#[test]
fn amx_peak_kernel_is_four_tile_products_per_round() {
    if !have_llvm_tools() {
        eprintln!("mlir-opt, mlir-translate, opt or llc (LLVM 22) is not installed; skipping");
        return;
    }
    let (_, asm) = lower(tc_mlir::tiles::PEAK_KERNEL).unwrap();
    assert_eq!(asm.matches("tdpbf16ps").count(), 4, "{asm}");
    assert_eq!(asm.matches("tilestored").count(), 4, "{asm}");
}

/// The AMX form lowers through the JIT's pipeline to LLVM IR and to x86 machine code
/// with the tile instructions (checked without AMX hardware: only running needs it).
#[test]
fn amx_matmuls_lower_to_tile_instructions() {
    if !have_llvm_tools() {
        eprintln!("mlir-opt, mlir-translate, opt or llc (LLVM 22) is not installed; skipping");
        return;
    }
    let amx = tc_mlir::tiles::TileOptions { unit: tc_mlir::tiles::TileUnit::Amx, f32_matmuls: true };
    for (src, types) in tiled_programs() {
        let program = tc_mlir::kernel_program(&graph_of(src, "main", &types)).unwrap();
        let text = tc_mlir::entry::jit_module(&program, Some(amx)).unwrap_or_else(|e| panic!("{src}: {e}"));
        assert!(text.contains("amx.tile_mulf"), "{src}: no tile op\n{text}");
        let (ir, asm) = lower(&text).unwrap_or_else(|e| panic!("{src}: {e}\n{text}"));
        for intrinsic in ["llvm.x86.tileloadd64.internal", "llvm.x86.tdpbf16ps.internal", "llvm.x86.tilestored64.internal"] {
            assert!(ir.contains(intrinsic), "{src}: no {intrinsic}");
        }
        for insn in ["ldtilecfg", "tileloadd", "tdpbf16ps", "tilestored", "tilerelease"] {
            assert!(asm.contains(insn), "{src}: no {insn} in the machine code");
        }
    }
}
