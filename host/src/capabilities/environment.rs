//! The `environment` capability: environment variables a plugin declared
//! (`capability.environment`), read from the host's environment on request.
//!
//! Policy: only the declared names are visible; everything else reads as
//! unset. A value that names a file is also added to the build's file grant
//! (see `plugin::instance`), so `GOOGLE_APPLICATION_CREDENTIALS` works.
//! A denied name is reported on the build's output (see `files::MAX_DENIAL_NOTES`).

use crate::plugin::bindings::packer::plugin::environment;
use crate::plugin::state::HostState;

impl environment::Host for HostState {
    async fn get(&mut self, name: String) -> Option<String> {
        if !self.env_grant.contains(&name) {
            let shown: String = name.chars().take(256).collect();
            let message = format!(
                "plugin '{}' may not read environment variable {shown} (capability environment): not granted; it reads as unset",
                self.plugin_name
            );
            self.note_denial(&message);
            return None;
        }
        std::env::var(&name).ok()
    }
}
