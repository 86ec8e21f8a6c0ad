//! The `artifice` post-processor: replaces the artifact's files with the
//! configured ones.

use serde::Deserialize;
use serde_json::Value;

use packer_ui::BuildUi;
use tokio_util::sync::CancellationToken;

use crate::artifact::{Artifact, DestroyAction, files_description};
use crate::config::{decode, opt_string_list};
use crate::error::go_io_error;
use crate::fsutil::resolve;
use crate::{BoxFuture, KindPrepared, PostProcessEnv, PostProcessOutput, PostProcessor};

/// `BuilderId()` of the artifact `artifice` returns.
pub const BUILDER_ID: &str = "packer.post-processor.artifice";

#[derive(Debug, Deserialize)]
struct Raw {
    #[serde(default, deserialize_with = "opt_string_list")]
    files: Option<Vec<String>>,
}

/// A configured `artifice`.
#[derive(Debug, Clone)]
pub(crate) struct Artifice {
    files: Vec<String>,
}

pub(crate) fn prepare(config: Value, env: &PostProcessEnv) -> KindPrepared {
    let decoded = decode::<Raw>(config, &[], env)?;
    let files = decoded.config.files.unwrap_or_default();
    if files.is_empty() {
        return Err(vec!["No files specified in artifice configuration".into()]);
    }
    Ok((Box::new(Artifice { files }), decoded.keep_input_artifact))
}

/// Go's `filepath.Glob` relative to `working_dir`: a pattern without
/// metacharacters yields itself if it exists (else nothing); matches keep the
/// pattern's relative or absolute form.
fn glob_files(working_dir: &std::path::Path, pattern: &str) -> Result<Vec<String>, String> {
    let has_meta =
        pattern.contains(['*', '?', '[']) || (cfg!(not(windows)) && pattern.contains('\\'));
    if !has_meta {
        let path = resolve(working_dir, pattern);
        return Ok(match std::fs::symlink_metadata(path) {
            Ok(_) => vec![pattern.to_string()],
            Err(_) => Vec::new(),
        });
    }
    let absolute = std::path::Path::new(pattern).is_absolute();
    let full = if absolute {
        pattern.to_string()
    } else {
        let mut base = glob::Pattern::escape(&working_dir.to_string_lossy());
        if !base.ends_with('/') {
            base.push('/');
        }
        format!("{base}{pattern}")
    };
    let paths = glob::glob(&full).map_err(|_| "syntax error in pattern".to_string())?;
    let mut out = Vec::new();
    for entry in paths {
        let Ok(path) = entry else { continue };
        let shown = if absolute {
            path.to_string_lossy().into_owned()
        } else {
            match path.strip_prefix(working_dir) {
                Ok(rel) => rel.to_string_lossy().into_owned(),
                Err(_) => path.to_string_lossy().into_owned(),
            }
        };
        out.push(shown);
    }
    Ok(out)
}

impl Artifice {
    fn run(
        &self,
        input: &Artifact,
        ui: &BuildUi,
        env: &PostProcessEnv,
    ) -> Result<PostProcessOutput, String> {
        if !input.files.is_empty() {
            ui.say(&format!(
                "Discarding files from artifact: {}",
                input.files.join(", ")
            ));
        }
        let mut files = Vec::new();
        for pattern in &self.files {
            for f in glob_files(&env.working_dir, pattern)? {
                if let Err(e) = std::fs::metadata(resolve(&env.working_dir, &f)) {
                    return Err(go_io_error("stat", &f, &e));
                }
                files.push(f);
            }
        }
        ui.say(&format!("Using these artifact files: {}", files.join(", ")));
        let artifact = Artifact {
            builder_id: BUILDER_ID.into(),
            id: String::new(),
            description: files_description(&files),
            files,
            state: input.state.clone(),
            destroy: DestroyAction::RemoveAllFiles,
        };
        Ok(PostProcessOutput {
            artifact: Some(artifact),
            keep: true,
            force_override: false,
        })
    }
}

impl PostProcessor for Artifice {
    fn post_process<'a>(
        &'a self,
        input: &'a Artifact,
        ui: &'a BuildUi,
        env: &'a PostProcessEnv,
        _cancel: &'a CancellationToken,
    ) -> BoxFuture<'a, Result<PostProcessOutput, String>> {
        Box::pin(async move { self.run(input, ui, env) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil;
    use serde_json::json;

    #[test]
    fn requires_files() {
        let dir = tempfile::tempdir().unwrap();
        let env = testutil::env(dir.path());
        let err = crate::prepare("artifice", None, json!({}), None, &env).unwrap_err();
        assert_eq!(err, vec!["No files specified in artifice configuration"]);
        let err = crate::prepare("artifice", None, json!({"files": []}), None, &env).unwrap_err();
        assert_eq!(err, vec!["No files specified in artifice configuration"]);
        let err = crate::prepare(
            "artifice",
            None,
            json!({"files": ["a"], "bogus": 1}),
            None,
            &env,
        )
        .unwrap_err();
        assert_eq!(err, vec!["unknown configuration key: '\"bogus\"'"]);
    }

    #[tokio::test]
    async fn replaces_files_and_globs() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("out")).unwrap();
        for f in ["out/b.txt", "out/a.txt", "out/c.log", "single"] {
            std::fs::write(dir.path().join(f), f).unwrap();
        }
        let env = testutil::env(dir.path());
        let pp = crate::prepare(
            "artifice",
            None,
            json!({"files": ["out/*.txt", "single", "missing", "{{ build_name }}-x"], "keep_input_artifact": true}),
            None,
            &env,
        )
        .unwrap();
        assert_eq!(pp.keep_input_artifact(), Some(true));
        let (ui, buf) = testutil::ui();
        let ui = ui.with_target("f (artifice)");
        let input =
            Artifact::from_builder("packer.file", "File", "Stored file: in", vec!["in".into()]);
        let out = pp
            .processor()
            .post_process(&input, &ui, &env, &CancellationToken::new())
            .await
            .unwrap();
        let art = out.artifact.unwrap();
        assert_eq!(art.files, vec!["out/a.txt", "out/b.txt", "single"]);
        assert_eq!(
            art.description,
            "Created artifact from files: out/a.txt, out/b.txt, single"
        );
        assert_eq!(art.builder_id, "packer.post-processor.artifice");
        assert!(out.keep && !out.force_override);
        assert_eq!(
            buf.text(),
            "==> f (artifice): Discarding files from artifact: in\n\
             ==> f (artifice): Using these artifact files: out/a.txt, out/b.txt, single\n"
        );
    }
}
