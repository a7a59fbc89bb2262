//! The graph IR of tensorc: a small set of primitive ops (`ops`), graphs of them with
//! concrete types (`graph`), a text form that prints and parses (`text`), and a
//! verifier of every op's typing rule (`verify`).

mod builder;
mod graph;
pub mod identity;
pub mod ops;
pub mod text;
pub mod verify;

pub use graph::{Graph, Node, NodeId, Type};
pub use ops::{ArgOp, BinaryOp, Dist, Op, PoolKind, ReduceOp, UnaryOp};
