//! Strategy dispatch, the default planner, and the smallest-feasible-budget search.
//!
//! A strategy is a family of candidate schedules for a budget: the DAG planner's policies,
//! the chain DP's plan, √n's fixed plan, or (the default) the caller's order plus all of
//! those that apply. The cheapest candidate whose exact peak fits wins. When none fits,
//! the smallest budget the family can meet is found by bisection between a lower bound
//! (the largest single node with its inputs; all outputs together) and the caller's
//! peak; the plan found there is returned if it happens to fit after all, and otherwise
//! its peak is the minimum the error reports. The MILP is dispatched to directly.

use crate::chain::{self, Chain, Costs};
use crate::greedy::Policy;
use crate::problem::Problem;
use crate::{chain_dp, greedy, local, sqrtn, Options, RematError, Strategy};

pub(crate) fn steps_for(p: &Problem, budget: usize, opts: &Options) -> Result<Vec<usize>, RematError> {
    if opts.strategy == Strategy::Milp {
        return match milp_solve(p, Some(budget), opts.milp_time_limit_s) {
            Ok(steps) => Ok(steps),
            Err(msg) if msg == "infeasible" => {
                let steps = milp_solve(p, None, opts.milp_time_limit_s).map_err(RematError::Milp)?;
                let min = p.steps_peak(&steps).ok_or_else(|| RematError::Internal("invalid MILP schedule".into()))?;
                Err(RematError::Infeasible { budget_bytes: budget, min_feasible_bytes: min })
            }
            Err(msg) => Err(RematError::Milp(msg)),
        };
    }
    let family = Family::new(p, opts.strategy)?;
    if let Some(steps) = family.pick(p, budget, Key::Cost) {
        return Ok(steps);
    }
    let (steps, min) = family.min_peak(p)?;
    if min <= budget {
        Ok(steps)
    } else {
        Err(RematError::Infeasible { budget_bytes: budget, min_feasible_bytes: min })
    }
}

pub(crate) fn min_peak_steps(p: &Problem, opts: &Options) -> Result<Vec<usize>, RematError> {
    if opts.strategy == Strategy::Milp {
        return milp_solve(p, None, opts.milp_time_limit_s).map_err(RematError::Milp);
    }
    Family::new(p, opts.strategy)?.min_peak(p).map(|(steps, _)| steps)
}

/// The MILP's optimal schedule for `budget` (least compute) or, with `None`, its smallest
/// peak; `Err("infeasible")` when proven infeasible.
#[cfg(feature = "milp")]
fn milp_solve(p: &Problem, budget: Option<usize>, time_limit_s: f64) -> Result<Vec<usize>, String> {
    use crate::milp::{solve, Objective};
    solve(p, budget.map_or(Objective::Memory, |budget| Objective::Compute { budget }), time_limit_s)
}

#[cfg(not(feature = "milp"))]
fn milp_solve(_: &Problem, _: Option<usize>, _: f64) -> Result<Vec<usize>, String> {
    Err("tc-remat was built without its `milp` feature".into())
}

/// Which candidate wins among those that fit.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Key {
    Cost,
    Peak,
}

struct Family {
    strategy: Strategy,
    chain: Option<(Chain, Costs)>,
}

impl Family {
    fn new(p: &Problem, strategy: Strategy) -> Result<Family, RematError> {
        let chain = match strategy {
            Strategy::Planner | Strategy::ChainDp | Strategy::SqrtN => chain::detect(p).map(|c| {
                let costs = chain::costs(p, &c);
                (c, costs)
            }),
            Strategy::Greedy | Strategy::Milp => None,
        };
        if chain.is_none() && matches!(strategy, Strategy::ChainDp | Strategy::SqrtN) {
            return Err(RematError::NotAChain);
        }
        Ok(Family { strategy, chain })
    }

    fn candidates(&self, p: &Problem, budget: usize, key: Key) -> Vec<Vec<usize>> {
        let mut out = Vec::new();
        let dp = |out: &mut Vec<Vec<usize>>| {
            if let Some((c, costs)) = &self.chain {
                if let Some(events) = chain_dp::plan(costs, budget) {
                    out.push(chain::render(p, c, &events));
                }
            }
        };
        // The DAG planner's policies; for the least compute, each plan pruned, refined
        // by the local search and its recomputations hoisted, each sharing a work limit.
        let dag = |out: &mut Vec<Vec<usize>>| {
            let plans = greedy::POLICIES.iter().filter_map(|&pol| greedy::schedule(p, budget, pol, &[]).map(|s| (pol, s)));
            if key == Key::Peak {
                out.extend(plans.map(|(_, s)| s));
                return;
            }
            let plans: Vec<(Policy, Vec<usize>)> = plans.map(|(pol, s)| (pol, local::prune(p, budget, s))).collect();
            let share = local::WORK / plans.len().max(1);
            let hoist_share = local::HOIST_WORK / plans.len().max(1);
            out.extend(plans.into_iter().map(|(pol, s)| local::hoist(p, budget, local::search(p, budget, pol, s, share), hoist_share)));
        };
        match self.strategy {
            Strategy::Planner => {
                out.push(p.original_steps());
                dp(&mut out);
                dag(&mut out);
            }
            Strategy::Greedy => dag(&mut out),
            Strategy::ChainDp => dp(&mut out),
            Strategy::SqrtN => {
                if let Some((c, _)) = &self.chain {
                    out.push(chain::render(p, c, &sqrtn::plan(c.len())));
                }
            }
            Strategy::Milp => unreachable!("the MILP is dispatched before"),
        }
        out
    }

    /// The best candidate for `budget` whose peak fits.
    fn pick(&self, p: &Problem, budget: usize, key: Key) -> Option<Vec<usize>> {
        // Costs summed in different orders differ in the last bits: within a relative
        // 1e-9 they tie, and the lower peak wins.
        let better = |(cost, peak): (f64, usize), (best_cost, best_peak): (f64, usize)| {
            let tol = 1e-9 * best_cost.abs().max(cost.abs());
            cost < best_cost - tol || (cost <= best_cost + tol && peak < best_peak)
        };
        let mut best: Option<((f64, usize), Vec<usize>)> = None;
        for steps in self.candidates(p, budget, key) {
            let Some(peak) = p.steps_peak(&steps) else { continue };
            if peak > budget {
                continue;
            }
            let cost = p.steps_cost(&steps);
            let better_than = |b: (f64, usize)| match key {
                Key::Cost => better((cost, peak), b),
                Key::Peak => (peak, cost) < (b.1, b.0),
            };
            if best.as_ref().is_none_or(|(b, _)| better_than(*b)) {
                best = Some(((cost, peak), steps));
            }
        }
        best.map(|(_, s)| s)
    }

    /// A plan at the smallest budget this family meets, and its peak.
    fn min_peak(&self, p: &Problem) -> Result<(Vec<usize>, usize), RematError> {
        let peak_of = |steps: &[usize]| p.steps_peak(steps).ok_or_else(|| RematError::Internal("invalid schedule".into()));
        if self.strategy == Strategy::SqrtN {
            let steps = self.candidates(p, usize::MAX, Key::Peak).pop().ok_or(RematError::NotAChain)?;
            let peak = peak_of(&steps)?;
            return Ok((steps, peak));
        }
        let original = peak_of(&p.original_steps())?;
        let mut hi = original.max(1);
        let (mut steps, mut peak) = loop {
            if let Some(s) = self.pick(p, hi, Key::Peak) {
                let peak = peak_of(&s)?;
                break (s, peak);
            }
            if hi > original.saturating_mul(64) {
                return Err(RematError::Internal("no plan at any budget".into()));
            }
            hi *= 2;
        };
        let mut lo = lower_bound(p).min(peak);
        while lo < peak {
            let mid = lo + (peak - lo) / 2;
            match self.pick(p, mid, Key::Peak) {
                Some(s) => {
                    peak = peak_of(&s)?;
                    steps = s;
                }
                None => lo = mid + 1,
            }
        }
        Ok((steps, peak))
    }
}

/// No schedule peaks lower: some node must run with its inputs alive, and all outputs
/// are alive at the end (each counted as nothing where it may take a donated storage).
fn lower_bound(p: &Problem) -> usize {
    let node = (0..p.len()).filter(|&v| !p.param[v]).map(|v| p.min_size(v) + p.inputs[v].iter().map(|&u| p.min_size(u)).sum::<usize>()).max();
    let outputs: usize = (0..p.len()).filter(|&v| p.output[v]).map(|v| p.min_size(v)).sum();
    node.unwrap_or(0).max(outputs)
}
