//! Grants: the hosts (and ports and schemes) one plugin is allowed to reach.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use url::{Host, Url};

use crate::error::HttpError;

/// The host part of a [`Grant`] or of a request URL, normalised.
///
/// Names are lower-case ASCII (IDNA-encoded by the `url` crate) without a
/// trailing dot; IP literals are kept as addresses.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum GrantHost {
    /// A DNS name such as `compute.googleapis.com`.
    Name(String),
    /// An IP literal such as `127.0.0.1` or `::1`.
    Ip(IpAddr),
}

impl GrantHost {
    /// Normalises the host of a parsed URL; `None` if the URL has no host.
    pub fn from_url(url: &Url) -> Option<GrantHost> {
        match url.host()? {
            Host::Domain(name) => Some(GrantHost::from_name(name)),
            Host::Ipv4(ip) => Some(GrantHost::Ip(IpAddr::V4(ip))),
            Host::Ipv6(ip) => Some(GrantHost::Ip(IpAddr::V6(ip))),
        }
    }

    /// Normalises a host name as seen by a resolver (an IP literal becomes [`GrantHost::Ip`]).
    pub fn from_name(name: &str) -> GrantHost {
        let trimmed = name
            .strip_prefix('[')
            .and_then(|n| n.strip_suffix(']'))
            .unwrap_or(name);
        if let Ok(ip) = trimmed.parse::<IpAddr>() {
            return GrantHost::Ip(ip);
        }
        GrantHost::Name(name.trim_end_matches('.').to_ascii_lowercase())
    }

    /// Formats the host with a port, bracketing IPv6 literals (`[::1]:443`).
    pub fn with_port(&self, port: u16) -> String {
        match self {
            GrantHost::Ip(IpAddr::V6(ip)) => format!("[{ip}]:{port}"),
            other => format!("{other}:{port}"),
        }
    }
}

impl fmt::Display for GrantHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GrantHost::Name(name) => f.write_str(name),
            GrantHost::Ip(ip) => write!(f, "{ip}"),
        }
    }
}

/// Permission for a plugin to reach one host.
///
/// A grant names a host (DNS name or IP literal) and optionally a port. Without
/// a port it covers the default port of the request's scheme (443 for https,
/// 80 for http). HTTPS is always allowed; plain HTTP only when the grant was
/// written with an explicit `http://` scheme.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Grant {
    host: GrantHost,
    port: Option<u16>,
    allow_http: bool,
}

impl Grant {
    /// Builds a grant from its parts.
    pub fn new(host: GrantHost, port: Option<u16>, allow_http: bool) -> Grant {
        Grant {
            host,
            port,
            allow_http,
        }
    }

    /// Parses a grant written as `host`, `host:port`, `[v6]:port`, a bare IP
    /// literal, or a URL such as `https://oauth2.googleapis.com` or
    /// `http://127.0.0.1:4010/compute/v1/` (path, query and user info of a URL
    /// are ignored).
    pub fn parse(text: &str) -> Result<Grant, HttpError> {
        let text = text.trim();
        let invalid =
            |why: &str| HttpError::InvalidRequest(format!("invalid grant {text:?}: {why}"));
        if text.is_empty() {
            return Err(invalid("empty"));
        }
        if text.contains("://") {
            let url = Url::parse(text).map_err(|e| invalid(&e.to_string()))?;
            return Grant::from_url(&url);
        }
        if let Ok(ip) = text.parse::<IpAddr>() {
            return Ok(Grant::new(GrantHost::Ip(ip), None, false));
        }
        if text.contains(['/', '?', '#', '@']) {
            return Err(invalid("expected host[:port] or a URL"));
        }
        let url = Url::parse(&format!("https://{text}")).map_err(|e| invalid(&e.to_string()))?;
        Grant::from_url(&url)
    }

    /// Grants the scheme, host and port of `url` (path and query are ignored):
    /// an `http` URL allows plain HTTP, an `https` URL only HTTPS.
    pub fn from_url(url: &Url) -> Result<Grant, HttpError> {
        let allow_http = match url.scheme() {
            "https" => false,
            "http" => true,
            other => {
                return Err(HttpError::InvalidRequest(format!(
                    "invalid grant: scheme {other:?} is not http or https"
                )));
            }
        };
        let host = GrantHost::from_url(url)
            .ok_or_else(|| HttpError::InvalidRequest("invalid grant: URL has no host".into()))?;
        Ok(Grant::new(host, url.port(), allow_http))
    }

    /// The granted host.
    pub fn host(&self) -> &GrantHost {
        &self.host
    }

    /// The granted port; `None` means the default port of the request's scheme.
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// Whether plain `http` is allowed (HTTPS always is).
    pub fn allows_http(&self) -> bool {
        self.allow_http
    }

    /// Whether this grant covers `host` regardless of port and scheme.
    pub fn covers_host(&self, host: &GrantHost) -> bool {
        self.host == *host
    }

    /// Whether this grant covers `host:port` regardless of scheme.
    pub fn covers_host_port(&self, scheme: &str, host: &GrantHost, port: u16) -> bool {
        let granted_port = self.port.or(default_port(scheme));
        self.covers_host(host) && granted_port == Some(port)
    }

    /// Whether this grant covers a request with this scheme, host and port.
    pub fn matches(&self, scheme: &str, host: &GrantHost, port: u16) -> bool {
        let scheme_ok = scheme == "https" || (scheme == "http" && self.allow_http);
        scheme_ok && self.covers_host_port(scheme, host, port)
    }
}

/// The default port of `http` and `https`.
pub(crate) fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "https" => Some(443),
        "http" => Some(80),
        _ => None,
    }
}

impl FromStr for Grant {
    type Err = HttpError;

    fn from_str(s: &str) -> Result<Grant, HttpError> {
        Grant::parse(s)
    }
}

impl fmt::Display for Grant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.allow_http { "http" } else { "https" };
        match (self.port, &self.host) {
            (Some(port), host) => write!(f, "{scheme}://{}", host.with_port(port)),
            (None, GrantHost::Ip(IpAddr::V6(ip))) => write!(f, "{scheme}://[{ip}]"),
            (None, host) => write!(f, "{scheme}://{host}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bare_names_as_https_default_port() {
        let g = Grant::parse("compute.googleapis.com").unwrap();
        assert_eq!(g.host(), &GrantHost::Name("compute.googleapis.com".into()));
        assert_eq!(g.port(), None);
        assert!(!g.allows_http());
        assert!(g.matches("https", g.host(), 443));
        assert!(!g.matches("https", g.host(), 8443));
        assert!(!g.matches("http", g.host(), 80));
        assert_eq!(g.to_string(), "https://compute.googleapis.com");
    }

    #[test]
    fn parses_urls_and_ports() {
        let g = Grant::parse("https://oauth2.googleapis.com").unwrap();
        assert!(!g.allows_http());
        let g = Grant::parse("http://127.0.0.1:8080").unwrap();
        assert_eq!(g.host(), &GrantHost::Ip("127.0.0.1".parse().unwrap()));
        assert_eq!(g.port(), Some(8080));
        assert!(g.allows_http());
        assert!(g.matches("http", g.host(), 8080));
        assert!(g.matches("https", g.host(), 8080));
        let g = Grant::parse("http://127.0.0.1:4010/compute/v1/").unwrap();
        assert_eq!(g.port(), Some(4010));
        assert_eq!(g.to_string(), "http://127.0.0.1:4010");
        let g = Grant::parse("Example.COM.:8443").unwrap();
        assert_eq!(g.host(), &GrantHost::Name("example.com".into()));
        assert_eq!(g.port(), Some(8443));
    }

    #[test]
    fn parses_ip_literals() {
        let g = Grant::parse("::1").unwrap();
        assert_eq!(g.host(), &GrantHost::Ip("::1".parse().unwrap()));
        let g = Grant::parse("[fd00:ec2::254]:80").unwrap();
        assert_eq!(g.host(), &GrantHost::Ip("fd00:ec2::254".parse().unwrap()));
        assert_eq!(g.port(), Some(80));
        assert_eq!(g.to_string(), "https://[fd00:ec2::254]:80");
        let g = Grant::parse("169.254.169.254").unwrap();
        assert_eq!(g.host(), &GrantHost::Ip("169.254.169.254".parse().unwrap()));
    }

    #[test]
    fn rejects_nonsense() {
        for bad in [
            "",
            "ftp://example.com",
            "example.com/path",
            "user@example.com",
            "http://",
        ] {
            assert!(Grant::parse(bad).is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn from_url_keeps_scheme_host_port() {
        let url = Url::parse("http://user:secret@localhost:4010/x?token=1").unwrap();
        let g = Grant::from_url(&url).unwrap();
        assert_eq!(g.to_string(), "http://localhost:4010");
    }
}
