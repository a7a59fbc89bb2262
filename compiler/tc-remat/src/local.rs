//! Local search on the DAG planner's schedules, which are greedy and so myopic near the
//! smallest feasible budget (they evict a value that is cheap to rebuild now and then
//! pay for rebuilding it again and again).
//!
//! - [`prune`] removes recomputations the budget does not need: a recomputed step whose
//!   readers can read the previous copy instead (kept alive longer) goes when the peak
//!   still fits, most expensive first; steps nothing reads go too.
//! - [`search`] steers the greedy planner: for the values the best plan recomputes, most
//!   total recompute cost first, it replays the planner with that value's eviction score
//!   raised (so it is kept and something else goes), prunes, and keeps the change when
//!   the plan gets cheaper; then it starts over from the new plan. It stops when no
//!   single change helps or after a fixed amount of work (steps replayed × nodes); the
//!   planner runs it from each policy's plan, sharing [`WORK`], so planning stays under
//!   a second on a ResNet-50-sized graph.
//! - [`hoist`] moves a recomputation (with the ancestors it is missing there) earlier,
//!   to where its inputs are still alive, when that costs less than its rebuild; the
//!   greedy planner only ever rebuilds a value when it is next read.

use std::collections::{HashMap, HashSet};

use crate::greedy::{self, Policy};
use crate::problem::Problem;

/// How much a steered value's eviction score is raised per step.
const KEEP_FACTOR: f64 = 16.0;

/// The search's work limit, in steps replayed × nodes (a replay costs about that: each
/// eviction scans the resident values): a few hundred milliseconds at most.
pub(crate) const WORK: usize = 50_000_000;
/// [`hoist`]'s work limit, in positions scanned and steps checked.
pub(crate) const HOIST_WORK: usize = 20_000_000;
/// And at most this many replays (small graphs converge long before).
const MAX_REPLAYS: usize = 400;
/// Pruning passes at most (each is O(steps · log steps)).
const MAX_PRUNE_PASSES: usize = 8;

/// `steps` without the recomputations and dead steps that the budget does not need.
///
/// Removing recomputation `k` of `v` makes its readers read the previous copy `c`, whose
/// life grows from its last reader to `k`'s: the live bytes rise by `v`'s size between
/// the two, and nowhere else (`k`'s inputs may be freed sooner, which the profile
/// ignores, so it only over-estimates). A segment tree over the live-bytes profile
/// makes each test O(log steps). Passes repeat, on the exact profile, while they remove
/// something.
pub(crate) fn prune(p: &Problem, budget: usize, mut steps: Vec<usize>) -> Vec<usize> {
    for _ in 0..MAX_PRUNE_PASSES {
        let before = steps.len();
        steps = prune_pass(p, budget, steps);
        if steps.len() == before {
            break;
        }
    }
    steps
}

fn prune_pass(p: &Problem, budget: usize, steps: Vec<usize>) -> Vec<usize> {
    let steps = drop_dead(p, steps);
    let m = steps.len();
    // Each step's copy: the previous copy of its node, and its last reader (`m`: alive
    // to the end, an output's last copy).
    let mut prev = vec![usize::MAX; m];
    let mut last_read: Vec<usize> = (0..m).collect();
    let mut latest = vec![usize::MAX; p.len()];
    for (k, &s) in steps.iter().enumerate() {
        for &j in &p.inputs[s] {
            last_read[latest[j]] = k;
        }
        prev[k] = latest[s];
        latest[s] = k;
    }
    for o in p.graph.outputs.iter().map(|o| o.index()) {
        if latest[o] != usize::MAX {
            last_read[latest[o]] = m;
        }
    }
    let sizes = p.step_sizes(&steps);
    let mut profile = MaxTree::new(m);
    for k in 0..m {
        profile.add(k, last_read[k].min(m - 1) + 1, sizes[k] as i64);
    }
    let mut next = vec![usize::MAX; m];
    for k in 0..m {
        if prev[k] != usize::MAX {
            next[prev[k]] = k;
        }
    }
    // An output's last copy that takes over a donated storage stays: an earlier copy in
    // its place might not (the parameter may be read in between).
    let mut candidates: Vec<usize> = (0..m).filter(|&k| prev[k] != usize::MAX && p.cost[steps[k]] > 0.0 && sizes[k] == p.size[steps[k]]).collect();
    candidates.sort_by(|&a, &b| p.cost[steps[b]].total_cmp(&p.cost[steps[a]]).then(b.cmp(&a)));
    let mut removed = vec![false; m];
    for k in candidates {
        let c = prev[k];
        let size = p.size[steps[k]] as i64;
        // `c` now lives on through `k`'s readers; `k`'s own interval is handed over.
        let (from, to) = (last_read[c] + 1, k);
        if from < to && profile.max(from, to) + size > budget as i64 {
            continue;
        }
        if from < to {
            profile.add(from, to, size);
        }
        removed[k] = true;
        last_read[c] = last_read[k];
        next[c] = next[k];
        if next[k] != usize::MAX {
            prev[next[k]] = c;
        }
    }
    let steps = steps.iter().zip(&removed).filter(|(_, &r)| !r).map(|(&s, _)| s).collect();
    drop_dead(p, steps)
}

/// Live bytes per step: add a constant over a range, read the maximum over a range.
struct MaxTree {
    n: usize,
    max: Vec<i64>,
    pending: Vec<i64>,
}

impl MaxTree {
    fn new(n: usize) -> MaxTree {
        let size = 4 * n.max(1);
        MaxTree { n: n.max(1), max: vec![0; size], pending: vec![0; size] }
    }

    /// Add `x` to positions `lo..hi`.
    fn add(&mut self, lo: usize, hi: usize, x: i64) {
        self.add_at(1, 0, self.n, lo, hi, x);
    }

    /// The maximum over positions `lo..hi` (non-empty).
    fn max(&self, lo: usize, hi: usize) -> i64 {
        self.max_at(1, 0, self.n, lo, hi)
    }

    fn add_at(&mut self, node: usize, l: usize, r: usize, lo: usize, hi: usize, x: i64) {
        if hi <= l || r <= lo {
            return;
        }
        if lo <= l && r <= hi {
            self.max[node] += x;
            self.pending[node] += x;
            return;
        }
        let mid = (l + r) / 2;
        self.add_at(2 * node, l, mid, lo, hi, x);
        self.add_at(2 * node + 1, mid, r, lo, hi, x);
        self.max[node] = self.pending[node] + self.max[2 * node].max(self.max[2 * node + 1]);
    }

    fn max_at(&self, node: usize, l: usize, r: usize, lo: usize, hi: usize) -> i64 {
        if hi <= l || r <= lo {
            return i64::MIN;
        }
        if lo <= l && r <= hi {
            return self.max[node];
        }
        let mid = (l + r) / 2;
        self.pending[node] + self.max_at(2 * node, l, mid, lo, hi).max(self.max_at(2 * node + 1, mid, r, lo, hi))
    }
}

/// `steps` without the steps whose copy nothing reads (and that are not an output's
/// last copy); repeated, since dropping a step can leave its inputs' copies unread.
fn drop_dead(p: &Problem, mut steps: Vec<usize>) -> Vec<usize> {
    loop {
        let mut latest = vec![usize::MAX; p.len()];
        let mut read = vec![false; steps.len()];
        for (k, &s) in steps.iter().enumerate() {
            for &j in &p.inputs[s] {
                if latest[j] != usize::MAX {
                    read[latest[j]] = true;
                }
            }
            latest[s] = k;
        }
        for o in p.graph.outputs.iter().map(|o| o.index()) {
            if latest[o] != usize::MAX {
                read[latest[o]] = true;
            }
        }
        if read.iter().all(|&r| r) {
            return steps;
        }
        steps = steps.iter().zip(&read).filter(|(_, &r)| r).map(|(&s, _)| s).collect();
    }
}

/// A plan at most as expensive as `start` (a pruned schedule of `policy` within
/// `budget`), found by steering the greedy planner one value at a time, within `work`
/// (steps replayed × nodes).
pub(crate) fn search(p: &Problem, budget: usize, policy: Policy, start: Vec<usize>, work_limit: usize) -> Vec<usize> {
    let n = p.len().max(1);
    let (mut work, mut replays) = (0usize, 0usize);
    let mut keep = vec![1.0; p.len()];
    let mut best_cost = p.steps_cost(&start);
    let mut best = start;
    'improve: loop {
        for v in by_recompute_cost(p, &best) {
            if work >= work_limit || replays >= MAX_REPLAYS {
                break 'improve;
            }
            let mut trial_keep = keep.clone();
            trial_keep[v] *= KEEP_FACTOR;
            let replay = greedy::schedule(p, budget, policy, &trial_keep);
            replays += 1;
            // A failed replay stops at its step limit, about 50 steps per node.
            work += replay.as_ref().map_or(50 * n, |s| s.len()) * n;
            let Some(steps) = replay else { continue };
            let steps = prune(p, budget, steps);
            let cost = p.steps_cost(&steps);
            if cost < best_cost - 1e-9 * best_cost.abs() && p.steps_peak(&steps).is_some_and(|peak| peak <= budget) {
                keep = trial_keep;
                best = steps;
                best_cost = cost;
                continue 'improve;
            }
        }
        break;
    }
    best
}

/// The nodes `steps` computes more than once, by total recompute cost, highest first.
fn by_recompute_cost(p: &Problem, steps: &[usize]) -> Vec<usize> {
    let mut count = vec![0usize; p.len()];
    for &s in steps {
        count[s] += 1;
    }
    let mut nodes: Vec<usize> = (0..p.len()).filter(|&v| count[v] > 1 && p.cost[v] > 0.0).collect();
    let extra = |v: usize| (count[v] - 1) as f64 * p.cost[v];
    nodes.sort_by(|&a, &b| extra(b).total_cmp(&extra(a)).then(a.cmp(&b)));
    nodes
}

/// Most placements of one recomputation [`hoist`] checks exactly.
const HOIST_TRIES: usize = 4;

/// `steps` (within `budget`) with recomputations moved earlier where that is cheaper: a
/// step whose rebuild (the recomputations only it reads) costs more than recomputing
/// its node, with whatever of its ancestors is missing there, at an earlier point where
/// more of them are still alive (between its node's previous copy and itself) moves
/// there when the exact peak still fits. The greedy planner rebuilds a value when it is
/// next read; this finds the optimum's "rebuild it while its inputs are around" (a
/// small output evicted before the peak, recomputed in the backward pass instead of
/// from scratch at the end). Work (positions scanned, steps checked) is bounded by
/// `work_limit`.
pub(crate) fn hoist(p: &Problem, budget: usize, mut steps: Vec<usize>, work_limit: usize) -> Vec<usize> {
    let mut work = 0usize;
    let mut cost = p.steps_cost(&steps);
    'restart: while work < work_limit {
        let m = steps.len();
        let copies = Copies::new(p, &steps);
        // Steps whose rebuild costs something, with what moving them saves at most.
        let mut candidates: Vec<(f64, usize, Vec<bool>)> = Vec::new();
        for k in (0..m).filter(|&k| !copies.reads[k].is_empty()) {
            let private = copies.private(k);
            work += m / 8;
            let gain: f64 = (0..k).filter(|&c| private[c]).map(|c| p.cost[steps[c]]).sum();
            if gain > 0.0 {
                candidates.push((gain, k, private));
            }
        }
        candidates.sort_by(|a, b| b.0.total_cmp(&a.0).then(b.1.cmp(&a.1)));
        for (gain, k, private) in candidates {
            let v = steps[k];
            let from = copies.prev(v, k).map_or(0, |c| c + 1);
            let mut places: Vec<(f64, usize, Vec<usize>)> = Vec::new();
            for j in (from..k).rev() {
                let mut missing = Vec::new();
                let mut seen = HashSet::new();
                // A filter (the exact check follows): `v` and its missing ancestors here
                // against the rebuild's other steps.
                let extra = copies.missing(p, v, j, &private, gain, &mut missing, &mut seen);
                work += seen.len() + 1;
                if extra < gain - 1e-9 * gain {
                    missing.sort_unstable();
                    places.push((extra, j, missing));
                }
            }
            places.sort_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)));
            for (_, j, missing) in places.into_iter().take(HOIST_TRIES) {
                let mut trial = Vec::with_capacity(m + missing.len() + 1);
                trial.extend_from_slice(&steps[..j]);
                trial.extend(missing);
                trial.push(v);
                trial.extend_from_slice(&steps[j..k]);
                trial.extend_from_slice(&steps[k + 1..]);
                let trial = drop_dead(p, trial);
                work += 2 * trial.len();
                let trial_cost = p.steps_cost(&trial);
                if trial_cost < cost - 1e-9 * cost.abs() && p.steps_peak(&trial).is_some_and(|peak| peak <= budget) {
                    steps = prune(p, budget, trial);
                    cost = p.steps_cost(&steps);
                    continue 'restart;
                }
            }
            if work >= work_limit {
                break;
            }
        }
        break;
    }
    steps
}

/// Where each node's copies are in a schedule, and how long each copy lives.
struct Copies {
    /// Positions of each node's copies, ascending.
    at: Vec<Vec<usize>>,
    /// Each step's last reader (`steps.len()` for an output's last copy).
    last_read: Vec<usize>,
    /// The copies each step reads, and how many steps read each copy.
    reads: Vec<Vec<usize>>,
    readers: Vec<usize>,
}

impl Copies {
    fn new(p: &Problem, steps: &[usize]) -> Copies {
        let m = steps.len();
        let mut at = vec![Vec::new(); p.len()];
        let mut last_read: Vec<usize> = (0..m).collect();
        let mut reads = Vec::with_capacity(m);
        let mut readers = vec![0; m];
        for (k, &s) in steps.iter().enumerate() {
            let ins: Vec<usize> = p.inputs[s].iter().filter_map(|&u| at[u].last().copied()).collect();
            for &c in &ins {
                last_read[c] = k;
                readers[c] += 1;
            }
            reads.push(ins);
            at[s].push(k);
        }
        for o in p.graph.outputs.iter().map(|o| o.index()) {
            if let Some(&c) = at[o].last() {
                last_read[c] = m;
            }
        }
        Copies { at, last_read, reads, readers }
    }

    /// The copy of `v` before position `k`.
    fn prev(&self, v: usize, k: usize) -> Option<usize> {
        let i = self.at[v].partition_point(|&c| c < k);
        i.checked_sub(1).map(|i| self.at[v][i])
    }

    /// The steps only step `k` reads, transitively (`k` included): those that go when
    /// `k` does. An output's last copy never goes.
    fn private(&self, k: usize) -> Vec<bool> {
        let m = self.reads.len();
        let mut private = vec![false; m];
        let mut unread: HashMap<usize, usize> = HashMap::new();
        let mut stack = vec![k];
        private[k] = true;
        while let Some(x) = stack.pop() {
            for &c in &self.reads[x] {
                if self.last_read[c] == m {
                    continue;
                }
                let left = unread.entry(c).or_insert(self.readers[c]);
                *left -= 1;
                if *left == 0 {
                    private[c] = true;
                    stack.push(c);
                }
            }
        }
        private
    }

    /// The cost of computing `v` before position `j` from the copies alive there (the
    /// private ones of the step being moved do not count: they go), adding the missing
    /// ancestors to `missing`; stops early at `limit`. Depth first on an explicit stack
    /// of (value, next input, cost so far, limit): chains of missing values can be as
    /// long as the graph.
    #[allow(clippy::too_many_arguments)]
    fn missing(&self, p: &Problem, v: usize, j: usize, private: &[bool], limit: f64, missing: &mut Vec<usize>, seen: &mut HashSet<usize>) -> f64 {
        let mut stack = vec![(v, 0usize, p.cost[v], limit)];
        loop {
            let (w, next, total, limit) = stack.last_mut().expect("the stack holds `v` until it returns");
            let mut child = None;
            while let Some(&u) = p.inputs[*w].get(*next) {
                if *total >= *limit {
                    break;
                }
                *next += 1;
                if !seen.insert(u) {
                    continue;
                }
                let alive = self.prev(u, j).is_some_and(|c| self.last_read[c] >= j && !private[c]);
                if !alive {
                    missing.push(u);
                    child = Some((u, 0, p.cost[u], *limit - *total));
                    break;
                }
            }
            match child {
                Some(frame) => stack.push(frame),
                None => {
                    let (_, _, done, _) = stack.pop().expect("a frame is on the stack");
                    match stack.last_mut() {
                        Some((_, _, total, _)) => *total += done,
                        None => return done,
                    }
                }
            }
        }
    }
}
