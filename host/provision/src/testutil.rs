//! Helpers shared by the tests: a captured plain-text UI and environments.

use std::path::Path;

use packer_ui::{BuildUi, Output, SecretFilter, SharedBuffer, UiConfig};

use crate::ProvisionEnv;

/// A UI for build `b` writing plain text into the returned buffer.
pub(crate) fn ui() -> (BuildUi, SharedBuffer) {
    let buf = SharedBuffer::new();
    let config = UiConfig {
        color: false,
        timestamp: false,
        machine_readable: false,
    };
    let out = Output::new(
        config,
        SecretFilter::new(Vec::<String>::new()),
        Box::new(buf.clone()),
    );
    (out.build_ui("b", 0), buf)
}

/// Build `b` of type `null`, relative paths in the current directory.
pub(crate) fn env() -> ProvisionEnv {
    env_in(&std::env::current_dir().unwrap())
}

/// Build `b` of type `null`, relative paths in `dir`.
pub(crate) fn env_in(dir: &Path) -> ProvisionEnv {
    let mut ctx = packer_interpolate::Context::new("1.6.6");
    ctx.user_vars.insert("greeting".into(), "hello".into());
    ProvisionEnv::new("b", "null", dir.to_path_buf(), ctx)
}

#[test]
fn provisioning_futures_are_send() {
    fn check<F: std::future::Future + Send>(_: &F) {}
    let p = crate::prepare(
        "shell-local",
        serde_json::json!({"inline": ["true"]}),
        Default::default(),
        &env(),
    )
    .unwrap();
    let (ui, _) = ui();
    let data = std::collections::BTreeMap::new();
    let cancel = crate::CancellationToken::new();
    let comm = packer_communicator::LocalCommunicator::default();
    let f = crate::run_provisioners(std::slice::from_ref(&p), &ui, Some(&comm), &data, &cancel);
    check(&f);
}
