//! A minimal HTTP/1.1 server for `GET /metrics` (OpenMetrics text) on 127.0.0.1: one std
//! thread, one connection at a time, `Connection: close`. Enough for Prometheus and curl.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

/// Serves `render()` on 127.0.0.1:`port` (0: a free port) until the process exits.
/// Returns the bound port.
pub fn serve(port: u16, render: Arc<dyn Fn() -> String + Send + Sync>) -> std::io::Result<u16> {
    let listener = TcpListener::bind(("127.0.0.1", port))?;
    let port = listener.local_addr()?.port();
    std::thread::Builder::new()
        .name("ftf-metrics".into())
        .spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut s) = conn else { continue };
                let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                let mut buf = [0u8; 2048];
                let n = s.read(&mut buf).unwrap_or(0);
                let req = String::from_utf8_lossy(&buf[..n]);
                let path = req.split_whitespace().nth(1).unwrap_or("/");
                let (status, body) = if path == "/metrics" || path == "/" {
                    ("200 OK", render())
                } else {
                    ("404 Not Found", "not found\n".to_string())
                };
                let head = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: application/openmetrics-text; version=1.0.0; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = s.write_all(head.as_bytes());
                let _ = s.write_all(body.as_bytes());
            }
        })?;
    Ok(port)
}
