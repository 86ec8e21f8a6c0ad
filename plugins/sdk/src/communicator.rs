//! The template's communicator and provisioners, reached through the host.
//!
//! Needs [`crate::Capability::Communicator`]. A builder creates its machine,
//! then calls [`provision`] with the machine's address; the host connects
//! (SSH), runs the template's provisioners and disconnects. Passwords and
//! private keys never enter the plugin: temporary keys are referred to by handle.

use crate::bindings::packer::plugin::communicator as host;

pub use host::KeyType;

/// The build's communicator options, as far as a builder needs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `ssh` or `none`.
    pub kind: String,
    /// `ssh_host`, if set (it overrides the builder's address).
    pub ssh_host: Option<String>,
    /// `ssh_port`.
    pub ssh_port: u16,
    /// `ssh_username`.
    pub ssh_username: String,
    /// `ssh_password` is set.
    pub ssh_password_set: bool,
    /// `ssh_agent_auth` is set.
    pub ssh_agent_auth: bool,
    /// Public key of `ssh_private_key_file`, if set.
    pub ssh_public_key: Option<String>,
    /// `temporary_key_pair_type` (`rsa` or `ed25519`).
    pub temporary_key_pair_type: String,
    /// `temporary_key_pair_bits` (0 = default).
    pub temporary_key_pair_bits: u32,
}

impl Settings {
    /// True for `communicator: none`.
    pub fn is_none(&self) -> bool {
        self.kind == "none"
    }
}

/// The build's communicator options.
pub fn settings() -> Settings {
    let s = host::settings();
    Settings {
        kind: s.kind,
        ssh_host: s.ssh_host,
        ssh_port: s.ssh_port,
        ssh_username: s.ssh_username,
        ssh_password_set: s.ssh_password_set,
        ssh_agent_auth: s.ssh_agent_auth,
        ssh_public_key: s.ssh_public_key,
        temporary_key_pair_type: s.temporary_key_pair_type,
        temporary_key_pair_bits: s.temporary_key_pair_bits,
    }
}

/// A temporary key pair kept by the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPair {
    /// Refers to the private key in [`Machine::key_pair`].
    pub handle: u32,
    /// OpenSSH public key.
    pub public_key: String,
}

/// Asks the host for a temporary key pair.
pub fn generate_key_pair(
    kind: KeyType,
    bits: Option<u32>,
    comment: &str,
) -> Result<KeyPair, String> {
    host::generate_key_pair(kind, bits, comment).map(|k| KeyPair {
        handle: k.handle,
        public_key: k.public_key,
    })
}

/// The machine to provision.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Machine {
    /// Address to connect to.
    pub host: String,
    /// Port, if not `ssh_port`.
    pub port: Option<u16>,
    /// Temporary key pair handle to log in with.
    pub key_pair: Option<u32>,
    /// Generated data for ``{{ build `Key` }}``.
    pub generated_data: Vec<(String, String)>,
}

/// Why provisioning failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProvisionError {
    /// The build was cancelled.
    Cancelled,
    /// Connecting or a provisioner failed.
    Failed(String),
}

impl std::fmt::Display for ProvisionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProvisionError::Cancelled => f.write_str("cancelled"),
            ProvisionError::Failed(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for ProvisionError {}

impl From<ProvisionError> for crate::BuildError {
    fn from(e: ProvisionError) -> Self {
        match e {
            ProvisionError::Cancelled => crate::BuildError::Cancelled,
            ProvisionError::Failed(m) => crate::BuildError::Failed(m),
        }
    }
}

/// Connects to `machine` and runs the template's provisioners (`None`: no
/// machine, only local provisioners such as `shell-local` can run).
pub fn provision(machine: Option<&Machine>) -> Result<(), ProvisionError> {
    let machine = machine.map(|m| host::Machine {
        host: m.host.clone(),
        port: m.port,
        key_pair: m.key_pair,
        generated_data: m.generated_data.clone(),
    });
    host::provision(machine.as_ref()).map_err(|e| match e {
        host::ProvisionError::Cancelled => ProvisionError::Cancelled,
        host::ProvisionError::Failed(m) => ProvisionError::Failed(m),
    })
}
