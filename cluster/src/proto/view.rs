//! [`View`]: this process's image of the forest's keyspace, fed by one listing and then by
//! the watch, in revision order.
//!
//! Invariants: `rev` only grows; after `apply(e)` the image holds exactly the keys etcd held
//! at `e`'s revision as far as the events told (watch events are complete and ordered while
//! the watch runs from the last revision + 1, etcd API guarantees); a re-list replaces the
//! image wholesale and yields the differences as synthetic events, so no change is missed
//! across a compaction.

use std::collections::BTreeMap;

use super::keys::{KeyKind, Keys};
use super::ops::{EventKind, KeyValue, Rev, WatchEvent};

/// The local image of the keyspace.
#[derive(Clone, Debug, Default)]
pub struct View {
    kvs: BTreeMap<String, KeyValue>,
    rev: Rev,
}

impl View {
    /// The last revision applied (0: nothing yet).
    pub fn rev(&self) -> Rev {
        self.rev
    }

    /// One key.
    pub fn get(&self, key: &str) -> Option<&KeyValue> {
        self.kvs.get(key)
    }

    /// Every key under `prefix`.
    pub fn prefixed<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = &'a KeyValue> + 'a {
        self.kvs
            .range(prefix.to_owned()..)
            .take_while(move |(k, _)| k.starts_with(prefix))
            .map(|(_, v)| v)
    }

    /// Applies one event; returns the key's previous value (for a delete: what was deleted).
    pub fn apply(&mut self, e: &WatchEvent) -> Option<KeyValue> {
        if e.kv.mod_revision > self.rev {
            self.rev = e.kv.mod_revision;
        }
        match e.kind {
            EventKind::Put => self.kvs.insert(e.kv.key.clone(), e.kv.clone()),
            EventKind::Delete => self.kvs.remove(&e.kv.key),
        }
    }

    /// Replaces the image by a listing taken at `rev`; returns the differences as events
    /// (deletes first, at `rev`, then puts), which the caller derives like watch events.
    pub fn relist(&mut self, rev: Rev, kvs: Vec<KeyValue>) -> Vec<WatchEvent> {
        let mut next: BTreeMap<String, KeyValue> =
            kvs.into_iter().map(|kv| (kv.key.clone(), kv)).collect();
        let mut diff = Vec::new();
        for (k, old) in &self.kvs {
            if !next.contains_key(k) {
                diff.push(WatchEvent {
                    kind: EventKind::Delete,
                    kv: KeyValue {
                        key: k.clone(),
                        value: Vec::new(),
                        create_revision: 0,
                        mod_revision: rev.max(old.mod_revision),
                        lease: 0,
                    },
                });
            }
        }
        for (k, kv) in &next {
            if self.kvs.get(k) != Some(kv) {
                diff.push(WatchEvent {
                    kind: EventKind::Put,
                    kv: kv.clone(),
                });
            }
        }
        core::mem::swap(&mut self.kvs, &mut next);
        self.rev = self.rev.max(rev);
        diff
    }

    /// Live processes (`procs/*` keys), by id.
    pub fn procs(&self, keys: &Keys) -> Vec<String> {
        let pfx = keys.proc("");
        self.prefixed(&pfx)
            .filter_map(|kv| match keys.parse(&kv.key) {
                Some(KeyKind::Proc(p)) => Some(p),
                _ => None,
            })
            .collect()
    }

    /// Processes whose `ack/<r>/<proc>` holds `token`.
    pub fn acked(&self, keys: &Keys, r: u32, token: Rev) -> Vec<String> {
        let pfx = keys.acks(r);
        let want = token.to_string();
        self.prefixed(&pfx)
            .filter(|kv| kv.value == want.as_bytes())
            .filter_map(|kv| match keys.parse(&kv.key) {
                Some(KeyKind::Ack(_, p)) => Some(p),
                _ => None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(key: &str, rev: Rev) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: b"v".to_vec(),
            create_revision: rev,
            mod_revision: rev,
            lease: 0,
        }
    }

    #[test]
    fn relist_yields_the_differences() {
        let mut v = View::default();
        v.apply(&WatchEvent {
            kind: EventKind::Put,
            kv: kv("p/a", 2),
        });
        v.apply(&WatchEvent {
            kind: EventKind::Put,
            kv: kv("p/b", 3),
        });
        let d = v.relist(9, vec![kv("p/b", 3), kv("p/c", 8)]);
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].kind, EventKind::Delete);
        assert_eq!(d[0].kv.key, "p/a");
        assert_eq!(d[1].kv.key, "p/c");
        assert_eq!(v.rev(), 9);
        assert_eq!(v.prefixed("p/").count(), 2);
    }
}
