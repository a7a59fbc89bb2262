//! `tensorc fed simulate` (SPEC §11): federated averaging with simulated clients, on the
//! aggregation core of `tc-fed`.
//!
//! The training split is dealt to K clients ([`SplitSpec`]: IID, label shards, Dirichlet
//! label skew). Each round, a [`tc_fed::Coordinator`] samples a fraction C of them and
//! sends the global model through [`Federation`], the in-process [`Transport`]: every
//! sampled client trains E local epochs of batch-B SGD on its own shard with the model
//! file's `loss` (the [`train::Stepper`] of `tensorc train`, or for FedProx a step built
//! as a graph whose loss carries the proximal term), on a thread pool, and reports its update
//! (its model minus the global one), weighted by its number of examples.
//!
//! Time is simulated, so that runs are reproducible: a client processes
//! [`EXAMPLES_PER_SECOND`] examples per second and, with `--link MBIT`, moves the model
//! down and its update up at MBIT megabits per second; a slow client of `--slow P:F` is F
//! times slower at both. A report that would arrive after `--deadline` is dropped (and
//! the client does not train), as is the report of a client that fails (`--dropout`).
//! Reports reach the server in the order of their simulated arrival, so the whole run is
//! a function of its options: the same seed gives the same numbers, whatever the number
//! of threads. A round in which nothing is accepted keeps the model and says so.
//!
//! For robustness experiments, `--byzantine P:scale[:S]` or `P:nan` makes a fraction P
//! of the clients send their honest update times S (default 100), or NaN; `--max-norm`
//! and `--clip` are the server's norm defences ([`ServerConfig`]).
//!
//! A real federation's node (`tensorc fed node`, with Flower as the engine) is [`node`],
//! doing one client's work of [`local`]: its partition, local training, evaluation.

mod fedprox;
pub mod local;
pub mod node;
mod split;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};

use tc_fed::{
    Arrival, ClientId, Coordinator, CoordinatorConfig, DropReason, Server, ServerConfig, Strategy, Tally, Task,
    Transport, TransportError, Update,
};

use tensorc::{Data, Error, Tensor, Value};

use crate::data::{self, DataSet, Rng, Split};
use crate::train::{self, Model, Stepper};
pub use split::{check_clients, split};

/// Simulated speed of a client device: examples trained per second.
pub const EXAMPLES_PER_SECOND: f64 = 1000.0;
/// The name of the FedProx step, built as a graph.
pub const FEDPROX_STEP: &str = "__tensorc_fedprox_step";
/// Test examples per call of `predict` when measuring accuracy.
const EVAL_BATCH: usize = 500;

/// Examples per local step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Batch {
    /// B examples (a client's last batch of an epoch may be smaller).
    Size(usize),
    /// The client's whole shard in one batch: with E = 1, FedSGD.
    All,
}

impl Batch {
    /// `B` (a positive integer) or `all`.
    pub fn parse(text: &str) -> Result<Batch, String> {
        match text {
            "all" => Ok(Batch::All),
            _ => match text.parse::<usize>() {
                Ok(b) if b > 0 => Ok(Batch::Size(b)),
                _ => Err(format!("`{text}` is not a batch size: expected a positive integer or `all`")),
            },
        }
    }
}

/// How the training examples are dealt to clients.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SplitSpec {
    /// Shuffled, then dealt in equal parts.
    Iid,
    /// Sorted by label and cut into K·S shards, S random shards per client (McMahan et
    /// al.'s pathological non-IID split with S = 2).
    Shards(usize),
    /// Each class is divided among the clients in proportions drawn from Dirichlet(α):
    /// small α, few classes per client.
    Dirichlet(f64),
}

impl SplitSpec {
    /// `iid`, `shards:S` or `dirichlet:ALPHA`.
    pub fn parse(text: &str) -> Result<SplitSpec, String> {
        let bad = || format!("`{text}` is not a split: expected iid, shards:S or dirichlet:ALPHA");
        match text.split_once(':') {
            None if text == "iid" => Ok(SplitSpec::Iid),
            Some(("shards", s)) => s.parse().ok().filter(|&s: &usize| s > 0).map(SplitSpec::Shards).ok_or_else(bad),
            Some(("dirichlet", a)) => {
                a.parse().ok().filter(|a: &f64| *a > 0.0 && a.is_finite()).map(SplitSpec::Dirichlet).ok_or_else(bad)
            }
            _ => Err(bad()),
        }
    }
}

/// What Byzantine clients send instead of their honest update.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Attack {
    /// The honest update times this factor.
    Scale(f64),
    /// NaN everywhere.
    Nan,
}

/// A fraction of clients that misbehave in every round they take part in.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Byzantine {
    pub fraction: f64,
    pub attack: Attack,
}

impl Byzantine {
    /// `P:scale`, `P:scale:S` or `P:nan`, with 0 ≤ P ≤ 1.
    pub fn parse(text: &str) -> Result<Byzantine, String> {
        let bad = || format!("`{text}` is not a Byzantine setting: expected P:scale, P:scale:S or P:nan");
        let mut parts = text.split(':');
        let fraction =
            parts.next().and_then(|p| p.parse::<f64>().ok()).filter(|p| (0.0..=1.0).contains(p)).ok_or_else(bad)?;
        let attack = match (parts.next(), parts.next(), parts.next()) {
            (Some("nan"), None, None) => Attack::Nan,
            (Some("scale"), None, None) => Attack::Scale(100.0),
            (Some("scale"), Some(s), None) => {
                Attack::Scale(s.parse::<f64>().ok().filter(|s| s.is_finite()).ok_or_else(bad)?)
            }
            _ => return Err(bad()),
        };
        Ok(Byzantine { fraction, attack })
    }
}

/// `P:F`: a fraction P of the clients is F times slower.
pub fn parse_slow(text: &str) -> Result<(f64, f64), String> {
    let bad = || format!("`{text}` is not a slow-client setting: expected P:F with 0 ≤ P ≤ 1 and F ≥ 1");
    let (p, f) = text.split_once(':').ok_or_else(bad)?;
    let p = p.parse::<f64>().ok().filter(|p| (0.0..=1.0).contains(p)).ok_or_else(bad)?;
    let f = f.parse::<f64>().ok().filter(|f| *f >= 1.0 && f.is_finite()).ok_or_else(bad)?;
    Ok((p, f))
}

/// The knobs of a simulation (SPEC §11), with its defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// K.
    pub clients: usize,
    /// C.
    pub fraction: f64,
    /// R: the most rounds to run.
    pub rounds: usize,
    /// E.
    pub local_epochs: usize,
    /// B.
    pub batch: Batch,
    pub lr: f64,
    pub split: SplitSpec,
    /// Probability that a sampled client fails to report.
    pub dropout: f64,
    /// `(P, F)`: a fraction P of the clients is F times slower.
    pub slow: Option<(f64, f64)>,
    /// Simulated seconds after which reports are dropped.
    pub deadline: Option<f64>,
    /// Each client's network link, megabits per second each way: the model's download
    /// and the update's upload count in the simulated time. `None`: instantaneous.
    pub link: Option<f64>,
    pub strategy: Strategy,
    /// Stop when test accuracy reaches this fraction.
    pub target: Option<f64>,
    pub seed: u64,
    pub byzantine: Option<Byzantine>,
    /// Reject updates with a larger L2 norm.
    pub max_norm: Option<f64>,
    /// Scale updates down to at most this many times the round's median update norm
    /// ([`ServerConfig::clip`]).
    pub clip: Option<f64>,
    /// Client threads (and aggregation threads).
    pub threads: usize,
    /// Measure test accuracy every this many rounds (and after the last).
    pub eval_every: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            clients: 100,
            fraction: 0.1,
            rounds: 100,
            local_epochs: 1,
            batch: Batch::Size(10),
            lr: 0.1,
            split: SplitSpec::Iid,
            dropout: 0.0,
            slow: None,
            deadline: None,
            link: None,
            strategy: Strategy::FedAvg,
            target: None,
            seed: 0,
            byzantine: None,
            max_norm: None,
            clip: None,
            threads: std::thread::available_parallelism().map_or(1, usize::from),
            eval_every: 1,
        }
    }
}

/// What happened in one round.
#[derive(Clone, Debug, PartialEq)]
pub struct RoundStats {
    /// 1-based.
    pub round: usize,
    pub sampled: usize,
    /// Clients whose update arrived in time.
    pub reported: usize,
    /// Updates applied.
    pub accepted: usize,
    /// Sampled clients that failed.
    pub failed: usize,
    /// Sampled clients whose report would have come after the deadline.
    pub late: usize,
    /// Reports rejected by validation, by reason.
    pub rejected: Tally,
    /// Accepted updates scaled down by `--clip` (`None` without clipping).
    pub clipped: Option<usize>,
    /// Whether the model changed (false: nothing accepted, the model is kept).
    pub applied: bool,
    /// Mean training loss of the reporting clients (NaN if none).
    pub loss: f64,
    /// Test accuracy after the round, if measured this round.
    pub accuracy: Option<f64>,
    pub bytes_up: u64,
    pub bytes_down: u64,
    /// Simulated duration: the last report's arrival, or the deadline if anyone was late.
    pub seconds: f64,
}

impl RoundStats {
    /// Failed and late.
    pub fn dropped(&self) -> usize {
        self.failed + self.late
    }
}

/// The result of [`simulate`].
#[derive(Clone, Debug)]
pub struct Summary {
    pub history: Vec<RoundStats>,
    /// The first round whose accuracy reached the target.
    pub rounds_to_target: Option<usize>,
    /// The last measured test accuracy.
    pub final_accuracy: f64,
    /// Clients sampled per round: `max(1, round(C·K))`.
    pub clients_per_round: usize,
    /// Examples of each client's shard.
    pub shard_sizes: Vec<usize>,
    /// The final global model, shaped as `init` returned it.
    pub params: Value,
}

impl Summary {
    pub fn rounds(&self) -> usize {
        self.history.len()
    }

    /// Sampled clients that did not report, over all rounds.
    pub fn dropped(&self) -> usize {
        self.history.iter().map(RoundStats::dropped).sum()
    }

    pub fn bytes_up(&self) -> u64 {
        self.history.iter().map(|r| r.bytes_up).sum()
    }

    pub fn bytes_down(&self) -> u64 {
        self.history.iter().map(|r| r.bytes_down).sum()
    }

    /// Rejected updates over all rounds, by reason.
    pub fn rejected(&self) -> Tally {
        let mut tally = Tally::default();
        for r in &self.history {
            tally.merge(&r.rejected);
        }
        tally
    }
}

/// them, computed without drawing them.
pub fn clients_per_round(options: &Options) -> usize {
    let k = options.clients;
    ((options.fraction * k as f64).round() as usize).clamp(1, k.max(1))
}

const ROLE_SALT: u64 = 0x0b1e_c7ed_c11e_0002;
const DROP_SALT: u64 = 0xd20b_0a7c_11e0_0003;
const TRAIN_SALT: u64 = 0x7a1b_5eed_c11e_0004;

/// A seed for one purpose, round and client.
fn mix(seed: u64, salt: u64, round: u64, client: u64) -> u64 {
    let mut rng = Rng::new(seed ^ salt);
    let a = rng.next_u64() ^ round.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    Rng::new(a ^ client.wrapping_mul(0xc2b2_ae3d_27d4_eb4f)).next_u64()
}

/// The in-process [`Transport`]: clients that train on their shards on a thread pool.
pub struct Federation<'a> {
    model: &'a Model,
    data: &'a DataSet,
    options: &'a Options,
    shards: Vec<Vec<usize>>,
    slow: Vec<bool>,
    byzantine: Vec<bool>,
    /// `init`'s parameters: the structure every client's parameters take.
    template: Value,
    /// The step, one per batch size: `tensorc train`'s, or FedProx's.
    steppers: Mutex<HashMap<usize, Arc<Stepper>>>,
    /// FedProx's `mu`.
    mu: Option<f64>,
    /// The first error of a client in the current round.
    error: Option<Error>,
    /// Training losses of the current round's reports.
    losses: Vec<f64>,
    /// Simulated duration of the current round.
    seconds: f64,
}

impl<'a> Federation<'a> {
    /// Clients for `model` on `data`, dealt as `options.split` says.
    pub fn new(
        model: &'a Model,
        data: &'a DataSet,
        options: &'a Options,
        template: Value,
    ) -> Result<Federation<'a>, Error> {
        let shards = split(&data.train.labels, options.clients, options.split, options.seed)?;
        let mut roles = Rng::new(options.seed ^ ROLE_SALT);
        let pick = |fraction: f64, roles: &mut Rng| -> Vec<bool> {
            let mut order: Vec<usize> = (0..options.clients).collect();
            roles.shuffle(&mut order);
            let count = (fraction * options.clients as f64).round() as usize;
            let mut chosen = vec![false; options.clients];
            for &c in &order[..count.min(options.clients)] {
                chosen[c] = true;
            }
            chosen
        };
        let slow = pick(options.slow.map_or(0.0, |(p, _)| p), &mut roles);
        let byzantine = pick(options.byzantine.map_or(0.0, |b| b.fraction), &mut roles);
        let mu = options.strategy.proximal_mu();
        if mu.is_some() && model.has_step() {
            return Err(Error::Usage(
                "--strategy fedprox adds its proximal term to `loss` and trains with SGD, \
                 but this model file defines its own `step`"
                    .to_string(),
            ));
        }
        Ok(Federation {
            model,
            data,
            options,
            shards,
            slow,
            byzantine,
            template,
            steppers: Mutex::new(HashMap::new()),
            mu,
            error: None,
            losses: Vec::new(),
            seconds: 0.0,
        })
    }

    /// Simulated seconds from the round's start to the client's report: downloading the
    /// model (`model_bytes`), training, uploading an update of the same size.
    fn seconds(&self, client: usize, model_bytes: u64) -> f64 {
        let factor = match self.options.slow {
            Some((_, f)) if self.slow[client] => f,
            _ => 1.0,
        };
        let training = (self.options.local_epochs * self.shards[client].len()) as f64 / EXAMPLES_PER_SECOND;
        let transfer = self.options.link.map_or(0.0, |mbit| 2.0 * model_bytes as f64 * 8.0 / (mbit * 1e6));
        (training + transfer) * factor
    }

    /// One local step from `params` on the batch `x`, `y`; `global` for FedProx.
    fn step(&self, params: Vec<Tensor>, x: Tensor, y: Tensor, global: &[Tensor]) -> Result<(Vec<Tensor>, f64), Error> {
        let b = x.shape()[0];
        let stepper = {
            let mut steppers = self.steppers.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            match steppers.get(&b) {
                Some(s) => Arc::clone(s),
                None => {
                    let s = Arc::new(match self.mu {
                        Some(mu) => self.model.fedprox_stepper(&self.template, &x, &y, self.options.lr, mu)?,
                        None => self.model.stepper(&self.template, &x, &y, self.options.lr)?,
                    });
                    steppers.insert(b, Arc::clone(&s));
                    s
                }
            }
        };
        let global = if self.mu.is_some() { global } else { &[] };
        stepper.step(self.model, params, x, y, global)
    }

    /// Client `client`'s update in round `round`, from `global`, and its mean training loss.
    fn train_client(&self, round: u64, client: usize, global: &[Tensor]) -> Result<(Update, f64), Error> {
        let shard = &self.shards[client];
        let examples = shard.len() as u64;
        let attack = self.options.byzantine.filter(|_| self.byzantine[client]).map(|b| b.attack);
        if attack == Some(Attack::Nan) {
            let delta = global
                .iter()
                .map(|g| Tensor::new(g.shape().to_vec(), Data::from_f64(g.dtype(), &vec![f64::NAN; g.len()])))
                .collect::<Result<_, _>>();
            let delta = delta.map_err(|e| Error::Runtime(e.to_string()))?;
            return Ok((Update::new(client as ClientId, examples, delta), f64::NAN));
        }
        let batch = match self.options.batch {
            Batch::All => shard.len(),
            Batch::Size(b) => b.min(shard.len()),
        };
        let mut rng = Rng::new(mix(self.options.seed, TRAIN_SALT, round, client as u64));
        let mut order = shard.clone();
        let mut params = global.to_vec();
        let (mut total, mut steps) = (0.0, 0usize);
        for _ in 0..self.options.local_epochs {
            rng.shuffle(&mut order);
            for chunk in order.chunks(batch) {
                let (x, y) = data::batch(&self.data.train, chunk, self.model.layout, self.model.x_dtype);
                let (next, loss) = self.step(params, x, y, global)?;
                params = next;
                total += loss;
                steps += 1;
            }
        }
        let scale = match attack {
            Some(Attack::Scale(s)) => s,
            _ => 1.0,
        };
        let delta = params.iter().zip(global).map(|(p, g)| difference(p, g, scale)).collect::<Result<_, _>>()?;
        Ok((Update::new(client as ClientId, examples, delta), total / steps.max(1) as f64))
    }
}

/// `scale · (p − g)` in the tensors' dtype.
fn difference(p: &Tensor, g: &Tensor, scale: f64) -> Result<Tensor, Error> {
    let data = match (p.as_f32(), g.as_f32()) {
        (Some(p), Some(g)) if scale == 1.0 => Data::F32(p.iter().zip(g).map(|(a, b)| a - b).collect()),
        (Some(p), Some(g)) => Data::F32(p.iter().zip(g).map(|(a, b)| ((a - b) as f64 * scale) as f32).collect()),
        _ => {
            let (pv, gv) = (p.data().to_f64_vec(), g.data().to_f64_vec());
            Data::from_f64(g.dtype(), &pv.iter().zip(&gv).map(|(a, b)| (a - b) * scale).collect::<Vec<_>>())
        }
    };
    Tensor::new(g.shape().to_vec(), data).map_err(|e| Error::Runtime(e.to_string()))
}

impl Transport for Federation<'_> {
    /// Plan the round (who fails, who would be late), train the others on the thread
    /// pool in the order of their simulated arrival, and pass the reports on in that order.
    fn exchange(&mut self, task: &Task<'_>, sink: &mut dyn FnMut(Arrival)) -> Result<u64, TransportError> {
        let mut jobs: Vec<(f64, usize)> = Vec::new();
        let mut dropped: Vec<(ClientId, DropReason)> = Vec::new();
        let model_bytes = tc_fed::wire_bytes(task.global);
        for &client in task.clients {
            let c = client as usize;
            let fails =
                Rng::new(mix(self.options.seed, DROP_SALT, task.round, client)).next_f64() < self.options.dropout;
            let at = self.seconds(c, model_bytes);
            if fails {
                dropped.push((client, DropReason::Failed));
            } else if task.deadline.is_some_and(|d| at > d) {
                dropped.push((client, DropReason::Late { at }));
            } else {
                jobs.push((at, c));
            }
        }
        jobs.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let late = dropped.iter().any(|(_, r)| matches!(r, DropReason::Late { .. }));
        self.seconds = match (late, task.deadline) {
            (true, Some(d)) => d,
            _ => jobs.last().map_or(0.0, |j| j.0),
        };
        self.losses.clear();
        self.error = None;
        let this = &*self;
        let next = AtomicUsize::new(0);
        let abort = AtomicBool::new(false);
        let mut losses = Vec::new();
        let mut error = None;
        let workers = this.options.threads.clamp(1, jobs.len().max(1));
        std::thread::scope(|scope| {
            let (sender, receiver) = mpsc::channel();
            for _ in 0..workers {
                let sender = sender.clone();
                let (next, abort, jobs) = (&next, &abort, &jobs);
                scope.spawn(move || loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= jobs.len() || abort.load(Ordering::Relaxed) {
                        break;
                    }
                    let result = this.train_client(task.round, jobs[i].1, task.global);
                    if sender.send((i, result)).is_err() {
                        break;
                    }
                });
            }
            drop(sender);
            // Pass reports on in arrival order; results that finish early wait their turn.
            let mut ready = BTreeMap::new();
            let mut turn = 0;
            for (i, result) in receiver {
                ready.insert(i, result);
                while let Some(result) = ready.remove(&turn) {
                    match result {
                        Ok((update, loss)) if error.is_none() => {
                            losses.push(loss);
                            sink(Arrival::Report { update, at: jobs[turn].0 });
                        }
                        Ok(_) => {}
                        Err(e) => {
                            abort.store(true, Ordering::Relaxed);
                            error.get_or_insert(e);
                        }
                    }
                    turn += 1;
                }
            }
        });
        self.losses = losses;
        if let Some(e) = error {
            let message = e.to_string();
            self.error = Some(e);
            return Err(TransportError(message));
        }
        for (client, reason) in dropped {
            sink(Arrival::Dropped { client, reason });
        }
        Ok(model_bytes * task.clients.len() as u64)
    }
}

/// Run federated averaging of `model` on `data`; `on_round` hears about every round.
pub fn simulate(
    model: &Model,
    data: &DataSet,
    options: &Options,
    on_round: &mut dyn FnMut(&RoundStats),
) -> Result<Summary, Error> {
    check(options)?;
    check_clients(options.clients, options.split, data.train.len())?;
    let template = model.init(options.seed)?;
    let first: Vec<usize> = (0..data.train.len().min(2)).collect();
    let (x, y) = data::batch(&data.train, &first, model.layout, model.x_dtype);
    model.check_loss(&template, &x, &y)?;
    let usage = |e: tc_fed::FedError| Error::Usage(e.to_string());
    let config = ServerConfig {
        max_norm: options.max_norm,
        clip: options.clip,
        threads: options.threads,
        ..ServerConfig::default()
    };
    let server = Server::new(template.clone().into_leaves(), options.strategy, config).map_err(usage)?;
    let config = CoordinatorConfig {
        population: options.clients as u64,
        fraction: options.fraction,
        seed: options.seed,
        deadline: options.deadline,
    };
    let mut coordinator = Coordinator::new(server, config).map_err(usage)?;
    let mut federation = Federation::new(model, data, options, template.clone())?;
    let evaluate = |leaves: &[Tensor]| -> Result<f64, Error> {
        let params = train::rebuild(&template, &mut leaves.iter().cloned());
        accuracy(model, &params, &data.test, options.threads)
    };
    let mut history = Vec::new();
    let mut rounds_to_target = None;
    let mut final_accuracy = f64::NAN;
    for round in 1..=options.rounds {
        let report = coordinator
            .run_round(&mut federation)
            .map_err(|e| federation.error.take().unwrap_or(Error::Runtime(e.to_string())))?;
        let measure = round % options.eval_every.max(1) == 0 || round == options.rounds;
        let accuracy = if measure { Some(evaluate(coordinator.server().global())?) } else { None };
        let losses = &federation.losses;
        let stats = RoundStats {
            round,
            sampled: report.sampled.len(),
            reported: report.reported,
            accepted: report.outcome.accepted,
            failed: report.failed,
            late: report.late,
            rejected: report.outcome.tally(),
            clipped: options.clip.map(|_| report.outcome.clipped),
            applied: report.outcome.applied,
            loss: if losses.is_empty() { f64::NAN } else { losses.iter().sum::<f64>() / losses.len() as f64 },
            accuracy,
            bytes_up: report.bytes_up,
            bytes_down: report.bytes_down,
            seconds: federation.seconds,
        };
        on_round(&stats);
        history.push(stats);
        if let Some(a) = accuracy {
            final_accuracy = a;
            if rounds_to_target.is_none() && options.target.is_some_and(|t| a >= t) {
                rounds_to_target = Some(round);
                break;
            }
        }
    }
    let shard_sizes = federation.shards.iter().map(Vec::len).collect();
    let params = train::rebuild(&template, &mut coordinator.into_server().into_global().into_iter());
    Ok(Summary { history, rounds_to_target, final_accuracy, clients_per_round: clients_per_round(options), shard_sizes, params })
}

/// Usage errors for options out of range.
pub fn check(o: &Options) -> Result<(), Error> {
    let bad = |m: String| Err(Error::Usage(m));
    if o.clients == 0 {
        return bad("--clients must be at least 1".into());
    }
    if !(o.fraction > 0.0 && o.fraction <= 1.0) {
        return bad(format!("--fraction {}: must be in (0, 1]", o.fraction));
    }
    if o.local_epochs == 0 {
        return bad("--local-epochs must be at least 1".into());
    }
    if !(o.lr > 0.0 && o.lr.is_finite()) {
        return bad(format!("--lr {}: must be positive", o.lr));
    }
    if !(0.0..=1.0).contains(&o.dropout) {
        return bad(format!("--dropout {}: must be in [0, 1]", o.dropout));
    }
    if let Some(d) = o.deadline.filter(|d| d.is_nan() || *d < 0.0) {
        return bad(format!("--deadline {d}: must be ≥ 0 seconds"));
    }
    if let Some(l) = o.link.filter(|l| !(*l > 0.0 && l.is_finite())) {
        return bad(format!("--link {l}: must be a positive number of megabits per second"));
    }
    if let Some(t) = o.target.filter(|t| !(0.0..=1.0).contains(t)) {
        return bad(format!("--target {t}: must be an accuracy in [0, 1]"));
    }
    if let Some(m) = o.max_norm.filter(|m| m.is_nan() || *m <= 0.0) {
        return bad(format!("--max-norm {m}: must be positive"));
    }
    if let Some(c) = o.clip.filter(|c| !(*c > 0.0 && c.is_finite())) {
        return bad(format!("--clip {c}: must be a positive factor"));
    }
    if o.eval_every == 0 {
        return bad("--eval-every must be at least 1".into());
    }
    Ok(())
}

/// Test accuracy, the test split cut into one part per thread.
fn accuracy(model: &Model, params: &Value, test: &Split, threads: usize) -> Result<f64, Error> {
    let n = test.len();
    let parts = threads.clamp(1, n.div_ceil(EVAL_BATCH).max(1));
    let features = test.images.features();
    let slices: Vec<Split> = (0..parts)
        .map(|p| {
            let (lo, hi) = (p * n / parts, (p + 1) * n / parts);
            let images = crate::idx::Images {
                count: hi - lo,
                rows: test.images.rows,
                cols: test.images.cols,
                pixels: test.images.pixels[lo * features..hi * features].to_vec(),
            };
            Split { images, labels: test.labels[lo..hi].to_vec() }
        })
        .collect();
    let results: Vec<Result<f64, Error>> = std::thread::scope(|scope| {
        let handles: Vec<_> = slices
            .iter()
            .map(|s| scope.spawn(move || model.accuracy(params, s, EVAL_BATCH).map(|a| a * s.len() as f64)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(Error::Runtime("evaluation panicked".into()))))
            .collect()
    });
    let mut correct = 0.0;
    for r in results {
        correct += r?;
    }
    Ok(correct / n.max(1) as f64)
}

