//! Waiting for long-running operations (`compute#operation`).
//!
//! The client asks the server to wait (`POST .../operations/{name}/wait`,
//! which returns when the operation is DONE or after about two minutes) and
//! loops until DONE or the deadline. If the server does not offer `wait`
//! (404 or 501) it falls back on polling `GET .../operations/{name}` every
//! second. A DONE operation's `error` is reported at once.

use crate::compute::{ApiError, Client, OperationError, OperationErrorItem, escape_segment};
use crate::transport::Transport;
use serde_json::Value;
use std::time::Duration;

/// Where an operation lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// `projects/{p}/zones/{z}/operations`.
    Zone {
        /// Project.
        project: String,
        /// Zone.
        zone: String,
    },
    /// `projects/{p}/global/operations`.
    Global {
        /// Project.
        project: String,
    },
}

impl Scope {
    /// The path of operation `name`.
    pub fn path(&self, name: &str) -> String {
        match self {
            Scope::Zone { project, zone } => format!(
                "projects/{}/zones/{}/operations/{}",
                escape_segment(project),
                escape_segment(zone),
                escape_segment(name)
            ),
            Scope::Global { project } => format!(
                "projects/{}/global/operations/{}",
                escape_segment(project),
                escape_segment(name)
            ),
        }
    }
}

/// The fields of an operation the builder uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    /// `name`.
    pub name: String,
    /// `status`: `PENDING`, `RUNNING` or `DONE`.
    pub status: String,
    /// The operation's errors, when DONE with `error`.
    pub error: Option<OperationError>,
}

impl Operation {
    /// Reads an operation resource.
    pub fn parse(value: &Value) -> Result<Operation, ApiError> {
        let name = value
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| {
                ApiError::Decode("the API answered with an operation that has no name".to_string())
            })?
            .to_string();
        let status = value
            .get("status")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let error = value.get("error").filter(|e| !e.is_null()).map(|e| {
            let errors = e
                .get("errors")
                .and_then(Value::as_array)
                .map(|items| {
                    items
                        .iter()
                        .map(|i| OperationErrorItem {
                            code: i
                                .get("code")
                                .and_then(Value::as_str)
                                .unwrap_or_default()
                                .to_string(),
                            message: i
                                .get("message")
                                .and_then(Value::as_str)
                                .unwrap_or_default()
                                .to_string(),
                        })
                        .collect()
                })
                .unwrap_or_default();
            OperationError {
                name: name.clone(),
                errors,
                http_status: value
                    .get("httpErrorStatusCode")
                    .and_then(Value::as_u64)
                    .and_then(|c| u16::try_from(c).ok()),
            }
        });
        Ok(Operation {
            name,
            status,
            error,
        })
    }

    /// True once the operation is DONE.
    pub fn is_done(&self) -> bool {
        self.status == "DONE"
    }

    /// `Ok` for a DONE operation without errors, the errors for a failed one.
    pub fn result(&self) -> Result<(), ApiError> {
        match &self.error {
            Some(e) => Err(ApiError::Operation(e.clone())),
            None => Ok(()),
        }
    }
}

/// How long one server-side `wait` may take (the server returns after ~2 min).
pub const WAIT_CALL_MAX: Duration = Duration::from_secs(150);
/// The polling interval when `wait` is not available.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);

impl<T: Transport> Client<T> {
    /// Waits for `op` to be DONE within `timeout`; on timeout the error is
    /// `ApiError::Timeout(timeout_message)`.
    pub fn wait_operation(
        &mut self,
        op: Value,
        scope: &Scope,
        timeout: Duration,
        timeout_message: &str,
    ) -> Result<(), ApiError> {
        let mut op = Operation::parse(&op)?;
        let deadline = self.now() + timeout;
        let mut use_wait = true;
        loop {
            if op.is_done() {
                return op.result();
            }
            self.check_cancelled()?;
            let now = self.now();
            if now >= deadline {
                return Err(ApiError::Timeout(timeout_message.to_string()));
            }
            let path = scope.path(&op.name);
            if use_wait {
                let left = deadline.saturating_sub(now);
                let request_timeout = (left + Duration::from_secs(5)).min(WAIT_CALL_MAX);
                match self.call_until(
                    "POST",
                    &format!("{path}/wait"),
                    &[],
                    None,
                    deadline,
                    request_timeout,
                ) {
                    Ok(v) => op = Operation::parse(&v)?,
                    Err(ApiError::Google(g)) if g.code == 404 || g.code == 501 => {
                        use_wait = false;
                    }
                    Err(ApiError::Http { .. }) if self.now() >= deadline => {
                        return Err(ApiError::Timeout(timeout_message.to_string()));
                    }
                    Err(e) => return Err(e),
                }
            } else {
                self.pause(POLL_INTERVAL.min(deadline.saturating_sub(now)))?;
                match self.call_until(
                    "GET",
                    &path,
                    &[],
                    None,
                    deadline,
                    crate::compute::REQUEST_TIMEOUT,
                ) {
                    Ok(v) => op = Operation::parse(&v)?,
                    Err(ApiError::Http { .. }) if self.now() >= deadline => {
                        return Err(ApiError::Timeout(timeout_message.to_string()));
                    }
                    Err(e) => return Err(e),
                }
            }
        }
    }
}
