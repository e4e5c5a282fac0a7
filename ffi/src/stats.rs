//! `ftf_stats`: the coordinator's statistics snapshot as a plain `#[repr(C)]` struct, and
//! `ftf_partition_stats`, the statistics of one partition.
//!
//! Invariants: a snapshot is a copy taken under the coordinator's lock (live per-state counts
//! and queue depth, B24); counters are monotonic and saturate; latencies are nanoseconds from
//! fixed-size histograms (percentiles bucketed, at most 25 % high; average and maximum exact).
//! Per-partition times and latencies that do not exist yet read `FTF_NO_TIME`.

use ftforest_core::coord::{LatencySummary, PartitionStats, Signal, Stats};

use crate::config::duration_ns;

/// A latency summary in nanoseconds (all zero when `count` is 0).
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct ftf_latency {
    /// Samples.
    pub count: u64,
    /// Exact mean.
    pub avg_ns: u64,
    /// Median (bucketed).
    pub p50_ns: u64,
    /// 95th percentile (bucketed).
    pub p95_ns: u64,
    /// 99th percentile (bucketed).
    pub p99_ns: u64,
    /// Exact maximum.
    pub max_ns: u64,
}

impl From<LatencySummary> for ftf_latency {
    fn from(l: LatencySummary) -> Self {
        ftf_latency {
            count: l.count,
            avg_ns: duration_ns(l.avg),
            p50_ns: duration_ns(l.p50),
            p95_ns: duration_ns(l.p95),
            p99_ns: duration_ns(l.p99),
            max_ns: duration_ns(l.max),
        }
    }
}

/// A statistics snapshot.
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct ftf_stats {
    /// Ranks in the table, members and ABSENT ones (the capacity `n`).
    pub total: u32,
    /// HEALTHY partitions now.
    pub healthy: u32,
    /// SUSPECTED partitions now.
    pub suspected: u32,
    /// FAILED partitions now.
    pub failed: u32,
    /// RECOVERING partitions now.
    pub recovering: u32,
    /// Partitions in the recovery queue now.
    pub queue_depth: u32,
    /// The largest queue depth seen.
    pub queue_depth_max: u32,
    /// Recoveries holding the recovery lock now.
    pub in_progress: u32,
    /// Recoveries inside recovery mode now.
    pub recovery_mode_depth: u32,
    /// Whether HEALTHY partitions are a strict majority of the current members now.
    pub quorum: bool,
    /// Succeeded attempts per thousand attempts; `UINT32_MAX` when nothing was attempted.
    pub success_rate_permille: u32,
    /// HEALTHY -> SUSPECTED transitions.
    pub suspicions: u64,
    /// SUSPECTED -> HEALTHY transitions (false alarms).
    pub false_alarms: u64,
    /// SUSPECTED -> FAILED transitions (each failure once).
    pub failures_detected: u64,
    /// Recovery attempts started.
    pub recoveries_attempted: u64,
    /// Attempts that completed every phase.
    pub recoveries_succeeded: u64,
    /// Attempts that failed (phase error, recovery timeout, pause timeout).
    pub recoveries_failed: u64,
    /// Retries scheduled with backoff.
    pub recoveries_retried: u64,
    /// Attempts abandoned at the recovery timeout.
    pub recoveries_timed_out: u64,
    /// Partitions put in the recovery queue.
    pub recoveries_queued: u64,
    /// Escalations (quorum lost, retries exhausted).
    pub escalations: u64,
    /// Times a queued recovery could not start because K were running.
    pub blocked_by_lock: u64,
    /// Pauses whose timeout expired with operations in flight.
    pub pause_timeouts: u64,
    /// Times quorum was lost.
    pub quorum_losses: u64,
    /// Reports ignored as stale (older incarnation).
    pub stale_reports: u64,
    /// Reports about FAILED/RECOVERING/ABSENT partitions (no effect).
    pub ignored_reports: u64,
    /// Events lost for lack of outbox room: always 0 (inputs are refused with
    /// `FTF_OUTBOX_FULL` and later work waits instead); counted, never silent, were the
    /// per-step bound ever wrong.
    pub events_dropped: u64,
    /// First failure report -> FAILED. All zero in the bare-metal build (no latency
    /// histograms there; the average-latency alerts still work).
    pub detection_latency: ftf_latency,
    /// FAILED -> recovered (or given up), across retries. All zero in the bare-metal build.
    pub recovery_latency: ftf_latency,
    /// Attempts abandoned at the recovery timeout whose cancel is not acknowledged yet, now
    /// (each keeps its permit and the forest paused).
    pub cancels_pending: u32,
    /// Cancels not acknowledged within the cancel timeout (each escalated once).
    pub cancels_escalated: u64,
    /// ABSENT ranks now (not members; the members are `total - absent`).
    pub absent: u32,
    /// Joins (ABSENT -> HEALTHY, or FAILED -> HEALTHY recovered elsewhere): not recoveries.
    pub joins: u64,
    /// Leaves (graceful, or a FAILED partition decommissioned): not failures.
    pub leaves: u64,
}

impl From<Stats> for ftf_stats {
    fn from(s: Stats) -> Self {
        ftf_stats {
            total: s.total,
            healthy: s.healthy,
            suspected: s.suspected,
            failed: s.failed,
            recovering: s.recovering,
            queue_depth: s.queue_depth,
            queue_depth_max: s.queue_depth_max,
            in_progress: s.in_progress,
            recovery_mode_depth: s.recovery_mode_depth,
            quorum: s.quorum,
            success_rate_permille: s.success_rate_permille().unwrap_or(u32::MAX),
            suspicions: s.suspicions,
            false_alarms: s.false_alarms,
            failures_detected: s.failures_detected,
            recoveries_attempted: s.recoveries_attempted,
            recoveries_succeeded: s.recoveries_succeeded,
            recoveries_failed: s.recoveries_failed,
            recoveries_retried: s.recoveries_retried,
            recoveries_timed_out: s.recoveries_timed_out,
            recoveries_queued: s.recoveries_queued,
            escalations: s.escalations,
            blocked_by_lock: s.blocked_by_lock,
            pause_timeouts: s.pause_timeouts,
            quorum_losses: s.quorum_losses,
            stale_reports: s.stale_reports,
            ignored_reports: s.ignored_reports,
            events_dropped: s.events_dropped,
            detection_latency: s.detection_latency.into(),
            recovery_latency: s.recovery_latency.into(),
            cancels_pending: s.cancels_pending,
            cancels_escalated: s.cancels_escalated,
            absent: s.absent,
            joins: s.joins,
            leaves: s.leaves,
        }
    }
}

/// "Never" in `ftf_partition_stats` times and latencies.
pub const FTF_NO_TIME: u64 = u64::MAX;

/// The statistics of one partition (`ftf_coordinator_partition_stats`,
/// `ftf_forest_partition_stats`).
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct ftf_partition_stats {
    /// Consecutive barrier timeouts (since the last barrier passed or `FTF_REPORT_HEALTHY`).
    pub consecutive_barrier: u32,
    /// Consecutive ghost-sync failures (since the last ghost-sync success).
    pub consecutive_ghost_sync: u32,
    /// Consecutive missed heartbeats (since the last heartbeat received).
    pub consecutive_heartbeat: u32,
    /// Reports handled (not stale).
    pub reports: u32,
    /// HEALTHY -> SUSPECTED transitions.
    pub suspicions: u32,
    /// Transitions to FAILED.
    pub failures: u32,
    /// Recovery attempts started.
    pub recoveries_attempted: u32,
    /// Recovery attempts that succeeded.
    pub recoveries_succeeded: u32,
    /// When the last handled report arrived (the coordinator's time line), or `FTF_NO_TIME`.
    pub last_report_ns: u64,
    /// First failure report -> FAILED of the last failure, or `FTF_NO_TIME`.
    pub last_detection_latency_ns: u64,
    /// FAILED -> HEALTHY of the last successful recovery, or `FTF_NO_TIME`.
    pub last_recovery_latency_ns: u64,
}

impl From<PartitionStats> for ftf_partition_stats {
    fn from(p: PartitionStats) -> Self {
        ftf_partition_stats {
            consecutive_barrier: u32::from(p.consecutive(Signal::Barrier)),
            consecutive_ghost_sync: u32::from(p.consecutive(Signal::GhostSync)),
            consecutive_heartbeat: u32::from(p.consecutive(Signal::Heartbeat)),
            reports: p.reports,
            suspicions: p.suspicions,
            failures: p.failures,
            recoveries_attempted: p.recoveries_attempted,
            recoveries_succeeded: p.recoveries_succeeded,
            last_report_ns: p.last_report.map_or(FTF_NO_TIME, |t| t.as_nanos()),
            last_detection_latency_ns: p.last_detection_latency.map_or(FTF_NO_TIME, duration_ns),
            last_recovery_latency_ns: p.last_recovery_latency.map_or(FTF_NO_TIME, duration_ns),
        }
    }
}
