//! Connection options: Packer's `ssh_*` settings as a plain struct.

use std::fmt;
use std::time::Duration;

/// How files are moved (Packer's `ssh_file_transfer_method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FileTransfer {
    /// The legacy SCP protocol (`scp -t` / `scp -f` run on the remote side).
    /// Packer's default.
    #[default]
    Scp,
    /// The SFTP subsystem. When the server has no `sftp` subsystem, transfers
    /// fall back to SCP automatically.
    Sftp,
}

/// A jump host to connect through (Packer's `ssh_bastion_*` settings). The
/// target is reached over a `direct-tcpip` channel opened on the bastion.
#[derive(Clone, PartialEq, Eq)]
pub struct Bastion {
    /// Bastion address (name or IP).
    pub host: String,
    /// Bastion SSH port (Packer's default is 22).
    pub port: u16,
    /// User to log in to the bastion as.
    pub username: String,
    /// Password for the bastion, if it uses password authentication.
    pub password: Option<String>,
    /// Private key text (OpenSSH or PEM) for the bastion; the caller reads the file.
    pub private_key: Option<String>,
}

impl fmt::Debug for Bastion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bastion")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("username", &self.username)
            .field("password", &redacted(&self.password))
            .field("private_key", &redacted(&self.private_key))
            .finish()
    }
}

/// How to reach and log in to the machine being built.
///
/// `Debug` never shows the password or the private key.
#[derive(Clone, PartialEq, Eq)]
pub struct SshConfig {
    /// Address of the machine (Packer's `ssh_host`, or the builder's IP).
    pub host: String,
    /// SSH port (`ssh_port`, default 22).
    pub port: u16,
    /// User to log in as (`ssh_username`).
    pub username: String,
    /// Password (`ssh_password`): tried with the `password` and
    /// `keyboard-interactive` methods.
    pub password: Option<String>,
    /// Private key text, OpenSSH or PEM format, unencrypted
    /// (`ssh_private_key_file`'s contents, or the builder's temporary key).
    pub private_key: Option<String>,
    /// Also try the keys of the agent at `$SSH_AUTH_SOCK` (`ssh_agent_auth`).
    pub agent_auth: bool,
    /// How long to keep trying to connect (`ssh_timeout`, default 5 minutes).
    pub timeout: Duration,
    /// How many times a connection that reaches the server but fails the
    /// handshake or authentication is retried before giving up
    /// (`ssh_handshake_attempts`, default 10). Values below 1 count as 1.
    pub handshake_attempts: u32,
    /// Interval between keep-alive requests while connected
    /// (`ssh_keep_alive_interval`, default 5s; zero disables them). After
    /// three unanswered ones the connection is considered lost.
    pub keep_alive_interval: Duration,
    /// A file transfer making no progress for this long fails with
    /// `CommError::Timeout` (`ssh_read_write_timeout`; `None` or zero: no limit).
    /// Commands may stay silent for longer: they are watched by keep-alives.
    pub read_write_timeout: Option<Duration>,
    /// Request a pseudo-terminal for commands (`ssh_pty`).
    pub pty: bool,
    /// How files are moved (`ssh_file_transfer_method`, default SCP).
    pub file_transfer: FileTransfer,
    /// Jump host to connect through, if any.
    pub bastion: Option<Bastion>,
}

impl Default for SshConfig {
    fn default() -> Self {
        SshConfig {
            host: String::new(),
            port: 22,
            username: String::new(),
            password: None,
            private_key: None,
            agent_auth: false,
            timeout: Duration::from_secs(300),
            handshake_attempts: 10,
            keep_alive_interval: Duration::from_secs(5),
            read_write_timeout: None,
            pty: false,
            file_transfer: FileTransfer::Scp,
            bastion: None,
        }
    }
}

impl SshConfig {
    /// `host:port`, as used in messages (IPv6 addresses in brackets).
    pub fn address(&self) -> String {
        address(&self.host, self.port)
    }

    /// The read/write deadline, if one is set and non-zero.
    pub(crate) fn io_timeout(&self) -> Option<Duration> {
        self.read_write_timeout.filter(|d| !d.is_zero())
    }
}

impl fmt::Debug for SshConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SshConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("username", &self.username)
            .field("password", &redacted(&self.password))
            .field("private_key", &redacted(&self.private_key))
            .field("agent_auth", &self.agent_auth)
            .field("timeout", &self.timeout)
            .field("handshake_attempts", &self.handshake_attempts)
            .field("keep_alive_interval", &self.keep_alive_interval)
            .field("read_write_timeout", &self.read_write_timeout)
            .field("pty", &self.pty)
            .field("file_transfer", &self.file_transfer)
            .field("bastion", &self.bastion)
            .finish()
    }
}

pub(crate) fn address(host: &str, port: u16) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

fn redacted(secret: &Option<String>) -> &'static str {
    match secret {
        Some(_) => "<redacted>",
        None => "None",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_secrets() {
        let cfg = SshConfig {
            host: "10.0.0.1".into(),
            password: Some("hunter2".into()),
            private_key: Some("-----BEGIN OPENSSH PRIVATE KEY-----".into()),
            bastion: Some(Bastion {
                host: "b".into(),
                port: 22,
                username: "u".into(),
                password: Some("bastion-pw".into()),
                private_key: Some("BEGIN KEY".into()),
            }),
            ..SshConfig::default()
        };
        let text = format!("{cfg:?}");
        assert!(
            !text.contains("hunter2") && !text.contains("BEGIN") && !text.contains("bastion-pw")
        );
        assert!(text.contains("<redacted>"));
    }

    #[test]
    fn addresses_bracket_ipv6() {
        assert_eq!(address("::1", 22), "[::1]:22");
        assert_eq!(address("host", 2222), "host:2222");
    }
}
