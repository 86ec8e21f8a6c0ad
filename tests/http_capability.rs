//! The HTTP capability end to end: a real plugin (`http-probe`) sends
//! requests through the real host to real HTTP servers on loopback.
//! Granted targets answer; others are denied with nothing sent.

use packer_e2e::Scratch;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// A tiny HTTP/1.1 server on loopback that counts the connections it accepts.
/// `/ok` answers `pong`, `/redirect/<port>` redirects to `127.0.0.1:<port>/ok`,
/// `/slow` never answers.
struct Server {
    port: u16,
    accepted: Arc<AtomicUsize>,
}

impl Server {
    fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = accepted.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                counter.fetch_add(1, Ordering::SeqCst);
                std::thread::spawn(move || serve(stream));
            }
        });
        Server { port, accepted }
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

fn serve(mut stream: TcpStream) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let mut auth = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if line.to_ascii_lowercase().starts_with("authorization:") {
            auth = line.trim().to_string();
        }
    }
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .to_string();
    let response = if path == "/ok" {
        let body = format!("pong {}", if auth.is_empty() { "no-auth" } else { "auth" });
        format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    } else if let Some(port) = path.strip_prefix("/redirect/") {
        format!(
            "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:{port}/ok\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
    } else if path == "/slow" {
        std::thread::sleep(Duration::from_secs(30));
        return;
    } else {
        "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_string()
    };
    let _ = stream.write_all(response.as_bytes());
}

fn probe(scratch: &Scratch, granted: &str, probes: serde_json::Value) -> packer_e2e::Run {
    scratch.install_plugin("http-probe");
    let template = serde_json::json!({
        "builders": [{"type": "http-probe", "granted": granted, "probes": probes}]
    });
    scratch.write("t.json", &template.to_string());
    scratch.packer(&["build", "t.json"])
}

#[test]
fn a_granted_server_answers() {
    let server = Server::start();
    let scratch = Scratch::new();
    let target = format!("127.0.0.1:{}", server.port);
    let run = probe(
        &scratch,
        &format!("http://{target}/"),
        serde_json::json!([{"target": target, "path": "/ok"}]),
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("probe 0: status 200 body \"pong auth\""),
        "{}",
        run.stdout
    );
    assert_eq!(server.accepted(), 1);
    assert!(!run.stdout.contains("probe-secret-token"));
}

#[test]
fn a_server_that_was_not_granted_is_denied_and_sees_nothing() {
    let granted = Server::start();
    let other = Server::start();
    let scratch = Scratch::new();
    let run = probe(
        &scratch,
        &format!("http://127.0.0.1:{}/", granted.port),
        serde_json::json!([{"target": format!("127.0.0.1:{}", other.port), "path": "/ok"}]),
    );
    assert!(
        run.stdout.contains("probe 0: error Denied("),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("http-probe"),
        "names the plugin: {}",
        run.stdout
    );
    assert!(
        run.stdout.contains(&format!("127.0.0.1:{}", other.port)),
        "names the host: {}",
        run.stdout
    );
    assert!(!run.stdout.contains("probe-secret-token"));
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(other.accepted(), 0, "nothing reached the other server");
    assert_eq!(granted.accepted(), 0);
}

#[test]
fn a_redirect_to_a_server_that_was_not_granted_is_denied() {
    let granted = Server::start();
    let other = Server::start();
    let scratch = Scratch::new();
    let target = format!("127.0.0.1:{}", granted.port);
    let run = probe(
        &scratch,
        &format!("http://{target}/"),
        serde_json::json!([{"target": target, "path": format!("/redirect/{}", other.port)}]),
    );
    assert!(
        run.stdout.contains("probe 0: error Denied("),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(&format!("127.0.0.1:{}", other.port)),
        "{}",
        run.stdout
    );
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(granted.accepted(), 1);
    assert_eq!(other.accepted(), 0, "the redirect target saw nothing");
}

#[test]
fn a_redirect_within_the_grant_is_followed() {
    let granted = Server::start();
    let scratch = Scratch::new();
    let target = format!("127.0.0.1:{}", granted.port);
    let run = probe(
        &scratch,
        &format!("http://{target}/"),
        serde_json::json!([{"target": target, "path": format!("/redirect/{}", granted.port)}]),
    );
    assert!(run.stdout.contains("probe 0: status 200"), "{}", run.stdout);
}

#[test]
fn a_server_that_never_answers_times_out() {
    let server = Server::start();
    let scratch = Scratch::new();
    let target = format!("127.0.0.1:{}", server.port);
    let started = std::time::Instant::now();
    let run = probe(
        &scratch,
        &format!("http://{target}/"),
        serde_json::json!([{"target": target, "path": "/slow", "timeout_ms": 500}]),
    );
    assert!(
        run.stdout.contains("probe 0: error Timeout("),
        "{}",
        run.stdout
    );
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[test]
fn the_metadata_address_is_never_reachable() {
    let scratch = Scratch::new();
    let run = probe(
        &scratch,
        "http://127.0.0.1:9/",
        serde_json::json!([{"target": "169.254.169.254", "path": "/computeMetadata/v1/"}]),
    );
    assert!(
        run.stdout.contains("probe 0: error Denied("),
        "{}",
        run.stdout
    );
}
