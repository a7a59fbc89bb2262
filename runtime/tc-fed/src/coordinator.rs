//! Rounds over a [`Transport`]: sample clients, send them the model, feed their reports
//! to the [`Server`] as they arrive, and account for everyone.

use std::collections::HashSet;

use crate::{Arrival, ClientId, DropReason, FedError, RoundOutcome, Server, Task, Transport, TransportError};

/// Who takes part in rounds, and how long a round waits.
#[derive(Clone, Debug, PartialEq)]
pub struct CoordinatorConfig {
    /// K: clients `0..K`.
    pub population: u64,
    /// C: each round samples `max(1, round(C·K))` clients.
    pub fraction: f64,
    /// Seeds the sampling.
    pub seed: u64,
    /// Reports later than this many seconds after the model is sent are dropped.
    pub deadline: Option<f64>,
}

/// Everything about one round: the server's outcome and the transport's accounting.
#[derive(Clone, Debug, PartialEq)]
pub struct RoundReport {
    pub outcome: RoundOutcome,
    /// The sampled clients, ascending.
    pub sampled: Vec<ClientId>,
    /// Clients whose update arrived in time (accepted or rejected).
    pub reported: usize,
    /// Clients that failed, or that the transport never mentioned.
    pub failed: usize,
    /// Clients whose report would have come after the deadline.
    pub late: usize,
    /// Bytes of the updates that arrived.
    pub bytes_up: u64,
    /// Bytes the transport sent to clients.
    pub bytes_down: u64,
}

impl RoundReport {
    /// Sampled clients whose update did not arrive in time: failed or late.
    pub fn dropped(&self) -> usize {
        self.failed + self.late
    }
}

/// Runs rounds of a [`Server`] over a [`Transport`].
#[derive(Debug)]
pub struct Coordinator {
    server: Server,
    config: CoordinatorConfig,
}

impl Coordinator {
    /// An error unless `population ≥ 1`, `0 < fraction ≤ 1` and the deadline (if any) is ≥ 0.
    pub fn new(server: Server, config: CoordinatorConfig) -> Result<Coordinator, FedError> {
        if config.population == 0 {
            return Err(FedError::Config("the population of clients must not be empty".into()));
        }
        if !(config.fraction > 0.0 && config.fraction <= 1.0) {
            return Err(FedError::Config(format!(
                "the fraction of clients per round must be in (0, 1], got {}",
                config.fraction
            )));
        }
        if let Some(deadline) = config.deadline.filter(|d| d.is_nan() || *d < 0.0) {
            return Err(FedError::Config(format!("the deadline must be ≥ 0 seconds, got {deadline}")));
        }
        Ok(Coordinator { server, config })
    }

    pub fn server(&self) -> &Server {
        &self.server
    }

    pub fn into_server(self) -> Server {
        self.server
    }

    pub fn config(&self) -> &CoordinatorConfig {
        &self.config
    }

    /// Run the server's next round over `transport`. A round in which no update is
    /// accepted keeps the model (`outcome.applied` is false).
    pub fn run_round(&mut self, transport: &mut dyn Transport) -> Result<RoundReport, TransportError> {
        let number = self.server.rounds();
        let sampled = sample_clients(self.config.seed, number, self.config.population, self.config.fraction);
        let mut round = self.server.begin_round();
        round.expect(&sampled);
        // Each sampled client is counted once, by its first arrival; anything else is
        // rejected (reports) or ignored (drops).
        let mut pending: HashSet<ClientId> = sampled.iter().copied().collect();
        let (mut reported, mut failed, mut late, mut bytes_up) = (0, 0, 0, 0);
        let task =
            Task { round: number, clients: &sampled, global: self.server.global(), deadline: self.config.deadline };
        let bytes_down = transport.exchange(&task, &mut |arrival| match arrival {
            Arrival::Report { update, .. } => {
                bytes_up += update.bytes();
                if pending.remove(&update.client) {
                    reported += 1;
                }
                // A rejection is recorded in the round's outcome.
                let _ = round.offer(update);
            }
            Arrival::Dropped { client, reason } => {
                if pending.remove(&client) {
                    match reason {
                        DropReason::Failed => failed += 1,
                        DropReason::Late { .. } => late += 1,
                    }
                }
            }
        })?;
        failed += pending.len();
        let (outcome, spent) = self.server.finish_round_reclaim(round).map_err(|e| TransportError(e.to_string()))?;
        transport.reclaim(spent);
        Ok(RoundReport { outcome, sampled, reported, failed, late, bytes_up, bytes_down })
    }
}

/// The clients of round `round`: `max(1, round(fraction·population))` distinct clients of
/// `0..population`, ascending, a pure function of the arguments.
pub fn sample_clients(seed: u64, round: u64, population: u64, fraction: f64) -> Vec<ClientId> {
    let m = ((fraction * population as f64).round() as u64).clamp(1, population.max(1));
    let mut rng = SplitMix64(seed ^ round.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x5eed_c11e_475a_3b1e);
    // Floyd's algorithm: m distinct values without materialising the population.
    let mut chosen = std::collections::BTreeSet::new();
    for j in population - m..population {
        let t = rng.below(j + 1);
        if !chosen.insert(t) {
            chosen.insert(j);
        }
    }
    chosen.into_iter().collect()
}

/// SplitMix64: small, fast, and good enough to sample clients.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`, n > 0.
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }
}
