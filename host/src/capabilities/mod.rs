//! What the host offers plugins, one module per WIT interface.
//!
//! Each module implements the generated `Host` trait of its interface on
//! [`crate::plugin::state::HostState`], and owns the policy of that capability.

pub mod cancellation;
pub mod communicator;
pub mod environment;
pub mod files;
pub mod http;
pub mod journal;
pub mod types;
pub mod ui;
