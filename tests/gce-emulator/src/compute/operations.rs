//! Operations: creation, completion (after the configured latency), `get` and `wait`.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::compute::Req;
use crate::error::ApiError;
use crate::faults::op_error_details;
use crate::state::{Effect, OpKey, Operation, Shared, Store, lock, now_rfc3339};

/// An error recorded in a `DONE` operation.
#[derive(Debug, Clone, PartialEq)]
pub struct OpError {
    /// e.g. `QUOTA_EXCEEDED`, `RESOURCE_ALREADY_EXISTS`.
    pub code: String,
    /// Message.
    pub message: String,
    /// `httpErrorStatusCode`.
    pub http_status: u16,
    /// `httpErrorMessage`.
    pub http_message: &'static str,
}

/// What a new operation is about.
#[derive(Debug)]
pub struct OpSpec {
    /// Project.
    pub project: String,
    /// Zone for zonal operations, `None` for global.
    pub zone: Option<String>,
    /// `insert`, `delete`, `setMetadata`, ...
    pub op_type: &'static str,
    /// Target resource relative path (`projects/p/zones/z/instances/i`).
    pub target: String,
    /// Target resource id.
    pub target_id: String,
    /// Effect on completion.
    pub effect: Effect,
}

fn hex(st: &mut Store, digits: usize) -> String {
    let v = st.ids.next_u64();
    let s = format!("{v:016x}");
    s[16 - digits..].to_string()
}

/// Creates an operation (`RUNNING`), decides injected op faults, and schedules completion
/// after the op latency (immediately when the latency is zero). Returns the operation JSON
/// as it should be sent back to the caller.
pub fn start(req: &Req, st: &mut Store, spec: OpSpec) -> Value {
    let shared = &req.shared;
    let millis = chrono::Utc::now().timestamp_millis();
    let name = format!(
        "operation-{millis}-{}-{}-{}",
        hex(st, 13),
        hex(st, 8),
        hex(st, 8)
    );
    let id = st.new_id();
    let fail = lock(&shared.faults).op_fault(req.method_id);
    let self_rel = match &spec.zone {
        Some(z) => format!("projects/{}/zones/{z}/operations/{name}", spec.project),
        None => format!("projects/{}/global/operations/{name}", spec.project),
    };
    let now = now_rfc3339();
    let mut res = json!({
        "kind": "compute#operation",
        "id": id,
        "name": name,
        "operationType": spec.op_type,
        "targetLink": shared.link(&spec.target),
        "targetId": spec.target_id,
        "status": "RUNNING",
        "user": req.user,
        "progress": 0,
        "insertTime": now,
        "startTime": now,
        "selfLink": shared.link(&self_rel),
    });
    if let (Some(z), Some(obj)) = (&spec.zone, res.as_object_mut()) {
        obj.insert(
            "zone".into(),
            Value::String(shared.link(&format!("projects/{}/zones/{z}", spec.project))),
        );
    }
    let key: OpKey = (spec.project.clone(), spec.zone.clone(), name);
    st.operations.insert(
        key.clone(),
        Operation {
            res,
            effect: spec.effect,
            fail,
        },
    );
    let latency = shared.op_latency();
    if latency.is_zero() {
        complete(shared, st, &key);
    } else {
        let shared = shared.clone();
        let key = key.clone();
        tokio::spawn(async move {
            tokio::time::sleep(latency).await;
            let mut st = lock(&shared.store);
            complete(&shared, &mut st, &key);
        });
    }
    st.operations
        .get(&key)
        .map(|o| o.res.clone())
        .unwrap_or(Value::Null)
}

/// Completes an operation: applies its effect (or its injected error), marks it `DONE`
/// and wakes waiters. Idempotent.
pub fn complete(shared: &Arc<Shared>, st: &mut Store, key: &OpKey) {
    let Some(op) = st.operations.get(key) else {
        return;
    };
    if op.is_done() {
        return;
    }
    let effect = op.effect.clone();
    let result = match op.fail.clone() {
        Some(code) => {
            rollback(shared, st, &effect);
            let (message, http_status, http_message) =
                op_error_details(&code, &key.0, key.1.as_deref());
            Err(OpError {
                code,
                message,
                http_status,
                http_message,
            })
        }
        None => apply(shared, st, &effect),
    };
    if let Some(op) = st.operations.get_mut(key)
        && let Some(obj) = op.res.as_object_mut()
    {
        obj.insert("status".into(), json!("DONE"));
        obj.insert("progress".into(), json!(100));
        obj.insert("endTime".into(), json!(now_rfc3339()));
        if let Err(e) = result {
            obj.insert(
                "error".into(),
                json!({"errors": [{"code": e.code, "message": e.message}]}),
            );
            obj.insert("httpErrorStatusCode".into(), json!(e.http_status));
            obj.insert("httpErrorMessage".into(), json!(e.http_message));
        }
    }
    shared.op_done.notify_waiters();
}

fn apply(shared: &Arc<Shared>, st: &mut Store, effect: &Effect) -> Result<(), OpError> {
    use crate::compute::{disks, images, instances};
    match effect {
        Effect::InstanceInsert(k) => instances::finish_insert(shared, st, k),
        Effect::InstanceDelete(k) => instances::finish_delete(shared, st, k),
        Effect::SetMetadata(k, items) => instances::finish_set_metadata(shared, st, k, items),
        Effect::DiskInsert(k) => disks::finish_insert(st, k),
        Effect::DiskDelete(k) => {
            st.disks.remove(k);
            Ok(())
        }
        Effect::ImageInsert(k) => images::finish_insert(st, k),
        Effect::ImageDelete(k) => {
            st.images.remove(k);
            Ok(())
        }
        Effect::ImageDeprecate(k, status) => images::finish_deprecate(st, k, status.clone()),
    }
}

fn rollback(shared: &Arc<Shared>, st: &mut Store, effect: &Effect) {
    use crate::compute::{images, instances};
    match effect {
        Effect::InstanceInsert(k) => {
            st.instances.remove(k);
        }
        Effect::InstanceDelete(k) => instances::restore_after_failed_delete(shared, st, k),
        Effect::DiskInsert(k) => {
            st.disks.remove(k);
        }
        Effect::ImageInsert(k) => images::rollback_insert(st, k),
        Effect::SetMetadata(..)
        | Effect::DiskDelete(_)
        | Effect::ImageDelete(_)
        | Effect::ImageDeprecate(..) => {}
    }
}

fn op_key(req: &Req) -> OpKey {
    let zone = match req.method_id {
        "compute.zoneOperations.get" | "compute.zoneOperations.wait" => {
            Some(req.p("zone").to_string())
        }
        _ => None,
    };
    (
        req.p("project").to_string(),
        zone,
        req.p("operation").to_string(),
    )
}

/// The key of an operation resource (from its `selfLink`), `None` for anything else.
pub fn key_of(op: &Value) -> Option<OpKey> {
    if op.get("kind").and_then(Value::as_str) != Some("compute#operation") {
        return None;
    }
    let link = op.get("selfLink").and_then(Value::as_str)?;
    let rel = &link[link.find("/projects/")? + 1..];
    let parts: Vec<&str> = rel.split('/').collect();
    match parts.as_slice() {
        ["projects", p, "zones", z, "operations", n] => {
            Some((p.to_string(), Some(z.to_string()), n.to_string()))
        }
        ["projects", p, "global", "operations", n] => Some((p.to_string(), None, n.to_string())),
        _ => None,
    }
}

fn op_rel(key: &OpKey) -> String {
    match &key.1 {
        Some(z) => format!("projects/{}/zones/{z}/operations/{}", key.0, key.2),
        None => format!("projects/{}/global/operations/{}", key.0, key.2),
    }
}

/// `zoneOperations.get` / `globalOperations.get`.
pub fn get(req: &Req, st: &mut Store) -> Result<Value, ApiError> {
    let key = op_key(req);
    st.operations
        .get(&key)
        .map(|o| o.res.clone())
        .ok_or_else(|| ApiError::not_found(&op_rel(&key)))
}

/// `zoneOperations.wait` / `globalOperations.wait`: blocks until the operation is `DONE`
/// or the wait timeout (~2 minutes) passes, then returns the operation as it is.
pub async fn wait(req: &Req) -> Result<Value, ApiError> {
    let key = op_key(req);
    let shared = &req.shared;
    let deadline = tokio::time::Instant::now() + shared.wait_timeout;
    loop {
        let notified = shared.op_done.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        {
            let st = lock(&shared.store);
            match st.operations.get(&key) {
                None => return Err(ApiError::not_found(&op_rel(&key))),
                Some(op) if op.is_done() || tokio::time::Instant::now() >= deadline => {
                    return Ok(op.res.clone());
                }
                Some(_) => {}
            }
        }
        tokio::select! {
            _ = notified => {}
            _ = tokio::time::sleep_until(deadline) => {}
        }
    }
}
