//! Every strategy against Checkmate's MILP (the exact optimum for the graph's order) on
//! small graphs: random training steps and pure chains, at budgets spread between the
//! MILP's smallest feasible peak and the store-everything peak.

mod common;

use common::{pure_chain, random_training};
use tc_ir::Graph;
use tc_remat::{min_feasible_peak, plan, Options, RematError, Strategy};

fn opts(strategy: Strategy) -> Options {
    Options { strategy, milp_time_limit_s: 20.0, ..Options::default() }
}

fn graphs() -> Vec<(String, Graph)> {
    let mut out = Vec::new();
    for seed in 0..8u64 {
        out.push((format!("training {seed}"), random_training(seed, 3 + (seed as usize % 4))));
    }
    for seed in 0..6u64 {
        out.push((format!("chain {seed}"), pure_chain(seed, 4 + (seed as usize % 4))));
    }
    out
}

/// `(budget, MILP extra)` for each graph's budget sweep, where the MILP solved in time.
fn sweep(g: &Graph) -> Vec<(usize, f64)> {
    let peak = plan(g, usize::MAX, &opts(Strategy::Planner)).expect("unbounded budget").peak_bytes;
    let Ok(min) = min_feasible_peak(g, &opts(Strategy::Milp)) else { return Vec::new() };
    [1.0, 0.75, 0.5, 0.25, 0.0]
        .iter()
        .map(|f| min + ((peak - min) as f64 * f) as usize)
        .filter_map(|b| plan(g, b, &opts(Strategy::Milp)).ok().map(|p| (b, p.extra_cost)))
        .collect()
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
    let mut worst: (f64, String) = (1.0, String::new());
    let mut points = 0;
    for (name, g) in graphs() {
        for (budget, milp) in sweep(&g) {
            let p = plan(&g, budget, &opts(Strategy::Planner)).expect("the MILP found a plan, so does the planner");
            assert!(p.peak_bytes <= budget);
            let r = ratio(p.extra_cost, milp);
            points += 1;
            if r > worst.0 {
                worst = (r, format!("{name} at {budget} bytes: planner {} vs MILP {milp}", p.extra_cost));
            }
        }
    }
    println!("planner vs MILP over {points} budgets: worst ratio {:.3} ({})", worst.0, worst.1);
    assert!(points >= 40, "too few budgets solved: {points}");
    // What the planner achieves on these seeds: within 1.10× of the optimum except close to
    // the smallest feasible budget, where its greedy eviction is myopic (worst 2.63× here,
    // on a training graph at its minimum budget). The bound is what we measure, not a goal.
    assert!(worst.0 <= 2.7, "{}", worst.1);
}

#[test]
fn the_milp_is_a_lower_bound_for_the_chain_dp_and_sqrt_n() {
    let mut worst_dp: f64 = 1.0;
    for (name, g) in graphs().into_iter().filter(|(n, _)| n.starts_with("chain")) {
        for (budget, milp) in sweep(&g) {
            if let Ok(dp) = plan(&g, budget, &opts(Strategy::ChainDp)) {
                assert!(dp.peak_bytes <= budget);
                assert!(dp.extra_cost >= milp - 1e-6, "{name}: the DP beat the exact MILP");
                worst_dp = worst_dp.max(ratio(dp.extra_cost, milp));
            }
            if let Ok(sq) = plan(&g, budget, &opts(Strategy::SqrtN)) {
                assert!(sq.extra_cost >= milp - 1e-6, "{name}: √n beat the exact MILP");
            }
        }
    }
    println!("chain DP vs MILP: worst ratio {worst_dp:.3}");
}

#[test]
fn infeasible_budgets_report_the_smallest_feasible_peak() {
    for (name, g) in graphs() {
        for strategy in [Strategy::Planner, Strategy::Greedy, Strategy::Milp] {
            let Ok(min) = min_feasible_peak(&g, &opts(strategy)) else { continue };
            match plan(&g, min - 1, &opts(strategy)) {
                Err(e @ RematError::Infeasible { .. }) => {
                    assert_eq!(e, RematError::Infeasible { budget_bytes: min - 1, min_feasible_bytes: min }, "{name} {strategy:?}");
                    assert!(e.to_string().contains(&format!("smallest feasible peak of {}", tc_remat::format_bytes(min))));
                }
                // Proving the MILP infeasible can outlast its time limit.
                Err(RematError::Milp(_)) if strategy == Strategy::Milp => continue,
                other => panic!("{name} {strategy:?}: expected infeasible below {min}, got {other:?}"),
            }
            let p = plan(&g, min, &opts(strategy)).expect("the minimum itself is feasible");
            assert!(p.peak_bytes <= min);
        }
    }
}

#[test]
fn the_planner_reaches_the_milp_minimum_budget() {
    let mut worst: f64 = 1.0;
    for (name, g) in graphs() {
        let Ok(milp) = min_feasible_peak(&g, &opts(Strategy::Milp)) else { continue };
        let planner = min_feasible_peak(&g, &opts(Strategy::Planner)).expect("the planner always plans");
        worst = worst.max(planner as f64 / milp as f64);
        assert!(planner as f64 <= milp as f64 * 1.05, "{name}: planner {planner} vs MILP {milp}");
    }
    println!("smallest feasible budget, planner vs MILP: worst ratio {worst:.3}");
}
