//! The text of one compiler stage (SPEC §7 `emit`). `tensorc emit` and the REPL's `:emit`
//! both print through here, so that they know the same stages and print them alike.

use tc_syntax::ast;
use tc_syntax::diag::{FileId, SourceMap};

use crate::{ArgValue, Diagnostics, Error, Module};

/// Every stage, in pipeline order. `mlir` and `stablehlo` are text that `tc-mlir` writes
/// without MLIR, so every build prints them; only running MLIR needs the `mlir` feature.
pub const STAGES: [&str; 8] = ["ast", "ir", "opt", "kernels", "clif", "wgsl", "mlir", "stablehlo"];

/// A usage error listing [`STAGES`] unless `stage` is one of them.
pub fn check_stage(stage: &str) -> Result<(), Error> {
    if STAGES.contains(&stage) {
        Ok(())
    } else {
        Err(Error::Usage(format!("unknown stage `{stage}`; available stages: {}", STAGES.join(", "))))
    }
}

/// What the `ast` stage prints: `text` parsed, with its syntax errors shown in the file
/// `name`. (The other stages need the whole program checked: [`graph_stage`].)
pub fn parse(name: &str, text: &str) -> Result<ast::File, Error> {
    let (file, diagnostics) = tc_syntax::parse_file(FileId(0), text);
    if diagnostics.is_empty() {
        return Ok(file);
    }
    let mut sources = SourceMap::new();
    let root = sources.add(name, text);
    Err(Error::Compile(Diagnostics { sources, root, diagnostics }))
}

/// The text of `stage`, any stage after `ast`, of `entry` specialised for `args` (one per
/// parameter; `None` takes the default; `donate` as [`Module::compile_donating`]), through the pipeline that `run` compiles with:
/// the session's backend, `--precision` and `--mem-budget`. Stages of another backend
/// (`clif` under `--backend wgpu`) generate its code from this kernel program.
pub fn graph_stage(module: &Module, entry: &str, args: &[Option<ArgValue>], donate: &[usize], stage: &str) -> Result<String, Error> {
    check_stage(stage)?;
    if stage == "ir" {
        return Ok(tc_ir::text::print(&module.specialize(entry, args)?.graph));
    }
    let lowered = module.lower(entry, args, donate)?;
    let failed = |what: &str, e: &dyn std::fmt::Display| Error::Runtime(format!("{what} failed: {e}"));
    // The interpreter runs the graph itself; the other stages show the kernel program
    // a kernel backend would compile.
    let kernels = || match &lowered.kernels {
        Some(kernels) => Ok(kernels.clone()),
        None => tc_kernel::lower(&lowered.graph).map_err(|e| failed("kernel lowering", &e)),
    };
    Ok(match stage {
        "opt" => tc_ir::text::print(&lowered.graph),
        "kernels" => tc_kernel::print(&kernels()?),
        "clif" => tc_cpu::compile_kernels(kernels()?).map_err(|e| failed("CPU code generation", &e))?.clif_text().to_string(),
        "wgsl" => {
            // The shaders do not depend on the device but for f16, printed as a device
            // with `shader-f16` would run it; `run --backend wgpu` checks the device.
            let features = tc_wgpu::wgsl::Features { shader_f16: true };
            tc_wgpu::wgsl::print(&tc_wgpu::wgsl::generate(&kernels()?, features).map_err(|e| failed("WGSL generation", &e))?)
        }
        "mlir" => tc_mlir::emit_mlir_kernels(&kernels()?).map_err(|e| failed("MLIR generation", &e))?,
        "stablehlo" => tc_mlir::emit_stablehlo(&lowered.graph).map_err(|e| failed("StableHLO generation", &e))?,
        _ => return Err(Error::Usage(format!("the `{stage}` stage is printed from the parsed file, not a graph"))),
    })
}
