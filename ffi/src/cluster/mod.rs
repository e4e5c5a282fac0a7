//! `ftf_cluster`: a forest across processes for C (feature `cluster`): an
//! `ftforest_cluster::Member` on a library-owned tokio runtime, attached to an `ftf_forest`.
//!
//! Files: `config.rs` (the `ftf_cluster_config` builder), `member.rs` (join / leave / free
//! and the handle), `io.rs` (fenced put, get, check_fence), `events.rs` (subscribe and the
//! dispatcher thread), `stats.rs` (statistics, level, metrics, ranks, report, faults),
//! `hooks.rs` (the forest's C callbacks as `ForestHooks`), `error.rs` (every mapping onto
//! `ftf_result`, in one place), `threads.rs` (which thread is which).
//!
//! Threads of one member (what runs where, and what may be called from there):
//!
//! * two **runtime workers** (`ftf-cluster`, tokio): the driver loop, etcd requests, the
//!   watch. No callback runs here.
//! * one **hook thread** (`ftf-cluster-hooks`, a plain thread): the forest's
//!   `pause_balancer` / `resume_balancer` / `pause_ghost_sync` / `resume_ghost_sync`
//!   callbacks, one at a time, in protocol order (a pause before the phases it protects:
//!   phases are handed to the blocking pool from here; each resume after its pause). A slow
//!   hook does not delay keepalives, the watch or fenced writes; the local pause is acked
//!   only once the pause hooks returned (a hook that never returns: never acked,
//!   `QUIESCENCE_OVERDUE`, the recoverer's pause policy decides). Hooks may call only the
//!   non-blocking `ftf_cluster_*` functions (`check_fence`, `stats_get`,
//!   `coordinator_stats`, `level`, `metrics`, `ranks`, `incarnation`, `report`, `fault`,
//!   `subscribe`, `unsubscribe` (`FTF_BUSY` instead of waiting while that listener is being
//!   called), the last `free`) and the non-waiting `ftf_forest_*` / `ftf_op_*` functions;
//!   the blocking ones (`join`, `leave`, `put`, `get`) and the waiting ones
//!   (`ftf_op_begin_wait`, `ftf_tracker_pause_wait`, `ftf_tracker_wait_quiescent`,
//!   `ftf_barrier_wait`, `ftf_recovery_lock_acquire_wait`: the gate they wait for reopens
//!   only after the pause, whose ack waits for the hook) return `FTF_BUSY` there.
//! * **blocking-pool threads** (tokio, `ftf-cluster`): the forest's `run_phase`, one phase of
//!   an attempt at a time, with `job->fence` = the recovery's fencing token (never 0). It
//!   may call every `ftf_cluster_*` and `ftf_forest_*` function, including `put` / `get` /
//!   `check_fence` on its own member, `leave` and the last `free` (which then does not wait
//!   for any thread: the teardown is handed to a new thread).
//! * one **event dispatcher** thread (`ftf-cluster-ev`, a plain thread): every listener,
//!   in protocol order, and the attached forest's `ftf_event` listeners with the member
//!   coordinator's events, in the coordinator's order; it may call every function, blocking ones included. Once the last
//!   `ftf_cluster_free` began (from anywhere, a listener included) no listener is called any
//!   more: they are only finalized.
//! * any **other tokio runtime's** thread: `join`, `leave`, `put`, `get` return `FTF_BUSY`
//!   there (they would block in an async context).
//! * `cancel` of the forest's callbacks is never called by the cluster: an attempt whose
//!   lock was lost fails at its next fenced write (`FTF_STALE`) and the cluster retries.
//!
//! No libftforest lock is held while any callback runs; callbacks must not unwind.

pub mod config;
pub mod error;
pub mod events;
mod hooks;
pub mod io;
pub mod member;
pub mod stats;
pub(crate) mod threads;

pub use config::ftf_cluster_config;
pub use events::{ftf_cluster_event, ftf_cluster_event_fn, ftf_cluster_event_kind};
pub use member::ftf_cluster;
pub use stats::{ftf_cluster_fault_kind, ftf_cluster_stats};
