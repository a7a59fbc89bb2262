//! The emitted MLIR checked by LLVM 22's own tools (`mlir-opt`, `mlir-translate`, `opt`,
//! `llc`): every module parses and verifies, and the AMX tile matmuls lower to the tile
//! instructions. These tools come with the MLIR/LLVM 22 installation that the `jit` feature
//! links, so the tests build with that feature (`cargo test -p tc-mlir --features jit`)
//! and fail, rather than skip, when a tool is missing.
#![cfg(feature = "jit")]

mod common;
use common::{graph_of, programs, t};
use std::io::Write;
use std::process::{Command, Stdio};
use tc_ir::Type;
use tc_tensor::DType;

const F32: DType = DType::F32;

/// The path of LLVM 22's tool `name`; panics when it is not installed.
fn tool(name: &str) -> String {
    let path = format!("/usr/lib/llvm-22/bin/{name}");
    assert!(std::path::Path::new(&path).exists(), "{path} is missing: install mlir-22-tools and llvm-22 (scripts/test.sh does)");
    path
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

#[test]
fn every_emitted_module_parses_and_verifies_in_mlir() {
    let opt = tool("mlir-opt");
    for (src, types) in programs() {
        let text = tc_mlir::emit_mlir(&graph_of(src, "main", &types)).unwrap_or_else(|e| panic!("{src}: {e}"));
        if let Err(e) = pipe(&opt, &["-", "-o", "/dev/null"], text.as_bytes()) {
            panic!("{src}:\n{e}\n{text}");
        }
    }
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

/// A tile module lowered by the JIT's pipeline: its LLVM IR, and x86 assembly for an
/// AMX target after LLVM's `-O3` (as the execution engine compiles it: the async
/// runtime's coroutines are split there).
fn lower(text: &str) -> Result<(String, String), String> {
    let pipeline = format!("--pass-pipeline={}", tc_mlir::entry::TILES_PIPELINE);
    let llvm_dialect = pipe(&tool("mlir-opt"), &[&pipeline], text.as_bytes())?;
    let ir = pipe(&tool("mlir-translate"), &["--mlir-to-llvmir"], &llvm_dialect)?;
    let amx = "-mattr=+amx-tile,+amx-bf16";
    let optimised = pipe(&tool("opt"), &["-O3", amx, "-S"], &ir)?;
    let asm = pipe(&tool("llc"), &["-O3", amx, "-o", "-"], &optimised)?;
    Ok((String::from_utf8(ir).unwrap(), String::from_utf8(asm).unwrap()))
}

/// The peak kernel keeps its four accumulators in tile registers through the loop.
#[test]
fn amx_peak_kernel_is_four_tile_products_per_round() {
    let (_, asm) = lower(tc_mlir::tiles::PEAK_KERNEL).unwrap();
    assert_eq!(asm.matches("tdpbf16ps").count(), 4, "{asm}");
    assert_eq!(asm.matches("tilestored").count(), 4, "{asm}");
}

/// The AMX form lowers through the JIT's pipeline to LLVM IR and to x86 machine code
/// with the tile instructions (checked without AMX hardware: only running needs it).
#[test]
fn amx_matmuls_lower_to_tile_instructions() {
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
