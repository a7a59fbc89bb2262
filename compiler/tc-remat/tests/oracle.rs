//! Every strategy against Checkmate's MILP (solved by CBC) on small graphs: random
//! training steps and pure chains, at budgets spread between the MILP's smallest feasible
//! peak and the store-everything peak. The MILP solves are shared by the tests (CBC runs
//! one solve at a time).
//!
//! The MILP is exact for Checkmate's model, where every node is computed at its own
//! position in the caller's order (and may be recomputed before later ones). The planner
//! may also defer a node's first computation (an output computed only at the end, a
//! constant moved next to its reader), so it can come out below the MILP.

mod common;

use std::sync::OnceLock;

use common::{pure_chain, random_training};
use tc_ir::Graph;
use tc_remat::{min_feasible_peak, plan, Options, RematError, Strategy};

fn opts(strategy: Strategy) -> Options {
    Options { strategy, milp_time_limit_s: 30.0, ..Options::default() }
}

struct Case {
    name: String,
    graph: Graph,
    /// The MILP's smallest feasible peak, when it solved.
    milp_min: Option<usize>,
    /// `(budget, MILP extra)` for each budget of the sweep that the MILP solved.
    sweep: Vec<(usize, f64)>,
}

fn cases() -> &'static [Case] {
    static CASES: OnceLock<Vec<Case>> = OnceLock::new();
    CASES.get_or_init(|| {
        let mut graphs = Vec::new();
        for seed in 0..8u64 {
            graphs.push((format!("training {seed}"), random_training(seed, 3 + (seed as usize % 4))));
        }
        // Larger training steps (25–30 nodes) with room to recompute; most others of
        // this size do not solve within the time limit.
        for seed in [100u64, 101, 106, 113] {
            graphs.push((format!("training {seed}"), random_training(seed, 5 + (seed as usize % 2))));
        }
        for seed in 0..6u64 {
            graphs.push((format!("chain {seed}"), pure_chain(seed, 4 + (seed as usize % 4))));
        }
        graphs.into_iter().map(|(name, graph)| solve(name, graph)).collect()
    })
}

fn solve(name: String, graph: Graph) -> Case {
    let peak = plan(&graph, usize::MAX, &opts(Strategy::Planner)).expect("unbounded budget").peak_bytes;
    let milp_min = min_feasible_peak(&graph, &opts(Strategy::Milp)).ok();
    let sweep = match milp_min {
        Some(min) => [1.0, 0.75, 0.5, 0.25, 0.0]
            .iter()
            .map(|f| min + ((peak - min) as f64 * f) as usize)
            .filter_map(|b| plan(&graph, b, &opts(Strategy::Milp)).ok().map(|p| (b, p.extra_cost)))
            .collect(),
        None => Vec::new(),
    };
    Case { name, graph, milp_min, sweep }
}

/// `a / b` for extra costs, 1 when both are zero.
fn ratio(a: f64, b: f64) -> f64 {
    if b <= 1e-9 {
        if a <= 1e-9 {
            1.0
        } else {
            f64::INFINITY
        }
    } else {
        a / b
    }
}

#[test]
fn planner_extra_compute_is_close_to_the_milp_optimum() {
    let mut worst: (f64, String) = (0.0, String::new());
    let (mut points, mut over_target) = (0, 0);
    for case in cases() {
        for &(budget, milp) in &case.sweep {
            let p = plan(&case.graph, budget, &opts(Strategy::Planner)).expect("the MILP found a plan, so does the planner");
            assert!(p.peak_bytes <= budget);
            let r = ratio(p.extra_cost, milp);
            points += 1;
            over_target += usize::from(r > 1.10);
            if r > worst.0 {
                worst = (r, format!("{} at {budget} bytes: planner {} vs MILP {milp}", case.name, p.extra_cost));
            }
        }
    }
    println!("planner vs MILP over {points} budgets: {over_target} over 1.10×, worst ratio {:.3} ({})", worst.0, worst.1);
    assert!(points >= 60, "too few budgets solved: {points}");
    // Measured: every budget within 1.10× (the hoisting of recomputations in `local.rs`
    // fixed the one exception, training 100 at its smallest feasible budget, now below
    // the MILP).
    assert_eq!(over_target, 0, "{over_target} budgets over 1.10×; worst: {}", worst.1);
}

#[test]
fn the_chain_dp_equals_the_milp_on_chains_and_sqrt_n_is_above() {
    let mut points = 0;
    for case in cases().iter().filter(|c| c.name.starts_with("chain")) {
        for &(budget, milp) in &case.sweep {
            let dp = plan(&case.graph, budget, &opts(Strategy::ChainDp)).unwrap_or_else(|e| panic!("{} at {budget}: the MILP plans, the DP: {e}", case.name));
            assert!(dp.peak_bytes <= budget);
            assert!((dp.extra_cost - milp).abs() <= 1e-6 * milp.max(1.0), "{} at {budget}: DP {} vs MILP {milp}", case.name, dp.extra_cost);
            points += 1;
            if let Ok(sq) = plan(&case.graph, budget, &opts(Strategy::SqrtN)) {
                assert!(sq.extra_cost >= milp - 1e-6, "{}: √n beat the exact MILP", case.name);
            }
        }
    }
    println!("chain DP equals the MILP at {points} chain budgets");
    assert!(points >= 25, "too few chain budgets solved: {points}");
}

#[test]
fn infeasible_budgets_report_the_smallest_feasible_peak() {
    for case in cases() {
        let g = &case.graph;
        for strategy in [Strategy::Planner, Strategy::Greedy, Strategy::Milp] {
            let min = match strategy {
                Strategy::Milp => match case.milp_min {
                    Some(min) => min,
                    None => continue,
                },
                _ => min_feasible_peak(g, &opts(strategy)).expect("the planner always plans"),
            };
            // Proving the MILP infeasible can be slow; a short limit keeps the test quick.
            let o = if strategy == Strategy::Milp { Options { milp_time_limit_s: 5.0, ..opts(strategy) } } else { opts(strategy) };
            match plan(g, min - 1, &o) {
                Err(e @ RematError::Infeasible { .. }) => {
                    assert_eq!(e, RematError::Infeasible { budget_bytes: min - 1, min_feasible_bytes: min }, "{} {strategy:?}", case.name);
                    assert!(e.to_string().contains(&format!("smallest feasible peak of {}", tc_remat::format_bytes(min))));
                }
                // Proving the MILP infeasible can outlast its time limit.
                Err(RematError::Milp(_)) if strategy == Strategy::Milp => continue,
                other => panic!("{} {strategy:?}: expected infeasible below {min}, got {other:?}", case.name),
            }
            // The sweep already planned the MILP at its minimum.
            if strategy != Strategy::Milp {
                let p = plan(g, min, &opts(strategy)).expect("the minimum itself is feasible");
                assert!(p.peak_bytes <= min);
            }
        }
    }
}

#[test]
fn the_planner_reaches_the_milp_minimum_budget() {
    let mut worst: f64 = 0.0;
    for case in cases() {
        let Some(milp) = case.milp_min else { continue };
        let planner = min_feasible_peak(&case.graph, &opts(Strategy::Planner)).expect("the planner always plans");
        worst = worst.max(planner as f64 / milp as f64);
        assert!(planner as f64 <= milp as f64 * 1.05, "{}: planner {planner} vs MILP {milp}", case.name);
    }
    println!("smallest feasible budget, planner vs MILP: worst ratio {worst:.3}");
}
