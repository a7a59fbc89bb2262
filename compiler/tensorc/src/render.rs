//! Diagnostics to text (SPEC §8), with `codespan-reporting` and ASCII drawing:
//!
//! ```text
//! error[E0301]: cannot broadcast f32[2, 3] with f32[4]
//!   --> mlp.tc:5:13
//!    |
//!  5 |     let y = x + b;
//!    |             ^^^^^ shapes [2, 3] and [4] differ in the last dimension
//!    = hint: `b` was declared f32[H] with H = 4 at mlp.tc:2:30
//! ```

use std::io::Write;
use std::ops::Range;

use codespan_reporting::diagnostic::{Diagnostic as Report, Label as ReportLabel};
use codespan_reporting::files::SimpleFiles;
use codespan_reporting::term::termcolor::{Buffer, Color, ColorSpec, WriteColor};
use codespan_reporting::term::{self, Chars, Config};
use tc_syntax::diag::{Diagnostic, Label, SourceMap};
use tc_syntax::lexer::bom_len;

/// Every diagnostic in order, each followed by a blank line; ANSI colours if `color`.
pub fn render_diagnostics(sources: &SourceMap, diagnostics: &[Diagnostic], color: bool) -> String {
    let mut files = SimpleFiles::new();
    for i in 0..sources.len() {
        let id = tc_syntax::diag::FileId(i as u32);
        files.add(sources.name(id).to_string(), shown_text(sources.text(id)).to_string());
    }
    let config = Config { chars: Chars::ascii(), ..Config::default() };
    let mut buffer = new_buffer(color);
    for diagnostic in diagnostics {
        let report = to_report(sources, diagnostic);
        if term::emit(&mut buffer, &config, &files, &report).is_err() {
            // Only a span outside its file gets here (`to_report` clamps spans, so a
            // bug elsewhere): still report the error, without the snippet.
            let _ = writeln!(buffer, "error[{}]: {}\n", diagnostic.code, diagnostic.message);
        }
    }
    String::from_utf8_lossy(buffer.as_slice()).into_owned()
}

/// `error: could not compile FILE (N errors)` and a newline.
pub fn render_summary(file: &str, errors: usize, color: bool) -> String {
    let mut buffer = new_buffer(color);
    let noun = if errors == 1 { "error" } else { "errors" };
    let _ = buffer.set_color(ColorSpec::new().set_fg(Some(Color::Red)).set_bold(true).set_intense(true));
    let _ = write!(buffer, "error");
    let _ = buffer.reset();
    let _ = writeln!(buffer, ": could not compile {file} ({errors} {noun})");
    String::from_utf8_lossy(buffer.as_slice()).into_owned()
}

fn new_buffer(color: bool) -> Buffer {
    if color {
        Buffer::ansi()
    } else {
        Buffer::no_color()
    }
}

fn to_report(sources: &SourceMap, diagnostic: &Diagnostic) -> Report<usize> {
    let mut labels = vec![label(sources, &diagnostic.primary, ReportLabel::primary)];
    labels.extend(diagnostic.secondary.iter().map(|l| label(sources, l, ReportLabel::secondary)));
    let mut report = Report::error()
        .with_code(diagnostic.code)
        .with_message(&diagnostic.message)
        .with_labels(labels);
    if let Some(hint) = &diagnostic.hint {
        report = report.with_note(format!("hint: {hint}"));
    }
    report
}

fn label(
    sources: &SourceMap,
    label: &Label,
    make: fn(usize, Range<usize>) -> ReportLabel<usize>,
) -> ReportLabel<usize> {
    let file = label.loc.file.0 as usize;
    let range = if file < sources.len() {
        let text = sources.text(label.loc.file);
        let bom = bom_len(text);
        clamp(shown_text(text), label.loc.span.start.saturating_sub(bom), label.loc.span.end.saturating_sub(bom))
    } else {
        0..0
    };
    make(file, range).with_message(&label.message)
}

/// The text as shown and counted in columns: without a leading byte-order mark (the
/// lexer skips it, and spans count its bytes, so labels move back by as many).
fn shown_text(text: &str) -> &str {
    &text[bom_len(text)..]
}

/// The span moved inside the text and onto character boundaries.
fn clamp(text: &str, start: usize, end: usize) -> Range<usize> {
    let floor = |mut i: usize| {
        i = i.min(text.len());
        while !text.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    let start = floor(start);
    start..floor(end).max(start)
}
