//! The nodes' JSON-lines logs: one object per line with `ts_ms`, `proc`, `event` and the
//! event's fields (as `ftf-node` prints them).

use serde_json::Value;

/// One parsed line.
#[derive(Debug, Clone)]
pub struct Line {
    /// Wall-clock milliseconds since the Unix epoch when the node printed it.
    pub ts_ms: u64,
    /// The printing process's id.
    pub proc: String,
    /// The event's name (snake case: `failed`, `lock_granted`, ...).
    pub event: String,
    /// The whole object (fields by name).
    pub raw: Value,
}

impl Line {
    /// Field `name` as u64 (numbers or numeric strings).
    pub fn u(&self, name: &str) -> Option<u64> {
        match self.raw.get(name)? {
            Value::Number(n) => n.as_u64().or_else(|| n.as_i64().map(|v| v.max(0) as u64)),
            Value::String(s) => s.parse().ok(),
            _ => None,
        }
    }

    /// Field `name` as a string (numbers rendered).
    pub fn s(&self, name: &str) -> Option<String> {
        match self.raw.get(name)? {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            v => Some(v.to_string()),
        }
    }
}

/// All lines of all logs, each log's lines in its own order.
#[derive(Debug, Default)]
pub struct Logs {
    /// Lines per file, in file order.
    pub files: Vec<(String, Vec<Line>)>,
}

impl Logs {
    /// Reads every file; non-JSON lines (a panic message, a torn last line) are skipped.
    pub fn load(paths: &[String]) -> Result<Logs, String> {
        let mut files = Vec::new();
        for p in paths {
            let text = std::fs::read_to_string(p).map_err(|e| format!("{p}: {e}"))?;
            let mut lines = Vec::new();
            for l in text.lines() {
                let Ok(raw) = serde_json::from_str::<Value>(l) else {
                    continue;
                };
                let Some(event) = raw.get("event").and_then(|v| v.as_str()) else {
                    continue;
                };
                lines.push(Line {
                    ts_ms: raw.get("ts_ms").and_then(|v| v.as_u64()).unwrap_or(0),
                    proc: raw
                        .get("proc")
                        .and_then(|v| v.as_str())
                        .unwrap_or("?")
                        .to_string(),
                    event: event.to_string(),
                    raw: raw.clone(),
                });
            }
            files.push((p.clone(), lines));
        }
        Ok(Logs { files })
    }

    /// Every line of every log with event `name`.
    pub fn all(&self, name: &str) -> impl Iterator<Item = &Line> + '_ {
        let name = name.to_string();
        self.files
            .iter()
            .flat_map(|(_, ls)| ls.iter())
            .filter(move |l| l.event == name)
    }

    /// The process id a log file belongs to (its first line's `proc`).
    pub fn proc_of(lines: &[Line]) -> Option<&str> {
        lines.first().map(|l| l.proc.as_str())
    }
}
