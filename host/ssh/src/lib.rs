//! The SSH communicator: connects to a build's machine with [`russh`] and
//! implements [`packer_communicator::Communicator`] over it.
//!
//! - [`connect`] dials (directly or through a [`Bastion`]), retrying until
//!   [`SshConfig::timeout`], and authenticates with a private key, the SSH
//!   agent, or a password. Like Packer, any host key is accepted; its
//!   fingerprint is available from [`SshClient::host_key_fingerprint`].
//! - [`SshClient`] runs commands (streamed output, exit codes and signals)
//!   and moves files with SFTP (pipelined) or SCP, falling back to SCP when
//!   the server has no SFTP subsystem. It reconnects after a dropped
//!   connection.
//! - [`generate_key_pair`] and [`public_key_of`] handle Packer's temporary keys.
//!
//! Errors and `Debug` output never contain passwords or private keys.

mod client;
mod config;
mod connect;
mod error;
mod exec;
mod keys;
mod scp;
mod sftp;

pub use client::SshClient;
pub use config::{Bastion, FileTransfer, SshConfig};
pub use connect::connect;
pub use error::SshError;
pub use keys::{DEFAULT_RSA_BITS, KeyPair, KeyType, generate_key_pair, public_key_of};
