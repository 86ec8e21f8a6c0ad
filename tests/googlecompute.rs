//! The seed's googlecompute build end to end: the real binary and the real
//! `googlecompute` plugin against the project's GCE emulator (in-process, on
//! loopback) and a real OpenSSH sshd standing in for the instance. After every
//! build the emulator must hold no instances and no disks.

use packer_e2e::gce::Cloud;
use std::time::{Duration, Instant};

#[test]
fn the_seeds_google_build_runs_against_the_emulator() {
    let cloud = Cloud::start(|_| {});
    let marker = cloud.scratch.path().join("provisioned");
    let run = cloud.build(
        &cloud.template(
            serde_json::json!({"image_name": "packer-e2e-image"}),
            serde_json::json!([{"type": "shell", "inline": [format!("echo hello from the instance > {}", marker.display())]}]),
        ),
        &[],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let expected = [
        "==> googlecompute: Checking image does not exist...",
        "==> googlecompute: Creating temporary SSH key for instance...",
        "==> googlecompute: Using image: debian-7-wheezy-v20150127",
        "==> googlecompute: Creating instance...",
        "    googlecompute: Loading zone: us-central1-a",
        "    googlecompute: Loading machine type: n1-standard-1",
        "    googlecompute: Requesting instance creation...",
        "    googlecompute: Waiting for creation operation to complete...",
        "    googlecompute: Instance has been created!",
        "==> googlecompute: Waiting for the instance to become running...",
        "    googlecompute: IP: 127.0.0.1",
        "==> googlecompute: Using ssh communicator to connect: 127.0.0.1",
        "==> googlecompute: Waiting for SSH to become available...",
        "==> googlecompute: Connected to SSH!",
        "==> googlecompute: Provisioning with shell script: ",
        "==> googlecompute: Deleting instance...",
        "    googlecompute: Instance has been deleted!",
        "==> googlecompute: Creating image...",
        "==> googlecompute: Deleting disk...",
        "    googlecompute: Disk has been deleted!",
        "Build 'googlecompute' finished after ",
        "--> googlecompute: A disk image was created: packer-e2e-image",
    ];
    // The seed's lines, in the seed's order.
    let mut at = 0;
    for line in expected {
        match run.stdout[at..].find(line) {
            Some(i) => at += i + line.len(),
            None => panic!("missing or out of order: {line:?}\n{}", run.stdout),
        }
    }
    assert_eq!(
        std::fs::read_to_string(&marker).unwrap(),
        "hello from the instance\n"
    );
    let images = cloud.state()["images"].to_string();
    assert!(images.contains("packer-e2e-image"), "{images}");
    cloud.assert_nothing_leaked("after a good build");
    assert!(
        !run.stdout.contains("ya29."),
        "no access token in the output"
    );
    assert!(!run.stdout.contains("PRIVATE KEY"));
}

#[test]
fn an_existing_image_fails_without_force_and_is_replaced_with_it() {
    let cloud = Cloud::start(|_| {});
    let template = cloud.template(
        serde_json::json!({"image_name": "twice"}),
        serde_json::json!([]),
    );
    let first = cloud.build(&template, &[]);
    assert_eq!(first.code, 0, "{}", first.stdout);
    let second = cloud.build(&template, &[]);
    assert_eq!(second.code, 1, "{}", second.stdout);
    assert!(
        second
            .stdout
            .contains("Image twice already exists in project my-project."),
        "{}",
        second.stdout
    );
    cloud.assert_nothing_leaked("image exists");
    let forced = cloud.build(&template, &["-force"]);
    assert_eq!(forced.code, 0, "{}", forced.stdout);
    assert!(
        forced.stdout.contains("Deleting previous image..."),
        "{}",
        forced.stdout
    );
    cloud.assert_nothing_leaked("forced");
}

#[test]
fn a_quota_error_fails_clearly_and_leaves_nothing() {
    let cloud = Cloud::start(|c| {
        c.fail_methods = vec!["compute.instances.insert:op:QUOTA_EXCEEDED".into()];
    });
    let run = cloud.build(
        &cloud.template(serde_json::json!({}), serde_json::json!([])),
        &[],
    );
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(run.stdout.contains("QUOTA_EXCEEDED"), "{}", run.stdout);
    cloud.assert_nothing_leaked("quota");
}

#[test]
fn ssh_that_never_comes_up_times_out_and_cleans_up() {
    let cloud = Cloud::start(|_| {});
    let port = packer_e2e::closed_port();
    let started = Instant::now();
    let run = cloud.build(
        &cloud.template(
            serde_json::json!({"ssh_port": port, "ssh_timeout": "3s"}),
            serde_json::json!([]),
        ),
        &[],
    );
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout.contains("Timeout waiting for SSH."),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("Deleting instance..."),
        "{}",
        run.stdout
    );
    assert!(started.elapsed() < Duration::from_secs(60));
    cloud.assert_nothing_leaked("ssh timeout");
    assert_eq!(cloud.count("images"), 0);
}

#[test]
fn storms_of_429_and_5xx_are_retried_to_success() {
    for seed in [1, 2, 3] {
        let cloud = Cloud::start(|c| {
            c.faults = "429:0.2,503:0.15,500:0.05".into();
            c.seed = seed;
        });
        let run = cloud.build(
            &cloud.template(serde_json::json!({}), serde_json::json!([])),
            &[],
        );
        assert_eq!(run.code, 0, "seed {seed}: {}", run.stdout);
        cloud.assert_nothing_leaked(&format!("storm seed {seed}"));
    }
}

#[test]
fn a_failed_cleanup_names_what_is_left_and_how_to_delete_it() {
    let cloud = Cloud::start(|c| {
        c.fail_methods = vec!["compute.instances.delete:op:PERMISSION_DENIED".into()];
    });
    let port = packer_e2e::closed_port();
    let run = cloud.build(
        &cloud.template(
            serde_json::json!({"ssh_port": port, "ssh_timeout": "2s", "instance_name": "stuck-vm"}),
            serde_json::json!([]),
        ),
        &[],
    );
    assert_eq!(run.code, 1, "{}", run.stdout);
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(
        all.contains(
            "gcloud compute instances delete stuck-vm --zone us-central1-a --project my-project"
        ),
        "{all}"
    );
    // The instance really is still there: the message is not a false alarm.
    assert_eq!(cloud.count("instances"), 1, "{}", cloud.state());
}

#[test]
fn application_default_credentials_come_from_the_environment() {
    let cloud = Cloud::start(|_| {});
    cloud.scratch.write(
        "google.json",
        &cloud.template(
            serde_json::json!({"account_file": null, "image_name": "adc"}),
            serde_json::json!([]),
        ),
    );
    let home = cloud.scratch.path().join("empty-home");
    std::fs::create_dir_all(&home).unwrap();

    let mut with_env = cloud.scratch.command(&["build", "google.json"]);
    with_env
        .env(
            "GOOGLE_APPLICATION_CREDENTIALS",
            cloud.scratch.path().join("account.json"),
        )
        .env("HOME", &home);
    let run = cloud.scratch.run(with_env);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(cloud.state()["images"].to_string().contains("adc"));

    let mut without = cloud.scratch.command(&["build", "google.json"]);
    without
        .env_remove("GOOGLE_APPLICATION_CREDENTIALS")
        .env("HOME", &home);
    let run = cloud.scratch.run(without);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout.contains("no Google Cloud credentials"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("gcloud auth application-default login"),
        "{}",
        run.stdout
    );
    cloud.assert_nothing_leaked("adc");
}
