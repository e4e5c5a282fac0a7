//! The prefix watch task: created from a start revision, forwards whole responses as
//! [`WatchInput`]s, and ends with `Compacted` (the start revision was compacted: etcd 3.4
//! answers `created`, then `canceled` with `compact_revision`) or `Broken` (error, closed
//! stream, or any other cancel). The adapter decides what comes next (re-list or resume).

use etcd_client::{Client, EventType, WatchOptions};
use tokio::sync::mpsc::UnboundedSender;

use super::exec::kv_from;
use super::Cmd;
use crate::proto::ops::{EventKind, Rev, WatchEvent, WatchInput};

pub(crate) async fn run(
    mut client: Client,
    prefix: String,
    from: Rev,
    gen: u64,
    tx: UnboundedSender<Cmd>,
) {
    let opts = WatchOptions::new()
        .with_prefix()
        .with_start_revision(from as i64);
    let mut stream = match client.watch(prefix.as_str(), Some(opts)).await {
        Ok(s) => s,
        Err(_) => {
            let _ = tx.send(Cmd::Watch(gen, WatchInput::Broken));
            return;
        }
    };
    loop {
        match stream.message().await {
            Ok(Some(resp)) => {
                if resp.canceled() {
                    let input = if resp.compact_revision() > 0 {
                        WatchInput::Compacted {
                            compact_revision: resp.compact_revision() as Rev,
                        }
                    } else {
                        WatchInput::Broken
                    };
                    let _ = tx.send(Cmd::Watch(gen, input));
                    return;
                }
                let evs: Vec<WatchEvent> = resp
                    .events()
                    .iter()
                    .filter_map(|e| {
                        let kv = kv_from(e.kv()?);
                        let kind = match e.event_type() {
                            EventType::Put => EventKind::Put,
                            EventType::Delete => EventKind::Delete,
                        };
                        Some(WatchEvent { kind, kv })
                    })
                    .collect();
                if !evs.is_empty() && tx.send(Cmd::Watch(gen, WatchInput::Events(evs))).is_err() {
                    return;
                }
            }
            _ => {
                let _ = tx.send(Cmd::Watch(gen, WatchInput::Broken));
                return;
            }
        }
    }
}
