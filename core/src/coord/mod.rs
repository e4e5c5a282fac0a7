//! # Fault detection and recovery orchestration
//!
//! The heavyweight fault-tolerant layer of the forest, sans-io: it reads no clock, starts no
//! thread and never blocks. Data flows through it in this order:
//!
//! 1. [`Report`]s (barrier timeouts through the [`ReportingBarrier`], ghost-sync results,
//!    heartbeats) and `tick(now)` → detection ([`PartitionSlot`], [`HeartbeatState`]):
//!    consecutive failures per signal (a success ends only its own signal's streak) →
//!    SUSPECTED → (confirmation time, or a count of failure reports) → FAILED;
//! 2. the recovery [`decide`] function (STATE 1 recover / 2 queue / 3 escalate and queue);
//! 3. the [`Scheduler`] (recovery queue + recovery lock): FIFO, one recovery per partition,
//!    at most K at once;
//! 4. the counted [`RecoveryMode`]: the first recovery closes the shared operation gate
//!    ([`OpGate`], the tracker) and pauses balancer and ghost sync (as [`Action`]s), the last
//!    one resumes them;
//!    With [`Config::fenced`] an attempt first asks for a fence (the cluster-wide lock and its
//!    token, [`Action::AcquireFence`]) and starts only once granted (`fence.rs`); while the
//!    embedder says coordination is unavailable, nothing starts;
//! 5. the [`Phase`]s of each attempt, handed out as [`Action::RunPhase`] and confirmed with
//!    `phase_done`; failures retry with [`backoff`] and escalate after the last retry;
//! 6. [`Event`]s (pulled from a bounded outbox; backpressure, never dropped), [`Stats`] with
//!    latency [`Histogram`]s (feature `histograms`), optional [`PartitionStats`] per
//!    partition, the [`HealthLevel`] and [`Alerts`] (thresholds changeable on a running
//!    coordinator).
//!
//! Membership is not fixed at creation: partitions [`join`](Coordinator::join) and
//! [`leave`](Coordinator::leave) at runtime within the coordinator's capacity `n` (ABSENT
//! ranks are not members; quorum counts the members; see `membership.rs`). [`openmetrics`]
//! writes a statistics snapshot as OpenMetrics text.
//!
//! [`Coordinator`] drives all of it. With the `std` feature, `Monitor` runs it on threads
//! with an embedder `Recovery` trait and listener slots. [`Lightweight`] is the
//! pause/resume-only decorator.
//!
//! Every defect of the Java original that concerns this layer (digest §2: B1–B3, B6, B7, B9,
//! B11–B15, B18–B21, B24, B25) has a test in `core/tests/coord_defects.rs` (B2 and B20 also in
//! `coord_monitor.rs`, with threads) showing it cannot happen here.

mod action;
mod backoff;
mod barrier;
mod config;
mod config_error;
mod coordinator;
mod decision;
mod detect;
mod error;
mod event;
mod fence;
mod gate;
mod heartbeat;
mod histogram;
mod inputs;
mod level;
mod light;
mod listener;
mod membership;
mod mode;
pub mod openmetrics;
mod phase;
mod pstats;
mod recovery;
mod report;
mod sched;
mod stats;
mod teardown;

pub use action::{Action, ActionKind, CancelJob, FenceJob, FenceRelease, PhaseJob};
pub use backoff::{backoff, may_retry};
pub use barrier::{Barrier, BarrierOutcome, ReportingBarrier};
pub use config::{Config, ConfigBuilder, PauseTimeoutPolicy};
pub use config_error::{ConfigError, ConfigField, ConfigReason};
pub use coordinator::{Coordinator, Storage, BYTES_PER_PARTITION};
pub use decision::{decide, Decision};
pub use detect::PartitionSlot;
pub use error::{CancelDoneError, FenceError, NewError, PhaseDoneError, RetryError};
pub use event::{
    AvailabilityChange, Cause, Escalation, EscalationReason, Event, EventKind, FenceGrant,
    FenceRefusal, Finished, Membership, Outbox, PhaseChange, QueueReason, Queued, QuorumChange,
    Retry, StatusChange, MAX_EVENTS_PER_STEP,
};
pub use fence::Refusal;
pub use gate::OpGate;
#[cfg(feature = "phi-accrual")]
pub use heartbeat::{phi_threshold, LN_10_NANOS};
pub use heartbeat::{HeartbeatConfig, HeartbeatMode, HeartbeatState, Verdict};
pub use histogram::{Histogram, LatencySummary, BUCKETS};
pub use level::{alerts, health_level, AlertInput, AlertThresholds, Alerts, HealthLevel};
pub use light::Lightweight;
pub use listener::{Listener, ListenerHandle, ListenerSet, SubscribeError, UnsubscribeError};
pub use membership::MembershipError;
pub use mode::{Enter, Exit, ModeError, RecoveryMode};
pub use phase::{is_allowed as phase_allowed, Phase, PhaseError, PhaseMachine};
pub use pstats::{
    NoPartitionStats, PartitionStats, PartitionStatsError, PartitionStatsSlot,
    PartitionStatsStorage,
};
pub use report::{
    FnSink, Report, ReportClass, ReportError, ReportKind, ReportOutcome, ReportSink, Signal,
};
pub use sched::{Promote, Scheduler};
pub use stats::Stats;

#[cfg(feature = "std")]
pub use coordinator_std::*;

#[cfg(feature = "std")]
mod coordinator_std;

#[cfg(feature = "std")]
mod lifecycle;

#[cfg(feature = "std")]
mod monitor;

#[cfg(feature = "std")]
pub use monitor::{Monitor, MonitorError, Recovery, MAX_SLEEP, MONITOR_LISTENERS};
