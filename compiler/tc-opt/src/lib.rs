//! Simplification of the graph IR, one pass per file, each a plain function from a
//! graph to a graph:
//!
//! - [`fold`](fold::fold): constant folding with the reference interpreter,
//! - [`algebra`](algebra::algebra): algebraic identities (`x + 0`, `neg(neg(x))`, ...),
//! - [`cse`](cse::cse): common subexpression elimination,
//! - [`dce`](dce::dce): dead code elimination.
//!
//! [`pipeline::simplify`] runs them in that order to a fixed point, with the verifier
//! between passes in debug builds. Every pass keeps the function's signature: the same
//! parameters (all `Param` nodes survive, used or not) and outputs of the same types.
//! Passes expect a graph that verifies ([`tc_ir::verify::verify`]).
//!
//! Not a simplification, and not in the pipeline: [`precision::bf16_contractions`],
//! the rewrite behind `--precision bf16`.

pub mod algebra;
pub mod cse;
pub mod dce;
pub mod fold;
pub mod pipeline;
pub mod precision;
mod rebuild;

pub use pipeline::{run_pass, run_until, simplify, simplify_traced, UnknownPass, PASSES};
