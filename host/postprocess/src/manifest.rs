//! The `manifest` post-processor: appends a record of the build to a JSON
//! file shared by all builds of a run.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use packer_ui::BuildUi;
use tokio_util::sync::CancellationToken;

use crate::artifact::Artifact;
use crate::config::{
    decode, opt_bool, opt_string, opt_string_map, render_runtime, validate_template,
};
use crate::error::go_error_text;
use crate::fsutil::{base_name, create_parent_dir, resolve, write_atomically};
use crate::{
    BoxFuture, KindPrepared, PostProcessEnv, PostProcessOutput, PostProcessor, run_blocking,
};

/// The default `output`.
pub const DEFAULT_OUTPUT: &str = "packer-manifest.json";

/// The manifest file: `{"builds": [...], "last_run_uuid": "..."}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestFile {
    /// One record per build that ran a `manifest` post-processor.
    #[serde(default, deserialize_with = "nullable")]
    pub builds: Vec<ManifestBuild>,
    /// The UUID of the run that wrote last.
    #[serde(default, deserialize_with = "nullable")]
    pub last_run_uuid: String,
}

/// One build's record, fields in Packer's order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestBuild {
    /// The build's name.
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    /// The builder's type.
    #[serde(default, deserialize_with = "nullable")]
    pub builder_type: String,
    /// Unix seconds; omitted when zero (`strip_time`).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_zero"
    )]
    pub build_time: i64,
    /// The artifact's files (`null` when it has none).
    #[serde(default)]
    pub files: Option<Vec<ManifestArtifactFile>>,
    /// The artifact's `Id()`.
    #[serde(default, deserialize_with = "nullable")]
    pub artifact_id: String,
    /// The run's UUID.
    #[serde(default, deserialize_with = "nullable")]
    pub packer_run_uuid: String,
    /// The rendered `custom_data` (`null` when not configured).
    #[serde(default)]
    pub custom_data: Option<BTreeMap<String, String>>,
}

/// A file of the artifact: its name and size in bytes (0 if unreadable).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestArtifactFile {
    /// The path as the artifact reported it (base name with `strip_path`).
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    /// Size in bytes.
    #[serde(default, deserialize_with = "nullable")]
    pub size: i64,
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

/// `null` decodes as the default, as with Go's `encoding/json`.
fn nullable<'de, D: Deserializer<'de>, T: Default + Deserialize<'de>>(d: D) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// `json.MarshalIndent(v, "", "  ")`: two-space indent, HTML characters
/// escaped as Go does, no trailing newline.
pub(crate) fn go_json(file: &ManifestFile) -> Result<String, String> {
    let text =
        serde_json::to_string_pretty(file).map_err(|e| format!("Unable to marshal JSON {e}"))?;
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    Ok(out)
}

#[derive(Debug, Deserialize)]
struct Raw {
    #[serde(default, deserialize_with = "opt_string")]
    output: Option<String>,
    #[serde(default, deserialize_with = "opt_bool")]
    strip_path: Option<bool>,
    #[serde(default, deserialize_with = "opt_bool")]
    strip_time: Option<bool>,
    #[serde(default, deserialize_with = "opt_string_map")]
    custom_data: Option<BTreeMap<String, String>>,
}

/// A configured `manifest`.
#[derive(Debug, Clone)]
pub(crate) struct Manifest {
    output: String,
    strip_path: bool,
    strip_time: bool,
    custom_data: Option<BTreeMap<String, String>>,
}

pub(crate) fn prepare(config: Value, env: &PostProcessEnv) -> KindPrepared {
    let decoded = decode::<Raw>(config, &["output", "custom_data"], env)?;
    let raw = decoded.config;
    let output = match raw.output {
        Some(o) if !o.is_empty() => o,
        _ => DEFAULT_OUTPUT.to_string(),
    };
    validate_template(&output).map_err(|e| vec![e])?;
    Ok((
        Box::new(Manifest {
            output,
            strip_path: raw.strip_path.unwrap_or(false),
            strip_time: raw.strip_time.unwrap_or(false),
            custom_data: raw.custom_data,
        }),
        decoded.keep_input_artifact,
    ))
}

/// Serialises manifest updates inside this process (the file lock below
/// serialises them across processes).
static IN_PROCESS: Mutex<()> = Mutex::new(());

/// An exclusive lock on `<manifest>.lock`, removed when dropped.
struct LockFile {
    path: PathBuf,
    file: File,
}

impl LockFile {
    fn acquire(path: PathBuf) -> std::io::Result<Self> {
        loop {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)?;
            file.lock()?;
            // Another holder may have removed the file between our open and
            // lock: only a lock on the file still at `path` counts.
            if same_file(&file, &path) {
                return Ok(Self { path, file });
            }
        }
    }
}

#[cfg(unix)]
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_file: &File, path: &Path) -> bool {
    path.exists()
}

impl Drop for LockFile {
    fn drop(&mut self) {
        // Remove while still holding the lock, then release it.
        if cfg!(unix) {
            let _ = std::fs::remove_file(&self.path);
        }
        let _ = self.file.unlock();
    }
}

impl Manifest {
    fn run(&self, input: &Artifact, env: &PostProcessEnv) -> Result<PostProcessOutput, String> {
        let custom_data = match &self.custom_data {
            None => None,
            Some(map) => {
                let mut rendered = BTreeMap::new();
                for (k, v) in map {
                    let value = render_runtime(v, env, &input.state, &[])
                        .map_err(|e| format!("Error interpolating custom data: {e}"))?;
                    rendered.insert(k.clone(), value);
                }
                Some(rendered)
            }
        };
        let output = render_runtime(
            &self.output,
            env,
            &input.state,
            &[
                ("BuildName", &env.build_name),
                ("BuilderType", &env.builder_type),
            ],
        )
        .map_err(|e| format!("Error interpolating output value: {e}"))?;

        let files = if input.files.is_empty() {
            None
        } else {
            Some(
                input
                    .files
                    .iter()
                    .map(|name| ManifestArtifactFile {
                        size: std::fs::metadata(resolve(&env.working_dir, name))
                            .map(|m| i64::try_from(m.len()).unwrap_or(i64::MAX))
                            .unwrap_or(0),
                        name: if self.strip_path {
                            base_name(name)
                        } else {
                            name.clone()
                        },
                    })
                    .collect(),
            )
        };
        let build_time = if self.strip_time {
            0
        } else {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| i64::try_from(d.as_secs()).unwrap_or(0))
                .unwrap_or(0)
        };
        let record = ManifestBuild {
            name: env.build_name.clone(),
            builder_type: env.builder_type.clone(),
            build_time,
            files,
            artifact_id: input.id.clone(),
            packer_run_uuid: env.packer_run_uuid.clone(),
            custom_data,
        };

        let path = resolve(&env.working_dir, &output);
        create_parent_dir(&path)
            .map_err(|e| format!("Unable to write {output}: {}", go_error_text(&e)))?;
        let _guard = IN_PROCESS.lock().unwrap_or_else(PoisonError::into_inner);
        let mut lock_path = path.clone().into_os_string();
        lock_path.push(".lock");
        let _lock = LockFile::acquire(PathBuf::from(lock_path))
            .map_err(|e| format!("Unable to lock {output}: {}", go_error_text(&e)))?;

        let contents = match std::fs::read(&path) {
            Ok(c) => c,
            Err(e) if e.kind() == ErrorKind::NotFound => Vec::new(),
            Err(e) => {
                return Err(format!(
                    "Unable to open {output} for reading: open {output}: {}",
                    go_error_text(&e)
                ));
            }
        };
        let mut manifest = if contents.is_empty() {
            ManifestFile::default()
        } else {
            serde_json::from_slice::<ManifestFile>(&contents)
                .map_err(|e| format!("Unable to parse content from {output}: {e}"))?
        };
        manifest.builds.push(record);
        manifest.last_run_uuid = env.packer_run_uuid.clone();
        let text = go_json(&manifest)?;
        write_atomically(&path, text.as_bytes())
            .map_err(|e| format!("Unable to write {output}: {}", go_error_text(&e)))?;

        Ok(PostProcessOutput {
            artifact: Some(input.clone()),
            keep: true,
            force_override: true,
        })
    }
}

impl PostProcessor for Manifest {
    fn post_process<'a>(
        &'a self,
        input: &'a Artifact,
        _ui: &'a BuildUi,
        env: &'a PostProcessEnv,
        _cancel: &'a CancellationToken,
    ) -> BoxFuture<'a, Result<PostProcessOutput, String>> {
        let this = self.clone();
        let input = input.clone();
        let env = env.clone();
        Box::pin(run_blocking(move || this.run(&input, &env)))
    }
}

#[cfg(test)]
mod tests;
