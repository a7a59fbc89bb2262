//! The tensorc front end: source text to AST, with every syntax error reported.

pub mod ast;
pub mod diag;
