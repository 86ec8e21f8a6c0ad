use std::path::Path;

use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::*;
use crate::{PostProcessEnv, prepare, testutil};

fn pp(
    kind: &str,
    name: Option<&str>,
    config: Value,
    keep: Option<bool>,
    env: &PostProcessEnv,
) -> PreparedPostProcessor {
    prepare(kind, name, config, keep, env).unwrap()
}

fn file_artifact(dir: &Path, path: &str, content: &str) -> Artifact {
    let full = dir.join(path);
    std::fs::create_dir_all(full.parent().unwrap()).unwrap();
    std::fs::write(full, content).unwrap();
    Artifact::from_builder(
        "packer.file",
        "File",
        format!("Stored file: {path}"),
        vec![path.to_string()],
    )
}

fn descriptions(outcome: &ChainOutcome) -> Vec<String> {
    outcome
        .artifacts
        .iter()
        .map(|a| a.description.clone())
        .collect()
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}

/// `ppchain.json` as run on Packer 1.6.6 (packer-core.md §2.3).
#[tokio::test]
async fn verified_1_6_6_chain() {
    let dir = tempfile::tempdir().unwrap();
    let env = testutil::env(dir.path());
    let builder = file_artifact(dir.path(), "ppout/a.txt", "hello\n");
    let sequences = vec![
        vec![pp(
            "manifest",
            None,
            json!({"output": "ppout/manifest.json"}),
            None,
            &env,
        )],
        vec![
            pp(
                "compress",
                None,
                json!({"output": "ppout/a.tar.gz"}),
                None,
                &env,
            ),
            pp(
                "checksum",
                Some("sum"),
                json!({"checksum_types": ["sha256"], "output": "ppout/{{.BuildName}}.{{.ChecksumType}}"}),
                None,
                &env,
            ),
        ],
        vec![
            pp(
                "artifice",
                None,
                json!({"files": ["ppout/a.txt"]}),
                Some(true),
                &env,
            ),
            pp("checksum", None, json!({}), None, &env),
        ],
    ];
    let (ui, buf) = testutil::ui();
    let outcome = run_sequences(&sequences, builder, &ui, &env, &CancellationToken::new()).await;
    assert_eq!(outcome.errors, Vec::<String>::new());
    assert!(outcome.keep_builder_artifact && !outcome.cancelled);
    assert!(outcome.destroy_requests.is_empty());
    assert_eq!(
        descriptions(&outcome),
        vec![
            "Stored file: ppout/a.txt",
            "Stored file: ppout/a.txt",
            "compressed artifacts in: ppout/a.tar.gz",
            "Created artifact from files: ppout/a.tar.gz, ppout/f.sha256",
            "Created artifact from files: ppout/a.txt",
            "Created artifact from files: ppout/a.txt, packer_f_file_md5.checksum",
        ]
    );
    assert_eq!(
        buf.text(),
        format!(
            "==> f: Running post-processor: manifest\n\
             ==> f: Running post-processor: compress\n\
             ==> f (compress): Using pgzip compression with {} cores for ppout/a.tar.gz\n\
             ==> f (compress): Tarring ppout/a.tar.gz with pgzip\n\
             ==> f (compress): Archive ppout/a.tar.gz completed\n\
             ==> f: Running post-processor: sum (type checksum)\n\
             ==> f: Running post-processor: artifice\n\
             ==> f (artifice): Discarding files from artifact: ppout/a.txt\n\
             ==> f (artifice): Using these artifact files: ppout/a.txt\n\
             ==> f: Running post-processor: checksum\n",
            cores()
        )
    );
    // Everything is still on disk.
    for f in [
        "ppout/a.txt",
        "ppout/a.tar.gz",
        "ppout/f.sha256",
        "packer_f_file_md5.checksum",
        "ppout/manifest.json",
    ] {
        assert!(dir.path().join(f).exists(), "{f}");
    }
}

#[tokio::test]
async fn no_post_processors_keeps_the_builder_artifact() {
    let dir = tempfile::tempdir().unwrap();
    let env = testutil::env(dir.path());
    let builder = file_artifact(dir.path(), "a.txt", "x");
    let (ui, buf) = testutil::ui();
    let outcome = run_sequences(&[], builder.clone(), &ui, &env, &CancellationToken::new()).await;
    assert_eq!(outcome.artifacts, vec![builder]);
    assert!(outcome.keep_builder_artifact);
    assert_eq!(buf.text(), "");
}

#[tokio::test]
async fn keep_input_artifact_decides_the_builder_artifact() {
    let dir = tempfile::tempdir().unwrap();
    let env = testutil::env(dir.path());
    let builder = file_artifact(dir.path(), "a.txt", "x");
    let (ui, _) = testutil::ui();
    let cancel = CancellationToken::new();

    // compress does not keep its input by default: the builder artifact goes.
    let seqs = vec![vec![pp(
        "compress",
        None,
        json!({"output": "a.zip"}),
        None,
        &env,
    )]];
    let outcome = run_sequences(&seqs, builder.clone(), &ui, &env, &cancel).await;
    assert!(!outcome.keep_builder_artifact);
    assert_eq!(
        descriptions(&outcome),
        vec!["compressed artifacts in: a.zip"]
    );
    assert_eq!(outcome.destroy_requests, vec![builder.clone()]);
    // The host owns the builder's files: nothing was deleted here.
    assert!(dir.path().join("a.txt").exists());

    // The user's keep_input_artifact=true wins.
    let seqs = vec![vec![pp(
        "compress",
        None,
        json!({"output": "a.zip"}),
        Some(true),
        &env,
    )]];
    let outcome = run_sequences(&seqs, builder.clone(), &ui, &env, &cancel).await;
    assert!(outcome.keep_builder_artifact);
    assert_eq!(
        descriptions(&outcome),
        vec!["Stored file: a.txt", "compressed artifacts in: a.zip"]
    );
    assert!(outcome.destroy_requests.is_empty());

    // artifice keeps by default, but the user may say no (no forceOverride).
    let seqs = vec![vec![pp(
        "artifice",
        None,
        json!({"files": ["a.txt"]}),
        Some(false),
        &env,
    )]];
    let outcome = run_sequences(&seqs, builder.clone(), &ui, &env, &cancel).await;
    assert!(!outcome.keep_builder_artifact);

    // checksum forces keep: keep_input_artifact=false is ignored.
    let seqs = vec![vec![pp("checksum", None, json!({}), Some(false), &env)]];
    let outcome = run_sequences(&seqs, builder.clone(), &ui, &env, &cancel).await;
    assert!(outcome.keep_builder_artifact);
    // So does manifest.
    let seqs = vec![
        vec![pp("manifest", None, json!({}), None, &env)],
        vec![pp("compress", None, json!({"output": "b.zip"}), None, &env)],
    ];
    let outcome = run_sequences(&seqs, builder.clone(), &ui, &env, &cancel).await;
    assert!(outcome.keep_builder_artifact);
    assert_eq!(
        descriptions(&outcome),
        vec![
            "Stored file: a.txt",
            "Stored file: a.txt",
            "compressed artifacts in: b.zip"
        ]
    );
}

#[tokio::test]
async fn intermediate_artifacts_are_destroyed_unless_kept() {
    let dir = tempfile::tempdir().unwrap();
    let env = testutil::env(dir.path());
    let builder = file_artifact(dir.path(), "a.txt", "x");
    let (ui, _) = testutil::ui();
    let cancel = CancellationToken::new();

    // compress -> compress: the first archive is deleted (keep=false).
    let seqs = vec![vec![
        pp(
            "compress",
            None,
            json!({"output": "one.tar"}),
            Some(true),
            &env,
        ),
        pp(
            "compress",
            None,
            json!({"output": "two.tar.gz"}),
            None,
            &env,
        ),
    ]];
    let outcome = run_sequences(&seqs, builder.clone(), &ui, &env, &cancel).await;
    assert_eq!(outcome.errors, Vec::<String>::new());
    assert_eq!(
        descriptions(&outcome),
        vec!["Stored file: a.txt", "compressed artifacts in: two.tar.gz"]
    );
    assert!(!dir.path().join("one.tar").exists());
    assert!(dir.path().join("two.tar.gz").exists());

    // compress -> checksum(keep_input_artifact=false): forced, archive kept.
    let seqs = vec![vec![
        pp("compress", None, json!({"output": "three.tar"}), None, &env),
        pp(
            "checksum",
            None,
            json!({"output": "three.md5"}),
            Some(false),
            &env,
        ),
    ]];
    let outcome = run_sequences(&seqs, builder.clone(), &ui, &env, &cancel).await;
    assert_eq!(
        descriptions(&outcome),
        vec![
            "compressed artifacts in: three.tar",
            "Created artifact from files: three.tar, three.md5"
        ]
    );
    assert!(dir.path().join("three.tar").exists());

    // manifest -> compress: manifest passed the builder artifact on, so
    // compress's keep=false destroys it — through the host's destroyer.
    let seqs = vec![vec![
        pp("manifest", None, json!({}), None, &env),
        pp("compress", None, json!({"output": "four.tar"}), None, &env),
    ]];
    let mut destroyed = Vec::new();
    let mut destroyer = |a: &Artifact| -> Result<(), String> {
        destroyed.push(a.description.clone());
        Err("remove a.txt: permission denied".into())
    };
    let outcome =
        run_sequences_with_destroyer(&seqs, builder.clone(), &ui, &env, &cancel, &mut destroyer)
            .await;
    assert_eq!(destroyed, vec!["Stored file: a.txt"]);
    assert_eq!(
        outcome.errors,
        vec!["Failed cleaning up prior artifact: remove a.txt: permission denied; pp is compress"]
    );
    assert!(outcome.keep_builder_artifact);
    assert_eq!(
        descriptions(&outcome),
        vec!["Stored file: a.txt", "compressed artifacts in: four.tar"]
    );

    // Not kept by anyone: the builder artifact goes through the destroyer.
    let seqs = vec![vec![pp(
        "compress",
        None,
        json!({"output": "five.tar"}),
        None,
        &env,
    )]];
    let mut calls = 0;
    let mut destroyer = |_: &Artifact| -> Result<(), String> {
        calls += 1;
        Err("boom".into())
    };
    let outcome =
        run_sequences_with_destroyer(&seqs, builder, &ui, &env, &cancel, &mut destroyer).await;
    assert_eq!(calls, 1);
    assert_eq!(
        outcome.errors,
        vec!["Error destroying builder artifact: boom; bad artifact: []string{\"a.txt\"}"]
    );
    assert!(outcome.destroy_requests.is_empty());
}

#[tokio::test]
async fn an_error_skips_the_rest_of_its_sequence_only() {
    let dir = tempfile::tempdir().unwrap();
    let env = testutil::env(dir.path());
    std::fs::write(dir.path().join("b.txt"), "b").unwrap();
    let mut builder = file_artifact(dir.path(), "a.txt", "a");
    builder.files.push("b.txt".into());
    builder.description = "Stored files".into();
    let seqs = vec![
        vec![
            pp("compress", None, json!({"output": "x.gz"}), None, &env),
            pp("checksum", None, json!({}), None, &env),
        ],
        vec![pp(
            "artifice",
            None,
            json!({"files": ["b.txt"]}),
            None,
            &env,
        )],
    ];
    let (ui, buf) = testutil::ui();
    let outcome = run_sequences(&seqs, builder, &ui, &env, &CancellationToken::new()).await;
    assert_eq!(
        outcome.errors,
        vec![
            "Post-processor failed: Can only have 1 input file when not using tar/zip. Found 2 files: [a.txt b.txt]"
        ]
    );
    assert_eq!(
        descriptions(&outcome),
        vec!["Stored files", "Created artifact from files: b.txt"]
    );
    let text = buf.text();
    assert!(!text.contains("Running post-processor: checksum"), "{text}");
    assert!(
        text.contains("==> f: Running post-processor: artifice\n"),
        "{text}"
    );
    assert!(!dir.path().join("x.gz").exists());
}

#[tokio::test]
async fn cancellation_skips_post_processors() {
    let dir = tempfile::tempdir().unwrap();
    let env = testutil::env(dir.path());
    let builder = file_artifact(dir.path(), "a.txt", "a");
    let seqs = vec![vec![pp(
        "compress",
        None,
        json!({"output": "x.tar"}),
        None,
        &env,
    )]];
    let (ui, buf) = testutil::ui();
    let cancel = CancellationToken::new();
    cancel.cancel();
    let outcome = run_sequences(&seqs, builder.clone(), &ui, &env, &cancel).await;
    assert!(outcome.cancelled && outcome.keep_builder_artifact);
    assert_eq!(outcome.artifacts, vec![builder]);
    assert!(outcome.errors.is_empty());
    assert_eq!(buf.text(), "");
}

#[test]
fn unknown_kind_and_core_keys() {
    let dir = tempfile::tempdir().unwrap();
    let env = testutil::env(dir.path());
    let err = prepare("nosuch", None, json!({}), None, &env).unwrap_err();
    assert_eq!(err, vec!["Unknown post-processor nosuch"]);
    // Core keys inside the object are accepted; keep_input_artifact is used.
    let p = prepare(
        "compress",
        Some("c"),
        json!({"type": "compress", "name": "c", "keep_input_artifact": "true", "packer_force": true}),
        None,
        &env,
    )
    .unwrap();
    assert_eq!(p.keep_input_artifact(), Some(true));
    assert_eq!(
        p.announce_line(),
        "Running post-processor: c (type compress)"
    );
    assert_eq!(p.ui_target("f"), "f (compress)");
    // The explicit argument wins over the object's key.
    let p = prepare(
        "compress",
        Some("compress"),
        json!({"keep_input_artifact": true}),
        Some(false),
        &env,
    )
    .unwrap();
    assert_eq!(p.keep_input_artifact(), Some(false));
    assert_eq!(p.announce_line(), "Running post-processor: compress");
}
