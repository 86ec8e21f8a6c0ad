//! The build runner: from a parsed template to artifacts.
//!
//! - [`plan`]: which builds run, with their configuration rendered.
//! - [`components`]: a build's provisioners and post-processors, prepared.
//! - [`hcl2`]: the same plan from an HCL2 template (via `packer-hcl2`).
//! - [`diagnostics`]: Packer's `Error: ...` / `Warning: ...` blocks.
//! - [`runner`]: one plugin instance per build, prepared, then run in
//!   parallel under a limit, cancelled together on Ctrl-C.
//! - [`summary`]: the closing lines Packer prints after the builds.

pub mod components;
pub mod diagnostics;
pub mod hcl2;
pub mod leftovers;
pub mod plan;
pub mod runner;
pub mod summary;

pub use plan::{BuildPlan, BuildSpec, PlanOptions};
pub use runner::{BuildOutcome, BuildReport, RunOptions};
