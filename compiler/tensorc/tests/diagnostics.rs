//! Snapshots of rendered diagnostics (SPEC §8): hand-built ones pin the layout of the
//! renderer, compiled ones pin the checker's codes, spans, labels and hints.

use tc_syntax::ast::Span;
use tc_syntax::diag::{Diagnostic, FileId, Loc, SourceMap};
use tensorc::render::render_diagnostics;
use tensorc::{Backend, Diagnostics, Error, Session};

fn loc(file: u32, start: usize, end: usize) -> Loc {
    Loc { file: FileId(file), span: Span::new(start, end) }
}

/// The byte range of the first `needle` in `text`.
fn find(text: &str, needle: &str) -> (usize, usize) {
    let start = text.find(needle).expect("needle in text");
    (start, start + needle.len())
}

const MLP: &str = "\
fn predict(x: f32[B, I], b: f32[H]) {
    let y = x + b;
    y
}
";

#[test]
fn broadcast_error_with_label_and_hint() {
    let mut sources = SourceMap::new();
    let root = sources.add("mlp.tc", MLP);
    let (s, e) = find(MLP, "x + b");
    let diagnostic = Diagnostic::new("E0301", loc(0, s, e), "cannot broadcast f32[2, 3] with f32[4]")
        .with_label("shapes [2, 3] and [4] differ in the last dimension")
        .with_hint("`b` was declared f32[H] with H = 4 at mlp.tc:1:26");
    let rendered = Diagnostics { sources, root, diagnostics: vec![diagnostic] }.render(false);
    assert!(rendered.contains("  --> mlp.tc:2:13\n"), "{rendered}");
    insta::assert_snapshot!(rendered);
}

#[test]
fn secondary_label_in_another_file() {
    let mut sources = SourceMap::new();
    let root_text = "use nn;\nfn main(x: i32[3]) {\n    nn::relu(x)\n}\n";
    let root = sources.add("prog.tc", root_text);
    let nn_text = "/// Rectified linear unit.\npub fn relu(x) {\n    maximum(x, 0.0)\n}\n";
    sources.add("<stdlib>/nn.tc", nn_text);
    let (s, e) = find(root_text, "nn::relu(x)");
    let (ds, de) = find(nn_text, "maximum(x, 0.0)");
    let diagnostic = Diagnostic::new("E0302", loc(0, s, e), "`maximum` needs operands of one dtype, got i32 and f32")
        .with_label("in this call")
        .with_secondary(loc(1, ds, de), "i32 and f32 meet here")
        .with_hint("cast with `as`: `x as f32`");
    insta::assert_snapshot!(Diagnostics { sources, root, diagnostics: vec![diagnostic] }.render(false));
}

#[test]
fn every_error_then_a_summary() {
    let text = "fn main(x) {\n    x + }\n\nfn other( {\n";
    let mut sources = SourceMap::new();
    let root = sources.add("prog.tc", text);
    let plus = text.find('+').expect("+") + 2;
    let paren = text.find("( {").expect("(") + 2;
    let diagnostics = vec![
        Diagnostic::new("E0001", loc(0, plus, plus + 1), "expected an expression, found `}`").with_label("expected an expression"),
        Diagnostic::new("E0001", loc(0, paren, paren + 1), "expected a parameter name, found `{`"),
        Diagnostic::new("E0001", loc(0, text.len(), text.len()), "unexpected end of file").with_label("unclosed `{`"),
    ];
    let rendered = Diagnostics { sources, root, diagnostics }.render(false);
    assert!(rendered.ends_with("error: could not compile prog.tc (3 errors)\n"), "{rendered}");
    insta::assert_snapshot!(rendered);
}

#[test]
fn spans_outside_the_text_do_not_panic() {
    let mut sources = SourceMap::new();
    sources.add("é.tc", "fn é() { 1 }");
    let diagnostics = vec![
        Diagnostic::new("E0999", loc(0, 4, 500), "a span past the end"),
        // Byte 4 is inside the two-byte `é`.
        Diagnostic::new("E0999", loc(0, 4, 5), "a span inside a character"),
        Diagnostic::new("E0999", loc(7, 0, 1), "a file that does not exist"),
    ];
    let rendered = render_diagnostics(&sources, &diagnostics, false);
    assert_eq!(rendered.matches("error[E0999]").count(), 3, "{rendered}");
}

#[test]
fn color_is_ansi_and_only_on_request() {
    let mut sources = SourceMap::new();
    sources.add("a.tc", "fn main() { x }");
    let diagnostics = [Diagnostic::new("E0201", loc(0, 12, 13), "cannot find `x`")];
    assert!(render_diagnostics(&sources, &diagnostics, true).contains("\u{1b}["));
    assert!(!render_diagnostics(&sources, &diagnostics, false).contains('\u{1b}'));
}

/// The rendered compile errors of `text`, compiled as `prog.tc`.
fn compile_errors(text: &str) -> String {
    let session = Session::new(Backend::Interp).expect("interp is available");
    match session.compile_source("prog.tc", text) {
        Err(Error::Compile(diagnostics)) => diagnostics.render(false),
        Err(other) => panic!("expected compile errors, got {other}"),
        Ok(_) => panic!("expected compile errors, got none"),
    }
}

#[test]
fn checker_unknown_name() {
    let rendered = compile_errors("fn main(x) {\n  x + y\n}\n");
    assert!(rendered.contains("prog.tc:2:7"), "{rendered}");
    insta::assert_snapshot!(rendered);
}

#[test]
fn checker_parse_error() {
    let rendered = compile_errors("fn main(x) { x + }\n");
    assert!(rendered.contains("prog.tc:1:"), "{rendered}");
    insta::assert_snapshot!(rendered);
}

#[test]
fn checker_broadcast_with_annotations() {
    let rendered = compile_errors("fn main(x: f32[2, 3], b: f32[4]) {\n    x + b\n}\n");
    assert!(rendered.contains("prog.tc:2:5"), "{rendered}");
    insta::assert_snapshot!(rendered);
}
