//! Each documented error code's diagnostics as a user reads them: the example of its
//! docs/errors.md section compiled (and `main` specialised), rendered as the CLI renders
//! (codespan-reporting, ASCII drawing, no colour), and kept as one reviewed snapshot per
//! code in `tests/snapshots/diagnostic_snapshots__EXXXX.snap`.

use codespan_reporting::diagnostic::{Diagnostic as Report, Label as ReportLabel};
use codespan_reporting::files::SimpleFiles;
use codespan_reporting::term::termcolor::Buffer;
use codespan_reporting::term::{self, Chars, Config};
use tc_syntax::diag::{Diagnostic, FileId, Label, SourceMap};

mod common;
mod doc_examples;
use doc_examples::{diagnose, documented};

/// What `tensorc` prints for `diagnostics` without colour (compiler/tensorc/src/render.rs,
/// which lives in the CLI crate: the same report built here from the same parts).
fn render(sources: &SourceMap, diagnostics: &[Diagnostic]) -> String {
    let mut files = SimpleFiles::new();
    for i in 0..sources.len() {
        let id = FileId(i as u32);
        files.add(sources.name(id).to_string(), sources.text(id).to_string());
    }
    let config = Config { chars: Chars::ascii(), ..Config::default() };
    let mut buffer = Buffer::no_color();
    for d in diagnostics {
        let label = |l: &Label, make: fn(usize, std::ops::Range<usize>) -> ReportLabel<usize>| {
            make(l.loc.file.0 as usize, l.loc.span.start..l.loc.span.end).with_message(&l.message)
        };
        let mut labels = vec![label(&d.primary, ReportLabel::primary)];
        labels.extend(d.secondary.iter().map(|l| label(l, ReportLabel::secondary)));
        let mut report = Report::error().with_code(d.code).with_message(&d.message).with_labels(labels);
        if let Some(hint) = &d.hint {
            report = report.with_note(format!("hint: {hint}"));
        }
        // A span outside its file fails here: a checker bug this test should show.
        term::emit(&mut buffer, &config, &files, &report).unwrap_or_else(|e| panic!("{}: {e}", d.code));
    }
    String::from_utf8(buffer.into_inner()).unwrap()
}

#[test]
fn every_documented_code_renders_as_its_snapshot() {
    for (code, example) in documented() {
        let (sources, diagnostics) = diagnose(&example);
        assert!(!diagnostics.is_empty(), "{code}: the example compiles\n{example}");
        insta::assert_snapshot!(code, render(&sources, &diagnostics));
    }
}

/// A code dropped from docs/errors.md leaves no snapshot behind (insta only reports the
/// snapshots a run asserts, not the ones it no longer does).
#[test]
fn every_snapshot_is_of_a_documented_code() {
    let codes: Vec<String> = documented().into_iter().map(|(code, _)| code).collect();
    let dir = format!("{}/tests/snapshots", env!("CARGO_MANIFEST_DIR"));
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if let Some(code) = name.strip_prefix("diagnostic_snapshots__").and_then(|n| n.strip_suffix(".snap")) {
            assert!(codes.iter().any(|c| c == code), "{name}: {code} is not in docs/errors.md; delete the snapshot");
        }
    }
}
