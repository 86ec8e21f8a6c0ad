//! Temporary key pairs made for a build: the plugin sees the public half and
//! a handle, the private half stays here and is zeroed when dropped.

use std::collections::HashMap;
use std::fmt;
use zeroize::Zeroizing;

/// The private keys of one build's temporary key pairs, by handle.
#[derive(Default)]
pub struct KeyStore {
    keys: HashMap<u32, Zeroizing<String>>,
    next: u32,
}

impl fmt::Debug for KeyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyStore({} keys)", self.keys.len())
    }
}

/// Most temporary key pairs one build may hold (a plugin in a loop cannot
/// exhaust the host).
pub const MAX_KEYS: usize = 16;

impl KeyStore {
    /// Keeps `private_key`, returning its handle, or `None` when full.
    pub fn insert(&mut self, private_key: Zeroizing<String>) -> Option<u32> {
        if self.keys.len() >= MAX_KEYS {
            return None;
        }
        self.next += 1;
        self.keys.insert(self.next, private_key);
        Some(self.next)
    }

    /// True when no more key pairs may be made.
    pub fn is_full(&self) -> bool {
        self.keys.len() >= MAX_KEYS
    }

    /// The private key for `handle`.
    pub fn get(&self, handle: u32) -> Option<&Zeroizing<String>> {
        self.keys.get(&handle)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_are_distinct_and_bounded() {
        let mut store = KeyStore::default();
        let a = store.insert(Zeroizing::new("a".into())).unwrap();
        let b = store.insert(Zeroizing::new("b".into())).unwrap();
        assert_ne!(a, b);
        assert_eq!(store.get(b).map(|k| k.as_str()), Some("b"));
        assert!(store.get(99).is_none());
        for _ in 2..MAX_KEYS {
            store.insert(Zeroizing::new("x".into())).unwrap();
        }
        assert!(store.insert(Zeroizing::new("y".into())).is_none());
        assert!(!format!("{store:?}").contains('a'));
    }
}
