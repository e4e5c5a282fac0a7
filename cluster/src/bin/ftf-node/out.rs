//! One JSON object per line on stdout, written whole under a lock so that lines from the
//! event task, the workload and the phase threads never interleave.

use std::io::Write;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};

static STDOUT: Mutex<()> = Mutex::new(());

/// Wall-clock milliseconds since the Unix epoch (the `ts_ms` of every line).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Writes one already-serialised line and flushes.
pub fn line(json: &str) {
    let _g = STDOUT.lock().unwrap_or_else(|p| p.into_inner());
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{json}");
    let _ = out.flush();
}

/// Writes a node-level line `{"ts_ms", "proc", "event", ...fields}`.
pub fn emit(proc: &str, event: &str, fields: Value) {
    let mut m = Map::new();
    m.insert("ts_ms".into(), now_ms().into());
    m.insert("proc".into(), proc.into());
    m.insert("event".into(), event.into());
    if let Value::Object(f) = fields {
        m.extend(f);
    }
    line(&Value::Object(m).to_string());
}
