//! A simulated etcd: one revision counter, keys with create/mod revision and lease, leases
//! with a TTL on a virtual clock expired by a 500 ms lessor tick, Txn compares, a history
//! for watches (delivered by the harness with delays), compaction, and an "unavailable"
//! switch (quorum lost: every request fails and no lease expires; on recovery every lease
//! is re-armed to its full TTL, as a new etcd leader does).
//!
//! Invariants: every write of one Txn (or one lease revocation) shares one revision; the
//! history holds every event above the compaction point in revision order; with a
//! `quorum_fn`, `quorum_at` records the partition quorum of every revision's state.

use std::collections::BTreeMap;

use ftforest_cluster::proto::ops::{
    Check, EventKind, KeyValue, LeaseId, OpError, OpResponse, OpResult, Request, Rev, Txn, TxnOp,
    WatchEvent,
};

/// Judges the partition quorum of a keyspace state.
pub type QuorumFn = fn(&BTreeMap<String, KeyValue>) -> bool;

/// A lease.
#[derive(Clone, Debug)]
pub struct LeaseRec {
    pub ttl_ms: u64,
    pub expires_ms: u64,
}

/// Something applied that the invariant checker wants to know about.
#[derive(Clone, Debug)]
pub struct Applied {
    pub rev: Rev,
    pub txn: Txn,
}

/// The simulated server.
#[derive(Debug, Default)]
pub struct SimEtcd {
    pub rev: Rev,
    pub kvs: BTreeMap<String, KeyValue>,
    pub leases: BTreeMap<LeaseId, LeaseRec>,
    next_lease: LeaseId,
    pub history: Vec<WatchEvent>,
    pub compacted: Rev,
    pub unavailable: bool,
    pub now_ms: u64,
    next_lessor_tick: u64,
    /// Every writing Txn, for the checker.
    pub applied: Vec<Applied>,
    /// Create revision of the last deleted version of each key.
    deleted_create: BTreeMap<String, Rev>,
    /// Judges the partition quorum of a state (set by the harness; None: not recorded).
    pub quorum_fn: Option<QuorumFn>,
    /// `(revision, quorum held in the state at that revision)`, one per revision from the
    /// first one after `quorum_fn` was set.
    pub quorum_at: Vec<(Rev, bool)>,
}

impl SimEtcd {
    pub fn new() -> SimEtcd {
        SimEtcd {
            rev: 1,
            next_lease: 0x1000,
            next_lessor_tick: 500,
            ..SimEtcd::default()
        }
    }

    /// Advances the virtual clock, expiring leases on 500 ms lessor ticks.
    pub fn advance(&mut self, now_ms: u64) {
        self.now_ms = now_ms;
        while self.next_lessor_tick <= now_ms {
            let t = self.next_lessor_tick;
            self.next_lessor_tick += 500;
            if self.unavailable {
                continue;
            }
            let expired: Vec<LeaseId> = self
                .leases
                .iter()
                .filter(|(_, l)| l.expires_ms <= t)
                .map(|(id, _)| *id)
                .collect();
            for id in expired {
                self.revoke(id);
            }
        }
    }

    pub fn set_unavailable(&mut self, un: bool) {
        if self.unavailable && !un {
            // A new leader re-arms every lease to its full TTL.
            let now = self.now_ms;
            for l in self.leases.values_mut() {
                l.expires_ms = now + l.ttl_ms;
            }
        }
        self.unavailable = un;
    }

    fn revoke(&mut self, id: LeaseId) {
        self.leases.remove(&id);
        let keys: Vec<String> = self
            .kvs
            .values()
            .filter(|kv| kv.lease == id)
            .map(|kv| kv.key.clone())
            .collect();
        if keys.is_empty() {
            return;
        }
        self.rev += 1;
        let rev = self.rev;
        for k in keys {
            self.delete_key(&k, rev);
        }
        self.note_quorum();
    }

    fn note_quorum(&mut self) {
        if let Some(f) = self.quorum_fn {
            let q = f(&self.kvs);
            self.quorum_at.push((self.rev, q));
        }
    }

    /// Whether quorum held at some revision in `[from, self.rev]` (the state at `from` is
    /// the last one recorded at or before it).
    pub fn quorum_since(&self, from: Rev) -> bool {
        let at_from = self
            .quorum_at
            .iter()
            .rev()
            .find(|(r, _)| *r <= from)
            .is_some_and(|(_, q)| *q);
        at_from || self.quorum_at.iter().any(|(r, q)| *r > from && *q)
    }

    /// Create revision of the last deleted version of `key` (0: never deleted).
    pub fn last_deleted_create(&self, key: &str) -> Rev {
        self.deleted_create.get(key).copied().unwrap_or(0)
    }

    fn delete_key(&mut self, k: &str, rev: Rev) -> bool {
        if let Some(old) = self.kvs.remove(k) {
            self.deleted_create
                .insert(k.to_owned(), old.create_revision);
            self.history.push(WatchEvent {
                kind: EventKind::Delete,
                kv: KeyValue {
                    key: k.to_owned(),
                    value: Vec::new(),
                    create_revision: 0,
                    mod_revision: rev,
                    lease: 0,
                },
            });
            true
        } else {
            false
        }
    }

    pub fn compact(&mut self, rev: Rev) {
        let rev = rev.min(self.rev);
        if rev > self.compacted {
            self.compacted = rev;
            self.history.retain(|e| e.kv.mod_revision > rev);
        }
    }

    fn check(&self, c: &Check, key: &str) -> bool {
        let kv = self.kvs.get(key);
        match c {
            Check::CreateRevision(r) => kv.map_or(0, |kv| kv.create_revision) == *r,
            Check::ModRevision(r) => kv.map_or(0, |kv| kv.mod_revision) == *r,
            Check::Value(v) => kv.is_some_and(|kv| &kv.value == v),
        }
    }

    fn range(&self, key: &str, prefix: bool) -> Vec<KeyValue> {
        if prefix {
            self.kvs
                .range(key.to_owned()..)
                .take_while(|(k, _)| k.starts_with(key))
                .map(|(_, v)| v.clone())
                .collect()
        } else {
            self.kvs.get(key).cloned().into_iter().collect()
        }
    }

    /// Executes a request now (the harness decides when the reply arrives, or loses it).
    pub fn execute(&mut self, req: &Request) -> Result<OpResult, OpError> {
        if self.unavailable {
            return Err(OpError::Failed);
        }
        match req {
            Request::Txn(t) => self.txn(t),
            Request::Range { prefix } => Ok(OpResult::Range {
                revision: self.rev,
                kvs: self.range(prefix, true),
            }),
            Request::LeaseGrant { ttl_ms } => {
                let id = self.next_lease;
                self.next_lease += 7;
                let ttl = (*ttl_ms).div_ceil(1000).max(2) * 1000;
                self.leases.insert(
                    id,
                    LeaseRec {
                        ttl_ms: ttl,
                        expires_ms: self.now_ms + ttl,
                    },
                );
                Ok(OpResult::LeaseGranted {
                    lease: id,
                    ttl_ms: ttl,
                })
            }
            Request::KeepAlive { lease } => {
                let now = self.now_ms;
                match self.leases.get_mut(lease) {
                    Some(l) => {
                        l.expires_ms = now + l.ttl_ms;
                        Ok(OpResult::KeepAlive {
                            ttl_ms: l.ttl_ms as i64,
                            revision: self.rev,
                        })
                    }
                    None => Ok(OpResult::KeepAlive {
                        ttl_ms: 0,
                        revision: self.rev,
                    }),
                }
            }
            Request::LeaseRevoke { lease } => {
                self.revoke(*lease);
                Ok(OpResult::Revoked)
            }
        }
    }

    fn txn(&mut self, t: &Txn) -> Result<OpResult, OpError> {
        let ok = t.compares.iter().all(|c| self.check(&c.check, &c.key));
        let ops = if ok { &t.success } else { &t.failure };
        // Validate leases first (etcd refuses the whole Txn).
        for op in ops {
            if let TxnOp::Put { lease, .. } = op {
                if *lease != 0 && !self.leases.contains_key(lease) {
                    return Err(OpError::Failed);
                }
            }
        }
        let writes = ops.iter().any(|o| !matches!(o, TxnOp::Get { .. }));
        let rev = if writes { self.rev + 1 } else { self.rev };
        let mut responses = Vec::new();
        let mut wrote = false;
        for op in ops {
            match op {
                TxnOp::Get { key, prefix } => responses.push(OpResponse::Get {
                    kvs: self.range(key, *prefix),
                }),
                TxnOp::Put { key, value, lease } => {
                    let create = self.kvs.get(key).map_or(rev, |kv| kv.create_revision);
                    let kv = KeyValue {
                        key: key.clone(),
                        value: value.clone(),
                        create_revision: create,
                        mod_revision: rev,
                        lease: *lease,
                    };
                    self.kvs.insert(key.clone(), kv.clone());
                    self.history.push(WatchEvent {
                        kind: EventKind::Put,
                        kv,
                    });
                    wrote = true;
                    responses.push(OpResponse::Put);
                }
                TxnOp::Delete { key, prefix } => {
                    let keys: Vec<String> = self
                        .range(key, *prefix)
                        .into_iter()
                        .map(|kv| kv.key)
                        .collect();
                    let mut n = 0;
                    for k in keys {
                        if self.delete_key(&k, rev) {
                            n += 1;
                            wrote = true;
                        }
                    }
                    responses.push(OpResponse::Delete { deleted: n });
                }
            }
        }
        if wrote {
            self.rev = rev;
            self.applied.push(Applied {
                rev,
                txn: t.clone(),
            });
            self.note_quorum();
        }
        Ok(OpResult::Txn {
            succeeded: ok,
            revision: self.rev,
            responses,
        })
    }

    /// Events of whole revisions in `[from, self.rev]`, or `Err(compacted)`.
    pub fn events_from(&self, from: Rev) -> Result<Vec<WatchEvent>, Rev> {
        if from <= self.compacted {
            return Err(self.compacted);
        }
        Ok(self
            .history
            .iter()
            .filter(|e| e.kv.mod_revision >= from)
            .cloned()
            .collect())
    }
}
