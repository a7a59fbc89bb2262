//! The one error type of the embedding API, and compile diagnostics with their sources.

use std::fmt;
use std::path::PathBuf;

use tc_syntax::diag::{Diagnostic, FileId, SourceMap};

use crate::render;

/// Compile errors with the source files they point into.
#[derive(Clone, Debug)]
pub struct Diagnostics {
    pub sources: SourceMap,
    /// The file that was compiled (named in the summary line).
    pub root: FileId,
    pub diagnostics: Vec<Diagnostic>,
}

impl Diagnostics {
    /// Every diagnostic as SPEC §8 shows it, then a summary line
    /// `error: could not compile FILE (N errors)`; ANSI colours if `color`.
    pub fn render(&self, color: bool) -> String {
        let mut out = render::render_diagnostics(&self.sources, &self.diagnostics, color);
        out.push_str(&render::render_summary(self.sources.name(self.root), self.diagnostics.len(), color));
        out
    }
}

/// Everything that can go wrong between source text and results.
#[derive(Debug)]
pub enum Error {
    /// The program does not compile.
    Compile(Diagnostics),
    /// The request is malformed: an unknown backend, stage or argument name, a
    /// missing argument.
    Usage(String),
    /// An input does not fit its parameter (wrong shape or dtype, unreadable file).
    Argument { param: String, message: String },
    /// Execution failed.
    Runtime(String),
    /// A file could not be read or written.
    Io { path: PathBuf, error: std::io::Error },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Compile(d) => f.write_str(d.render(false).trim_end()),
            Error::Usage(message) | Error::Runtime(message) => f.write_str(message),
            Error::Argument { param, message } => write!(f, "argument `{param}`: {message}"),
            Error::Io { path, error } => write!(f, "{}: {error}", path.display()),
        }
    }
}

impl std::error::Error for Error {}
