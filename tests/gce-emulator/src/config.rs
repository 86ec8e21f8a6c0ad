//! Emulator configuration (shared by the CLI and the library API).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::auth::ServiceAccountKey;

/// The default discovery document: Google's published Compute v1 document
/// (revision 20230620), embedded gzip-compressed from
/// `data/compute-v1-discovery.json.gz`. Any other value is a file path.
pub const DEFAULT_DISCOVERY_PATH: &str = "builtin";

/// How to start an emulator.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on (`127.0.0.1:0` picks a free port).
    pub listen: SocketAddr,
    /// Projects that exist (and accept mutations). Defaults to `["my-project"]` when empty.
    pub projects: Vec<String>,
    /// How long every operation stays `RUNNING` (and instances `STAGING`).
    pub op_latency: Duration,
    /// Probabilistic fault spec (see [`crate::faults`]).
    pub faults: String,
    /// Deterministic per-method faults (`compute.instances.insert:op:QUOTA_EXCEEDED#1`).
    pub fail_methods: Vec<String>,
    /// Seed for fault decisions and resource ids.
    pub seed: u64,
    /// `authorized_keys` file to mirror instances' `ssh-keys` metadata into.
    pub authorized_keys: Option<PathBuf>,
    /// Reported as `natIP` and `networkIP` of every instance.
    pub instance_ip: String,
    /// Discovery document for validation; `None` disables validation.
    pub discovery: Option<PathBuf>,
    /// Lifetime of issued access tokens.
    pub token_ttl: Duration,
    /// The trusted service account; generated when `None`.
    pub service_account: Option<Arc<ServiceAccountKey>>,
    /// Where to write the service-account JSON (with `token_uri` pointing here).
    pub service_account_out: Option<PathBuf>,
    /// How long `operations.wait` blocks at most (GCE: about 2 minutes).
    pub wait_timeout: Duration,
    /// Accept the malformed `sourceDisk` URLs Debian's packer 1.6.6 sends
    /// (`.../compute/v1/<project>/zones/...`, without `projects/`). Real GCE rejects them.
    pub lenient_urls: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            projects: Vec::new(),
            op_latency: Duration::ZERO,
            faults: String::new(),
            fail_methods: Vec::new(),
            seed: 0,
            authorized_keys: None,
            instance_ip: "127.0.0.1".into(),
            discovery: Some(PathBuf::from(DEFAULT_DISCOVERY_PATH)),
            token_ttl: Duration::from_secs(3600),
            service_account: None,
            service_account_out: None,
            wait_timeout: Duration::from_secs(120),
            lenient_urls: false,
        }
    }
}
