//! Upload throughput: this client (SFTP and SCP) against OpenSSH's `scp`,
//! uploading a sparse 1 GiB file to a local test sshd.
//!
//! `cargo run -p packer-ssh --example upload_bench [size-in-MiB]`

use packer_communicator::{Communicator, FileMeta};
use packer_ssh::{FileTransfer, SshConfig, connect};
use packer_test_sshd::TestSshd;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

fn peak_rss_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<u64>().ok())
        .unwrap_or(0)
        / 1024
}

fn rate(size: u64, took: Duration) -> f64 {
    size as f64 / took.as_secs_f64() / 1e6
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mib: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1024);
    let size = mib << 20;
    let sshd = TestSshd::start().expect("sshd");
    let dir = tempfile::tempdir().expect("tempdir");
    let source = dir.path().join("source.bin");
    std::fs::File::create(&source)
        .and_then(|f| f.set_len(size))
        .expect("sparse file");
    let remote = dir.path().join("remote.bin");
    println!(
        "uploading {mib} MiB to 127.0.0.1:{} (peak RSS before: {} MiB)",
        sshd.port(),
        peak_rss_mib()
    );

    for round in 0..2 {
        for transfer in [FileTransfer::Sftp, FileTransfer::Scp] {
            let cfg = SshConfig {
                host: sshd.host().into(),
                port: sshd.port(),
                username: sshd.user().into(),
                private_key: Some(sshd.client_private_key()),
                file_transfer: transfer,
                ..SshConfig::default()
            };
            let client = connect(&cfg, CancellationToken::new())
                .await
                .expect("connect");
            let mut file = tokio::fs::File::open(&source).await.expect("open");
            let started = Instant::now();
            let meta = FileMeta {
                size: Some(size),
                mode: 0o644,
            };
            client
                .upload(remote.to_str().expect("utf-8"), &mut file, meta)
                .await
                .expect("upload");
            let took = started.elapsed();
            assert_eq!(std::fs::metadata(&remote).expect("remote").len(), size);
            println!(
                "round {round}: packer-ssh {transfer:?}: {:.0} MB/s ({took:.2?}), peak RSS so far {} MiB",
                rate(size, took),
                peak_rss_mib()
            );
            std::fs::remove_file(&remote).ok();
        }
        for (label, legacy) in [
            ("scp (SFTP protocol, OpenSSH default)", false),
            ("scp -O (legacy SCP protocol)", true),
        ] {
            let mut cmd = std::process::Command::new("scp");
            cmd.args([
                "-q",
                "-o",
                "StrictHostKeyChecking=no",
                "-o",
                "UserKnownHostsFile=/dev/null",
                "-o",
                "BatchMode=yes",
            ]);
            if legacy {
                cmd.arg("-O");
            }
            cmd.arg("-i")
                .arg(sshd.client_key_path())
                .arg("-P")
                .arg(sshd.port().to_string())
                .arg(&source)
                .arg(format!("{}@127.0.0.1:{}", sshd.user(), remote.display()));
            let started = Instant::now();
            let status = cmd.status().expect("scp");
            let took = started.elapsed();
            assert!(status.success());
            println!(
                "round {round}: OpenSSH {label}: {:.0} MB/s ({took:.2?})",
                rate(size, took)
            );
            std::fs::remove_file(&remote).ok();
        }
    }
}
