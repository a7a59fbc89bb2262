//! The REPL's line evaluator: bindings and items persist, shadowing, errors that leave
//! the state alone and name the input or file they are in, commands (`:emit` at every
//! stage), and multi-line detection.

use tensorc_cli::repl::{Repl, ReplOutput};
use tensorc::{Backend, Tensor, Value};

fn repl() -> Repl {
    Repl::new(Backend::Interp).expect("interp is available")
}

/// Evaluate `line`, expecting text.
fn text(repl: &mut Repl, line: &str) -> String {
    match repl.eval_line(line) {
        ReplOutput::Text(text) => text,
        other => panic!("`{line}` gave {other:?}"),
    }
}

/// Evaluate `line`, expecting success (text or nothing).
fn ok(repl: &mut Repl, line: &str) {
    if let ReplOutput::Error(e) = repl.eval_line(line) {
        panic!("`{line}` failed:\n{e}");
    }
}

fn error(repl: &mut Repl, line: &str) -> String {
    match repl.eval_line(line) {
        ReplOutput::Error(text) => text,
        other => panic!("`{line}` should fail, gave {other:?}"),
    }
}

fn f32s(shape: &[usize], values: &[f32]) -> Value {
    Value::Tensor(Tensor::from_f32(shape.to_vec(), values.to_vec()).expect("shape fits"))
}

#[test]
fn bindings_persist_and_print_with_types() {
    let mut r = repl();
    assert_eq!(text(&mut r, "let x = [1.0, 2.0, 3.0]"), "x: f32[3]");
    let shown = text(&mut r, "x * 2.0");
    assert!(shown.starts_with("f32[3]\n"), "{shown}");
    assert_eq!(r.binding("x"), Some(&f32s(&[3], &[1.0, 2.0, 3.0])));
    ok(&mut r, "let y = x + 1.0;");
    assert_eq!(r.binding("y"), Some(&f32s(&[3], &[2.0, 3.0, 4.0])));
}

#[test]
fn tuple_patterns_bind_every_name() {
    let mut r = repl();
    ok(&mut r, "let x = [1.0, 2.0]");
    assert_eq!(text(&mut r, "let (a, _, b) = (x, 0, x * 3.0)"), "a: f32[2]\nb: f32[2]");
    assert_eq!(r.binding("b"), Some(&f32s(&[2], &[3.0, 6.0])));
}

#[test]
fn shadowing_replaces_a_binding() {
    let mut r = repl();
    ok(&mut r, "let x = 1.0");
    ok(&mut r, "let x = x * 2.0 + [0.0, 1.0]");
    assert_eq!(r.binding("x"), Some(&f32s(&[2], &[2.0, 3.0])));
}

#[test]
fn fn_items_persist_and_can_be_redefined() {
    let mut r = repl();
    assert_eq!(text(&mut r, "fn double(v) { v * 2.0 }"), "defined double");
    ok(&mut r, "let x = [1.0, 2.0]");
    ok(&mut r, "let y = double(x)");
    assert_eq!(r.binding("y"), Some(&f32s(&[2], &[2.0, 4.0])));
    ok(&mut r, "fn double(v) { v + v + v }");
    ok(&mut r, "let y = double(x)");
    assert_eq!(r.binding("y"), Some(&f32s(&[2], &[3.0, 6.0])));
    ok(&mut r, "const K = 10.0;");
    ok(&mut r, "use nn;");
    ok(&mut r, "let z = nn::relu(x - 1.5) * K");
    assert_eq!(r.binding("z"), Some(&f32s(&[2], &[0.0, 5.0])));
}

#[test]
fn errors_leave_the_state_alone() {
    let mut r = repl();
    ok(&mut r, "let x = [1.0, 2.0]");
    let e = error(&mut r, "x + nope");
    assert!(e.contains("error[E"), "{e}");
    assert!(e.contains("--> <repl>:1:5"), "errors point into the input itself: {e}");
    error(&mut r, "fn broken(v) { v + nope }");
    error(&mut r, "broken(x)");
    error(&mut r, "let x = ");
    assert_eq!(r.binding("x"), Some(&f32s(&[2], &[1.0, 2.0])));
    ok(&mut r, "x");
}

#[test]
fn type_without_running() {
    let mut r = repl();
    ok(&mut r, "let x = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]");
    assert_eq!(text(&mut r, ":type x"), "f32[2, 3]");
    assert_eq!(text(&mut r, ":type (sum(x, axis=0), argmax(x, axis=1))"), "(f32[3], i32[2])");
}

#[test]
fn emit_uses_bindings_for_parameter_types() {
    let mut r = repl();
    ok(&mut r, "fn f(v) { exp(v) }");
    let e = error(&mut r, ":emit ir f");
    assert!(e.contains("`v`"), "{e}");
    ok(&mut r, "let v = [1.0, 2.0]");
    assert!(text(&mut r, ":emit ir f").contains("exp"));
    assert!(text(&mut r, ":emit opt f").contains("exp"));
    assert!(text(&mut r, ":emit ast f").contains("exp"));
}

#[test]
fn emit_prints_every_stage_of_tensorc_emit() {
    let mut r = repl();
    ok(&mut r, "fn f(v, w) { exp(v) * w }");
    ok(&mut r, "let v = [1.0, 2.0]");
    // `w` has no binding: its type is given, as `tensorc emit` takes it.
    let e = error(&mut r, ":emit kernels f");
    assert!(e.contains("`w`") && e.contains("w=f32[2, 3]"), "{e}");
    let expected = [
        ("ir", "exp"),
        ("opt", "exp"),
        ("kernels", "loop"),
        ("clif", "function"),
        ("wgsl", "@compute"),
        ("mlir", "math.exp"),
        ("stablehlo", "stablehlo.exponential"),
    ];
    assert_eq!(expected.len() + 1, tensorc::emit::STAGES.len(), "every stage but ast is tried");
    for (stage, marker) in expected {
        let shown = text(&mut r, &format!(":emit {stage} f w=f32[3, 2]"));
        assert!(shown.starts_with("// f(v: f32[2], w: f32[3, 2])\n"), "{stage}: {shown}");
        assert!(shown.contains(marker), "{stage}: {shown}");
    }
    // A type given for a bound name wins; `NAME=BINDING` takes that binding's type.
    ok(&mut r, "let m = [[1.0, 2.0, 3.0]]");
    assert!(text(&mut r, ":emit ir f v=f32[4] w=f32[4]").starts_with("// f(v: f32[4], w: f32[4])"));
    assert!(text(&mut r, ":emit ir f v=m w=m").starts_with("// f(v: f32[1, 3], w: f32[1, 3])"));
    assert!(error(&mut r, ":emit ir f w=nothing").contains("`nothing`"));
    assert!(error(&mut r, ":emit ir f w=f32 q=f32").contains("no parameter `q`"));
    let e = error(&mut r, ":emit llvm f");
    assert!(e.contains("ast, ir, opt, kernels, clif, wgsl, mlir, stablehlo"), "{e}");
    assert!(text(&mut r, ":help").contains("kernels, clif, wgsl, mlir, stablehlo"));
}

#[test]
fn errors_in_a_loaded_file_name_the_file() {
    let dir = std::env::temp_dir().join(format!("tensorc-repl-errors-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create dir");
    let mut r = repl();
    // Found when the file is loaded: a shape error on line 3.
    let bad = dir.join("bad.tc");
    std::fs::write(&bad, "fn one() { 1.0 }\nfn f() {\n    let y = [1.0, 2.0] + [1.0, 2.0, 3.0];\n    y\n}\n").expect("write");
    let e = error(&mut r, &format!(":load {}", bad.display()));
    assert!(e.contains(&format!("--> {}:3:13", bad.display())), "{e}");
    assert!(e.contains("let y = [1.0, 2.0] + [1.0, 2.0, 3.0];"), "{e}");
    assert!(!e.contains("<repl>"), "{e}");
    // Found when a line calls a loaded function, after other items were defined.
    ok(&mut r, "fn twice(v) { v * 2.0 }");
    let lib = dir.join("lib.tc");
    std::fs::write(&lib, "// Widening.\nfn widen(x) {\n  x + [1.0, 2.0, 3.0]\n}\n").expect("write");
    ok(&mut r, &format!(":load {}", lib.display()));
    let e = error(&mut r, "twice(widen([1.0, 2.0]))");
    assert!(e.contains(&format!("--> {}:3:3", lib.display())), "{e}");
    let e = error(&mut r, ":emit opt widen x=f32[2]");
    assert!(e.contains(&format!("--> {}:3:3", lib.display())), "{e}");
    // An item typed at the prompt is shown in the input that defined it.
    ok(&mut r, "fn id(x) { x }\nfn narrow(x) { x + [1.0, 2.0, 3.0] }");
    let e = error(&mut r, "id(narrow([[1.0, 2.0]]))");
    assert!(e.contains("--> <repl>:2:16"), "{e}");
    assert!(e.contains("fn narrow(x) { x + [1.0, 2.0, 3.0] }"), "{e}");
}

#[test]
fn a_loaded_file_may_start_with_a_byte_order_mark() {
    let dir = std::env::temp_dir().join(format!("tensorc-repl-bom-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create dir");
    let path = dir.join("bom.tc");
    std::fs::write(&path, "\u{feff}fn inc(x) { x + 1.0 }\nfn bad() { [1.0, 2.0] + [1.0, 2.0, 3.0] }\n").expect("write");
    let mut r = repl();
    ok(&mut r, "fn first() { 0.0 }");
    let e = error(&mut r, &format!(":load {}", path.display()));
    assert!(e.contains(&format!("--> {}:2:12", path.display())), "{e}");
    std::fs::write(&path, "\u{feff}fn inc(x) { x + [1.0, 2.0] }\n").expect("write");
    assert_eq!(text(&mut r, &format!(":load {}", path.display())), "defined inc");
    let e = error(&mut r, "inc([1.0, 2.0, 3.0])");
    assert!(e.contains(&format!("--> {}:1:13", path.display())), "{e}");
}

#[test]
fn load_adds_a_files_items() {
    let dir = std::env::temp_dir().join(format!("tensorc-repl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create dir");
    let path = dir.join("lib.tc");
    std::fs::write(&path, "/// Add one.\nfn inc(x) { x + 1.0 }\nfn dec(x) { x - 1.0 }\n").expect("write");
    let mut r = repl();
    assert_eq!(text(&mut r, &format!(":load {}", path.display())), "defined inc, dec");
    ok(&mut r, "let y = inc(dec(inc(1.0)))");
    assert_eq!(r.binding("y"), Some(&Value::Tensor(Tensor::scalar_f32(2.0))));
    error(&mut r, ":load /no/such/file.tc");
}

#[test]
fn commands() {
    let mut r = repl();
    assert!(text(&mut r, ":help").contains(":type"));
    assert_eq!(r.eval_line(":quit"), ReplOutput::Quit);
    assert_eq!(r.eval_line("   "), ReplOutput::Empty);
    assert_eq!(text(&mut r, ":backend interp"), "backend: interp");
    assert_eq!(text(&mut r, ":backend cpu"), "backend: cpu");
    assert_eq!(text(&mut r, ":backend wgpu"), "backend: wgpu");
    assert!(error(&mut r, ":backend mlir").contains("not available"));
    assert!(error(&mut r, ":frobnicate").contains(":help"));
}

#[test]
fn multi_line_input() {
    assert!(Repl::is_incomplete("fn f(x) {"));
    assert!(Repl::is_incomplete("let y = [1.0,\n 2.0"));
    assert!(!Repl::is_incomplete("fn f(x) {\n  x\n}"));
    assert!(!Repl::is_incomplete("x // an open ( in a comment"));
    assert!(!Repl::is_incomplete("x)"));
    let mut r = repl();
    ok(&mut r, "fn f(x) {\n    let y = x * 2.0;\n    y + 1.0\n}");
    ok(&mut r, "let z = f(\n  1.0\n)");
    assert_eq!(r.binding("z"), Some(&Value::Tensor(Tensor::scalar_f32(3.0))));
}

#[test]
fn a_loaded_file_that_is_not_utf8_is_an_error_at_its_first_bad_byte() {
    let dir = std::env::temp_dir().join(format!("tensorc-repl-{}-not-utf8", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create a scratch directory");
    let path = dir.join("latin1.tc");
    std::fs::write(&path, b"fn inc(x) { x + 1.0 }\nfn caf\xe9() { 1.0 }\n").expect("write");
    let mut r = repl();
    let e = error(&mut r, &format!(":load {}", path.display()));
    assert!(e.contains("invalid UTF-8"), "{e}");
    assert!(e.contains(&format!("{}:2:7", path.display())), "{e}");
    assert!(error(&mut r, "inc(1.0)").contains("E0201"), "nothing of the file was defined");
}

#[test]
fn type_of_an_unfinished_expression_names_no_token_the_user_did_not_type() {
    let mut r = repl();
    let e = error(&mut r, ":type 1 +");
    assert!(e.contains("expected an expression but the input ends"), "{e}");
    assert!(!e.contains('}'), "{e}");
    let e = error(&mut r, "let y = 2 *");
    assert!(e.contains("but the input ends") && !e.contains("`;`"), "{e}");
    // A real unexpected token is still named.
    assert!(error(&mut r, ":type 1 + )").contains("found `)`"));
}

#[test]
fn backend_without_an_argument_shows_the_current_one() {
    let mut r = repl();
    let shown = text(&mut r, ":backend");
    assert!(shown.starts_with("backend: interp; available: "), "{shown}");
    let e = error(&mut r, ":backend foo");
    assert!(e.contains("unknown backend `foo`"), "{e}");
    for backend in Backend::ALL {
        assert_eq!(e.contains(backend.name()), backend.is_available(), "{backend}: {e}");
    }
}
