//! Bitwise identity of ops and graphs. `PartialEq` on constants compares float values,
//! so a NaN constant is unequal to itself and `0.0 == -0.0`; passes and tests need the
//! identity of the bits instead: [`Op::key`] is a hashable identity (for CSE), and
//! [`Op::bitwise_eq`] / [`Graph::bitwise_eq`] compare by it.

use crate::graph::Graph;
use crate::ops::Op;
use tc_tensor::DType;

/// A hashable identity of an op, attributes included; constants by dtype, shape and
/// the bytes of their elements.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum OpKey {
    Const {
        dtype: DType,
        shape: Vec<usize>,
        bytes: Vec<u8>,
    },
    /// Any other op by its `Debug` form, which spells out every attribute exactly
    /// (these ops hold no floats).
    Other(String),
}

impl Op {
    pub fn key(&self) -> OpKey {
        match self {
            Op::Const(t) => OpKey::Const { dtype: t.dtype(), shape: t.shape().to_vec(), bytes: t.data().to_le_bytes() },
            other => OpKey::Other(format!("{other:?}")),
        }
    }

    /// Equality with constants compared bit for bit.
    pub fn bitwise_eq(&self, other: &Op) -> bool {
        match (self, other) {
            (Op::Const(a), Op::Const(b)) => {
                a.dtype() == b.dtype() && a.shape() == b.shape() && a.data().to_le_bytes() == b.data().to_le_bytes()
            }
            (Op::Const(_), _) | (_, Op::Const(_)) => false,
            (a, b) => a == b,
        }
    }
}

impl Graph {
    /// Equality with constants compared bit for bit (so a graph holding NaN constants
    /// equals itself).
    pub fn bitwise_eq(&self, other: &Graph) -> bool {
        self.name == other.name
            && self.outputs == other.outputs
            && self.donations == other.donations
            && self.nodes.len() == other.nodes.len()
            && self
                .nodes
                .iter()
                .zip(&other.nodes)
                .all(|(a, b)| a.ty == b.ty && a.inputs == b.inputs && a.op.bitwise_eq(&b.op))
    }
}
