//! The exact oracle: Checkmate's MILP (Jain et al., MLSys 2020) for the graph's order,
//! solved by CBC through `good_lp` (cargo feature `milp`; it links the system's libCbc).
//! Only a solve CBC proves optimal (or infeasible) within the time limit counts; the tests
//! and the benchmark compare every other strategy against it.
//!
//! Stage `t` (one per non-parameter node, in order) computes node `t` and may first
//! recompute any earlier nodes, in index order. Binary `R[t][i]`: node `i` is computed in
//! stage `t` (`R[t][t] = 1`); binary `S[t][i]`: a copy of `i` is alive entering stage `t`.
//! - an input must be computed earlier in the stage or alive: `R[t][k] ≤ R[t][j] + S[t][j]`;
//! - a copy alive entering `t + 1` was alive entering `t` or computed in `t`:
//!   `S[t+1][i] ≤ S[t][i] + R[t][i]`; outputs are alive at the end;
//! - `FREE[t][i][k]` (continuous in [0, 1], which is exact because it is bounded by
//!   binaries and the memory rows only gain by raising it) frees `i` right after step `k`
//!   of stage `t`: at most `R[t][k]`, `1 − S[t+1][i]` and `1 − R[t][j]` for every later
//!   reader `j` of `i` in the stage;
//! - memory, matching the interpreter: before step `k` of stage `t` the live bytes are
//!   `Σ S[t][i]·M_i + Σ_{i<k} (R[t][i]·M_i − Σ FREE[t][i][·]·M_i)`, and adding
//!   `R[t][k]·M_k` must stay within the budget.
//!
//! `R` and `S` exist only where they can matter: node `i` in stages `i < t ≤ L(i)`,
//! `L(i)` the last stage that can still read `i` (the last stage for outputs).
//! Donations: an output whose donation holds in the caller's order (`tc_ir::donate`)
//! costs nothing and is never recomputed, and no reader of its parameter is recomputed
//! after its stage, so the rule holds in every plan; the model does not consider
//! giving the donation up for a recomputation that reads the parameter.
//! Objective: the cost of all computations (for a budget), or the budget itself (to find
//! the smallest feasible peak).

use good_lp::{coin_cbc, variable, Expression, ProblemVariables, ResolutionError, Solution, SolutionStatus, SolverModel, Variable, WithTimeLimit};

use crate::problem::Problem;

/// What the MILP minimises.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Objective {
    /// Total compute under a peak-memory budget in bytes.
    Compute { budget: usize },
    /// The peak memory, compute unconstrained.
    Memory,
}

#[derive(Clone, Copy)]
enum Cell {
    Zero,
    One,
    Var(Variable),
}

impl Cell {
    fn expr(self) -> Expression {
        match self {
            Cell::Zero => Expression::from(0.0),
            Cell::One => Expression::from(1.0),
            Cell::Var(v) => Expression::from(v),
        }
    }
}

/// An optimal schedule, or why none came back ("infeasible", proven; or not solved to
/// optimality within `time_limit_s`).
pub(crate) fn solve(p: &Problem, objective: Objective, time_limit_s: f64) -> Result<Vec<usize>, String> {
    let nodes = p.original_steps();
    let t_count = nodes.len();
    let mut pos = vec![usize::MAX; p.len()];
    for (k, &v) in nodes.iter().enumerate() {
        pos[v] = k;
    }
    // last[k]: the last stage that can need node k (readers' stages, transitively).
    let mut last = vec![0usize; t_count];
    for k in (0..t_count).rev() {
        let v = nodes[k];
        let mut l = if p.output[v] { t_count } else { k };
        for &u in &p.users[v] {
            l = l.max(pos[u]).max(last[pos[u]]);
        }
        last[k] = l;
    }
    // The last stage each node may be computed in: a donated output and its
    // parameter's readers no later than the output's own stage.
    let donated = tc_ir::donate::donated_nodes(&p.graph);
    let mut until = vec![t_count; t_count];
    for (k, &v) in nodes.iter().enumerate() {
        if let (true, Some(d)) = (donated[v], p.donor[v]) {
            until[k] = until[k].min(k);
            for &u in &p.param_users[d] {
                until[pos[u]] = until[pos[u]].min(k);
            }
        }
    }
    let unit = p.size.iter().copied().max().unwrap_or(1).max(1) as f64;
    let mem: Vec<f64> = nodes.iter().map(|&v| if donated[v] { 0.0 } else { p.size[v] as f64 / unit }).collect();

    let mut vars = ProblemVariables::new();
    let mut r = vec![Vec::new(); t_count];
    let mut s = vec![Vec::new(); t_count + 1];
    for t in 0..t_count {
        r[t] = (0..=t)
            .map(|i| match i == t {
                true => Cell::One,
                false if t <= last[i] && t <= until[i] => Cell::Var(vars.add(variable().binary())),
                false => Cell::Zero,
            })
            .collect();
        s[t] = (0..t).map(|i| if t <= last[i] { Cell::Var(vars.add(variable().binary())) } else { Cell::Zero }).collect();
    }
    // Alive at the end: exactly the outputs.
    s[t_count] = (0..t_count).map(|i| if p.output[nodes[i]] { Cell::One } else { Cell::Zero }).collect();
    let budget_var = match objective {
        Objective::Memory => Some(vars.add(variable().min(0.0))),
        Objective::Compute { .. } => None,
    };
    // FREE[t][i][k] for k a reader of i (or i itself) in stage t.
    let mut frees: Vec<(usize, usize, usize, Variable)> = Vec::new();
    for t in 0..t_count {
        for i in 0..=t {
            let alive = matches!(r[t][i], Cell::One | Cell::Var(_)) || (i < t && matches!(s[t][i], Cell::Var(_)));
            if !alive || matches!(s[t + 1].get(i), Some(Cell::One)) {
                continue;
            }
            let mut ks: Vec<usize> = p.users[nodes[i]].iter().map(|&u| pos[u]).filter(|&k| k <= t).collect();
            ks.push(i);
            for k in ks {
                if !matches!(r[t][k], Cell::Zero) {
                    frees.push((t, i, k, vars.add(variable().min(0.0).max(1.0))));
                }
            }
        }
    }

    let mut objective_expr = Expression::from(0.0);
    match objective {
        Objective::Compute { .. } => {
            for (t, row) in r.iter().enumerate().take(t_count) {
                for i in 0..=t {
                    objective_expr += row[i].expr() * p.cost[nodes[i]];
                }
            }
        }
        Objective::Memory => objective_expr += budget_var.expect("a budget variable"),
    }
    let mut model = vars.minimise(objective_expr).using(coin_cbc);
    model.set_log_level(0);
    // CLP 1.17 (Debian's) can abort on an assertion inside its presolve on these models.
    model.set_parameter("presolve", "off");
    let budget_expr = match (objective, budget_var) {
        (Objective::Compute { budget }, _) => Expression::from(budget as f64 / unit + 1e-9),
        (Objective::Memory, Some(b)) => Expression::from(b),
        (Objective::Memory, None) => unreachable!("the memory objective has a budget variable"),
    };

    for t in 0..t_count {
        for k in 0..=t {
            if matches!(r[t][k], Cell::Zero) {
                continue;
            }
            for &j in &p.inputs[nodes[k]] {
                let j = pos[j];
                let avail = r[t][j].expr() + if j < t { s[t][j].expr() } else { Expression::from(0.0) };
                model.add_constraint((r[t][k].expr() - avail).leq(0.0));
            }
        }
        for i in 0..t_count.min(t + 1) {
            let next = if t < t_count { s[t + 1].get(i).copied().unwrap_or(Cell::Zero) } else { Cell::Zero };
            if let Cell::Var(_) = next {
                let prev = if i < t { s[t][i].expr() } else { Expression::from(0.0) };
                model.add_constraint((next.expr() - prev - r[t][i].expr()).leq(0.0));
            }
            if t + 1 == t_count {
                if let Cell::One = next {
                    let prev = if i < t { s[t][i].expr() } else { Expression::from(0.0) };
                    model.add_constraint((prev + r[t][i].expr()).geq(1.0));
                }
            }
        }
    }
    let mut frees_at: Vec<Vec<(usize, Variable)>> = vec![Vec::new(); t_count];
    let mut stage_frees: Vec<Vec<(usize, usize, Variable)>> = vec![Vec::new(); t_count];
    for &(t, i, k, f) in &frees {
        stage_frees[t].push((i, k, f));
    }
    for t in 0..t_count {
        for slot in frees_at.iter_mut() {
            slot.clear();
        }
        for &(i, k, f) in &stage_frees[t] {
            frees_at[k].push((i, f));
            model.add_constraint((Expression::from(f) - r[t][k].expr()).leq(0.0));
            let next = s[t + 1].get(i).copied().unwrap_or(Cell::Zero);
            model.add_constraint((Expression::from(f) + next.expr()).leq(1.0));
            for &u in &p.users[nodes[i]] {
                let j = pos[u];
                if j > k && j <= t {
                    model.add_constraint((Expression::from(f) + r[t][j].expr()).leq(1.0));
                }
            }
        }
        let mut live = Expression::from(0.0);
        for i in 0..t {
            live += s[t][i].expr() * mem[i];
        }
        for k in 0..=t {
            if matches!(r[t][k], Cell::Zero) {
                continue;
            }
            let peak = live.clone() + r[t][k].expr() * mem[k];
            model.add_constraint((peak - budget_expr.clone()).leq(0.0));
            live += r[t][k].expr() * mem[k];
            for &(i, f) in &frees_at[k] {
                live -= Expression::from(f) * mem[i];
            }
        }
    }
    let solution = model.with_time_limit(time_limit_s).solve().map_err(|e| match e {
        ResolutionError::Infeasible => "infeasible".to_string(),
        other => other.to_string(),
    })?;
    if !matches!(solution.status(), SolutionStatus::Optimal) {
        return Err(format!("not solved to optimality within {time_limit_s} s"));
    }
    let mut steps = Vec::new();
    for (t, row) in r.iter().enumerate().take(t_count) {
        for i in 0..=t {
            let on = match row[i] {
                Cell::One => true,
                Cell::Zero => false,
                Cell::Var(v) => solution.value(v) > 0.5,
            };
            if on {
                steps.push(nodes[i]);
            }
        }
    }
    Ok(steps)
}
