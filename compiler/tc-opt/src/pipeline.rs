//! The simplification pipeline: `fold`, `algebra`, `cse`, `dce`, repeated until the
//! graph stops changing (at most [`MAX_ROUNDS`] rounds). In debug builds the verifier
//! runs on the input and after every pass, and a pass that breaks a valid graph is a
//! bug: it panics, naming the pass and printing the graph.
//!
//! Pass names ([`PASSES`]) serve `--dump-after=NAME`: [`run_until`] gives the graph
//! after the first run of a pass, [`simplify_traced`] reports the graph after every
//! pass of every round.

use crate::{algebra::algebra, cse::cse, dce::dce, fold::fold};
use tc_ir::text::print;
use tc_ir::verify::verify;
use tc_ir::Graph;

/// The passes in pipeline order.
pub const PASSES: &[&str] = &["fold", "algebra", "cse", "dce"];

/// Rounds of all passes before `simplify` gives up on reaching a fixed point. Each
/// round only removes work, so real graphs settle in two or three.
pub const MAX_ROUNDS: usize = 8;

/// A pass name that is not one of [`PASSES`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownPass(pub String);

impl std::fmt::Display for UnknownPass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "unknown pass `{}` (the passes are {})", self.0, PASSES.join(", "))
    }
}

impl std::error::Error for UnknownPass {}

/// Run one pass by name.
pub fn run_pass(name: &str, graph: &Graph) -> Result<Graph, UnknownPass> {
    let pass: fn(&Graph) -> Graph = match name {
        "fold" => fold,
        "algebra" => algebra,
        "cse" => cse,
        "dce" => dce,
        _ => return Err(UnknownPass(name.to_string())),
    };
    Ok(pass(graph))
}

/// Simplify to a fixed point.
pub fn simplify(graph: &Graph) -> Graph {
    simplify_traced(graph, |_, _, _| {})
}

/// Simplify, calling `after(pass, round, graph)` after every pass (rounds count from 0).
pub fn simplify_traced(graph: &Graph, mut after: impl FnMut(&str, usize, &Graph)) -> Graph {
    check_input(graph);
    let mut g = graph.clone();
    for round in 0..MAX_ROUNDS {
        let start = g.clone();
        for &name in PASSES {
            g = run_checked(name, &g);
            after(name, round, &g);
        }
        if g.bitwise_eq(&start) {
            break;
        }
    }
    g
}

/// The graph after the first run of pass `name` in the pipeline (the passes before it
/// run once, in order).
pub fn run_until(graph: &Graph, name: &str) -> Result<Graph, UnknownPass> {
    if !PASSES.contains(&name) {
        return Err(UnknownPass(name.to_string()));
    }
    check_input(graph);
    let mut g = graph.clone();
    for &pass in PASSES {
        g = run_checked(pass, &g);
        if pass == name {
            break;
        }
    }
    Ok(g)
}

fn run_checked(name: &str, graph: &Graph) -> Graph {
    let out = run_pass(name, graph).expect("a name from PASSES");
    if cfg!(debug_assertions) {
        let problem = match verify(&out) {
            Err(e) => Some(e.to_string()),
            Ok(()) if out.param_types() != graph.param_types() => Some("the parameters changed".to_string()),
            Ok(()) if out.output_types() != graph.output_types() => Some("the output types changed".to_string()),
            Ok(()) => None,
        };
        if let Some(problem) = problem {
            panic!(
                "pass `{name}` produced an invalid graph: {problem}\nbefore:\n{}after:\n{}",
                print(graph),
                print(&out)
            );
        }
    }
    out
}

fn check_input(graph: &Graph) {
    if cfg!(debug_assertions) {
        if let Err(e) = verify(graph) {
            panic!("simplify was given an invalid graph: {e}\n{}", print(graph));
        }
    }
}
