//! The `communicator` capability: settings, temporary key pairs and the
//! provisioning hook, for plugins that declare `communicator`.
//!
//! Policy: the communicator options are taken out of the plugin's
//! configuration by the host (the plugin never sees the password or key
//! file); a plugin without the capability gets `kind: none` settings and may
//! only call `provision(none)`, which runs local provisioners.

use crate::communicator::{Machine, hook::HookError};
use crate::plugin::bindings::packer::plugin::communicator::{
    self, CommunicatorSettings as Settings, KeyPair, KeyType, ProvisionError,
};
use crate::plugin::state::HostState;

impl communicator::Host for HostState {
    async fn settings(&mut self) -> Settings {
        match &self.communicator {
            Some(c) => Settings {
                kind: c.options.kind.as_str().to_string(),
                ssh_host: c.options.host.clone(),
                ssh_port: c.options.port,
                ssh_username: c.options.username.clone(),
                ssh_password_set: c.options.password.is_some(),
                ssh_agent_auth: c.options.agent_auth,
                ssh_public_key: c.public_key.clone(),
                temporary_key_pair_type: c.options.temporary_key_pair_type.clone(),
                temporary_key_pair_bits: c.options.temporary_key_pair_bits,
            },
            None => Settings {
                kind: "none".into(),
                ssh_host: None,
                ssh_port: 22,
                ssh_username: String::new(),
                ssh_password_set: false,
                ssh_agent_auth: false,
                ssh_public_key: None,
                temporary_key_pair_type: "rsa".into(),
                temporary_key_pair_bits: 0,
            },
        }
    }

    async fn generate_key_pair(
        &mut self,
        kind: KeyType,
        bits: Option<u32>,
        comment: String,
    ) -> Result<KeyPair, String> {
        if self.communicator.is_none() {
            return Err(format!(
                "plugin {:?} did not declare the communicator capability",
                self.plugin_name
            ));
        }
        let kind = match kind {
            KeyType::Rsa => packer_ssh::KeyType::Rsa,
            KeyType::Ed25519 => packer_ssh::KeyType::Ed25519,
        };
        if let Some(bits) = bits
            && !(2048..=8192).contains(&bits)
        {
            return Err(format!(
                "RSA key size {bits} is out of range (2048 to 8192)"
            ));
        }
        let comment: String = comment.chars().take(128).collect();
        let pair = tokio::task::spawn_blocking(move || {
            packer_ssh::generate_key_pair(kind, bits, &comment)
        })
        .await
        .map_err(|e| format!("key generation failed: {e}"))?
        .map_err(|e| e.to_string())?;
        let handle = self
            .keys
            .insert(pair.private_openssh.clone())
            .ok_or_else(|| "too many temporary key pairs for one build".to_string())?;
        Ok(KeyPair {
            handle,
            public_key: pair.public_openssh.clone(),
        })
    }

    async fn provision(
        &mut self,
        machine: Option<communicator::Machine>,
    ) -> Result<(), ProvisionError> {
        if machine.is_some() && self.communicator.is_none() {
            return Err(ProvisionError::Failed(format!(
                "plugin {:?} did not declare the communicator capability",
                self.plugin_name
            )));
        }
        let Some(hook) = self.hook.clone() else {
            return Ok(());
        };
        let key = match machine.as_ref().and_then(|m| m.key_pair) {
            Some(handle) => Some(self.keys.get(handle).cloned().ok_or_else(|| {
                ProvisionError::Failed(format!("unknown key pair handle {handle}"))
            })?),
            None => None,
        };
        let machine = machine.map(|m| Machine {
            host: m.host,
            port: m.port,
            generated_data: m.generated_data,
        });
        let options = self.communicator.as_ref().map(|c| c.options.clone());
        let cancel = self.cancel.clone();
        match hook
            .run(options.as_ref(), machine, key.as_ref(), &cancel)
            .await
        {
            Ok(()) => Ok(()),
            Err(HookError::Cancelled) => Err(ProvisionError::Cancelled),
            Err(HookError::Failed(m)) => Err(ProvisionError::Failed(m)),
        }
    }
}
