//! Packer's post-processors and the post-processor chain.
//!
//! * [`prepare`] turns one post-processor's raw configuration into a
//!   [`PreparedPostProcessor`] (Packer's `Configure`), with Packer's error
//!   wording (`unknown configuration key: '"k"'`,
//!   `No files specified in artifice configuration`, …).
//! * [`run_sequences`] runs the post-processor sequences of one build on the
//!   builder's [`Artifact`] exactly as Packer's `CoreBuild.Run` does and
//!   returns the final artifact list ([`ChainOutcome`]).
//!
//! Built-in kinds: `manifest`, `checksum`, `compress`, `artifice`. Adding a
//! kind means one module implementing [`PostProcessor`] plus one arm in
//! [`prepare`] (or building a [`PreparedPostProcessor`] with
//! [`PreparedPostProcessor::new`] from outside this crate).
//!
//! All relative paths (artifact files, `output`, `files`) are relative to
//! [`PostProcessEnv::working_dir`]; the process's current directory is never
//! used, so concurrent builds in one process are safe.

#![warn(missing_docs)]

mod artifact;
mod artifice;
mod chain;
mod checksum;
mod compress;
mod config;
mod error;
mod fsutil;
mod manifest;
mod shell_local;

use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;

use packer_ui::BuildUi;
use tokio_util::sync::CancellationToken;

pub use artifact::{Artifact, DestroyAction};
pub use chain::{ChainOutcome, run_sequences, run_sequences_with_destroyer};
pub use checksum::CHECKSUM_TYPES;
pub use manifest::{ManifestArtifactFile, ManifestBuild, ManifestFile};

/// The post-processor kinds this crate implements, in alphabetical order.
pub const KINDS: &[&str] = &[
    "artifice",
    "checksum",
    "compress",
    "manifest",
    "shell-local",
];

/// A boxed, sendable future (what [`PostProcessor::post_process`] returns).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a build tells its post-processors.
#[derive(Debug, Clone)]
pub struct PostProcessEnv {
    /// The build's name (`{{ .BuildName }}`, the manifest's `name`).
    pub build_name: String,
    /// The builder's type (`{{ .BuilderType }}`, the manifest's `builder_type`).
    pub builder_type: String,
    /// This run's UUID (the manifest's `packer_run_uuid` / `last_run_uuid`).
    pub packer_run_uuid: String,
    /// The directory relative paths are resolved against.
    pub working_dir: PathBuf,
    /// The template context: used to interpolate configurations in
    /// [`prepare`] and, with the artifact's generated data and the
    /// post-processor's own variables added to `data`, run-time templates.
    pub ctx: packer_interpolate::Context,
}

/// What a post-processor returns: Packer's `(artifact, keep, forceOverride)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostProcessOutput {
    /// The new artifact; `None` silently ends the sequence.
    pub artifact: Option<Artifact>,
    /// Whether the input artifact should be kept by default.
    pub keep: bool,
    /// If `keep` is true, a user's `keep_input_artifact: false` is ignored.
    pub force_override: bool,
}

/// One post-processor, configured and ready to run.
///
/// Implementations do their own work and report through `ui` (already
/// targeted `"<build> (<type>)"`). Errors are the text that follows
/// `Post-processor failed: `.
pub trait PostProcessor: Send + Sync + fmt::Debug {
    /// Packer's `PostProcess(ctx, ui, artifact)`.
    fn post_process<'a>(
        &'a self,
        input: &'a Artifact,
        ui: &'a BuildUi,
        env: &'a PostProcessEnv,
        cancel: &'a CancellationToken,
    ) -> BoxFuture<'a, Result<PostProcessOutput, String>>;
}

/// A configured post-processor with the core's settings around it.
#[derive(Debug)]
pub struct PreparedPostProcessor {
    kind: String,
    name: String,
    keep_input_artifact: Option<bool>,
    processor: Box<dyn PostProcessor>,
}

impl PreparedPostProcessor {
    /// Wraps any [`PostProcessor`] (for kinds implemented elsewhere).
    /// `name` defaults to `kind`, as in Packer.
    #[must_use]
    pub fn new(
        kind: impl Into<String>,
        name: Option<&str>,
        keep_input_artifact: Option<bool>,
        processor: Box<dyn PostProcessor>,
    ) -> Self {
        let kind = kind.into();
        let name = match name {
            Some(n) if !n.is_empty() => n.to_string(),
            _ => kind.clone(),
        };
        Self {
            kind,
            name,
            keep_input_artifact,
            processor,
        }
    }

    /// The post-processor's type, e.g. `checksum`.
    #[must_use]
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// Its name (the type unless named).
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The user's `keep_input_artifact` (`None`: let the post-processor decide).
    #[must_use]
    pub fn keep_input_artifact(&self) -> Option<bool> {
        self.keep_input_artifact
    }

    /// The announce line: `Running post-processor: <type>`, or for a named
    /// one `Running post-processor: <name> (type <type>)`.
    #[must_use]
    pub fn announce_line(&self) -> String {
        if self.name == self.kind {
            format!("Running post-processor: {}", self.kind)
        } else {
            format!("Running post-processor: {} (type {})", self.name, self.kind)
        }
    }

    /// The UI target of its messages: `"<build> (<type>)"`.
    #[must_use]
    pub fn ui_target(&self, build: &str) -> String {
        format!("{build} ({})", self.kind)
    }

    /// The configured post-processor.
    #[must_use]
    pub fn processor(&self) -> &dyn PostProcessor {
        self.processor.as_ref()
    }
}

/// Packer's `Configure` for one post-processor.
///
/// `config` is the raw configuration object (the core's keys `type`, `name`,
/// `only`, `except`, `keep_input_artifact` and the `packer_*` keys are
/// accepted and ignored; a `keep_input_artifact` inside `config` is used when
/// the `keep_input_artifact` argument is `None`). String values are
/// interpolated with `env.ctx`, except those rendered while running
/// (`output`, `custom_data`).
///
/// Errors, one per problem: `Unknown post-processor <kind>`,
/// `unknown configuration key: '"k"'`, `'<key>' <type problem>`, and each
/// kind's own (`No files specified in artifice configuration`,
/// `Unrecognized checksum type: <t>`, `Error parsing target template: …`).
pub fn prepare(
    kind: &str,
    name: Option<&str>,
    config: serde_json::Value,
    keep_input_artifact: Option<bool>,
    env: &PostProcessEnv,
) -> Result<PreparedPostProcessor, Vec<String>> {
    let (processor, keep_in_config): (Box<dyn PostProcessor>, Option<bool>) = match kind {
        "artifice" => artifice::prepare(config, env)?,
        "checksum" => checksum::prepare(config, env)?,
        "compress" => compress::prepare(config, env)?,
        "manifest" => manifest::prepare(config, env)?,
        "shell-local" => shell_local::prepare(config, env)?,
        _ => return Err(vec![format!("Unknown post-processor {kind}")]),
    };
    Ok(PreparedPostProcessor::new(
        kind,
        name,
        keep_input_artifact.or(keep_in_config),
        processor,
    ))
}

/// What each kind's `prepare` returns: the configured post-processor and
/// the `keep_input_artifact` found in its configuration object.
pub(crate) type KindPrepared = Result<(Box<dyn PostProcessor>, Option<bool>), Vec<String>>;

/// Runs blocking post-processor work on tokio's blocking pool.
pub(crate) async fn run_blocking<F>(f: F) -> Result<PostProcessOutput, String>
where
    F: FnOnce() -> Result<PostProcessOutput, String> + Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(res) => res,
        Err(e) => Err(format!("post-processor task failed: {e}")),
    }
}

#[cfg(test)]
pub(crate) mod testutil;
