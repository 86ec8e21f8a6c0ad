//! Host-side bindings generated from `wit/builder.wit`, the one source of truth.

wasmtime::component::bindgen!({
    world: "plugin",
    path: "../wit",
    imports: { default: async },
    exports: { default: async },
    additional_derives: [PartialEq, Eq],
});

pub use self::exports::packer::plugin::builder::{
    Artifact, BuildContext, BuildError, PrepareResult,
};
pub use self::exports::packer::plugin::cleanup::Outcome;
pub use self::packer::plugin::journal::Entry as JournalEntry;
pub use self::packer::plugin::types::{Capability, PluginInfo};
