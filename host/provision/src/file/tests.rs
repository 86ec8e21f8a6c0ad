use super::*;
use crate::testutil::{env, env_in, ui};
use packer_communicator::LocalCommunicator;
use serde_json::json;

fn tree(root: &Path) {
    std::fs::create_dir_all(root.join("sub/deeper")).unwrap();
    std::fs::write(root.join("top.txt"), b"top").unwrap();
    let blob: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(root.join("sub/deeper/blob.bin"), &blob).unwrap();
}

fn same_tree(a: &Path, b: &Path) {
    for rel in ["top.txt", "sub/deeper/blob.bin"] {
        assert_eq!(
            std::fs::read(a.join(rel)).unwrap(),
            std::fs::read(b.join(rel)).unwrap(),
            "{rel}"
        );
    }
}

async fn run(config: serde_json::Value, dir: &Path) -> String {
    let (ui, buf) = ui();
    let p = FileProvisioner::prepare(config, &env_in(dir)).unwrap();
    p.provision(
        &ui,
        &LocalCommunicator::default(),
        &BTreeMap::new(),
        &CancellationToken::new(),
    )
    .await
    .unwrap();
    buf.text()
}

#[tokio::test]
async fn uploads_a_file_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    tree(&dir.path().join("src"));
    let remote = dir.path().join("remote");
    std::fs::create_dir_all(&remote).unwrap();
    let dst = format!("{}/copy.bin", remote.display());
    let out = run(
        json!({"source": "src/sub/deeper/blob.bin", "destination": dst}),
        dir.path(),
    )
    .await;
    assert_eq!(
        out,
        format!("==> b: Uploading src/sub/deeper/blob.bin => {dst}\n")
    );
    assert_eq!(
        std::fs::read(&dst).unwrap(),
        std::fs::read(dir.path().join("src/sub/deeper/blob.bin")).unwrap()
    );
    // A destination ending in '/' keeps the file's name; several sources need one.
    let dst_dir = format!("{}/", remote.display());
    run(
        json!({"sources": ["src/top.txt", "src/sub/deeper/blob.bin"], "destination": dst_dir}),
        dir.path(),
    )
    .await;
    assert_eq!(std::fs::read(remote.join("top.txt")).unwrap(), b"top");
    assert!(remote.join("blob.bin").exists());
}

#[tokio::test]
async fn uploads_directories_with_the_trailing_slash_rule() {
    let dir = tempfile::tempdir().unwrap();
    tree(&dir.path().join("src"));
    let dst = dir.path().join("remote");
    std::fs::create_dir_all(&dst).unwrap();
    let d = dst.display().to_string();
    // `src` → <dst>/src/...
    let out = run(json!({"source": "src", "destination": d}), dir.path()).await;
    assert_eq!(out, format!("==> b: Uploading src => {d}\n"));
    same_tree(&dir.path().join("src"), &dst.join("src"));
    // `src/` → contents into <dst2>
    let dst2 = dir.path().join("remote2");
    run(
        json!({"source": "src/", "destination": dst2.display().to_string()}),
        dir.path(),
    )
    .await;
    same_tree(&dir.path().join("src"), &dst2);
    assert!(!dst2.join("src").exists());
}

#[tokio::test]
async fn downloads_files_and_directories() {
    let dir = tempfile::tempdir().unwrap();
    let remote = dir.path().join("remote");
    tree(&remote);
    let r = remote.display().to_string();
    // A file, into a relative destination (resolved against the working dir), parents created.
    let out = run(
        json!({"direction": "download", "source": format!("{r}/sub/deeper/blob.bin"), "destination": "got/blob.bin"}),
        dir.path(),
    )
    .await;
    assert_eq!(
        out,
        format!("==> b: Downloading {r}/sub/deeper/blob.bin => got/blob.bin\n")
    );
    assert_eq!(
        std::fs::read(dir.path().join("got/blob.bin")).unwrap(),
        std::fs::read(remote.join("sub/deeper/blob.bin")).unwrap()
    );
    // A file into a directory destination keeps its name.
    run(
        json!({"direction": "download", "source": format!("{r}/top.txt"), "destination": "got/"}),
        dir.path(),
    )
    .await;
    assert_eq!(
        std::fs::read(dir.path().join("got/top.txt")).unwrap(),
        b"top"
    );
    // `remote` → got2/remote/...
    run(
        json!({"direction": "download", "source": r.clone(), "destination": "got2"}),
        dir.path(),
    )
    .await;
    same_tree(&remote, &dir.path().join("got2/remote"));
    // `remote/` → contents into got3
    run(
        json!({"direction": "download", "source": format!("{r}/"), "destination": "got3"}),
        dir.path(),
    )
    .await;
    same_tree(&remote, &dir.path().join("got3"));
}

#[tokio::test]
async fn content_and_generated_data() {
    let dir = tempfile::tempdir().unwrap();
    let dst = dir.path().join("out.txt");
    let (ui, buf) = ui();
    let p = FileProvisioner::prepare(
        json!({"content": "hello {{user `greeting`}}\n", "destination": format!("{}/{{{{ build `ID` }}}}.txt", dir.path().display())}),
        &env(),
    )
    .unwrap();
    let mut data = BTreeMap::new();
    data.insert("ID".to_string(), "out".to_string());
    p.provision(
        &ui,
        &LocalCommunicator::default(),
        &data,
        &CancellationToken::new(),
    )
    .await
    .unwrap();
    assert_eq!(std::fs::read_to_string(&dst).unwrap(), "hello hello\n");
    assert!(
        buf.text()
            .starts_with("==> b: Uploading /tmp/packer-file-provisioner"),
        "{}",
        buf.text()
    );
}

#[tokio::test]
async fn failures_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let (ui, buf) = ui();
    let p = FileProvisioner::prepare(
        json!({"direction": "download", "source": "/proc/no-such-dir/file", "destination": dir.path().join("x").display().to_string()}),
        &env(),
    )
    .unwrap();
    let err = p
        .provision(
            &ui,
            &LocalCommunicator::default(),
            &BTreeMap::new(),
            &CancellationToken::new(),
        )
        .await
        .unwrap_err();
    assert!(
        buf.text()
            .contains(&format!("==> b: Download failed: {err}\n")),
        "{}",
        buf.text()
    );
}

#[test]
fn configuration_errors() {
    let e = |v| FileProvisioner::prepare(v, &env()).unwrap_err();
    assert_eq!(
        e(json!({"source": "/proc/no-such-dir/x", "destination": "/tmp/x"})),
        vec![
            "Bad source '/proc/no-such-dir/x': stat /proc/no-such-dir/x: no such file or directory"
        ]
    );
    assert!(
        FileProvisioner::prepare(
            json!({"source": "/proc/no-such-dir/x", "destination": "/tmp/x", "generated": true}),
            &env()
        )
        .is_ok()
    );
    assert!(FileProvisioner::prepare(json!({"source": "/proc/no-such-dir/x", "destination": "/tmp/x", "direction": "download"}), &env()).is_ok());
    assert_eq!(
        e(json!({"destination": "/tmp/x"})),
        vec!["Source must be specified."]
    );
    assert_eq!(
        e(json!({"source": "/etc/hostname", "content": "x", "destination": "/tmp/x"})),
        vec!["Cannot specify both a source and content"]
    );
    assert_eq!(
        e(json!({"content": "x"})),
        vec!["Destination must be specified."]
    );
    assert_eq!(
        e(json!({"content": "x", "destination": "/tmp/x", "direction": "sideways"})),
        vec!["Direction must be one of: download, upload."]
    );
    assert_eq!(
        e(json!({"sources": ["/etc/hostname", "/etc/hosts"], "destination": "/tmp/x"})),
        vec!["Destination must be a directory when using multiple sources."]
    );
    assert_eq!(
        e(json!({"content": "x", "destination": "/tmp/x", "extra": 1})),
        vec!["unknown configuration key: '\"extra\"'"]
    );
}
