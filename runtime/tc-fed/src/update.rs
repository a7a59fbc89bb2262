//! What a client sends back: its model minus the global model it started from, and how
//! many examples it trained on (its weight in FedAvg).

use tc_tensor::Tensor;

use crate::{wire_bytes, ClientId};

/// One client's report for one round.
#[derive(Clone, Debug, PartialEq)]
pub struct Update {
    pub client: ClientId,
    /// Training examples behind the update: its weight in FedAvg, FedProx and FedAdam.
    pub examples: u64,
    /// `w_client − w_global`, one tensor per parameter tensor, in the model's order.
    pub delta: Vec<Tensor>,
}

impl Update {
    pub fn new(client: ClientId, examples: u64, delta: Vec<Tensor>) -> Update {
        Update { client, examples, delta }
    }

    /// Bytes of the delta as stored: what sending it moves.
    pub fn bytes(&self) -> u64 {
        wire_bytes(&self.delta)
    }
}
