//! Projects, zones, regions, machine types and disk types (fixed catalogues).

use serde_json::{Value, json};

use crate::compute::{Req, check_project};
use crate::error::ApiError;
use crate::state::Store;

/// Zones that exist in every project.
pub const ZONES: &[&str] = &[
    "us-central1-a",
    "us-central1-b",
    "us-central1-c",
    "us-central1-f",
    "us-east1-b",
    "us-east1-c",
    "us-east1-d",
    "us-west1-a",
    "us-west1-b",
    "europe-west1-b",
    "europe-west1-c",
    "europe-west1-d",
    "europe-west4-a",
    "asia-east1-a",
];

/// Machine types: (name, guestCpus, memoryMb, shared core).
pub const MACHINE_TYPES: &[(&str, u32, u32, bool)] = &[
    ("f1-micro", 1, 614, true),
    ("g1-small", 1, 1740, true),
    ("n1-standard-1", 1, 3840, false),
    ("n1-standard-2", 2, 7680, false),
    ("n1-standard-4", 4, 15360, false),
    ("n1-standard-8", 8, 30720, false),
    ("n1-highmem-2", 2, 13312, false),
    ("n1-highcpu-2", 2, 1843, false),
    ("e2-micro", 2, 1024, true),
    ("e2-small", 2, 2048, true),
    ("e2-medium", 2, 4096, true),
    ("e2-standard-2", 2, 8192, false),
    ("e2-standard-4", 4, 16384, false),
    ("e2-standard-8", 8, 32768, false),
    ("n2-standard-2", 2, 8192, false),
    ("n2-standard-4", 4, 16384, false),
    ("n2d-standard-2", 2, 8192, false),
    ("c2-standard-4", 4, 16384, false),
];

/// Disk types available in every zone.
pub const DISK_TYPES: &[&str] = &[
    "pd-standard",
    "pd-balanced",
    "pd-ssd",
    "pd-extreme",
    "hyperdisk-balanced",
    "hyperdisk-extreme",
    "hyperdisk-throughput",
    "hyperdisk-ml",
    "local-ssd",
];

/// Whether a zone exists.
pub fn zone_exists(zone: &str) -> bool {
    ZONES.contains(&zone)
}

/// `us-central1-a` → `us-central1`.
pub fn region_of(zone: &str) -> &str {
    zone.rsplit_once('-').map(|(r, _)| r).unwrap_or(zone)
}

fn stable_id(kind: u64, idx: usize) -> String {
    (kind * 1000 + idx as u64).to_string()
}

/// A zone resource.
pub fn zone_resource(req: &Req, project: &str, zone: &str) -> Value {
    let idx = ZONES.iter().position(|z| *z == zone).unwrap_or(0);
    json!({
        "kind": "compute#zone",
        "id": stable_id(2, idx),
        "creationTimestamp": "1969-12-31T16:00:00.000-08:00",
        "name": zone,
        "description": zone,
        "status": "UP",
        "region": req.shared.link(&format!("projects/{project}/regions/{}", region_of(zone))),
        "selfLink": req.shared.link(&format!("projects/{project}/zones/{zone}")),
        "availableCpuPlatforms": ["Intel Cascade Lake", "Intel Skylake", "Intel Broadwell", "Intel Haswell", "AMD Milan", "AMD Rome"],
        "supportsPzs": false
    })
}

/// `projects.get`.
pub fn project_get(req: &Req, st: &mut Store) -> Result<Value, ApiError> {
    let p = req.p("project");
    st.projects
        .get(p)
        .cloned()
        .ok_or_else(|| ApiError::not_found(&format!("projects/{p}")))
}

/// `zones.get`.
pub fn zone_get(req: &Req, st: &mut Store) -> Result<Value, ApiError> {
    let (p, z) = (req.p("project"), req.p("zone"));
    check_project(st, p)?;
    if !zone_exists(z) {
        return Err(ApiError::not_found(&format!("projects/{p}/zones/{z}")));
    }
    Ok(zone_resource(req, p, z))
}

/// `zones.list`.
pub fn zone_list(req: &Req, st: &mut Store) -> Result<Value, ApiError> {
    let p = req.p("project");
    check_project(st, p)?;
    let items: Vec<Value> = ZONES.iter().map(|z| zone_resource(req, p, z)).collect();
    Ok(
        json!({"kind": "compute#zoneList", "id": format!("projects/{p}/zones"), "items": items,
              "selfLink": req.shared.link(&format!("projects/{p}/zones"))}),
    )
}

/// `regions.get`.
pub fn region_get(req: &Req, st: &mut Store) -> Result<Value, ApiError> {
    let (p, r) = (req.p("project"), req.p("region"));
    check_project(st, p)?;
    let zones: Vec<Value> = ZONES
        .iter()
        .filter(|z| region_of(z) == r)
        .map(|z| Value::String(req.shared.link(&format!("projects/{p}/zones/{z}"))))
        .collect();
    if zones.is_empty() {
        return Err(ApiError::not_found(&format!("projects/{p}/regions/{r}")));
    }
    Ok(
        json!({"kind": "compute#region", "id": stable_id(1, r.len()), "name": r, "description": r, "status": "UP",
              "zones": zones, "selfLink": req.shared.link(&format!("projects/{p}/regions/{r}"))}),
    )
}

/// A machine-type resource, or `None` if unknown.
pub fn machine_type_resource(req: &Req, project: &str, zone: &str, name: &str) -> Option<Value> {
    let idx = MACHINE_TYPES.iter().position(|m| m.0 == name)?;
    let (n, cpus, mem, shared_core) = MACHINE_TYPES[idx];
    Some(json!({
        "kind": "compute#machineType",
        "id": stable_id(3, idx),
        "creationTimestamp": "1969-12-31T16:00:00.000-08:00",
        "name": n,
        "description": format!("{cpus} vCPU{}, {:.2} GB RAM", if cpus == 1 { "" } else { "s" }, f64::from(mem) / 1024.0),
        "guestCpus": cpus,
        "memoryMb": mem,
        "imageSpaceGb": 0,
        "maximumPersistentDisks": if shared_core { 16 } else { 128 },
        "maximumPersistentDisksSizeGb": if shared_core { "3072" } else { "263168" },
        "zone": zone,
        "isSharedCpu": shared_core,
        "selfLink": req.shared.link(&format!("projects/{project}/zones/{zone}/machineTypes/{n}")),
    }))
}

/// `machineTypes.get`.
pub fn machine_type_get(req: &Req, st: &mut Store) -> Result<Value, ApiError> {
    let (p, z, m) = (req.p("project"), req.p("zone"), req.p("machineType"));
    check_project(st, p)?;
    let path = format!("projects/{p}/zones/{z}/machineTypes/{m}");
    if !zone_exists(z) {
        return Err(ApiError::not_found(&path));
    }
    machine_type_resource(req, p, z, m).ok_or_else(|| ApiError::not_found(&path))
}

/// `machineTypes.list`.
pub fn machine_type_list(req: &Req, st: &mut Store) -> Result<Value, ApiError> {
    let (p, z) = (req.p("project"), req.p("zone"));
    check_project(st, p)?;
    if !zone_exists(z) {
        return Err(ApiError::not_found(&format!("projects/{p}/zones/{z}")));
    }
    let items: Vec<Value> = MACHINE_TYPES
        .iter()
        .filter_map(|m| machine_type_resource(req, p, z, m.0))
        .collect();
    Ok(
        json!({"kind": "compute#machineTypeList", "id": format!("projects/{p}/zones/{z}/machineTypes"), "items": items,
              "selfLink": req.shared.link(&format!("projects/{p}/zones/{z}/machineTypes"))}),
    )
}

/// `diskTypes.get`.
pub fn disk_type_get(req: &Req, st: &mut Store) -> Result<Value, ApiError> {
    let (p, z, t) = (req.p("project"), req.p("zone"), req.p("diskType"));
    check_project(st, p)?;
    let path = format!("projects/{p}/zones/{z}/diskTypes/{t}");
    let Some(idx) = DISK_TYPES
        .iter()
        .position(|d| *d == t)
        .filter(|_| zone_exists(z))
    else {
        return Err(ApiError::not_found(&path));
    };
    Ok(
        json!({"kind": "compute#diskType", "id": stable_id(4, idx), "name": t, "description": t, "zone": req.shared.link(&format!("projects/{p}/zones/{z}")),
              "validDiskSize": "10GB-65536GB", "defaultDiskSizeGb": if t == "local-ssd" { "375" } else { "10" },
              "selfLink": req.shared.link(&path)}),
    )
}
