//! Fuzz target: the bytes choose a program (`programs.rs`); it is compiled, run on
//! the reference interpreter and, after simplification, on the CPU JIT, and the two
//! must agree. Compile errors are fine (the generator may pick an ill-typed step);
//! a panic, a crash or a disagreement is a finding.
#![no_main]

#[path = "../programs.rs"]
mod programs;
#[path = "../stdlib.rs"]
mod stdlib;

use libfuzzer_sys::fuzz_target;
use tc_check::ArgValue;
use tc_ir::Type;
use tc_syntax::diag::SourceMap;

fuzz_target!(|data: &[u8]| {
    let generated = programs::generate(data);
    let mut sources = SourceMap::new();
    let root = sources.add("fuzz.tc", generated.source.as_str());
    let program = match tc_check::compile(&mut sources, root, &stdlib::Stdlib) {
        Ok(program) => program,
        Err(_) => return,
    };
    let args: Vec<Option<ArgValue>> = generated.inputs.iter().map(|t| Some(ArgValue::Tensor(Type::new(t.dtype(), t.shape().to_vec())))).collect();
    let Ok(spec) = program.specialize("main", &args) else { return };
    let want = tc_interp::run(&spec.graph, &generated.inputs).unwrap_or_else(|e| panic!("interpreter: {e}\n{}", generated.source));
    let optimized = tc_opt::simplify(&spec.graph);
    let cpu = tc_cpu::compile(&optimized).unwrap_or_else(|e| panic!("cpu compile: {e}\n{}", generated.source));
    let got = cpu.run(&generated.inputs).unwrap_or_else(|e| panic!("cpu run: {e}\n{}", generated.source));
    for (i, ((w, g), accuracy)) in want.iter().zip(&got).zip(&generated.accuracy).enumerate() {
        if let Some(why) = programs::disagreement(w, g, *accuracy) {
            panic!("result {i}: {why}\n{}", generated.source);
        }
    }
});
