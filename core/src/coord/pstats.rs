//! Statistics per partition (issue 7, item 13): optional caller storage, one
//! [`PartitionStatsSlot`] (48 bytes) per partition, read as a [`PartitionStats`] snapshot.
//!
//! The coordinator's required per-partition budget stays `BYTES_PER_PARTITION` (52 bytes):
//! per-partition statistics are a separate, optional storage. A coordinator made with
//! [`Coordinator::new`](super::Coordinator::new) keeps none ([`NoPartitionStats`], zero bytes);
//! [`Coordinator::new_with_stats`](super::Coordinator::new_with_stats) takes at least `n` slots
//! (arrays, slices or boxes, as for the other storage); the boxed coordinator (std, and so the
//! `Monitor` and the C library) always has them.
//!
//! Invariants:
//!
//! * Each slot is written only by the coordinator that owns its storage (`&mut self`), at the
//!   single place each counted thing happens: a report that is not stale (count, last report
//!   time), HEALTHY → SUSPECTED (suspicions), → FAILED (failures, last detection latency),
//!   FAILED → RECOVERING (recoveries attempted), RECOVERING → HEALTHY (recoveries succeeded,
//!   last recovery latency). Counters saturate; latencies are nanoseconds, saturating.
//! * The constructor resets the first `n` slots (storage from an earlier coordinator starts
//!   from zero).

use core::fmt;
use core::time::Duration;

use super::report::Signal;
use crate::arith::duration_from_nanos;
use crate::time::Instant;

/// Statistics of one partition, as stored (caller storage; plain data, `const fn new`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub struct PartitionStatsSlot {
    last_report: Instant,
    last_detection_ns: u64,
    last_recovery_ns: u64,
    reports: u32,
    suspicions: u32,
    failures: u32,
    recoveries_attempted: u32,
    recoveries_succeeded: u32,
}

fn inc(c: &mut u32) {
    *c = c.saturating_add(1);
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl PartitionStatsSlot {
    /// An empty slot.
    pub const fn new() -> Self {
        PartitionStatsSlot {
            last_report: Instant::ZERO,
            last_detection_ns: 0,
            last_recovery_ns: 0,
            reports: 0,
            suspicions: 0,
            failures: 0,
            recoveries_attempted: 0,
            recoveries_succeeded: 0,
        }
    }
    pub(crate) fn on_report(&mut self, now: Instant) {
        inc(&mut self.reports);
        self.last_report = now;
    }
    pub(crate) fn on_suspected(&mut self) {
        inc(&mut self.suspicions);
    }
    pub(crate) fn on_failed(&mut self, detection: Duration) {
        inc(&mut self.failures);
        self.last_detection_ns = nanos(detection);
    }
    pub(crate) fn on_attempt(&mut self) {
        inc(&mut self.recoveries_attempted);
    }
    pub(crate) fn on_recovered(&mut self, latency: Duration) {
        inc(&mut self.recoveries_succeeded);
        self.last_recovery_ns = nanos(latency);
    }

    /// The snapshot, with the per-signal streaks (`Signal` order) from the detection slot.
    pub(crate) fn snapshot(&self, consecutive: [u16; 3]) -> PartitionStats {
        PartitionStats {
            consecutive,
            reports: self.reports,
            suspicions: self.suspicions,
            failures: self.failures,
            recoveries_attempted: self.recoveries_attempted,
            recoveries_succeeded: self.recoveries_succeeded,
            last_report: (self.reports > 0).then_some(self.last_report),
            last_detection_latency: (self.failures > 0)
                .then(|| duration_from_nanos(self.last_detection_ns)),
            last_recovery_latency: (self.recoveries_succeeded > 0)
                .then(|| duration_from_nanos(self.last_recovery_ns)),
        }
    }
}

/// Storage of per-partition statistics: anything that reads and writes a slice of
/// [`PartitionStatsSlot`]s (arrays, slices, boxes, [`NoPartitionStats`]). Implemented for
/// every such type; not meant to be implemented by hand.
pub trait PartitionStatsStorage: AsRef<[PartitionStatsSlot]> + AsMut<[PartitionStatsSlot]> {}

impl<T: AsRef<[PartitionStatsSlot]> + AsMut<[PartitionStatsSlot]> + ?Sized> PartitionStatsStorage
    for T
{
}

/// "No per-partition statistics": the storage of a coordinator made with
/// [`Coordinator::new`](super::Coordinator::new). Zero bytes; reads as an empty slice, so
/// [`Coordinator::partition_stats`](super::Coordinator::partition_stats) answers
/// [`PartitionStatsError::Disabled`].
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct NoPartitionStats;

impl AsRef<[PartitionStatsSlot]> for NoPartitionStats {
    fn as_ref(&self) -> &[PartitionStatsSlot] {
        &[]
    }
}

impl AsMut<[PartitionStatsSlot]> for NoPartitionStats {
    fn as_mut(&mut self) -> &mut [PartitionStatsSlot] {
        &mut []
    }
}

/// A snapshot of one partition's statistics. `#[non_exhaustive]`: fields may be added.
#[non_exhaustive]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct PartitionStats {
    /// Consecutive failure reports per signal, indexed by [`Signal`] (barrier, ghost sync,
    /// heartbeat): the live streaks (`detect.rs`), zero again after a success of that signal.
    pub consecutive: [u16; 3],
    /// Reports handled (not stale), saturating.
    pub reports: u32,
    /// HEALTHY → SUSPECTED transitions.
    pub suspicions: u32,
    /// Transitions to FAILED (detections).
    pub failures: u32,
    /// Recovery attempts started.
    pub recoveries_attempted: u32,
    /// Recovery attempts that succeeded.
    pub recoveries_succeeded: u32,
    /// When the last handled report arrived (the coordinator's `now`), if any.
    pub last_report: Option<Instant>,
    /// First failure report → FAILED, of the last failure, if any.
    pub last_detection_latency: Option<Duration>,
    /// FAILED → HEALTHY (across retries), of the last successful recovery, if any.
    pub last_recovery_latency: Option<Duration>,
}

impl PartitionStats {
    /// The consecutive failures of `signal`.
    pub fn consecutive(&self, signal: Signal) -> u16 {
        self.consecutive.get(signal as usize).copied().unwrap_or(0)
    }
}

/// Why [`Coordinator::partition_stats`](super::Coordinator::partition_stats) has no answer.
#[non_exhaustive]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum PartitionStatsError {
    /// `rank >= n`.
    UnknownPartition,
    /// The coordinator keeps no per-partition statistics (made with `Coordinator::new`).
    Disabled,
}

impl fmt::Display for PartitionStatsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PartitionStatsError::UnknownPartition => "unknown partition rank",
            PartitionStatsError::Disabled => "this coordinator keeps no per-partition statistics",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_is_forty_eight_bytes_and_snapshots_say_never() {
        assert_eq!(core::mem::size_of::<PartitionStatsSlot>(), 48);
        assert_eq!(core::mem::size_of::<NoPartitionStats>(), 0);
        let mut s = PartitionStatsSlot::new();
        let p = s.snapshot([0; 3]);
        assert_eq!(
            (
                p.last_report,
                p.last_detection_latency,
                p.last_recovery_latency
            ),
            (None, None, None)
        );
        s.on_report(Instant::from_millis(7));
        s.on_failed(Duration::from_millis(3));
        s.on_recovered(Duration::from_millis(9));
        let p = s.snapshot([1, 2, 3]);
        assert_eq!(p.last_report, Some(Instant::from_millis(7)));
        assert_eq!(p.last_detection_latency, Some(Duration::from_millis(3)));
        assert_eq!(p.last_recovery_latency, Some(Duration::from_millis(9)));
        assert_eq!(p.consecutive(Signal::Heartbeat), 3);
        assert!(NoPartitionStats.as_ref().is_empty());
    }
}
