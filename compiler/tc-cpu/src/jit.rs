//! The JIT: one Cranelift module per compiled program. [`jit`] compiles every loop
//! kernel of a kernel program into a native function and returns their entry points;
//! [`JitCode`] owns the executable memory and frees it when the program is dropped.

use crate::codegen::{compile_loop, Callees, LoopFn, MathFns};
use crate::externs::{self, Sig};
use cranelift_codegen::ir::{types, AbiParam};
use cranelift_codegen::isa::TargetIsa;
use cranelift_codegen::settings::{self, Configurable};
use cranelift_frontend::FunctionBuilderContext;
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{default_libcall_names, Linkage, Module};
use std::collections::HashMap;
use tc_kernel::{BufferId, Kernel, KernelProgram};

/// A compiled loop kernel: `f(buffers, lo, hi)` (see `codegen`).
pub type KernelFn = unsafe extern "C" fn(*const *mut u8, i64, i64);

/// Owns a finalised module's executable memory.
pub struct JitCode {
    module: Option<JITModule>,
}

impl Drop for JitCode {
    fn drop(&mut self) {
        if let Some(module) = self.module.take() {
            // SAFETY: the function pointers into this memory live in the same
            // `CpuProgram`, which is being dropped; none can be called afterwards.
            unsafe { module.free_memory() };
        }
    }
}

// SAFETY: after finalisation the module is only kept to free its memory on drop; the
// compiled functions are pure machine code reading their arguments.
unsafe impl Send for JitCode {}
unsafe impl Sync for JitCode {}

/// The compiled loop kernels of a program.
pub struct Jitted {
    pub code: JitCode,
    /// For each kernel of the program: its function and buffers, for loop kernels.
    pub fns: Vec<Option<(KernelFn, Vec<BufferId>)>>,
    /// The Cranelift IR of every function, in kernel order.
    pub clif: String,
}

fn module() -> Result<JITModule, String> {
    let mut flags = settings::builder();
    let set = |f: &mut settings::Builder, k: &str, v: &str| f.set(k, v).map_err(|e| format!("cranelift flag {k}: {e}"));
    set(&mut flags, "opt_level", "speed")?;
    set(&mut flags, "use_colocated_libcalls", "false")?;
    set(&mut flags, "is_pic", "false")?;
    set(&mut flags, "enable_verifier", if cfg!(debug_assertions) { "true" } else { "false" })?;
    let isa = cranelift_native::builder()
        .map_err(|e| format!("unsupported host: {e}"))?
        .finish(settings::Flags::new(flags))
        .map_err(|e| format!("cranelift ISA: {e}"))?;
    let mut builder = JITBuilder::with_isa(isa, default_libcall_names());
    for (name, _, ptr) in externs::symbols() {
        builder.symbol(name, ptr);
    }
    Ok(JITModule::new(builder))
}

/// Whether `isa` has fused multiply-add: the shared math's polynomial steps are then
/// fused (`tc_kernel::math::Node::MulAdd`).
pub fn has_fma(isa: &dyn TargetIsa) -> bool {
    isa.isa_flags().iter().any(|f| f.name == "has_fma" && f.as_bool() == Some(true))
}

/// Whether code generated on this host fuses multiply-adds (for the tests that compare
/// it with `tc_kernel::math::Routine::eval`).
pub fn host_fma() -> Result<bool, String> {
    Ok(has_fma(module()?.isa()))
}

/// Compile the loop kernels of `program`.
pub fn jit(program: &KernelProgram) -> Result<Jitted, String> {
    let mut code = JitCode { module: Some(module()?) };
    let module = code.module.as_mut().expect("just created");
    let mut externs_ids = HashMap::new();
    for (name, sig_kind, _) in externs::symbols() {
        let mut sig = module.make_signature();
        match sig_kind {
            Sig::F1 => sig.params.push(AbiParam::new(types::F64)),
            Sig::F2 => sig.params.extend([AbiParam::new(types::F64), AbiParam::new(types::F64)]),
            Sig::IntToBits => sig.params.push(AbiParam::new(types::I64)),
        }
        sig.returns.push(AbiParam::new(if sig_kind == Sig::IntToBits { types::I32 } else { types::F64 }));
        let id = module.declare_function(name, Linkage::Import, &sig).map_err(|e| e.to_string())?;
        externs_ids.insert(name, (id, sig_kind));
    }
    let mut ctx = module.make_context();
    let mut fctx = FunctionBuilderContext::new();
    let mut compiled: Vec<Option<LoopFn>> = Vec::with_capacity(program.kernels.len());
    let mut clif = String::new();
    let mut callees = Callees { externs: &externs_ids, math: MathFns::default() };
    for (i, kernel) in program.kernels.iter().enumerate() {
        match kernel {
            Kernel::Loop(l) => {
                let f = compile_loop(module, &mut ctx, &mut fctx, &mut callees, program, l, &format!("k{i}"))?;
                clif.push_str(&format!("; k{i}\n{}\n", f.clif));
                compiled.push(Some(f));
            }
            Kernel::Call(_) => compiled.push(None),
        }
    }
    clif.push_str(&callees.math.define(module, &mut ctx, &mut fctx)?);
    module.finalize_definitions().map_err(|e| e.to_string())?;
    let fns = compiled
        .into_iter()
        .map(|f| {
            f.map(|f| {
                let ptr = module.get_finalized_function(f.id);
                // SAFETY: the function was compiled with exactly this signature.
                let func = unsafe { std::mem::transmute::<*const u8, KernelFn>(ptr) };
                (func, f.buffers)
            })
        })
        .collect();
    Ok(Jitted { code, fns, clif })
}
