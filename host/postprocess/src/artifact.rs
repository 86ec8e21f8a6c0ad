//! Artifacts: what a builder or a post-processor produced.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::go_io_error;
use crate::fsutil::resolve;

/// What Packer's `Artifact.Destroy()` does for an artifact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DestroyAction {
    /// The artifact belongs to the host (the builder's artifact): this crate
    /// never deletes its files; destroying it is reported to the host (see
    /// [`crate::ChainOutcome::destroy_requests`] and
    /// [`crate::run_sequences_with_destroyer`]).
    #[default]
    Host,
    /// Remove every file (recursively, like Go's `os.RemoveAll`) in
    /// [`Artifact::files`]: the `checksum` and `artifice` artifacts.
    RemoveAllFiles,
    /// Remove the single file [`Artifact::id`] names (like Go's `os.Remove`):
    /// the `compress` artifact.
    RemoveId,
    /// Nothing to do.
    Nothing,
}

/// An artifact: the builder's or a post-processor's (Packer's `Artifact`
/// interface as data).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Artifact {
    /// `BuilderId()`, e.g. `packer.file` or `packer.post-processor.compress`.
    pub builder_id: String,
    /// `Id()`, e.g. `File` or the archive's path.
    pub id: String,
    /// `String()`: the line printed after `--> <build>: ` in the artifact list.
    pub description: String,
    /// `Files()`: paths as the builder or post-processor reported them
    /// (relative paths are relative to [`crate::PostProcessEnv::working_dir`]).
    pub files: Vec<String>,
    /// The artifact's generated data (`State("generated_data")`): each entry
    /// is available as `{{ .Key }}` / ``{{ build `Key` }}`` to the templates
    /// the post-processors render while running.
    pub state: BTreeMap<String, String>,
    /// What destroying this artifact means.
    pub destroy: DestroyAction,
}

impl Artifact {
    /// A builder's artifact (destroyed by the host, never by this crate).
    #[must_use]
    pub fn from_builder(
        builder_id: impl Into<String>,
        id: impl Into<String>,
        description: impl Into<String>,
        files: Vec<String>,
    ) -> Self {
        Self {
            builder_id: builder_id.into(),
            id: id.into(),
            description: description.into(),
            files,
            state: BTreeMap::new(),
            destroy: DestroyAction::Host,
        }
    }

    /// True if destroying this artifact is the host's business.
    #[must_use]
    pub fn destroyed_by_host(&self) -> bool {
        self.destroy == DestroyAction::Host
    }

    /// Packer's `Destroy()` for post-processor artifacts: deletes the files
    /// this artifact owns (relative paths resolved against `working_dir`).
    /// Missing files are not an error (as with Go's `os.RemoveAll`).
    ///
    /// For [`DestroyAction::Host`] artifacts this does nothing and returns
    /// `Ok(false)`; the host decides. Returns `Ok(true)` when something was
    /// (or would have been) deleted by this crate.
    pub fn destroy(&self, working_dir: &Path) -> Result<bool, String> {
        match self.destroy {
            DestroyAction::Host => Ok(false),
            DestroyAction::Nothing => Ok(true),
            DestroyAction::RemoveId => {
                let path = resolve(working_dir, &self.id);
                match std::fs::remove_file(&path) {
                    Ok(()) => Ok(true),
                    Err(e) => Err(go_io_error("remove", &self.id, &e)),
                }
            }
            DestroyAction::RemoveAllFiles => {
                for f in &self.files {
                    let path = resolve(working_dir, f);
                    let res = match std::fs::symlink_metadata(&path) {
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                        Err(e) => Err(e),
                        Ok(m) if m.is_dir() => std::fs::remove_dir_all(&path),
                        Ok(_) => std::fs::remove_file(&path),
                    };
                    if let Err(e) = res
                        && e.kind() != std::io::ErrorKind::NotFound
                    {
                        return Err(go_io_error("unlinkat", f, &e));
                    }
                }
                Ok(true)
            }
        }
    }
}

/// Packer's `Created artifact from files: a, b` (checksum and artifice).
pub(crate) fn files_description(files: &[String]) -> String {
    format!("Created artifact from files: {}", files.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destroy_removes_owned_files_only() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a"), "x").unwrap();
        std::fs::create_dir(dir.path().join("d")).unwrap();
        std::fs::write(dir.path().join("d/b"), "x").unwrap();
        let host =
            Artifact::from_builder("packer.file", "File", "Stored file: a", vec!["a".into()]);
        assert_eq!(host.destroy(dir.path()), Ok(false));
        assert!(dir.path().join("a").exists());

        let owned = Artifact {
            files: vec!["a".into(), "d".into(), "missing".into()],
            destroy: DestroyAction::RemoveAllFiles,
            ..Artifact::default()
        };
        assert_eq!(owned.destroy(dir.path()), Ok(true));
        assert!(!dir.path().join("a").exists());
        assert!(!dir.path().join("d").exists());

        std::fs::write(dir.path().join("c.tar"), "x").unwrap();
        let compressed = Artifact {
            id: "c.tar".into(),
            files: vec!["c.tar".into()],
            destroy: DestroyAction::RemoveId,
            ..Artifact::default()
        };
        assert_eq!(compressed.destroy(dir.path()), Ok(true));
        assert!(!dir.path().join("c.tar").exists());
        let err = compressed.destroy(dir.path()).unwrap_err();
        assert_eq!(err, "remove c.tar: no such file or directory");
    }
}
