//! The cleanup journal, through the host: record a cloud resource before
//! creating it, forget it once it is deleted or handed over as the artifact.
//!
//! If the build ends any other way (a crash, `kill -9`, a power cut), the
//! entries stay on disk; `packer cleanup` later hands them to the plugin's
//! [`crate::Builder::delete_leftovers`] in a fresh instance. So `detail` must
//! hold everything needed to delete the resource without the build's
//! configuration (project, zone, endpoint, where the credentials are) and
//! never a secret itself.
//!
//! ```ignore
//! journal::add("instance", &name, &serde_json::json!({"zone": zone}))?;
//! create_instance(&name)?;
//! // ... later, once it is deleted:
//! journal::remove("instance", &name)?;
//! ```

use crate::bindings::packer::plugin::journal as host;
use std::fmt;

/// One resource, as recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// What it is (`instance`, `disk`, `image`).
    pub kind: String,
    /// Its name or id.
    pub name: String,
    /// What deleting it needs.
    pub detail: serde_json::Value,
}

/// What became of one leftover entry in [`crate::Builder::delete_leftovers`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The plugin deleted it.
    Deleted,
    /// It did not exist any more.
    Gone,
    /// It could not be deleted; it stays in the journal.
    Failed(String),
}

/// Why the host could not record or forget an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalError(pub String);

impl fmt::Display for JournalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cleanup journal: {}", self.0)
    }
}

impl std::error::Error for JournalError {}

impl From<host::JournalError> for JournalError {
    fn from(e: host::JournalError) -> Self {
        JournalError(match e {
            host::JournalError::TooMany(n) => {
                format!("the build already records {n} resources, the most allowed")
            }
            host::JournalError::TooLarge(n) => format!("the entry is larger than {n} bytes"),
            host::JournalError::Invalid(m) => format!("invalid entry: {m}"),
            host::JournalError::Io(m) => m,
        })
    }
}

/// Records a resource about to be created. When this fails, do not create it.
pub fn add(kind: &str, name: &str, detail: &serde_json::Value) -> Result<(), JournalError> {
    host::add(&host::Entry {
        kind: kind.to_string(),
        name: name.to_string(),
        detail: detail.to_string(),
    })
    .map_err(JournalError::from)
}

/// Forgets a resource that was deleted or handed over.
pub fn remove(kind: &str, name: &str) -> Result<(), JournalError> {
    host::remove(kind, name).map_err(JournalError::from)
}

#[doc(hidden)]
pub fn entry_from_wit(entry: host::Entry) -> Entry {
    Entry {
        kind: entry.kind,
        name: entry.name,
        detail: serde_json::from_str(&entry.detail).unwrap_or(serde_json::Value::Null),
    }
}
