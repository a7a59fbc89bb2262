//! Snapshot tests of the front end: the pretty-printed AST of representative programs
//! (`tests/programs/*.tc`) and the diagnostics of erroneous ones, plus checks of the
//! public API that are clearer as assertions.

use tc_syntax::ast::{BinOp, ExprKind, Item};
use tc_syntax::diag::{Diagnostic, FileId, SourceMap};

/// Parses `src`, asserting that it has no diagnostics, and pretty-prints it.
fn pretty_ok(src: &str) -> String {
    let (file, diags) = tc_syntax::parse_file(FileId(0), src);
    assert!(
        diags.is_empty(),
        "unexpected diagnostics:\n{}",
        render(src, &diags)
    );
    tc_syntax::pretty(&file)
}

/// Parses `src` and renders its diagnostics.
fn diagnostics(src: &str) -> String {
    let (_, diags) = tc_syntax::parse_file(FileId(0), src);
    render(src, &diags)
}

/// One block per diagnostic: `CODE line:col @start..end `text`: message`, then its
/// labels and hint.
fn render(src: &str, diags: &[Diagnostic]) -> String {
    let mut sources = SourceMap::new();
    let file = sources.add("test.tc", src);
    let mut out = String::new();
    for diag in diags {
        let span = diag.primary.loc.span;
        let (line, col) = sources.line_col(file, span.start);
        let text = &src[span.start..span.end];
        out += &format!(
            "{} {line}:{col} @{}..{} `{text}`: {}\n",
            diag.code, span.start, span.end, diag.message
        );
        if !diag.primary.message.is_empty() {
            out += &format!("  label: {}\n", diag.primary.message);
        }
        for label in &diag.secondary {
            let span = label.loc.span;
            let text = &src[span.start..span.end];
            out += &format!(
                "  secondary @{}..{} `{text}`: {}\n",
                span.start, span.end, label.message
            );
        }
        if let Some(hint) = &diag.hint {
            out += &format!("  hint: {hint}\n");
        }
    }
    out
}

macro_rules! ast_snapshot {
    ($name:ident) => {
        #[test]
        fn $name() {
            let src = include_str!(concat!("programs/", stringify!($name), ".tc"));
            insta::assert_snapshot!(concat!("ast_", stringify!($name)), pretty_ok(src));
        }
    };
}

ast_snapshot!(mlp);
ast_snapshot!(precedence);
ast_snapshot!(tuples);
ast_snapshot!(indexing);
ast_snapshot!(kwargs);
ast_snapshot!(types);
ast_snapshot!(literals);
ast_snapshot!(items);
ast_snapshot!(blocks);

#[test]
fn expressions() {
    let exprs = [
        "-x ** 2",
        "x as f16 * y",
        "a @ b + c",
        "2 ** -x ** 3",
        "f(a)(b)[0]",
        "[[1.0, 2.0], [3.0, 4.0]].T",
        "{ let y = x; y }",
        "nn::softmax(z, axis=0)",
    ];
    let mut out = String::new();
    for src in exprs {
        let expr = tc_syntax::parse_expr(FileId(0), src)
            .unwrap_or_else(|diags| panic!("{}", render(src, &diags)));
        out += &format!("{src}\n{}\n\n", tc_syntax::pretty_expr(&expr));
    }
    insta::assert_snapshot!(out);
}

#[test]
fn three_separate_errors_are_all_reported() {
    let src = "\
fn first(x) {
    let a = x + ;
    a
}

fn second(x, y) {
    f(x y)
}

fn third(x) {
    let = x;
    x
}
";
    insta::assert_snapshot!(diagnostics(src));
}

#[test]
fn errors_everywhere() {
    let src = "\
use nn::{relu, softmax,};
const K: f32 = 3.0 3;
fn f(x: f32[2, N, ..B], axis=-1) -> (f32[N], i32) {
    let b: f32 = f(a b, 1);
    let = 3;
    a + b
}
fn g(x: ) { x }
fn h() { let y = 1 let z = 2; y }
fn }
pub fn ok(t) { t.0 }
";
    let (file, diags) = tc_syntax::parse_file(FileId(0), src);
    insta::assert_snapshot!(render(src, &diags));
    // Recovery keeps what parsed: the use, the const and the functions around errors.
    insta::assert_snapshot!(tc_syntax::pretty(&file));
}

#[test]
fn error_codes() {
    let cases = [
        ("E0001 missing operand", "fn f(x) { x * }"),
        ("E0001 chained comparison", "fn f(a, b, c) { a < b < c }"),
        ("E0001 unclosed block", "fn f(x) {\n    let y = x;"),
        ("E0001 stray token after item", "fn f(x) { x } }"),
        ("E0001 unknown field", "fn f(x) { x.size }"),
        (
            "E0001 two rest dimensions",
            "fn f(x: f32[..A, N, ..B]) { x }",
        ),
        ("E0001 empty body", "fn f(x) { }"),
        ("E0002 invalid characters", "fn f(x) { x ## 2 }"),
        ("E0002 single ampersand", "fn f(a, b) { a & b }"),
        ("E0002 unterminated string", "fn f() { \"text }"),
        ("E0003 if", "fn f(c, a, b) { if c { a } else { b } }"),
        ("E0003 reserved name", "fn f(x) { let in = x; in }"),
        ("E0004 integer", "fn f() { 18446744073709551616 }"),
        ("E0004 float", "fn f() { 1e400 }"),
        ("E0004 tuple index", "fn f(t) { t.4294967296 }"),
        (
            "E0004 huge tuple index",
            "fn f(t) { t.99999999999999999999 }",
        ),
        (
            "E0005 positional after keyword",
            "fn f(x) { sum(axis=0, x) }",
        ),
    ];
    let mut out = String::new();
    for (name, src) in cases {
        out += &format!("--- {name}\n{src}\n{}", diagnostics(src));
    }
    insta::assert_snapshot!(out);
}

#[test]
fn nesting_too_deep() {
    let brackets = format!("fn f(x) {{ {}x{} }}", "(".repeat(300), ")".repeat(300));
    let unclosed = "[".repeat(100_000);
    let negations = format!("fn f(x) {{ {}x }}", "-".repeat(100_000));
    let powers = format!("fn f(x) {{ {}x }}", "x ** ".repeat(100_000));
    let calls = format!("fn f(x) {{ x{} }}", "(1)".repeat(100_000));
    for src in [&brackets, &unclosed, &negations, &powers, &calls] {
        let (file, diags) = tc_syntax::parse_file(FileId(0), src);
        assert!(file.items.is_empty());
        let codes: Vec<_> = diags.iter().map(|d| d.code).collect();
        assert_eq!(codes, ["E0006"], "{}", &src[..40]);
    }
    insta::assert_snapshot!(diagnostics(&brackets));
    // Deep but not too deep, and long flat lists, are fine.
    let fine = format!(
        "fn f(x) {{ {}x{} + [{}] }}",
        "(".repeat(200),
        ")".repeat(200),
        "[1.0, -2.0], ".repeat(10_000)
    );
    assert_eq!(diagnostics(&fine), "");
}

#[test]
fn expression_spans_cover_the_whole_expression() {
    let src = "fn f(a, b, c) { (a + b) * g(c, axis=1)[0] }";
    let (file, diags) = tc_syntax::parse_file(FileId(0), src);
    assert!(diags.is_empty());
    let Item::Fn(f) = &file.items[0] else {
        panic!("not a function")
    };
    let body = &f.body.result;
    assert_eq!(
        &src[body.span.start..body.span.end],
        "(a + b) * g(c, axis=1)[0]"
    );
    let ExprKind::Binary(BinOp::Mul, lhs, rhs) = &body.kind else {
        panic!("not a product")
    };
    assert_eq!(&src[lhs.span.start..lhs.span.end], "a + b");
    assert_eq!(&src[rhs.span.start..rhs.span.end], "g(c, axis=1)[0]");
    let ExprKind::Index(call, _) = &rhs.kind else {
        panic!("not an index")
    };
    assert_eq!(&src[call.span.start..call.span.end], "g(c, axis=1)");
}

#[test]
fn parse_expr_reports_errors() {
    for (src, code) in [
        ("1 2", "E0001"),
        ("a < b < c", "E0001"),
        ("", "E0001"),
        ("f(x=1, 2)", "E0005"),
        ("x $", "E0002"),
    ] {
        let diags = tc_syntax::parse_expr(FileId(3), src).expect_err(src);
        assert_eq!(diags[0].code, code, "{src}");
        assert_eq!(diags[0].primary.loc.file, FileId(3));
    }
}

#[test]
fn eof_errors_point_at_the_end_of_the_text() {
    let src = "fn f(x) { x + ";
    let (_, diags) = tc_syntax::parse_file(FileId(0), src);
    assert_eq!(diags.len(), 1);
    assert_eq!(
        diags[0].primary.loc.span,
        tc_syntax::ast::Span::new(src.len(), src.len())
    );
}

#[test]
fn a_byte_order_mark_is_no_error_and_no_column() {
    let plain = "fn f(x) { x + }\n";
    let marked = format!("\u{feff}{plain}");
    let (file, diags) = tc_syntax::parse_file(FileId(0), &marked);
    assert_eq!(file.items.len(), 1);
    let codes: Vec<_> = diags.iter().map(|d| d.code).collect();
    assert_eq!(codes, ["E0001"], "only the missing operand");
    let mut sources = SourceMap::new();
    let (plain_id, marked_id) = (sources.add("plain.tc", plain), sources.add("marked.tc", marked.as_str()));
    let (_, plain_diags) = tc_syntax::parse_file(FileId(0), plain);
    let at = |file, diags: &[Diagnostic]| sources.line_col(file, diags[0].primary.loc.span.start);
    assert_eq!(at(marked_id, &diags), at(plain_id, &plain_diags));
    assert_eq!(at(marked_id, &diags), (1, 15));
    assert_eq!(sources.line_col(marked_id, 0), (1, 1));
}
