//! Why connecting or key handling failed. Messages name the address and the
//! cause, never a password or key material.

use thiserror::Error;

/// Why [`connect`](crate::connect) or a key operation failed.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum SshError {
    /// `ssh_timeout` passed without a working connection.
    #[error("timeout during SSH handshake to {addr} after {waited:?}: {last_error}")]
    Timeout {
        /// `host:port` that was tried.
        addr: String,
        /// How long it was tried.
        waited: std::time::Duration,
        /// What went wrong the last time (e.g. `connection refused`).
        last_error: String,
    },
    /// The server rejected every authentication method, `handshake_attempts` times.
    #[error(
        "ssh: handshake failed: ssh: unable to authenticate to {addr} as {user:?}, \
         attempted methods [{}], no supported methods remain (server offers [{}])",
        attempted.join(" "),
        offered.join(" ")
    )]
    Auth {
        /// `host:port`.
        addr: String,
        /// The user name.
        user: String,
        /// Methods tried, in order (e.g. `none`, `publickey`).
        attempted: Vec<String>,
        /// Methods the server said it accepts.
        offered: Vec<String>,
    },
    /// The SSH handshake failed `handshake_attempts` times (protocol error,
    /// connection reset, no common algorithm, ...).
    #[error("ssh: handshake with {addr} failed after {attempts} attempt(s): {cause}")]
    Handshake {
        /// `host:port`.
        addr: String,
        /// How many attempts were made.
        attempts: u32,
        /// The last failure.
        cause: String,
    },
    /// The bastion could not open a connection to the target.
    #[error("ssh: bastion {bastion} could not reach {addr}: {cause}")]
    Bastion {
        /// The bastion's `host:port`.
        bastion: String,
        /// The target's `host:port`.
        addr: String,
        /// Why.
        cause: String,
    },
    /// A private key could not be used (bad format, encrypted, ...).
    #[error("ssh: invalid private key: {0}")]
    Key(String),
    /// The SSH agent could not be used.
    #[error("ssh: agent: {0}")]
    Agent(String),
    /// Key generation failed.
    #[error("ssh: key generation failed: {0}")]
    KeyGen(String),
    /// The configuration cannot work (no host, no authentication method, ...).
    #[error("ssh: invalid configuration: {0}")]
    Config(String),
    /// The cancellation token fired.
    #[error("cancelled")]
    Cancelled,
}
