//! The user's environment variables, through the host.
//!
//! A plugin sees only the variables it declared with
//! [`crate::Capability::Environment`]; `std::env` is empty in the sandbox.

use crate::bindings::packer::plugin::environment as host;

/// The value of `name`, if it is set and was granted to this plugin.
pub fn var(name: &str) -> Option<String> {
    host::get(name)
}
