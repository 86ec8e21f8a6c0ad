//! A loopback TCP proxy that drops SSH connections on a seeded schedule: it sits between
//! `packer` and the test sshd (point the build's `ssh_port` at it), resets the first few
//! connections it accepts, and cuts one established connection after some bytes or some
//! milliseconds. Everything it did is recorded, so a test can tell which drop a build saw.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How one established connection is cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// After this many bytes have passed (both directions together).
    AfterBytes(u64),
    /// After this many milliseconds.
    AfterMillis(u64),
}

/// What the proxy does to the connections it accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DropPlan {
    /// Reset (RST, nothing forwarded) the first this many connections.
    pub refuse_first: u32,
    /// Cut the first forwarded connection this way.
    pub cut_first: Option<Cut>,
}

impl DropPlan {
    /// A random plan derived from `seed` (the same seed, the same plan): no drop one seed in
    /// three; otherwise up to two refused connections and, one time in two, the first
    /// forwarded connection cut after 200 to 12,000 bytes or after 50 to 1,500 ms.
    pub fn from_seed(seed: u64) -> DropPlan {
        let mut rng = packer_gce_emulator::faults::SplitMix64::new(seed ^ 0x55_4D_D0);
        let mut pick = |n: u64| rng.next_u64() % n;
        if pick(3) == 0 {
            return DropPlan::default();
        }
        let refuse_first = pick(3) as u32;
        let cut_first = match pick(4) {
            0 => Some(Cut::AfterBytes(200 + pick(11_800))),
            1 => Some(Cut::AfterMillis(50 + pick(1_450))),
            _ => None,
        };
        DropPlan {
            refuse_first,
            cut_first,
        }
    }

    /// True when the plan drops nothing.
    pub fn is_quiet(&self) -> bool {
        self.refuse_first == 0 && self.cut_first.is_none()
    }
}

impl std::fmt::Display for DropPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "refuse {}", self.refuse_first)?;
        match self.cut_first {
            Some(Cut::AfterBytes(b)) => write!(f, ", cut after {b} bytes"),
            Some(Cut::AfterMillis(ms)) => write!(f, ", cut after {ms} ms"),
            None => Ok(()),
        }
    }
}

/// A running proxy; dropping it stops accepting connections.
pub struct TcpProxy {
    port: u16,
    stop: Arc<AtomicBool>,
    events: Arc<Mutex<Vec<String>>>,
}

impl TcpProxy {
    /// Listens on a free loopback port and forwards to `127.0.0.1:target` by `plan`.
    pub fn start(target: u16, plan: DropPlan) -> std::io::Result<TcpProxy> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let stop = Arc::new(AtomicBool::new(false));
        let events = Arc::new(Mutex::new(Vec::new()));
        let (stop2, events2) = (stop.clone(), events.clone());
        std::thread::spawn(move || accept_loop(listener, target, plan, stop2, events2));
        Ok(TcpProxy { port, stop, events })
    }

    /// The port to connect to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// What the proxy did so far: `refused #N`, `cut #N after B bytes`, `cut #N after MS ms`.
    pub fn events(&self) -> Vec<String> {
        self.events.lock().map(|e| e.clone()).unwrap_or_default()
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn note(events: &Mutex<Vec<String>>, event: String) {
    if let Ok(mut e) = events.lock() {
        e.push(event);
    }
}

fn accept_loop(
    listener: TcpListener,
    target: u16,
    plan: DropPlan,
    stop: Arc<AtomicBool>,
    events: Arc<Mutex<Vec<String>>>,
) {
    let mut accepted = 0u32;
    let mut forwarded = 0u32;
    for client in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let Ok(client) = client else { continue };
        accepted += 1;
        if accepted <= plan.refuse_first {
            reset(&client);
            note(&events, format!("refused #{accepted}"));
            continue;
        }
        forwarded += 1;
        let cut = if forwarded == 1 { plan.cut_first } else { None };
        let Ok(server) = TcpStream::connect(SocketAddr::from(([127, 0, 0, 1], target))) else {
            reset(&client);
            note(&events, format!("no upstream for #{accepted}"));
            continue;
        };
        let events = events.clone();
        std::thread::spawn(move || forward(client, server, cut, accepted, events));
    }
}

/// Closes with RST: SO_LINGER zero, then close.
fn reset(stream: &TcpStream) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    use std::os::fd::AsRawFd;
    // SAFETY: setting a socket option on a socket we own, with a correctly sized value.
    unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            &linger as *const libc::linger as *const libc::c_void,
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
    let _ = stream.shutdown(Shutdown::Read);
}

fn forward(
    client: TcpStream,
    server: TcpStream,
    cut: Option<Cut>,
    n: u32,
    events: Arc<Mutex<Vec<String>>>,
) {
    let passed = Arc::new(AtomicU64::new(0));
    let cut_done = Arc::new(AtomicBool::new(false));
    let (Ok(c2), Ok(s2)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    let kill = {
        let (c, s) = (client.try_clone(), server.try_clone());
        move || {
            if let (Ok(c), Ok(s)) = (&c, &s) {
                reset(c);
                let _ = c.shutdown(Shutdown::Both);
                let _ = s.shutdown(Shutdown::Both);
            }
        }
    };
    let kill = Arc::new(kill);
    if let Some(Cut::AfterMillis(ms)) = cut {
        let (kill, cut_done, events) = (kill.clone(), cut_done.clone(), events.clone());
        let passed = passed.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(ms));
            if !cut_done.swap(true, Ordering::SeqCst) {
                note(
                    &events,
                    format!(
                        "cut #{n} after {ms} ms ({} bytes)",
                        passed.load(Ordering::SeqCst)
                    ),
                );
                kill();
            }
        });
    }
    let limit = match cut {
        Some(Cut::AfterBytes(b)) => Some(b),
        _ => None,
    };
    let pump = |mut from: TcpStream, mut to: TcpStream| {
        let (passed, cut_done, kill, events) = (
            passed.clone(),
            cut_done.clone(),
            kill.clone(),
            events.clone(),
        );
        move || {
            let started = Instant::now();
            let mut buf = [0u8; 16 * 1024];
            loop {
                let n_read = match from.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(k) => k,
                };
                let mut chunk = &buf[..n_read];
                if let Some(limit) = limit {
                    let before = passed.fetch_add(chunk.len() as u64, Ordering::SeqCst);
                    if before + chunk.len() as u64 >= limit {
                        let keep = limit.saturating_sub(before) as usize;
                        chunk = &chunk[..keep.min(chunk.len())];
                        let _ = to.write_all(chunk);
                        if !cut_done.swap(true, Ordering::SeqCst) {
                            note(
                                &events,
                                format!(
                                    "cut #{n} after {limit} bytes ({} ms)",
                                    started.elapsed().as_millis()
                                ),
                            );
                            kill();
                        }
                        break;
                    }
                } else {
                    passed.fetch_add(chunk.len() as u64, Ordering::SeqCst);
                }
                if to.write_all(chunk).is_err() {
                    break;
                }
            }
            let _ = to.shutdown(Shutdown::Write);
        }
    };
    let up = std::thread::spawn(pump(c2, s2));
    pump(server, client)();
    let _ = up.join();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn echo_server() -> u16 {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for s in l.incoming().flatten() {
                std::thread::spawn(move || {
                    let mut r = s.try_clone().unwrap();
                    let mut w = s;
                    let _ = std::io::copy(&mut r, &mut w);
                });
            }
        });
        port
    }

    #[test]
    fn refuses_then_forwards_then_cuts() {
        let target = echo_server();
        let proxy = TcpProxy::start(
            target,
            DropPlan {
                refuse_first: 1,
                cut_first: Some(Cut::AfterBytes(10)),
            },
        )
        .unwrap();
        // The first connection is reset.
        let mut first = TcpStream::connect(("127.0.0.1", proxy.port())).unwrap();
        let _ = first.write_all(b"hello");
        let mut buf = [0u8; 16];
        first
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        assert!(matches!(first.read(&mut buf), Ok(0) | Err(_)));
        // The second is forwarded and cut after 10 bytes in all.
        let mut second = TcpStream::connect(("127.0.0.1", proxy.port())).unwrap();
        second
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        second.write_all(b"abcd").unwrap();
        let mut got = [0u8; 4];
        second.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"abcd");
        let _ = second.write_all(b"0123456789");
        let mut rest = Vec::new();
        let _ = second.read_to_end(&mut rest);
        assert!(rest.len() < 10, "the cut let {} bytes through", rest.len());
        // The third is forwarded untouched.
        let mut third = TcpStream::connect(("127.0.0.1", proxy.port())).unwrap();
        third.write_all(b"0123456789abcdef").unwrap();
        let mut all = [0u8; 16];
        third.read_exact(&mut all).unwrap();
        assert_eq!(&all, b"0123456789abcdef");
        let events = proxy.events();
        assert_eq!(events[0], "refused #1");
        assert!(events[1].starts_with("cut #2 after 10 bytes"), "{events:?}");
    }

    #[test]
    fn plans_are_reproducible() {
        for seed in 0..100 {
            assert_eq!(DropPlan::from_seed(seed), DropPlan::from_seed(seed));
        }
        assert!((0..100).any(|s| DropPlan::from_seed(s).is_quiet()));
        assert!((0..100).any(|s| DropPlan::from_seed(s).refuse_first == 2));
        assert!(
            (0..100).any(|s| matches!(DropPlan::from_seed(s).cut_first, Some(Cut::AfterBytes(_))))
        );
        assert!(
            (0..100).any(|s| matches!(DropPlan::from_seed(s).cut_first, Some(Cut::AfterMillis(_))))
        );
    }
}
