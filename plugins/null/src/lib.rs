//! Packer's `null` builder as a WebAssembly component.
//!
//! It creates nothing: it hands the machine named by the communicator options
//! (`ssh_host`, ...) to the host, which connects and runs the provisioners.
//! With `communicator: none` only local provisioners run. The artifact is
//! Packer's: builder id `fnoeding.null`, id `Null`,
//! `Did not export anything. This is the null builder`.

use packer_plugin_sdk::communicator::{self, Machine};
use packer_plugin_sdk::{
    Artifact, BuildContext, BuildError, Builder, Capability, Diagnostics, export_builder,
};

/// The builder id Packer's null builder uses.
pub const BUILDER_ID: &str = "fnoeding.null";

/// The `null` builder has no options of its own: the host takes the
/// communicator options (`communicator`, `ssh_*`) out before decoding.
#[derive(Debug, Default, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {}

/// The prepared builder.
#[derive(Debug, Default)]
pub struct NullBuilder {
    machine: Option<Option<Machine>>,
}

const DOCS: &str = "please reference your communicator documentation";

impl Builder for NullBuilder {
    type Config = Config;
    const NAME: &'static str = "null";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    fn capabilities() -> Vec<Capability> {
        vec![Capability::Communicator]
    }

    fn prepare(&mut self, _context: &BuildContext, _config: Config) -> Diagnostics {
        let mut diagnostics = Diagnostics::default();
        let settings = communicator::settings();
        if settings.is_none() {
            self.machine = Some(None);
            return diagnostics;
        }
        let host = settings.ssh_host.clone().unwrap_or_default();
        if host.is_empty() {
            diagnostics.error(format!("a Host must be specified, {DOCS}"));
        }
        if settings.ssh_username.is_empty() {
            diagnostics.error(format!("a Username must be specified, {DOCS}"));
        }
        let methods = [
            settings.ssh_agent_auth,
            settings.ssh_password_set,
            settings.ssh_public_key.is_some(),
        ]
        .iter()
        .filter(|set| **set)
        .count();
        if methods == 0 {
            diagnostics.error(format!(
                "one authentication method must be specified, {DOCS}"
            ));
        } else if methods > 1 {
            diagnostics.error(
                "only one of ssh_agent_auth, ssh_password, and ssh_private_key_file must be specified",
            );
        }
        self.machine = Some(Some(Machine {
            host,
            port: None,
            key_pair: None,
            generated_data: vec![("ID".to_string(), "Null".to_string())],
        }));
        diagnostics
    }

    fn run(&mut self) -> Result<Artifact, BuildError> {
        let Some(machine) = self.machine.take() else {
            return Err(BuildError::failed("the null builder was not prepared"));
        };
        communicator::provision(machine.as_ref())?;
        if packer_plugin_sdk::cancellation::is_cancelled() {
            return Err(BuildError::Cancelled);
        }
        Ok(Artifact::new(
            BUILDER_ID,
            "Null",
            "Did not export anything. This is the null builder",
        ))
    }
}

export_builder!(NullBuilder);
