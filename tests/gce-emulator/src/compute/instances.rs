//! Instances: insert/get/list/delete/setMetadata/getSerialPortOutput.

use std::sync::{Arc, OnceLock};

use regex::Regex;
use serde_json::{Map, Value, json};

use crate::compute::operations::{self, OpError, OpSpec};
use crate::compute::zones::{MACHINE_TYPES, region_of, zone_exists};
use crate::compute::{
    Req, check_name, check_project, check_writable, disks, fingerprint, parse_ref,
};
use crate::error::ApiError;
use crate::ssh_keys::keys_from_metadata;
use crate::state::{Disk, Effect, Instance, Shared, Store, ZonalKey, lock, now_rfc3339};

/// `projects/p/zones/z/instances/i`.
pub fn rel(project: &str, zone: &str, name: &str) -> String {
    format!("projects/{project}/zones/{zone}/instances/{name}")
}

fn key_of(req: &Req) -> ZonalKey {
    (
        req.p("project").to_string(),
        req.p("zone").to_string(),
        req.p("instance").to_string(),
    )
}

fn status(v: &Value) -> &str {
    v.get("status").and_then(Value::as_str).unwrap_or("")
}

/// Validates metadata items (drops `null`s, checks keys, sizes and duplicates).
pub fn clean_items(items: Option<&Value>, field: &str) -> Result<Vec<Value>, ApiError> {
    static KEY_RE: OnceLock<Option<Regex>> = OnceLock::new();
    let re = KEY_RE.get_or_init(|| Regex::new("^[a-zA-Z0-9-_]{1,128}$").ok());
    let mut out: Vec<Value> = Vec::new();
    let mut total = 0usize;
    for (i, item) in items
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        if item.is_null() {
            continue;
        }
        let key = item.get("key").and_then(Value::as_str).unwrap_or("");
        if !re.as_ref().is_some_and(|r| r.is_match(key)) {
            return Err(ApiError::invalid_field(
                &format!("{field}.items[{i}].key"),
                key,
                "Must be a match of regex '[a-zA-Z0-9-_]{1,128}'",
            ));
        }
        let value = item.get("value").and_then(Value::as_str).unwrap_or("");
        if value.len() > 262_144 {
            return Err(ApiError::invalid_field(
                &format!("{field}.items[{i}].value"),
                &value[..value.floor_char_boundary(32)],
                "Metadata value exceeds the 256 KiB limit.",
            ));
        }
        total += key.len() + value.len();
        if out
            .iter()
            .any(|o| o.get("key").and_then(Value::as_str) == Some(key))
        {
            return Err(ApiError::invalid_field(
                &format!("{field}.items[{i}].key"),
                key,
                "Duplicate keys are not allowed.",
            ));
        }
        out.push(json!({"key": key, "value": value}));
    }
    if total > 512 * 1024 {
        return Err(ApiError::invalid_field(
            field,
            "",
            "Metadata exceeds the 512 KiB total limit.",
        ));
    }
    Ok(out)
}

fn sync_ssh(shared: &Shared, key: &ZonalKey, items: Option<&[Value]>) {
    let Some(ssh) = &shared.ssh else { return };
    let keys = items.map(keys_from_metadata).unwrap_or_default();
    let id = format!("{}/{}/{}", key.0, key.1, key.2);
    if let Err(e) = lock(ssh).set(&id, keys) {
        eprintln!("gce-emulator: updating authorized_keys: {e}");
    }
}

/// `instances.get`.
pub fn get(req: &Req, st: &mut Store) -> Result<Value, ApiError> {
    let key = key_of(req);
    st.instances
        .get(&key)
        .map(|i| i.res.clone())
        .ok_or_else(|| ApiError::not_found(&rel(&key.0, &key.1, &key.2)))
}

/// `instances.list` (filters are ignored).
pub fn list(req: &Req, st: &mut Store) -> Result<Value, ApiError> {
    let (p, z) = (req.p("project"), req.p("zone"));
    check_project(st, p)?;
    let items: Vec<Value> = st
        .instances
        .iter()
        .filter(|((ip, iz, _), _)| ip == p && iz == z)
        .map(|(_, i)| i.res.clone())
        .collect();
    Ok(crate::compute::list_response(
        req,
        "compute#instanceList",
        &format!("projects/{p}/zones/{z}/instances"),
        items,
    ))
}

/// `instances.insert`. The instance appears at once as `PROVISIONING`; when the operation
/// completes its disks are created and it becomes `STAGING`, then `RUNNING` one op latency later.
pub fn insert(req: &Req, st: &mut Store) -> Result<Value, ApiError> {
    let (p, z) = (req.p("project").to_string(), req.p("zone").to_string());
    let body = req.body_obj()?.clone();
    let name = check_name(&body)?;
    check_writable(st, &p, "compute.instances.create", &rel(&p, &z, &name))?;
    if !zone_exists(&z) {
        return Err(ApiError::invalid_field("zone", &z, "Unknown zone."));
    }
    let key: ZonalKey = (p.clone(), z.clone(), name.clone());
    if st.instances.contains_key(&key) {
        return Err(ApiError::already_exists(&rel(&p, &z, &name)));
    }
    let shared = req.shared.clone();

    // Machine type.
    let mt_raw = body
        .get("machineType")
        .and_then(Value::as_str)
        .unwrap_or("");
    let mt = parse_ref(&shared, mt_raw, "machineTypes", &p)
        .ok_or_else(|| ApiError::malformed_url("resource.machineType", mt_raw))?;
    if mt.location.as_deref() != Some(z.as_str()) {
        return Err(ApiError::invalid_field(
            "resource.machineType",
            mt_raw,
            &format!("Machine type must be in zone '{z}'."),
        ));
    }
    if !MACHINE_TYPES.iter().any(|m| m.0 == mt.name) {
        return Err(ApiError::invalid_field(
            "resource.machineType",
            mt_raw,
            &format!(
                "Machine type with name '{}' does not exist in zone '{z}'.",
                mt.name
            ),
        ));
    }

    // Disks.
    let disk_list: Vec<(usize, Map<String, Value>)> = body
        .get("disks")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
        .filter_map(|(i, d)| d.as_object().map(|o| (i, o.clone())))
        .collect();
    if disk_list.is_empty() {
        return Err(ApiError::invalid_field(
            "resource.disks",
            "",
            "At least one disk must be specified.",
        ));
    }
    let mut attached: Vec<Value> = Vec::new();
    let mut pending_disks = Vec::new();
    let mut attach_disks = Vec::new();
    let mut boot_seen = false;
    for (n, (i, d)) in disk_list.iter().enumerate() {
        let field = format!("resource.disks[{i}]");
        let boot = d.get("boot").and_then(Value::as_bool).unwrap_or(n == 0);
        if boot && boot_seen {
            return Err(ApiError::invalid_field(
                &format!("{field}.boot"),
                "true",
                "Only one boot disk may be specified.",
            ));
        }
        boot_seen |= boot;
        let kind = d
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("PERSISTENT");
        let auto_delete = d
            .get("autoDelete")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let mode = d
            .get("mode")
            .and_then(Value::as_str)
            .unwrap_or("READ_WRITE");
        let device = d
            .get("deviceName")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| format!("persistent-disk-{n}"));
        let mut att = json!({
            "kind": "compute#attachedDisk", "type": kind, "mode": mode, "deviceName": device, "index": n,
            "boot": boot, "autoDelete": auto_delete, "interface": d.get("interface").and_then(Value::as_str).unwrap_or("SCSI"),
        });
        if kind == "SCRATCH" {
            att["diskSizeGb"] = json!("375");
            attached.push(att);
            continue;
        }
        if let Some(ip) = d.get("initializeParams").and_then(Value::as_object) {
            if d.get("source")
                .and_then(Value::as_str)
                .is_some_and(|s| !s.is_empty())
            {
                return Err(ApiError::invalid_field(
                    &format!("{field}.source"),
                    "",
                    "Cannot specify both 'source' and 'initializeParams'.",
                ));
            }
            if boot
                && ip
                    .get("sourceImage")
                    .and_then(Value::as_str)
                    .is_none_or(str::is_empty)
            {
                return Err(ApiError::invalid_field(
                    &format!("{field}.initializeParams.sourceImage"),
                    "",
                    "Source image must be specified for a boot disk.",
                ));
            }
            let plan = disks::plan(
                req,
                st,
                &p,
                &z,
                ip,
                &format!("{field}.initializeParams"),
                "diskSizeGb",
                "diskType",
            )?;
            let dname = ip
                .get("diskName")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .unwrap_or_else(|| {
                    if boot {
                        name.clone()
                    } else {
                        format!("{name}-{n}")
                    }
                });
            let dkey = (p.clone(), z.clone(), dname.clone());
            let mut extra = Map::new();
            if let Some(l) = ip.get("labels") {
                extra.insert("labels".into(), l.clone());
            }
            if let Some(k) = d.get("diskEncryptionKey") {
                extra.insert("diskEncryptionKey".into(), k.clone());
            }
            let mut dres = disks::build(req, st, &dkey, &plan, &extra, "READY");
            dres["users"] = json!([shared.link(&rel(&p, &z, &name))]);
            dres["lastAttachTimestamp"] = json!(now_rfc3339());
            att["source"] = json!(shared.link(&disks::rel(&p, &z, &dname)));
            att["diskSizeGb"] = json!(plan.size_gb.to_string());
            for f in ["licenses", "guestOsFeatures", "architecture"] {
                if let Some(v) = dres.get(f) {
                    att[f] = v.clone();
                }
            }
            pending_disks.push((dkey, dres));
        } else {
            let raw = d.get("source").and_then(Value::as_str).unwrap_or("");
            if raw.is_empty() {
                return Err(ApiError::invalid_field(
                    &format!("{field}.source"),
                    "",
                    "Source url of disk is missing.",
                ));
            }
            let r = parse_ref(&shared, raw, "disks", &p)
                .ok_or_else(|| ApiError::malformed_url(&format!("{field}.source"), raw))?;
            let dkey = (
                r.project.clone(),
                r.location.clone().unwrap_or_default(),
                r.name.clone(),
            );
            let disk = st
                .disks
                .get(&dkey)
                .ok_or_else(|| ApiError::not_found(&r.rel()))?;
            if dkey.1 != z {
                return Err(ApiError::invalid_field(
                    &format!("{field}.source"),
                    raw,
                    "Disk must be in the same zone as the instance.",
                ));
            }
            if let Some(u) = disk
                .res
                .get("users")
                .and_then(Value::as_array)
                .and_then(|u| u.first())
                .and_then(Value::as_str)
                && mode == "READ_WRITE"
            {
                let user_rel = u.split_once("/compute/v1/").map(|(_, r)| r).unwrap_or(u);
                return Err(ApiError::in_use(&r.rel(), user_rel));
            }
            att["source"] = json!(shared.link(&r.rel()));
            att["diskSizeGb"] = disk.res.get("sizeGb").cloned().unwrap_or(json!("10"));
            attach_disks.push(dkey);
        }
        attached.push(att);
    }
    for (i, (dkey, _)) in pending_disks.iter().enumerate() {
        if pending_disks[..i].iter().any(|(k, _)| k == dkey) {
            return Err(ApiError::invalid_field(
                "resource.disks",
                &dkey.2,
                "Disk names must be unique.",
            ));
        }
    }

    // Network interfaces.
    let nics_in: Vec<Map<String, Value>> = body
        .get("networkInterfaces")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|n| n.as_object().cloned())
        .collect();
    if nics_in.is_empty() {
        return Err(ApiError::invalid_field(
            "resource.networkInterfaces",
            "",
            "At least one network interface is required.",
        ));
    }
    let mut nics = Vec::new();
    for (i, nic) in nics_in.iter().enumerate() {
        let field = format!("resource.networkInterfaces[{i}]");
        let subnet = match nic
            .get("subnetwork")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
        {
            Some(raw) => {
                let r = parse_ref(&shared, raw, "subnetworks", &p)
                    .ok_or_else(|| ApiError::malformed_url(&format!("{field}.subnetwork"), raw))?;
                if r.location.as_deref() != Some(region_of(&z)) {
                    return Err(ApiError::invalid_field(
                        &format!("{field}.subnetwork"),
                        raw,
                        &format!("Subnetwork must be in region '{}'.", region_of(&z)),
                    ));
                }
                Some(r)
            }
            None => None,
        };
        let network = match nic
            .get("network")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
        {
            Some(raw) => parse_ref(&shared, raw, "networks", &p)
                .ok_or_else(|| ApiError::malformed_url(&format!("{field}.network"), raw))?,
            None => parse_ref(
                &shared,
                &format!(
                    "projects/{}/global/networks/default",
                    subnet.as_ref().map(|s| s.project.as_str()).unwrap_or(&p)
                ),
                "networks",
                &p,
            )
            .ok_or_else(|| ApiError::malformed_url(&format!("{field}.network"), ""))?,
        };
        let network_ip = nic
            .get("networkIP")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .unwrap_or_else(|| shared.instance_ip.clone());
        let mut access = Vec::new();
        for ac in nic
            .get("accessConfigs")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_object)
        {
            let nat_ip = ac
                .get("natIP")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .unwrap_or_else(|| shared.instance_ip.clone());
            access.push(json!({
                "kind": "compute#accessConfig",
                "type": ac.get("type").and_then(Value::as_str).unwrap_or("ONE_TO_ONE_NAT"),
                "name": ac.get("name").and_then(Value::as_str).unwrap_or("External NAT"),
                "natIP": nat_ip,
                "networkTier": ac.get("networkTier").and_then(Value::as_str).unwrap_or("PREMIUM"),
            }));
        }
        let mut out = json!({
            "kind": "compute#networkInterface",
            "network": shared.link(&network.rel()),
            "networkIP": network_ip,
            "name": format!("nic{i}"),
            "fingerprint": fingerprint(st, &Value::Object(nic.clone())),
            "stackType": "IPV4_ONLY",
        });
        if let Some(s) = subnet {
            out["subnetwork"] = json!(shared.link(&s.rel()));
        }
        if !access.is_empty() {
            out["accessConfigs"] = Value::Array(access);
        }
        nics.push(out);
    }

    // Metadata.
    let items = clean_items(
        body.get("metadata").and_then(|m| m.get("items")),
        "resource.metadata",
    )?;

    let id = st.new_id();
    let mut res = Map::new();
    res.insert("kind".into(), json!("compute#instance"));
    res.insert("id".into(), json!(id));
    res.insert("creationTimestamp".into(), json!(now_rfc3339()));
    res.insert("name".into(), json!(name));
    for f in [
        "description",
        "labels",
        "minCpuPlatform",
        "guestAccelerators",
        "shieldedInstanceConfig",
        "advancedMachineFeatures",
        "reservationAffinity",
        "params",
        "confidentialInstanceConfig",
        "hostname",
    ] {
        if let Some(v) = body.get(f).filter(|v| !v.is_null()) {
            res.insert(f.into(), v.clone());
        }
    }
    let mut tags = body
        .get("tags")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    tags.insert(
        "fingerprint".into(),
        json!(fingerprint(st, &Value::Object(tags.clone()))),
    );
    res.insert("tags".into(), Value::Object(tags));
    res.insert(
        "machineType".into(),
        json!(shared.link(&format!("projects/{p}/zones/{z}/machineTypes/{}", mt.name))),
    );
    res.insert("status".into(), json!("PROVISIONING"));
    res.insert(
        "zone".into(),
        json!(shared.link(&format!("projects/{p}/zones/{z}"))),
    );
    res.insert(
        "canIpForward".into(),
        body.get("canIpForward").cloned().unwrap_or(json!(false)),
    );
    res.insert("networkInterfaces".into(), Value::Array(nics));
    res.insert("disks".into(), Value::Array(attached));
    let mfp = fingerprint(st, &json!(items));
    res.insert(
        "metadata".into(),
        json!({"kind": "compute#metadata", "fingerprint": mfp, "items": items}),
    );
    let default_sa = st
        .projects
        .get(&p)
        .and_then(|pr| pr.get("defaultServiceAccount"))
        .and_then(Value::as_str)
        .unwrap_or("default")
        .to_string();
    let sas: Vec<Value> = body
        .get("serviceAccounts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .filter(|sa| sa.get("email").and_then(Value::as_str).is_some_and(|e| !e.is_empty()))
        .map(|sa| {
            let email = sa.get("email").and_then(Value::as_str).unwrap_or("default");
            json!({"email": if email == "default" { default_sa.as_str() } else { email }, "scopes": sa.get("scopes").cloned().unwrap_or(json!([]))})
        })
        .collect();
    if !sas.is_empty() {
        res.insert("serviceAccounts".into(), Value::Array(sas));
    }
    let mut sched = body
        .get("scheduling")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let preemptible = sched
        .get("preemptible")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    sched
        .entry("onHostMaintenance")
        .or_insert_with(|| json!(if preemptible { "TERMINATE" } else { "MIGRATE" }));
    sched
        .entry("automaticRestart")
        .or_insert_with(|| json!(!preemptible));
    sched.entry("preemptible").or_insert_with(|| json!(false));
    sched
        .entry("provisioningModel")
        .or_insert_with(|| json!(if preemptible { "SPOT" } else { "STANDARD" }));
    res.insert("scheduling".into(), Value::Object(sched));
    res.insert("cpuPlatform".into(), json!("Unknown CPU Platform"));
    res.insert("labelFingerprint".into(), json!("42WmSpB8rSM="));
    res.insert("startRestricted".into(), json!(false));
    res.insert(
        "deletionProtection".into(),
        body.get("deletionProtection")
            .cloned()
            .unwrap_or(json!(false)),
    );
    res.insert("fingerprint".into(), json!(fingerprint(st, &json!(name))));
    res.insert("selfLink".into(), json!(shared.link(&rel(&p, &z, &name))));
    st.instances.insert(
        key.clone(),
        Instance {
            res: Value::Object(res),
            pending_disks,
            attach_disks,
        },
    );
    Ok(operations::start(
        req,
        st,
        OpSpec {
            project: p.clone(),
            zone: Some(z.clone()),
            op_type: "insert",
            target: rel(&p, &z, &name),
            target_id: id,
            effect: Effect::InstanceInsert(key),
        },
    ))
}

fn set_running(inst: &mut Instance) {
    if let Some(o) = inst.res.as_object_mut() {
        o.insert("status".into(), json!("RUNNING"));
        o.insert("lastStartTimestamp".into(), json!(now_rfc3339()));
        o.insert("cpuPlatform".into(), json!("Intel Haswell"));
    }
}

/// Completion of `instances.insert`: creates/attaches disks, writes SSH keys, STAGING → RUNNING.
pub fn finish_insert(shared: &Arc<Shared>, st: &mut Store, key: &ZonalKey) -> Result<(), OpError> {
    let Some(inst) = st.instances.get(key) else {
        return Ok(());
    };
    if let Some((dkey, _)) = inst
        .pending_disks
        .iter()
        .find(|(k, _)| st.disks.contains_key(k))
    {
        let msg = format!(
            "The resource '{}' already exists",
            disks::rel(&dkey.0, &dkey.1, &dkey.2)
        );
        st.instances.remove(key);
        return Err(OpError {
            code: "RESOURCE_ALREADY_EXISTS".into(),
            message: msg,
            http_status: 409,
            http_message: "CONFLICT",
        });
    }
    let Some(inst) = st.instances.get_mut(key) else {
        return Ok(());
    };
    let pending = std::mem::take(&mut inst.pending_disks);
    let attach = std::mem::take(&mut inst.attach_disks);
    let self_link = inst.res.get("selfLink").cloned().unwrap_or(Value::Null);
    let items: Vec<Value> = inst
        .res
        .get("metadata")
        .and_then(|m| m.get("items"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let latency = shared.op_latency();
    if latency.is_zero() {
        set_running(inst);
    } else if let Some(o) = inst.res.as_object_mut() {
        o.insert("status".into(), json!("STAGING"));
        let shared2 = shared.clone();
        let key2 = key.clone();
        tokio::spawn(async move {
            tokio::time::sleep(latency).await;
            let mut st = lock(&shared2.store);
            if let Some(inst) = st.instances.get_mut(&key2)
                && status(&inst.res) == "STAGING"
            {
                set_running(inst);
            }
        });
    }
    for (dkey, dres) in pending {
        st.disks.insert(
            dkey,
            Disk {
                res: dres,
                imaging: None,
            },
        );
    }
    for dkey in attach {
        if let Some(d) = st.disks.get_mut(&dkey) {
            d.res["users"] = json!([self_link.clone()]);
            d.res["lastAttachTimestamp"] = json!(now_rfc3339());
        }
    }
    sync_ssh(shared, key, Some(&items));
    Ok(())
}

/// `instances.delete`. The instance is `STOPPING` until the operation completes; then it is
/// removed, auto-delete disks are deleted and the other disks detached.
pub fn delete(req: &Req, st: &mut Store) -> Result<Value, ApiError> {
    let key = key_of(req);
    let (p, z, n) = key.clone();
    let inst = st
        .instances
        .get_mut(&key)
        .ok_or_else(|| ApiError::not_found(&rel(&p, &z, &n)))?;
    if inst.res.get("deletionProtection").and_then(Value::as_bool) == Some(true) {
        return Err(ApiError::invalid(format!(
            "Invalid resource usage: 'Resource cannot be deleted if it's protected against deletion.'. Resource: '{}'",
            rel(&p, &z, &n)
        )));
    }
    let id = crate::compute::id_of(&inst.res);
    if status(&inst.res) != "PROVISIONING" {
        inst.res["status"] = json!("STOPPING");
    }
    Ok(operations::start(
        req,
        st,
        OpSpec {
            project: p.clone(),
            zone: Some(z.clone()),
            op_type: "delete",
            target: rel(&p, &z, &n),
            target_id: id,
            effect: Effect::InstanceDelete(key),
        },
    ))
}

/// Completion of `instances.delete`.
pub fn finish_delete(shared: &Arc<Shared>, st: &mut Store, key: &ZonalKey) -> Result<(), OpError> {
    let Some(inst) = st.instances.remove(key) else {
        return Ok(());
    };
    let self_link = inst
        .res
        .get("selfLink")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    for att in inst
        .res
        .get("disks")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(src) = att.get("source").and_then(Value::as_str) else {
            continue;
        };
        let Some(r) = parse_ref(shared, src, "disks", &key.0) else {
            continue;
        };
        let dkey = (r.project, r.location.unwrap_or_default(), r.name);
        if att.get("autoDelete").and_then(Value::as_bool) == Some(true) {
            st.disks.remove(&dkey);
        } else if let Some(d) = st.disks.get_mut(&dkey) {
            if let Some(users) = d.res.get_mut("users").and_then(Value::as_array_mut) {
                users.retain(|u| u.as_str() != Some(self_link.as_str()));
            }
            if d.res
                .get("users")
                .and_then(Value::as_array)
                .is_some_and(Vec::is_empty)
                && let Some(o) = d.res.as_object_mut()
            {
                o.remove("users");
                o.insert("lastDetachTimestamp".into(), json!(now_rfc3339()));
            }
        }
    }
    sync_ssh(shared, key, None);
    Ok(())
}

/// A failed delete leaves the instance running.
pub fn restore_after_failed_delete(_shared: &Arc<Shared>, st: &mut Store, key: &ZonalKey) {
    if let Some(inst) = st.instances.get_mut(key)
        && status(&inst.res) == "STOPPING"
    {
        inst.res["status"] = json!("RUNNING");
    }
}

/// `instances.setMetadata`: the body's `fingerprint` must match (412 `conditionNotMet`).
pub fn set_metadata(req: &Req, st: &mut Store) -> Result<Value, ApiError> {
    let key = key_of(req);
    let (p, z, n) = key.clone();
    let body = req.body_obj()?;
    let inst = st
        .instances
        .get(&key)
        .ok_or_else(|| ApiError::not_found(&rel(&p, &z, &n)))?;
    let current = inst
        .res
        .get("metadata")
        .and_then(|m| m.get("fingerprint"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let supplied = body
        .get("fingerprint")
        .and_then(Value::as_str)
        .unwrap_or("");
    if supplied != current {
        return Err(ApiError::condition_not_met(
            "Supplied fingerprint does not match current metadata fingerprint.",
        ));
    }
    let items = clean_items(body.get("items"), "metadata")?;
    let id = crate::compute::id_of(&inst.res);
    Ok(operations::start(
        req,
        st,
        OpSpec {
            project: p.clone(),
            zone: Some(z.clone()),
            op_type: "setMetadata",
            target: rel(&p, &z, &n),
            target_id: id,
            effect: Effect::SetMetadata(key, items),
        },
    ))
}

/// Completion of `instances.setMetadata`: new items and a new fingerprint; SSH keys synced.
pub fn finish_set_metadata(
    shared: &Arc<Shared>,
    st: &mut Store,
    key: &ZonalKey,
    items: &[Value],
) -> Result<(), OpError> {
    let fp = fingerprint(st, &json!(items));
    let Some(inst) = st.instances.get_mut(key) else {
        return Ok(());
    };
    inst.res["metadata"] = json!({"kind": "compute#metadata", "fingerprint": fp, "items": items});
    sync_ssh(shared, key, Some(items));
    Ok(())
}

/// `instances.getSerialPortOutput` (`port` 1..4, `start` may be negative).
pub fn serial_port(req: &Req, st: &mut Store) -> Result<Value, ApiError> {
    let key = key_of(req);
    let (p, z, n) = key.clone();
    let inst = st
        .instances
        .get(&key)
        .ok_or_else(|| ApiError::not_found(&rel(&p, &z, &n)))?;
    let port: u8 = req.q("port").and_then(|s| s.parse().ok()).unwrap_or(1);
    let created = inst
        .res
        .get("creationTimestamp")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let contents = if port == 1 && status(&inst.res) != "PROVISIONING" {
        let ip = &req.shared.instance_ip;
        format!(
            "SeaBIOS (version 1.8.2-google)\r\nBooting from Hard Disk 0...\r\n[    0.000000] Linux version 5.10.0-23-cloud-amd64\r\n\
             {created} {n} google_guest_agent[412]: GCE Agent Started (version 20230601.00).\r\n\
             {created} {n} google_guest_agent[412]: Adding existing user packer to google-sudoers group.\r\n\
             {created} {n} systemd[1]: Started OpenBSD Secure Shell server.\r\n\
             Debian GNU/Linux 11 {n} ttyS0\r\n{n} login: \r\n[gce-emulator] instance reachable at {ip}\r\n"
        )
    } else {
        String::new()
    };
    let len = contents.len() as i64;
    let start = req
        .q("start")
        .and_then(|s| s.parse::<i64>().ok())
        .unwrap_or(0);
    let from = if start < 0 {
        (len + start).max(0)
    } else {
        start.min(len)
    };
    let body = contents
        .get(usize::try_from(from).unwrap_or(0)..)
        .unwrap_or("");
    let port_q = if port == 1 {
        String::new()
    } else {
        format!("?port={port}")
    };
    Ok(json!({
        "kind": "compute#serialPortOutput",
        "contents": body,
        "start": from.to_string(),
        "next": len.to_string(),
        "selfLink": req.shared.link(&format!("{}/serialPort{port_q}", rel(&p, &z, &n))),
    }))
}
