//! Errors of the plugin runtime, each naming the plugin and the cause.

use std::time::Duration;

/// Why a plugin could not be loaded or did not complete a call.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// No bundled or installed plugin provides the builder type.
    #[error("Unknown builder {0}")]
    UnknownBuilder(String),
    /// The plugin file could not be read.
    #[error("reading plugin {path}: {source}")]
    Read {
        /// The plugin file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The bytes are not a WebAssembly component that implements the contract.
    #[error("plugin '{plugin}' is not a valid packer:plugin@0.1.0 builder component: {cause}")]
    Invalid {
        /// The plugin's name.
        plugin: String,
        /// What was wrong.
        cause: String,
    },
    /// The plugin trapped: a panic, an out-of-bounds access, a stack overflow.
    #[error("plugin '{plugin}' crashed: {cause}")]
    Crashed {
        /// The plugin's name.
        plugin: String,
        /// The trap, with the plugin's panic message when it printed one.
        cause: String,
    },
    /// The plugin tried to grow its memory past the limit.
    #[error("plugin '{plugin}' exceeded its memory limit of {limit_mib} MiB")]
    MemoryLimit {
        /// The plugin's name.
        plugin: String,
        /// The limit, in MiB.
        limit_mib: usize,
    },
    /// The plugin computed for longer than allowed without returning.
    #[error("plugin '{plugin}' exceeded its CPU time limit of {limit:?} in one call")]
    CpuLimit {
        /// The plugin's name.
        plugin: String,
        /// The limit.
        limit: Duration,
    },
    /// The plugin's calls together computed for longer than the build's budget.
    #[error("plugin '{plugin}' exceeded its CPU time budget of {limit:?} for the build")]
    BuildCpuLimit {
        /// The plugin's name.
        plugin: String,
        /// The budget.
        limit: Duration,
    },
    /// The plugin did not stop within the grace period after cancellation.
    #[error("plugin '{plugin}' did not stop within {grace:?} of being cancelled and was stopped")]
    CancelTimeout {
        /// The plugin's name.
        plugin: String,
        /// The grace period.
        grace: Duration,
    },
    /// The plugin returned something the contract does not allow.
    #[error("plugin '{plugin}' returned an invalid result: {cause}")]
    BadResult {
        /// The plugin's name.
        plugin: String,
        /// What was wrong with it.
        cause: String,
    },
    /// The runtime itself failed (engine creation, cache directory, ...).
    #[error("plugin runtime: {0}")]
    Runtime(String),
}
