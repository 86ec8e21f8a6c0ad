//! GCE-shaped API errors (`{"error":{"code":..,"message":..,"errors":[..]}}`).

use serde_json::{Value, json};

/// An error returned synchronously by a Compute API method, rendered exactly the way
/// Google's front end renders it.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// HTTP status code (also `error.code`).
    pub status: u16,
    /// Human readable message (`error.message` and `error.errors[0].message`).
    pub message: String,
    /// `error.errors[0].reason`, e.g. `notFound`, `alreadyExists`, `invalid`.
    pub reason: &'static str,
    /// `error.errors[0].domain`, usually `global` (`usageLimits` for quota errors).
    pub domain: &'static str,
    /// Extra members merged into `error.errors[0]` (e.g. `location`, `locationType`).
    pub extra: Option<Box<Value>>,
    /// Optional top-level `error.status` (gRPC-style status such as `UNAUTHENTICATED`).
    pub grpc_status: Option<&'static str>,
    /// Extra response headers (e.g. `Retry-After`, `WWW-Authenticate`).
    pub headers: Vec<(&'static str, String)>,
}

impl ApiError {
    /// A bare error with the given status, reason and message (domain `global`).
    pub fn new(status: u16, reason: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            reason,
            domain: "global",
            extra: None,
            grpc_status: None,
            headers: Vec::new(),
        }
    }

    /// 404 `The resource '<path>' was not found`.
    pub fn not_found(resource_path: &str) -> Self {
        Self::new(
            404,
            "notFound",
            format!("The resource '{resource_path}' was not found"),
        )
    }

    /// 409 `The resource '<path>' already exists`.
    pub fn already_exists(resource_path: &str) -> Self {
        Self::new(
            409,
            "alreadyExists",
            format!("The resource '{resource_path}' already exists"),
        )
    }

    /// 400 `Invalid value for field '<field>': '<value>'. <detail>`.
    pub fn invalid_field(field: &str, value: &str, detail: &str) -> Self {
        let mut msg = format!("Invalid value for field '{field}': '{value}'.");
        if !detail.is_empty() {
            msg.push(' ');
            msg.push_str(detail);
        }
        Self::new(400, "invalid", msg)
    }

    /// 400 for a resource URL that does not parse.
    pub fn malformed_url(field: &str, value: &str) -> Self {
        Self::invalid_field(field, value, "The URL is malformed.")
    }

    /// 400 with reason `invalid` and a free-form message.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(400, "invalid", message)
    }

    /// 400 `required` (e.g. `Required field 'resource' not specified`).
    pub fn required(field: &str) -> Self {
        Self::new(
            400,
            "required",
            format!("Required field '{field}' not specified"),
        )
    }

    /// 400 `resourceInUseByAnotherResource`.
    pub fn in_use(resource_path: &str, user: &str) -> Self {
        Self::new(
            400,
            "resourceInUseByAnotherResource",
            format!("The disk resource '{resource_path}' is already being used by '{user}'"),
        )
    }

    /// 412 `conditionNotMet` for a stale fingerprint.
    pub fn condition_not_met(message: impl Into<String>) -> Self {
        Self::new(412, "conditionNotMet", message)
    }

    /// 403 `forbidden`.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(403, "forbidden", message)
    }

    /// 401: no credentials at all.
    pub fn login_required() -> Self {
        let mut e = Self::new(
            401,
            "required",
            "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
        );
        e.extra = Some(Box::new(
            json!({"message": "Login Required.", "location": "Authorization", "locationType": "header"}),
        ));
        e.grpc_status = Some("UNAUTHENTICATED");
        e.headers.push((
            "www-authenticate",
            "Bearer realm=\"https://accounts.google.com/\"".into(),
        ));
        e
    }

    /// 401: a token that is unknown or expired.
    pub fn invalid_credentials() -> Self {
        let mut e = Self::new(
            401,
            "authError",
            "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
        );
        e.extra = Some(Box::new(
            json!({"message": "Invalid Credentials", "location": "Authorization", "locationType": "header"}),
        ));
        e.grpc_status = Some("UNAUTHENTICATED");
        e.headers.push((
            "www-authenticate",
            "Bearer realm=\"https://accounts.google.com/\", error=\"invalid_token\"".into(),
        ));
        e
    }

    /// 403: the token lacks a compute scope.
    pub fn insufficient_scopes() -> Self {
        let mut e = Self::new(
            403,
            "insufficientPermissions",
            "Request had insufficient authentication scopes.",
        );
        e.grpc_status = Some("PERMISSION_DENIED");
        e.headers.push((
            "www-authenticate",
            "Bearer realm=\"https://accounts.google.com/\", error=\"insufficient_scope\"".into(),
        ));
        e
    }

    /// 429 `rateLimitExceeded` with `Retry-After: 1`.
    pub fn rate_limited() -> Self {
        let mut e = Self::new(429, "rateLimitExceeded", "Rate Limit Exceeded");
        e.domain = "usageLimits";
        e.headers.push(("retry-after", "1".into()));
        e
    }

    /// A 5xx `backendError`.
    pub fn backend_error(status: u16) -> Self {
        let msg = if status == 503 {
            "The service is currently unavailable."
        } else {
            "Internal error. Please try again or contact Google Support."
        };
        Self::new(status, "backendError", msg)
    }

    /// The JSON body, e.g. `{"error":{"code":404,"message":..,"errors":[..]}}`.
    pub fn body(&self) -> Value {
        let mut item =
            json!({"message": self.message, "domain": self.domain, "reason": self.reason});
        if let (Some(Value::Object(extra)), Some(obj)) =
            (self.extra.as_deref(), item.as_object_mut())
        {
            for (k, v) in extra {
                obj.insert(k.clone(), v.clone());
            }
        }
        let mut err = json!({"code": self.status, "message": self.message, "errors": [item]});
        if let (Some(s), Some(obj)) = (self.grpc_status, err.as_object_mut()) {
            obj.insert("status".into(), Value::String(s.into()));
        }
        json!({ "error": err })
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Error {}: {}, {}",
            self.status, self.message, self.reason
        )
    }
}

impl std::error::Error for ApiError {}
