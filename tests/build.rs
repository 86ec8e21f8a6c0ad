//! Compiles the misbehaving test plugins in `tests/plugins/` to
//! `wasm32-wasip2` and tells the tests where they are
//! (`PACKER_TEST_PLUGIN_DIR`).

#[path = "../host/build_plugins.rs"]
mod build_plugins;

use std::path::PathBuf;

/// Test plugins: crate names; each provides the builder type after the prefix.
const TEST_PLUGINS: &[&str] = &[
    "packer-test-plugin-trap",
    "packer-test-plugin-spin",
    "packer-test-plugin-oom",
    "packer-test-plugin-garbage",
    "packer-test-plugin-escape",
    "packer-test-plugin-http-probe",
    "packer-test-plugin-hostile",
];

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let workspace = manifest_dir
        .parent()
        .expect("tests/ is in the workspace")
        .to_path_buf();
    for watched in ["plugins", "tests/plugins", "wit"] {
        println!(
            "cargo:rerun-if-changed={}",
            workspace.join(watched).display()
        );
    }
    let dir = build_plugins::build_plugins(&workspace, TEST_PLUGINS);
    println!("cargo:rustc-env=PACKER_TEST_PLUGIN_DIR={}", dir.display());
    println!(
        "cargo:rustc-env=PACKER_TARGET_DIR={}",
        workspace.join("target").display()
    );
}
