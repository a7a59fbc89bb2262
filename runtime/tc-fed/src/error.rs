//! Errors in how the aggregation is set up (never in what clients send: a bad update is a
//! [`crate::Rejection`], counted and dropped, not an error).

use std::fmt;

use tc_tensor::DType;

/// A server, strategy or coordinator could not be set up as asked.
#[derive(Clone, Debug, PartialEq)]
pub enum FedError {
    /// A strategy's text or parameter is not valid (`trimmed:0.7`, `fedprox:-1`, `fedsgd`).
    Strategy(String),
    /// The model has no tensors.
    EmptyModel,
    /// Federated parameters must be float tensors; tensor `tensor` is not.
    NotFloat { tensor: usize, dtype: DType },
    /// A round was finished on a server other than the one that began it, or twice.
    StaleRound { expected: u64, found: u64 },
    /// A coordinator setting is out of range (population 0, fraction outside (0, 1]).
    Config(String),
}

impl fmt::Display for FedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FedError::Strategy(message) | FedError::Config(message) => f.write_str(message),
            FedError::EmptyModel => f.write_str("the model has no parameter tensors"),
            FedError::NotFloat { tensor, dtype } => write!(
                f,
                "parameter tensor {tensor} is {}; federated averaging needs float parameters (f64, f32, f16, bf16)",
                dtype.name()
            ),
            FedError::StaleRound { expected, found } => {
                write!(f, "round {found} does not belong to this server, whose current round is {expected}")
            }
        }
    }
}

impl std::error::Error for FedError {}
