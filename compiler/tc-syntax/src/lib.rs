//! The tensorc front end: source text to AST, with every syntax error reported.
//!
//! [`parse_file`] and [`parse_expr`] never panic and never stop at the first error: the
//! lexer skips what it cannot read, the parser recovers at items, parameters, `let`
//! statements and expressions, and every problem becomes a [`diag::Diagnostic`] with one
//! of the codes E0001–E0006 (see `docs/errors.md`). [`pretty`] renders the AST as text.

pub mod ast;
pub mod diag;
pub mod lexer;
mod parser;
mod pretty;

pub use parser::MAX_NESTING;
pub use pretty::{pretty, pretty_expr};

use ast::{Expr, File};
use diag::{Diagnostic, FileId};

/// Parses a `.tc` file. The AST holds everything that could be parsed; places where the
/// parser recovered from an error are [`ast::ExprKind::Error`] or are left out. The
/// diagnostics are sorted by position.
pub fn parse_file(file: FileId, src: &str) -> (File, Vec<Diagnostic>) {
    parser::parse_file(file, src)
}

/// Parses a single expression (the REPL's `:type EXPR`); all diagnostics on failure.
pub fn parse_expr(file: FileId, src: &str) -> Result<Expr, Vec<Diagnostic>> {
    parser::parse_expr(file, src)
}
