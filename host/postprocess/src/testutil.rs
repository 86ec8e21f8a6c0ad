//! Shared test helpers.

use std::path::Path;

use packer_ui::{BuildUi, Output, SecretFilter, SharedBuffer, UiConfig};

use crate::PostProcessEnv;

/// An environment for build `f` of builder type `file` in `dir`.
pub(crate) fn env(dir: &Path) -> PostProcessEnv {
    let mut ctx = packer_interpolate::Context::new("1.6.6");
    ctx.build_name = Some("f".into());
    ctx.build_type = Some("file".into());
    PostProcessEnv {
        build_name: "f".into(),
        builder_type: "file".into(),
        packer_run_uuid: "6ee4d43b-3d5c-4a5b-9d8f-0a4e3c1b2a10".into(),
        working_dir: dir.to_path_buf(),
        ctx,
    }
}

/// A plain (uncoloured) UI for build `f` and the buffer it writes to.
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
    (out.build_ui("f", 0), buf)
}
