//! Compiles the bundled builder plugins to `wasm32-wasip2` and places them in
//! `OUT_DIR`, where `src/plugin/catalog.rs` embeds them with `include_bytes!`.
//!
//! The plugins are built by a nested `cargo build` into their own target
//! directory (`target/plugins`), so the outer build's lock is never contended.

#[path = "build_plugins.rs"]
mod build_plugins;

use std::path::PathBuf;

/// Bundled plugins: (crate name, builder type).
const BUNDLED: &[(&str, &str)] = &[
    ("packer-plugin-file", "file"),
    ("packer-plugin-null", "null"),
    ("packer-plugin-googlecompute", "googlecompute"),
];

fn main() {
    let manifest_dir = PathBuf::from(env("CARGO_MANIFEST_DIR"));
    let workspace = manifest_dir
        .parent()
        .expect("host/ sits inside the workspace")
        .to_path_buf();
    let out_dir = PathBuf::from(env("OUT_DIR"));

    for watched in ["plugins", "wit", "Cargo.lock"] {
        println!(
            "cargo:rerun-if-changed={}",
            workspace.join(watched).display()
        );
    }

    let packages: Vec<&str> = BUNDLED.iter().map(|(krate, _)| *krate).collect();
    let wasm_dir = build_plugins::build_plugins(&workspace, &packages);

    for (krate, name) in BUNDLED {
        let file = format!("{}.wasm", krate.replace('-', "_"));
        let from = wasm_dir.join(&file);
        let to = out_dir.join(format!("{name}.wasm"));
        std::fs::copy(&from, &to)
            .unwrap_or_else(|e| panic!("copying {} to {}: {e}", from.display(), to.display()));
    }
}

fn env(key: &str) -> String {
    std::env::var(key).unwrap_or_else(|_| panic!("cargo sets {key} for build scripts"))
}
