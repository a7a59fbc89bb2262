//! Rematerialised graphs compute bit-identical results, verify, and peak (as the
//! interpreter measures) within the budget, for every strategy and many budgets.

mod common;

use common::{bitwise_equal, inputs, pure_chain, random_dag, random_training, random_update, with_random_donations};
use tc_ir::Graph;
use tc_remat::{min_feasible_peak, peak_bytes, plan, Options, RematError, Strategy};

fn check(g: &Graph, strategy: Strategy) {
    let opts = Options { strategy, ..Options::default() };
    let args = inputs(g, 7);
    let expected = tc_interp::run(g, &args).expect("the original runs");
    let full = peak_bytes(g);
    let min = match min_feasible_peak(g, &opts) {
        Ok(m) => m,
        Err(RematError::NotAChain) => return,
        Err(e) => panic!("{e}"),
    };
    for f in [1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3] {
        let budget = ((full as f64 * f) as usize).max(min);
        let p = match plan(g, budget, &opts) {
            Ok(p) => p,
            Err(RematError::Infeasible { .. }) if strategy == Strategy::SqrtN => continue,
            Err(e) => panic!("{strategy:?} at {budget}: {e}\n{}", tc_ir::text::print(g)),
        };
        tc_ir::verify::verify(&p.graph).expect("the plan verifies");
        assert_eq!(p.graph.param_types(), g.param_types());
        assert_eq!(p.graph.donations, g.donations);
        let (got, stats) = tc_interp::run_with_stats(&p.graph, &args).expect("the plan runs");
        assert!(bitwise_equal(&got, &expected), "{strategy:?} at {budget}: results differ");
        assert_eq!(stats.peak_bytes, p.peak_bytes);
        assert!(stats.peak_bytes <= budget, "{strategy:?}: peak {} over budget {budget}", stats.peak_bytes);
        assert!(p.extra_cost >= -1e-9);
    }
}

#[test]
fn planner_and_greedy_preserve_results_on_random_dags() {
    for seed in 0..30 {
        let g = random_dag(seed, 6 + seed as usize % 14);
        check(&g, Strategy::Planner);
        check(&g, Strategy::Greedy);
    }
}

#[test]
fn every_strategy_preserves_results_on_training_graphs() {
    for seed in 0..25 {
        let g = random_training(seed, 3 + seed as usize % 10);
        for s in [Strategy::Planner, Strategy::Greedy, Strategy::ChainDp, Strategy::SqrtN] {
            check(&g, s);
        }
    }
}

#[test]
fn every_strategy_preserves_results_on_chains() {
    for seed in 0..12 {
        let g = pure_chain(seed, 3 + seed as usize);
        for s in [Strategy::Planner, Strategy::Greedy, Strategy::ChainDp, Strategy::SqrtN] {
            check(&g, s);
        }
    }
}

#[test]
fn milp_plans_preserve_results() {
    for seed in 0..6 {
        let g = pure_chain(seed, 4);
        check(&g, Strategy::Milp);
    }
}

#[test]
fn every_strategy_preserves_results_with_donations() {
    for seed in 0..16 {
        let g = random_update(seed, 3 + seed as usize % 8, seed % 2 == 0);
        for s in [Strategy::Planner, Strategy::Greedy, Strategy::ChainDp, Strategy::SqrtN] {
            check(&g, s);
        }
        let g = with_random_donations(random_training(seed, 3 + seed as usize % 8), seed);
        check(&g, Strategy::Planner);
        check(&g, Strategy::Greedy);
    }
}

#[test]
fn milp_plans_preserve_results_with_donations() {
    for seed in 0..4 {
        check(&random_update(seed, 2, seed % 2 == 0), Strategy::Milp);
    }
}
