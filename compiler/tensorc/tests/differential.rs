//! Differential test of the CPU JIT against the reference interpreter on generated
//! programs: the generator of the fuzz target `differential` (`fuzz/programs.rs`),
//! driven by seeded bytes instead of the fuzzer's, through the embedding API. The
//! same generator under libFuzzer explores further (`scripts/fuzz.sh differential`).

#[path = "../../../fuzz/programs.rs"]
mod programs;

use tensorc::{Backend, Error, Session, Value};

/// Bytes for one program, from a seed (xorshift).
fn bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

fn run(backend: Backend, source: &str, inputs: &[tc_tensor::Tensor]) -> Result<Vec<tc_tensor::Tensor>, Error> {
    let module = Session::new(backend)?.compile_source("generated.tc", source)?;
    let args: Vec<Option<Value>> = inputs.iter().map(|t| Some(Value::Tensor(t.clone()))).collect();
    Ok(module.call_bound("main", &args)?.into_leaves())
}

#[test]
fn cpu_agrees_with_the_interpreter_on_generated_programs() {
    let (mut compiled, mut failures) = (0, Vec::new());
    let programs = 300;
    for seed in 0..programs {
        let generated = programs::generate(&bytes(seed, 8 + (seed as usize % 64)));
        let want = match run(Backend::Interp, &generated.source, &generated.inputs) {
            Ok(want) => want,
            Err(Error::Compile(_)) => continue,
            Err(e) => panic!("seed {seed}: interpreter: {e}\n{}", generated.source),
        };
        compiled += 1;
        let got = run(Backend::Cpu, &generated.source, &generated.inputs).unwrap_or_else(|e| panic!("seed {seed}: cpu: {e}\n{}", generated.source));
        for (i, ((w, g), accuracy)) in want.iter().zip(&got).zip(&generated.accuracy).enumerate() {
            if let Some(why) = programs::disagreement(w, g, *accuracy) {
                failures.push(format!("seed {seed}, result {i}: {why}\n{}", generated.source));
            }
        }
    }
    // The generator keeps programs well typed; if most failed to compile, this test
    // would test nothing.
    assert!(compiled * 10 >= programs * 9, "only {compiled} of {programs} generated programs compiled");
    assert!(failures.is_empty(), "{} of {compiled} programs disagree:\n{}", failures.len(), failures.join("\n"));
}
