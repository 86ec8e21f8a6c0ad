//! `packer`: HashiCorp Packer's command line, with builders as sandboxed
//! WebAssembly components.
//!
//! The crate is laid out by what each part does:
//! - [`cli`]: the command line (`build`, `validate`, `inspect`, `version`).
//! - [`build`]: the build runner: one plugin instance per build, run in
//!   parallel, cancelled on Ctrl-C, summarised as Packer does.
//! - [`plugin`]: the WebAssembly runtime: engine, compiled-code cache, the
//!   catalog of bundled and installed plugins, limits and instances.
//! - [`capabilities`]: what the host offers plugins through the WIT imports,
//!   one module per capability (UI, cancellation, files, HTTP, communicator).
//! - [`communicator`]: the template's communicator options, connecting over
//!   SSH and the provisioning hook builders call.
//! - [`logging`]: `PACKER_LOG`, the debug log (secret-filtered).
//!
//! The template model lives in the `packer-template` and `packer-interpolate`
//! crates, terminal output in `packer-ui`; SSH in `packer-ssh`, HTTP policy in
//! `packer-http`, provisioners in `packer-provision`, post-processors in
//! `packer-postprocess`, all against the `packer-communicator` contract.

pub mod build;
pub mod capabilities;
pub mod cli;
pub mod communicator;
pub mod logging;
pub mod plugin;
pub mod version;
