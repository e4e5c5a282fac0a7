//! A loopback TCP proxy between one node and one etcd member: forwards bytes both ways,
//! counts them, and can blackhole (hold every connection open but move no byte) or cut
//! (close every connection and close new ones at once) on command.
//!
//! Invariants: a proxy owns only its listener thread and the two pump threads of each
//! accepted connection; `Drop` stops accepting and closes every connection it made.
//! Blackholing never closes a socket, so the node sees a silent peer (a network
//! partition), not a reset.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// Proxy modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Bytes flow both ways.
    Forward,
    /// Connections stay open but no byte moves (reads are held back).
    Blackhole,
    /// Every connection is closed and new ones are closed at once (a hard partition that
    /// the client notices: its streams break and it reconnects once forwarding resumes).
    Cut,
}

struct Shared {
    upstream: SocketAddr,
    blackhole: AtomicBool,
    cut: AtomicBool,
    stop: AtomicBool,
    up_bytes: AtomicU64,
    down_bytes: AtomicU64,
    conns: Mutex<Vec<TcpStream>>,
}

/// A running proxy; see the module docs.
pub struct Proxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

impl Proxy {
    /// Listens on a free 127.0.0.1 port and forwards to `upstream` (e.g. "127.0.0.1:2379").
    pub fn start(upstream: &str) -> std::io::Result<Proxy> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        listener.set_nonblocking(true)?;
        let shared = Arc::new(Shared {
            upstream: upstream
                .trim_start_matches("http://")
                .parse()
                .map_err(|e| std::io::Error::other(format!("{upstream}: {e}")))?,
            blackhole: AtomicBool::new(false),
            cut: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            up_bytes: AtomicU64::new(0),
            down_bytes: AtomicU64::new(0),
            conns: Mutex::new(Vec::new()),
        });
        let s = shared.clone();
        thread::spawn(move || accept_loop(listener, s));
        Ok(Proxy { addr, shared })
    }

    /// `http://127.0.0.1:<port>` (what the node is given as its endpoint).
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Switches the mode for every current and future connection.
    pub fn set_mode(&self, mode: Mode) {
        self.shared
            .blackhole
            .store(mode == Mode::Blackhole, Ordering::SeqCst);
        self.shared.cut.store(mode == Mode::Cut, Ordering::SeqCst);
        if mode == Mode::Cut {
            for c in self.shared.conns.lock().unwrap().drain(..) {
                let _ = c.shutdown(Shutdown::Both);
            }
        }
    }

    /// Bytes forwarded (node → etcd, etcd → node) so far.
    pub fn bytes(&self) -> (u64, u64) {
        (
            self.shared.up_bytes.load(Ordering::Relaxed),
            self.shared.down_bytes.load(Ordering::Relaxed),
        )
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        for c in self.shared.conns.lock().unwrap().drain(..) {
            let _ = c.shutdown(Shutdown::Both);
        }
    }
}

fn accept_loop(listener: TcpListener, s: Arc<Shared>) {
    while !s.stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((client, _)) => {
                if s.cut.load(Ordering::SeqCst) {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let _ = client.set_nonblocking(false);
                let Ok(server) = TcpStream::connect_timeout(&s.upstream, Duration::from_secs(1))
                else {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                {
                    let mut conns = s.conns.lock().unwrap();
                    for c in [&client, &server] {
                        if let Ok(c) = c.try_clone() {
                            conns.push(c);
                        }
                    }
                }
                let (c2, s2) = (client.try_clone(), server.try_clone());
                if let (Ok(c2), Ok(s2)) = (c2, s2) {
                    let sh = s.clone();
                    thread::spawn(move || pump(client, server, sh, true));
                    let sh = s.clone();
                    thread::spawn(move || pump(s2, c2, sh, false));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                thread::sleep(Duration::from_millis(5))
            }
            Err(_) => thread::sleep(Duration::from_millis(5)),
        }
    }
}

fn pump(mut from: TcpStream, mut to: TcpStream, s: Arc<Shared>, up: bool) {
    let mut buf = [0u8; 16 * 1024];
    let _ = from.set_read_timeout(Some(Duration::from_millis(50)));
    loop {
        if s.stop.load(Ordering::SeqCst) || s.cut.load(Ordering::SeqCst) {
            break;
        }
        if s.blackhole.load(Ordering::SeqCst) {
            thread::sleep(Duration::from_millis(10));
            continue;
        }
        match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
                let c = if up { &s.up_bytes } else { &s.down_bytes };
                c.fetch_add(n as u64, Ordering::Relaxed);
            }
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => break,
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}
