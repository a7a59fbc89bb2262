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
    /// Median and trimmed mean keep every accepted update of a round: at most this many
    /// (later ones are rejected with [`Rejection::Capacity`]). Unused by the streaming strategies.
    pub max_buffered: usize,
    /// Threads the aggregation kernels may use (1: the calling thread only).
    pub threads: usize,
    /// FedAvg, FedProx and FedAdam fold accepted updates into the f64 accumulator this
    /// many at a time: a round holds the accumulator and at most `fold − 1` updates not
    /// yet folded. Folding several at once reads and writes the accumulator once for all
    /// of them (aggregation is bound by memory traffic); 1 folds each on arrival.
    pub fold: usize,
}

impl Default for ServerConfig {
    /// No norm bound, at most 1024 buffered updates, one thread per available core,
    /// folding 4 updates at a time.
    fn default() -> ServerConfig {
        let threads = std::thread::available_parallelism().map_or(1, usize::from);
        ServerConfig { max_norm: None, max_buffered: 1024, threads, fold: 4 }
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
    /// The f64 accumulators of the last round, lent to the next (no fresh allocation
    /// and page faults every round).
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
            Ok(()) => {
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

    fn admit(&mut self, update: &Update) -> Result<(), Rejection> {
        let sampled = self.expected.as_ref().is_none_or(|e| e.contains(&update.client));
        if !sampled || !self.seen.insert(update.client) {
            return Err(Rejection::Unexpected);
        }
        if let Pool::Buffer { deltas, max } = &self.pool {
            if deltas.len() >= *max {
                return Err(Rejection::Capacity { max: *max });
            }
        }
        self.validator.check(update).map(|_| ())
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
                    flush(sums, fresh, pending, threads);
                }
            }
            Pool::Buffer { deltas, .. } => deltas.push(update.delta),
        }
    }
}

/// Fold the pending updates into the accumulators `sums` (`fresh`: their contents are stale).
fn flush(sums: &mut [Vec<f64>], fresh: &mut bool, pending: &mut Vec<(f64, Vec<Tensor>)>, threads: usize) {
    if pending.is_empty() {
        return;
    }
    for (t, sum) in sums.iter_mut().enumerate() {
        Inputs::of(&views(pending, t)).fold(sum, *fresh, threads);
    }
    *fresh = false;
    pending.clear();
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
            Pool::Sum { sums, fresh: true, pending: Vec::new(), fold: self.config.fold, weight: 0.0 }
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
        }
    }

    /// Apply the round's accepted updates with the strategy; with none, keep the model.
    /// An error if `round` was not begun by this server as its current round.
    pub fn finish_round(&mut self, round: Round) -> Result<RoundOutcome, FedError> {
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
        };
        if round.accepted == 0 {
            return Ok(outcome);
        }
        let threads = self.config.threads;
        let mut squares = 0.0;
        match round.pool {
            Pool::Sum { mut sums, mut fresh, mut pending, weight, .. } => {
                if let Strategy::FedAdam(config) = self.strategy {
                    flush(&mut sums, &mut fresh, &mut pending, threads);
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
                } else {
                    // FedAvg, FedProx: w + (folded + pending) / Σ nₖ, folding the last
                    // updates on the way.
                    for (t, sum) in sums.iter().enumerate() {
                        let acc = (!fresh).then_some(&sum[..]);
                        let views = views(&pending, t);
                        squares += self.add_to_tensor(t, |g| g.add(acc, &Inputs::of(&views), weight, threads));
                    }
                }
                self.spare = sums;
            }
            Pool::Buffer { deltas, .. } => {
                let steps = self.select(&deltas);
                for (t, step) in steps.iter().enumerate() {
                    squares += self.add_to_tensor(t, |g| g.add(Some(step), &Inputs::F64(Vec::new()), 1.0, threads));
                }
            }
        }
        outcome.applied = true;
        outcome.step_norm = squares.sqrt();
        Ok(outcome)
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

    /// The coordinate-wise median or trimmed mean of `deltas`, per tensor.
    fn select(&self, deltas: &[Vec<Tensor>]) -> Vec<Vec<f64>> {
        let n = deltas.len();
        let how = match self.strategy {
            Strategy::TrimmedMean { beta } => Select::Trimmed(((beta * n as f64).floor() as usize).min((n - 1) / 2)),
            _ => Select::Median,
        };
        let threads = self.config.threads;
        (0..self.spec.tensors.len())
            .map(|t| {
                let views: Vec<View<'_>> = deltas.iter().map(|d| View::of(&d[t])).collect();
                let mut out = vec![0.0; self.spec.tensors[t].len()];
                let f32s: Vec<&[f32]> =
                    views.iter().filter_map(|v| if let View::F32(v) = v { Some(*v) } else { None }).collect();
                if f32s.len() == n {
                    kernels::select(&f32s, how, &mut out, threads);
                } else {
                    let f64s: Vec<&[f64]> =
                        views.iter().filter_map(|v| if let View::F64(v) = v { Some(&v[..]) } else { None }).collect();
                    kernels::select(&f64s, how, &mut out, threads);
                }
                out
            })
            .collect()
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
