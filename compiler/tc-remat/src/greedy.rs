//! The DAG planner: an offline form of Dynamic Tensor Rematerialization (Kirisame et al.,
//! ICLR 2021) that knows the whole future.
//!
//! It replays the graph's order under the budget. Before a node runs, its missing inputs
//! are recomputed recursively (their own missing inputs first); a value is freed as soon
//! as no later node reads it. When an allocation would exceed the budget, it evicts the
//! resident value with the smallest score
//!
//! ```text
//! rebuild(v) / (bytes(v) · distance(v)^α)
//! ```
//!
//! where `rebuild(v)` is the cost to bring `v` back (its own cost plus, with
//! `count_evicted_ancestors`, that of its already-evicted ancestors: DTR's "evicted
//! neighbourhood", which spreads checkpoints out instead of evicting a contiguous run)
//! and `distance(v)` is how many steps ahead its next reader is (Belady's rule). Values
//! of cheap elementwise chains have a tiny `rebuild`, so they go first; matmul and
//! convolution results are kept. Inputs of the node being computed are locked.
//! One run is O(steps · resident values); the planner tries a few policies and keeps the
//! cheapest plan.
//!
//! Donations (`tc_ir::donate`): an output is computed into its donated parameter's
//! storage, costing nothing, when no later step can read that parameter: no step of the
//! order after this one, and no value that may still be recomputed. From then on the
//! parameter is *retired*: a value whose recomputation would read it is not evicted, and
//! the output itself (free) stays. So the schedule meets the rule `steps_peak` checks.

use tc_ir::donate::overwrites_operand;

use crate::problem::Problem;

/// How the planner scores eviction candidates.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Policy {
    /// `α`: weight of the distance to the next reader.
    pub distance_exponent: f64,
    /// Whether `rebuild(v)` includes the cost of `v`'s evicted ancestors.
    pub count_evicted_ancestors: bool,
}

/// The policies the planner tries.
pub(crate) const POLICIES: [Policy; 6] = [
    Policy { distance_exponent: 1.0, count_evicted_ancestors: true },
    Policy { distance_exponent: 0.5, count_evicted_ancestors: true },
    Policy { distance_exponent: 2.0, count_evicted_ancestors: true },
    Policy { distance_exponent: 0.0, count_evicted_ancestors: true },
    Policy { distance_exponent: 1.0, count_evicted_ancestors: false },
    Policy { distance_exponent: 0.0, count_evicted_ancestors: false },
];

/// A schedule whose peak stays within `budget` under `policy`, or `None` when this
/// policy cannot find one (a locked working set does not fit, or recomputation runs away).
/// `keep` (empty, or one factor per node) multiplies each value's score: above 1 it is
/// evicted later, which is how the local search (`local.rs`) steers the planner.
pub(crate) fn schedule(p: &Problem, budget: usize, policy: Policy, keep: &[f64]) -> Option<Vec<usize>> {
    let n = p.len();
    let mut sim = Sim {
        p,
        budget,
        policy,
        keep,
        live: vec![false; n],
        lock: vec![0; n],
        mem: 0,
        steps: Vec::with_capacity(n),
        now: 0,
        resident: Vec::new(),
        slot: vec![usize::MAX; n],
        memo: vec![0.0; n],
        memo_epoch: vec![u64::MAX; n],
        epoch: 0,
        max_steps: 50 * n + 1000,
        donated: vec![false; n],
        retired: vec![false; n],
        any_retired: false,
        needs_memo: vec![(u64::MAX, false); n],
    };
    for t in 0..n {
        if p.param[t] {
            continue;
        }
        sim.now = t;
        if !sim.materialize(t) {
            return None;
        }
        for &u in &p.inputs[t] {
            sim.free_if_unneeded(u, t + 1);
        }
        sim.free_if_unneeded(t, t + 1);
    }
    sim.now = n;
    for o in p.graph.outputs.iter().map(|o| o.index()) {
        if p.param[o] {
            continue;
        }
        if !sim.live[o] && !sim.materialize(o) {
            return None;
        }
        sim.lock[o] += 1;
    }
    Some(sim.steps)
}

/// A value [`Sim::materialize`] is recomputing, waiting for its missing operands.
struct Pending {
    node: usize,
    /// Per operand: live (and locked) when the recomputation started.
    locked_early: Vec<bool>,
    /// The next operand to make live and lock.
    next: usize,
    /// Whether operand `next` is being recomputed (above this on the stack).
    waiting: bool,
}

struct Sim<'a> {
    p: &'a Problem,
    budget: usize,
    policy: Policy,
    keep: &'a [f64],
    live: Vec<bool>,
    lock: Vec<u32>,
    mem: usize,
    steps: Vec<usize>,
    /// The original step being executed.
    now: usize,
    /// Live non-parameter values, and each one's index in it.
    resident: Vec<usize>,
    slot: Vec<usize>,
    /// `rebuild` cache, valid while `memo_epoch == epoch` (the live set is unchanged).
    memo: Vec<f64>,
    memo_epoch: Vec<u64>,
    epoch: u64,
    max_steps: usize,
    /// Values computed into their donated parameter's storage (they cost nothing).
    donated: Vec<bool>,
    /// Parameters whose storage an output has taken: nothing may read them any more.
    retired: Vec<bool>,
    any_retired: bool,
    /// `reads_retired` cache, valid for the epoch it was computed in.
    needs_memo: Vec<(u64, bool)>,
}

impl Sim<'_> {
    /// Make `x` live, recomputing missing inputs first (their own missing inputs before
    /// them, depth first on an explicit stack: chains of evicted values can be as long
    /// as the graph). False when it cannot fit.
    fn materialize(&mut self, x: usize) -> bool {
        let p = self.p;
        let mut stack = vec![self.open(x)];
        while let Some(top) = stack.last_mut() {
            let inputs = &p.inputs[top.node];
            while top.next < inputs.len() && top.locked_early[top.next] {
                top.next += 1;
            }
            if top.next < inputs.len() {
                let u = inputs[top.next];
                if !top.waiting && !self.live[u] {
                    top.waiting = true;
                    let child = self.open(u);
                    stack.push(child);
                    continue;
                }
                top.waiting = false;
                top.next += 1;
                self.lock[u] += 1;
                continue;
            }
            let node = top.node;
            stack.pop();
            if !self.compute(node) {
                return false;
            }
        }
        true
    }

    /// Start recomputing `x`: lock its live operands, so that recomputing the others
    /// cannot evict them (one lock per operand occurrence, an op may read a value
    /// twice, `x * x`, so the unlocks in [`Sim::compute`] balance).
    fn open(&mut self, x: usize) -> Pending {
        let locked_early: Vec<bool> = self.p.inputs[x].iter().map(|&u| self.live[u]).collect();
        for (&u, _) in self.p.inputs[x].iter().zip(&locked_early).filter(|(_, &early)| early) {
            self.lock[u] += 1;
        }
        Pending { node: x, locked_early, next: 0, waiting: false }
    }

    /// Compute `x`, whose operands are live and locked: evict to make room, make it
    /// live, and unlock its operands. False when it cannot fit.
    fn compute(&mut self, x: usize) -> bool {
        let p = self.p;
        if self.can_donate(x) {
            let d = p.donor[x].expect("a donated value has a donor");
            self.donated[x] = true;
            self.retired[d] = true;
            self.any_retired = true;
            self.epoch += 1;
        }
        while self.mem + self.bytes(x) > self.budget {
            if !self.evict_one() {
                return false;
            }
        }
        self.live[x] = true;
        self.mem += self.bytes(x);
        self.slot[x] = self.resident.len();
        self.resident.push(x);
        self.epoch += 1;
        self.steps.push(x);
        if self.steps.len() > self.max_steps {
            return false;
        }
        for &u in &p.inputs[x] {
            self.lock[u] -= 1;
            self.free_if_unneeded(u, self.now);
        }
        true
    }

    /// Free `v` if it is live, unlocked, not an output and nothing at or after step `from` reads it.
    fn free_if_unneeded(&mut self, v: usize, from: usize) {
        if self.live[v] && self.lock[v] == 0 && !self.p.output[v] && self.p.last_user(v).is_none_or(|u| u < from) {
            self.drop_value(v);
        }
    }

    /// Bytes `v` holds while live.
    fn bytes(&self, v: usize) -> usize {
        if self.donated[v] {
            0
        } else {
            self.p.size[v]
        }
    }

    /// Whether computing `x` now may take its donated parameter's storage: nothing at or
    /// after the current step reads the parameter (except `x` itself, in place), and no
    /// value that may still be recomputed (not live, and read later or an output)
    /// needs it.
    fn can_donate(&self, x: usize) -> bool {
        let p = self.p;
        let Some(d) = p.donor[x] else { return false };
        let at = self.now;
        // `x` itself may read the parameter if it overwrites it element by element.
        let in_place = x == at && overwrites_operand(&p.graph.nodes[x].op);
        if p.param_users[d].iter().any(|&u| u > at || (u == at && !in_place)) {
            return false;
        }
        // Whether recomputing each value (with its missing ancestors) reads `d`, in one
        // pass over the topological order.
        let mut reads = vec![false; p.len()];
        for v in 0..p.len() {
            reads[v] = p.param_inputs[v].contains(&d) || p.inputs[v].iter().any(|&u| !self.live[u] && reads[u]);
            let pending = !p.param[v] && !self.live[v] && v != x && (p.output[v] || p.users[v].iter().any(|&u| u >= at));
            if pending && reads[v] {
                return false;
            }
        }
        true
    }

    /// Whether recomputing `v` (with its missing ancestors) reads a retired parameter.
    /// Evaluated in post-order on an explicit stack, each result cached for the epoch.
    fn reads_retired(&mut self, v: usize) -> bool {
        if !self.any_retired {
            return false;
        }
        let p = self.p;
        let mut stack = vec![(v, false)];
        while let Some((w, ready)) = stack.pop() {
            if self.needs_memo[w].0 == self.epoch {
                continue;
            }
            let own = p.param_inputs[w].iter().any(|&d| self.retired[d]);
            let missing = p.inputs[w].iter().copied().filter(|&u| !self.live[u]);
            if own || ready {
                let needs = own || missing.into_iter().any(|u| self.needs_memo[u].1);
                self.needs_memo[w] = (self.epoch, needs);
            } else {
                stack.push((w, true));
                stack.extend(missing.filter(|&u| self.needs_memo[u].0 != self.epoch).map(|u| (u, false)));
            }
        }
        self.needs_memo[v].1
    }

    fn drop_value(&mut self, v: usize) {
        self.live[v] = false;
        self.mem -= self.bytes(v);
        let at = self.slot[v];
        let last = self.resident.pop().expect("a live value is resident");
        if last != v {
            self.resident[at] = last;
            self.slot[last] = at;
        }
        self.slot[v] = usize::MAX;
        self.epoch += 1;
    }

    /// Evict the unlocked resident value with the lowest score; false when none can go.
    fn evict_one(&mut self) -> bool {
        let mut best: Option<(f64, usize)> = None;
        for k in 0..self.resident.len() {
            let v = self.resident[k];
            if self.lock[v] > 0 || self.bytes(v) == 0 {
                continue;
            }
            let s = self.score(v);
            // A value still needed must stay if rebuilding it would read a retired parameter.
            if s >= 0.0 && self.reads_retired(v) {
                continue;
            }
            if best.is_none_or(|(b, _)| s < b) {
                best = Some((s, v));
            }
        }
        match best {
            Some((_, v)) => {
                self.drop_value(v);
                true
            }
            None => false,
        }
    }

    fn score(&mut self, v: usize) -> f64 {
        let p = self.p;
        let users = &p.users[v];
        let next = users.partition_point(|&u| u < self.now);
        let distance = match users.get(next) {
            Some(&u) => u,
            None if p.output[v] => p.len(),
            None => return -1.0,
        } - self.now
            + 1;
        let rebuild = self.rebuild(v);
        let keep = self.keep.get(v).copied().unwrap_or(1.0);
        keep * rebuild / (p.size[v] as f64 * (distance as f64).powf(self.policy.distance_exponent))
    }

    /// Cost to recompute `v` from what is live now: its own cost plus, recursively,
    /// that of each missing operand (counted once per use). Evaluated in post-order on
    /// an explicit stack, each result cached for the current epoch.
    fn rebuild(&mut self, v: usize) -> f64 {
        if !self.policy.count_evicted_ancestors {
            return self.p.cost[v];
        }
        let p = self.p;
        let mut stack = vec![(v, false)];
        while let Some((w, ready)) = stack.pop() {
            if self.memo_epoch[w] == self.epoch {
                continue;
            }
            let missing = p.inputs[w].iter().copied().filter(|&u| !self.live[u]);
            if ready {
                let total = missing.fold(p.cost[w], |total, u| total + self.memo[u]);
                self.memo[w] = total.min(1e300);
                self.memo_epoch[w] = self.epoch;
            } else {
                stack.push((w, true));
                stack.extend(missing.filter(|&u| self.memo_epoch[u] != self.epoch).map(|u| (u, false)));
            }
        }
        self.memo[v]
    }
}
