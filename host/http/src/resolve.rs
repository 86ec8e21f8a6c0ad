//! The policy-enforcing DNS resolver plugged into reqwest: resolves names, then drops forbidden addresses.
//!
//! Because the filter runs inside the connector's resolver and the connector
//! connects only to the addresses returned here, a granted name cannot be
//! re-pointed (DNS rebinding) at loopback, private or metadata addresses.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::grant::GrantHost;
use crate::policy::HttpPolicy;

/// Fixed name-to-address mappings consulted before the system resolver.
///
/// Addresses found here are still filtered by the policy. Useful for tests
/// and for users who pin an endpoint's address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostOverrides {
    map: HashMap<String, Vec<IpAddr>>,
}

impl HostOverrides {
    /// No overrides.
    pub fn new() -> HostOverrides {
        HostOverrides::default()
    }

    /// Makes `name` resolve to `addrs` (replacing any earlier mapping).
    pub fn insert(&mut self, name: &str, addrs: Vec<IpAddr>) -> &mut HostOverrides {
        self.map.insert(normalise(name), addrs);
        self
    }

    /// The addresses `name` is pinned to, if any.
    pub fn get(&self, name: &str) -> Option<&[IpAddr]> {
        self.map.get(&normalise(name)).map(Vec::as_slice)
    }
}

fn normalise(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// The error a [`PolicyResolver`] reports when a name may not be reached;
/// the client turns it back into [`crate::HttpError::Denied`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressDenied {
    /// The name being resolved.
    pub host: String,
    /// Why, naming the forbidden address.
    pub reason: String,
}

impl fmt::Display for AddressDenied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "host {:?} denied: {}", self.host, self.reason)
    }
}

impl std::error::Error for AddressDenied {}

/// A [`reqwest::dns::Resolve`] that resolves with tokio (after
/// [`HostOverrides`]) and keeps only the addresses the policy allows.
#[derive(Debug, Clone)]
pub struct PolicyResolver {
    policy: Arc<HttpPolicy>,
    overrides: Arc<HostOverrides>,
}

impl PolicyResolver {
    /// A resolver enforcing `policy`.
    pub fn new(policy: Arc<HttpPolicy>, overrides: HostOverrides) -> PolicyResolver {
        PolicyResolver {
            policy,
            overrides: Arc::new(overrides),
        }
    }

    /// Keeps the addresses of `name` that the policy allows. Fails, naming the
    /// first forbidden address, when none is left, and fails for names no
    /// grant mentions.
    pub fn filter(&self, name: &str, addrs: &[IpAddr]) -> Result<Vec<IpAddr>, AddressDenied> {
        let host = GrantHost::from_name(name);
        let deny = |reason: String| AddressDenied {
            host: host.to_string(),
            reason,
        };
        if !self.policy.grants_host(&host) {
            return Err(deny("not granted".into()));
        }
        let mut first_refusal = None;
        let allowed: Vec<IpAddr> = addrs
            .iter()
            .copied()
            .filter(|ip| match self.policy.check_address(&host, *ip) {
                Ok(()) => true,
                Err(reason) => {
                    first_refusal.get_or_insert(reason);
                    false
                }
            })
            .collect();
        if allowed.is_empty() {
            return Err(deny(
                first_refusal.unwrap_or_else(|| format!("{host} has no addresses")),
            ));
        }
        Ok(allowed)
    }

    /// Resolves `name` (overrides first, then the system resolver) and filters the result.
    pub async fn lookup(
        &self,
        name: &str,
    ) -> Result<Vec<IpAddr>, Box<dyn std::error::Error + Send + Sync>> {
        // Refuse ungranted names before any DNS query leaves the machine.
        let host = GrantHost::from_name(name);
        if !self.policy.grants_host(&host) {
            return Err(Box::new(AddressDenied {
                host: host.to_string(),
                reason: "not granted".into(),
            }));
        }
        let addrs: Vec<IpAddr> = match self.overrides.get(name) {
            Some(pinned) => pinned.to_vec(),
            None => tokio::net::lookup_host((name, 0))
                .await?
                .map(|sa| sa.ip())
                .collect(),
        };
        Ok(self.filter(name, &addrs)?)
    }
}

impl Resolve for PolicyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let this = self.clone();
        Box::pin(async move {
            let ips = this.lookup(name.as_str()).await?;
            let addrs: Addrs = Box::new(ips.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grant::Grant;

    fn resolver(grants: &[&str], overrides: HostOverrides) -> PolicyResolver {
        let grants = grants.iter().map(|g| Grant::parse(g).unwrap()).collect();
        PolicyResolver::new(Arc::new(HttpPolicy::new("p", grants)), overrides)
    }

    fn ips(list: &[&str]) -> Vec<IpAddr> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    #[test]
    fn drops_forbidden_addresses_and_keeps_public_ones() {
        let r = resolver(&["api.example.com"], HostOverrides::new());
        let got = r
            .filter(
                "api.example.com",
                &ips(&["127.0.0.1", "93.184.216.34", "169.254.169.254"]),
            )
            .unwrap();
        assert_eq!(got, ips(&["93.184.216.34"]));
        let err = r
            .filter("api.example.com", &ips(&["127.0.0.1", "10.0.0.1"]))
            .unwrap_err();
        assert!(err.reason.contains("127.0.0.1"), "{err}");
        let err = r
            .filter("API.example.com.", &ips(&["169.254.169.254"]))
            .unwrap_err();
        assert!(err.reason.contains("169.254.169.254"), "{err}");
        assert!(
            r.filter("other.example.com", &ips(&["93.184.216.34"]))
                .is_err()
        );
    }

    #[tokio::test]
    async fn lookup_uses_overrides_then_filters() {
        let mut o = HostOverrides::new();
        o.insert("loopback.test", ips(&["127.0.0.1"]));
        o.insert("public.test", ips(&["93.184.216.34"]));
        let r = resolver(&["loopback.test", "public.test"], o);
        let err = r.lookup("loopback.test").await.unwrap_err();
        let denied = err.downcast_ref::<AddressDenied>().unwrap();
        assert!(
            denied.reason.contains("loopback address 127.0.0.1"),
            "{denied}"
        );
        assert_eq!(
            r.lookup("public.test").await.unwrap(),
            ips(&["93.184.216.34"])
        );
        let err = r.lookup("ungranted.test").await.unwrap_err();
        assert!(err.downcast_ref::<AddressDenied>().is_some());
    }

    #[tokio::test]
    async fn localhost_grant_reaches_loopback() {
        let r = resolver(&["localhost"], HostOverrides::new());
        let got = r.lookup("localhost").await.unwrap();
        assert!(
            !got.is_empty() && got.iter().all(|ip| ip.is_loopback()),
            "{got:?}"
        );
    }
}
