//! The REPL's line evaluator: bindings and items persist, shadowing, errors that leave
//! the state alone, commands, and multi-line detection.

use tensorc::repl::{Repl, ReplOutput};
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
    error(&mut r, ":emit wgsl f");
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
