//! Hostile programs end in spanned compile errors, never in an abort, an endless
//! elaboration or a failure at run time: tensors too large for memory (E0307), graphs
//! past the node limit (E0316), unknown dtypes in annotations (E0315), gathers from empty
//! axes (E0309), private functions (E0105); and errors inside called functions point at
//! the call that specialised them.

use tc_check::{ArgValue, Limits, MemoryLimit, MemorySource, ModuleLoader, SpecializeError};
use tc_ir::Type;
use tc_syntax::diag::{Diagnostic, SourceMap};
use tc_tensor::DType;

mod common;
use common::{codes, StdlibDir};

const GIB: u64 = 1 << 30;

fn physical(bytes: u64) -> Limits {
    Limits { memory: Some(MemoryLimit { bytes, source: MemorySource::PhysicalMemory }), ..Limits::default() }
}

/// Every diagnostic of compiling `src` and, if that succeeds, specialising `main` with
/// `args`, with the sources to place them.
fn diagnose(src: &str, args: &[Option<ArgValue>], limits: Limits, loader: &dyn ModuleLoader) -> (SourceMap, Vec<Diagnostic>) {
    let mut sources = SourceMap::new();
    let root = sources.add("test.tc", src);
    let diags = match tc_check::compile_with(&mut sources, root, loader, limits) {
        Err(d) => d,
        Ok(program) => match program.specialize("main", args) {
            Err(SpecializeError::Diagnostics(d)) => d,
            Err(other) => panic!("{other:?}"),
            Ok(_) => vec![],
        },
    };
    (sources, diags)
}


fn errors(src: &str, limits: Limits) -> Vec<String> {
    let (sources, diags) = diagnose(src, &[], limits, &StdlibDir);
    codes(&sources, &diags)
}

fn f32_arg(shape: &[usize]) -> Option<ArgValue> {
    Some(ArgValue::Tensor(Type::new(DType::F32, shape.to_vec())))
}

#[test]
fn tensors_beyond_memory_are_e0307_at_their_expression() {
    let limits = physical(16 * GIB);
    assert_eq!(errors("fn main() {\n  zeros((100000, 100000))\n}", limits), ["E0307 2:3"]);
    assert_eq!(errors("fn main() { eye(1048576) }", limits), ["E0307 1:13"]);
    assert_eq!(errors("fn main() { let x = ones((1, 1, 8, 8)); conv2d(x, x, padding = 1000000) }", limits), ["E0307 1:41"]);
    // An intermediate tensor counts as well: the broadcast of `a + b` is 40 GB.
    assert_eq!(errors("fn main() { let a = ones((100000, 1)); let b = ones((100000,)); sum(a + b) }", limits), ["E0307 1:69"]);
    // Inside a called function: at the expression there, as for any error.
    assert_eq!(errors("fn big(n) { zeros((n, n)) }\nfn main() { big(100000) }", limits), ["E0307 1:13"]);
    // Small tensors, and inputs, are fine.
    assert!(errors("fn main() { (zeros((1000, 1000)), eye(1000), arange(2000000)) }", limits).is_empty());
    let (_, diags) = diagnose("fn main(x) { x[0] }", &[f32_arg(&[100000, 100000])], limits, &StdlibDir);
    assert!(diags.is_empty(), "{diags:?}");
}

#[test]
fn an_input_type_beyond_2_pow_40_elements_is_an_argument_error() {
    let mut sources = SourceMap::new();
    let root = sources.add("test.tc", "fn main(x) { flatten(x) }");
    let program = tc_check::compile(&mut sources, root, &StdlibDir).unwrap();
    match program.specialize("main", &[f32_arg(&[1 << 32, 1 << 32])]) {
        Err(SpecializeError::Argument { param, message }) => assert_eq!((param.as_str(), message.as_str()), ("x", "f32[4294967296, 4294967296] has more than 2^40 elements")),
        Err(e) => panic!("{e:?}"),
        Ok(_) => panic!("specialised"),
    }
    // In `check`, stand-in sizes too many to multiply out leave the function to specialisation.
    let mut sources = SourceMap::new();
    let root = sources.add("test.tc", "fn main(x: f32[A, B, C, D, E, F, G, H]) { flatten(x) }");
    assert!(tc_check::compile(&mut sources, root, &StdlibDir).is_ok());
}

#[test]
fn the_message_says_how_large_and_which_limit() {
    let (_, diags) = diagnose("fn main() { zeros((100000, 100000), dtype = u8) }", &[], physical(8 * GIB), &StdlibDir);
    assert_eq!(diags[0].message, "a tensor of type u8[100000, 100000] takes 10000000000 bytes (9.3 GiB), more than this machine's physical memory of 8589934592 bytes (8.0 GiB)");
    let budget = Limits { memory: Some(MemoryLimit { bytes: 1 << 20, source: MemorySource::Budget }), ..Limits::default() };
    let (_, diags) = diagnose("fn main() { ones((1024, 1024)) }", &[], budget, &StdlibDir);
    assert!(diags[0].message.contains("4194304 bytes (4.0 MiB), more than the memory budget (`--mem-budget`) of 1048576 bytes (1.0 MiB)"), "{}", diags[0].message);
    assert!(diags[0].hint.as_deref().unwrap().contains("--mem-budget"));
    // `eye` names its own result, not the indices it compares to make it.
    let (_, diags) = diagnose("fn main() { eye(1048576, dtype = f16) }", &[], physical(16 * GIB), &StdlibDir);
    assert!(diags[0].message.starts_with("a tensor of type f16[1048576, 1048576] takes 2199023255552 bytes (2.0 TiB)"), "{}", diags[0].message);
}

#[test]
fn without_a_memory_limit_only_2_pow_40_elements_are_checked() {
    assert!(errors("fn main() { (arange(2000000), eye(100000)) }", Limits::default()).is_empty());
    assert_eq!(errors("fn main() { eye(2000000) }", Limits::default()), ["E0307 1:17"]);
    assert_eq!(errors("fn main() { let a = ones((2000000, 1)); let b = ones((2000000,)); a * b }", Limits::default()), ["E0307 1:67"]);
}

/// `fn f{i}(x) { f{i-1}(x) + f{i-1}(x * 2.0) }`: 2^25 calls.
fn exponential_tree(levels: usize) -> String {
    let mut src = String::from("fn f0(x) { x + 1.0 }\n");
    for i in 1..=levels {
        src.push_str(&format!("fn f{i}(x) {{ f{}(x) + f{}(x * 2.0) }}\n", i - 1, i - 1));
    }
    src
}

/// `fn f{i}(x) { f{i-1}(f{i-1}(x)) }` over a function that makes no node: 2^40 calls.
fn nested_chain(levels: usize) -> String {
    let mut src = String::from("fn f0(x) { x }\n");
    for i in 1..=levels {
        src.push_str(&format!("fn f{i}(x) {{ f{}(f{}(x)) }}\n", i - 1, i - 1));
    }
    src
}

#[test]
fn exponential_inlining_stops_at_the_node_limit() {
    let small = Limits { max_nodes: 50_000, ..Limits::default() };
    // Found by `check` in an annotated entry point, and by specialisation otherwise.
    let annotated = format!("{}fn main(x: f32[4]) {{ f25(x) }}\n", exponential_tree(25));
    assert_eq!(errors(&annotated, small), ["E0316 27:22"]);
    let generic = format!("{}fn main(x) {{ f25(x) }}\n", exponential_tree(25));
    let (sources, diags) = diagnose(&generic, &[f32_arg(&[4])], small, &StdlibDir);
    assert_eq!(codes(&sources, &diags), ["E0316 27:14"]);
    let message = &diags[0].message;
    assert!(message.starts_with("the program elaborates to more than 50000 graph nodes, in the calls `main` -> `f25` -> `f24` -> ("), "{message}");
    assert!(diags[0].secondary.iter().any(|l| l.message == "which calls `f24` here"), "{diags:?}");
    // Calls that make no node at all are bounded too.
    let chain = format!("{}fn main(x: f32[4]) {{ f40(x) }}\n", nested_chain(40));
    assert_eq!(errors(&chain, small), ["E0316 42:22"]);
}

#[test]
fn the_default_node_limit_holds_both_shapes_of_blowup() {
    let tree = format!("{}fn main(x: f32[4]) {{ f25(x) }}\n", exponential_tree(25));
    assert_eq!(errors(&tree, Limits::default()), ["E0316 27:22"]);
    let chain = format!("{}fn main(x: f32[4]) {{ f40(x) }}\n", nested_chain(40));
    assert_eq!(errors(&chain, Limits::default()), ["E0316 42:22"]);
    // Below the limit the same shapes compile.
    let (_, diags) = diagnose(&format!("{}fn main(x) {{ f10(x) }}\n", exponential_tree(10)), &[f32_arg(&[4])], Limits::default(), &StdlibDir);
    assert!(diags.is_empty(), "{diags:?}");
}

#[test]
fn unknown_dtypes_in_annotations_are_e0315_at_check() {
    assert_eq!(errors("fn main(x: f99[4]) -> q77 { x }", Limits::default()), ["E0315 1:12", "E0315 1:23"]);
    // In a function nothing calls, in a `let`, a tuple, a `const` and a cast.
    let src = "const C: f8 = 1.0;\nfn unused(x) { let y: (f32, bf17[2]) = (x, x); y as i31 }\nfn main() { 1.0 }";
    assert_eq!(errors(src, Limits::default()), ["E0315 1:10", "E0315 2:29", "E0315 2:53"]);
}

#[test]
fn gathering_from_an_empty_axis_is_e0309_at_the_call() {
    assert_eq!(errors("fn main() { take(zeros((0,)), [0, 1]) }", Limits::default()), ["E0309 1:13"]);
    assert_eq!(errors("fn main(i: i32) { zeros((0, 3))[i] }", Limits::default()), ["E0309 1:33"]);
    // Taking nothing from nothing is fine, as is a gather from a non-empty axis.
    let (_, diags) = diagnose("fn main(i) { (take(zeros((0, 2)), i, axis = 0), take(ones((2, 0)), [1], axis = 0)) }", &[Some(ArgValue::Tensor(Type::new(DType::I32, vec![0])))], Limits::default(), &StdlibDir);
    assert!(diags.is_empty(), "{diags:?}");
}

#[test]
fn an_error_in_a_called_function_points_at_the_call() {
    let src = "use nn;\nfn main(x: f32[4]) { nn::softmax(x, axis=1) }";
    let (sources, diags) = diagnose(src, &[], Limits::default(), &StdlibDir);
    assert_eq!(diags.len(), 1, "{diags:?}");
    let d = &diags[0];
    assert_eq!(d.code, "E0306");
    assert_eq!(sources.name(d.primary.loc.file), "<stdlib>/nn.tc");
    let call = d.secondary.iter().find(|l| sources.name(l.loc.file) == "test.tc").expect("a label at the call");
    assert_eq!(call.message, "in this call of `nn::softmax`, specialised for x: f32[4], axis = 1");
    assert_eq!(sources.line_col(call.loc.file, call.loc.span.start), (2, 22));
    // Through a generic user function: a label for each call on the way.
    let src = "use nn;\nfn norm(v) { nn::softmax(v, axis=1) }\nfn main(x) { norm(x) }";
    let (sources, diags) = diagnose(src, &[f32_arg(&[3])], Limits::default(), &StdlibDir);
    let labels: Vec<(String, (usize, usize))> = diags[0].secondary.iter().map(|l| (l.message.clone(), sources.line_col(l.loc.file, l.loc.span.start))).collect();
    let expected = [("in this call of `nn::softmax`, specialised for x: f32[3], axis = 1", (2, 14)), ("in this call of `norm`, specialised for v: f32[3]", (3, 14))];
    assert_eq!(labels, expected.map(|(m, at)| (m.to_string(), at)));
}

/// The root plus `helpers.tc`, with the stdlib behind them.
struct Helpers(&'static str);

impl ModuleLoader for Helpers {
    fn load(&self, name: &str, from: &str) -> Option<(String, String)> {
        match name {
            "helpers" => Some(("helpers.tc".to_string(), self.0.to_string())),
            _ => StdlibDir.load(name, from),
        }
    }
}

#[test]
fn private_functions_are_e0105_outside_their_module() {
    let helpers = Helpers("const K = 3.0;\nfn twice(x) { x * 2.0 }\npub fn thrice(x) { x * K }\npub fn both(x) { twice(x) + thrice(x) }\n");
    let (sources, diags) = diagnose("use helpers;\nfn main(x: f32[3]) { helpers::twice(x) }", &[], Limits::default(), &helpers);
    assert_eq!(codes(&sources, &diags), ["E0105 2:22"]);
    assert_eq!(diags[0].hint.as_deref(), Some("declare it `pub fn twice` to use it from other modules"));
    assert_eq!(sources.name(diags[0].secondary[0].loc.file), "helpers.tc");
    let (sources, diags) = diagnose("use helpers::{twice};\nfn main(x) { twice(x) }", &[], Limits::default(), &helpers);
    assert_eq!(codes(&sources, &diags), ["E0105 1:15"]);
    // In an unannotated function as well, found by name resolution.
    let (sources, diags) = diagnose("use helpers;\nfn main(x) { helpers::twice(x) }", &[], Limits::default(), &helpers);
    assert_eq!(codes(&sources, &diags), ["E0105 2:14"]);
    // `pub` functions (which may call private ones) and constants are usable.
    let ok = "use helpers;\nuse helpers::{K, thrice};\nfn main(x: f32[3]) { helpers::both(x) + thrice(x) * K }";
    let (_, diags) = diagnose(ok, &[f32_arg(&[3])], Limits::default(), &helpers);
    assert!(diags.is_empty(), "{diags:?}");
}

/// The hint for `/` is in the E0305 snapshot (tests/diagnostic_snapshots.rs); `**`'s
/// names its own literal example.
#[test]
fn integer_power_errors_explain_literals() {
    let (_, diags) = diagnose("fn main(x: i32[3]) { x ** 2 }", &[], Limits::default(), &StdlibDir);
    assert!(diags[0].hint.as_deref().unwrap().contains("`2 ** 3` is 8.0"), "{diags:?}");
}
