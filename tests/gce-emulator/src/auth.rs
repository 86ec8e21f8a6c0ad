//! Service-account keys and Google's OAuth2 JWT-bearer token endpoint.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use rand::Rng;
use rsa::RsaPrivateKey;
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use rsa::sha2::Sha256;
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use serde_json::{Value, json};

/// The JWT-bearer grant type.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// Scopes that allow Compute Engine calls.
pub const COMPUTE_SCOPES: &[&str] = &[
    "https://www.googleapis.com/auth/compute",
    "https://www.googleapis.com/auth/cloud-platform",
];
/// A read-only scope (GET methods only).
pub const COMPUTE_READONLY_SCOPE: &str = "https://www.googleapis.com/auth/compute.readonly";

/// The service account the emulator trusts.
#[derive(Debug, Clone)]
pub struct ServiceAccountKey {
    private_key: RsaPrivateKey,
    /// 40 hex digits; must equal the JWT header's `kid`.
    pub private_key_id: String,
    /// `iss` of accepted JWTs.
    pub client_email: String,
    /// Numeric client id.
    pub client_id: String,
    /// Project the account belongs to.
    pub project_id: String,
}

fn random_hex(n_bytes: usize) -> String {
    let mut b = vec![0u8; n_bytes];
    rand::rng().fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl ServiceAccountKey {
    /// Generates a fresh RSA-2048 service account for `project_id`.
    pub fn generate(project_id: &str) -> Result<Self, String> {
        let private_key = RsaPrivateKey::new(&mut rand::rng(), 2048)
            .map_err(|e| format!("generating RSA key: {e}"))?;
        let client_id: String = (0..21)
            .map(|i| {
                let d = (rand::rng().next_u32() % 10) as u8;
                char::from(b'0' + if i == 0 { d.max(1) } else { d })
            })
            .collect();
        Ok(ServiceAccountKey {
            private_key,
            private_key_id: random_hex(20),
            client_email: format!("packer@{project_id}.iam.gserviceaccount.com"),
            client_id,
            project_id: project_id.to_string(),
        })
    }

    /// Loads a service-account JSON file (`type: service_account`) to trust instead of
    /// generating one.
    pub fn from_json(v: &Value) -> Result<Self, String> {
        let s = |k: &str| {
            v.get(k)
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| format!("service account JSON lacks {k:?}"))
        };
        let pem = s("private_key")?;
        let private_key =
            RsaPrivateKey::from_pkcs8_pem(&pem).map_err(|e| format!("parsing private_key: {e}"))?;
        Ok(ServiceAccountKey {
            private_key,
            private_key_id: s("private_key_id")?,
            client_email: s("client_email")?,
            client_id: s("client_id").unwrap_or_default(),
            project_id: s("project_id").unwrap_or_default(),
        })
    }

    /// The private key as PKCS#8 PEM.
    pub fn private_key_pem(&self) -> Result<String, String> {
        self.private_key
            .to_pkcs8_pem(LineEnding::LF)
            .map(|z| z.to_string())
            .map_err(|e| format!("encoding private key: {e}"))
    }

    /// The credentials JSON a client would use (`token_uri` points at the emulator).
    pub fn to_json(&self, token_uri: &str) -> Result<Value, String> {
        Ok(json!({
            "type": "service_account",
            "project_id": self.project_id,
            "private_key_id": self.private_key_id,
            "private_key": self.private_key_pem()?,
            "client_email": self.client_email,
            "client_id": self.client_id,
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": token_uri,
            "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
            "client_x509_cert_url": format!("https://www.googleapis.com/robot/v1/metadata/x509/{}", self.client_email.replace('@', "%40")),
            "universe_domain": "googleapis.com"
        }))
    }

    /// Signs a JWT with this key (RS256, `kid` = private_key_id), as a client library would.
    /// Useful for tests and for clients that need an assertion.
    pub fn sign_jwt(&self, header: &Value, claims: &Value) -> String {
        let h = URL_SAFE_NO_PAD.encode(header.to_string());
        let c = URL_SAFE_NO_PAD.encode(claims.to_string());
        let input = format!("{h}.{c}");
        let sig: Signature =
            SigningKey::<Sha256>::new(self.private_key.clone()).sign(input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.to_bytes()))
    }

    /// A standard assertion: `iat` = now-10s, `exp` = iat+3600, the given scope and audience.
    pub fn assertion(&self, token_uri: &str, scope: &str) -> String {
        let now = chrono::Utc::now().timestamp() - 10;
        self.sign_jwt(
            &json!({"alg": "RS256", "typ": "JWT", "kid": self.private_key_id}),
            &json!({"iss": self.client_email, "scope": scope, "aud": token_uri, "iat": now, "exp": now + 3600}),
        )
    }

    fn verifying_key(&self) -> VerifyingKey<Sha256> {
        VerifyingKey::<Sha256>::new(self.private_key.to_public_key())
    }
}

/// An OAuth2 error response (`{"error":..,"error_description":..}`), always HTTP 400 here.
#[derive(Debug, Clone, PartialEq)]
pub struct OAuthError {
    /// `invalid_grant`, `invalid_scope`, `invalid_request`, `unsupported_grant_type`.
    pub error: &'static str,
    /// Google's description text.
    pub description: String,
}

impl OAuthError {
    fn grant(d: impl Into<String>) -> Self {
        OAuthError {
            error: "invalid_grant",
            description: d.into(),
        }
    }
    /// The JSON body.
    pub fn body(&self) -> Value {
        json!({"error": self.error, "error_description": self.description})
    }
}

/// An issued access token.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    /// Expiry instant.
    pub expires: Instant,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// The service account email (`user` of operations).
    pub email: String,
}

/// Outcome of checking a bearer token on a Compute request.
#[derive(Debug, Clone, PartialEq)]
pub enum TokenCheck {
    /// No credentials at all.
    Missing,
    /// Unknown or expired.
    Invalid,
    /// Valid but lacks a compute scope.
    InsufficientScope,
    /// OK; the caller's email.
    Ok(String),
}

/// Issued tokens.
#[derive(Debug, Default)]
pub struct TokenStore {
    tokens: HashMap<String, IssuedToken>,
}

const JWT_TIME_MSG: &str = "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.";

fn decode_part(s: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .ok()
        .or_else(|| URL_SAFE.decode(s).ok())
}

/// Verifies a JWT-bearer assertion against `key`. `audiences` are the accepted `aud` values;
/// `now` is Unix seconds. Returns the granted scopes.
pub fn verify_assertion(
    assertion: &str,
    key: &ServiceAccountKey,
    audiences: &[String],
    now: i64,
) -> Result<Vec<String>, OAuthError> {
    let parts: Vec<&str> = assertion.split('.').collect();
    if parts.len() != 3 {
        return Err(OAuthError::grant(
            "Invalid JWT: Token must be a valid JWT with three parts.",
        ));
    }
    let header: Value = decode_part(parts[0])
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| OAuthError::grant("Invalid JWT: Unable to parse the JWT header."))?;
    let claims: Value = decode_part(parts[1])
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| OAuthError::grant("Invalid JWT: Unable to parse the JWT claim set."))?;
    if header.get("alg").and_then(Value::as_str) != Some("RS256") {
        return Err(OAuthError::grant("Invalid JWT Signature."));
    }
    let iss = claims
        .get("iss")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if iss != key.client_email {
        return Err(OAuthError::grant("Invalid grant: account not found"));
    }
    if header.get("kid").and_then(Value::as_str) != Some(key.private_key_id.as_str()) {
        return Err(OAuthError::grant("Invalid JWT Signature."));
    }
    let sig = decode_part(parts[2])
        .and_then(|b| Signature::try_from(b.as_slice()).ok())
        .ok_or_else(|| OAuthError::grant("Invalid JWT Signature."))?;
    let signed = format!("{}.{}", parts[0], parts[1]);
    key.verifying_key()
        .verify(signed.as_bytes(), &sig)
        .map_err(|_| OAuthError::grant("Invalid JWT Signature."))?;
    let aud = claims
        .get("aud")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !audiences.iter().any(|a| a == aud) {
        return Err(OAuthError::grant(format!(
            "Invalid JWT: Failed audience check. The expected value was {}, but the actual value was {aud:?}.",
            audiences.first().map(String::as_str).unwrap_or_default()
        )));
    }
    let (Some(iat), Some(exp)) = (
        claims.get("iat").and_then(Value::as_i64),
        claims.get("exp").and_then(Value::as_i64),
    ) else {
        return Err(OAuthError::grant(JWT_TIME_MSG));
    };
    const SKEW: i64 = 300;
    if exp <= now || exp - iat > 3600 || exp <= iat || iat > now + SKEW || iat < now - 3600 - SKEW {
        return Err(OAuthError::grant(JWT_TIME_MSG));
    }
    let scope = claims
        .get("scope")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .trim();
    if scope.is_empty() {
        return Err(OAuthError {
            error: "invalid_scope",
            description: "Invalid OAuth scope or ID token audience provided.".into(),
        });
    }
    Ok(scope.split_whitespace().map(str::to_string).collect())
}

impl TokenStore {
    /// Handles a token request's form body. Returns the JSON success body.
    pub fn exchange(
        &mut self,
        form: &[(String, String)],
        key: &ServiceAccountKey,
        audiences: &[String],
        ttl: Duration,
    ) -> Result<Value, OAuthError> {
        let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        match get("grant_type") {
            Some(JWT_BEARER) => {}
            Some(other) => {
                return Err(OAuthError {
                    error: "unsupported_grant_type",
                    description: format!("Invalid grant_type: {other}"),
                });
            }
            None => {
                return Err(OAuthError {
                    error: "invalid_request",
                    description: "Missing required parameter: grant_type".into(),
                });
            }
        }
        let assertion = get("assertion").ok_or_else(|| OAuthError {
            error: "invalid_request",
            description: "Missing required parameter: assertion".into(),
        })?;
        let scopes = verify_assertion(assertion, key, audiences, chrono::Utc::now().timestamp())?;
        let token = format!("ya29.{}", URL_SAFE_NO_PAD.encode(random_hex(48)));
        self.tokens.insert(
            token.clone(),
            IssuedToken {
                expires: Instant::now() + ttl,
                scopes,
                email: key.client_email.clone(),
            },
        );
        self.tokens.retain(|_, t| t.expires > Instant::now());
        Ok(
            json!({"access_token": token, "expires_in": ttl.as_secs().saturating_sub(1), "token_type": "Bearer"}),
        )
    }

    /// Checks a bearer token for a Compute call (`readonly` = GET method).
    pub fn check(&self, token: Option<&str>, readonly: bool) -> TokenCheck {
        let Some(token) = token else {
            return TokenCheck::Missing;
        };
        match self.tokens.get(token) {
            Some(t) if t.expires > Instant::now() => {
                let ok = t.scopes.iter().any(|s| {
                    COMPUTE_SCOPES.contains(&s.as_str())
                        || (readonly && s == COMPUTE_READONLY_SCOPE)
                });
                if ok {
                    TokenCheck::Ok(t.email.clone())
                } else {
                    TokenCheck::InsufficientScope
                }
            }
            _ => TokenCheck::Invalid,
        }
    }

    /// Every access token issued and not yet expired (for tests that check
    /// tokens never leak into output).
    pub fn issued(&self) -> Vec<String> {
        let now = Instant::now();
        self.tokens
            .iter()
            .filter(|(_, t)| t.expires > now)
            .map(|(token, _)| token.clone())
            .collect()
    }

    /// Forgets every token.
    pub fn clear(&mut self) {
        self.tokens.clear();
    }
}
