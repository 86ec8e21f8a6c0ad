//! Disks: get/list/insert/delete, and the disk resource builder shared with instances.

use serde_json::{Map, Value, json};

use crate::compute::operations::{self, OpError, OpSpec};
use crate::compute::zones::{DISK_TYPES, zone_exists};
use crate::compute::{
    Req, check_name, check_project, check_writable, images, int_field, parse_ref,
};
use crate::error::ApiError;
use crate::state::{Disk, Effect, Store, ZonalKey, now_rfc3339};

/// `projects/p/zones/z/disks/d`.
pub fn rel(project: &str, zone: &str, name: &str) -> String {
    format!("projects/{project}/zones/{zone}/disks/{name}")
}

/// Everything needed to create a disk, validated.
#[derive(Debug, Clone)]
pub struct DiskPlan {
    /// Size in GB.
    pub size_gb: i64,
    /// Disk type name (`pd-standard`).
    pub disk_type: String,
    /// Source image (resolved) relative path and resource.
    pub image: Option<(String, Value)>,
}

/// Validates `sourceImage`, `diskType` and the size for a new disk in `project`/`zone`.
/// `field` is the request-field prefix for errors (`resource.disks[0].initializeParams`).
#[allow(clippy::too_many_arguments)]
pub fn plan(
    req: &Req,
    st: &Store,
    project: &str,
    zone: &str,
    params: &Map<String, Value>,
    field: &str,
    size_key: &str,
    type_key: &str,
) -> Result<DiskPlan, ApiError> {
    let image = match params
        .get("sourceImage")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    {
        Some(raw) => {
            let r = parse_ref(&req.shared, raw, "images", project)
                .ok_or_else(|| ApiError::malformed_url(&format!("{field}.sourceImage"), raw))?;
            let img = images::resolve(st, &r)?;
            let name = img
                .res
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            Some((
                format!("projects/{}/global/images/{name}", r.project),
                img.res.clone(),
            ))
        }
        None => None,
    };
    let disk_type = match params
        .get(type_key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    {
        Some(raw) => {
            let r = parse_ref(&req.shared, raw, "diskTypes", project)
                .ok_or_else(|| ApiError::malformed_url(&format!("{field}.{type_key}"), raw))?;
            if r.location.as_deref() != Some(zone) || !DISK_TYPES.contains(&r.name.as_str()) {
                return Err(ApiError::invalid_field(
                    &format!("{field}.{type_key}"),
                    raw,
                    &format!("Disk type '{}' does not exist in zone '{zone}'.", r.name),
                ));
            }
            r.name
        }
        None => "pd-standard".to_string(),
    };
    let image_size = image
        .as_ref()
        .and_then(|(_, i)| int_field(i.get("diskSizeGb")))
        .unwrap_or(0);
    let size_gb = match params.get(size_key).filter(|v| !v.is_null()) {
        Some(v) => {
            let n = int_field(Some(v)).ok_or_else(|| {
                ApiError::invalid_field(&format!("{field}.{size_key}"), &v.to_string(), "")
            })?;
            if n < image_size {
                return Err(ApiError::invalid_field(
                    &format!("{field}.{size_key}"),
                    &n.to_string(),
                    &format!(
                        "Requested disk size cannot be smaller than the image size ({image_size} GB)"
                    ),
                ));
            }
            if n <= 0 || n > 65536 {
                return Err(ApiError::invalid_field(
                    &format!("{field}.{size_key}"),
                    &n.to_string(),
                    "Disk size must be between 1 and 65536 GB.",
                ));
            }
            n
        }
        None => image_size.max(10),
    };
    Ok(DiskPlan {
        size_gb,
        disk_type,
        image,
    })
}

/// Builds a disk resource (status `CREATING`/`READY` as given).
pub fn build(
    req: &Req,
    st: &mut Store,
    key: &ZonalKey,
    plan: &DiskPlan,
    extra: &Map<String, Value>,
    status: &str,
) -> Value {
    let (p, z, n) = key;
    let id = st.new_id();
    let mut res = Map::new();
    res.insert("kind".into(), json!("compute#disk"));
    res.insert("id".into(), json!(id));
    res.insert("creationTimestamp".into(), json!(now_rfc3339()));
    res.insert("name".into(), json!(n));
    for f in [
        "description",
        "labels",
        "diskEncryptionKey",
        "provisionedIops",
        "guestOsFeatures",
        "architecture",
    ] {
        if let Some(v) = extra.get(f).filter(|v| !v.is_null()) {
            res.insert(f.into(), v.clone());
        }
    }
    res.insert("sizeGb".into(), json!(plan.size_gb.to_string()));
    res.insert(
        "zone".into(),
        json!(req.shared.link(&format!("projects/{p}/zones/{z}"))),
    );
    res.insert("status".into(), json!(status));
    res.insert("selfLink".into(), json!(req.shared.link(&rel(p, z, n))));
    res.insert(
        "type".into(),
        json!(req.shared.link(&format!(
            "projects/{p}/zones/{z}/diskTypes/{}",
            plan.disk_type
        ))),
    );
    res.insert("labelFingerprint".into(), json!("42WmSpB8rSM="));
    res.insert("physicalBlockSizeBytes".into(), json!("4096"));
    if let Some((img_rel, img)) = &plan.image {
        res.insert("sourceImage".into(), json!(req.shared.link(img_rel)));
        res.insert(
            "sourceImageId".into(),
            img.get("id").cloned().unwrap_or(Value::Null),
        );
        for f in ["licenses", "guestOsFeatures", "architecture"] {
            if let Some(v) = img.get(f) {
                res.entry(f).or_insert_with(|| v.clone());
            }
        }
    }
    Value::Object(res)
}

/// `disks.get`.
pub fn get(req: &Req, st: &mut Store) -> Result<Value, ApiError> {
    let key = (
        req.p("project").to_string(),
        req.p("zone").to_string(),
        req.p("disk").to_string(),
    );
    st.disks
        .get(&key)
        .map(|d| d.res.clone())
        .ok_or_else(|| ApiError::not_found(&rel(&key.0, &key.1, &key.2)))
}

/// `disks.list`.
pub fn list(req: &Req, st: &mut Store) -> Result<Value, ApiError> {
    let (p, z) = (req.p("project"), req.p("zone"));
    check_project(st, p)?;
    let items: Vec<Value> = st
        .disks
        .iter()
        .filter(|((dp, dz, _), _)| dp == p && dz == z)
        .map(|(_, d)| d.res.clone())
        .collect();
    Ok(crate::compute::list_response(
        req,
        "compute#diskList",
        &format!("projects/{p}/zones/{z}/disks"),
        items,
    ))
}

/// `disks.insert` (blank or from `sourceImage`).
pub fn insert(req: &Req, st: &mut Store) -> Result<Value, ApiError> {
    let (p, z) = (req.p("project").to_string(), req.p("zone").to_string());
    let body = req.body_obj()?.clone();
    let name = check_name(&body)?;
    check_writable(st, &p, "compute.disks.create", &rel(&p, &z, &name))?;
    if !zone_exists(&z) {
        return Err(ApiError::invalid_field("zone", &z, "Unknown zone."));
    }
    let key = (p.clone(), z.clone(), name.clone());
    if st.disks.contains_key(&key) {
        return Err(ApiError::already_exists(&rel(&p, &z, &name)));
    }
    let mut params = body.clone();
    if params.get("sourceImage").is_none()
        && let Some(si) = req.q("sourceImage")
    {
        params.insert("sourceImage".into(), json!(si));
    }
    let plan = plan(req, st, &p, &z, &params, "resource", "sizeGb", "type")?;
    let res = build(req, st, &key, &plan, &body, "CREATING");
    let id = crate::compute::id_of(&res);
    st.disks.insert(key.clone(), Disk { res, imaging: None });
    Ok(operations::start(
        req,
        st,
        OpSpec {
            project: p.clone(),
            zone: Some(z.clone()),
            op_type: "insert",
            target: rel(&p, &z, &name),
            target_id: id,
            effect: Effect::DiskInsert(key),
        },
    ))
}

/// Completion of `disks.insert`.
pub fn finish_insert(st: &mut Store, key: &ZonalKey) -> Result<(), OpError> {
    if let Some(o) = st.disks.get_mut(key).and_then(|d| d.res.as_object_mut()) {
        o.insert("status".into(), json!("READY"));
    }
    Ok(())
}

/// `disks.delete`: refused while attached to an instance or while an image is being
/// created from it (`resourceInUseByAnotherResource`).
pub fn delete(req: &Req, st: &mut Store) -> Result<Value, ApiError> {
    let key = (
        req.p("project").to_string(),
        req.p("zone").to_string(),
        req.p("disk").to_string(),
    );
    let (p, z, n) = key.clone();
    let disk = st
        .disks
        .get(&key)
        .ok_or_else(|| ApiError::not_found(&rel(&p, &z, &n)))?;
    if let Some(user) = disk
        .res
        .get("users")
        .and_then(Value::as_array)
        .and_then(|u| u.first())
        .and_then(Value::as_str)
    {
        let user_rel = user
            .split_once("/compute/v1/")
            .map(|(_, r)| r)
            .unwrap_or(user);
        return Err(ApiError::in_use(&rel(&p, &z, &n), user_rel));
    }
    if let Some((ip, iname)) = &disk.imaging {
        return Err(ApiError::in_use(
            &rel(&p, &z, &n),
            &format!("projects/{ip}/global/images/{iname}"),
        ));
    }
    let id = crate::compute::id_of(&disk.res);
    Ok(operations::start(
        req,
        st,
        OpSpec {
            project: p.clone(),
            zone: Some(z.clone()),
            op_type: "delete",
            target: rel(&p, &z, &n),
            target_id: id,
            effect: Effect::DiskDelete(key),
        },
    ))
}
