//! The `ssh-keys` metadata an instance receives makes a real OpenSSH sshd accept the key.

use std::process::Command;
use std::time::Duration;

use packer_gce_emulator::{Config, Emulator};
use packer_test_sshd::TestSshd;
use reqwest::Client;
use serde_json::{Value, json};

fn ssh_ok(key: &std::path::Path, sshd: &TestSshd) -> bool {
    let out = Command::new("ssh")
        .arg("-i")
        .arg(key)
        .args(["-p", &sshd.port().to_string()])
        .args([
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "BatchMode=yes",
        ])
        .args([
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "ConnectTimeout=10",
            "-o",
            "LogLevel=ERROR",
        ])
        .arg(format!("{}@{}", sshd.user(), sshd.host()))
        .arg("echo emulator-ok")
        .output()
        .expect("run ssh");
    String::from_utf8_lossy(&out.stdout).contains("emulator-ok")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instance_ssh_keys_reach_a_real_sshd() {
    packer_test_sshd::ensure_installed();
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("id_ed25519");
    let st = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "packer", "-f"])
        .arg(&key)
        .status()
        .unwrap();
    assert!(st.success());
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    let ak = dir.path().join("emulator_authorized_keys");

    let emu = Emulator::start(Config {
        projects: vec!["p".into()],
        authorized_keys: Some(ak.clone()),
        ..Config::default()
    })
    .await
    .unwrap();
    let sshd = TestSshd::builder()
        .extra_authorized_keys_file(&ak)
        .start()
        .expect("sshd");
    assert!(
        !ssh_ok(&key, &sshd),
        "key must not be accepted before the instance exists"
    );

    let client = Client::builder().no_proxy().build().unwrap();
    let assertion = emu
        .service_account()
        .assertion(&emu.token_uri(), "https://www.googleapis.com/auth/compute");
    let tok: Value = client
        .post(emu.token_uri())
        .form(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("assertion", assertion.as_str()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tok = tok["access_token"].as_str().unwrap().to_string();
    let base = emu.compute_endpoint();
    let body = json!({
        "name": "ssh-vm",
        "machineType": "zones/us-central1-a/machineTypes/e2-medium",
        "disks": [{"boot": true, "initializeParams": {"sourceImage": "projects/debian-cloud/global/images/family/debian-11"}}],
        "metadata": {"items": [{"key": "ssh-keys", "value": format!("packer:{} ", public.trim())}]},
        "networkInterfaces": [{"accessConfigs": [{"type": "ONE_TO_ONE_NAT"}]}]
    });
    let op: Value = client
        .post(format!("{base}projects/p/zones/us-central1-a/instances"))
        .bearer_auth(&tok)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(op["status"], "DONE", "{op}");
    let inst: Value = client
        .get(format!(
            "{base}projects/p/zones/us-central1-a/instances/ssh-vm"
        ))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        inst["networkInterfaces"][0]["accessConfigs"][0]["natIP"],
        sshd.host()
    );
    assert!(
        ssh_ok(&key, &sshd),
        "key from ssh-keys metadata must be accepted"
    );

    let r = client
        .delete(format!(
            "{base}projects/p/zones/us-central1-a/instances/ssh-vm"
        ))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        !ssh_ok(&key, &sshd),
        "key must be removed with the instance"
    );
    emu.shutdown().await;
}
