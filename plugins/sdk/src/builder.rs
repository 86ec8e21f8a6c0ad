//! The [`Builder`] trait a plugin implements, and the glue that exports it.

use crate::bindings::exports::packer::plugin::builder as wit;
use crate::bindings::packer::plugin::types;
use crate::{Artifact, config};
use std::cell::RefCell;
use std::fmt;

/// Facts about the build being prepared (Packer's `packer_*` config keys).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildContext {
    /// The build's name (`name` in the template, else the builder type).
    pub build_name: String,
    /// The builder type as written in the template.
    pub builder_type: String,
    /// The host's version.
    pub packer_version: String,
    /// `-debug` was given.
    pub debug: bool,
    /// `-force` was given: delete pre-existing artifacts.
    pub force: bool,
    /// The `-on-error` choice.
    pub on_error: String,
    /// Absolute path of the template, empty when read from stdin.
    pub template_path: String,
}

impl From<wit::BuildContext> for BuildContext {
    fn from(c: wit::BuildContext) -> Self {
        Self {
            build_name: c.build_name,
            builder_type: c.builder_type,
            packer_version: c.packer_version,
            debug: c.debug,
            force: c.force,
            on_error: c.on_error,
            template_path: c.template_path,
        }
    }
}

/// A capability the plugin asks the host for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Capability {
    /// Read and write the files named in the build's own configuration.
    ConfigFiles,
    /// Send HTTP requests to these hosts (`compute.googleapis.com`, or a URL
    /// prefix such as `https://oauth2.googleapis.com`). URLs in the build's
    /// own configuration are granted as well.
    Http(Vec<String>),
    /// Use the template's communicator (`ssh_*` options) and provisioners.
    /// The host takes those options out of the configuration before decoding.
    Communicator,
    /// Read these environment variables ([`crate::env::var`]); a value that
    /// names a file may be read with [`crate::files::read`].
    Environment(Vec<String>),
    /// Read these files, relative to the user's home directory, with
    /// [`crate::files::read`] (pass `~/<path>`).
    HomeFiles(Vec<String>),
}

/// Warnings and errors found while preparing a build.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostics {
    /// Shown to the user; the build goes on.
    pub warnings: Vec<String>,
    /// Each fails the build before it runs.
    pub errors: Vec<String>,
}

impl Diagnostics {
    /// Adds a warning.
    pub fn warn(&mut self, message: impl Into<String>) {
        self.warnings.push(message.into());
    }

    /// Adds an error.
    pub fn error(&mut self, message: impl Into<String>) {
        self.errors.push(message.into());
    }
}

/// Why a build produced no artifact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildError {
    /// The user cancelled the build and the plugin cleaned up.
    Cancelled,
    /// The build failed; the message is shown as the build's error.
    Failed(String),
}

impl BuildError {
    /// A failure with the given message.
    pub fn failed(message: impl fmt::Display) -> Self {
        BuildError::Failed(message.to_string())
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::Cancelled => f.write_str("build was cancelled"),
            BuildError::Failed(message) => f.write_str(message),
        }
    }
}

/// A Packer builder, written as a plain Rust type.
///
/// The host creates a fresh plugin instance for every build, calls
/// [`Builder::prepare`] once with the build's configuration, then
/// [`Builder::run`] if preparing found no errors.
pub trait Builder: Default + 'static {
    /// The configuration, decoded from the template with serde. Unknown keys
    /// are reported as Packer does (`unknown configuration key: '"k"'`).
    type Config: serde::de::DeserializeOwned + schemars::JsonSchema;

    /// The builder type, as written in templates.
    const NAME: &'static str;
    /// The plugin's version.
    const VERSION: &'static str;

    /// Capabilities this builder needs from the host.
    fn capabilities() -> Vec<Capability> {
        Vec::new()
    }

    /// Checks the decoded configuration and keeps what `run` needs.
    fn prepare(&mut self, context: &BuildContext, config: Self::Config) -> Diagnostics;

    /// Runs the build.
    fn run(&mut self) -> Result<Artifact, BuildError>;

    /// Deletes resources an earlier build recorded in the cleanup journal
    /// ([`crate::journal`]) and left behind; returns one outcome per entry, in
    /// order. Called by `packer cleanup` in a fresh instance, without
    /// `prepare`: everything needed must come from the entries' details.
    ///
    /// The default, for builders that record nothing, fails every entry.
    fn delete_leftovers(entries: &[crate::journal::Entry]) -> Vec<crate::journal::Outcome> {
        entries
            .iter()
            .map(|_| {
                crate::journal::Outcome::Failed(format!(
                    "the {} plugin does not delete leftovers",
                    Self::NAME
                ))
            })
            .collect()
    }
}

/// The state of the one builder instance inside this component.
#[doc(hidden)]
pub struct Slot<B>(RefCell<Option<B>>);

impl<B> Slot<B> {
    #[doc(hidden)]
    pub const fn new() -> Self {
        Slot(RefCell::new(None))
    }
}

impl<B> Default for Slot<B> {
    fn default() -> Self {
        Self::new()
    }
}

#[doc(hidden)]
pub fn describe<B: Builder>() -> wit::PluginInfo {
    let schema = schemars::schema_for!(B::Config);
    wit::PluginInfo {
        name: B::NAME.to_string(),
        version: B::VERSION.to_string(),
        config_schema: serde_json::to_string(&schema).unwrap_or_else(|_| "{}".to_string()),
        capabilities: B::capabilities()
            .into_iter()
            .map(|c| match c {
                Capability::ConfigFiles => types::Capability::ConfigFiles,
                Capability::Http(hosts) => types::Capability::Http(hosts),
                Capability::Communicator => types::Capability::Communicator,
                Capability::Environment(names) => types::Capability::Environment(names),
                Capability::HomeFiles(paths) => types::Capability::HomeFiles(paths),
            })
            .collect(),
    }
}

#[doc(hidden)]
pub fn prepare<B: Builder>(
    slot: &Slot<B>,
    context: wit::BuildContext,
    config: String,
) -> wit::PrepareResult {
    let context = BuildContext::from(context);
    let diagnostics = match config::decode_config::<B::Config>(&config) {
        Ok(decoded) => {
            let mut builder = B::default();
            let diagnostics = builder.prepare(&context, decoded);
            *slot.0.borrow_mut() = Some(builder);
            diagnostics
        }
        Err(errors) => Diagnostics {
            warnings: Vec::new(),
            errors,
        },
    };
    wit::PrepareResult {
        warnings: diagnostics.warnings,
        errors: diagnostics.errors,
    }
}

#[doc(hidden)]
pub fn run<B: Builder>(slot: &Slot<B>) -> Result<wit::Artifact, wit::BuildError> {
    let Some(mut builder) = slot.0.borrow_mut().take() else {
        return Err(wit::BuildError::Failed(
            "run was called before a successful prepare".to_string(),
        ));
    };
    match builder.run() {
        Ok(artifact) => Ok(artifact.into_wit()),
        Err(BuildError::Cancelled) => Err(wit::BuildError::Cancelled),
        Err(BuildError::Failed(message)) => Err(wit::BuildError::Failed(message)),
    }
}

#[doc(hidden)]
pub fn delete_leftovers<B: Builder>(
    entries: Vec<crate::bindings::packer::plugin::journal::Entry>,
) -> Vec<crate::bindings::exports::packer::plugin::cleanup::Outcome> {
    use crate::bindings::exports::packer::plugin::cleanup::Outcome as Wit;
    use crate::journal::Outcome;
    let entries: Vec<_> = entries
        .into_iter()
        .map(crate::journal::entry_from_wit)
        .collect();
    let mut outcomes: Vec<Wit> = B::delete_leftovers(&entries)
        .into_iter()
        .map(|o| match o {
            Outcome::Deleted => Wit::Deleted,
            Outcome::Gone => Wit::Gone,
            Outcome::Failed(m) => Wit::Failed(m),
        })
        .collect();
    // One outcome per entry, whatever the builder returned.
    outcomes.resize(
        entries.len(),
        Wit::Failed("the plugin gave no outcome for this entry".to_string()),
    );
    outcomes
}

/// Exports a [`Builder`] implementation as this component's `packer:plugin/builder`.
#[macro_export]
macro_rules! export_builder {
    ($builder:ty) => {
        const _: () = {
            struct __PackerPlugin;

            thread_local! {
                static __SLOT: $crate::builder::Slot<$builder> = const { $crate::builder::Slot::new() };
            }

            impl $crate::bindings::exports::packer::plugin::builder::Guest for __PackerPlugin {
                fn describe() -> $crate::bindings::exports::packer::plugin::builder::PluginInfo {
                    $crate::builder::describe::<$builder>()
                }

                fn prepare(
                    context: $crate::bindings::exports::packer::plugin::builder::BuildContext,
                    config: ::std::string::String,
                ) -> $crate::bindings::exports::packer::plugin::builder::PrepareResult {
                    __SLOT.with(|slot| $crate::builder::prepare::<$builder>(slot, context, config))
                }

                fn run() -> ::std::result::Result<
                    $crate::bindings::exports::packer::plugin::builder::Artifact,
                    $crate::bindings::exports::packer::plugin::builder::BuildError,
                > {
                    __SLOT.with(|slot| $crate::builder::run::<$builder>(slot))
                }
            }

            impl $crate::bindings::exports::packer::plugin::cleanup::Guest for __PackerPlugin {
                fn delete_leftovers(
                    entries: ::std::vec::Vec<$crate::bindings::packer::plugin::journal::Entry>,
                ) -> ::std::vec::Vec<$crate::bindings::exports::packer::plugin::cleanup::Outcome> {
                    $crate::builder::delete_leftovers::<$builder>(entries)
                }
            }

            $crate::bindings::__export_plugin!(__PackerPlugin with_types_in $crate::bindings);
        };
    };
}
