//! The graph IR of tensorc: a small set of primitive ops (`ops`), graphs of them with
//! concrete types (`graph`), a text form that prints and parses (`text`), a
//! verifier of every op's typing rule (`verify`), bitwise identity of ops and
//! graphs (`identity`: constants compared by their bits, hashable op keys for CSE), and
//! the rule saying when a donated parameter's storage is reused (`donate`).

mod builder;
pub mod donate;
mod flops;
mod graph;
pub mod identity;
pub mod ops;
pub mod text;
pub mod verify;

pub use graph::{Donation, Graph, Node, NodeId, Type};
pub use ops::{ArgOp, BinaryOp, Dist, Op, PoolKind, ReduceOp, UnaryOp};
