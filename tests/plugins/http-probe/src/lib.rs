//! A builder that probes the host's HTTP capability: it sends the requests
//! its configuration describes and reports each outcome with `ui.message`.
//!
//! Only `granted` is a URL in the configuration (so only it is granted);
//! probes name their target as `host:port` without a scheme, which grants
//! nothing, so the test controls exactly what the plugin may reach.

use packer_plugin_sdk::http::Request;
use packer_plugin_sdk::{
    Artifact, BuildContext, BuildError, Builder, Capability, Diagnostics, export_builder, ui,
};
use std::time::Duration;

/// One request to make.
#[derive(Debug, Default, serde::Deserialize, schemars::JsonSchema)]
pub struct Probe {
    /// `http` or `https`.
    #[serde(default)]
    pub scheme: String,
    /// `host:port`.
    pub target: String,
    /// Path, starting with `/`.
    #[serde(default)]
    pub path: String,
    /// Deadline in milliseconds.
    #[serde(default)]
    pub timeout_ms: Option<u64>,
}

/// The configuration.
#[derive(Debug, Default, serde::Deserialize, schemars::JsonSchema)]
pub struct Config {
    /// A URL the user grants (appears in the configuration).
    #[serde(default)]
    pub granted: String,
    /// Requests to make, in order.
    #[serde(default)]
    pub probes: Vec<Probe>,
}

#[derive(Default)]
pub struct HttpProbe {
    config: Config,
}

impl Builder for HttpProbe {
    type Config = Config;
    const NAME: &'static str = "http-probe";
    const VERSION: &'static str = "0.0.1";

    fn capabilities() -> Vec<Capability> {
        vec![Capability::Http(Vec::new())]
    }

    fn prepare(&mut self, _context: &BuildContext, config: Config) -> Diagnostics {
        self.config = config;
        Diagnostics::default()
    }

    fn run(&mut self) -> Result<Artifact, BuildError> {
        for (i, probe) in self.config.probes.iter().enumerate() {
            let scheme = if probe.scheme.is_empty() {
                "http"
            } else {
                &probe.scheme
            };
            let url = format!("{scheme}://{}{}", probe.target, probe.path);
            let mut request = Request::post(&url)
                .header("Authorization", "Bearer probe-secret-token")
                .body("ping");
            if let Some(ms) = probe.timeout_ms {
                request = request.timeout(Duration::from_millis(ms));
            }
            match request.send() {
                Ok(response) => ui::message(&format!(
                    "probe {i}: status {} body {:?}",
                    response.status,
                    response.text()
                )),
                Err(e) => ui::message(&format!("probe {i}: error {e:?}")),
            }
        }
        Ok(Artifact::new("test.http-probe", "probe", "probed"))
    }
}

export_builder!(HttpProbe);
