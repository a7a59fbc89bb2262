//! The text of one compiler stage (SPEC §7 `emit`). `tensorc emit` and the REPL's `:emit`
//! both print through here, so that they know the same stages and print them alike.

use tc_syntax::ast;
use tc_syntax::diag::{FileId, SourceMap};

use crate::{optimize, ArgValue, Diagnostics, Error, Module};

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
/// parameter; `None` takes the default).
pub fn graph_stage(module: &Module, entry: &str, args: &[Option<ArgValue>], stage: &str) -> Result<String, Error> {
    check_stage(stage)?;
    let spec = module.specialize(entry, args)?;
    if stage == "ir" {
        return Ok(tc_ir::text::print(&spec.graph));
    }
    let graph = optimize(&spec.graph);
    let failed = |what: &str, e: &dyn std::fmt::Display| Error::Runtime(format!("{what} failed: {e}"));
    Ok(match stage {
        "opt" => tc_ir::text::print(&graph),
        "kernels" => tc_kernel::print(&tc_kernel::lower(&graph).map_err(|e| failed("kernel lowering", &e))?),
        "clif" => tc_cpu::compile(&graph).map_err(|e| failed("CPU code generation", &e))?.clif_text().to_string(),
        "wgsl" => {
            // The shaders do not depend on the device but for f16, printed as a device
            // with `shader-f16` would run it; `run --backend wgpu` checks the device.
            let features = tc_wgpu::wgsl::Features { shader_f16: true };
            tc_wgpu::wgsl::print(&tc_wgpu::generate(&graph, features).map_err(|e| failed("WGSL generation", &e))?)
        }
        "mlir" => tc_mlir::emit_mlir(&graph).map_err(|e| failed("MLIR generation", &e))?,
        "stablehlo" => tc_mlir::emit_stablehlo(&graph).map_err(|e| failed("StableHLO generation", &e))?,
        _ => return Err(Error::Usage(format!("the `{stage}` stage is printed from the parsed file, not a graph"))),
    })
}
