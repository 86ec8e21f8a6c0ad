//! Packer's provisioners, run by the host: `shell` (remote scripts through a
//! [`Communicator`]), `shell-local` (scripts on this machine), `file`
//! (uploads and downloads) and `breakpoint`, with the common
//! `pause_before` / `timeout` / `max_retries` wrappers.
//!
//! Output follows Packer 1.6.6: announcements through `BuildUi::say`
//! (`==> name: ...`), a script's stdout lines through `BuildUi::message`
//! (`    name: ...`) and its stderr lines through `BuildUi::error`.
//!
//! ```no_run
//! # async fn demo(ui: &packer_ui::BuildUi, comm: &dyn packer_communicator::Communicator) {
//! use packer_provision::{CommonOptions, ProvisionEnv, prepare, run_provisioners};
//! let env = ProvisionEnv::new("n1", "null", std::env::current_dir().unwrap(),
//!     packer_interpolate::Context::new("1.6.6"));
//! let shell = prepare("shell", serde_json::json!({"inline": ["echo hi"]}),
//!     CommonOptions::default(), &env).unwrap();
//! let cancel = tokio_util::sync::CancellationToken::new();
//! run_provisioners(&[shell], ui, Some(comm), &Default::default(), &cancel).await.unwrap();
//! # }
//! ```

#![warn(missing_docs)]

pub mod breakpoint;
pub mod config;
mod error;
pub mod file;
mod lines;
mod progress;
pub mod shell;
pub mod shell_local;
pub mod wrappers;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

pub use error::{NO_COMMUNICATOR, ProvisionError, UNEXPECTED_DISCONNECT};
pub use packer_communicator::Communicator;
use packer_ui::BuildUi;
pub use tokio_util::sync::CancellationToken;
pub use wrappers::CommonOptions;

/// Provisioner types this crate knows, as templates name them.
pub const KINDS: &[&str] = &["breakpoint", "file", "shell", "shell-local"];

/// Where and for which build provisioners are prepared.
#[derive(Debug, Clone)]
pub struct ProvisionEnv {
    /// The build's name (`PACKER_BUILD_NAME`).
    pub build_name: String,
    /// The builder type (`PACKER_BUILDER_TYPE`).
    pub builder_type: String,
    /// Relative local paths (scripts, file sources, download destinations)
    /// resolve here.
    pub working_dir: PathBuf,
    /// The template context: user variables, build name and type,
    /// `template_dir`.
    pub ctx: packer_interpolate::Context,
}

impl ProvisionEnv {
    /// An environment for build `build_name` of type `builder_type`; the
    /// context's `build_name`/`build_type` are set from them when unset.
    pub fn new(
        build_name: impl Into<String>,
        builder_type: impl Into<String>,
        working_dir: PathBuf,
        mut ctx: packer_interpolate::Context,
    ) -> Self {
        let build_name = build_name.into();
        let builder_type = builder_type.into();
        if ctx.build_name.is_none() {
            ctx.build_name = Some(build_name.clone());
        }
        if ctx.build_type.is_none() {
            ctx.build_type = Some(builder_type.clone());
        }
        ProvisionEnv {
            build_name,
            builder_type,
            working_dir,
            ctx,
        }
    }
}

/// The prepared provisioner of one kind.
#[derive(Debug, Clone)]
enum Inner {
    Shell(Box<shell::Shell>),
    ShellLocal(Box<shell_local::ShellLocal>),
    File(Box<file::FileProvisioner>),
    Breakpoint(breakpoint::Breakpoint),
}

/// A provisioner whose configuration was decoded and checked, ready to run
/// (possibly several times, e.g. for retries).
#[derive(Debug, Clone)]
pub struct PreparedProvisioner {
    kind: String,
    inner: Inner,
    common: CommonOptions,
}

/// Decodes and checks the configuration of a provisioner of type `kind`.
///
/// `config` is the raw, uninterpolated object (overrides merged, without
/// `type`/`only`/`except`/`override`/`pause_before`/`timeout`/`max_retries`);
/// `common` holds those three already parsed. Errors are Packer's lines:
/// `Unknown provisioner <kind>`, `unknown configuration key: '"k"'`, ...
pub fn prepare(
    kind: &str,
    config: serde_json::Value,
    common: CommonOptions,
    env: &ProvisionEnv,
) -> Result<PreparedProvisioner, Vec<String>> {
    let inner = match kind {
        "shell" => Inner::Shell(Box::new(shell::Shell::prepare(config, env)?)),
        "shell-local" => {
            Inner::ShellLocal(Box::new(shell_local::ShellLocal::prepare(config, env)?))
        }
        "file" => Inner::File(Box::new(file::FileProvisioner::prepare(config, env)?)),
        "breakpoint" => Inner::Breakpoint(breakpoint::Breakpoint::prepare(config, env)?),
        other => return Err(vec![format!("Unknown provisioner {other}")]),
    };
    Ok(PreparedProvisioner {
        kind: kind.to_string(),
        inner,
        common,
    })
}

impl PreparedProvisioner {
    /// The provisioner's type, e.g. `shell-local`.
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// The `pause_before` / `timeout` / `max_retries` options.
    pub fn common(&self) -> &CommonOptions {
        &self.common
    }

    /// False for provisioners that act only on this machine (`shell-local`,
    /// `breakpoint`).
    pub fn needs_communicator(&self) -> bool {
        matches!(self.inner, Inner::Shell(_) | Inner::File(_))
    }

    /// Runs the provisioner with its wrappers (`pause_before` or `timeout`,
    /// then `max_retries`). `data` is the build's generated data (`ID`,
    /// `Host`, `Port`, `User`, `ConnType`, `PackerRunUUID`, ...), read by
    /// ``{{ build `X` }}``. A remote provisioner without a communicator
    /// fails with [`NO_COMMUNICATOR`].
    pub async fn provision(
        &self,
        ui: &BuildUi,
        comm: Option<&dyn Communicator>,
        data: &BTreeMap<String, String>,
        cancel: &CancellationToken,
    ) -> Result<(), ProvisionError> {
        if self.needs_communicator() && comm.is_none() {
            return Err(ProvisionError::NoCommunicator);
        }
        wrappers::run_wrapped(
            &self.common,
            ui,
            cancel,
            move |token: CancellationToken| async move {
                self.provision_once(ui, comm, data, &token).await
            },
        )
        .await
    }

    /// Runs the provisioner once, without the common wrappers.
    pub async fn provision_once(
        &self,
        ui: &BuildUi,
        comm: Option<&dyn Communicator>,
        data: &BTreeMap<String, String>,
        cancel: &CancellationToken,
    ) -> Result<(), ProvisionError> {
        match &self.inner {
            Inner::Shell(p) => {
                p.provision(
                    ui,
                    comm.ok_or(ProvisionError::NoCommunicator)?,
                    data,
                    cancel,
                )
                .await
            }
            Inner::File(p) => {
                p.provision(
                    ui,
                    comm.ok_or(ProvisionError::NoCommunicator)?,
                    data,
                    cancel,
                )
                .await
            }
            Inner::ShellLocal(p) => p.run(ui, data, cancel).await,
            Inner::Breakpoint(p) => p.provision(ui, cancel).await,
        }
    }
}

/// Runs provisioners in order, stopping at the first error (Packer's
/// `ProvisionHook`). Like Packer 1.6.6 the hook itself prints nothing; each
/// provisioner announces its own work. Returns [`ProvisionError::Cancelled`]
/// if `cancel` fires between provisioners.
pub async fn run_provisioners(
    list: &[PreparedProvisioner],
    ui: &BuildUi,
    comm: Option<&dyn Communicator>,
    data: &BTreeMap<String, String>,
    cancel: &CancellationToken,
) -> Result<(), ProvisionError> {
    for p in list {
        if cancel.is_cancelled() {
            return Err(ProvisionError::Cancelled);
        }
        match p.provision(ui, comm, data, cancel).await {
            Ok(()) => {}
            Err(e) if p.common().continue_on_error && !cancel.is_cancelled() => {
                ui.error(&format!(
                    "Warning: Provisioner failed with {:?}, but continue_on_error is set; continuing the build.",
                    e.to_string()
                ));
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Sleeps for `d` unless `cancel` fires first (then `Cancelled`).
pub(crate) async fn sleep_or_cancel(
    d: Duration,
    cancel: &CancellationToken,
) -> Result<(), ProvisionError> {
    tokio::select! {
        _ = tokio::time::sleep(d) => Ok(()),
        _ = cancel.cancelled() => Err(ProvisionError::Cancelled),
    }
}

#[cfg(test)]
mod testutil;
