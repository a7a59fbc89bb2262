//! The server: the global model, and rounds that take client updates as they arrive and
//! turn the accepted ones into the next global model.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};

use tc_tensor::Tensor;

use crate::kernels::{self, Select};
use crate::spec::{tensor_from_f64, View};
use crate::{AdamConfig, ClientId, FedError, ModelSpec, Rejection, Strategy, Tally, Update, Validator};

/// Limits and resources of a [`Server`].
#[derive(Clone, Debug, PartialEq)]
pub struct ServerConfig {
    /// Reject updates whose L2 norm over all tensors is above this bound.
    pub max_norm: Option<f64>,
    /// Adaptive norm clipping: when the round ends, every accepted update whose L2 norm
    /// is above `clip` × the median norm of the round's accepted updates is scaled down to
    /// that norm before the strategy combines them. While fewer than half of a round's
    /// updates are Byzantine the median norm lies between two honest norms, so no update
    /// can weigh more than `clip` honest ones, whatever the attackers send. The median is
    /// known only at the end of the round, so with clipping FedAvg, FedProx and FedAdam
    /// keep every accepted update until then, as median and trimmed mean do. `> 0`.
    pub clip: Option<f64>,
    /// Median and trimmed mean keep every accepted update of a round: at most this many
    /// (later ones are rejected with [`Rejection::Capacity`]). Unused by the streaming strategies.
    pub max_buffered: usize,
    /// Threads the aggregation kernels may use (1: the calling thread only).
    pub threads: usize,
    /// FedAvg, FedProx and FedAdam fold accepted updates into the f64 accumulator this
    /// many at a time: a round holds the accumulator and at most `fold − 1` updates not
    /// yet folded. Folding several at once reads and writes the accumulator once for all
    /// of them (aggregation is bound by memory traffic); 1 folds each on arrival. A
    /// round of at most `fold` updates is folded in one pass by [`Server::finish_round`],
    /// which writes the new model on the way and never materialises the accumulator.
    pub fold: usize,
}

impl Default for ServerConfig {
    /// No norm bound or clipping, at most 1024 buffered updates, one thread per
    /// available core, folding 16 updates at a time.
    fn default() -> ServerConfig {
        let threads = std::thread::available_parallelism().map_or(1, usize::from);
        ServerConfig { max_norm: None, clip: None, max_buffered: 1024, threads, fold: 16 }
    }
}

/// The global model and the strategy that updates it.
#[derive(Debug)]
pub struct Server {
    id: u64,
    global: Vec<Tensor>,
    spec: ModelSpec,
    strategy: Strategy,
    config: ServerConfig,
    /// FedAdam's first and second moments per tensor, from its first applied round.
    moments: Option<Moments>,
    /// The f64 accumulators (FedAvg, FedProx, FedAdam) or selected steps (median, trimmed
    /// mean) of the last round, lent to the next (no fresh allocation and page faults
    /// every round).
    spare: Vec<Vec<f64>>,
    /// The round [`Server::begin_round`] begins next.
    round: u64,
}

/// What one round did to the model.
#[derive(Clone, Debug, PartialEq)]
pub struct RoundOutcome {
    /// 0-based.
    pub round: u64,
    /// Updates applied.
    pub accepted: usize,
    /// Training examples behind the accepted updates.
    pub examples: u64,
    /// Every rejected update's client and why, in arrival order.
    pub rejected: Vec<(ClientId, Rejection)>,
    /// Whether the model changed: false when no update was accepted (the model is kept).
    pub applied: bool,
    /// L2 norm of the step added to the model (0 when not applied).
    pub step_norm: f64,
    /// Accepted updates scaled down by [`ServerConfig::clip`].
    pub clipped: usize,
}

impl RoundOutcome {
    /// The rejections counted by reason.
    pub fn tally(&self) -> Tally {
        let mut tally = Tally::default();
        for (_, rejection) in &self.rejected {
            tally.add(rejection.reason());
        }
        tally
    }
}

/// One round in progress: [`Round::offer`] each update as it arrives, then
/// [`Server::finish_round`].
#[derive(Debug)]
pub struct Round {
    server: u64,
    round: u64,
    validator: Validator,
    /// Clients allowed to report (`None`: any), and those that did.
    expected: Option<HashSet<ClientId>>,
    seen: HashSet<ClientId>,
    pool: Pool,
    threads: usize,
    accepted: usize,
    examples: u64,
    rejected: Vec<(ClientId, Rejection)>,
    /// The L2 norm of each accepted update, in order of acceptance.
    norms: Vec<f64>,
}

/// FedAdam's `m` and `v`, per tensor.
type Moments = (Vec<Vec<f64>>, Vec<Vec<f64>>);

/// Distinguishes servers, so that a round is finished only by the server that began it.
static NEXT_SERVER: AtomicU64 = AtomicU64::new(0);

/// The accepted updates of a round, as far as the strategy needs them.
#[derive(Debug)]
enum Pool {
    /// `Σ nₖΔₖ` per tensor in f64 over the folded updates (`fresh`: none folded yet, the
    /// contents are stale), the updates not yet folded (fewer than `fold`), and `Σ nₖ`.
    Sum { sums: Vec<Vec<f64>>, fresh: bool, pending: Vec<(f64, Vec<Tensor>)>, fold: usize, weight: f64 },
    /// Every accepted delta, as sent (median, trimmed mean).
    Buffer { deltas: Vec<Vec<Tensor>>, max: usize },
}

impl Round {
    /// Accept reports only from `clients` (the round's sample), each at most once; any
    /// other report is rejected as [`Rejection::Unexpected`].
    pub fn expect(&mut self, clients: &[ClientId]) {
        self.expected = Some(clients.iter().copied().collect());
    }

    /// Validate `update` and, if it is acceptable, fold it into the round. A rejected
    /// update is counted with its reason and has no effect on the model.
    pub fn offer(&mut self, update: Update) -> Result<(), Rejection> {
        let client = update.client;
        match self.admit(&update) {
            Ok(norm) => {
                self.norms.push(norm);
                self.accepted += 1;
                self.examples += update.examples;
                self.pool.add(update, self.threads);
                Ok(())
            }
            Err(rejection) => {
                self.rejected.push((client, rejection.clone()));
                Err(rejection)
            }
        }
    }

    /// The update's L2 norm if it is accepted.
    fn admit(&mut self, update: &Update) -> Result<f64, Rejection> {
        let sampled = self.expected.as_ref().is_none_or(|e| e.contains(&update.client));
        if !sampled || !self.seen.insert(update.client) {
            return Err(Rejection::Unexpected);
        }
        if let Pool::Buffer { deltas, max } = &self.pool {
            if deltas.len() >= *max {
                return Err(Rejection::Capacity { max: *max });
            }
        }
        self.validator.check(update)
    }

    /// Updates accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted
    }

    /// Updates rejected so far.
    pub fn rejected(&self) -> usize {
        self.rejected.len()
    }

    /// The 0-based round number.
    pub fn number(&self) -> u64 {
        self.round
    }
}

impl Pool {
    fn add(&mut self, update: Update, threads: usize) {
        match self {
            Pool::Sum { sums, fresh, pending, fold, weight } => {
                let w = update.examples as f64;
                *weight += w;
                pending.push((w, update.delta));
                if pending.len() >= *fold {
                    // The folded updates are dropped here: the round keeps at most `fold − 1`.
                    drop(flush(sums, fresh, pending, threads));
                }
            }
            Pool::Buffer { deltas, .. } => deltas.push(update.delta),
        }
    }
}

/// Fold the pending updates into the accumulators `sums` (`fresh`: their contents are
/// stale); gives their deltas back.
fn flush(
    sums: &mut [Vec<f64>],
    fresh: &mut bool,
    pending: &mut Vec<(f64, Vec<Tensor>)>,
    threads: usize,
) -> Vec<Vec<Tensor>> {
    if pending.is_empty() {
        return Vec::new();
    }
    for (t, sum) in sums.iter_mut().enumerate() {
        Inputs::of(&views(pending, t)).fold(sum, *fresh, threads);
    }
    *fresh = false;
    pending.drain(..).map(|(_, delta)| delta).collect()
}

/// A global tensor's elements, being updated in place.
enum Elements<'a> {
    F32(&'a mut [f32]),
    F64(&'a mut [f64]),
}

impl Elements<'_> {
    /// [`kernels::add_step`] on these elements.
    fn add(self, acc: Option<&[f64]>, inputs: &Inputs<'_>, divisor: f64, threads: usize) -> f64 {
        match (self, inputs) {
            (Elements::F32(g), Inputs::F32(x)) => kernels::add_step(g, acc, x, divisor, threads),
            (Elements::F32(g), Inputs::F64(x)) => kernels::add_step(g, acc, x, divisor, threads),
            (Elements::F64(g), Inputs::F32(x)) => kernels::add_step(g, acc, x, divisor, threads),
            (Elements::F64(g), Inputs::F64(x)) => kernels::add_step(g, acc, x, divisor, threads),
        }
    }
}

/// Tensor `t` of every pending update, with its weight, as the kernels read it.
fn views(pending: &[(f64, Vec<Tensor>)], t: usize) -> Vec<(f64, View<'_>)> {
    pending.iter().map(|(w, d)| (*w, View::of(&d[t]))).collect()
}

/// Weighted inputs of one dtype (all updates' tensor `t` share the model's dtype).
enum Inputs<'a> {
    F32(Vec<(f64, &'a [f32])>),
    F64(Vec<(f64, &'a [f64])>),
}

impl<'a> Inputs<'a> {
    fn of(views: &'a [(f64, View<'a>)]) -> Inputs<'a> {
        let narrow: Vec<(f64, &[f32])> =
            views.iter().filter_map(|(w, v)| if let View::F32(v) = v { Some((*w, *v)) } else { None }).collect();
        if narrow.len() == views.len() {
            return Inputs::F32(narrow);
        }
        Inputs::F64(
            views.iter().filter_map(|(w, v)| if let View::F64(v) = v { Some((*w, &v[..])) } else { None }).collect(),
        )
    }

    /// [`kernels::fold`] of these inputs into `acc`.
    fn fold(&self, acc: &mut [f64], fresh: bool, threads: usize) {
        match self {
            Inputs::F32(x) => kernels::fold(acc, fresh, x, threads),
            Inputs::F64(x) => kernels::fold(acc, fresh, x, threads),
        }
    }
}

impl Server {
    /// A server for the model `global` (float tensors); validates the strategy's parameters.
    pub fn new(global: Vec<Tensor>, strategy: Strategy, config: ServerConfig) -> Result<Server, FedError> {
        strategy.check()?;
        if let Some(c) = config.clip.filter(|c| !(*c > 0.0 && c.is_finite())) {
            return Err(FedError::Config(format!("clip: the factor must be positive, got {c}")));
        }
        let spec = ModelSpec::of_model(&global)?;
        let config = ServerConfig { threads: config.threads.max(1), fold: config.fold.max(1), ..config };
        let id = NEXT_SERVER.fetch_add(1, Ordering::Relaxed);
        Ok(Server { id, global, spec, strategy, config, moments: None, spare: Vec::new(), round: 0 })
    }

    /// The current global model.
    pub fn global(&self) -> &[Tensor] {
        &self.global
    }

    /// The global model, consuming the server.
    pub fn into_global(self) -> Vec<Tensor> {
        self.global
    }

    pub fn spec(&self) -> &ModelSpec {
        &self.spec
    }

    pub fn strategy(&self) -> Strategy {
        self.strategy
    }

    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// Rounds finished so far (the number of the next round).
    pub fn rounds(&self) -> u64 {
        self.round
    }

    /// Start the next round.
    pub fn begin_round(&mut self) -> Round {
        let pool = if self.strategy.is_robust() {
            Pool::Buffer { deltas: Vec::new(), max: self.config.max_buffered }
        } else {
            let mut sums = std::mem::take(&mut self.spare);
            if sums.len() != self.spec.tensors.len() {
                sums = self.spec.tensors.iter().map(|t| vec![0.0; t.len()]).collect();
            }
            // Clipping needs the round's median norm: fold nothing before the end.
            let fold = if self.config.clip.is_some() { usize::MAX } else { self.config.fold };
            Pool::Sum { sums, fresh: true, pending: Vec::new(), fold, weight: 0.0 }
        };
        Round {
            server: self.id,
            round: self.round,
            validator: Validator::new(self.spec.clone(), self.config.max_norm, self.config.threads),
            expected: None,
            seen: HashSet::new(),
            pool,
            threads: self.config.threads,
            accepted: 0,
            examples: 0,
            rejected: Vec::new(),
            norms: Vec::new(),
        }
    }

    /// Apply the round's accepted updates with the strategy; with none, keep the model.
    /// An error if `round` was not begun by this server as its current round.
    pub fn finish_round(&mut self, round: Round) -> Result<RoundOutcome, FedError> {
        self.finish_round_reclaim(round).map(|(outcome, _spent)| outcome)
    }

    /// [`Server::finish_round`], handing back the accepted updates' tensors that the
    /// round still held instead of dropping them: every accepted delta, in order of
    /// acceptance, for a round of at most [`ServerConfig::fold`] updates, with clipping,
    /// and for median and trimmed mean; of a longer streaming round only those not folded
    /// before the end (the others were dropped when they were folded).
    ///
    /// Dropping a round's updates can cost as much as aggregating them: the allocator
    /// gives their pages back to the operating system (10 updates of the benchmark's CNN
    /// are 66.5 MB), and the next round's updates fault fresh, zeroed pages in again. A
    /// transport that receives the next round's updates into these buffers avoids both;
    /// [`Transport::reclaim`](crate::Transport::reclaim) is where [`crate::Coordinator`]
    /// hands them over.
    pub fn finish_round_reclaim(&mut self, round: Round) -> Result<(RoundOutcome, Vec<Vec<Tensor>>), FedError> {
        if round.server != self.id || round.round != self.round {
            return Err(FedError::StaleRound { expected: self.round, found: round.round });
        }
        self.round += 1;
        let mut outcome = RoundOutcome {
            round: round.round,
            accepted: round.accepted,
            examples: round.examples,
            rejected: round.rejected,
            applied: false,
            step_norm: 0.0,
            clipped: 0,
        };
        if round.accepted == 0 {
            return Ok((outcome, Vec::new()));
        }
        let scales = match self.config.clip {
            Some(c) => clip_scales(&round.norms, c),
            None => vec![1.0; round.accepted],
        };
        outcome.clipped = scales.iter().filter(|&&s| s < 1.0).count();
        let threads = self.config.threads;
        let mut squares = 0.0;
        let spent = match round.pool {
            Pool::Sum { mut sums, mut fresh, mut pending, weight, .. } => {
                if outcome.clipped > 0 {
                    // With clipping nothing was folded: `pending` holds every accepted update.
                    for ((w, _), s) in pending.iter_mut().zip(&scales) {
                        *w *= s;
                    }
                }
                let spent = if let Strategy::FedAdam(config) = self.strategy {
                    let spent = flush(&mut sums, &mut fresh, &mut pending, threads);
                    let (m, v) = self.moments.get_or_insert_with(|| {
                        let zeros: Vec<Vec<f64>> = sums.iter().map(|s| vec![0.0; s.len()]).collect();
                        (zeros.clone(), zeros)
                    });
                    for ((step, m), v) in sums.iter_mut().zip(m.iter_mut()).zip(v.iter_mut()) {
                        adam(step, m, v, weight, &config);
                    }
                    for (t, step) in sums.iter().enumerate() {
                        squares += self.add_to_tensor(t, |g| g.add(Some(step), &Inputs::F64(Vec::new()), 1.0, threads));
                    }
                    spent
                } else {
                    // FedAvg, FedProx: w + (folded + pending) / Σ nₖ, folding the last
                    // updates on the way.
                    for (t, sum) in sums.iter().enumerate() {
                        let acc = (!fresh).then_some(&sum[..]);
                        let views = views(&pending, t);
                        squares += self.add_to_tensor(t, |g| g.add(acc, &Inputs::of(&views), weight, threads));
                    }
                    pending.into_iter().map(|(_, delta)| delta).collect()
                };
                self.spare = sums;
                spent
            }
            Pool::Buffer { deltas, .. } => {
                // The steps go into the buffers kept from round to round: fresh ones would
                // cost a page fault per 4 KiB, as much as the selection itself.
                let mut steps = std::mem::take(&mut self.spare);
                self.select(&deltas, &scales, &mut steps);
                for (t, step) in steps.iter().enumerate() {
                    squares += self.add_to_tensor(t, |g| g.add(Some(step), &Inputs::F64(Vec::new()), 1.0, threads));
                }
                self.spare = steps;
                deltas
            }
        };
        outcome.applied = true;
        outcome.step_norm = squares.sqrt();
        Ok((outcome, spent))
    }

    /// Update global tensor `t` in place with `f`, which sees its elements as f32 (f32
    /// tensors) or f64 (the others, widened and rounded back once); gives what `f` gives.
    fn add_to_tensor(&mut self, t: usize, f: impl FnOnce(Elements<'_>) -> f64) -> f64 {
        let spec = &self.spec.tensors[t];
        let tensor = std::mem::replace(&mut self.global[t], Tensor::scalar(0.0f32));
        match tensor.into_vec::<f32>() {
            Ok(mut values) => {
                let squares = f(Elements::F32(&mut values));
                self.global[t] = Tensor::from_vec(spec.shape.clone(), values).expect("same element count");
                squares
            }
            Err(tensor) => {
                let mut values = tensor.data().to_f64_vec();
                let squares = f(Elements::F64(&mut values));
                self.global[t] = tensor_from_f64(spec, values);
                squares
            }
        }
    }

    /// The coordinate-wise median or trimmed mean of `deltas`, each multiplied by its
    /// factor in `scales`, per tensor, into `steps` (resized to the tensors).
    fn select(&self, deltas: &[Vec<Tensor>], scales: &[f64], steps: &mut Vec<Vec<f64>>) {
        let n = deltas.len();
        let how = match self.strategy {
            Strategy::TrimmedMean { beta } => Select::Trimmed(((beta * n as f64).floor() as usize).min((n - 1) / 2)),
            _ => Select::Median,
        };
        let threads = self.config.threads;
        steps.resize_with(self.spec.tensors.len(), Vec::new);
        for (t, out) in steps.iter_mut().enumerate() {
            out.resize(self.spec.tensors[t].len(), 0.0);
            let views: Vec<View<'_>> = deltas.iter().map(|d| View::of(&d[t])).collect();
            let f32s: Vec<&[f32]> =
                views.iter().filter_map(|v| if let View::F32(v) = v { Some(*v) } else { None }).collect();
            if f32s.len() == n {
                kernels::select(&f32s, scales, how, out, threads);
            } else {
                let f64s: Vec<&[f64]> =
                    views.iter().filter_map(|v| if let View::F64(v) = v { Some(&v[..]) } else { None }).collect();
                kernels::select(&f64s, scales, how, out, threads);
            }
        }
    }
}

/// One FedAdam step on a tensor: `step` holds `Σ nₖΔₖ` (divided by `divisor` to give the
/// mean update Δ) and becomes `lr·m / (√v + τ)`.
fn adam(step: &mut [f64], m: &mut [f64], v: &mut [f64], divisor: f64, c: &AdamConfig) {
    for ((s, m), v) in step.iter_mut().zip(m.iter_mut()).zip(v.iter_mut()) {
        let d = *s / divisor;
        *m = c.beta1 * *m + (1.0 - c.beta1) * d;
        *v = c.beta2 * *v + (1.0 - c.beta2) * d * d;
        *s = c.lr * *m / (v.sqrt() + c.tau);
    }
}

/// The factor for each update of L2 norm `norms[k]` that clips it to `c` × the median of
/// `norms` (the mean of the two middle norms for an even count): `min(1, c·median / norm)`.
fn clip_scales(norms: &[f64], c: f64) -> Vec<f64> {
    let mut sorted = norms.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let median = if n % 2 == 1 { sorted[n / 2] } else { (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0 };
    let bound = c * median;
    norms.iter().map(|&norm| if norm > bound { bound / norm } else { 1.0 }).collect()
}

#[cfg(test)]
mod tests {
    use super::clip_scales;

    #[test]
    fn clipping_scales_only_norms_above_the_bound() {
        // Median of {1, 2, 3, 100} is 2.5; the bound 2·2.5 = 5 clips only 100, to 5.
        assert_eq!(clip_scales(&[2.0, 100.0, 1.0, 3.0], 2.0), [1.0, 0.05, 1.0, 1.0]);
        // Median of {1, 4, 8} is 4; bound 4.
        assert_eq!(clip_scales(&[8.0, 1.0, 4.0], 1.0), [0.5, 1.0, 1.0]);
        assert_eq!(clip_scales(&[0.0, 0.0, 3.0], 2.0), [1.0, 1.0, 0.0]);
    }
}
