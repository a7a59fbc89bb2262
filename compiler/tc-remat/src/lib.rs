//! Memory-aware rematerialisation: rewrite a graph so that its peak memory (as the
//! reference interpreter measures it, [`peak_bytes`]) fits a budget, by recomputing some
//! values just before a later use instead of keeping them alive, at the least extra
//! compute under an explicit [`CostModel`].
//!
//! [`rematerialize`] returns an equivalent graph: the same parameters, outputs and
//! donations (`tc_ir::donate`, which the memory model honours), every result
//! bit-identical (a recomputation repeats the same deterministic op, `Random` with the
//! same seed included). [`plan`] also reports the peak and the extra compute.
//! Strategies ([`Strategy`]), one per file:
//! - `greedy`: an offline DTR-style planner for any DAG (fast: thousands of nodes in
//!   milliseconds), and `local`, the local search that prunes and steers its plans;
//! - `chain` + `chain_dp`: an exact dynamic program over the layers of a chain
//!   (Griewank's revolve / Beaumont et al.'s heterogeneous chains);
//! - `sqrtn`: Chen et al.'s √n checkpointing, a baseline for chains;
//! - `milp`: Checkmate's exact MILP solved by CBC, the oracle for small graphs (cargo
//!   feature `milp`, off for the compiler: it links the system's libCbc);
//! - `planner`: the default, the cheapest valid plan of the store-everything order, the
//!   chain DP and the DAG planner with its local search, and the
//!   smallest-feasible-budget search.
//!
//! The memory model, the cost model and the results are in `docs/remat.md`.

mod chain;
mod chain_dp;
pub mod cost;
mod greedy;
mod local;
#[cfg(feature = "milp")]
mod milp;
pub mod peak;
mod planner;
mod problem;
mod sqrtn;

use std::fmt;

use tc_ir::Graph;

pub use cost::CostModel;
pub use peak::peak_bytes;

use problem::Problem;

/// Which algorithm plans.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// The default: the cheapest of storing everything, the chain DP (on chains) and the
    /// DAG planner's policies.
    Planner,
    /// The DAG planner alone (its best policy).
    Greedy,
    /// The exact layer DP; chains only.
    ChainDp,
    /// Chen et al.'s √n checkpointing (fixed: it ignores the budget except to reject a
    /// plan above it); chains only.
    SqrtN,
    /// Checkmate's MILP, exact for the graph's order; small graphs only; needs the
    /// `milp` feature (otherwise [`RematError::Milp`]).
    Milp,
}

/// How to plan.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Options {
    /// The compute cost every strategy minimises.
    pub cost: CostModel,
    pub strategy: Strategy,
    /// Wall-clock limit for one MILP solve, in seconds.
    pub milp_time_limit_s: f64,
}

impl Default for Options {
    fn default() -> Options {
        Options { cost: CostModel::default(), strategy: Strategy::Planner, milp_time_limit_s: 60.0 }
    }
}

/// A rematerialised graph and what it costs.
#[derive(Clone, Debug)]
pub struct Plan {
    pub graph: Graph,
    /// `peak_bytes(&graph)`.
    pub peak_bytes: usize,
    /// Cost of the input graph's live nodes run once (the cost model's units, ns).
    pub base_cost: f64,
    /// Cost of the recomputations: the plan's cost minus `base_cost`.
    pub extra_cost: f64,
}

/// Why no plan came back.
#[derive(Clone, Debug, PartialEq)]
pub enum RematError {
    /// The budget is below the smallest peak the strategy can reach.
    Infeasible { budget_bytes: usize, min_feasible_bytes: usize },
    /// The strategy needs a chain (forward layers joined by single tensors, then their
    /// backward in reverse) and the graph is not one.
    NotAChain,
    /// The MILP did not solve (too large for its time limit, or a solver error).
    Milp(String),
    /// A bug: a strategy produced an invalid schedule.
    Internal(String),
}

/// `bytes` for people: "1.4 MiB".
pub fn format_bytes(bytes: usize) -> String {
    const KIB: f64 = 1024.0;
    let b = bytes as f64;
    if b >= KIB * KIB * KIB {
        format!("{:.2} GiB", b / (KIB * KIB * KIB))
    } else if b >= KIB * KIB {
        format!("{:.2} MiB", b / (KIB * KIB))
    } else if b >= KIB {
        format!("{:.1} KiB", b / KIB)
    } else {
        format!("{bytes} B")
    }
}

impl fmt::Display for RematError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RematError::Infeasible { budget_bytes, min_feasible_bytes } => write!(
                f,
                "budget {} ({budget_bytes} bytes) is below the smallest feasible peak of {} ({min_feasible_bytes} bytes) for this program",
                format_bytes(*budget_bytes),
                format_bytes(*min_feasible_bytes)
            ),
            RematError::NotAChain => f.write_str("this strategy needs a chain of layers and the graph is not one"),
            RematError::Milp(msg) => write!(f, "the MILP did not solve: {msg}"),
            RematError::Internal(msg) => write!(f, "internal rematerialisation error: {msg}"),
        }
    }
}

impl std::error::Error for RematError {}

/// An equivalent graph whose peak memory is at most `budget_bytes`, recomputing as
/// little as the strategy can. Dead nodes are dropped.
pub fn rematerialize(graph: &Graph, budget_bytes: usize, opts: &Options) -> Result<Graph, RematError> {
    plan(graph, budget_bytes, opts).map(|p| p.graph)
}

/// [`rematerialize`], also reporting the peak and the extra compute.
pub fn plan(graph: &Graph, budget_bytes: usize, opts: &Options) -> Result<Plan, RematError> {
    let p = Problem::new(graph, &opts.cost);
    let steps = planner::steps_for(&p, budget_bytes, opts)?;
    finish(&p, &steps, budget_bytes)
}

/// The smallest peak the strategy reaches with unlimited recomputation. For the MILP it
/// is exact for the graph's order; for the others it is the lowest peak of a plan they
/// find (an upper bound on the true minimum, which is NP-hard in general), and it is
/// what [`RematError::Infeasible`] reports. `Err` when the strategy does not apply.
pub fn min_feasible_peak(graph: &Graph, opts: &Options) -> Result<usize, RematError> {
    let p = Problem::new(graph, &opts.cost);
    let steps = planner::min_peak_steps(&p, opts)?;
    p.steps_peak(&steps).ok_or_else(|| RematError::Internal("invalid minimum-peak schedule".into()))
}

fn finish(p: &Problem, steps: &[usize], budget_bytes: usize) -> Result<Plan, RematError> {
    let graph = p.build(steps).map_err(RematError::Internal)?;
    let peak = peak_bytes(&graph);
    debug_assert_eq!(p.steps_peak(steps), Some(peak), "the schedule's accounting differs from the graph's");
    if peak > budget_bytes {
        return Err(RematError::Internal(format!("plan peaks at {peak} bytes, over the budget of {budget_bytes}")));
    }
    let base_cost = p.base_cost();
    Ok(Plan { graph, peak_bytes: peak, base_cost, extra_cost: p.steps_cost(steps) - base_cost })
}
