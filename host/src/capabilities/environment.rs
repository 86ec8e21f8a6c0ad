//! The `environment` capability: environment variables a plugin declared
//! (`capability.environment`), read from the host's environment on request.
//!
//! Policy: only the declared names are visible; everything else reads as
//! unset. A value that names a file is also added to the build's file grant
//! (see `plugin::instance`), so `GOOGLE_APPLICATION_CREDENTIALS` works.

use crate::plugin::bindings::packer::plugin::environment;
use crate::plugin::state::HostState;

impl environment::Host for HostState {
    async fn get(&mut self, name: String) -> Option<String> {
        if !self.env_grant.contains(&name) {
            return None;
        }
        std::env::var(&name).ok()
    }
}
