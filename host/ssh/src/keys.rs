//! SSH keys: generating key pairs (Packer's temporary keys), reading private
//! keys and deriving their public half.

use crate::error::SshError;
use russh::keys::ssh_key::{self, Algorithm, LineEnding, PrivateKey, private::RsaKeypair};
use std::fmt;
use zeroize::Zeroizing;

/// Default RSA key size, as in Packer.
pub const DEFAULT_RSA_BITS: u32 = 2048;

/// Which kind of key to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    /// RSA (`ssh-rsa`), 2048 bits unless told otherwise.
    Rsa,
    /// Ed25519 (`ssh-ed25519`).
    Ed25519,
}

/// A generated key pair in OpenSSH text formats. `Debug` hides the private key.
#[derive(Clone)]
pub struct KeyPair {
    /// The private key, `-----BEGIN OPENSSH PRIVATE KEY-----` format,
    /// unencrypted; wiped from memory when dropped.
    pub private_openssh: Zeroizing<String>,
    /// The public key as one `authorized_keys` line without a trailing
    /// newline: `ssh-ed25519 AAAA... comment`.
    pub public_openssh: String,
}

impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyPair")
            .field("private_openssh", &"<redacted>")
            .field("public_openssh", &self.public_openssh)
            .finish()
    }
}

/// Generates a key pair. `bits` applies to RSA only (default 2048, accepted
/// range 1024 to 16384); `comment` ends up on the public key line.
pub fn generate_key_pair(
    kind: KeyType,
    bits: Option<u32>,
    comment: &str,
) -> Result<KeyPair, SshError> {
    let mut rng = rand::rng();
    let mut key = match kind {
        KeyType::Ed25519 => PrivateKey::random(&mut rng, Algorithm::Ed25519)
            .map_err(|e| SshError::KeyGen(e.to_string()))?,
        KeyType::Rsa => {
            let bits = bits.unwrap_or(DEFAULT_RSA_BITS);
            if !(1024..=16384).contains(&bits) {
                return Err(SshError::KeyGen(format!(
                    "RSA key size {bits} is out of range (1024 to 16384)"
                )));
            }
            let pair = RsaKeypair::random(&mut rng, bits as usize)
                .map_err(|e| SshError::KeyGen(e.to_string()))?;
            PrivateKey::new(ssh_key::private::KeypairData::Rsa(pair), comment)
                .map_err(|e| SshError::KeyGen(e.to_string()))?
        }
    };
    key.set_comment(comment);
    let private_openssh = key
        .to_openssh(LineEnding::LF)
        .map_err(|e| SshError::KeyGen(e.to_string()))?;
    let public_openssh = key
        .public_key()
        .to_openssh()
        .map_err(|e| SshError::KeyGen(e.to_string()))?;
    Ok(KeyPair {
        private_openssh: Zeroizing::new(private_openssh.to_string()),
        public_openssh,
    })
}

/// The public key (`authorized_keys` line, with the key's comment if any)
/// of a private key given as OpenSSH or PEM text.
pub fn public_key_of(private_key: &str) -> Result<String, SshError> {
    let key = parse_private_key(private_key)?;
    key.public_key()
        .to_openssh()
        .map_err(|e| SshError::Key(e.to_string()))
}

/// Reads an unencrypted private key in OpenSSH, PKCS#1, PKCS#8 or PuTTY format.
pub(crate) fn parse_private_key(text: &str) -> Result<PrivateKey, SshError> {
    if text.trim().is_empty() {
        return Err(SshError::Key("the private key is empty".into()));
    }
    match russh::keys::decode_secret_key(text, None) {
        Ok(key) => Ok(key),
        // The underlying errors never quote the key text; keep only their wording.
        Err(russh::keys::Error::KeyIsEncrypted) => Err(SshError::Key(
            "the private key is encrypted with a passphrase, which is not supported".into(),
        )),
        Err(e) => Err(SshError::Key(format!(
            "could not parse the private key: {e}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_ed25519_and_rsa_pairs() {
        let ed = generate_key_pair(KeyType::Ed25519, None, "packer_abc").unwrap();
        assert!(ed.public_openssh.starts_with("ssh-ed25519 AAAA"));
        assert!(ed.public_openssh.ends_with(" packer_abc"));
        assert!(
            ed.private_openssh
                .starts_with("-----BEGIN OPENSSH PRIVATE KEY-----")
        );
        assert_eq!(
            public_key_of(&ed.private_openssh).unwrap(),
            ed.public_openssh
        );

        let rsa = generate_key_pair(KeyType::Rsa, Some(2048), "rsa-key").unwrap();
        assert!(rsa.public_openssh.starts_with("ssh-rsa AAAA"));
        assert_eq!(
            public_key_of(&rsa.private_openssh).unwrap(),
            rsa.public_openssh
        );

        let debug = format!("{rsa:?}");
        assert!(!debug.contains("PRIVATE KEY") && debug.contains("<redacted>"));
    }

    #[test]
    fn rejects_bad_keys_without_quoting_them() {
        let err = public_key_of(
            "-----BEGIN OPENSSH PRIVATE KEY-----\nc2VjcmV0\n-----END OPENSSH PRIVATE KEY-----\n",
        )
        .unwrap_err();
        assert!(!err.to_string().contains("c2VjcmV0"), "{err}");
        assert!(matches!(public_key_of(""), Err(SshError::Key(_))));
        assert!(generate_key_pair(KeyType::Rsa, Some(512), "x").is_err());
    }
}
