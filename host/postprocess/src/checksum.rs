//! The `checksum` post-processor: writes `<hex>\t<basename>` lines for every
//! artifact file into one file per checksum type.

use std::fs::OpenOptions;
use std::io::Write;

use digest::DynDigest;
use serde::Deserialize;
use serde_json::Value;

use packer_ui::BuildUi;
use tokio_util::sync::CancellationToken;

use crate::artifact::{Artifact, DestroyAction, files_description};
use crate::config::{decode, opt_string, opt_string_list, render_runtime, validate_template};
use crate::error::{go_error_text, go_io_error};
use crate::fsutil::{base_name, copy_cancellable, create_parent_dir, resolve};
use crate::{
    BoxFuture, KindPrepared, PostProcessEnv, PostProcessOutput, PostProcessor, run_blocking,
};

/// `BuilderId()` of the artifact `checksum` returns.
pub const BUILDER_ID: &str = "packer.post-processor.checksum";

/// The supported `checksum_types`.
pub const CHECKSUM_TYPES: &[&str] = &["md5", "sha1", "sha224", "sha256", "sha384", "sha512"];

/// The default `output` template.
pub const DEFAULT_OUTPUT: &str =
    "packer_{{.BuildName}}_{{.BuilderType}}_{{.ChecksumType}}.checksum";

#[derive(Debug, Deserialize)]
struct Raw {
    #[serde(default, deserialize_with = "opt_string_list")]
    checksum_types: Option<Vec<String>>,
    #[serde(default, deserialize_with = "opt_string")]
    output: Option<String>,
}

/// A configured `checksum`.
#[derive(Debug, Clone)]
pub(crate) struct Checksum {
    types: Vec<String>,
    output: String,
}

fn hasher(kind: &str) -> Option<Box<dyn DynDigest + Send>> {
    Some(match kind {
        "md5" => Box::new(md5::Md5::default()),
        "sha1" => Box::new(sha1::Sha1::default()),
        "sha224" => Box::new(sha2::Sha224::default()),
        "sha256" => Box::new(sha2::Sha256::default()),
        "sha384" => Box::new(sha2::Sha384::default()),
        "sha512" => Box::new(sha2::Sha512::default()),
        _ => return None,
    })
}

pub(crate) fn prepare(config: Value, env: &PostProcessEnv) -> KindPrepared {
    let decoded = decode::<Raw>(config, &["output"], env)?;
    let types = decoded
        .config
        .checksum_types
        .unwrap_or_else(|| vec!["md5".to_string()]);
    let mut errors: Vec<String> = types
        .iter()
        .filter(|t| hasher(t).is_none())
        .map(|t| format!("Unrecognized checksum type: {t}"))
        .collect();
    let output = match decoded.config.output {
        Some(o) if !o.is_empty() => o,
        _ => DEFAULT_OUTPUT.to_string(),
    };
    if let Err(e) = validate_template(&output) {
        errors.push(e);
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok((
        Box::new(Checksum { types, output }),
        decoded.keep_input_artifact,
    ))
}

/// Lower-case hex.
fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// A `Write` adapter feeding a digest.
struct DigestWriter<'a>(&'a mut (dyn DynDigest + Send));

impl Write for DigestWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Checksum {
    fn run(
        &self,
        input: &Artifact,
        env: &PostProcessEnv,
        cancel: &CancellationToken,
    ) -> Result<PostProcessOutput, String> {
        let mut files = input.files.clone();
        for ct in &self.types {
            let Some(mut h) = hasher(ct) else {
                return Err(format!("Unrecognized checksum type: {ct}"));
            };
            for art in &input.files {
                let checksum_file = render_runtime(
                    &self.output,
                    env,
                    &input.state,
                    &[
                        ("BuildName", &env.build_name),
                        ("BuilderType", &env.builder_type),
                        ("ChecksumType", ct),
                    ],
                )?;
                let target = resolve(&env.working_dir, &checksum_file);
                // Packer lists a checksum file only if it did not exist yet.
                if std::fs::metadata(&target).is_err() {
                    files.push(checksum_file.clone());
                }
                create_parent_dir(&target)
                    .map_err(|e| format!("unable to create dir: {}", go_error_text(&e)))?;
                let mut fw = OpenOptions::new()
                    .append(true)
                    .create(true)
                    .open(&target)
                    .map_err(|e| {
                        format!(
                            "unable to create file {checksum_file}: {}",
                            go_io_error("open", &checksum_file, &e)
                        )
                    })?;
                let fr = std::fs::File::open(resolve(&env.working_dir, art)).map_err(|e| {
                    format!(
                        "unable to open file {art}: {}",
                        go_io_error("open", art, &e)
                    )
                })?;
                if let Err(e) = copy_cancellable(fr, &mut DigestWriter(h.as_mut()), cancel) {
                    if cancel.is_cancelled() {
                        return Err(go_error_text(&e));
                    }
                    return Err(format!("unable to compute {ct} hash for {art}"));
                }
                let line = format!("{}\t{}\n", hex(&h.finalize_reset()), base_name(art));
                fw.write_all(line.as_bytes())
                    .map_err(|e| go_io_error("write", &checksum_file, &e))?;
            }
        }
        let artifact = Artifact {
            builder_id: BUILDER_ID.into(),
            id: String::new(),
            description: files_description(&files),
            files,
            state: input.state.clone(),
            destroy: DestroyAction::RemoveAllFiles,
        };
        // keep and forceOverride: never delete the artifact being checksummed.
        Ok(PostProcessOutput {
            artifact: Some(artifact),
            keep: true,
            force_override: true,
        })
    }
}

impl PostProcessor for Checksum {
    fn post_process<'a>(
        &'a self,
        input: &'a Artifact,
        _ui: &'a BuildUi,
        env: &'a PostProcessEnv,
        cancel: &'a CancellationToken,
    ) -> BoxFuture<'a, Result<PostProcessOutput, String>> {
        let this = self.clone();
        let input = input.clone();
        let env = env.clone();
        let cancel = cancel.clone();
        Box::pin(run_blocking(move || this.run(&input, &env, &cancel)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil;
    use serde_json::json;

    const ABC: &[(&str, &str)] = &[
        ("md5", "900150983cd24fb0d6963f7d28e17f72"),
        ("sha1", "a9993e364706816aba3e25717850c26c9cd0d89d"),
        (
            "sha224",
            "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7",
        ),
        (
            "sha256",
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        ),
        (
            "sha384",
            "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7",
        ),
        (
            "sha512",
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
        ),
    ];

    #[test]
    fn rejects_bad_types_and_keys() {
        let dir = tempfile::tempdir().unwrap();
        let env = testutil::env(dir.path());
        let err = crate::prepare(
            "checksum",
            None,
            json!({"checksum_types": ["md5", "crc32"]}),
            None,
            &env,
        )
        .unwrap_err();
        assert_eq!(err, vec!["Unrecognized checksum type: crc32"]);
        let err = crate::prepare("checksum", None, json!({"typo": true}), None, &env).unwrap_err();
        assert_eq!(err, vec!["unknown configuration key: '\"typo\"'"]);
        let err = crate::prepare(
            "checksum",
            None,
            json!({"output": "{{ nosuch }}"}),
            None,
            &env,
        )
        .unwrap_err();
        assert_eq!(err.len(), 1);
        assert!(
            err[0].starts_with(
                "Error parsing target template: template: root:1: function \"nosuch\" not defined"
            ),
            "{err:?}"
        );
        // A single string is a one-item list (mapstructure's weak decoding).
        assert!(
            crate::prepare(
                "checksum",
                None,
                json!({"checksum_types": "sha1"}),
                None,
                &env
            )
            .is_ok()
        );
    }

    #[tokio::test]
    async fn every_type_with_known_digests() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("in")).unwrap();
        std::fs::write(dir.path().join("in/abc.txt"), "abc").unwrap();
        std::fs::write(dir.path().join("in/empty"), "").unwrap();
        let env = testutil::env(dir.path());
        let types: Vec<&str> = ABC.iter().map(|(t, _)| *t).collect();
        let pp = crate::prepare(
            "checksum",
            None,
            json!({"checksum_types": types}),
            None,
            &env,
        )
        .unwrap();
        let (ui, buf) = testutil::ui();
        let input = Artifact::from_builder(
            "packer.file",
            "File",
            "x",
            vec!["in/abc.txt".into(), "in/empty".into()],
        );
        let out = pp
            .processor()
            .post_process(&input, &ui, &env, &CancellationToken::new())
            .await
            .unwrap();
        assert!(out.keep && out.force_override);
        let art = out.artifact.unwrap();
        let mut expected_files = vec!["in/abc.txt".to_string(), "in/empty".to_string()];
        for (t, digest) in ABC {
            let name = format!("packer_f_file_{t}.checksum");
            let text = std::fs::read_to_string(dir.path().join(&name)).unwrap();
            let empty = hex(&hasher(t).unwrap().finalize());
            assert_eq!(text, format!("{digest}\tabc.txt\n{empty}\tempty\n"));
            expected_files.push(name);
        }
        assert_eq!(art.files, expected_files);
        assert_eq!(
            art.description,
            format!("Created artifact from files: {}", expected_files.join(", "))
        );
        assert_eq!(buf.text(), "");
    }

    #[tokio::test]
    async fn appends_and_lists_only_new_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("abc"), "abc").unwrap();
        let env = testutil::env(dir.path());
        let pp = crate::prepare(
            "checksum",
            None,
            json!({"checksum_types": ["sha256"], "output": "sums/{{.BuildName}}.{{.ChecksumType}}"}),
            None,
            &env,
        )
        .unwrap();
        let (ui, _) = testutil::ui();
        let input = Artifact::from_builder("packer.file", "File", "x", vec!["abc".into()]);
        let cancel = CancellationToken::new();
        let first = pp
            .processor()
            .post_process(&input, &ui, &env, &cancel)
            .await
            .unwrap();
        assert_eq!(first.artifact.unwrap().files, vec!["abc", "sums/f.sha256"]);
        let second = pp
            .processor()
            .post_process(&input, &ui, &env, &cancel)
            .await
            .unwrap();
        assert_eq!(second.artifact.unwrap().files, vec!["abc"]);
        let line = format!("{}\tabc\n", ABC[3].1);
        assert_eq!(
            std::fs::read_to_string(dir.path().join("sums/f.sha256")).unwrap(),
            format!("{line}{line}")
        );
    }

    #[tokio::test]
    async fn missing_input_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let env = testutil::env(dir.path());
        let pp = crate::prepare("checksum", None, json!({}), None, &env).unwrap();
        let (ui, _) = testutil::ui();
        let input = Artifact::from_builder("packer.file", "File", "x", vec!["nope".into()]);
        let err = pp
            .processor()
            .post_process(&input, &ui, &env, &CancellationToken::new())
            .await
            .unwrap_err();
        assert_eq!(
            err,
            "unable to open file nope: open nope: no such file or directory"
        );
    }
}
