//! etcd's own history of the forest's prefix: every put and delete with its revision, read
//! by watching the prefix from revision 1 (so it must happen before any compaction, or be
//! recorded live by `ftf-check record` and completed from the last recorded revision).
//!
//! Invariant: a `History` is sorted by revision and holds each (revision, key) once.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::time::Duration;

use etcd_client::{Client, ConnectOptions, EventType, WatchOptions};
use serde::{Deserialize, Serialize};

/// One key change under the prefix.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct HistEvent {
    /// The revision of the change.
    pub rev: i64,
    /// `true` for a put, `false` for a delete.
    pub put: bool,
    /// The key with the prefix removed (e.g. `recovery/lock/1`).
    pub key: String,
    /// The value (empty for a delete).
    pub value: String,
    /// The key's create revision (for a delete: of the deleted key, from prev_kv).
    pub create: i64,
    /// The key's lease id (0: none; for a delete: the deleted key's).
    pub lease: i64,
}

/// The history, sorted by revision.
#[derive(Debug, Default, Clone)]
pub struct History {
    /// Events in revision order.
    pub events: Vec<HistEvent>,
}

impl History {
    /// Reads a JSON-lines history file (as written by `record`).
    pub fn load(path: &str) -> Result<History, String> {
        let f = std::fs::File::open(path).map_err(|e| format!("{path}: {e}"))?;
        let mut events = Vec::new();
        for line in std::io::BufReader::new(f).lines() {
            let line = line.map_err(|e| format!("{path}: {e}"))?;
            if line.trim().is_empty() {
                continue;
            }
            // A recorder killed mid-line leaves a torn last line: skip it.
            if let Ok(ev) = serde_json::from_str::<HistEvent>(&line) {
                events.push(ev);
            }
        }
        let mut h = History { events };
        h.normalise();
        Ok(h)
    }

    /// Sorts by revision and drops duplicate (revision, key) entries.
    pub fn normalise(&mut self) {
        let mut seen = BTreeMap::new();
        for e in self.events.drain(..) {
            seen.insert((e.rev, e.key.clone()), e);
        }
        self.events = seen.into_values().collect();
    }

    /// The last revision seen (0 when empty).
    pub fn last_rev(&self) -> i64 {
        self.events.last().map(|e| e.rev).unwrap_or(0)
    }

    /// Appends the events after `last_rev()` read from etcd (up to its current revision).
    pub async fn complete_from(
        &mut self,
        endpoints: &[String],
        prefix: &str,
    ) -> Result<(), String> {
        let from = self.last_rev() + 1;
        let mut more = fetch(endpoints, prefix, from).await;
        for _ in 0..4 {
            match &more {
                Err(e) if !e.contains("compacted") => {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    more = fetch(endpoints, prefix, from).await;
                }
                _ => break,
            }
        }
        let more = more?;
        self.events.extend(more);
        self.normalise();
        Ok(())
    }
}

/// Connects to `endpoints` with short timeouts.
pub async fn connect(endpoints: &[String]) -> Result<Client, String> {
    let opts = ConnectOptions::new()
        .with_connect_timeout(Duration::from_secs(2))
        .with_timeout(Duration::from_secs(3));
    Client::connect(endpoints, Some(opts))
        .await
        .map_err(|e| format!("connect {endpoints:?}: {e}"))
}

fn convert(prefix: &str, ev: &etcd_client::Event) -> Option<HistEvent> {
    let kv = ev.kv()?;
    let key = String::from_utf8_lossy(kv.key());
    let key = key.strip_prefix(prefix).unwrap_or(&key).to_string();
    let put = matches!(ev.event_type(), EventType::Put);
    let (create, lease) = if put {
        (kv.create_revision(), kv.lease())
    } else {
        ev.prev_kv()
            .map(|p| (p.create_revision(), p.lease()))
            .unwrap_or((0, 0))
    };
    Some(HistEvent {
        rev: kv.mod_revision(),
        put,
        key,
        value: if put {
            String::from_utf8_lossy(kv.value()).into_owned()
        } else {
            String::new()
        },
        create,
        lease,
    })
}

/// Every event under `prefix` from revision `from` up to etcd's current revision.
///
/// Errors when `from` is compacted (the history would be incomplete).
pub async fn fetch(
    endpoints: &[String],
    prefix: &str,
    from: i64,
) -> Result<Vec<HistEvent>, String> {
    let mut client = connect(endpoints).await?;
    // etcd-client keeps balancing onto a dead endpoint: retry a failed request a few times.
    let mut now = None;
    let mut last_err = String::new();
    for _ in 0..10 {
        let opts = etcd_client::GetOptions::new()
            .with_prefix()
            .with_count_only();
        match client.get(prefix, Some(opts)).await {
            Ok(r) => {
                now = Some(r.header().map(|h| h.revision()).unwrap_or(0));
                break;
            }
            Err(e) => {
                last_err = format!("get {prefix}: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
    let now = now.ok_or(last_err)?;
    let mut out = Vec::new();
    if from > now {
        return Ok(out);
    }
    let opts = WatchOptions::new()
        .with_prefix()
        .with_start_revision(from)
        .with_prev_key();
    let mut stream = client
        .watch(prefix, Some(opts))
        .await
        .map_err(|e| format!("watch {prefix}: {e}"))?;
    // Done when an event at etcd's current revision arrived, or after a second of silence
    // (the last revisions may have changed keys outside the prefix).
    loop {
        let msg = match tokio::time::timeout(Duration::from_secs(1), stream.message()).await {
            Err(_) => break,
            Ok(m) => m.map_err(|e| format!("watch stream: {e}"))?,
        };
        let Some(resp) = msg else { break };
        if resp.canceled() {
            return Err(format!(
                "history from revision {from} is compacted (compact_revision {}): record it live with `ftf-check record`",
                resp.compact_revision()
            ));
        }
        let mut last = 0;
        for ev in resp.events() {
            if let Some(h) = convert(prefix, ev) {
                last = h.rev;
                out.push(h);
            }
        }
        if last >= now {
            break;
        }
    }
    Ok(out)
}

/// Records the prefix's history live into `out` (JSON lines, flushed per event) until
/// killed; resumes from the last revision after a broken stream or a member failure.
pub async fn record(endpoints: &[String], prefix: &str, out: &str) -> Result<(), String> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(out)
        .map_err(|e| format!("{out}: {e}"))?;
    let mut next = 1;
    loop {
        let Ok(mut client) = connect(endpoints).await else {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        let opts = WatchOptions::new()
            .with_prefix()
            .with_start_revision(next)
            .with_prev_key();
        let Ok(mut stream) = client.watch(prefix, Some(opts)).await else {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        // A broken stream (Err) or its end (None): reconnect and resume from `next`.
        while let Ok(Some(resp)) = stream.message().await {
            if resp.canceled() {
                return Err(format!(
                    "recorder fell behind compaction at {} (started before it?)",
                    resp.compact_revision()
                ));
            }
            for ev in resp.events() {
                if let Some(h) = convert(prefix, ev) {
                    next = next.max(h.rev + 1);
                    let line = serde_json::to_string(&h).map_err(|e| e.to_string())?;
                    writeln!(file, "{line}").map_err(|e| format!("{out}: {e}"))?;
                }
            }
            let _ = file.flush();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
