//! The Compute Engine v1 subset: routing, shared helpers and resource-URL parsing.

pub mod disks;
pub mod images;
pub mod instances;
pub mod operations;
pub mod zones;

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use regex::Regex;
use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::state::{Shared, Store};

/// (HTTP method, path template relative to `/compute/v1/`, discovery method id).
pub const ROUTES: &[(&str, &str, &str)] = &[
    ("GET", "projects/{project}", "compute.projects.get"),
    ("GET", "projects/{project}/zones", "compute.zones.list"),
    (
        "GET",
        "projects/{project}/zones/{zone}",
        "compute.zones.get",
    ),
    (
        "GET",
        "projects/{project}/regions/{region}",
        "compute.regions.get",
    ),
    (
        "GET",
        "projects/{project}/zones/{zone}/machineTypes",
        "compute.machineTypes.list",
    ),
    (
        "GET",
        "projects/{project}/zones/{zone}/machineTypes/{machineType}",
        "compute.machineTypes.get",
    ),
    (
        "GET",
        "projects/{project}/zones/{zone}/diskTypes/{diskType}",
        "compute.diskTypes.get",
    ),
    (
        "GET",
        "projects/{project}/global/images",
        "compute.images.list",
    ),
    (
        "POST",
        "projects/{project}/global/images",
        "compute.images.insert",
    ),
    (
        "GET",
        "projects/{project}/global/images/family/{family}",
        "compute.images.getFromFamily",
    ),
    (
        "GET",
        "projects/{project}/global/images/{image}",
        "compute.images.get",
    ),
    (
        "DELETE",
        "projects/{project}/global/images/{image}",
        "compute.images.delete",
    ),
    (
        "POST",
        "projects/{project}/global/images/{image}/deprecate",
        "compute.images.deprecate",
    ),
    (
        "GET",
        "projects/{project}/zones/{zone}/instances",
        "compute.instances.list",
    ),
    (
        "POST",
        "projects/{project}/zones/{zone}/instances",
        "compute.instances.insert",
    ),
    (
        "GET",
        "projects/{project}/zones/{zone}/instances/{instance}",
        "compute.instances.get",
    ),
    (
        "DELETE",
        "projects/{project}/zones/{zone}/instances/{instance}",
        "compute.instances.delete",
    ),
    (
        "POST",
        "projects/{project}/zones/{zone}/instances/{instance}/setMetadata",
        "compute.instances.setMetadata",
    ),
    (
        "GET",
        "projects/{project}/zones/{zone}/instances/{instance}/serialPort",
        "compute.instances.getSerialPortOutput",
    ),
    (
        "GET",
        "projects/{project}/zones/{zone}/disks",
        "compute.disks.list",
    ),
    (
        "POST",
        "projects/{project}/zones/{zone}/disks",
        "compute.disks.insert",
    ),
    (
        "GET",
        "projects/{project}/zones/{zone}/disks/{disk}",
        "compute.disks.get",
    ),
    (
        "DELETE",
        "projects/{project}/zones/{zone}/disks/{disk}",
        "compute.disks.delete",
    ),
    (
        "GET",
        "projects/{project}/zones/{zone}/operations/{operation}",
        "compute.zoneOperations.get",
    ),
    (
        "POST",
        "projects/{project}/zones/{zone}/operations/{operation}/wait",
        "compute.zoneOperations.wait",
    ),
    (
        "GET",
        "projects/{project}/global/operations/{operation}",
        "compute.globalOperations.get",
    ),
    (
        "POST",
        "projects/{project}/global/operations/{operation}/wait",
        "compute.globalOperations.wait",
    ),
];

/// Matches `segments` against a template; returns the path parameters.
pub fn match_template(template: &str, segments: &[String]) -> Option<Vec<(&'static str, String)>> {
    let t: Vec<&str> = template.split('/').collect();
    if t.len() != segments.len() {
        return None;
    }
    let mut params = Vec::new();
    for (ts, s) in t.iter().zip(segments) {
        if let Some(name) = ts.strip_prefix('{').and_then(|n| n.strip_suffix('}')) {
            if s.is_empty() {
                return None;
            }
            // Template names live in the static ROUTES table or the discovery doc; leak-free
            // because we map them back to a static str from a fixed list.
            params.push((static_name(name), s.clone()));
        } else if ts != s {
            return None;
        }
    }
    Some(params)
}

fn static_name(name: &str) -> &'static str {
    const NAMES: &[&str] = &[
        "project",
        "zone",
        "region",
        "machineType",
        "diskType",
        "family",
        "image",
        "instance",
        "disk",
        "operation",
    ];
    NAMES
        .iter()
        .find(|n| **n == name)
        .copied()
        .unwrap_or("resource")
}

/// Finds the implemented method for a request.
pub fn route(
    method: &str,
    segments: &[String],
) -> Option<(&'static str, Vec<(&'static str, String)>)> {
    ROUTES.iter().find_map(|(m, t, id)| {
        if *m != method {
            return None;
        }
        match_template(t, segments).map(|p| (*id, p))
    })
}

/// One Compute request, after authentication, routing and validation.
#[derive(Debug)]
pub struct Req {
    /// Shared state.
    pub shared: Arc<Shared>,
    /// Discovery method id.
    pub method_id: &'static str,
    /// Path parameters.
    pub params: HashMap<&'static str, String>,
    /// Query parameters.
    pub query: Vec<(String, String)>,
    /// Parsed JSON body.
    pub body: Option<Value>,
    /// Caller (service-account email).
    pub user: String,
}

impl Req {
    /// A path parameter (empty if absent).
    pub fn p(&self, name: &str) -> &str {
        self.params.get(name).map(String::as_str).unwrap_or("")
    }
    /// A query parameter.
    pub fn q(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    /// The body as an object, or `Required field 'resource' not specified`.
    pub fn body_obj(&self) -> Result<&Map<String, Value>, ApiError> {
        match &self.body {
            Some(Value::Object(o)) => Ok(o),
            _ => Err(ApiError::required("resource")),
        }
    }
}

/// Runs a synchronous handler (everything but `*.wait`).
pub fn dispatch(req: &Req, st: &mut Store) -> Result<Value, ApiError> {
    match req.method_id {
        "compute.projects.get" => zones::project_get(req, st),
        "compute.zones.list" => zones::zone_list(req, st),
        "compute.zones.get" => zones::zone_get(req, st),
        "compute.regions.get" => zones::region_get(req, st),
        "compute.machineTypes.list" => zones::machine_type_list(req, st),
        "compute.machineTypes.get" => zones::machine_type_get(req, st),
        "compute.diskTypes.get" => zones::disk_type_get(req, st),
        "compute.images.list" => images::list(req, st),
        "compute.images.insert" => images::insert(req, st),
        "compute.images.getFromFamily" => images::get_from_family(req, st),
        "compute.images.get" => images::get(req, st),
        "compute.images.delete" => images::delete(req, st),
        "compute.images.deprecate" => images::deprecate(req, st),
        "compute.instances.list" => instances::list(req, st),
        "compute.instances.insert" => instances::insert(req, st),
        "compute.instances.get" => instances::get(req, st),
        "compute.instances.delete" => instances::delete(req, st),
        "compute.instances.setMetadata" => instances::set_metadata(req, st),
        "compute.instances.getSerialPortOutput" => instances::serial_port(req, st),
        "compute.disks.list" => disks::list(req, st),
        "compute.disks.insert" => disks::insert(req, st),
        "compute.disks.get" => disks::get(req, st),
        "compute.disks.delete" => disks::delete(req, st),
        "compute.zoneOperations.get" | "compute.globalOperations.get" => operations::get(req, st),
        other => Err(ApiError::new(
            501,
            "notImplemented",
            format!("Method {other} is not implemented by gce-emulator"),
        )),
    }
}

/// The resource-name rule GCE applies to `resource.name`.
pub const NAME_PATTERN: &str = "(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)";

/// Validates `resource.name` (required, RFC 1035).
pub fn check_name(body: &Map<String, Value>) -> Result<String, ApiError> {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    let re = RE.get_or_init(|| Regex::new(&format!("^{NAME_PATTERN}$")).ok());
    let name = body.get("name").and_then(Value::as_str).unwrap_or("");
    if re.as_ref().is_some_and(|r| r.is_match(name)) {
        Ok(name.to_string())
    } else {
        Err(ApiError::invalid_field(
            "resource.name",
            name,
            &format!("Must be a match of regex '{NAME_PATTERN}'"),
        ))
    }
}

/// 404 for unknown projects, 403 for the read-only public image projects.
pub fn check_writable(
    st: &Store,
    project: &str,
    permission: &str,
    resource: &str,
) -> Result<(), ApiError> {
    if !st.projects.contains_key(project) {
        return Err(ApiError::not_found(&format!("projects/{project}")));
    }
    if !st.writable_project(project) {
        return Err(ApiError::forbidden(format!(
            "Required '{permission}' permission for '{resource}'"
        )));
    }
    Ok(())
}

/// 404 for unknown projects.
pub fn check_project(st: &Store, project: &str) -> Result<(), ApiError> {
    if st.projects.contains_key(project) {
        Ok(())
    } else {
        Err(ApiError::not_found(&format!("projects/{project}")))
    }
}

/// A resolved reference to another resource, e.g. `projects/p/zones/z/disks/d`.
#[derive(Debug, Clone, PartialEq)]
pub struct ResRef {
    /// Project.
    pub project: String,
    /// Zone or region (for zonal/regional collections).
    pub location: Option<String>,
    /// Collection (`images`, `disks`, `machineTypes`, ...).
    pub collection: String,
    /// Resource name (family name for `family` refs).
    pub name: String,
    /// An image-family reference (`global/images/family/f`).
    pub family: bool,
}

impl ResRef {
    /// `projects/p/zones/z/disks/d` style relative path.
    pub fn rel(&self) -> String {
        let loc = match (&self.location, self.collection.as_str()) {
            (Some(l), "subnetworks") => format!("regions/{l}"),
            (Some(l), _) => format!("zones/{l}"),
            (None, _) => "global".into(),
        };
        let fam = if self.family { "family/" } else { "" };
        format!(
            "projects/{}/{loc}/{}/{fam}{}",
            self.project, self.collection, self.name
        )
    }
}

fn seg_ok(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 100
        && s.chars().all(|c| {
            c.is_ascii_lowercase()
                || c.is_ascii_digit()
                || c == '-'
                || c == '_'
                || c == '.'
                || c == ':'
        })
}

fn name_ok(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Parses a full or partial resource URL of the given `collection` (`images`, `disks`,
/// `machineTypes`, `diskTypes`, `networks`, `subnetworks`). Partial URLs (`zones/..`,
/// `global/..`, `regions/..`) are relative to `default_project`. `None` = malformed.
pub fn parse_ref(
    shared: &Shared,
    raw: &str,
    collection: &str,
    default_project: &str,
) -> Option<ResRef> {
    let raw = raw.trim();
    let mut rest: String = raw.to_string();
    let mut had_prefix = false;
    if let Some(idx) = raw.find("/compute/v1/") {
        let before = &raw[..idx];
        if !(before.is_empty() || before.starts_with("http://") || before.starts_with("https://")) {
            return None;
        }
        rest = raw[idx + "/compute/v1/".len()..].to_string();
        had_prefix = true;
    } else if raw.contains("://") {
        return None;
    }
    if !rest.starts_with("projects/") {
        if had_prefix && shared.lenient_urls {
            rest = format!("projects/{rest}");
        } else if !had_prefix
            && (rest.starts_with("zones/")
                || rest.starts_with("global/")
                || rest.starts_with("regions/"))
        {
            rest = format!("projects/{default_project}/{rest}");
        } else {
            return None;
        }
    }
    let segs: Vec<&str> = rest.split('/').collect();
    let project = segs.get(1).copied().filter(|p| seg_ok(p))?.to_string();
    let r = |location: Option<&str>, name: &str, family: bool| {
        name_ok(name).then(|| ResRef {
            project: project.clone(),
            location: location.map(str::to_string),
            collection: collection.to_string(),
            name: name.to_string(),
            family,
        })
    };
    match (collection, &segs[2..]) {
        ("images", ["global", "images", name]) => r(None, name, false),
        ("images", ["global", "images", "family", fam]) => r(None, fam, true),
        ("networks", ["global", "networks", name]) => r(None, name, false),
        ("subnetworks", ["regions", region, "subnetworks", name]) if seg_ok(region) => {
            r(Some(region), name, false)
        }
        (c, ["zones", zone, coll, name]) if *coll == c && seg_ok(zone) && c != "images" => {
            r(Some(zone), name, false)
        }
        _ => None,
    }
}

/// A resource's `id` (a numeric string), empty if it has none.
pub fn id_of(resource: &Value) -> String {
    resource
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// A `*.list` response: `kind`, `id` and `selfLink` for the collection at
/// `path` (`projects/p/zones/z/disks`), and `items` only when there are any,
/// as GCE answers.
pub fn list_response(req: &Req, kind: &str, path: &str, items: Vec<Value>) -> Value {
    let mut out = serde_json::json!({"kind": kind, "id": path, "selfLink": req.shared.link(path)});
    if !items.is_empty()
        && let Some(o) = out.as_object_mut()
    {
        o.insert("items".into(), Value::Array(items));
    }
    out
}

/// Reads an int64 field that may be a JSON string or number.
pub fn int_field(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A fingerprint (8 bytes, base64) derived from content plus a fresh id.
pub fn fingerprint(st: &mut Store, content: &Value) -> String {
    use base64::Engine;
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(content.to_string().as_bytes());
    h.update(st.new_id().as_bytes());
    base64::engine::general_purpose::STANDARD.encode(&h.finalize()[..8])
}
