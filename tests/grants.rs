//! Capability grants under the user's control: a build's `capabilities` key
//! narrows or extends what its plugin declared (JSON and HCL2 templates), a
//! denial names the plugin, the capability and the target, and
//! `packer plugins installed|describe|grants` show what is declared and granted.

use packer_e2e::{HttpServer as Server, Run, Scratch};

fn scratch() -> Scratch {
    let scratch = Scratch::new();
    scratch.install_plugin("hostile");
    scratch.install_plugin("http-probe");
    scratch
}

fn build(scratch: &Scratch, template: serde_json::Value) -> Run {
    scratch.write("t.json", &template.to_string());
    let mut command = scratch.command(&["build", "-color=false", "t.json"]);
    command.env("PACKER_HOSTILE_DECLARED", "declared-value");
    scratch.run(command)
}

#[test]
fn a_narrowed_environment_grant_hides_the_declared_variable_and_says_so() {
    let scratch = scratch();
    let run = build(
        &scratch,
        serde_json::json!({"builders": [{"type": "hostile", "name": "bad", "attack": "env",
            "capabilities": {"environment": []}}]}),
    );
    let text = run.normalized();
    assert_eq!(run.code, 0, "{text}");
    assert!(text.contains("env: declared: unset"), "{text}");
    assert!(
        text.contains("    bad: plugin 'hostile' may not read environment variable PACKER_HOSTILE_DECLARED (capability environment): not granted; it reads as unset"),
        "{text}"
    );
    assert!(!text.contains("declared-value"), "{text}");
}

#[test]
fn revoking_config_files_denies_the_file_builder_with_a_named_message() {
    let scratch = scratch();
    let run = build(
        &scratch,
        serde_json::json!({"builders": [{"type": "file", "content": "x", "target": "out.txt",
            "capabilities": {"config_files": false}}]}),
    );
    let text = run.normalized();
    assert_eq!(run.code, 1, "{text}");
    assert!(
        text.contains("    file: plugin 'file' may not write out.txt (capability config_files): not granted to this build"),
        "{text}"
    );
    assert!(scratch.read("out.txt").is_none());
}

fn probe(
    scratch: &Scratch,
    server: &Server,
    capabilities: Option<serde_json::Value>,
    hcl2: bool,
) -> Run {
    let target = format!("127.0.0.1:{}", server.port);
    if hcl2 {
        let block = match &capabilities {
            Some(c) => format!("  capabilities {{\n    http = {}\n  }}\n", c["http"]),
            None => String::new(),
        };
        scratch.write(
            "t.pkr.hcl",
            &format!(
                "source \"http-probe\" \"p\" {{\n  probes = [{{ target = \"{target}\", path = \"/ok\" }}]\n{block}}}\nbuild {{ sources = [\"source.http-probe.p\"] }}\n"
            ),
        );
        return scratch.packer(&["build", "-color=false", "t.pkr.hcl"]);
    }
    let mut builder = serde_json::json!({"type": "http-probe", "name": "p",
        "probes": [{"target": target, "path": "/ok"}]});
    if let Some(c) = capabilities {
        builder["capabilities"] = c;
    }
    build(scratch, serde_json::json!({ "builders": [builder] }))
}

#[test]
fn an_extended_http_grant_allows_an_undeclared_host_with_a_warning() {
    let server = Server::start();
    let scratch = scratch();
    // Not granted: the probe names its target without a scheme.
    let run = probe(&scratch, &server, None, false);
    let text = run.normalized();
    assert!(
        text.contains(&format!(
            "probe 0: error Denied(\"plugin \\\"http-probe\\\" may not reach host \\\"127.0.0.1:{}\\\" (capability http): not granted\")",
            server.port
        )),
        "{text}"
    );
    // Granted by the template.
    let grant = format!("http://127.0.0.1:{}", server.port);
    let run = probe(
        &scratch,
        &server,
        Some(serde_json::json!({"http": [grant]})),
        false,
    );
    let text = run.normalized();
    assert_eq!(run.code, 0, "{text}");
    assert!(
        text.contains("probe 0: status 200 body \"pong auth\""),
        "{text}"
    );
    assert!(
        text.replace('\n', " ").contains(&format!(
            "capabilities.http: \"{grant}\" was not declared by plugin 'http-probe'; granted by the template"
        )),
        "{text}"
    );
    // The same from an HCL2 `capabilities` block.
    let run = probe(
        &scratch,
        &server,
        Some(serde_json::json!({"http": [grant]})),
        true,
    );
    let text = run.normalized();
    assert_eq!(run.code, 0, "{text}");
    assert!(
        text.contains("probe 0: status 200 body \"pong auth\""),
        "{text}"
    );
}

#[test]
fn revoked_http_denies_even_urls_in_the_configuration() {
    let server = Server::start();
    let scratch = scratch();
    let url = format!("http://127.0.0.1:{}/ok", server.port);
    let run = build(
        &scratch,
        serde_json::json!({"builders": [{"type": "hostile", "name": "bad",
            "attack": "http-granted-name", "granted": url, "capabilities": {"http": false}}]}),
    );
    let text = run.normalized();
    assert_eq!(run.code, 0, "{text}");
    assert!(
        text.contains(&format!(
            "plugin \\\"hostile\\\" may not reach host \\\"127.0.0.1:{}\\\" (capability http): not declared, or revoked by the template; nothing was sent",
            server.port
        )),
        "{text}"
    );
    assert_eq!(server.accepted(), 0);
}

#[test]
fn unknown_capability_names_fail_prepare_naming_them() {
    let scratch = scratch();
    let run = build(
        &scratch,
        serde_json::json!({"builders": [{"type": "file", "content": "x", "target": "out.txt",
            "capabilities": {"sockets": true, "communicator": "yes"}}]}),
    );
    let text = run.normalized();
    assert_eq!(run.code, 1, "{text}");
    assert!(text.contains("Failed to prepare build: \"file\""), "{text}");
    let joined = text.replace('\n', " ");
    assert!(joined.contains("unknown capability \"sockets\""), "{text}");
    assert!(
        joined.contains("capabilities.communicator: must be true or false"),
        "{text}"
    );
}

#[test]
fn plugins_installed_lists_bundled_then_installed_paths() {
    let scratch = scratch();
    let run = scratch.packer(&["plugins", "installed"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let plugins = scratch.path().join("plugins");
    let expected = format!(
        "bundled:file\nbundled:null\nbundled:googlecompute\n{}\n{}\n",
        plugins.join("hostile.wasm").display(),
        plugins.join("http-probe.wasm").display()
    );
    assert_eq!(run.stdout, expected);
}

#[test]
fn plugins_describe_shows_version_and_declared_capabilities() {
    let scratch = scratch();
    let run = scratch.packer(&["plugins", "describe", "googlecompute"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        "googlecompute 0.1.0 (bundled)\n  declared capabilities:\n    config_files\n    http: compute.googleapis.com, oauth2.googleapis.com, iamcredentials.googleapis.com\n    communicator\n    environment: GOOGLE_APPLICATION_CREDENTIALS\n    home_files: .config/gcloud/application_default_credentials.json\n"
    );
    let run = scratch.packer(&["plugins", "describe", "nosuch"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("Unknown builder nosuch")
            || run.stdout.contains("Unknown builder nosuch")
    );
}

#[test]
fn plugins_grants_shows_declared_and_granted_per_build() {
    let scratch = scratch();
    scratch.write(
        "t.json",
        &serde_json::json!({"builders": [
            {"type": "hostile", "name": "bad", "capabilities": {"environment": ["OTHER"], "config_files": false}},
            {"type": "file", "name": "f", "content": "x", "target": "o.txt"},
        ]})
        .to_string(),
    );
    let run = scratch.packer(&["plugins", "grants", "t.json"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let path = scratch.path().join("plugins").join("hostile.wasm");
    let expected = format!(
        "bad (hostile 0.0.1, {})\n  declared:\n    config_files\n    http: (none)\n    environment: PACKER_HOSTILE_DECLARED\n  granted:\n    http: (none)\n    environment: OTHER\n  warning: capabilities.environment: \"OTHER\" was not declared by plugin 'hostile'; granted by the template\n\nf (file 0.1.0, bundled)\n  declared:\n    config_files\n  granted:\n    config_files\n",
        path.display()
    );
    assert_eq!(run.stdout, expected);
}
