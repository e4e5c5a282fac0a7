//! [`ClusterEvent`]: everything one process observes or does in the cluster protocol, in the
//! order it happened there.
//!
//! Invariants: the adapter emits each event exactly once, in protocol order; none is dropped
//! (the outbox is an unbounded queue drained by the driver). Every revision, token and
//! incarnation is an etcd revision (64-bit, global, monotonic within one etcd cluster).
//! Serialised with serde as one flat JSON object whose `"event"` field names the variant in
//! snake_case (`{"event":"lock_granted","rank":1,"token":42,"slot":0}`).

use serde::{Deserialize, Serialize};

/// What the partition quorum decided for a lock attempt (healthy > members / 2).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuorumVerdict {
    /// healthy > members / 2 at the lock's own revision: the lock is kept, the pause waits.
    Recover,
    /// Not enough healthy members: the attempt is refused (`NoQuorum`; a lock already taken
    /// is given up at once), retried later.
    NoQuorum,
}

/// Why a lock attempt was refused (mirrors the core's fence refusal).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LockRefusal {
    /// Another process holds the partition's lock.
    Held,
    /// All K slots are taken.
    AtCapacity,
    /// healthy <= members / 2: in the lock Txn's own read (the lock was given up at once,
    /// nothing ran under it), or already in the local view (no lock Txn was sent).
    NoQuorum,
    /// etcd did not answer (or this process fenced itself).
    Unavailable,
    /// The partition was already recovered (its member key exists again).
    Recovered,
}

/// One thing that happened in this process's view of the cluster.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum ClusterEvent {
    /// The `config` key matched this process's n, K, TTL and layout version.
    ConfigChecked {
        /// Partitions.
        n: u32,
        /// Concurrent recoveries (slots).
        k: u32,
        /// Lease TTL in milliseconds.
        ttl_ms: u64,
    },
    /// This process registered a hosted rank; `incarnation` = its member key's create revision.
    Registered {
        /// The rank.
        rank: u32,
        /// The new incarnation.
        incarnation: u64,
    },
    /// A member key appeared (a join, a registration, or a recovery's completion).
    MemberJoined {
        /// The rank.
        rank: u32,
        /// Its incarnation (the key's create revision).
        incarnation: u64,
    },
    /// A rank left gracefully (not a failure).
    MemberLeft {
        /// The rank.
        rank: u32,
    },
    /// A local signal suspects a rank (never starts a recovery by itself).
    Suspected {
        /// The rank.
        rank: u32,
    },
    /// The rank's member key was deleted while it was a member: confirmed FAILED, at `revision`.
    Failed {
        /// The rank.
        rank: u32,
        /// The incarnation that failed.
        incarnation: u64,
        /// The revision of the deletion (the same in every process), except when learnt from
        /// a re-list (after `Relisted`): then the list revision, at or after the deletion.
        revision: u64,
    },
    /// The partition quorum of a lock attempt: read by the lock Txn itself (before its puts,
    /// so at the token's revision) or, when its answer was lost, by the read-back that found
    /// the lock ours; `no_quorum` may also come from the local view, then no Txn was sent.
    QuorumDecision {
        /// The rank to recover.
        rank: u32,
        /// Member keys alive.
        healthy: u32,
        /// Current members (ranks not absent).
        members: u32,
        /// The verdict.
        decision: QuorumVerdict,
    },
    /// This process holds the rank's recovery lock; `token` = the lock Txn's revision.
    LockGranted {
        /// The rank.
        rank: u32,
        /// The fencing token.
        token: u64,
        /// The slot taken (0..K).
        slot: u32,
    },
    /// A lock attempt was refused.
    LockRefused {
        /// The rank.
        rank: u32,
        /// Why.
        refusal: LockRefusal,
    },
    /// The cluster-wide pause for a recovery was requested (seen by this process).
    PauseRequested {
        /// The rank being recovered.
        rank: u32,
        /// The recovery's token.
        token: u64,
    },
    /// A process acknowledged the pause (quiescent) — emitted by the acking process itself
    /// once its ack is written. A process acks only when quiescent, so `in_flight` is 0
    /// (kept for the record format; a timed-out wait emits `QuiescenceOverdue` instead).
    PauseAcked {
        /// The rank being recovered.
        rank: u32,
        /// The recovery's token.
        token: u64,
        /// The acking process.
        proc: String,
        /// Local operations in flight at the ack.
        in_flight: u32,
    },
    /// Every live process acknowledged (emitted by the recoverer): phases may start.
    AllAcked {
        /// The rank being recovered.
        rank: u32,
        /// The token.
        token: u64,
        /// The processes that acknowledged.
        procs: Vec<String>,
    },
    /// The pause timed out with some processes missing; `proceeded` tells the policy's choice.
    PauseTimedOut {
        /// The rank being recovered.
        rank: u32,
        /// The token.
        token: u64,
        /// Processes that had not acknowledged.
        missing: Vec<String>,
        /// true: phases run anyway; false: the lock was given up.
        proceeded: bool,
    },
    /// A recovery phase was handed to the forest (recoverer only).
    Phase {
        /// The rank.
        rank: u32,
        /// The token.
        token: u64,
        /// Upper-case phase name (`DETECTING`, `REDISTRIBUTING`, `REBALANCING`, `VALIDATING`).
        phase: String,
    },
    /// A fenced write was accepted by etcd at `revision`. `token` is the recovery token for
    /// phase writes and the incarnation for owner writes.
    WriteAccepted {
        /// The rank written.
        rank: u32,
        /// Its fence.
        token: u64,
        /// The writer's sequence number.
        seq: u64,
        /// etcd revision of the write.
        revision: u64,
    },
    /// A fenced write was refused (stale fence, self-fenced, or etcd unavailable).
    WriteRefused {
        /// The rank.
        rank: u32,
        /// Its fence.
        token: u64,
        /// The writer's sequence number.
        seq: u64,
    },
    /// A fenced write got no answer (timeout, reset): it may or may not have been applied.
    /// Never reported as accepted or refused.
    WriteUnknown {
        /// The rank.
        rank: u32,
        /// Its fence.
        token: u64,
        /// The writer's sequence number.
        seq: u64,
    },
    /// This process completed the recovery: `new_incarnation` = the completion Txn's revision.
    RecoveryFinished {
        /// The rank.
        rank: u32,
        /// The incarnation that failed.
        old_incarnation: u64,
        /// The new one (this process now hosts the rank).
        new_incarnation: u64,
        /// The token.
        token: u64,
    },
    /// This process did not reach quiescence within the quiescence timeout of a pause: it
    /// does not ack (operations are still in flight) and keeps waiting; the recoverer's
    /// pause-timeout policy decides. Emitted once per pause.
    QuiescenceOverdue {
        /// The paused rank.
        rank: u32,
        /// The pause token.
        token: u64,
        /// Operations in flight at the timeout.
        in_flight: u32,
    },
    /// A lock naming this process on its live lease, with no fence of ours holding it (a
    /// lock Txn that committed after its read-back found nothing), is being given up.
    StrayLockReleased {
        /// The rank.
        rank: u32,
        /// The stray lock's token (its create revision).
        token: u64,
    },
    /// This process gave its lock up without completing (phase failure, pause timeout).
    RecoveryAbandoned {
        /// The rank.
        rank: u32,
        /// The token.
        token: u64,
    },
    /// The cluster-wide pause of a recovery ended here (the pause key vanished).
    Resumed {
        /// The rank.
        rank: u32,
        /// The token.
        token: u64,
    },
    /// etcd says this process's lease is gone (ttl <= 0): it is no longer a member.
    LeaseLost,
    /// The local deadline passed: no fenced write is sent from now on.
    SelfFenced {
        /// The deadline, in ms of the adapter's clock.
        deadline_ms: u64,
    },
    /// A keepalive sent after the self-fence deadline was answered with a positive TTL
    /// (etcd had lost quorum, which stops lease expiry): the lease and every key on it
    /// survived, fenced writes may be sent again until the new deadline.
    Unfenced {
        /// The new deadline, in ms of the adapter's clock.
        deadline_ms: u64,
    },
    /// etcd stopped answering: no recovery starts.
    Unavailable,
    /// etcd answers again.
    Available,
    /// The watch was re-created from `from_revision`.
    WatchResumed {
        /// First revision asked for.
        from_revision: u64,
    },
    /// The watch fell behind compaction; the prefix was re-listed at `revision`.
    Relisted {
        /// The list's revision.
        revision: u64,
    },
    /// This process tried to register a rank whose previous incarnation failed (or that is
    /// hosted elsewhere): refused.
    ZombieRejoinRefused {
        /// The rank.
        rank: u32,
    },
}

/// A [`ClusterEvent`] stamped by the driver: wall-clock ms since the Unix epoch and the process id.
/// Serialises flat: `{"ts_ms":…,"proc":"n1","event":"failed","rank":2,…}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRecord {
    /// Wall-clock milliseconds since the Unix epoch when the driver published it.
    pub ts_ms: u64,
    /// The emitting process.
    pub proc: String,
    /// The event.
    #[serde(flatten)]
    pub event: ClusterEvent,
}

impl EventRecord {
    /// One JSON line (no trailing newline).
    pub fn to_json(&self) -> String {
        // Serialising plain strings and integers cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_json() {
        let r = EventRecord {
            ts_ms: 5,
            proc: "n1".into(),
            event: ClusterEvent::LockGranted {
                rank: 1,
                token: 42,
                slot: 0,
            },
        };
        assert_eq!(
            r.to_json(),
            r#"{"ts_ms":5,"proc":"n1","event":"lock_granted","rank":1,"token":42,"slot":0}"#
        );
        let back: EventRecord = serde_json::from_str(&r.to_json()).unwrap();
        assert_eq!(back, r);
    }
}
