//! A builder, written against the raw bindings, that returns an artifact the
//! contract does not allow: its state is not JSON. Asked to delete
//! leftovers, it answers with no outcomes at all.

use packer_plugin_sdk::bindings::exports::packer::plugin::builder::{
    Artifact, BuildContext, BuildError, Guest, PluginInfo, PrepareResult,
};

struct Garbage;

impl Guest for Garbage {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "garbage".to_string(),
            version: "0.0.1".to_string(),
            config_schema: "{}".to_string(),
            capabilities: Vec::new(),
        }
    }

    fn prepare(_context: BuildContext, _config: String) -> PrepareResult {
        PrepareResult {
            warnings: Vec::new(),
            errors: Vec::new(),
        }
    }

    fn run() -> Result<Artifact, BuildError> {
        Ok(Artifact {
            builder_id: "test.garbage".to_string(),
            id: "G".to_string(),
            description: "garbage".to_string(),
            files: Vec::new(),
            state: vec![("generated_data".to_string(), "{not json".to_string())],
        })
    }
}

impl packer_plugin_sdk::bindings::exports::packer::plugin::cleanup::Guest for Garbage {
    fn delete_leftovers(
        _entries: Vec<packer_plugin_sdk::bindings::packer::plugin::journal::Entry>,
    ) -> Vec<packer_plugin_sdk::bindings::exports::packer::plugin::cleanup::Outcome> {
        Vec::new()
    }
}

packer_plugin_sdk::bindings::__export_plugin!(Garbage with_types_in packer_plugin_sdk::bindings);
