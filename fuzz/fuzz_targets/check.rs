//! Fuzz target: arbitrary bytes as a program through the whole front end. Parsing,
//! module loading, name resolution and checking must never panic; where `main`'s
//! parameters are all annotated with concrete types, it is also specialised
//! (elaborated, with `grad` and inlining) and simplified.
#![no_main]

#[path = "../stdlib.rs"]
mod stdlib;

use libfuzzer_sys::fuzz_target;
use tc_check::ArgValue;
use tc_ir::Type;
use tc_syntax::diag::SourceMap;
use tc_tensor::DType;

/// `f32[2, 3]`, `i32`, ... as a type, when it names a dtype and concrete sizes.
fn concrete(annotation: &str) -> Option<Type> {
    let (dtype, dims) = match annotation.split_once('[') {
        Some((d, rest)) => (d.trim(), rest.strip_suffix(']')?),
        None => (annotation.trim(), ""),
    };
    let dtype = DType::from_name(dtype)?;
    let shape = dims.split(',').map(str::trim).filter(|d| !d.is_empty()).map(|d| d.parse::<usize>().ok().filter(|&n| n <= 64)).collect::<Option<Vec<_>>>()?;
    Some(Type::new(dtype, shape))
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut sources = SourceMap::new();
    let root = sources.add("fuzz.tc", text);
    let Ok(program) = tc_check::compile(&mut sources, root, &stdlib::Stdlib) else { return };
    let Some(main) = program.functions().into_iter().find(|f| f.name == "main") else { return };
    let args: Option<Vec<Option<ArgValue>>> = main
        .params
        .iter()
        .map(|p| match (&p.annotation, p.has_default) {
            (_, true) => Some(None),
            (Some(a), false) => concrete(a).map(|t| Some(ArgValue::Tensor(t))),
            (None, false) => None,
        })
        .collect();
    let Some(args) = args else { return };
    if let Ok(spec) = program.specialize("main", &args) {
        tc_opt::simplify(&spec.graph);
    }
});
