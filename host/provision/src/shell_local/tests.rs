use super::*;
use crate::testutil::{env, env_in, ui};
use serde_json::json;

fn lines(text: &str) -> Vec<String> {
    text.lines().map(str::to_string).collect()
}

fn write_script(dir: &std::path::Path, name: &str, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, body).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[tokio::test]
async fn inline_runs_with_packer_vars_and_streams_output() {
    let (ui, buf) = ui();
    let p = ShellLocal::prepare(
        json!({"inline": [
            "echo {{user `greeting`}} $PACKER_BUILD_NAME $PACKER_BUILDER_TYPE",
            "echo {{ build `Host` }}",
            "echo to-stderr 1>&2",
            "printf 'no newline'"
        ]}),
        &env(),
    )
    .unwrap();
    let mut data = BTreeMap::new();
    data.insert("Host".to_string(), "10.0.0.1".to_string());
    p.run(&ui, &data, &CancellationToken::new()).await.unwrap();
    let out = lines(&buf.text());
    assert!(
        out[0].starts_with("==> b: Running local shell script: /tmp/packer-shell"),
        "{out:?}"
    );
    assert!(out.contains(&"    b: hello b null".to_string()), "{out:?}");
    assert!(out.contains(&"    b: 10.0.0.1".to_string()), "{out:?}");
    assert!(out.contains(&"==> b: to-stderr".to_string()), "{out:?}");
    assert!(out.contains(&"    b: no newline".to_string()), "{out:?}");
    assert_eq!(out.len(), 5);
    // The temporary script is gone afterwards.
    let tmp = out[0].trim_start_matches("==> b: Running local shell script: ");
    assert!(!std::path::Path::new(tmp).exists());
}

#[tokio::test]
async fn command_form() {
    let (ui, buf) = ui();
    let p = ShellLocal::prepare(json!({"command": "echo single"}), &env()).unwrap();
    p.run(&ui, &BTreeMap::new(), &CancellationToken::new())
        .await
        .unwrap();
    assert!(buf.text().ends_with("\n    b: single\n"), "{}", buf.text());
}

#[tokio::test]
async fn script_and_scripts_resolve_against_the_working_dir() {
    let dir = tempfile::tempdir().unwrap();
    write_script(
        dir.path(),
        "one.sh",
        "#!/bin/sh\necho one $PACKER_BUILD_NAME\n",
    );
    write_script(dir.path(), "two.sh", "#!/bin/sh\necho two\n");
    let (ui, buf) = ui();
    let cancel = CancellationToken::new();
    let p = ShellLocal::prepare(json!({"script": "one.sh"}), &env_in(dir.path())).unwrap();
    p.run(&ui, &BTreeMap::new(), &cancel).await.unwrap();
    let p = ShellLocal::prepare(
        json!({"scripts": ["one.sh", "two.sh"]}),
        &env_in(dir.path()),
    )
    .unwrap();
    p.run(&ui, &BTreeMap::new(), &cancel).await.unwrap();
    assert_eq!(
        buf.text(),
        "==> b: Running local shell script: one.sh\n    b: one b\n\
         ==> b: Running local shell script: one.sh\n    b: one b\n\
         ==> b: Running local shell script: two.sh\n    b: two\n"
    );
}

#[tokio::test]
async fn environment_values_arrive_intact() {
    let (ui, buf) = ui();
    let p = ShellLocal::prepare(
        json!({
            "environment_vars": ["A=it's a 'test'", "B=x\"y $HOME `id` \\n", "EMPTY="],
            "env": {"C": "c  d", "A": "env wins"},
            "inline": ["printf '[%s][%s][%s][%s]\\n' \"$A\" \"$B\" \"$C\" \"$EMPTY\""]
        }),
        &env(),
    )
    .unwrap();
    p.run(&ui, &BTreeMap::new(), &CancellationToken::new())
        .await
        .unwrap();
    assert!(
        buf.text()
            .contains("    b: [env wins][x\"y $HOME `id` \\n][c  d][]\n"),
        "{}",
        buf.text()
    );
    let p = ShellLocal::prepare(
        json!({"environment_vars": ["Q=it's"], "inline": ["echo \"$Q\""]}),
        &env(),
    )
    .unwrap();
    p.run(&ui, &BTreeMap::new(), &CancellationToken::new())
        .await
        .unwrap();
    assert!(buf.text().ends_with("    b: it's\n"), "{}", buf.text());
}

#[tokio::test]
async fn exit_codes() {
    let (ui, _buf) = ui();
    let cancel = CancellationToken::new();
    let p = ShellLocal::prepare(json!({"inline": ["exit 3"]}), &env()).unwrap();
    let err = p.run(&ui, &BTreeMap::new(), &cancel).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "Script exited with non-zero exit status: 3.Allowed exit codes are: [0]"
    );
    let p = ShellLocal::prepare(
        json!({"inline": ["exit 3"], "valid_exit_codes": [0, 3]}),
        &env(),
    )
    .unwrap();
    p.run(&ui, &BTreeMap::new(), &cancel).await.unwrap();
    let p = ShellLocal::prepare(
        json!({"inline": ["exit 1"], "valid_exit_codes": [0, 2]}),
        &env(),
    )
    .unwrap();
    let err = p.run(&ui, &BTreeMap::new(), &cancel).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "Script exited with non-zero exit status: 1.Allowed exit codes are: [0 2]"
    );
}

#[tokio::test]
async fn custom_execute_command_and_only_on() {
    let (ui, buf) = ui();
    let cancel = CancellationToken::new();
    let p = ShellLocal::prepare(
        json!({"inline": ["echo hi"], "execute_command": ["/bin/bash", "-c", "echo via bash; {{.Vars}} /bin/sh {{.Script}}"]}),
        &env(),
    )
    .unwrap();
    p.run(&ui, &BTreeMap::new(), &cancel).await.unwrap();
    assert!(
        buf.text().ends_with("    b: via bash\n    b: hi\n"),
        "{}",
        buf.text()
    );
    let p = ShellLocal::prepare(
        json!({"inline": ["echo no"], "only_on": ["windows"]}),
        &env(),
    )
    .unwrap();
    p.run(&ui, &BTreeMap::new(), &cancel).await.unwrap();
    assert!(
        buf.text()
            .ends_with("==> b: Skipping shell-local due to runtime OS\n")
    );
    let p = ShellLocal::prepare(
        json!({"inline": ["echo yes"], "only_on": ["linux", "darwin"]}),
        &env(),
    )
    .unwrap();
    p.run(&ui, &BTreeMap::new(), &cancel).await.unwrap();
    assert!(buf.text().ends_with("    b: yes\n"));
}

#[tokio::test]
async fn cancellation_kills_the_script() {
    let (ui, _buf) = ui();
    let cancel = CancellationToken::new();
    let p = ShellLocal::prepare(json!({"inline": ["sleep 30"]}), &env()).unwrap();
    let c = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        c.cancel();
    });
    let started = std::time::Instant::now();
    let err = p.run(&ui, &BTreeMap::new(), &cancel).await.unwrap_err();
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    let text = err.to_string();
    assert!(
        text.starts_with("Error executing script: /tmp/packer-shell"),
        "{text}"
    );
    assert!(text.ends_with("\n\nPlease see output above for more information."));
}

#[test]
fn configuration_errors() {
    let e = |v| ShellLocal::prepare(v, &env()).unwrap_err();
    assert_eq!(
        e(json!({"command": "a", "inline": ["b"]})),
        vec![ERR_MORE_THAN_ONE]
    );
    assert_eq!(e(json!({})), vec![ERR_NONE]);
    assert_eq!(e(json!({"inline": []})), vec![ERR_NONE]);
    assert_eq!(
        e(json!({"script": "/proc/no-such-dir/x.sh"})),
        vec![
            "Bad script '/proc/no-such-dir/x.sh': stat /proc/no-such-dir/x.sh: no such file or directory"
        ]
    );
    assert_eq!(
        e(json!({"inline": ["x"], "environment_vars": ["NOEQ"]})),
        vec!["Environment variable not in format 'key=value': NOEQ"]
    );
    assert_eq!(
        e(json!({"inline": ["x"], "bogus": true})),
        vec!["unknown configuration key: '\"bogus\"'"]
    );
    assert_eq!(
        e(json!({"inline": ["{{nosuchfunc}}"]})),
        vec![
            "invalid 'inline[0]': template: root:1: function \"nosuchfunc\" not defined in:\n\n{{nosuchfunc}}"
        ]
    );
}
