//! The host's HTTP capability: the only way a sandboxed plugin reaches the network.
//!
//! A plugin's requests go through an [`HttpClient`] built from its
//! [`HttpPolicy`] (deny by default; see [`Grant`]) and [`HttpLimits`]:
//!
//! 1. the URL's scheme, host and port must match a grant, or the request is
//!    [`HttpError::Denied`] before any DNS lookup or connection;
//! 2. resolved addresses are filtered inside the connector's resolver
//!    ([`PolicyResolver`]), so granted names cannot lead to loopback, private,
//!    link-local or cloud-metadata addresses unless granted explicitly;
//! 3. redirects are followed (at most [`MAX_REDIRECTS`]) only to URLs the
//!    policy allows;
//! 4. bodies are size-capped and read incrementally, requests have deadlines,
//!    can be cancelled, and run at most [`HttpLimits::max_concurrent`] at once.
//!
//! Errors never contain request headers, bodies or URL queries.

#![deny(missing_docs)]

mod client;
mod error;
mod grant;
mod policy;
mod resolve;

pub use client::{HttpClient, HttpLimits, HttpRequest, HttpResponse, MAX_REDIRECTS};
pub use error::HttpError;
pub use grant::{Grant, GrantHost};
pub use policy::{AddressClass, HttpPolicy, METADATA_ADDRESSES, METADATA_HOST};
pub use resolve::{AddressDenied, HostOverrides, PolicyResolver};
