//! Why a communicator call failed.

use thiserror::Error;

/// Why a communicator call failed. Messages name the remote path or the
/// cause, never credentials.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum CommError {
    /// The connection to the machine was lost (or could not be re-established).
    #[error("connection lost: {0}")]
    Disconnected(String),
    /// An operation made no progress within its deadline.
    #[error("timed out: {0}")]
    Timeout(String),
    /// A remote or local path does not exist.
    #[error("no such file or directory: {0}")]
    NotFound(String),
    /// The remote side refused (permissions, ...).
    #[error("permission denied: {0}")]
    PermissionDenied(String),
    /// Reading or writing failed.
    #[error("{0}")]
    Io(String),
    /// The build was cancelled.
    #[error("cancelled")]
    Cancelled,
    /// This communicator cannot do that (e.g. `communicator: none`).
    #[error("{0}")]
    Unsupported(String),
}

impl From<std::io::Error> for CommError {
    fn from(e: std::io::Error) -> Self {
        match e.kind() {
            std::io::ErrorKind::NotFound => CommError::NotFound(e.to_string()),
            std::io::ErrorKind::PermissionDenied => CommError::PermissionDenied(e.to_string()),
            std::io::ErrorKind::TimedOut => CommError::Timeout(e.to_string()),
            _ => CommError::Io(e.to_string()),
        }
    }
}
