//! A builder that panics in `run`, after printing a line and recording a
//! (pretend) resource in the cleanup journal, which its `delete_leftovers`
//! then "deletes": the host must call it in a fresh instance.

use packer_plugin_sdk::journal::{self, Entry, Outcome};
use packer_plugin_sdk::{
    Artifact, BuildContext, BuildError, Builder, Diagnostics, export_builder, ui,
};

#[derive(Default, serde::Deserialize, schemars::JsonSchema)]
pub struct Config {}

#[derive(Default)]
pub struct Trap;

impl Builder for Trap {
    type Config = Config;
    const NAME: &'static str = "trap";
    const VERSION: &'static str = "0.0.1";

    fn prepare(&mut self, _context: &BuildContext, _config: Config) -> Diagnostics {
        Diagnostics::default()
    }

    fn run(&mut self) -> Result<Artifact, BuildError> {
        ui::say("About to fail badly...");
        journal::add(
            "marker",
            "trap-resource",
            &serde_json::json!({"made": "by trap"}),
        )
        .map_err(BuildError::failed)?;
        panic!("the trap plugin panics on purpose");
    }

    fn delete_leftovers(entries: &[Entry]) -> Vec<Outcome> {
        entries
            .iter()
            .map(|e| {
                ui::say(&format!(
                    "Deleting {} {} ({})",
                    e.kind, e.name, e.detail["made"]
                ));
                Outcome::Deleted
            })
            .collect()
    }
}

export_builder!(Trap);
