//! The errors of a Flower node: what the SuperLink answered, what could not be reached,
//! and what was received but is not valid.

use std::fmt;

/// An error of the Fleet API client or the node loop.
#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// The SuperLink answered with a non-200 status: its JSON `{code, detail}` when it
    /// sent one (`code` is Flower's API error code, e.g. 2007 for a run that is not
    /// running), else the status and the start of the body.
    Api {
        call: String,
        status: u16,
        code: Option<i64>,
        detail: String,
    },
    /// The SuperLink could not be reached, or the exchange broke off (after retries).
    Transport { call: String, detail: String },
    /// Something received is not what the protocol allows: a bad object, hash, header,
    /// size or value. The SuperLink (or whatever answers in its place) is broken or hostile.
    Protocol(String),
    /// Bad options: an address, a certificate or key file.
    Config(String),
    /// The node was asked to stop (SIGINT/SIGTERM or the host application).
    Stopped,
}

impl Error {
    pub(crate) fn protocol(message: impl Into<String>) -> Error {
        Error::Protocol(message.into())
    }

    /// Whether retrying the same call later may succeed: the SuperLink was unreachable
    /// or answered 5xx.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Transport { .. } => true,
            Error::Api { status, .. } => *status >= 500 || *status == 429,
            _ => false,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Api {
                call,
                status,
                code: Some(code),
                detail,
            } => {
                write!(
                    f,
                    "the SuperLink refused `{call}` (HTTP {status}, Flower error {code}): {detail}"
                )
            }
            Error::Api {
                call,
                status,
                code: None,
                detail,
            } => {
                write!(
                    f,
                    "the SuperLink refused `{call}` (HTTP {status}): {detail}"
                )
            }
            Error::Transport { call, detail } => {
                write!(f, "`{call}`: cannot reach the SuperLink: {detail}")
            }
            Error::Protocol(message) => write!(f, "invalid data from the SuperLink: {message}"),
            Error::Config(message) => write!(f, "{message}"),
            Error::Stopped => write!(f, "stopped"),
        }
    }
}

impl std::error::Error for Error {}
