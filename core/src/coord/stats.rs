//! Statistics: a `Copy` snapshot ([`Stats`]) built from live counters.
//!
//! The coordinator owns one [`Counters`] and updates it only through the `pub(crate) on_*`
//! methods, at the single place each counted thing happens, so every counter moves exactly
//! once per occurrence (the Java accumulator counted FAILED→FAILED bookkeeping events as new
//! failures, B1, never counted blocked recoveries and never recorded detection latency, B18).
//! Per-state partition counts and the queue depth are read live from the partition table and
//! the queue when the snapshot is taken (B24: no stale snapshot). All counters saturate.

use core::time::Duration;

#[cfg(feature = "histograms")]
use super::histogram::Histogram;
use super::histogram::LatencySummary;
#[cfg(not(feature = "histograms"))]
use crate::arith::{div_u64, duration_from_micros, micros_of};

/// A statistics snapshot. `#[non_exhaustive]`: fields may be added.
#[non_exhaustive]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Ranks in the table, members and absent ones (the table's capacity `n`).
    pub total: u32,
    /// HEALTHY partitions now.
    pub healthy: u32,
    /// SUSPECTED partitions now.
    pub suspected: u32,
    /// FAILED partitions now (waiting, queued, backing off or escalated).
    pub failed: u32,
    /// RECOVERING partitions now.
    pub recovering: u32,
    /// HEALTHY → SUSPECTED transitions.
    pub suspicions: u64,
    /// SUSPECTED → HEALTHY transitions (false alarms).
    pub false_alarms: u64,
    /// SUSPECTED → FAILED transitions (each failure counted once, B1).
    pub failures_detected: u64,
    /// Recovery attempts started (lock taken, FAILED → RECOVERING).
    pub recoveries_attempted: u64,
    /// Attempts that completed every phase.
    pub recoveries_succeeded: u64,
    /// Attempts that failed (phase error, recovery timeout or pause timeout).
    pub recoveries_failed: u64,
    /// Retries scheduled with backoff.
    pub recoveries_retried: u64,
    /// Attempts abandoned at the recovery timeout (also counted as failed).
    pub recoveries_timed_out: u64,
    /// Partitions put in the recovery queue.
    pub recoveries_queued: u64,
    /// Escalations (quorum lost, or retries exhausted).
    pub escalations: u64,
    /// Times a queued recovery could not start because K recoveries were running.
    pub blocked_by_lock: u64,
    /// Pauses whose timeout expired with operations still in flight.
    pub pause_timeouts: u64,
    /// Partitions in the recovery queue now.
    pub queue_depth: u32,
    /// The largest queue depth seen.
    pub queue_depth_max: u32,
    /// Recoveries holding the recovery lock now.
    pub in_progress: u32,
    /// Recoveries inside recovery mode now (the mode's count).
    pub recovery_mode_depth: u32,
    /// Whether HEALTHY partitions are a strict majority now.
    pub quorum: bool,
    /// Times quorum was lost.
    pub quorum_losses: u64,
    /// Reports ignored because their incarnation was not current.
    pub stale_reports: u64,
    /// Reports about FAILED, RECOVERING or ABSENT partitions (no effect).
    pub ignored_reports: u64,
    /// Always 0: the coordinator never drops an event (it applies backpressure instead: a
    /// full outbox refuses inputs with `OutboxFull` and defers tick work). Kept so the C
    /// ABI's statistics struct keeps its layout; a non-zero value would be a bug of the
    /// per-step bound (`MAX_EVENTS_PER_STEP`).
    pub events_dropped: u64,
    /// First failure report → FAILED. Without the `histograms` feature always zero (no
    /// summary is kept: `count` 0; the alerts' average detection time is still exact).
    pub detection_latency: LatencySummary,
    /// FAILED → recovered (or given up), across retries. Without the `histograms` feature
    /// always zero, as `detection_latency`.
    pub recovery_latency: LatencySummary,
    /// Attempts abandoned at the recovery timeout whose cancel the embedder has not
    /// acknowledged yet, now (each still holds its permit and keeps recovery mode active).
    pub cancels_pending: u32,
    /// Cancels not acknowledged within `cancel_timeout` (each escalated once).
    pub cancels_escalated: u64,
    /// ABSENT ranks now (not members); the members are `total - absent`.
    pub absent: u32,
    /// Joins (ABSENT → HEALTHY, or FAILED → HEALTHY recovered elsewhere). Neither a
    /// recovery nor a false alarm.
    pub joins: u64,
    /// Leaves (graceful, or a FAILED partition decommissioned). Not a failure.
    pub leaves: u64,
}

impl Stats {
    /// Succeeded attempts per thousand attempts; `None` when nothing was attempted (neither
    /// the Java 1.0 nor the Java 0.0, B24).
    pub fn success_rate_permille(&self) -> Option<u32> {
        let a = self.recoveries_attempted;
        if a == 0 {
            return None;
        }
        let r = u128::from(self.recoveries_succeeded) * 1000 / u128::from(a);
        Some(u32::try_from(r).unwrap_or(1000))
    }
}

/// A latency accumulator: the histogram with the `histograms` feature (summaries in
/// [`Stats`]), else only the exact count and sum the alerts' averages need.
#[cfg(feature = "histograms")]
type Latency = Histogram;
#[cfg(not(feature = "histograms"))]
type Latency = Mean;

/// Without the `histograms` feature: the exact mean of the samples (microseconds, saturating
/// as [`Histogram`]'s), and no summary.
#[cfg(not(feature = "histograms"))]
#[derive(Clone, Debug, Default)]
pub(crate) struct Mean {
    count: u64,
    sum_us: u64,
}

#[cfg(not(feature = "histograms"))]
impl Mean {
    // Out of line: one body for the three call sites (flash, issue 10).
    #[inline(never)]
    fn record(&mut self, d: Duration) {
        let v = micros_of(d);
        self.count = self.count.saturating_add(1);
        self.sum_us = self.sum_us.saturating_add(v);
    }
    fn mean(&self) -> Option<Duration> {
        (self.count != 0).then(|| duration_from_micros(div_u64(self.sum_us, self.count)))
    }
    /// No summary without the histograms (documented on [`Stats`]).
    fn summary(&self) -> LatencySummary {
        LatencySummary::default()
    }
}

/// The coordinator's accumulators.
#[derive(Clone, Debug, Default)]
pub(crate) struct Counters {
    pub(crate) s: Stats,
    detection: Latency,
    recovery: Latency,
    /// Failed attempts of failures that were later recovered (closed incidents): the
    /// `MANY_FAILURES` alert counts attempted − succeeded − this.
    closed_failed: u64,
}

// Not inlined: one shared body for the ~20 counters (each inlined 64-bit saturating add
// cost ~14 B of flash per call site on 32-bit cores, issue 10).
#[inline(never)]
fn inc(c: &mut u64) {
    *c = c.saturating_add(1);
}

impl Counters {
    pub(crate) fn on_suspected(&mut self) {
        inc(&mut self.s.suspicions);
    }
    pub(crate) fn on_false_alarm(&mut self) {
        inc(&mut self.s.false_alarms);
    }
    pub(crate) fn on_failed(&mut self, detection_latency: Duration) {
        inc(&mut self.s.failures_detected);
        self.detection.record(detection_latency);
    }
    pub(crate) fn on_attempt(&mut self) {
        inc(&mut self.s.recoveries_attempted);
    }
    /// An attempt succeeded; it was attempt `attempts` of its failure (the failed ones before
    /// it leave the open-failure count, see [`Counters::unrecovered`]).
    pub(crate) fn on_attempt_succeeded(&mut self, latency: Duration, attempts: u32) {
        inc(&mut self.s.recoveries_succeeded);
        self.recovery.record(latency);
        let failed_before = u64::from(attempts.saturating_sub(1));
        self.closed_failed = self.closed_failed.saturating_add(failed_before);
    }
    pub(crate) fn on_attempt_failed(&mut self, timed_out: bool) {
        inc(&mut self.s.recoveries_failed);
        if timed_out {
            inc(&mut self.s.recoveries_timed_out);
        }
    }
    /// The operator retried a failure that had given up after `attempts` failed attempts:
    /// they leave the open-failure count (the retry numbers its attempts from 1 again, so
    /// its success could not close them, see [`Counters::unrecovered`]).
    pub(crate) fn on_given_up_retried(&mut self, attempts: u8) {
        self.on_failure_closed(attempts);
    }
    /// A FAILED partition left or was recovered elsewhere after `attempts` failed local
    /// attempts: they leave the open-failure count (no local attempt can close them now).
    pub(crate) fn on_failure_closed(&mut self, attempts: u8) {
        self.closed_failed = self.closed_failed.saturating_add(u64::from(attempts));
    }
    pub(crate) fn on_joined(&mut self) {
        inc(&mut self.s.joins);
    }
    pub(crate) fn on_left(&mut self) {
        inc(&mut self.s.leaves);
    }
    pub(crate) fn on_given_up(&mut self, latency: Duration) {
        self.recovery.record(latency);
    }
    pub(crate) fn on_retry(&mut self) {
        inc(&mut self.s.recoveries_retried);
    }
    pub(crate) fn on_queued(&mut self, depth: u32) {
        inc(&mut self.s.recoveries_queued);
        self.s.queue_depth_max = self.s.queue_depth_max.max(depth);
    }
    pub(crate) fn on_escalated(&mut self) {
        inc(&mut self.s.escalations);
    }
    pub(crate) fn on_blocked(&mut self) {
        inc(&mut self.s.blocked_by_lock);
    }
    pub(crate) fn on_pause_timeout(&mut self) {
        inc(&mut self.s.pause_timeouts);
    }
    pub(crate) fn on_quorum_lost(&mut self) {
        inc(&mut self.s.quorum_losses);
    }
    pub(crate) fn on_stale(&mut self) {
        inc(&mut self.s.stale_reports);
    }
    pub(crate) fn on_ignored(&mut self) {
        inc(&mut self.s.ignored_reports);
    }
    pub(crate) fn on_cancel_escalated(&mut self) {
        inc(&mut self.s.cancels_escalated);
    }
    pub(crate) fn on_event_dropped(&mut self) {
        inc(&mut self.s.events_dropped);
    }
    pub(crate) fn avg_recovery(&self) -> Option<Duration> {
        self.recovery.mean()
    }
    pub(crate) fn avg_detection(&self) -> Option<Duration> {
        self.detection.mean()
    }
    /// Attempted − succeeded recoveries, over the failures still open: every attempt is
    /// either running, succeeded, or failed; a failed one leaves the count when a later
    /// attempt of the same failure succeeds, or when the operator retries the failure after
    /// it gave up (`closed_failed`). Per-failure attempt numbers
    /// saturate at 255 (`PartitionSlot::attempts`), far above any useful threshold.
    pub(crate) fn unrecovered(&self) -> u64 {
        self.s
            .recoveries_attempted
            .saturating_sub(self.s.recoveries_succeeded)
            .saturating_sub(self.closed_failed)
    }
    /// Succeeded / finished (succeeded + failed) attempts in thousandths; `None` before any
    /// attempt finished.
    pub(crate) fn finished_success_permille(&self) -> Option<u32> {
        let ok = u128::from(self.s.recoveries_succeeded);
        let finished = ok + u128::from(self.s.recoveries_failed);
        if finished == 0 {
            return None;
        }
        Some(u32::try_from(ok * 1000 / finished).unwrap_or(1000))
    }

    /// The snapshot, with the live figures filled in by the caller.
    pub(crate) fn snapshot(&self) -> Stats {
        let mut s = self.s;
        s.detection_latency = self.detection.summary();
        s.recovery_latency = self.recovery.summary();
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_rate_is_none_without_attempts() {
        let mut c = Counters::default();
        assert_eq!(c.snapshot().success_rate_permille(), None);
        c.on_attempt();
        c.on_attempt();
        c.on_attempt();
        c.on_attempt_succeeded(Duration::from_millis(10), 1);
        c.on_attempt_failed(true);
        let s = c.snapshot();
        assert_eq!(s.success_rate_permille(), Some(333));
        // Over finished attempts only: 1 of 2.
        assert_eq!(c.finished_success_permille(), Some(500));
        // One attempt still running + one failed of an open failure.
        assert_eq!(c.unrecovered(), 2);
        assert_eq!((s.recoveries_failed, s.recoveries_timed_out), (1, 1));
        let recorded = if cfg!(feature = "histograms") { 1 } else { 0 };
        assert_eq!(s.recovery_latency.count, recorded);
    }

    /// Without the `histograms` feature: no summary (zero, not made up), exact means for
    /// the alerts (`cargo test -p ftforest-core --no-default-features --features std --lib`).
    #[cfg(not(feature = "histograms"))]
    #[test]
    fn no_summary_without_histograms_but_exact_means() {
        let mut c = Counters::default();
        assert_eq!(c.avg_detection(), None);
        c.on_failed(Duration::from_millis(100));
        c.on_failed(Duration::from_millis(300));
        c.on_given_up(Duration::from_millis(5));
        let s = c.snapshot();
        assert_eq!(s.failures_detected, 2);
        assert_eq!(s.detection_latency, LatencySummary::default());
        assert_eq!(s.recovery_latency, LatencySummary::default());
        assert_eq!(c.avg_detection(), Some(Duration::from_millis(200)));
        assert_eq!(c.avg_recovery(), Some(Duration::from_millis(5)));
    }

    #[cfg(feature = "histograms")]
    #[test]
    fn latencies_are_recorded() {
        let mut c = Counters::default();
        c.on_failed(Duration::from_millis(100));
        c.on_failed(Duration::from_millis(300));
        let s = c.snapshot();
        assert_eq!(s.failures_detected, 2);
        assert_eq!(s.detection_latency.avg, Duration::from_millis(200));
        assert_eq!(s.detection_latency.max, Duration::from_millis(300));
        c.on_queued(4);
        c.on_queued(2);
        assert_eq!(c.snapshot().queue_depth_max, 4);
        assert_eq!(c.snapshot().recoveries_queued, 2);
    }

    #[test]
    fn unrecovered_leaves_with_the_recovered_failure() {
        let mut c = Counters::default();
        assert_eq!(c.finished_success_permille(), None);
        // One failure, three attempts: two fail, the third succeeds.
        for _ in 0..2 {
            c.on_attempt();
            c.on_attempt_failed(false);
        }
        assert_eq!(c.unrecovered(), 2);
        c.on_attempt();
        assert_eq!(c.unrecovered(), 3);
        c.on_attempt_succeeded(Duration::from_millis(1), 3);
        assert_eq!(c.unrecovered(), 0);
        assert_eq!(c.finished_success_permille(), Some(333));
    }
}
