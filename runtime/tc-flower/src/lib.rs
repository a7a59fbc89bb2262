//! A native node of a Flower federation (`flwr==1.41.*`): the Fleet API spoken over
//! HTTP with protobuf bodies, without Python.
//!
//! - [`proto`]: the protobuf messages, with Flower's field numbers;
//! - [`objects`]: Messages and records as content-addressed objects (SHA-256 ids,
//!   children first, arrays as `.npy` bytes in chunks of at most 5 MiB), decoded with
//!   every hash, header and size checked;
//! - [`auth`]: the node's P-384 key and the signature every request carries;
//! - [`client`]: one method per Fleet API call, each with a timeout, over HTTP or
//!   HTTPS with given root certificates;
//! - [`node`]: the node loop around a [`node::Handler`] that trains and evaluates:
//!   heartbeats on their own thread, retries with backoff, replies, leaving cleanly.
//!
//! The crate knows nothing of models: `tensorc fed node` plugs the compiler's training
//! into [`node::Handler`], and a host application can plug in its own.

pub mod auth;
pub mod client;
mod error;
pub mod node;
pub mod objects;
pub mod proto;

pub use auth::Identity;
pub use client::{Fleet, Tls};
pub use error::Error;
pub use node::{Handler, NodeOptions};
pub use objects::{Array, Body, Message, Record, RecordDict};
