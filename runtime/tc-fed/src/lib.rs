//! Federated averaging for tensorc hosts: the server side of McMahan et al.'s FedAvg and
//! its variants, usable from any Rust program without the compiler (it depends on
//! `tc-tensor` alone).
//!
//! - [`Server`] holds the global model and aggregates one round at a time: a [`Round`]
//!   takes client [`Update`]s (each the client's model minus the global model, weighted by
//!   its number of examples), validates each ([`Rejection`]: wrong tensor count, dtype or
//!   shape, NaN/Inf, L2 norm above a bound) and folds the accepted ones in as they arrive;
//!   optionally ([`ServerConfig::clip`]) it scales updates down to a multiple of the
//!   round's median update norm before combining them. [`Server::finish_round_reclaim`]
//!   hands the updates' buffers back for the next round instead of freeing them.
//! - [`Strategy`]: weighted FedAvg, FedProx (FedAvg on the server; the client adds
//!   `mu/2 ||w - w_global||²` to its loss, see [`Strategy::proximal_mu`]), FedAdam (server-side
//!   Adam on the averaged update), and the Byzantine-robust coordinate-wise median and
//!   trimmed mean.
//! - [`Transport`] is the boundary to the clients: it sends the global model to the
//!   sampled clients and hands their reports back as they arrive. [`Coordinator`] runs
//!   rounds over any transport: it samples clients, feeds arrivals to the server and
//!   counts reports, drops and bytes. An in-process simulator and a future multi-machine
//!   engine are both transports.
//!
//! # Memory and determinism
//! FedAvg, FedProx and FedAdam stream: a round holds at most [`ServerConfig::fold`] − 1
//! validated updates not yet folded and, once more have arrived, one f64 accumulator per
//! parameter (twice the model's f32 size), whatever the number of clients; a round of at
//! most `fold` updates is folded in one pass that writes the new model. FedAdam's moments
//! add two more f64 copies; with clipping, every accepted update is kept until the end.
//! Median and trimmed mean need every update of a coordinate at once, so a round
//! keeps each accepted update as sent (`n × model` bytes), at most
//! [`ServerConfig::max_buffered`] of them; the selection then sorts 64 coordinates at a
//! time with a sorting network, in an n × 64 scratch per thread.
//!
//! Sums are taken in f64 and rounded to the model's dtype once, so the result does not
//! depend on the order in which updates arrive beyond f64 rounding (which the f32 result
//! hides); median and trimmed mean sort each coordinate's values and are exactly
//! independent of order. Client sampling is a pure function of (seed, round).
//!
//! ```
//! use tc_fed::{Server, ServerConfig, Strategy, Tensor, Update};
//! let global = vec![Tensor::from_f32(vec![2], vec![1.0, 1.0]).unwrap()];
//! let mut server = Server::new(global, Strategy::FedAvg, ServerConfig::default()).unwrap();
//! let mut round = server.begin_round();
//! let delta = |a: f32, b: f32| vec![Tensor::from_f32(vec![2], vec![a, b]).unwrap()];
//! round.offer(Update::new(0, 30, delta(1.0, 0.0))).unwrap();
//! round.offer(Update::new(1, 10, delta(-1.0, 4.0))).unwrap();
//! assert!(round.offer(Update::new(2, 10, delta(f32::NAN, 0.0))).is_err()); // never applied
//! let outcome = server.finish_round(round).unwrap();
//! assert_eq!(outcome.accepted, 2);
//! assert_eq!(server.global()[0].as_f32().unwrap(), &[1.5, 2.0]); // 1 + (30·1 − 10·1)/40, 1 + 40/40
//! ```

mod coordinator;
mod error;
mod kernels;
mod server;
mod spec;
mod strategy;
mod transport;
mod update;
mod validate;

pub use coordinator::{sample_clients, Coordinator, CoordinatorConfig, RoundReport};
pub use error::FedError;
pub use server::{Round, RoundOutcome, Server, ServerConfig};
pub use spec::{wire_bytes, ModelSpec, TensorSpec};
pub use strategy::{AdamConfig, Strategy};
pub use tc_tensor::{DType, Tensor};
pub use transport::{Arrival, DropReason, Task, Transport, TransportError};
pub use update::Update;
pub use validate::{Reason, Rejection, Tally, Validator};

/// A client's identity: its index in the population, `0..K`.
pub type ClientId = u64;
