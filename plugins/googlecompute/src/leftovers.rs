//! The cleanup journal for this builder: what it records before creating an
//! instance, a disk or an image, and how `packer cleanup` deletes what a
//! crashed build left.
//!
//! An entry's detail holds the project, the zone, the API endpoint and
//! *where* the credentials are (a key file's path, or Application Default
//! Credentials), never the credentials themselves. A build that
//! authenticated with `credentials_json` or `access_token` records that;
//! its leftovers are deleted with Application Default Credentials.

use crate::auth::{ServiceAccount, TokenSource};
use crate::compute::{ApiError, Client, paths};
use crate::config::{CredentialSource, Settings};
use crate::operations::Scope;
use crate::transport::{HostTransport, Transport};
use packer_plugin_sdk::journal::{self, Entry, Outcome};
use packer_plugin_sdk::{BuildError, ui};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// How often a delete answered `resourceInUseByAnotherResource` is repeated.
pub const IN_USE_RETRY: Duration = Duration::from_secs(1);

/// The kinds of resource this builder records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// An image being made (deleted first: it holds the disk).
    Image,
    /// A VM instance (deleted before its disk).
    Instance,
    /// A persistent disk.
    Disk,
}

impl Kind {
    /// The journal's word for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Image => "image",
            Kind::Instance => "instance",
            Kind::Disk => "disk",
        }
    }

    fn parse(s: &str) -> Option<Kind> {
        match s {
            "image" => Some(Kind::Image),
            "instance" => Some(Kind::Instance),
            "disk" => Some(Kind::Disk),
            _ => None,
        }
    }
}

/// Where the credentials of a build are, as the journal keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Credentials {
    /// A service-account key file (path as written in the template).
    KeyFile(String),
    /// Application Default Credentials.
    ApplicationDefault,
    /// Given inline (`credentials_json`, `access_token`): not kept.
    Inline(String),
}

/// An entry's detail: what deleting the resource needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Detail {
    /// The project the resource lives in.
    pub project: String,
    /// Its zone (instances and disks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    /// The Compute API base URL.
    pub compute_base: String,
    /// Where the credentials are.
    pub credentials: Credentials,
    /// How long one delete may take, in seconds (`state_timeout`).
    pub state_timeout_secs: u64,
}

impl Detail {
    /// The detail of a resource of `kind` made by a build with `settings`.
    pub fn of(kind: Kind, settings: &Settings) -> Detail {
        let credentials = match &settings.credentials {
            Some(CredentialSource::KeyFile(path)) => Credentials::KeyFile(path.clone()),
            Some(CredentialSource::KeyJson(_)) => Credentials::Inline("credentials_json".into()),
            Some(CredentialSource::AccessToken(_)) => Credentials::Inline("access_token".into()),
            Some(CredentialSource::ApplicationDefault) | None => Credentials::ApplicationDefault,
        };
        let (project, zone) = match kind {
            Kind::Image => (settings.image_project_id.clone(), None),
            Kind::Instance | Kind::Disk => {
                (settings.project_id.clone(), Some(settings.zone.clone()))
            }
        };
        Detail {
            project,
            zone,
            compute_base: settings.compute_base.clone(),
            credentials,
            state_timeout_secs: settings.state_timeout.as_secs().max(1),
        }
    }

    fn scope(&self) -> Scope {
        match &self.zone {
            Some(zone) => Scope::Zone {
                project: self.project.clone(),
                zone: zone.clone(),
            },
            None => Scope::Global {
                project: self.project.clone(),
            },
        }
    }
}

/// Records a resource before it is created; the build fails (creating
/// nothing) when the journal cannot be written.
pub fn record(kind: Kind, name: &str, settings: &Settings) -> Result<(), BuildError> {
    let detail = serde_json::to_value(Detail::of(kind, settings))
        .map_err(|e| BuildError::failed(format!("cleanup journal: {e}")))?;
    journal::add(kind.as_str(), name, &detail).map_err(|e| {
        let message = format!("Not creating {} {name}: {e}", kind.as_str());
        ui::error(&message);
        BuildError::failed(message)
    })
}

/// Forgets a resource that was deleted or handed over. A journal that cannot
/// be updated keeps a stale entry, which `packer cleanup` later finds gone.
pub fn forget(kind: Kind, name: &str) {
    let _ = journal::remove(kind.as_str(), name);
}

/// What a delete found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deletion {
    /// The resource was deleted.
    Deleted,
    /// It did not exist (404).
    Gone,
}

/// Deletes the resource at `path` and waits for its operation; a 404 means
/// [`Deletion::Gone`]. With `retry_in_use`, a `resourceInUseByAnotherResource`
/// answer (a disk an image is still being made from, packer#6887) is repeated
/// every [`IN_USE_RETRY`] until `timeout`.
pub fn delete_and_wait<T: Transport>(
    client: &mut Client<T>,
    path: &str,
    scope: &Scope,
    timeout: Duration,
    timeout_message: &str,
    retry_in_use: bool,
) -> Result<Deletion, ApiError> {
    let deadline = client.now() + timeout;
    let mut attempt = 0u32;
    loop {
        let answer = loop {
            match client.mutate("DELETE", path, None) {
                Err(e)
                    if retry_in_use && e.is_in_use() && client.now() + IN_USE_RETRY < deadline =>
                {
                    client.pause(IN_USE_RETRY)?;
                }
                other => break other,
            }
        };
        let result = match answer {
            Ok(op) => client
                .wait_operation(op, scope, timeout, timeout_message)
                .map(|()| Deletion::Deleted),
            Err(e) if e.is_not_found() => Ok(Deletion::Gone),
            Err(e) => Err(e),
        };
        match result {
            // The delete's operation failed transiently (INTERNAL_ERROR,
            // RESOURCE_OPERATION_RATE_EXCEEDED, httpErrorStatusCode 429/5xx):
            // the resource is still there, so delete it again (new requestId).
            Err(e) if e.is_transient() => {
                let jitter = client.transport.random();
                let delay = crate::compute::backoff_delay(attempt, jitter, None);
                if client.now() + delay >= deadline {
                    return Err(e);
                }
                client.pause(delay)?;
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// The API path of a recorded resource.
fn path_of(kind: Kind, name: &str, detail: &Detail) -> String {
    let zone = detail.zone.as_deref().unwrap_or_default();
    match kind {
        Kind::Image => paths::image(&detail.project, name),
        Kind::Instance => paths::instance(&detail.project, zone, name),
        Kind::Disk => paths::disk(&detail.project, zone, name),
    }
}

/// Token source for a recorded credential reference.
fn tokens_for(credentials: &Credentials) -> Result<TokenSource, String> {
    match credentials {
        Credentials::KeyFile(path) => {
            let bytes = packer_plugin_sdk::files::read(path)
                .map_err(|e| format!("reading the key file {path}: {e:?}"))?;
            let json = String::from_utf8_lossy(&bytes);
            let account = ServiceAccount::from_json(&json, path)?;
            Ok(TokenSource::ServiceAccount {
                account: Box::new(account),
                cached: None,
            })
        }
        Credentials::ApplicationDefault => crate::application_default(),
        Credentials::Inline(option) => crate::application_default().map_err(|e| {
            format!(
                "the build authenticated with {option}, which the journal does not keep, and Application Default Credentials are not available: {e}"
            )
        }),
    }
}

/// `packer cleanup`: deletes `entries` (instances before disks, images
/// first), printing what it does; one outcome per entry, in order.
pub fn delete_leftovers(entries: &[Entry]) -> Vec<Outcome> {
    let mut order: Vec<(usize, Option<Kind>)> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| (i, Kind::parse(&e.kind)))
        .collect();
    order.sort_by_key(|(i, kind)| (*kind, *i));
    let mut outcomes = vec![Outcome::Gone; entries.len()];
    // A disk still attached to an instance that could not be deleted stays
    // in use: it is tried once, not waited for.
    let mut instance_left = false;
    for (index, kind) in order {
        let entry = &entries[index];
        outcomes[index] = match kind {
            Some(kind) => delete_one(kind, entry, kind == Kind::Disk && !instance_left),
            None => Outcome::Failed(format!("unknown resource kind '{}'", entry.kind)),
        };
        if kind == Some(Kind::Instance) && matches!(outcomes[index], Outcome::Failed(_)) {
            instance_left = true;
        }
    }
    outcomes
}

fn delete_one(kind: Kind, entry: &Entry, wait_while_in_use: bool) -> Outcome {
    let detail: Detail = match serde_json::from_value(entry.detail.clone()) {
        Ok(d) => d,
        Err(e) => return Outcome::Failed(format!("unreadable journal detail: {e}")),
    };
    let tokens = match tokens_for(&detail.credentials) {
        Ok(t) => t,
        Err(e) => {
            ui::error(&format!(
                "Cannot delete {} {}: {e}",
                kind.as_str(),
                entry.name
            ));
            return Outcome::Failed(e);
        }
    };
    let timeout = Duration::from_secs(detail.state_timeout_secs.max(1));
    let mut client = Client::new(
        HostTransport::default(),
        &detail.compute_base,
        tokens,
        timeout,
    );
    client.cleanup = true;
    ui::say(&format!("Deleting {} {}...", kind.as_str(), entry.name));
    let path = path_of(kind, &entry.name, &detail);
    let message = format!("time out while waiting for {} to delete", kind.as_str());
    match delete_and_wait(
        &mut client,
        &path,
        &detail.scope(),
        timeout,
        &message,
        wait_while_in_use,
    ) {
        Ok(Deletion::Deleted) => {
            ui::message(&format!("Deleted {} {}.", kind.as_str(), entry.name));
            Outcome::Deleted
        }
        Ok(Deletion::Gone) => {
            ui::message(&format!(
                "{} {} no longer exists.",
                capitalised(kind.as_str()),
                entry.name
            ));
            Outcome::Gone
        }
        Err(e) => {
            ui::error(&format!(
                "Error deleting {} {}: {e}",
                kind.as_str(),
                entry.name
            ));
            Outcome::Failed(e.to_string())
        }
    }
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
