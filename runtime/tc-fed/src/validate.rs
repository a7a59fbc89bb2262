//! Update validation: an update that does not fit the model, is not finite, or is too
//! large is rejected with a [`Rejection`] saying why, counted, and never applied.

use std::fmt;

use crate::kernels::{count_non_finite, sum_squares};
use crate::spec::View;
use crate::{ModelSpec, Update};

/// Why an update was not applied.
#[derive(Clone, Debug, PartialEq)]
pub enum Rejection {
    /// The update claims no training examples (its weight would be zero).
    NoExamples,
    /// It has a different number of tensors than the model.
    TensorCount { expected: usize, found: usize },
    /// Tensor `tensor` has another dtype than the model's.
    DType { tensor: usize, expected: tc_tensor::DType, found: tc_tensor::DType },
    /// Tensor `tensor` has another shape than the model's.
    Shape { tensor: usize, expected: Vec<usize>, found: Vec<usize> },
    /// Tensor `tensor` has `count` NaN or infinite elements.
    NonFinite { tensor: usize, count: usize },
    /// The L2 norm over all tensors is above the configured bound.
    Norm { norm: f64, bound: f64 },
    /// The client was not sampled for this round, or already reported in it.
    Unexpected,
    /// A robust strategy already holds its maximum number of updates this round.
    Capacity { max: usize },
}

impl Rejection {
    pub fn reason(&self) -> Reason {
        match self {
            Rejection::NoExamples => Reason::NoExamples,
            Rejection::TensorCount { .. } => Reason::TensorCount,
            Rejection::DType { .. } => Reason::DType,
            Rejection::Shape { .. } => Reason::Shape,
            Rejection::NonFinite { .. } => Reason::NonFinite,
            Rejection::Norm { .. } => Reason::Norm,
            Rejection::Unexpected => Reason::Unexpected,
            Rejection::Capacity { .. } => Reason::Capacity,
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::NoExamples => f.write_str("the update has no training examples"),
            Rejection::TensorCount { expected, found } => write!(f, "{found} tensors, the model has {expected}"),
            Rejection::DType { tensor, expected, found } => {
                write!(f, "tensor {tensor} is {}, the model's is {}", found.name(), expected.name())
            }
            Rejection::Shape { tensor, expected, found } => {
                write!(f, "tensor {tensor} has shape {found:?}, the model's is {expected:?}")
            }
            Rejection::NonFinite { tensor, count } => write!(f, "tensor {tensor} has {count} NaN or infinite elements"),
            Rejection::Norm { norm, bound } => write!(f, "L2 norm {norm:.4e} is above the bound {bound:.4e}"),
            Rejection::Unexpected => f.write_str("the client was not sampled for this round or already reported"),
            Rejection::Capacity { max } => write!(f, "the round already holds its maximum of {max} updates"),
        }
    }
}

/// The kind of a [`Rejection`], for counting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reason {
    NoExamples,
    TensorCount,
    DType,
    Shape,
    NonFinite,
    Norm,
    Unexpected,
    Capacity,
}

impl Reason {
    pub const ALL: [Reason; 8] = [
        Reason::NoExamples,
        Reason::TensorCount,
        Reason::DType,
        Reason::Shape,
        Reason::NonFinite,
        Reason::Norm,
        Reason::Unexpected,
        Reason::Capacity,
    ];

    /// A short name: `no-examples`, `tensor-count`, `dtype`, `shape`, `non-finite`,
    /// `norm`, `unexpected`, `capacity`.
    pub fn name(self) -> &'static str {
        match self {
            Reason::NoExamples => "no-examples",
            Reason::TensorCount => "tensor-count",
            Reason::DType => "dtype",
            Reason::Shape => "shape",
            Reason::NonFinite => "non-finite",
            Reason::Norm => "norm",
            Reason::Unexpected => "unexpected",
            Reason::Capacity => "capacity",
        }
    }
}

/// Rejections counted by reason.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally([usize; Reason::ALL.len()]);

impl Tally {
    pub fn add(&mut self, reason: Reason) {
        self.0[reason as usize] += 1;
    }

    pub fn get(&self, reason: Reason) -> usize {
        self.0[reason as usize]
    }

    pub fn total(&self) -> usize {
        self.0.iter().sum()
    }

    /// Add every count of `other`.
    pub fn merge(&mut self, other: &Tally) {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a += b;
        }
    }

    /// `(reason, count)` for every reason counted at least once.
    pub fn counts(&self) -> impl Iterator<Item = (Reason, usize)> + '_ {
        Reason::ALL.into_iter().map(|r| (r, self.get(r))).filter(|&(_, n)| n > 0)
    }
}

impl fmt::Display for Tally {
    /// `non-finite 2, norm 1`, or `none`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.total() == 0 {
            return f.write_str("none");
        }
        let parts: Vec<String> = self.counts().map(|(r, n)| format!("{} {n}", r.name())).collect();
        f.write_str(&parts.join(", "))
    }
}

/// Checks updates against a model's spec and an optional L2 norm bound.
#[derive(Clone, Debug)]
pub struct Validator {
    spec: ModelSpec,
    max_norm: Option<f64>,
    threads: usize,
}

impl Validator {
    /// Updates for a model of `spec`, with L2 norm (over all tensors) at most `max_norm`;
    /// the norm is computed on up to `threads` threads.
    pub fn new(spec: ModelSpec, max_norm: Option<f64>, threads: usize) -> Validator {
        Validator { spec, max_norm, threads: threads.max(1) }
    }

    pub fn spec(&self) -> &ModelSpec {
        &self.spec
    }

    /// The update's L2 norm if it is acceptable; otherwise the first thing wrong with it,
    /// checked in this order: examples, tensor count, each tensor's dtype and shape,
    /// finiteness, norm.
    pub fn check(&self, update: &Update) -> Result<f64, Rejection> {
        if update.examples == 0 {
            return Err(Rejection::NoExamples);
        }
        let (expected, found) = (self.spec.tensors.len(), update.delta.len());
        if expected != found {
            return Err(Rejection::TensorCount { expected, found });
        }
        for (tensor, (spec, t)) in self.spec.tensors.iter().zip(&update.delta).enumerate() {
            if t.dtype() != spec.dtype {
                return Err(Rejection::DType { tensor, expected: spec.dtype, found: t.dtype() });
            }
            if t.shape() != spec.shape.as_slice() {
                return Err(Rejection::Shape { tensor, expected: spec.shape.clone(), found: t.shape().to_vec() });
            }
        }
        let mut squares = 0.0;
        for (tensor, t) in update.delta.iter().enumerate() {
            let view = View::of(t);
            let sum = match &view {
                View::F32(v) => sum_squares(v, self.threads),
                View::F64(v) => sum_squares(v, self.threads),
            };
            if !sum.is_finite() {
                let count = match &view {
                    View::F32(v) => count_non_finite(v),
                    View::F64(v) => count_non_finite(v),
                };
                // Finite f64 values whose squares overflow: a norm beyond any bound.
                let bound = self.max_norm.unwrap_or(f64::MAX);
                return Err(if count > 0 {
                    Rejection::NonFinite { tensor, count }
                } else {
                    Rejection::Norm { norm: f64::INFINITY, bound }
                });
            }
            squares += sum;
        }
        let norm = squares.sqrt();
        match self.max_norm {
            Some(bound) if norm > bound => Err(Rejection::Norm { norm, bound }),
            _ => Ok(norm),
        }
    }
}
