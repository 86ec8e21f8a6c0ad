//! Request bodies of `instances.insert` and `images.insert`, and the
//! instance metadata (ssh-keys, startup script wrapper).
//!
//! Bodies never contain `null`: absent or empty optional fields are left out.

use crate::config::Settings;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// Metadata key of the startup script.
pub const STARTUP_SCRIPT_KEY: &str = "startup-script";
/// Metadata key the wrapped startup script sets when it ends.
pub const STARTUP_SCRIPT_STATUS_KEY: &str = "startup-script-status";
/// Metadata key holding the user's script when it is wrapped.
pub const STARTUP_WRAPPED_SCRIPT_KEY: &str = "packer-wrapped-startup-script";

/// Packer's Linux startup-script wrapper: runs the user's script from
/// `packer-wrapped-startup-script` and sets `startup-script-status` to
/// `done` or `error`.
pub const STARTUP_SCRIPT_LINUX: &str = r#"#!/usr/bin/env bash
echo "Packer startup script starting."
RETVAL=0
BASEMETADATAURL=http://metadata.google.internal/computeMetadata/v1/instance/

GetMetadata () {
  echo "$(curl -f -H "Metadata-Flavor: Google" ${BASEMETADATAURL}/${1} 2> /dev/null)"
}

ZONE=$(basename $(GetMetadata zone))

SetMetadata () {
  gcloud compute instances add-metadata ${HOSTNAME} --metadata ${1}=${2} --zone ${ZONE}
}

STARTUPSCRIPT=$(GetMetadata attributes/packer-wrapped-startup-script)
STARTUPSCRIPTPATH=/packer-wrapped-startup-script
if [ -f "/var/log/startupscript.log" ]; then
  STARTUPSCRIPTLOGPATH=/var/log/startupscript.log
else
  STARTUPSCRIPTLOGPATH=/var/log/daemon.log
fi
STARTUPSCRIPTLOGDEST=$(GetMetadata attributes/startup-script-log-dest)

if [[ ! -z $STARTUPSCRIPT ]]; then
  echo "Executing user-provided startup script..."
  echo "${STARTUPSCRIPT}" > ${STARTUPSCRIPTPATH}
  chmod +x ${STARTUPSCRIPTPATH}
  ${STARTUPSCRIPTPATH}
  RETVAL=$?

  if [[ ! -z $STARTUPSCRIPTLOGDEST ]]; then
    echo "Uploading user-provided startup script log to ${STARTUPSCRIPTLOGDEST}..."
    gsutil -h "Content-Type:text/plain" cp ${STARTUPSCRIPTLOGPATH} ${STARTUPSCRIPTLOGDEST}
  fi

  rm ${STARTUPSCRIPTPATH}
fi

if [ $RETVAL -ne 0  ]; then
  echo "Packer startup script exited with exit code: ${RETVAL}"
  SetMetadata startup-script-status error
else
  echo "Packer startup script done."
  SetMetadata startup-script-status done
fi

exit $RETVAL
"#;

/// The `ssh-keys` entry for `user`: `user:<type> <key> user`, the public key's
/// own comment dropped; a user-supplied `ssh-keys` value follows on the next line.
pub fn ssh_keys_value(user: &str, public_key: &str, existing: Option<&str>) -> String {
    let key: Vec<&str> = public_key.split_whitespace().take(2).collect();
    let mut value = format!("{user}:{} {user}", key.join(" "));
    if let Some(existing) = existing {
        value.push('\n');
        value.push_str(existing);
    }
    value
}

/// The instance's metadata items, in order: `ssh-keys` first, then the rest by key.
///
/// `metadata_files` holds the contents read from `metadata_files`;
/// `startup_script` the contents of `startup_script_file`, if any.
pub fn instance_metadata(
    settings: &Settings,
    ssh_user: &str,
    public_key: Option<&str>,
    metadata_files: &BTreeMap<String, String>,
    startup_script: Option<&str>,
) -> Vec<(String, String)> {
    let mut other: BTreeMap<String, String> = settings
        .metadata
        .iter()
        .filter(|(k, _)| k.as_str() != "ssh-keys")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let user_ssh_keys = settings.metadata.get("ssh-keys").map(String::as_str);
    let ssh_keys = match public_key {
        Some(pk) => Some(ssh_keys_value(ssh_user, pk, user_ssh_keys)),
        None => user_ssh_keys.map(str::to_string),
    };

    let script = match startup_script {
        Some(s) => s.to_string(),
        None => other.get(STARTUP_SCRIPT_KEY).cloned().unwrap_or_default(),
    };
    other.insert(STARTUP_SCRIPT_KEY.to_string(), script.clone());
    if !script.is_empty() && settings.wrap_startup_script {
        other.insert(
            STARTUP_SCRIPT_KEY.to_string(),
            STARTUP_SCRIPT_LINUX.to_string(),
        );
        other.insert(STARTUP_WRAPPED_SCRIPT_KEY.to_string(), script);
        other.insert(STARTUP_SCRIPT_STATUS_KEY.to_string(), "notdone".to_string());
    }
    for (k, v) in metadata_files {
        other.insert(k.clone(), v.clone());
    }
    let mut items = Vec::new();
    if let Some(v) = ssh_keys {
        items.push(("ssh-keys".to_string(), v));
    }
    items.extend(other);
    items
}

/// True if the instance metadata makes the build wait for the startup script.
pub fn waits_for_startup_script(items: &[(String, String)]) -> bool {
    items
        .iter()
        .any(|(k, v)| k == STARTUP_SCRIPT_STATUS_KEY && v == "notdone")
}

/// `network` as the API wants it (Packer's `getNetworking`).
pub fn network_url(settings: &Settings) -> Option<String> {
    let network = settings.network.as_deref()?;
    Some(match network {
        "default" => "global/networks/default".to_string(),
        n if n.contains('/') => n.to_string(),
        n => format!(
            "projects/{}/global/networks/{n}",
            settings.network_project_id
        ),
    })
}

/// `subnetwork` as the API wants it.
pub fn subnetwork_url(settings: &Settings) -> Option<String> {
    let sub = settings.subnetwork.as_deref()?;
    Some(if sub.contains('/') {
        sub.to_string()
    } else {
        format!(
            "projects/{}/regions/{}/subnetworks/{sub}",
            settings.network_project_id, settings.region
        )
    })
}

/// The `instances.insert` body.
pub fn instance_body(
    settings: &Settings,
    source_image_link: &str,
    machine_type_link: &str,
    nat_ip: Option<&str>,
    metadata: &[(String, String)],
) -> Value {
    let mut body = Map::new();
    body.insert("name".into(), json!(settings.instance_name));
    body.insert(
        "description".into(),
        json!("New instance created by Packer"),
    );
    body.insert("machineType".into(), json!(machine_type_link));

    let mut init = Map::new();
    init.insert("sourceImage".into(), json!(source_image_link));
    init.insert("diskName".into(), json!(settings.disk_name));
    init.insert(
        "diskSizeGb".into(),
        json!(settings.disk_size_gb.to_string()),
    );
    init.insert(
        "diskType".into(),
        json!(format!(
            "zones/{}/diskTypes/{}",
            settings.zone, settings.disk_type
        )),
    );
    body.insert(
        "disks".into(),
        json!([{
            "type": "PERSISTENT",
            "mode": "READ_WRITE",
            "kind": "compute#attachedDisk",
            "boot": true,
            // The image is made from the boot disk after the instance is gone.
            "autoDelete": false,
            "initializeParams": init,
        }]),
    );

    if settings.accelerator_count > 0
        && let Some(t) = &settings.accelerator_type
    {
        body.insert(
            "guestAccelerators".into(),
            json!([{ "acceleratorCount": settings.accelerator_count, "acceleratorType": t }]),
        );
    }
    if !settings.labels.is_empty() {
        body.insert("labels".into(), json!(settings.labels));
    }
    let items: Vec<Value> = metadata
        .iter()
        .map(|(k, v)| json!({ "key": k, "value": v }))
        .collect();
    body.insert("metadata".into(), json!({ "items": items }));
    if let Some(p) = &settings.min_cpu_platform {
        body.insert("minCpuPlatform".into(), json!(p));
    }

    let mut nic = Map::new();
    if !settings.omit_external_ip {
        let mut ac = Map::new();
        ac.insert("name".into(), json!("AccessConfig created by Packer"));
        ac.insert("type".into(), json!("ONE_TO_ONE_NAT"));
        if let Some(ip) = nat_ip.filter(|ip| !ip.is_empty()) {
            ac.insert("natIP".into(), json!(ip));
        }
        nic.insert("accessConfigs".into(), json!([ac]));
    }
    if let Some(n) = network_url(settings) {
        nic.insert("network".into(), json!(n));
    }
    if let Some(s) = subnetwork_url(settings) {
        nic.insert("subnetwork".into(), json!(s));
    }
    if let Some(ip) = &settings.network_ip {
        nic.insert("networkIP".into(), json!(ip));
    }
    body.insert("networkInterfaces".into(), json!([nic]));

    let mut scheduling = Map::new();
    scheduling.insert(
        "onHostMaintenance".into(),
        json!(settings.on_host_maintenance),
    );
    if settings.preemptible {
        scheduling.insert("preemptible".into(), json!(true));
    }
    body.insert("scheduling".into(), Value::Object(scheduling));

    if !settings.disable_default_service_account || settings.service_account_email.is_some() {
        let email = settings
            .service_account_email
            .clone()
            .unwrap_or_else(|| "default".to_string());
        body.insert(
            "serviceAccounts".into(),
            json!([{ "email": email, "scopes": settings.scopes }]),
        );
    }
    if settings.shielded() {
        body.insert(
            "shieldedInstanceConfig".into(),
            json!({
                "enableSecureBoot": settings.enable_secure_boot,
                "enableVtpm": settings.enable_vtpm,
                "enableIntegrityMonitoring": settings.enable_integrity_monitoring,
            }),
        );
    }
    if settings.enable_nested_virtualization {
        body.insert(
            "advancedMachineFeatures".into(),
            json!({ "enableNestedVirtualization": true }),
        );
    }
    if !settings.tags.is_empty() {
        body.insert("tags".into(), json!({ "items": settings.tags }));
    }
    strip_nulls(Value::Object(body))
}

/// The boot disk's URL, the image's `sourceDisk`:
/// `<base>projects/<p>/zones/<z>/disks/<disk>`.
pub fn source_disk_url(compute_base: &str, settings: &Settings) -> String {
    format!(
        "{compute_base}projects/{}/zones/{}/disks/{}",
        settings.project_id, settings.zone, settings.disk_name
    )
}

/// The `images.insert` body.
pub fn image_body(settings: &Settings, source_disk: &str) -> Value {
    let mut body = Map::new();
    body.insert("name".into(), json!(settings.image_name));
    body.insert("description".into(), json!(settings.image_description));
    if let Some(f) = &settings.image_family {
        body.insert("family".into(), json!(f));
    }
    if !settings.image_labels.is_empty() {
        body.insert("labels".into(), json!(settings.image_labels));
    }
    if !settings.image_licenses.is_empty() {
        body.insert("licenses".into(), json!(settings.image_licenses));
    }
    if !settings.image_guest_os_features.is_empty() {
        let features: Vec<Value> = settings
            .image_guest_os_features
            .iter()
            .map(|t| json!({ "type": t }))
            .collect();
        body.insert("guestOsFeatures".into(), json!(features));
    }
    body.insert("sourceDisk".into(), json!(source_disk));
    body.insert("sourceType".into(), json!("RAW"));
    if !settings.image_storage_locations.is_empty() {
        body.insert(
            "storageLocations".into(),
            json!(settings.image_storage_locations),
        );
    }
    strip_nulls(Value::Object(body))
}

/// Removes `null` object members and array entries, recursively.
pub fn strip_nulls(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, strip_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .filter(|v| !v.is_null())
                .map(strip_nulls)
                .collect(),
        ),
        other => other,
    }
}
