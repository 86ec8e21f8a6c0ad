//! Where a plugin may point the host's SSH client.
//!
//! The host connects with the user's credentials (an `ssh_password`, a key
//! file, the SSH agent), so a plugin must not choose any machine it likes.
//! It gets, in this order:
//!
//! 1. the template's `ssh_host`, when set: the host connects there whatever
//!    the plugin names (as in Packer), so the user can always name the
//!    machine (a local VM's forwarded port, say);
//! 2. otherwise an address the plugin *learned from a granted HTTP host*
//!    during this build: an IP address or host name that appeared as a
//!    string in a JSON response it received (a cloud API telling it the VM's
//!    address).
//!
//! Anything else is denied with a message naming the plugin, the capability
//! and the target, before any packet is sent.

use std::collections::HashSet;

/// Most addresses remembered from one build's HTTP responses.
pub const MAX_LEARNED: usize = 10_000;
/// Largest response body searched for addresses.
pub const MAX_SCANNED_BODY: usize = 4 << 20;

/// Addresses a build's plugin received from granted HTTP hosts.
#[derive(Debug, Default, Clone)]
pub struct LearnedAddresses {
    set: HashSet<String>,
}

impl LearnedAddresses {
    /// Remembers every IP address or host name found as a string value in
    /// `body`, if it is a JSON document.
    pub fn observe(&mut self, body: &[u8]) {
        if body.len() > MAX_SCANNED_BODY {
            return;
        }
        let first = body.iter().find(|b| !b.is_ascii_whitespace());
        if !matches!(first, Some(b'{') | Some(b'[')) {
            return;
        }
        let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
            return;
        };
        self.walk(&value);
    }

    fn walk(&mut self, value: &serde_json::Value) {
        match value {
            serde_json::Value::String(s) if self.set.len() < MAX_LEARNED && is_address(s) => {
                self.set.insert(s.to_ascii_lowercase());
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| self.walk(v)),
            serde_json::Value::Object(map) => map.values().for_each(|v| self.walk(v)),
            _ => {}
        }
    }

    /// Whether `host` was learned.
    pub fn contains(&self, host: &str) -> bool {
        self.set.contains(&host.to_ascii_lowercase())
    }
}

/// An IP address, or a DNS name with at least two labels and a letter
/// somewhere (so that `1.2` is not one).
fn is_address(s: &str) -> bool {
    if s.parse::<std::net::IpAddr>().is_ok() {
        return true;
    }
    let label = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    s.len() <= 253
        && s.contains('.')
        && s.chars().any(|c| c.is_ascii_alphabetic())
        && s.split('.').all(label)
}

/// Checks that the machine `host` named by `plugin` may be reached, given the
/// template's `ssh_host` (`fixed`; when set, the plugin's host is not used).
pub fn check(
    plugin: &str,
    fixed: Option<&str>,
    host: &str,
    port: u16,
    learned: &LearnedAddresses,
) -> Result<(), String> {
    if fixed.is_some() || learned.contains(host) {
        return Ok(());
    }
    Err(format!(
        "plugin {plugin:?} may not connect to {host}:{port} (capability communicator): \
         the address is neither the template's ssh_host nor one a granted HTTP host returned"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn learned(body: &str) -> LearnedAddresses {
        let mut l = LearnedAddresses::default();
        l.observe(body.as_bytes());
        l
    }

    #[test]
    fn addresses_in_json_responses_are_learned_and_nothing_else() {
        let l = learned(
            r#"{"networkInterfaces":[{"networkIP":"10.128.0.7","accessConfigs":[{"natIP":"34.1.2.3"}]}],
                "name":"packer-1","hostname":"vm.example.internal","v6":"2001:db8::1","n":"1.2"}"#,
        );
        assert!(l.contains("34.1.2.3"));
        assert!(l.contains("10.128.0.7"));
        assert!(l.contains("VM.example.internal"));
        assert!(l.contains("2001:db8::1"));
        assert!(!l.contains("packer-1"));
        assert!(!l.contains("1.2"));
        assert!(!l.contains("10.0.0.1"));
        assert!(!learned("natIP 34.1.2.3").contains("34.1.2.3"));
    }

    #[test]
    fn the_policy_allows_ssh_host_and_learned_addresses_only() {
        let l = learned(r#"{"natIP":"34.1.2.3"}"#);
        assert!(check("g", None, "34.1.2.3", 22, &l).is_ok());
        let denied = check("hostile", None, "169.254.169.254", 22, &l).unwrap_err();
        assert_eq!(
            denied,
            "plugin \"hostile\" may not connect to 169.254.169.254:22 (capability communicator): \
             the address is neither the template's ssh_host nor one a granted HTTP host returned"
        );
        assert!(check("n", Some("10.0.0.5"), "anything", 22, &l).is_ok());
    }

    #[test]
    fn memory_is_bounded() {
        let mut l = LearnedAddresses::default();
        let many: Vec<String> = (0..(MAX_LEARNED as u32 + 500))
            .map(|i| std::net::Ipv4Addr::from(i + 1).to_string())
            .collect();
        l.observe(serde_json::to_string(&many).unwrap().as_bytes());
        assert_eq!(l.set.len(), MAX_LEARNED);
    }
}
