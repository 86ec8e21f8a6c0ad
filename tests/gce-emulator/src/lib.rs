//! A local emulator of Google Compute Engine's v1 API (the subset Packer's `googlecompute`
//! builder uses) plus Google's OAuth2 JWT-bearer token endpoint.
//!
//! Run it in-process with [`Emulator::start`], or as the `gce-emulator` binary. Resources,
//! operations and errors mirror the real service's JSON shapes; request bodies and query
//! parameters are validated against Google's discovery document loaded at runtime.
//!
//! ```no_run
//! # async fn demo() -> Result<(), String> {
//! use packer_gce_emulator::{Config, Emulator};
//! let emu = Emulator::start(Config { projects: vec!["my-project".into()], ..Config::default() }).await?;
//! println!("{}", emu.base_url());
//! emu.shutdown().await;
//! # Ok(()) }
//! ```

pub mod auth;
pub mod compute;
pub mod config;
pub mod discovery;
pub mod error;
pub mod faults;
pub mod server;
pub mod ssh_keys;
pub mod state;

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use serde_json::Value;
use tokio::sync::{Mutex as AsyncMutex, Notify, watch};

pub use auth::ServiceAccountKey;
pub use config::Config;
pub use error::ApiError;
pub use faults::{Injected, Schedule};
pub use state::Shared;

use crate::discovery::Discovery;
use crate::faults::{Faults, MethodFault, parse_spec};
use crate::ssh_keys::AuthorizedKeys;

/// Entry point.
#[derive(Debug)]
pub struct Emulator;

/// A running emulator. Dropping it stops the server too.
#[derive(Debug)]
pub struct EmulatorHandle {
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    task: AsyncMutex<Option<tokio::task::JoinHandle<()>>>,
}

fn write_private_file(path: &std::path::Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(contents)
}

impl Emulator {
    /// Binds, prepares state and starts serving in the background (needs a Tokio runtime).
    pub async fn start(config: Config) -> Result<EmulatorHandle, String> {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|e| format!("binding {}: {e}", config.listen))?;
        let addr = listener
            .local_addr()
            .map_err(|e| format!("local address: {e}"))?;
        let base_url = format!("http://{addr}");
        let projects = if config.projects.is_empty() {
            vec!["my-project".to_string()]
        } else {
            config.projects.clone()
        };

        let discovery: Option<Arc<Discovery>> = match config.discovery.clone() {
            Some(path) => Some(
                tokio::task::spawn_blocking(move || Discovery::load(&path))
                    .await
                    .map_err(|e| format!("loading discovery document: {e}"))??,
            ),
            None => None,
        };
        let service_account = match config.service_account.clone() {
            Some(sa) => sa,
            None => {
                let p = projects[0].clone();
                Arc::new(
                    tokio::task::spawn_blocking(move || ServiceAccountKey::generate(&p))
                        .await
                        .map_err(|e| format!("generating service account: {e}"))??,
                )
            }
        };
        let token_uri = format!("{base_url}/token");
        if let Some(path) = &config.service_account_out {
            let json = service_account.to_json(&token_uri)?;
            let text = serde_json::to_string_pretty(&json).map_err(|e| e.to_string())?;
            write_private_file(path, text.as_bytes())
                .map_err(|e| format!("writing {}: {e}", path.display()))?;
        }
        let ssh = match &config.authorized_keys {
            Some(p) => Some(std::sync::Mutex::new(
                AuthorizedKeys::open(p)
                    .map_err(|e| format!("opening authorized_keys {}: {e}", p.display()))?,
            )),
            None => None,
        };
        let rules = parse_spec(&config.faults)?;
        let methods = config
            .fail_methods
            .iter()
            .map(|m| MethodFault::parse(m))
            .collect::<Result<Vec<_>, _>>()?;

        let mut shared = Shared {
            base_url,
            store: std::sync::Mutex::new(placeholder_store()),
            op_done: Notify::new(),
            faults: std::sync::Mutex::new(Faults::new(rules, methods, config.seed)),
            tokens: std::sync::Mutex::new(Default::default()),
            service_account,
            discovery,
            op_latency_ms: AtomicU64::new(config.op_latency.as_millis() as u64),
            ssh,
            instance_ip: config.instance_ip.clone(),
            token_ttl: config.token_ttl,
            wait_timeout: config.wait_timeout,
            lenient_urls: config.lenient_urls,
            user_projects: projects,
            seed: config.seed,
        };
        shared.store = std::sync::Mutex::new(shared.fresh_store());
        let shared = Arc::new(shared);
        let (stop, rx) = watch::channel(false);
        let task = tokio::spawn(server::serve(listener, shared.clone(), rx));
        Ok(EmulatorHandle {
            shared,
            stop,
            task: AsyncMutex::new(Some(task)),
        })
    }
}

fn placeholder_store() -> state::Store {
    state::Store {
        projects: Default::default(),
        instances: Default::default(),
        disks: Default::default(),
        images: Default::default(),
        operations: Default::default(),
        requests: Vec::new(),
        request_ids: Default::default(),
        ids: faults::SplitMix64::new(0),
        seq: 0,
    }
}

impl EmulatorHandle {
    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> &str {
        &self.shared.base_url
    }
    /// `http://127.0.0.1:PORT/compute/v1/` (what `custom_endpoints.compute` should be).
    pub fn compute_endpoint(&self) -> String {
        format!("{}/compute/v1/", self.shared.base_url)
    }
    /// `http://127.0.0.1:PORT/token`.
    pub fn token_uri(&self) -> String {
        format!("{}/token", self.shared.base_url)
    }
    /// Snapshot of instances, disks, user images, operation count and the request log.
    pub fn state(&self) -> Value {
        self.shared.snapshot()
    }
    /// Every fault injected so far, oldest first (also `injected` in [`Self::state`]).
    pub fn injected(&self) -> Vec<faults::Injected> {
        state::lock(&self.shared.faults).injected().to_vec()
    }
    /// Direct access to the shared state.
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }
    /// The trusted service account.
    pub fn service_account(&self) -> &ServiceAccountKey {
        &self.shared.service_account
    }
    /// The credentials JSON (with `token_uri` pointing at this emulator).
    pub fn service_account_json(&self) -> Result<Value, String> {
        self.shared.service_account.to_json(&self.token_uri())
    }
    /// Stops accepting connections, closes open ones and waits for the server task.
    pub async fn shutdown(&self) {
        let _ = self.stop.send(true);
        if let Some(t) = self.task.lock().await.take() {
            let _ = t.await;
        }
    }
}

impl Drop for EmulatorHandle {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}
