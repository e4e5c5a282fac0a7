//! # ftforest-cluster: one forest across processes and machines, on etcd
//!
//! Membership, detection, a cluster-wide pause and a fenced recovery lock for ftforest
//! partitions that live in different processes, built on etcd (never a home-made
//! consensus). Data flows in this order:
//!
//! 1. [`proto`]: the sans-io protocol. A model of the etcd operations used (Txn with compares
//!    on create/mod revision, range, lease, watch, compaction) and the per-process
//!    [`Adapter`](proto::Adapter) state machine that turns watch events and op results into
//!    inputs of an `ftforest_core::coord::Coordinator` (fenced, no local confirmation) and
//!    its actions into Txns. No tokio, no clock.
//! 2. The driver ([`Member`]): tokio + etcd-client 0.21; our own keepalive loop (TTL/3),
//!    watch re-creation from the last revision + 1, re-list after compaction, request
//!    timeouts (a timed-out Txn is ambiguous and is read back, never blindly retried).
//!
//! Keyspace under a prefix `P` (`ftf/<forest>/`): `config`, `procs/<proc>`, `members/<rank>`
//! (incarnation = create revision), `epoch/<rank>`, `recovery/lock/<rank>`,
//! `recovery/slot/<s>` (token = the lock Txn's revision), `pause/<rank>`, `ack/<rank>/<proc>`,
//! `store/<rank>`. See `proto::keys`.
//!
//! Guarantees (each checked per step by the seeded simulation in `tests/`): lock intervals of
//! a rank never overlap; at most K locks at any revision; exactly one completed recovery per
//! (rank, failed incarnation); no write with a stale fence is accepted; no phase runs while a
//! live process has not acknowledged the pause (unless the pause policy says `Proceed`).
#![deny(missing_docs)]

pub mod config;
mod driver;
pub mod error;
pub mod fault;
pub mod hooks;
mod member;
pub mod proto;
pub mod stats;

pub use config::{ClusterConfig, ClusterConfigBuilder, ConfigError, PausePolicy};
pub use error::{ClusterError, WriteError};
pub use fault::Fault;
pub use hooks::{ForestHooks, PhaseIo};
pub use member::{Gate, LocalTracker, Member, MemberState};
pub use proto::{ClusterEvent, EventRecord, LockRefusal, QuorumVerdict};
pub use stats::ClusterStats;
