//! A Rust host that federates a linear regression with `tc-fed` alone: no compiler, no
//! CLI. Twelve clients each hold private data (`y = w*·x + noise`), train locally with a
//! few steps of gradient descent, and send back only their update. The host plugs its
//! own [`Transport`] into a [`Coordinator`]: every sampled client runs on its own thread
//! and reports over a channel, in whatever order the threads finish. Client 3 is faulty
//! and sends NaN (validation rejects it), client 7 is offline (dropped).
//!
//! ```text
//! cargo run -p tensorc-fed-host-example
//! ```

use std::sync::mpsc;

use tc_fed::{
    Arrival, ClientId, Coordinator, CoordinatorConfig, DropReason, Server, ServerConfig, Strategy, Task, Tensor,
    Transport, TransportError, Update,
};

/// The weights every client's data comes from.
const TRUE_W: [f32; 3] = [2.0, -1.0, 0.5];
const CLIENTS: u64 = 12;
const FAULTY: ClientId = 3;
const OFFLINE: ClientId = 7;

/// One client's private data set: rows of `x` and their `y`.
struct Client {
    x: Vec<[f32; 3]>,
    y: Vec<f32>,
}

impl Client {
    /// `n` examples from a small deterministic generator seeded by the client's id.
    fn new(id: u64, n: usize) -> Client {
        let mut state = 0x9e37_79b9_7f4a_7c15u64 ^ (id + 1).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        let mut uniform = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
        };
        let x: Vec<[f32; 3]> = (0..n).map(|_| [uniform(), uniform(), uniform()]).collect();
        let y = x.iter().map(|r| dot(r, &TRUE_W) + 0.05 * uniform()).collect();
        Client { x, y }
    }

    /// Five steps of gradient descent on the mean squared error from `w`; gives `w_local − w`.
    fn train(&self, w: [f32; 3]) -> [f32; 3] {
        let mut local = w;
        for _ in 0..5 {
            let mut grad = [0.0f32; 3];
            for (x, y) in self.x.iter().zip(&self.y) {
                let err = dot(x, &local) - y;
                for j in 0..3 {
                    grad[j] += 2.0 * err * x[j] / self.x.len() as f32;
                }
            }
            for j in 0..3 {
                local[j] -= 0.3 * grad[j];
            }
        }
        [local[0] - w[0], local[1] - w[1], local[2] - w[2]]
    }
}

fn dot(a: &[f32; 3], b: &[f32; 3]) -> f32 {
    a.iter().zip(b).map(|(a, b)| a * b).sum()
}

/// Clients as threads: each sampled client trains on its own thread and reports over a channel.
struct Threads {
    clients: Vec<Client>,
}

impl Transport for Threads {
    fn exchange(&mut self, task: &Task<'_>, sink: &mut dyn FnMut(Arrival)) -> Result<u64, TransportError> {
        let w: [f32; 3] = task.global[0]
            .as_f32()
            .and_then(|v| v.try_into().ok())
            .ok_or_else(|| TransportError("the model is one f32[3]".into()))?;
        let (sender, receiver) = mpsc::channel();
        std::thread::scope(|scope| {
            for &id in task.clients {
                let (sender, client) = (sender.clone(), &self.clients[id as usize]);
                scope.spawn(move || {
                    let arrival = match id {
                        OFFLINE => Arrival::Dropped { client: id, reason: DropReason::Failed },
                        _ => {
                            let delta = if id == FAULTY { [f32::NAN; 3] } else { client.train(w) };
                            let update = Update::new(
                                id,
                                client.x.len() as u64,
                                vec![Tensor::from_f32(vec![3], delta.to_vec()).expect("3 values")],
                            );
                            Arrival::Report { update, at: 0.0 }
                        }
                    };
                    // The receiver lives until every sender is gone.
                    let _ = sender.send(arrival);
                });
            }
            drop(sender);
            for arrival in receiver {
                sink(arrival);
            }
        });
        Ok(12 * task.clients.len() as u64)
    }
}

/// Run `rounds` rounds; the final weights.
fn federate(rounds: usize, quiet: bool) -> [f32; 3] {
    let clients = (0..CLIENTS).map(|id| Client::new(id, 20 + 10 * id as usize)).collect();
    let global = vec![Tensor::from_f32(vec![3], vec![0.0; 3]).expect("3 values")];
    let server =
        Server::new(global, Strategy::FedAvg, ServerConfig { max_norm: Some(10.0), ..ServerConfig::default() })
            .expect("a float model and a valid strategy");
    let config = CoordinatorConfig { population: CLIENTS, fraction: 0.5, seed: 1, deadline: None };
    let mut coordinator = Coordinator::new(server, config).expect("a valid configuration");
    let mut transport = Threads { clients };
    for _ in 0..rounds {
        let report = coordinator.run_round(&mut transport).expect("the threads transport cannot fail");
        let w = coordinator.server().global()[0].as_f32().expect("f32").to_vec();
        if !quiet {
            println!(
                "round {:>2}: clients {:?}, {} accepted, rejected: {}, dropped {}, w = [{:.4}, {:.4}, {:.4}]",
                report.outcome.round + 1,
                report.sampled,
                report.outcome.accepted,
                report.outcome.tally(),
                report.dropped(),
                w[0],
                w[1],
                w[2]
            );
        }
    }
    let w = coordinator.server().global()[0].as_f32().expect("f32");
    [w[0], w[1], w[2]]
}

fn main() {
    let w = federate(12, false);
    println!("true w = {TRUE_W:?}, federated w = {w:?}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn federated_weights_approach_the_truth() {
        let w = federate(12, true);
        for (a, b) in w.iter().zip(TRUE_W) {
            assert!((a - b).abs() < 0.05, "{w:?} vs {TRUE_W:?}");
        }
    }
}
