//! The boundary between the server and its clients. A [`Transport`] delivers the global
//! model of a round to the sampled clients and hands back, as they arrive, their updates
//! or the news that a client will not report. The in-process simulator of
//! `tensorc fed simulate` is one transport; a multi-machine engine is another, and
//! [`crate::Coordinator`] runs rounds over either without knowing which.

use std::fmt;

use tc_tensor::Tensor;

use crate::{ClientId, Update};

/// One round's work for a transport.
#[derive(Clone, Copy, Debug)]
pub struct Task<'a> {
    /// 0-based round number.
    pub round: u64,
    /// The clients sampled for the round.
    pub clients: &'a [ClientId],
    /// The global model they start from.
    pub global: &'a [Tensor],
    /// Seconds after the model is sent beyond which reports are dropped (`None`: wait for
    /// every client to report or be known to have failed).
    pub deadline: Option<f64>,
}

/// What the transport hears about one client of a round.
#[derive(Clone, Debug, PartialEq)]
pub enum Arrival {
    /// The client's update, `at` seconds after the model was sent.
    Report { update: Update, at: f64 },
    /// The client will not report this round.
    Dropped { client: ClientId, reason: DropReason },
}

/// Why a sampled client did not report.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum DropReason {
    /// It failed (went offline, crashed, lost its connection).
    Failed,
    /// Its report would arrive `at` seconds after the model was sent, past the deadline.
    Late { at: f64 },
}

/// The transport could not run the round at all (as opposed to a client failing, which
/// is an [`Arrival::Dropped`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransportError(pub String);

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TransportError {}

/// Moves models to clients and updates back.
pub trait Transport {
    /// Send `task.global` to each of `task.clients` and pass every [`Arrival`] to `sink`
    /// as it happens. Return once each client has reported or been dropped, or when the
    /// deadline has passed: then every client still missing must have been passed on as
    /// [`DropReason::Late`] (the coordinator counts any client never mentioned as failed,
    /// so a broken transport cannot hang or skew a round). The result is the number of
    /// bytes sent to clients.
    fn exchange(&mut self, task: &Task<'_>, sink: &mut dyn FnMut(Arrival)) -> Result<u64, TransportError>;

    /// Take back the tensors of the round's accepted updates once the server is done with
    /// them (see [`crate::Server::finish_round_reclaim`]), for instance to receive the
    /// next round's updates into them. By default they are dropped.
    fn reclaim(&mut self, spent: Vec<Vec<Tensor>>) {
        drop(spent);
    }
}
