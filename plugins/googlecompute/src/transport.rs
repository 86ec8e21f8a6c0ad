//! The plugin's view of the outside world: HTTP, time, randomness and the
//! user's Ctrl-C. [`HostTransport`] reaches the host through the SDK; unit
//! tests substitute a scripted fake, so the API client's retry and waiting
//! logic is tested natively.

pub use packer_plugin_sdk::http::{HttpError, Response};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// One HTTP request.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// `GET`, `POST`, `DELETE`.
    pub method: String,
    /// Absolute URL.
    pub url: String,
    /// Headers, in order (may hold a bearer token: never print them).
    pub headers: Vec<(String, String)>,
    /// Body (may be empty).
    pub body: Vec<u8>,
    /// Whole-request deadline; the host's default when `None`.
    pub timeout: Option<Duration>,
}

impl std::fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}

/// What the API client needs from its environment.
pub trait Transport {
    /// Sends one request.
    fn send(&mut self, request: HttpRequest) -> Result<Response, HttpError>;
    /// True once the user cancelled the build.
    fn cancelled(&self) -> bool;
    /// Sleeps (callers keep slices short to notice cancellation).
    fn sleep(&mut self, duration: Duration);
    /// Monotonic time since the transport was made.
    fn elapsed(&self) -> Duration;
    /// Seconds since the Unix epoch.
    fn unix_time(&self) -> u64;
    /// A random number in `[0, 1)`, for jitter.
    fn random(&mut self) -> f64;
}

/// The real transport: the host's HTTP capability, WASI clocks and randomness.
#[derive(Debug)]
pub struct HostTransport {
    start: Instant,
}

impl Default for HostTransport {
    fn default() -> Self {
        HostTransport {
            start: Instant::now(),
        }
    }
}

impl Transport for HostTransport {
    fn send(&mut self, request: HttpRequest) -> Result<Response, HttpError> {
        let mut r = packer_plugin_sdk::http::Request::new(&request.method, request.url);
        for (name, value) in request.headers {
            r = r.header(&name, value);
        }
        r = r.body(request.body);
        if let Some(t) = request.timeout {
            r = r.timeout(t);
        }
        r.send()
    }

    fn cancelled(&self) -> bool {
        packer_plugin_sdk::cancellation::is_cancelled()
    }

    fn sleep(&mut self, duration: Duration) {
        std::thread::sleep(duration);
    }

    fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    fn unix_time(&self) -> u64 {
        unix_now()
    }

    fn random(&mut self) -> f64 {
        random_fraction()
    }
}

/// Seconds since the Unix epoch (0 if the clock is before it).
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A random number in `[0, 1)`.
pub fn random_fraction() -> f64 {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        // No randomness: fall back on the clock's nanoseconds.
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        return f64::from(nanos % 1_000_000) / 1_000_000.0;
    }
    (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
}

/// A random (version 4) UUID, e.g. `3f1c2b9e-8d4a-4c7e-9b1a-0f2e3d4c5b6a`.
pub fn uuid_v4() -> String {
    let mut b = [0u8; 16];
    if getrandom::fill(&mut b).is_err() {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        b = nanos.to_le_bytes();
    }
    format_uuid_v4(b)
}

/// Formats 16 random bytes as a version-4 UUID.
pub fn format_uuid_v4(mut b: [u8; 16]) -> String {
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}
