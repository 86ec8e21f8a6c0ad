//! HTTP front end: OAuth2 token endpoint, Compute routes, control endpoints, request log.

use std::sync::Arc;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use hyper::{Request, Response, StatusCode};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::auth::TokenCheck;
use crate::compute::{self, Req, operations};
use crate::error::ApiError;
use crate::faults::{FaultKind, FaultUpdate};
use crate::state::{RequestRecord, Shared, lock};

/// Returned by the service to make hyper drop the connection without a response.
#[derive(Debug)]
pub struct ConnectionReset;

impl std::fmt::Display for ConnectionReset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("injected connection reset")
    }
}

impl std::error::Error for ConnectionReset {}

type Resp = Response<Full<Bytes>>;

const MAX_BODY: usize = 32 * 1024 * 1024;
/// The request log keeps at most this many entries (the oldest half is dropped when full).
const MAX_LOG: usize = 50_000;

/// Accepts connections until `shutdown` flips to `true`.
pub async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut conns = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() { break; }
            }
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                let shared = shared.clone();
                conns.spawn(async move {
                    let svc = hyper::service::service_fn(move |req| handle(shared.clone(), req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .keep_alive(true)
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                        .await;
                });
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    conns.abort_all();
}

fn json_response(status: u16, body: &Value, pretty: bool) -> Resp {
    let bytes = if pretty {
        serde_json::to_vec_pretty(body)
    } else {
        serde_json::to_vec(body)
    }
    .unwrap_or_default();
    let mut r = Response::new(Full::new(Bytes::from(bytes)));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=UTF-8"),
    );
    r
}

fn error_response(e: &ApiError, pretty: bool) -> Resp {
    let mut r = json_response(e.status, &e.body(), pretty);
    for (k, v) in &e.headers {
        if let Ok(v) = HeaderValue::from_str(v) {
            r.headers_mut().insert(*k, v);
        }
    }
    r
}

fn parse_query(q: Option<&str>) -> Vec<(String, String)> {
    q.map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default()
}

fn loggable_path(path: &str, query: &[(String, String)]) -> String {
    let kept: Vec<String> = query
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "access_token" | "oauth_token" | "key"))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if kept.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", kept.join("&"))
    }
}

async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Result<Resp, ConnectionReset> {
    let method = req.method().as_str().to_string();
    let path = req.uri().path().to_string();
    let query = parse_query(req.uri().query());
    let headers = req.headers().clone();
    let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(c) => c.to_bytes(),
        Err(_) => {
            return Ok(error_response(
                &ApiError::new(413, "badRequest", "Request body too large or unreadable."),
                true,
            ));
        }
    };
    let log_path = loggable_path(&path, &query);
    if let Some(rest) = path.strip_prefix("/emulator/v1/") {
        return Ok(control(&shared, &method, rest, &body));
    }
    let (result, method_id) = if path == "/token" || path == "/oauth2/v4/token" {
        (
            Ok(token(&shared, &method, &headers, &body)),
            Some("oauth2.token".to_string()),
        )
    } else if let Some(rest) = path.strip_prefix("/compute/v1/") {
        let (r, id) = compute_request(&shared, &method, rest, &headers, query, &body).await;
        (r, id.map(str::to_string))
    } else {
        let e = ApiError::new(
            404,
            "notFound",
            format!("The requested URL {path} was not found on this server."),
        );
        (Ok(error_response(&e, true)), None)
    };
    let status = match &result {
        Ok(r) => r.status().as_u16(),
        Err(_) => 0,
    };
    {
        let mut st = lock(&shared.store);
        if st.requests.len() >= MAX_LOG {
            st.requests.drain(..MAX_LOG / 2);
        }
        st.requests.push(RequestRecord {
            method,
            path: log_path,
            status,
            method_id,
        });
    }
    result
}

fn token(shared: &Shared, method: &str, headers: &hyper::HeaderMap, body: &[u8]) -> Resp {
    if method != "POST" {
        return json_response(
            405,
            &json!({"error": "invalid_request", "error_description": "Only POST is supported."}),
            false,
        );
    }
    let is_json = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let form: Vec<(String, String)> = if is_json {
        serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|v| v.as_object().cloned())
            .map(|o| {
                o.into_iter()
                    .filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_string())))
                    .collect()
            })
            .unwrap_or_default()
    } else {
        form_urlencoded::parse(body).into_owned().collect()
    };
    let audiences = vec![
        format!("{}/token", shared.base_url),
        "https://oauth2.googleapis.com/token".to_string(),
        "https://www.googleapis.com/oauth2/v4/token".to_string(),
        "https://accounts.google.com/o/oauth2/token".to_string(),
    ];
    let result =
        lock(&shared.tokens).exchange(&form, &shared.service_account, &audiences, shared.token_ttl);
    match result {
        Ok(v) => {
            let mut r = json_response(200, &v, false);
            r.headers_mut().insert(
                "cache-control",
                HeaderValue::from_static("no-cache, no-store, max-age=0, must-revalidate"),
            );
            r
        }
        Err(e) => json_response(400, &e.body(), false),
    }
}

fn bearer(headers: &hyper::HeaderMap, query: &[(String, String)]) -> Option<String> {
    if let Some(v) = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let mut parts = v.splitn(2, ' ');
        let scheme = parts.next().unwrap_or("");
        let tok = parts.next().unwrap_or("").trim();
        return (scheme.eq_ignore_ascii_case("bearer") && !tok.is_empty()).then(|| tok.to_string());
    }
    query
        .iter()
        .find(|(k, _)| k == "access_token" || k == "oauth_token")
        .map(|(_, v)| v.clone())
}

fn not_implemented_or_404(
    shared: &Shared,
    method: &str,
    segments: &[String],
    rest: &str,
) -> ApiError {
    if let Some(d) = &shared.discovery {
        for (id, m, tmpl) in d.all_methods() {
            if m == method && compute::match_template(&tmpl, segments).is_some() {
                return ApiError::new(
                    501,
                    "notImplemented",
                    format!("Method {id} is not implemented by gce-emulator."),
                );
            }
        }
    }
    ApiError::new(
        404,
        "notFound",
        format!("The requested URL /compute/v1/{rest} was not found on this server."),
    )
}

async fn compute_request(
    shared: &Arc<Shared>,
    method: &str,
    rest: &str,
    headers: &hyper::HeaderMap,
    query: Vec<(String, String)>,
    body: &[u8],
) -> (Result<Resp, ConnectionReset>, Option<&'static str>) {
    let pretty = !query
        .iter()
        .any(|(k, v)| k == "prettyPrint" && (v == "false" || v == "0"));
    let readonly = method == "GET";
    let user = match lock(&shared.tokens).check(bearer(headers, &query).as_deref(), readonly) {
        TokenCheck::Ok(email) => email,
        TokenCheck::Missing => {
            return (
                Ok(error_response(&ApiError::login_required(), pretty)),
                None,
            );
        }
        TokenCheck::Invalid => {
            return (
                Ok(error_response(&ApiError::invalid_credentials(), pretty)),
                None,
            );
        }
        TokenCheck::InsufficientScope => {
            return (
                Ok(error_response(&ApiError::insufficient_scopes(), pretty)),
                None,
            );
        }
    };
    let segments: Vec<String> = rest
        .trim_end_matches('/')
        .split('/')
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect();
    let Some((method_id, params)) = compute::route(method, &segments) else {
        return (
            Ok(error_response(
                &not_implemented_or_404(shared, method, &segments, rest),
                pretty,
            )),
            None,
        );
    };
    let fault = lock(&shared.faults).request_fault(method_id);
    match fault {
        Some(FaultKind::Reset) => return (Err(ConnectionReset), Some(method_id)),
        Some(FaultKind::Http(429)) => {
            return (
                Ok(error_response(&ApiError::rate_limited(), pretty)),
                Some(method_id),
            );
        }
        Some(FaultKind::Http(code)) if code >= 500 => {
            return (
                Ok(error_response(&ApiError::backend_error(code), pretty)),
                Some(method_id),
            );
        }
        Some(FaultKind::Http(code)) => {
            let e = ApiError::new(
                code,
                "injectedFault",
                format!("Injected HTTP {code} fault."),
            );
            return (Ok(error_response(&e, pretty)), Some(method_id));
        }
        Some(FaultKind::Op(_) | FaultKind::ResetAfter) | None => {}
    }
    let result = run_compute(shared, method, method_id, params, query, body, user).await;
    if fault == Some(FaultKind::ResetAfter) {
        // Done, but the caller never hears of it.
        return (Err(ConnectionReset), Some(method_id));
    }
    let resp = match result {
        Ok(v) => json_response(200, &v, pretty),
        Err(e) => error_response(&e, pretty),
    };
    (Ok(resp), Some(method_id))
}

async fn run_compute(
    shared: &Arc<Shared>,
    method: &str,
    method_id: &'static str,
    params: Vec<(&'static str, String)>,
    query: Vec<(String, String)>,
    body: &[u8],
    user: String,
) -> Result<Value, ApiError> {
    let takes_body = method == "POST" && !method_id.ends_with(".wait");
    let body: Option<Value> = if takes_body && !body.iter().all(u8::is_ascii_whitespace) {
        Some(serde_json::from_slice(body).map_err(|e| {
            ApiError::new(
                400,
                "parseError",
                format!("Invalid JSON payload received. {e}"),
            )
        })?)
    } else {
        None
    };
    if let Some(d) = &shared.discovery {
        d.validate_params(method_id, &params, &query)?;
        if takes_body {
            d.validate_body(method_id, body.as_ref())?;
        }
    }
    let req = Req {
        shared: shared.clone(),
        method_id,
        params: params.into_iter().collect(),
        query,
        body,
        user,
    };
    if method_id.ends_with(".wait") {
        return operations::wait(&req).await;
    }
    // A mutation repeated with the same `requestId` gets the first one's operation, as
    // on GCE: that is what makes retrying a mutation whose answer was lost safe.
    let request_id = (method != "GET")
        .then(|| req.q("requestId"))
        .flatten()
        .filter(|r| !r.is_empty())
        .map(|r| format!("{method_id} {r}"));
    let mut st = lock(&shared.store);
    if let Some(rid) = &request_id
        && let Some(op) = st
            .request_ids
            .get(rid)
            .and_then(|key| st.operations.get(key))
    {
        return Ok(op.res.clone());
    }
    let result = compute::dispatch(&req, &mut st)?;
    if let Some(rid) = request_id
        && let Some(key) = operations::key_of(&result)
    {
        st.request_ids.insert(rid, key);
    }
    Ok(result)
}

fn control(shared: &Arc<Shared>, method: &str, rest: &str, body: &[u8]) -> Resp {
    match (method, rest) {
        ("GET", "state") => json_response(200, &shared.snapshot(), true),
        ("POST", "reset") => {
            shared.reset();
            lock(&shared.faults).clear_injected();
            json_response(200, &json!({"reset": true}), true)
        }
        ("GET", "faults") => {
            let mut v = lock(&shared.faults).describe();
            v["opLatencyMs"] = json!(shared.op_latency().as_millis() as u64);
            json_response(200, &v, true)
        }
        ("POST", "faults") => {
            let update: FaultUpdate = match serde_json::from_slice(body) {
                Ok(u) => u,
                Err(e) => {
                    return json_response(
                        400,
                        &json!({"error": format!("invalid fault update: {e}")}),
                        true,
                    );
                }
            };
            if let Err(e) = lock(&shared.faults).update(&update) {
                return json_response(400, &json!({"error": e}), true);
            }
            if let Some(ms) = update.op_latency_ms {
                shared.set_op_latency(ms);
            }
            let mut v = lock(&shared.faults).describe();
            v["opLatencyMs"] = json!(shared.op_latency().as_millis() as u64);
            json_response(200, &v, true)
        }
        ("GET", "service-account") => match shared
            .service_account
            .to_json(&format!("{}/token", shared.base_url))
        {
            Ok(v) => json_response(200, &v, true),
            Err(e) => json_response(500, &json!({"error": e}), true),
        },
        _ => json_response(
            404,
            &json!({"error": format!("unknown control endpoint {method} /emulator/v1/{rest}")}),
            true,
        ),
    }
}
