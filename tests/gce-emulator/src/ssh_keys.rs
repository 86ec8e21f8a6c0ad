//! Mirrors instances' `ssh-keys` metadata into an OpenSSH `authorized_keys` file, so that a real
//! local sshd (with `AuthorizedKeysFile` pointing at it) accepts the keys a builder injects.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Key types accepted in `ssh-keys` entries.
const KEY_TYPES: &[&str] = &[
    "ssh-rsa",
    "ssh-ed25519",
    "ssh-dss",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
];

/// Extracts `ssh-rsa AAAA... comment` parts from an `ssh-keys` metadata value
/// (`user:ssh-rsa AAAA... comment` lines; the user may be empty).
pub fn parse_ssh_keys(value: &str) -> Vec<String> {
    value
        .lines()
        .filter_map(|line| {
            let line = line.trim();
            let (_, key) = line.split_once(':')?;
            let key = key.trim();
            let mut parts = key.split_whitespace();
            let kind = parts.next()?;
            let blob = parts.next()?;
            if !KEY_TYPES.contains(&kind) || blob.is_empty() {
                return None;
            }
            Some(key.to_string())
        })
        .collect()
}

/// Keys from a metadata `items` array (`ssh-keys` and the legacy `sshKeys`).
pub fn keys_from_metadata(items: &[serde_json::Value]) -> Vec<String> {
    items
        .iter()
        .filter(|i| {
            matches!(
                i.get("key").and_then(|k| k.as_str()),
                Some("ssh-keys" | "sshKeys")
            )
        })
        .filter_map(|i| i.get("value").and_then(|v| v.as_str()))
        .flat_map(parse_ssh_keys)
        .collect()
}

/// The managed file: lines present before the emulator started are kept at the top, then
/// one block per instance.
#[derive(Debug)]
pub struct AuthorizedKeys {
    path: PathBuf,
    preexisting: Vec<String>,
    per_instance: BTreeMap<String, Vec<String>>,
}

impl AuthorizedKeys {
    /// Opens (or creates) the file at `path`, keeping its current lines.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        let preexisting = match std::fs::read_to_string(path) {
            Ok(s) => s
                .lines()
                .map(str::to_string)
                .filter(|l| !l.trim().is_empty())
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e),
        };
        let me = AuthorizedKeys {
            path: path.to_path_buf(),
            preexisting,
            per_instance: BTreeMap::new(),
        };
        me.write()?;
        Ok(me)
    }

    /// Replaces an instance's keys (an empty list removes it) and rewrites the file.
    pub fn set(&mut self, instance: &str, keys: Vec<String>) -> std::io::Result<()> {
        let changed = if keys.is_empty() {
            self.per_instance.remove(instance).is_some()
        } else {
            self.per_instance.insert(instance.to_string(), keys.clone()) != Some(keys)
        };
        if changed { self.write() } else { Ok(()) }
    }

    /// Drops every instance's keys.
    pub fn clear(&mut self) -> std::io::Result<()> {
        self.per_instance.clear();
        self.write()
    }

    /// The path of the managed file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn write(&self) -> std::io::Result<()> {
        let mut out = String::new();
        for l in &self.preexisting {
            out.push_str(l);
            out.push('\n');
        }
        for keys in self.per_instance.values() {
            for k in keys {
                out.push_str(k);
                out.push('\n');
            }
        }
        // Write a sibling temp file and rename it over, so sshd never reads a partial file;
        // mode 0600 keeps sshd's StrictModes happy.
        let tmp = self.path.with_extension("gce-emulator.tmp");
        {
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create(true).truncate(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                opts.mode(0o600);
            }
            let mut f = opts.open(&tmp)?;
            f.write_all(out.as_bytes())?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, &self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_entries() {
        let v = "packer:ssh-rsa AAAAB3Nza packer\n:ssh-ed25519 AAAAC3 \nbogus line\nu:notakey AAA";
        assert_eq!(
            parse_ssh_keys(v),
            vec![
                "ssh-rsa AAAAB3Nza packer".to_string(),
                "ssh-ed25519 AAAAC3".to_string()
            ]
        );
    }
}
