//! Packer's `googlecompute` builder as a WebAssembly component.
//!
//! Creates a Compute Engine instance from a source image, lets the host
//! provision it over SSH, deletes the instance and makes an image of its boot
//! disk. The artifact is Packer's: builder id `packer.googlecompute`, id the
//! image name, `A disk image was created: <name>`.
//!
//! Modules: [`config`] (options and validation), [`auth`] (tokens, JWT),
//! [`compute`] (API client, errors, retries), [`operations`] (waiting),
//! [`bodies`] (request bodies), [`steps`] (the build), [`cleanup`] (after a
//! build), [`leftovers`] (the cleanup journal and `packer cleanup`).

pub mod auth;
pub mod bodies;
pub mod cleanup;
pub mod compute;
pub mod config;
pub mod leftovers;
pub mod operations;
pub mod steps;
pub mod transport;

#[cfg(test)]
mod tests;

use auth::{Secret, ServiceAccount, TokenSource};
use compute::Client;
use config::{Config, CredentialSource, Defaults, Settings};
use packer_plugin_sdk::communicator;
use packer_plugin_sdk::files::{self, FileError};
use packer_plugin_sdk::{
    Artifact, BuildContext, BuildError, Builder, Capability, Diagnostics, export_builder,
};
use std::collections::BTreeMap;
use steps::Build;
use transport::HostTransport;

/// The builder id Packer's googlecompute builder uses.
pub const BUILDER_ID: &str = "packer.googlecompute";

/// Everything `prepare` worked out for `run`.
struct Prepared {
    settings: Settings,
    context: BuildContext,
    tokens: TokenSource,
    metadata_files: BTreeMap<String, String>,
    startup_script: Option<String>,
}

/// The prepared builder.
#[derive(Default)]
pub struct GoogleComputeBuilder {
    prepared: Option<Prepared>,
}

/// Words a file error as Go's `os` package does.
fn file_error(op: &str, path: &str, e: FileError) -> String {
    match e {
        FileError::NotFound(_) => format!("{op} {path}: no such file or directory"),
        FileError::Denied(_) => format!("{op} {path}: access was not granted to this plugin"),
        FileError::Io(m) => format!("{op} {path}: {m}"),
    }
}

fn read_text(path: &str) -> Result<String, FileError> {
    files::read(path).map(|b| String::from_utf8_lossy(&b).into_owned())
}

/// The artifact of a build.
pub fn artifact(
    settings: &Settings,
    source_image_name: &str,
    image_size_gb: Option<i64>,
) -> Artifact {
    let generated = serde_json::json!({ "SourceImageName": source_image_name });
    let description = if settings.skip_create_image {
        format!(
            "No image was created (skip_create_image): {}",
            settings.image_name
        )
    } else {
        format!("A disk image was created: {}", settings.image_name)
    };
    let mut a = Artifact::new(BUILDER_ID, settings.image_name.clone(), description)
        .with_state("image_name", serde_json::json!(settings.image_name))
        .with_state("project_id", serde_json::json!(settings.project_id))
        .with_state("zone", serde_json::json!(settings.zone));
    if let Some(size) = image_size_gb {
        a = a.with_state("image_size_gb", serde_json::json!(size));
    }
    a.with_state("generated_data", generated)
}

impl Builder for GoogleComputeBuilder {
    type Config = Config;
    const NAME: &'static str = "googlecompute";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    fn capabilities() -> Vec<Capability> {
        vec![
            Capability::ConfigFiles,
            Capability::Http(vec![
                "compute.googleapis.com".to_string(),
                "oauth2.googleapis.com".to_string(),
                "iamcredentials.googleapis.com".to_string(),
            ]),
            Capability::Communicator,
            Capability::Environment(vec![ADC_ENV.to_string()]),
            Capability::HomeFiles(vec![ADC_GCLOUD_FILE.to_string()]),
        ]
    }

    fn delete_leftovers(
        entries: &[packer_plugin_sdk::journal::Entry],
    ) -> Vec<packer_plugin_sdk::journal::Outcome> {
        leftovers::delete_leftovers(entries)
    }

    fn prepare(&mut self, context: &BuildContext, config: Config) -> Diagnostics {
        let mut diagnostics = Diagnostics::default();
        let defaults = Defaults {
            unix_time: transport::unix_now(),
            uuid: transport::uuid_v4(),
        };
        let (settings, problems) = config.validate(&defaults);
        diagnostics.warnings = problems.warnings;
        diagnostics.errors = problems.errors;
        let Some(settings) = settings else {
            return diagnostics;
        };

        let tokens = match &settings.credentials {
            Some(CredentialSource::AccessToken(t)) => Some(TokenSource::Static(Secret(t.clone()))),
            Some(CredentialSource::KeyJson(json)) => {
                match ServiceAccount::from_json(json, "credentials_json") {
                    Ok(a) => Some(TokenSource::ServiceAccount {
                        account: Box::new(a),
                        cached: None,
                    }),
                    Err(e) => {
                        diagnostics.error(e);
                        None
                    }
                }
            }
            Some(CredentialSource::KeyFile(path)) => match read_text(path) {
                Ok(json) => match ServiceAccount::from_json(&json, path) {
                    Ok(a) => Some(TokenSource::ServiceAccount {
                        account: Box::new(a),
                        cached: None,
                    }),
                    Err(e) => {
                        diagnostics.error(e);
                        None
                    }
                },
                Err(e) => {
                    diagnostics.error(format!(
                        "error reading credentials: {}",
                        file_error("open", path, e)
                    ));
                    None
                }
            },
            Some(CredentialSource::ApplicationDefault) => match application_default() {
                Ok(tokens) => Some(tokens),
                Err(e) => {
                    diagnostics.error(e);
                    None
                }
            },
            None => None,
        };

        let startup_script = match &settings.startup_script_file {
            Some(path) => match read_text(path) {
                Ok(text) => Some(text),
                Err(e) => {
                    diagnostics.error(format!(
                        "startup_script_file: {}",
                        file_error("stat", path, e)
                    ));
                    None
                }
            },
            None => None,
        };
        let mut metadata_files = BTreeMap::new();
        for (key, path) in &settings.metadata_files {
            match read_text(path) {
                Ok(text) => {
                    metadata_files.insert(key.clone(), text);
                }
                Err(e) => {
                    diagnostics.error(format!("metadata_files: {}", file_error("open", path, e)))
                }
            }
        }

        let Some(tokens) = tokens else {
            return diagnostics;
        };
        if diagnostics.errors.is_empty() {
            self.prepared = Some(Prepared {
                settings,
                context: context.clone(),
                tokens,
                metadata_files,
                startup_script,
            });
        }
        diagnostics
    }

    fn run(&mut self) -> Result<Artifact, BuildError> {
        let Some(p) = self.prepared.take() else {
            return Err(BuildError::failed(
                "the googlecompute builder was not prepared",
            ));
        };
        let client = Client::new(
            HostTransport::default(),
            &p.settings.compute_base,
            p.tokens,
            p.settings.state_timeout,
        );
        let mut build = Build {
            settings: p.settings,
            context: p.context,
            client,
            comm: communicator::settings(),
            metadata_files: p.metadata_files,
            startup_script: p.startup_script,
            image_existed: false,
            key_pair: None,
            source_image_name: String::new(),
            instance_may_exist: false,
            disk_may_exist: false,
            image_sent: false,
            image_done: false,
            ip: String::new(),
            wait_startup_script: false,
            image_size_gb: None,
        };
        let result = run_steps(&mut build);
        let cancelled = matches!(result, Err(BuildError::Cancelled))
            || packer_plugin_sdk::cancellation::is_cancelled();
        build.cleanup(result.is_err() || cancelled, cancelled);
        if build.image_done {
            // A finished image is the user's, even when the build was cancelled.
            leftovers::forget(leftovers::Kind::Image, &build.settings.image_name);
        }
        if cancelled {
            return Err(BuildError::Cancelled);
        }
        result?;
        Ok(artifact(
            &build.settings,
            &build.source_image_name,
            build.image_size_gb,
        ))
    }
}

fn run_steps(b: &mut Build) -> Result<(), BuildError> {
    let cancelled = |b: &Build| {
        b.client
            .check_cancelled()
            .map_err(|_| BuildError::Cancelled)
    };
    b.check_existing_image()?;
    cancelled(b)?;
    b.create_ssh_key()?;
    cancelled(b)?;
    b.create_instance()?;
    cancelled(b)?;
    b.instance_info()?;
    cancelled(b)?;
    b.provision()?;
    b.wait_for_startup_script()?;
    cancelled(b)?;
    b.teardown_instance()?;
    cancelled(b)?;
    b.create_image()?;
    Ok(())
}

/// The variable naming a credentials file (Application Default Credentials).
const ADC_ENV: &str = "GOOGLE_APPLICATION_CREDENTIALS";
/// gcloud's Application Default Credentials, relative to the home directory.
const ADC_GCLOUD_FILE: &str = ".config/gcloud/application_default_credentials.json";

/// Application Default Credentials, as Google's libraries look them up:
/// `GOOGLE_APPLICATION_CREDENTIALS`, then gcloud's well-known file.
pub(crate) fn application_default() -> Result<TokenSource, String> {
    if let Some(path) = packer_plugin_sdk::env::var(ADC_ENV).filter(|p| !p.is_empty()) {
        let json =
            read_text(&path).map_err(|e| format!("{ADC_ENV}: {}", file_error("open", &path, e)))?;
        return auth::credentials_from_json(&json, &path);
    }
    let well_known = format!("~/{ADC_GCLOUD_FILE}");
    match read_text(&well_known) {
        Ok(json) => auth::credentials_from_json(&json, &well_known),
        Err(_) => Err(format!(
            "no Google Cloud credentials: set account_file, credentials_file, credentials_json or access_token, set {ADC_ENV}, or run `gcloud auth application-default login`"
        )),
    }
}

export_builder!(GoogleComputeBuilder);
