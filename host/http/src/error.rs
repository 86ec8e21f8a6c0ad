//! The typed errors of the HTTP capability, safe to show to users and plugins.
//!
//! No message ever contains a request header, a request body or a URL's
//! query string or user info: those routinely carry bearer tokens.

use thiserror::Error;

/// Why a request made through the HTTP capability failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HttpError {
    /// The policy forbids the request; nothing was sent to `host`.
    #[error("plugin {plugin:?} may not reach host {host:?} (capability http): {reason}")]
    Denied {
        /// The plugin that made the request.
        plugin: String,
        /// The host (usually `host:port`) the request or a redirect targeted.
        host: String,
        /// Why the host is not reachable, e.g. `not granted`.
        reason: String,
    },
    /// The request did not complete within its deadline.
    #[error("request to {url} timed out")]
    Timeout {
        /// The request URL without user info, query or fragment.
        url: String,
    },
    /// No connection could be made (refused, unreachable, DNS failure, reset).
    #[error("could not connect to {host}: {message}")]
    Connect {
        /// The host that could not be reached.
        host: String,
        /// What went wrong.
        message: String,
    },
    /// The TLS handshake failed (bad certificate, not TLS, ...).
    #[error("TLS failure with {host}: {message}")]
    Tls {
        /// The host whose TLS handshake failed.
        host: String,
        /// What went wrong.
        message: String,
    },
    /// A request or response body exceeds its limit.
    #[error("body exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// Too many redirects were followed.
    #[error("more than {limit} redirects")]
    TooManyRedirects {
        /// The number of redirects allowed.
        limit: usize,
    },
    /// The server broke the HTTP protocol or the connection was lost mid-exchange.
    #[error("HTTP protocol error with {host}: {message}")]
    Protocol {
        /// The server's host.
        host: String,
        /// What went wrong.
        message: String,
    },
    /// The request is malformed (bad method, URL or header).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The request was cancelled by the caller.
    #[error("request cancelled")]
    Cancelled,
}
