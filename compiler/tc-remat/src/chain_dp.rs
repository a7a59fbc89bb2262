//! The exact dynamic program for chains: Griewank's revolve recursion generalised to
//! layers of different costs and sizes (Beaumont et al., "Optimal checkpointing for
//! heterogeneous chains", 2019), over the layer model of [`crate::chain`].
//!
//! `opt(s, t, H, own)` is the least compute that runs the backward of layers `s..=t`
//! given that `a_{s−1}` is alive, that `H` bytes of checkpoints are held (it included)
//! and that `B_{t+1}`'s results are waiting; `own` says nobody outside needs `a_{s−1}`
//! afterwards, so it can go once `F_s` has run for the last time (unless `B_s` reads it).
//! Either
//! - `s == t`: run `F_s` keeping what backward reads, then `B_s` (without `F_s` when
//!   `B_s` reads nothing of it: it has run before, and `a_{s−1}` is all `B_s` needs);
//! - keep-all: run `F_s` keeping what backward reads, solve `s+1..=t` holding it (and
//!   owning `a_s` unless `B_s` reads it), then run `B_s`;
//! - checkpoint at `s' ∈ (s, t]`: run `F_s..F_{s'−1}` keeping only `a_{s'−1}`, solve
//!   `s'..=t` owning it, then solve `s..=s'−1`;
//!
//! each move allowed only if every moment of it fits the budget. Held bytes are tracked
//! in units of `q` (the gcd of the sizes, or coarser when that would make too many
//! states), rounding up, so a plan is always feasible under the layer model; with
//! single-node layers and `q` the gcd the model is exact.

use rustc_hash::FxHashMap;

use crate::chain::{Costs, Event};

#[derive(Clone, Copy)]
enum Choice {
    Base,
    KeepAll,
    Checkpoint(usize),
}

type Key = (usize, usize, usize, bool);

// FxHash: SipHash took about half of the DP's time on long chains of small integer keys.
type Memo = FxHashMap<Key, Option<(f64, Choice)>>;

/// The longest chain the DP plans. Its subproblems nest one layer deeper at each
/// keep-all move, and `opt`/`emit` recurse on that nesting; past this many layers (far
/// beyond any network's depth, but within a hostile program's) the chain is left to
/// the DAG planner, so that no pass recurses on the depth of the program.
pub(crate) const MAX_LAYERS: usize = 1_000;

/// The cheapest plan over the layers within `budget`, or `None` when none fits or the
/// chain has more than [`MAX_LAYERS`] layers.
pub(crate) fn plan(c: &Costs, budget: usize) -> Option<Vec<Event>> {
    let layers = c.fwd_cost.len();
    if layers > MAX_LAYERS {
        return None;
    }
    let sizes = c.boundary.iter().chain(&c.kept).copied().filter(|&s| s > 0);
    let gcd = sizes.fold(0usize, gcd);
    let unit = gcd.max(budget / 65_536).max(1);
    let bwd_prefix = std::iter::once(0.0).chain(c.bwd_cost.iter().scan(0.0, |sum, &x| {
        *sum += x;
        Some(*sum)
    }));
    let mut dp = Dp { c, budget, unit, memo: Memo::default(), bwd_prefix: bwd_prefix.collect() };
    dp.opt((0, layers - 1, 0, true))?;
    let mut events = Vec::new();
    dp.emit((0, layers - 1, 0, true), &mut events);
    Some(events)
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

struct Dp<'a> {
    c: &'a Costs,
    budget: usize,
    unit: usize,
    memo: Memo,
    /// `bwd_prefix[ℓ]`: cost of `B_0..B_{ℓ−1}`.
    bwd_prefix: Vec<f64>,
}

impl Dp<'_> {
    /// Cost of `B_s..=B_t`, which every plan of that range runs once.
    fn bwd_sum(&self, s: usize, t: usize) -> f64 {
        self.bwd_prefix[t + 1] - self.bwd_prefix[s]
    }

    fn units(&self, bytes: usize) -> usize {
        bytes.div_ceil(self.unit)
    }

    /// Held units once `F_s` has run for the last time in `key`'s subproblem.
    fn held_after_fwd(&self, (s, _, held, own): Key) -> usize {
        match own && s > 0 && !self.c.reads_input[s] {
            true => held - self.units(self.c.boundary[s - 1]),
            false => held,
        }
    }

    /// The subproblem after keep-all at `s`.
    fn keep_all_child(&self, key: Key) -> Key {
        let (s, t, _, _) = key;
        let held = self.held_after_fwd(key) + self.units(self.c.kept[s]) + self.units(self.c.boundary[s]);
        (s + 1, t, held, !self.c.reads_boundary[s])
    }

    fn opt(&mut self, key: Key) -> Option<f64> {
        if let Some(r) = self.memo.get(&key) {
            return r.map(|(cost, _)| cost);
        }
        let (s, t, held, own) = key;
        let c = self.c;
        let (unit, budget) = (self.unit, self.budget);
        let fits = |held: usize, bytes: usize| held * unit + bytes <= budget;
        let after = self.held_after_fwd(key);
        let keep_ok = fits(held, c.crossing[t + 1] + c.fwd_peak_keep[s]) && fits(after, c.bwd_peak[s]);
        let mut best: Option<(f64, Choice)> = None;
        let consider = |cost: f64, choice: Choice, best: &mut Option<(f64, Choice)>| {
            if best.is_none_or(|(b, _)| cost < b) {
                *best = Some((cost, choice));
            }
        };
        if s == t {
            // A last run of `F_s` that `B_s` does not read is skipped.
            if !c.bwd_needs_fwd[s] && fits(after, c.bwd_peak[s]) {
                consider(c.bwd_cost[s], Choice::Base, &mut best);
            } else if keep_ok {
                consider(c.fwd_cost[s] + c.bwd_cost[s], Choice::Base, &mut best);
            }
        } else {
            if keep_ok {
                if let Some(rest) = self.opt(self.keep_all_child(key)) {
                    consider(c.fwd_cost[s] + rest + c.bwd_cost[s], Choice::KeepAll, &mut best);
                }
            }
            let mut advance = 0.0;
            for next in s + 1..=t {
                let k = next - 1;
                let previous = if k > s { c.boundary[k - 1] } else { 0 };
                if !fits(held, c.crossing[t + 1] + previous + c.fwd_peak_advance[k]) {
                    break;
                }
                advance += c.fwd_cost[k];
                // Every backward layer runs once: a bound that cuts most of the search
                // once a plan is known (only exact values are memoised).
                let bound = |best: &Option<(f64, Choice)>, cost: f64| best.is_some_and(|(b, _)| cost >= b);
                if bound(&best, advance + self.bwd_sum(s, t)) {
                    break;
                }
                let Some(right) = self.opt((next, t, held + self.units(c.boundary[k]), true)) else { continue };
                if bound(&best, advance + right + self.bwd_sum(s, k)) {
                    continue;
                }
                let Some(left) = self.opt((s, k, held, own)) else { continue };
                consider(advance + right + left, Choice::Checkpoint(next), &mut best);
            }
        }
        self.memo.insert(key, best);
        best.map(|(cost, _)| cost)
    }

    fn emit(&self, key: Key, out: &mut Vec<Event>) {
        let (s, t, held, own) = key;
        match self.memo[&key].expect("emit follows a feasible plan").1 {
            Choice::Base if !self.c.bwd_needs_fwd[s] => out.push(Event::Bwd(s)),
            Choice::Base => out.extend([Event::Fwd(s), Event::Bwd(s)]),
            Choice::KeepAll => {
                out.push(Event::Fwd(s));
                self.emit(self.keep_all_child(key), out);
                out.push(Event::Bwd(s));
            }
            Choice::Checkpoint(next) => {
                out.extend((s..next).map(Event::Fwd));
                self.emit((next, t, held + self.units(self.c.boundary[next - 1]), true), out);
                self.emit((s, next - 1, held, own), out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `layers` identical layers of one unit each, every backward reading its forward.
    fn uniform(layers: usize) -> Costs {
        Costs {
            fwd_cost: vec![1.0; layers],
            bwd_cost: vec![1.0; layers],
            boundary: vec![1; layers],
            kept: vec![1; layers],
            reads_boundary: vec![true; layers],
            reads_input: vec![true; layers],
            bwd_needs_fwd: vec![true; layers],
            fwd_peak_advance: vec![2; layers],
            fwd_peak_keep: vec![3; layers],
            bwd_peak: vec![3; layers],
            crossing: vec![0; layers + 1],
        }
    }

    #[test]
    fn longer_chains_are_left_to_the_dag_planner() {
        assert!(plan(&uniform(MAX_LAYERS + 1), usize::MAX / 4).is_none());
        assert!(plan(&uniform(1_000_000), usize::MAX / 4).is_none());
    }
}
