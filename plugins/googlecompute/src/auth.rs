//! OAuth2 access tokens: a static `access_token`, or a service-account key
//! exchanged with the JWT-bearer flow (RFC 7523) at the key's `token_uri`.
//!
//! Tokens and private keys are never put into error messages.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rsa::pkcs1v15::SigningKey;
use rsa::sha2::Sha256;
use rsa::signature::{SignatureEncoding, Signer};
use serde::Deserialize;

/// The token endpoint used when a key has no `token_uri`.
pub const DEFAULT_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";

/// The scopes the plugin asks for (the Compute API and Cloud Storage).
pub const DRIVER_SCOPES: [&str; 2] = [
    "https://www.googleapis.com/auth/compute",
    "https://www.googleapis.com/auth/devstorage.full_control",
];

/// How long before a token's expiry it is refreshed.
pub const REFRESH_MARGIN_SECS: u64 = 60;

/// The fields of a service-account key the plugin uses.
#[derive(Clone, Deserialize)]
pub struct ServiceAccountKey {
    /// `type`: must be `service_account`.
    #[serde(default, rename = "type")]
    pub kind: String,
    /// `client_email`: the JWT's issuer.
    #[serde(default)]
    pub client_email: String,
    /// `private_key_id`: the JWT's `kid`.
    #[serde(default)]
    pub private_key_id: String,
    /// `private_key`: PKCS#8 (or PKCS#1) PEM.
    #[serde(default)]
    pub private_key: String,
    /// `token_uri`; [`DEFAULT_TOKEN_URI`] when empty.
    #[serde(default)]
    pub token_uri: String,
    /// `project_id` of the key (informational).
    #[serde(default)]
    pub project_id: String,
}

impl std::fmt::Debug for ServiceAccountKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccountKey")
            .field("client_email", &self.client_email)
            .field("private_key_id", &self.private_key_id)
            .field("token_uri", &self.token_uri)
            .finish_non_exhaustive()
    }
}

/// A parsed key, ready to sign assertions.
#[derive(Clone)]
pub struct ServiceAccount {
    /// The key's public fields.
    pub key: ServiceAccountKey,
    signer: SigningKey<Sha256>,
}

impl std::fmt::Debug for ServiceAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccount")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl ServiceAccount {
    /// Parses a service-account key file's JSON. `origin` names the option
    /// it came from, for error messages.
    pub fn from_json(json: &str, origin: &str) -> Result<Self, String> {
        let mut key: ServiceAccountKey = serde_json::from_str(json)
            .map_err(|e| format!("{origin}: not a valid credentials JSON document: {e}"))?;
        match key.kind.as_str() {
            "service_account" => {}
            "" => {
                return Err(format!(
                    "{origin}: the credentials have no \"type\"; expected a service account key (\"type\": \"service_account\")"
                ));
            }
            other => {
                return Err(format!(
                    "{origin}: credentials of type {other:?} are not supported by this plugin yet; use a service account key (\"type\": \"service_account\") or access_token"
                ));
            }
        }
        if key.client_email.is_empty() {
            return Err(format!(
                "{origin}: the service account key has no client_email"
            ));
        }
        if key.private_key.is_empty() {
            return Err(format!(
                "{origin}: the service account key has no private_key"
            ));
        }
        if key.token_uri.is_empty() {
            key.token_uri = DEFAULT_TOKEN_URI.to_string();
        }
        let private = parse_private_key(&key.private_key)
            .map_err(|e| format!("{origin}: cannot read the service account's private_key: {e}"))?;
        Ok(ServiceAccount {
            key,
            signer: SigningKey::<Sha256>::new(private),
        })
    }

    /// A signed JWT assertion for `scopes`, issued at `now - 10 s` and valid
    /// for an hour (as golang.org/x/oauth2 makes it).
    pub fn assertion(&self, scopes: &[&str], now: u64) -> Result<String, String> {
        let iat = now.saturating_sub(10);
        let claims = Claims {
            iss: &self.key.client_email,
            scope: scopes.join(" "),
            aud: &self.key.token_uri,
            exp: iat + 3600,
            iat,
        };
        sign_jwt(&self.signer, &self.key.private_key_id, &claims)
    }

    /// The token endpoint.
    pub fn token_uri(&self) -> &str {
        &self.key.token_uri
    }
}

fn parse_private_key(pem: &str) -> Result<rsa::RsaPrivateKey, String> {
    use rsa::pkcs1::DecodeRsaPrivateKey;
    use rsa::pkcs8::DecodePrivateKey;
    let pem = pem.trim();
    if pem.contains("BEGIN RSA PRIVATE KEY") {
        return rsa::RsaPrivateKey::from_pkcs1_pem(pem)
            .map_err(|_| "not a valid PKCS#1 RSA private key".to_string());
    }
    rsa::RsaPrivateKey::from_pkcs8_pem(pem)
        .map_err(|_| "not a valid PKCS#8 RSA private key (-----BEGIN PRIVATE KEY-----)".to_string())
}

/// The JWT header, in golang.org/x/oauth2's field order.
#[derive(serde::Serialize)]
struct Header<'a> {
    alg: &'static str,
    typ: &'static str,
    #[serde(skip_serializing_if = "str::is_empty")]
    kid: &'a str,
}

/// The JWT claims, in golang.org/x/oauth2's field order.
#[derive(serde::Serialize)]
struct Claims<'a> {
    iss: &'a str,
    scope: String,
    aud: &'a str,
    exp: u64,
    iat: u64,
}

fn sign_jwt(signer: &SigningKey<Sha256>, kid: &str, claims: &Claims<'_>) -> Result<String, String> {
    let header = Header {
        alg: "RS256",
        typ: "JWT",
        kid,
    };
    let header = serde_json::to_vec(&header).map_err(|e| e.to_string())?;
    let claims = serde_json::to_vec(claims).map_err(|e| e.to_string())?;
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let signature = signer
        .try_sign(signing_input.as_bytes())
        .map_err(|_| "signing the JWT assertion failed".to_string())?;
    Ok(format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature.to_bytes())
    ))
}

/// The `application/x-www-form-urlencoded` body of a JWT-bearer token request
/// (keys sorted, as Go's `url.Values.Encode` writes them).
pub fn token_request_body(assertion: &str) -> String {
    format!(
        "assertion={}&grant_type={}",
        form_escape(assertion),
        form_escape("urn:ietf:params:oauth:grant-type:jwt-bearer")
    )
}

fn form_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A token endpoint's successful answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenResponse {
    /// The bearer token.
    pub access_token: String,
    /// Lifetime in seconds (3600 when the server did not say).
    pub expires_in: u64,
}

/// Parses a token endpoint's response. Error bodies (`{"error": ...,
/// "error_description": ...}`) become Go-style `oauth2: "invalid_grant" "..."`
/// messages; the body of a successful response is never quoted.
pub fn parse_token_response(status: u16, body: &[u8]) -> Result<TokenResponse, String> {
    let value: serde_json::Value = serde_json::from_slice(body).unwrap_or(serde_json::Value::Null);
    if !(200..300).contains(&status) {
        if let Some(code) = value.get("error").and_then(|e| e.as_str()) {
            let mut msg = format!("oauth2: {code:?}");
            if let Some(d) = value.get("error_description").and_then(|e| e.as_str()) {
                msg.push_str(&format!(" {d:?}"));
            }
            return Err(msg);
        }
        let text = String::from_utf8_lossy(body);
        let text: String = text.chars().take(500).collect();
        return Err(format!(
            "oauth2: cannot fetch token: {status}\nResponse: {text}"
        ));
    }
    let token = value
        .get("access_token")
        .and_then(|t| t.as_str())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| "oauth2: server response missing access_token".to_string())?;
    let expires_in = match value.get("expires_in") {
        Some(serde_json::Value::Number(n)) => n.as_u64().unwrap_or(3600),
        Some(serde_json::Value::String(s)) => s.parse().unwrap_or(3600),
        _ => 3600,
    };
    Ok(TokenResponse {
        access_token: token.to_string(),
        expires_in,
    })
}

/// Where access tokens come from, with the current one cached.
#[derive(Debug, Clone)]
pub enum TokenSource {
    /// `access_token`: used as is, never refreshed.
    Static(Secret),
    /// A service account: tokens fetched with a signed assertion.
    ServiceAccount {
        /// The key.
        account: Box<ServiceAccount>,
        /// The current token and when it expires (Unix seconds).
        cached: Option<(Secret, u64)>,
    },
    /// A user's refresh token (`gcloud auth application-default login`):
    /// tokens fetched with the `refresh_token` grant.
    AuthorizedUser {
        /// The user's credentials.
        user: Box<AuthorizedUser>,
        /// The current token and when it expires (Unix seconds).
        cached: Option<(Secret, u64)>,
    },
}

/// An `authorized_user` credentials file, as `gcloud` writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizedUser {
    /// `client_id`.
    pub client_id: String,
    /// `client_secret`.
    pub client_secret: Secret,
    /// `refresh_token`.
    pub refresh_token: Secret,
    /// `token_uri` (Google's by default).
    pub token_uri: String,
}

impl AuthorizedUser {
    /// The `refresh_token` grant's form body (keys sorted, as Go writes them).
    pub fn token_request_body(&self) -> String {
        format!(
            "client_id={}&client_secret={}&grant_type=refresh_token&refresh_token={}",
            form_escape(&self.client_id),
            form_escape(&self.client_secret.0),
            form_escape(&self.refresh_token.0)
        )
    }
}

/// Reads an Application Default Credentials file: a service-account key or
/// an `authorized_user` file. `origin` names where it came from, for errors.
pub fn credentials_from_json(json: &str, origin: &str) -> Result<TokenSource, String> {
    let value: serde_json::Value = serde_json::from_str(json)
        .map_err(|e| format!("{origin}: the credentials are not valid JSON: {e}"))?;
    let field = |k: &str| {
        value
            .get(k)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string()
    };
    match field("type").as_str() {
        "service_account" => Ok(TokenSource::ServiceAccount {
            account: Box::new(ServiceAccount::from_json(json, origin)?),
            cached: None,
        }),
        "authorized_user" => {
            let (client_id, client_secret, refresh_token) = (
                field("client_id"),
                field("client_secret"),
                field("refresh_token"),
            );
            if client_id.is_empty() || client_secret.is_empty() || refresh_token.is_empty() {
                return Err(format!(
                    "{origin}: authorized_user credentials need client_id, client_secret and refresh_token"
                ));
            }
            let token_uri = match field("token_uri") {
                uri if uri.is_empty() => DEFAULT_TOKEN_URI.to_string(),
                uri => uri,
            };
            Ok(TokenSource::AuthorizedUser {
                user: Box::new(AuthorizedUser {
                    client_id,
                    client_secret: Secret(client_secret),
                    refresh_token: Secret(refresh_token),
                    token_uri,
                }),
                cached: None,
            })
        }
        other => Err(format!(
            "{origin}: credentials of type {other:?} are not supported (use a service account key or `gcloud auth application-default login`)"
        )),
    }
}

/// A string that never prints itself.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl TokenSource {
    /// The cached token if it is still good at `now` (with the refresh margin).
    pub fn current(&self, now: u64) -> Option<&str> {
        match self {
            TokenSource::Static(t) => Some(&t.0),
            TokenSource::ServiceAccount { cached, .. }
            | TokenSource::AuthorizedUser { cached, .. } => cached
                .as_ref()
                .filter(|(_, expiry)| now + REFRESH_MARGIN_SECS < *expiry)
                .map(|(t, _)| t.0.as_str()),
        }
    }

    /// Forgets the cached token (after a 401).
    pub fn invalidate(&mut self) {
        if let TokenSource::ServiceAccount { cached, .. }
        | TokenSource::AuthorizedUser { cached, .. } = self
        {
            *cached = None;
        }
    }

    /// Stores a freshly fetched token.
    pub fn store(&mut self, token: TokenResponse, now: u64) {
        if let TokenSource::ServiceAccount { cached, .. }
        | TokenSource::AuthorizedUser { cached, .. } = self
        {
            *cached = Some((Secret(token.access_token), now + token.expires_in));
        }
    }
}
