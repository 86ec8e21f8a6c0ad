//! The emulator's in-memory world: projects, instances, disks, images, operations, the
//! request log, and the pieces shared between connections.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::Notify;

use crate::auth::{ServiceAccountKey, TokenStore};
use crate::discovery::Discovery;
use crate::faults::{Faults, SplitMix64};
use crate::ssh_keys::AuthorizedKeys;

/// `(project, zone, name)`.
pub type ZonalKey = (String, String, String);
/// `(project, name)`.
pub type GlobalKey = (String, String);
/// `(project, zone or None for global, operation name)`.
pub type OpKey = (String, Option<String>, String);

/// Public image projects that are preloaded (read-only).
pub const PUBLIC_IMAGE_PROJECTS: &[&str] = &["debian-cloud", "ubuntu-os-cloud", "centos-cloud"];

/// An instance and bookkeeping that is not part of its JSON.
#[derive(Debug, Clone)]
pub struct Instance {
    /// The resource as returned by `instances.get`.
    pub res: Value,
    /// Disks to create when the insert operation completes: (key, resource).
    pub pending_disks: Vec<(ZonalKey, Value)>,
    /// Existing disks to attach when the insert operation completes.
    pub attach_disks: Vec<ZonalKey>,
}

/// A disk.
#[derive(Debug, Clone)]
pub struct Disk {
    /// The resource as returned by `disks.get`.
    pub res: Value,
    /// An image currently being created from this disk.
    pub imaging: Option<GlobalKey>,
}

/// An image.
#[derive(Debug, Clone)]
pub struct Image {
    /// The resource as returned by `images.get`.
    pub res: Value,
    /// Preloaded public image (read-only).
    pub builtin: bool,
    /// Insertion order, for `getFromFamily`.
    pub seq: u64,
    /// The disk it is being created from (until its operation completes).
    pub source_disk: Option<ZonalKey>,
}

/// What an operation does when it completes.
#[derive(Debug, Clone)]
pub enum Effect {
    /// Finish creating an instance (and its boot disk).
    InstanceInsert(ZonalKey),
    /// Delete an instance (and its auto-delete disks).
    InstanceDelete(ZonalKey),
    /// Replace an instance's metadata items.
    SetMetadata(ZonalKey, Vec<Value>),
    /// Finish creating a disk.
    DiskInsert(ZonalKey),
    /// Delete a disk.
    DiskDelete(ZonalKey),
    /// Finish creating an image.
    ImageInsert(GlobalKey),
    /// Delete an image.
    ImageDelete(GlobalKey),
    /// Set an image's deprecation status (`None` = ACTIVE).
    ImageDeprecate(GlobalKey, Option<Value>),
}

/// An operation.
#[derive(Debug, Clone)]
pub struct Operation {
    /// The resource as returned by `*Operations.get`.
    pub res: Value,
    /// What happens on completion.
    pub effect: Effect,
    /// An injected error code (`op:<CODE>` fault): the op ends with it and has no effect.
    pub fail: Option<String>,
}

impl Operation {
    /// `status == DONE`.
    pub fn is_done(&self) -> bool {
        self.res.get("status").and_then(Value::as_str) == Some("DONE")
    }
}

/// One line of the request log.
#[derive(Debug, Clone, Serialize)]
pub struct RequestRecord {
    /// HTTP method.
    pub method: String,
    /// Path plus query (without credentials).
    pub path: String,
    /// Response status (0 = connection reset by a fault).
    pub status: u16,
    /// Discovery method id, when the path matched one.
    #[serde(rename = "methodId", skip_serializing_if = "Option::is_none")]
    pub method_id: Option<String>,
}

/// Everything mutable behind one lock.
#[derive(Debug)]
pub struct Store {
    /// Projects: id → resource. Public image projects are included.
    pub projects: BTreeMap<String, Value>,
    /// Instances.
    pub instances: BTreeMap<ZonalKey, Instance>,
    /// Disks.
    pub disks: BTreeMap<ZonalKey, Disk>,
    /// Images (public ones included, `builtin`).
    pub images: BTreeMap<GlobalKey, Image>,
    /// Operations.
    pub operations: BTreeMap<OpKey, Operation>,
    /// Request log.
    pub requests: Vec<RequestRecord>,
    /// `"<method id> <requestId>"` of mutations → their operation.
    pub request_ids: BTreeMap<String, OpKey>,
    /// Id generator (seeded).
    pub ids: SplitMix64,
    /// Monotonic counter (image order etc.).
    pub seq: u64,
}

impl Store {
    /// A fresh numeric id (as GCE: a uint64 rendered as a decimal string).
    pub fn new_id(&mut self) -> String {
        (self.ids.next_u64() >> 1).to_string()
    }
    /// Next sequence number.
    pub fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }
    /// Whether `project` exists and accepts writes.
    pub fn writable_project(&self, project: &str) -> bool {
        self.projects.contains_key(project) && !PUBLIC_IMAGE_PROJECTS.contains(&project)
    }
}

/// State shared by every connection of one emulator.
#[derive(Debug)]
pub struct Shared {
    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub base_url: String,
    /// Mutable world.
    pub store: Mutex<Store>,
    /// Woken whenever an operation completes.
    pub op_done: Notify,
    /// Fault injector.
    pub faults: Mutex<Faults>,
    /// Issued tokens.
    pub tokens: Mutex<TokenStore>,
    /// The trusted service account.
    pub service_account: Arc<ServiceAccountKey>,
    /// Validation document.
    pub discovery: Option<Arc<Discovery>>,
    /// Operation latency in ms (changeable at runtime).
    pub op_latency_ms: AtomicU64,
    /// Mirror of `ssh-keys` metadata.
    pub ssh: Option<Mutex<AuthorizedKeys>>,
    /// Reported instance IP.
    pub instance_ip: String,
    /// Token lifetime.
    pub token_ttl: Duration,
    /// Max blocking time of `operations.wait`.
    pub wait_timeout: Duration,
    /// Accept 1.6.6-style malformed URLs.
    pub lenient_urls: bool,
    /// Projects given on the command line.
    pub user_projects: Vec<String>,
    /// Seed (for reset).
    pub seed: u64,
}

/// Locks a mutex, recovering from poisoning (a panicked handler must not wedge the emulator).
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Current time in GCE's RFC 3339 format.
pub fn now_rfc3339() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.3f-00:00")
        .to_string()
}

impl Shared {
    /// `{base}/compute/v1/{rel}`.
    pub fn link(&self, rel: &str) -> String {
        format!("{}/compute/v1/{rel}", self.base_url)
    }
    /// Current operation latency.
    pub fn op_latency(&self) -> Duration {
        Duration::from_millis(self.op_latency_ms.load(Ordering::Relaxed))
    }
    /// Sets the operation latency.
    pub fn set_op_latency(&self, ms: u64) {
        self.op_latency_ms.store(ms, Ordering::Relaxed);
    }

    /// A fresh store with the configured projects and the public images.
    pub fn fresh_store(&self) -> Store {
        let mut st = Store {
            projects: BTreeMap::new(),
            instances: BTreeMap::new(),
            disks: BTreeMap::new(),
            images: BTreeMap::new(),
            operations: BTreeMap::new(),
            requests: Vec::new(),
            request_ids: BTreeMap::new(),
            ids: SplitMix64::new(self.seed ^ 0x05EE_D1D5),
            seq: 0,
        };
        let mut all: BTreeSet<String> = self.user_projects.iter().cloned().collect();
        all.extend(PUBLIC_IMAGE_PROJECTS.iter().map(|s| s.to_string()));
        for p in all {
            let id = st.new_id();
            let number = (st.ids.next_u64() % 900_000_000_000) + 100_000_000_000;
            let res = json!({
                "kind": "compute#project",
                "id": id,
                "creationTimestamp": "2015-01-01T00:00:00.000-00:00",
                "name": p,
                "commonInstanceMetadata": {"kind": "compute#metadata", "fingerprint": "e3b0c44298fc1c14", "items": []},
                "quotas": [
                    {"metric": "CPUS_ALL_REGIONS", "limit": 32.0, "usage": 0.0},
                    {"metric": "IMAGES", "limit": 2000.0, "usage": 0.0},
                    {"metric": "GLOBAL_INTERNAL_ADDRESSES", "limit": 5000.0, "usage": 0.0}
                ],
                "selfLink": self.link(&format!("projects/{p}")),
                "defaultServiceAccount": format!("{number}-compute@developer.gserviceaccount.com"),
                "xpnProjectStatus": "UNSPECIFIED_XPN_PROJECT_STATUS",
                "defaultNetworkTier": "PREMIUM",
                "vmDnsSetting": "ZONAL_ONLY"
            });
            st.projects.insert(p, res);
        }
        crate::compute::images::preload(self, &mut st);
        st
    }

    /// Snapshot for `GET /emulator/v1/state`.
    pub fn snapshot(&self) -> Value {
        let st = lock(&self.store);
        let instances: Vec<Value> = st
            .instances
            .iter()
            .map(|((p, z, n), i)| json!({"project": p, "zone": z, "name": n, "status": i.res.get("status")}))
            .collect();
        let disks: Vec<Value> = st
            .disks
            .iter()
            .map(|((p, z, n), d)| {
                json!({"project": p, "zone": z, "name": n, "status": d.res.get("status"), "users": d.res.get("users").cloned().unwrap_or(json!([]))})
            })
            .collect();
        let images: Vec<Value> = st
            .images
            .iter()
            .filter(|(_, i)| !i.builtin)
            .map(|((p, n), i)| json!({"project": p, "name": n, "status": i.res.get("status"), "family": i.res.get("family")}))
            .collect();
        let pending = st.operations.values().filter(|o| !o.is_done()).count();
        let injected: Vec<Value> = lock(&self.faults)
            .injected()
            .iter()
            .map(|i| json!({"methodId": i.method_id, "fault": i.kind.render()}))
            .collect();
        json!({
            "instances": instances,
            "disks": disks,
            "images": images,
            "operations": st.operations.len(),
            "pendingOperations": pending,
            "requests": st.requests,
            "injected": injected,
            "authorizedKeys": self.ssh.as_ref().map(|s| lock(s).path().display().to_string()),
        })
    }

    /// Drops all user-created resources, operations and the request log.
    pub fn reset(&self) {
        let fresh = self.fresh_store();
        *lock(&self.store) = fresh;
        if let Some(ssh) = &self.ssh
            && let Err(e) = lock(ssh).clear()
        {
            eprintln!("gce-emulator: updating authorized_keys: {e}");
        }
        self.op_done.notify_waiters();
    }
}
