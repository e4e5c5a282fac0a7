//! A model of the etcd operations the protocol uses, as plain values (no etcd-client types):
//! Txns with compares on create/mod revision or value, puts/deletes/gets, prefix ranges, leases
//! and watch events. The driver maps them onto etcd-client; the simulated etcd in the tests
//! executes them directly.
//!
//! Invariants: a [`Request`] is answered exactly once, by an [`OpResult`] or an [`OpError`];
//! an `OpError::Ambiguous` answer means the request may or may not have been applied (the
//! adapter reads back, never retries blindly); `OpError::Failed` means it was not applied.

/// An etcd revision (create/mod revision, Txn header revision). Global, monotonic, 64-bit.
pub type Rev = u64;

/// A lease id (0 = no lease).
pub type LeaseId = i64;

/// One key and its metadata, as etcd reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyValue {
    /// The full key.
    pub key: String,
    /// The value.
    pub value: Vec<u8>,
    /// Revision of the put that created the key (since its last deletion).
    pub create_revision: Rev,
    /// Revision of the last put.
    pub mod_revision: Rev,
    /// The lease it is attached to (0: none).
    pub lease: LeaseId,
}

/// What a [`Compare`] checks (always for equality).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Check {
    /// `create_revision(key) == rev` (0: the key is absent).
    CreateRevision(Rev),
    /// `mod_revision(key) == rev` (0: the key is absent).
    ModRevision(Rev),
    /// `value(key) == bytes` (false when absent).
    Value(Vec<u8>),
}

/// One Txn compare.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Compare {
    /// The key.
    pub key: String,
    /// The check.
    pub check: Check,
}

/// One Txn operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TxnOp {
    /// Put, attached to `lease` (0: none).
    Put {
        /// Key.
        key: String,
        /// Value.
        value: Vec<u8>,
        /// Lease (0: none).
        lease: LeaseId,
    },
    /// Delete a key, or every key with this prefix.
    Delete {
        /// Key or prefix.
        key: String,
        /// Treat `key` as a prefix.
        prefix: bool,
    },
    /// Read a key or a prefix.
    Get {
        /// Key or prefix.
        key: String,
        /// Treat `key` as a prefix.
        prefix: bool,
    },
}

/// A transaction: if every compare holds, `success` runs, else `failure`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Txn {
    /// All must hold.
    pub compares: Vec<Compare>,
    /// Run when they hold.
    pub success: Vec<TxnOp>,
    /// Run otherwise.
    pub failure: Vec<TxnOp>,
}

/// One request to etcd.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// A transaction (linearizable).
    Txn(Txn),
    /// A linearizable range read of a prefix.
    Range {
        /// The prefix.
        prefix: String,
    },
    /// Grant a lease.
    LeaseGrant {
        /// Requested TTL in ms (etcd grants whole seconds).
        ttl_ms: u64,
    },
    /// One keepalive of a lease.
    KeepAlive {
        /// The lease.
        lease: LeaseId,
    },
    /// Revoke a lease (deletes its keys).
    LeaseRevoke {
        /// The lease.
        lease: LeaseId,
    },
}

/// The answer to one [`TxnOp`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OpResponse {
    /// A put was applied.
    Put,
    /// Keys deleted.
    Delete {
        /// How many.
        deleted: u64,
    },
    /// Keys read.
    Get {
        /// The keys (sorted).
        kvs: Vec<KeyValue>,
    },
}

/// The answer to one [`Request`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OpResult {
    /// Txn outcome; `revision` is the header revision (the Txn's own revision when it wrote).
    Txn {
        /// Whether the compares held.
        succeeded: bool,
        /// Header revision.
        revision: Rev,
        /// One response per op of the branch that ran.
        responses: Vec<OpResponse>,
    },
    /// Range outcome.
    Range {
        /// Header revision of the read.
        revision: Rev,
        /// The keys (sorted).
        kvs: Vec<KeyValue>,
    },
    /// Lease granted.
    LeaseGranted {
        /// Its id.
        lease: LeaseId,
        /// Granted TTL in ms.
        ttl_ms: u64,
    },
    /// Keepalive answer; `ttl_ms <= 0` means the lease is gone.
    KeepAlive {
        /// Remaining TTL (the full TTL after a refresh).
        ttl_ms: i64,
        /// Header revision (the store's revision when etcd answered).
        revision: Rev,
    },
    /// Lease revoked.
    Revoked,
}

/// A request that did not get an answer.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum OpError {
    /// Timed out or reset after sending: it may have been applied.
    Ambiguous,
    /// Refused before being applied (connection refused, no leader, invalid).
    Failed,
}

/// Kind of a watch event.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// Put.
    Put,
    /// Delete (`kv` carries the key and the deletion's revision as `mod_revision`).
    Delete,
}

/// One watch event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WatchEvent {
    /// Put or delete.
    pub kind: EventKind,
    /// The key after the event (for a delete: key and `mod_revision` = deletion revision).
    pub kv: KeyValue,
}

/// What the watch stream delivered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WatchInput {
    /// Events, in revision order (a revision's events are never split across inputs).
    Events(Vec<WatchEvent>),
    /// The start revision was compacted: re-list.
    Compacted {
        /// The compaction point.
        compact_revision: Rev,
    },
    /// The stream broke (error, closed): re-create it from the last revision + 1.
    Broken,
}

/// Identifies one request so its answer can be routed back.
pub type OpId = u64;

impl Txn {
    /// A Txn with no compares (always succeeds) running `ops`.
    pub fn read(ops: Vec<TxnOp>) -> Txn {
        Txn {
            compares: Vec::new(),
            success: ops,
            failure: Vec::new(),
        }
    }
}

impl OpResponse {
    /// The kvs of a `Get`, empty otherwise.
    pub fn kvs(&self) -> &[KeyValue] {
        match self {
            OpResponse::Get { kvs } => kvs,
            _ => &[],
        }
    }
}

/// The `Get` kvs of response `i` of a Txn result (empty if missing).
pub fn txn_kvs(responses: &[OpResponse], i: usize) -> &[KeyValue] {
    responses.get(i).map_or(&[], OpResponse::kvs)
}
