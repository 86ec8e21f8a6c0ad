use super::*;
use crate::testutil::{env, ui};
use crate::{CommonOptions, prepare};
use serde_json::json;
use std::collections::BTreeMap;

#[test]
fn parses_common_options() {
    let ctx = env().ctx;
    let o = CommonOptions::parse(
        Some("1m30s"),
        Some("10s"),
        Some("{{user `greeting` | len}}"),
        &ctx,
    );
    assert!(o.is_err());
    let o = CommonOptions::parse(Some("1m30s"), Some("10s"), Some("3"), &ctx).unwrap();
    assert_eq!(o.pause_before, Some(Duration::from_secs(90)));
    assert_eq!(o.timeout, Some(Duration::from_secs(10)));
    assert_eq!(o.max_retries, 3);
    let e = CommonOptions::parse(None, Some("soon"), Some("x"), &ctx).unwrap_err();
    assert_eq!(
        e,
        vec![
            "error decoding 'timeout': time: invalid duration \"soon\"",
            "`max_retries` must be a valid integer: strconv.Atoi: parsing \"x\": invalid syntax"
        ]
    );
    assert_eq!(go_quote("a \"b\"\n"), "\"a \\\"b\\\"\\n\"");
}

#[tokio::test]
async fn pause_before_announces_and_waits() {
    let (ui, buf) = ui();
    let common = CommonOptions {
        pause_before: Some(Duration::from_millis(300)),
        // Ignored because pause_before is set (Packer's quirk).
        timeout: Some(Duration::from_millis(10)),
        ..Default::default()
    };
    let p = prepare(
        "shell-local",
        json!({"inline": ["sleep 0.2", "echo done"]}),
        common,
        &env(),
    )
    .unwrap();
    let started = std::time::Instant::now();
    p.provision(&ui, None, &BTreeMap::new(), &CancellationToken::new())
        .await
        .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(450));
    let text = buf.text();
    assert!(text.starts_with("==> b: Pausing 300ms before the next provisioner...\n==> b: Running local shell script: "), "{text}");
    assert!(text.ends_with("    b: done\n"), "{text}");
}

#[tokio::test]
async fn pause_before_is_cancellable() {
    let (ui, _buf) = ui();
    let common = CommonOptions {
        pause_before: Some(Duration::from_secs(60)),
        ..Default::default()
    };
    let p = prepare("shell-local", json!({"inline": ["true"]}), common, &env()).unwrap();
    let cancel = CancellationToken::new();
    let c = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        c.cancel();
    });
    let err = p
        .provision(&ui, None, &BTreeMap::new(), &cancel)
        .await
        .unwrap_err();
    assert_eq!(err, ProvisionError::Cancelled);
}

#[tokio::test]
async fn timeout_cancels_the_provisioner() {
    let (ui, buf) = ui();
    let common = CommonOptions {
        timeout: Some(Duration::from_secs(1)),
        ..Default::default()
    };
    let p = prepare(
        "shell-local",
        json!({"inline": ["sleep 30"]}),
        common,
        &env(),
    )
    .unwrap();
    let started = std::time::Instant::now();
    let err = p
        .provision(&ui, None, &BTreeMap::new(), &CancellationToken::new())
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(10));
    let text = buf.text();
    assert!(
        text.starts_with("==> b: Setting a 1s timeout for the next provisioner...\n"),
        "{text}"
    );
    assert!(
        text.ends_with("==> b: Cancelling provisioner after a timeout...\n"),
        "{text}"
    );
    // shell-local reports the killed script as Packer 1.6.6 does.
    assert!(
        err.to_string()
            .starts_with("Error executing script: /tmp/packer-shell"),
        "{err}"
    );

    // A provisioner that just honours cancellation reports Go's deadline error.
    let (ui, buf) = crate::testutil::ui();
    let opts = CommonOptions {
        timeout: Some(Duration::from_millis(100)),
        ..Default::default()
    };
    let err = run_wrapped(
        &opts,
        &ui,
        &CancellationToken::new(),
        async |t: CancellationToken| {
            t.cancelled().await;
            Err(ProvisionError::Cancelled)
        },
    )
    .await
    .unwrap_err();
    assert_eq!(err.to_string(), "context deadline exceeded");
    assert_eq!(
        buf.text(),
        "==> b: Setting a 100ms timeout for the next provisioner...\n==> b: Cancelling provisioner after a timeout...\n"
    );
}

#[tokio::test]
async fn retries_until_success() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("marker");
    let (ui, buf) = ui();
    let common = CommonOptions {
        max_retries: 3,
        ..Default::default()
    };
    let script = format!(
        "if [ -e {m} ]; then echo second; else touch {m}; exit 1; fi",
        m = marker.display()
    );
    let p = prepare("shell-local", json!({"inline": [script]}), common, &env()).unwrap();
    p.provision(&ui, None, &BTreeMap::new(), &CancellationToken::new())
        .await
        .unwrap();
    let text = buf.text();
    assert!(
        text.contains(
            "==> b: Provisioner failed with \"Script exited with non-zero exit status: 1.Allowed exit codes are: [0]\", retrying with 3 trie(s) left\n"
        ),
        "{text}"
    );
    assert!(text.ends_with("    b: second\n"), "{text}");
    assert!(!text.contains("retry limit reached."));
}

#[tokio::test]
async fn retry_limit_reached_returns_the_first_error() {
    let (ui, buf) = ui();
    let common = CommonOptions {
        max_retries: 2,
        ..Default::default()
    };
    let p = prepare("shell-local", json!({"inline": ["exit 4"]}), common, &env()).unwrap();
    let err = p
        .provision(&ui, None, &BTreeMap::new(), &CancellationToken::new())
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Script exited with non-zero exit status: 4.Allowed exit codes are: [0]"
    );
    let text = buf.text();
    let said: Vec<&str> = text
        .lines()
        .filter(|l| !l.contains("Running local"))
        .collect::<Vec<_>>();
    assert_eq!(
        said,
        vec![
            "==> b: Provisioner failed with \"Script exited with non-zero exit status: 4.Allowed exit codes are: [0]\", retrying with 2 trie(s) left",
            "==> b: Provisioner failed with \"Script exited with non-zero exit status: 4.Allowed exit codes are: [0]\", retrying with 1 trie(s) left",
            "==> b: retry limit reached.",
        ]
    );
}

#[tokio::test]
async fn retry_delay_backs_off() {
    let (ui, _buf) = ui();
    let opts = CommonOptions {
        max_retries: 2,
        retry_delay: Duration::from_millis(100),
        ..Default::default()
    };
    let started = std::time::Instant::now();
    let _ = run_wrapped(
        &opts,
        &ui,
        &CancellationToken::new(),
        async |_t: CancellationToken| Err(ProvisionError::msg("boom")),
    )
    .await;
    // 100ms then 200ms.
    assert!(started.elapsed() >= Duration::from_millis(300));
}
