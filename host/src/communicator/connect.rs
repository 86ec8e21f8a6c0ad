//! Connecting to a build's machine over SSH, with Packer's messages:
//! `Using ssh communicator to connect: <ip>`, `Waiting for SSH to become
//! available...`, `Connected to SSH!`, and `Timeout waiting for SSH.`

use super::config::{CommunicatorOptions, TransferMethod};
use crate::capabilities::cancellation::Cancel;
use packer_ssh::{SshClient, SshConfig, SshError};
use packer_ui::BuildUi;
use std::time::Duration;
use zeroize::Zeroizing;

/// Where and how to connect, after `ssh_host` and the builder's machine are combined.
pub struct Target<'a> {
    /// Address.
    pub host: String,
    /// Port.
    pub port: u16,
    /// A temporary private key from the builder, if any.
    pub temporary_key: Option<&'a Zeroizing<String>>,
}

/// Why the connection failed, worded for the user.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// `ssh_timeout` passed.
    #[error("Timeout waiting for SSH.")]
    Timeout,
    /// The build was cancelled.
    #[error("cancelled")]
    Cancelled,
    /// Anything else (authentication, key files, ...).
    #[error("{0}")]
    Failed(String),
}

/// Connects, printing Packer's lines on `ui`.
pub async fn connect(
    options: &CommunicatorOptions,
    target: Target<'_>,
    ui: &BuildUi,
    cancel: &Cancel,
) -> Result<SshClient, ConnectError> {
    if !options.pause_before_connecting.is_zero() {
        ui.say(&format!(
            "Pausing {} before connecting...",
            go_duration(options.pause_before_connecting)
        ));
        tokio::select! {
            _ = tokio::time::sleep(options.pause_before_connecting) => {}
            _ = cancel.cancelled() => return Err(ConnectError::Cancelled),
        }
    }
    let config = ssh_config(options, &target)?;
    ui.say(&format!(
        "Using ssh communicator to connect: {}",
        target.host
    ));
    ui.say("Waiting for SSH to become available...");
    log::info!(
        "ssh: connecting to {}:{} as {}",
        target.host,
        target.port,
        options.username
    );
    match packer_ssh::connect(&config, cancel.token().clone()).await {
        Ok(client) => {
            log::info!("ssh: connected to {}:{}", target.host, target.port);
            ui.say("Connected to SSH!");
            Ok(client)
        }
        Err(SshError::Cancelled) => Err(ConnectError::Cancelled),
        Err(e @ SshError::Timeout { .. }) => {
            let err = ConnectError::Timeout;
            ui.error(&format!("{err} ({e})"));
            Err(err)
        }
        Err(e) => {
            let err = ConnectError::Failed(format!("Error waiting for SSH: {e}"));
            ui.error(&err.to_string());
            Err(err)
        }
    }
}

fn read_key(path: &std::path::Path, what: &str) -> Result<Zeroizing<String>, ConnectError> {
    std::fs::read_to_string(path)
        .map(Zeroizing::new)
        .map_err(|e| ConnectError::Failed(format!("Error reading {what} {}: {e}", path.display())))
}

fn ssh_config(
    options: &CommunicatorOptions,
    target: &Target<'_>,
) -> Result<SshConfig, ConnectError> {
    let private_key = match (target.temporary_key, &options.private_key_file) {
        (Some(key), _) => Some(key.to_string()),
        (None, Some(path)) => Some(read_key(path, "ssh_private_key_file")?.to_string()),
        (None, None) => None,
    };
    let bastion = match &options.bastion {
        Some(b) => Some(packer_ssh::Bastion {
            host: b.host.clone(),
            port: b.port,
            username: b.username.clone(),
            password: b.password.clone(),
            private_key: match &b.private_key_file {
                Some(path) => Some(read_key(path, "ssh_bastion_private_key_file")?.to_string()),
                None => None,
            },
        }),
        None => None,
    };
    let mut config = SshConfig {
        host: target.host.clone(),
        port: target.port,
        username: options.username.clone(),
        password: options.password.clone(),
        private_key,
        agent_auth: options.agent_auth,
        timeout: options.timeout,
        handshake_attempts: options.handshake_attempts,
        keep_alive_interval: options.keep_alive_interval,
        read_write_timeout: options.read_write_timeout,
        pty: options.pty,
        file_transfer: match options.transfer {
            TransferMethod::Scp => packer_ssh::FileTransfer::Scp,
            TransferMethod::Sftp => packer_ssh::FileTransfer::Sftp,
        },
        bastion,
    };
    if config.timeout.is_zero() {
        config.timeout = Duration::from_secs(300);
    }
    Ok(config)
}

/// A duration as Go prints it (`1m30s`, `500ms`).
pub fn go_duration(d: Duration) -> String {
    let total_ms = d.as_millis();
    if total_ms < 1000 {
        return format!("{total_ms}ms");
    }
    let secs = d.as_secs_f64() % 60.0;
    let mins = (d.as_secs() / 60) % 60;
    let hours = d.as_secs() / 3600;
    let secs = if secs.fract() == 0.0 {
        format!("{}s", secs as u64)
    } else {
        format!("{}s", (secs * 1000.0).round() / 1000.0)
    };
    match (hours, mins) {
        (0, 0) => secs,
        (0, m) => format!("{m}m{secs}"),
        (h, m) => format!("{h}h{m}m{secs}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_as_go_does() {
        assert_eq!(go_duration(Duration::from_secs(10)), "10s");
        assert_eq!(go_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(go_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(go_duration(Duration::from_secs(3600)), "1h0m0s");
        assert_eq!(go_duration(Duration::from_millis(250)), "250ms");
    }
}
