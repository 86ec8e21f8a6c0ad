//! Outbound HTTP(S) through the host: the only network a plugin has.
//!
//! Needs [`crate::Capability::Http`]. Requests to hosts that were not granted
//! fail with [`HttpError::Denied`] and nothing is sent.

use crate::bindings::packer::plugin::http as host;
use std::fmt;
use std::time::Duration;

/// An HTTP request under construction.
#[derive(Clone, PartialEq, Eq)]
pub struct Request {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    timeout: Option<Duration>,
}

impl fmt::Debug for Request {
    // Headers may carry bearer tokens: never print them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}

impl Request {
    /// A request with this method and URL, no headers and an empty body.
    pub fn new(method: &str, url: impl Into<String>) -> Self {
        Request {
            method: method.to_string(),
            url: url.into(),
            headers: Vec::new(),
            body: Vec::new(),
            timeout: None,
        }
    }

    /// `GET url`.
    pub fn get(url: impl Into<String>) -> Self {
        Self::new("GET", url)
    }

    /// `POST url`.
    pub fn post(url: impl Into<String>) -> Self {
        Self::new("POST", url)
    }

    /// `DELETE url`.
    pub fn delete(url: impl Into<String>) -> Self {
        Self::new("DELETE", url)
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// Sets a JSON body and its `Content-Type`.
    pub fn json(self, value: &serde_json::Value) -> Self {
        self.header("Content-Type", "application/json")
            .body(value.to_string())
    }

    /// Sets the whole-request deadline.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Sends the request through the host and waits for the response.
    pub fn send(self) -> Result<Response, HttpError> {
        let timeout_ms = self
            .timeout
            .map(|t| u32::try_from(t.as_millis()).unwrap_or(u32::MAX));
        let request = host::Request {
            method: self.method,
            url: self.url,
            headers: self.headers,
            body: self.body,
            timeout_ms,
        };
        host::send(&request)
            .map(|r| Response {
                status: r.status,
                headers: r.headers,
                body: r.body,
            })
            .map_err(Into::into)
    }
}

/// A response, whatever its status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// HTTP status code.
    pub status: u16,
    /// Headers, in order.
    pub headers: Vec<(String, String)>,
    /// The whole body.
    pub body: Vec<u8>,
}

impl Response {
    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as (lossy) UTF-8 text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// True for 2xx statuses.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Why no response came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpError {
    /// The host was not granted to this plugin; nothing was sent.
    Denied(String),
    /// No answer within the deadline.
    Timeout(String),
    /// The connection could not be made.
    Connect(String),
    /// The TLS handshake failed.
    Tls(String),
    /// A body exceeded the host's limit (bytes).
    TooLarge(u64),
    /// The request was malformed.
    InvalidRequest(String),
    /// The build was cancelled.
    Cancelled,
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::Denied(m)
            | HttpError::Timeout(m)
            | HttpError::Connect(m)
            | HttpError::Tls(m)
            | HttpError::InvalidRequest(m) => f.write_str(m),
            HttpError::TooLarge(limit) => write!(f, "body exceeds the limit of {limit} bytes"),
            HttpError::Cancelled => f.write_str("request cancelled"),
        }
    }
}

impl std::error::Error for HttpError {}

impl From<host::HttpError> for HttpError {
    fn from(e: host::HttpError) -> Self {
        match e {
            host::HttpError::Denied(m) => HttpError::Denied(m),
            host::HttpError::Timeout(m) => HttpError::Timeout(m),
            host::HttpError::Connect(m) => HttpError::Connect(m),
            host::HttpError::Tls(m) => HttpError::Tls(m),
            host::HttpError::TooLarge(n) => HttpError::TooLarge(n),
            host::HttpError::InvalidRequest(m) => HttpError::InvalidRequest(m),
            host::HttpError::Cancelled => HttpError::Cancelled,
        }
    }
}
